"""How a task is created on a loop so that its name and context reach a
fastaio factory before the first step, on every version; shared by both
implementations of the core and by the modules on top of them."""
from . import _compat


def is_fastaio_factory(factory):
    """True if ``factory`` is a task factory made by fastaio (either
    implementation)."""
    return getattr(factory, "_fastaio_task_constructor", None) is not None


def task_kwargs(kwargs, name, context):
    """``kwargs`` with ``name`` and ``context`` added where they are not
    None (asyncio's own factory of 3.14 passes only what it was given, and
    every keyword costs the constructor time)."""
    if name is not None:
        kwargs["name"] = name
    if context is not None:
        kwargs["context"] = context
    return kwargs


def create_task_on(loop, factory, coro, name, context, kwargs, plain):
    """Create a task of ``loop`` (whose task factory is ``factory``) for
    ``coro``.

    A fastaio factory gets ``name`` and ``context`` directly.  Otherwise
    ``plain(coro, **kwargs)`` makes the task; 3.9/3.10 loops take no
    context, so there the task is created inside the context (and runs in a
    copy of it)."""
    if factory is not None and is_fastaio_factory(factory):
        if loop.is_closed():
            raise RuntimeError("Event loop is closed")
        return factory(loop, coro, **task_kwargs(kwargs, name, context))
    if context is not None and not _compat.PY311:
        return context.run(plain, coro, **task_kwargs(kwargs, name, None))
    return plain(coro, **task_kwargs(kwargs, name, context))


# The compiled core's C functions that do the work of spawn(),
# task_factory_of() and later() below without Python frames, in the
# compiled twin of this module (fastaio._ctasks, which fastaio's compiled
# TaskGroup calls), once fastaio._impl gave it the core; None in this pure
# module.
_c_spawn = _c_task_factory = _c_later = _c_finished_ok = None
_c_runs_fastaio = None


def use_compiled_core(core):
    """Do the work of this module through ``core``'s C functions (called by
    ``fastaio._impl`` on the compiled twin only)."""
    global _c_spawn, _c_task_factory, _c_later, _c_finished_ok
    global _c_runs_fastaio
    _c_spawn = core.spawn
    _c_runs_fastaio = core.loop_runs_fastaio_factory
    _c_task_factory = core.loop_task_factory
    _c_later = core.later
    _c_finished_ok = core.finished_ok


def finished_ok(task):
    """True if ``task`` is done, not cancelled, and raised nothing."""
    if _c_finished_ok is not None:
        return _c_finished_ok(task)
    return task.done() and not task.cancelled() and task.exception() is None


def task_factory_of(loop):
    """``loop.get_task_factory()``."""
    if _c_task_factory is not None:
        return _c_task_factory(loop)
    return loop.get_task_factory()


def runs_fastaio_factory(loop):
    """``is_fastaio_factory(loop.get_task_factory())``."""
    if _c_runs_fastaio is not None:
        return _c_runs_fastaio(loop)
    return is_fastaio_factory(loop.get_task_factory())


async def _later(func):
    return func()


def later(func):
    """An awaitable that calls ``func()`` when awaited, as a coroutine
    runs its body, and returns its result without suspending."""
    if _c_later is not None:
        return _c_later(func)
    return _later(func)


def spawn(loop, coro, name=None, context=None, kwargs=None):
    """``loop.create_task(coro, name=name, context=context, **kwargs)`` with
    ``name`` and ``context`` reaching fastaio's factory before the first
    step on every version and every kind of loop."""
    if _c_spawn is not None and not kwargs:
        # The C version for a compiled factory; NotImplemented otherwise.
        task = _c_spawn(loop, coro, name, context)
        if task is not NotImplemented:
            return task
    return create_task_on(loop, loop.get_task_factory(), coro, name, context,
                          {} if kwargs is None else kwargs, loop.create_task)


_counting_types = set()   # task types known to have uncancel()


def need_cancel_counting(task, what):
    """Raise a clear error if ``task`` lacks cancelling()/uncancel()."""
    if type(task) in _counting_types:
        return
    if hasattr(type(task), "uncancel"):
        _counting_types.add(type(task))
    elif not hasattr(task, "uncancel"):
        raise RuntimeError(
            f"{what} needs the current task to have cancelling() and "
            f"uncancel(), which {type(task).__qualname__} has only from "
            "Python 3.11 on; run this code in a fastaio task: start the "
            "program with fastaio.run(), or create the task with "
            "fastaio.create_task() or on a loop where fastaio.install() ran")
