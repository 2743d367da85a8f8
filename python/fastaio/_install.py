"""``install()`` and ``uninstall()``, and every change fastaio makes to
asyncio itself, each with its opt-out.

On the loop, ``install()`` sets fastaio's eager task factory.  Process-wide,
once, it replaces some functions of ``asyncio`` (and ``asyncio.tasks``)
and some methods of ``asyncio.BaseEventLoop`` on the versions that need
them; each replacement does what the original does for loops that do not
run fastaio:

``create_task`` (before 3.13)
    names the task before its first step (gh-143173);
``gather`` (before 3.12; with the compiled core on every version)
    3.12's handling of children that are already done (gh-97696); on
    3.12+ the compiled core's gather, in C, for loops that run the
    compiled factory (asyncio's own for other loops);
``current_task`` (before 3.12, compiled core only)
    fastaio's C function, which reads the same state;
``TaskGroup`` (3.11+; also ``asyncio.taskgroups.TaskGroup``)
    fastaio's, which has 3.14's behaviour and leaves out the children that
    finished successfully inside ``create_task`` on a fastaio loop;
``BaseEventLoop.create_task`` (before 3.14; with the compiled core on
every version)
    hands ``name`` and ``context`` to a fastaio factory before the first
    step (CPython's loops pass them only from 3.14 on), and the compiled
    one calls the factory without a Python frame;
``BaseEventLoop.is_running``, ``BaseEventLoop.get_debug`` (compiled core)
    the same methods without a Python frame; asyncio's Task constructor
    calls them for every task;
``BaseEventLoop.call_soon`` (compiled core)
    the same method with its non-debug path compiled: the ``Handle`` it
    makes and queues is asyncio's, made without the three Python frames of
    ``call_soon``, ``_call_soon`` and ``Handle.__init__``.  Futures schedule
    every callback through it.  A loop class that replaces ``_call_soon``,
    ``_check_closed`` or ``get_debug``, a loop in debug mode, and a replaced
    ``asyncio.events.Handle`` (or its ``__init__``) get asyncio's method;
``Handle._run`` (compiled core)
    the same method without its frame (the loop runs every callback through
    it); the traceback of an exception that a callback raises has no frame
    for ``_run``.  Made only where ``Handle._run`` is asyncio's own.

The loop methods are replaced on the class, not set on each loop: an
instance attribute that shadows a method makes CPython 3.11, 3.12 and
3.14 fall back to slower attribute lookups on that loop (and its class)
for every attribute, which costs more than the frames saved.

``FASTAIO_NO_ASYNCIO_PATCHES`` (``1``/``all``, or a comma-separated list of
those names) keeps them from being made; ``unpatch_asyncio()`` puts the
originals back and makes no more.  Code that imported a function before
keeps the original.
"""
import asyncio
import functools
import os
import types
import weakref
from asyncio import base_events, events, tasks

from . import _compat, _impl, _pycore
from ._tasks import is_fastaio_factory

__all__ = ("install", "uninstall", "unpatch_asyncio")

# --------------------------------------------------------------------------
# asyncio's functions

def _new_create_task(original, core):
    if _compat.PY313:
        return None

    @functools.wraps(original)
    def create_task(coro, *, name=None, context=None):
        loop = events.get_running_loop()
        factory = loop.get_task_factory()
        if factory is not None and is_fastaio_factory(factory):
            return factory(loop, coro, name=name, context=context)
        if context is None:
            return original(coro, name=name)
        return original(coro, name=name, context=context)
    return create_task


