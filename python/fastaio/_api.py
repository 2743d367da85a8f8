"""fastaio's public API, built on top of one implementation of the core.

``build(core)`` returns the public names for a core module (compiled or pure
Python).  ``fastaio`` exports the names built on the active core; the tests
build both and run every test against each.
"""
import asyncio
import sys
import types
import weakref
from asyncio import base_events, events

from . import _compat
from . import _gather
from ._spawn import patch_asyncio_create_task, spawn
from ._taskgroups import TaskGroup
from ._timeouts import Timeout, timeout, timeout_at

if _compat.PY311:
    _BaseRunner = asyncio.Runner
else:
    from ._runners import Runner as _BaseRunner

if sys.platform == "win32":  # pragma: no cover
    _DefaultLoop = asyncio.ProactorEventLoop
else:
    _DefaultLoop = asyncio.SelectorEventLoop

_stdlib_create_task = base_events.BaseEventLoop.create_task

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


def _patch_asyncio(core):
    """The process-wide replacements that install() makes (see README):
    ``asyncio.create_task`` before 3.13; ``asyncio.gather`` before 3.12; and
    before 3.12, with the compiled core, ``asyncio.current_task`` (and
    ``asyncio.tasks.current_task``) by fastaio's C version, which reads the
    same state.  Each is done once per process; code that imported the
    function before keeps the original."""
    patch_asyncio_create_task()
    _gather.patch_asyncio_gather()
    fast = core.current_task
    if _compat.PY312 or not isinstance(fast, types.BuiltinFunctionType):
        return
    if asyncio.current_task is not fast:
        asyncio.current_task = asyncio.tasks.current_task = fast


def build(core, implementation):
    """Return the public API (a namespace) backed by ``core``."""
    factory = core.eager_task_factory
    _gather.register(core)
    is_fastaio_factory = core.is_fastaio_factory
    create_task_via_factory = core.create_task_via_factory

    def install(loop=None, *, force=False):
        """Make ``loop`` (default: the running loop) create fastaio tasks.

        Sets fastaio's eager task factory.  Idempotent.  A factory set by
        someone else is never replaced silently: RuntimeError, unless
        ``force=True`` (then ``uninstall()`` puts it back).  On a stdlib loop
        before Python 3.14, ``loop.create_task`` is also replaced on the
        instance so that ``name`` and ``context`` reach the factory before
        the task's first step, and (once, process-wide) before Python 3.13
        ``asyncio.create_task`` is replaced by a function that does the same
        for loops running fastaio and calls the original for other loops.
        Returns ``loop``.
        """
        if loop is None:
            loop = events.get_running_loop()
        if loop.is_closed():
            raise RuntimeError(f"cannot install fastaio on closed {loop!r}")
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
        _patch_asyncio(core)
        if (not _compat.PY314
                and type(loop).create_task is _stdlib_create_task
                and "create_task" not in getattr(loop, "__dict__", ())):
            loop.create_task = types.MethodType(create_task_via_factory, loop)
        return loop

    def uninstall(loop=None):
        """Undo ``install(loop)``: restore the factory it replaced.  A no-op
        if fastaio's factory is not the loop's factory any more."""
        if loop is None:
            loop = events.get_running_loop()
        if not is_fastaio_factory(loop.get_task_factory()):
            return
        loop.set_task_factory(_forget(loop))
        patched = getattr(loop, "__dict__", {}).get("create_task")
        if getattr(patched, "__func__", None) is create_task_via_factory:
            del loop.create_task

    class EventLoop(_DefaultLoop):
        """The default asyncio event loop, with fastaio installed."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.set_task_factory(factory)
            _patch_asyncio(core)

        create_task = create_task_via_factory

    for name in ("is_running", "get_debug"):
        # Only where the platform's loop class kept BaseEventLoop's method.
        if getattr(_DefaultLoop, name) is getattr(
                base_events.BaseEventLoop, name):
            setattr(EventLoop, name, getattr(core, "loop_" + name))
    EventLoop.__module__ = "fastaio"

    def new_event_loop():
        """A new event loop with fastaio installed (a ``loop_factory``)."""
        return EventLoop()

    def _installing(loop_factory):
        if loop_factory is None:
            return new_event_loop

        def make_loop():
            return install(loop_factory())
        return make_loop

    class Runner(_BaseRunner):
        """``asyncio.Runner`` on every version.  Its loop gets fastaio
        installed unless ``install=False``; ``loop_factory`` defaults to
        ``fastaio.new_event_loop``."""

        def __init__(self, *, debug=None, loop_factory=None, install=True):
            if install:
                loop_factory = _installing(loop_factory)
            super().__init__(debug=debug, loop_factory=loop_factory)

    Runner.__module__ = "fastaio"

    def run(main, *, debug=None, loop_factory=None, install=True):
        """``asyncio.run`` with ``loop_factory`` on every version; fastaio is
        installed on the loop unless ``install=False``."""
        if events._get_running_loop() is not None:
            raise RuntimeError(
                "fastaio.run() cannot be called from a running event loop")
        with Runner(debug=debug, loop_factory=loop_factory,
                    install=install) as runner:
            return runner.run(main)

    def create_task(coro, *, name=None, context=None, eager_start=None,
                    **kwargs):
        """Create a task on the running loop, eagerly if ``eager_start`` is
        true.  ``eager_start=None`` follows the loop: eager where fastaio is
        installed, lazy elsewhere.  The loop's task factory is used when it
        is not fastaio's unless ``eager_start`` is given."""
        loop = events.get_running_loop()
        current = loop.get_task_factory()
        if eager_start is None and not is_fastaio_factory(current):
            if name is not None:
                kwargs["name"] = name
            if context is not None:
                kwargs["context"] = context
            return spawn(loop, coro, kwargs)
        use = current if is_fastaio_factory(current) else factory
        return use(loop, coro, name=name, context=context,
                   eager_start=eager_start, **kwargs)

    return types.SimpleNamespace(
        IMPLEMENTATION=implementation,
        Barrier=core.Barrier,
        BrokenBarrierError=core.BrokenBarrierError,
        EventLoop=EventLoop,
        Runner=Runner,
        Task=core.Task,
        TaskGroup=TaskGroup,
        Timeout=Timeout,
        create_eager_task_factory=core.create_eager_task_factory,
        create_task=create_task,
        gather=core.gather,
        current_task=core.current_task,
        eager_task_factory=factory,
        install=install,
        is_fastaio_factory=is_fastaio_factory,
        new_event_loop=new_event_loop,
        run=run,
        timeout=timeout,
        timeout_at=timeout_at,
        to_thread=asyncio.to_thread,
        uninstall=uninstall,
        MAX_EAGER_DEPTH=core.MAX_EAGER_DEPTH,
    )