def _new_gather(original, core):
    if _compat.PY312:
        # The compiled gather on loops that run the compiled factory.  With
        # the pure twin nothing is replaced: from 3.12 on asyncio's gather
        # already accounts at once for children that are done.
        return getattr(core, "asyncio_gather", None)
    # the type of each core's factory -> that core's gather
    by_type = {type(c.eager_task_factory): c.gather
               for c in (_pycore, _impl.ccore) if c is not None}
    get_running_loop = events._get_running_loop

    @functools.wraps(original)
    def gather(*coros_or_futures, return_exceptions=False, **kwargs):
        loop = get_running_loop()
        if loop is not None and not kwargs:
            fastaio_gather = by_type.get(type(loop.get_task_factory()))
            if fastaio_gather is not None:
                return fastaio_gather(*coros_or_futures,
                                      return_exceptions=return_exceptions)
        return original(*coros_or_futures,
                        return_exceptions=return_exceptions, **kwargs)
    return gather


def _new_current_task(original, core):
    fast = core.current_task
    if _compat.PY312 or not isinstance(fast, types.BuiltinFunctionType):
        return None
    return fast


def _new_task_group(original, core):
    return _impl.task_group(core)


_LOOP_METHODS = ("create_task", "is_running", "get_debug", "call_soon")


def _asyncio_own(func, qualname):
    """True if func is asyncio's own function ``qualname``: a replacement is
    made only over that, never over another library's wrapper."""
    return (isinstance(func, types.FunctionType)
            and func.__module__ in ("asyncio.base_events", "asyncio.events")
            and func.__qualname__ == qualname)


def _core_method(core, name):
    """The core's function for the loop method ``name`` (taking the loop
    first), or None where it would replace nothing."""
    if name == "create_task":
        if core is _pycore and _compat.PY314:
            return None
        return core.create_task_via_factory
    method = getattr(core, "loop_" + name)
    # asyncio's own method, even after patch_asyncio() replaced it.
    original = _made.get("BaseEventLoop." + name,
                         (getattr(base_events.BaseEventLoop, name),))[0]
    if method is original:
        return None
    if name == "call_soon" and not (
            getattr(core, "FAST_CALL_SOON", 0) and _asyncio_own(
                original, "BaseEventLoop.call_soon")):
        return None
    return method


def loop_methods(core):
    """name -> the class attribute that makes ``core``'s function the loop
    method ``name`` (a Python function binds as it is; a C function is
    wrapped so that it binds too)."""
    methods = {}
    for name in _LOOP_METHODS:
        func = _core_method(core, name)
        if func is not None:
            methods[name] = (func if isinstance(func, types.FunctionType)
                             else core.method(func))
    return methods


def _new_loop_method(name):
    def make(original, core):
        return loop_methods(core).get(name)
    return make


def _new_handle_run(original, core):
    if (core.handle_run is original or not getattr(core, "FAST_CALL_SOON", 0)
            or not _asyncio_own(original, "Handle._run")):
        return None
    return core.method(core.handle_run)


# name -> (the objects whose attribute it replaces, the attribute, a
# function that makes the replacement from the original and the installing
# core, or returns None where this version or core needs none).
_PATCHES = {
    "create_task": ((asyncio, tasks), "create_task", _new_create_task),
    "gather": ((asyncio, tasks), "gather", _new_gather),
    "current_task": ((asyncio, tasks), "current_task", _new_current_task),
}
if _compat.PY311:
    from asyncio import taskgroups
    _PATCHES["TaskGroup"] = ((asyncio, taskgroups), "TaskGroup",
                             _new_task_group)
for _name in _LOOP_METHODS:
    _PATCHES["BaseEventLoop." + _name] = (
        (base_events.BaseEventLoop,), _name, _new_loop_method(_name))
del _name
_PATCHES["Handle._run"] = ((events.Handle,), "_run", _new_handle_run)
_made = {}          # name -> (original, replacement)
_refused = set()    # names unpatch_asyncio() took back


def _opted_out(name):
    value = os.environ.get("FASTAIO_NO_ASYNCIO_PATCHES", "")
    names = {part.strip() for part in value.split(",")}
    return bool(names & {name, "1", "all"})


def patch_asyncio(core):
    """Make the replacements of the module docstring that this version
    needs and that are not made yet or opted out of."""
    for name, (targets, attr, make) in _PATCHES.items():
        if name in _made or name in _refused or _opted_out(name):
            continue
        original = targets[-1].__dict__[attr]
        replacement = make(original, core)
        if replacement is None:
            continue
        if isinstance(replacement, types.FunctionType) and not isinstance(
                targets[0], type):
            replacement._fastaio_original = original
        _made[name] = (original, replacement)
        for target in targets:
            setattr(target, attr, replacement)


def unpatch_asyncio(*names):
    """Put back asyncio's own objects that fastaio replaced (those named,
    default all: ``create_task``, ``gather``, ``current_task``,
    ``TaskGroup``, ``BaseEventLoop.create_task``,
    ``BaseEventLoop.is_running``, ``BaseEventLoop.get_debug``,
    ``BaseEventLoop.call_soon``, ``Handle._run``), and replace
    them no more in this process."""
    for name in names or tuple(_PATCHES):
        if name not in _PATCHES:
            raise ValueError(f"fastaio makes no asyncio patch named {name!r}")
        _refused.add(name)
        original, replacement = _made.pop(name, (None, None))
        targets, attr, _ = _PATCHES[name]
        for target in targets:
            if (original is not None
                    and target.__dict__.get(attr) is replacement):
                setattr(target, attr, original)


def asyncio_original(name):
    """asyncio's own object that the patch ``name`` replaced (or would
    replace), whether or not it is made."""
    if name in _made:
        return _made[name][0]
    targets, attr, _ = _PATCHES[name]
    return targets[-1].__dict__[attr]


# --------------------------------------------------------------------------
# the loop

# What install() replaced, per loop, so that uninstall() can put it back.
_replaced = weakref.WeakKeyDictionary()
_replaced_strong = {}   # loops that cannot be weakly referenced


def _remember(loop, factory):
    try:
        _replaced.setdefault(loop, factory)
    except TypeError:
        _replaced_strong.setdefault(id(loop), (loop, factory))


def _forget(loop):
    try:
        return _replaced.pop(loop, None)
    except TypeError:
        return _replaced_strong.pop(id(loop), (None, None))[1]


def install_core(core, loop=None, force=False):
    """``install()`` with the given core (``fastaio._core`` or
    ``fastaio._pycore``)."""
    if loop is None:
        loop = events.get_running_loop()
    if loop.is_closed():
        raise RuntimeError(f"cannot install fastaio on closed {loop!r}")
    factory = core.eager_task_factory
    current = loop.get_task_factory()
    if current is factory:
        return loop
    if not is_fastaio_factory(current):
        if current is not None and not force:
            raise RuntimeError(
                f"{loop!r} already has the task factory {current!r}; "
                "fastaio.install() does not replace it unless called "
                "with force=True (fastaio.uninstall() then restores it)")
        _remember(loop, current)
    loop.set_task_factory(factory)
    patch_asyncio(core)
    return loop


def install(loop=None, *, force=False):
    """Make ``loop`` (default: the running loop) create fastaio tasks.

    Sets fastaio's eager task factory.  Idempotent.  A factory set by
    someone else is never replaced silently: RuntimeError, unless
    ``force=True`` (then ``uninstall()`` puts it back).  Once per process
    some functions of ``asyncio`` and methods of ``asyncio.BaseEventLoop``
    are replaced (see README, *What install() changes*;
    ``FASTAIO_NO_ASYNCIO_PATCHES`` and ``unpatch_asyncio()`` opt out).
    Returns ``loop``.
    """
    return install_core(_impl.core, loop, force)


def uninstall(loop=None):
    """Undo ``install(loop)``: restore the factory it replaced.  A no-op if
    fastaio's factory is not the loop's factory any more."""
    if loop is None:
        loop = events.get_running_loop()
    if not is_fastaio_factory(loop.get_task_factory()):
        return
    loop.set_task_factory(_forget(loop))
