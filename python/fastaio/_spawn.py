"""Creating a task on a loop with a name and a context, on every version."""
import asyncio
import functools
from asyncio import events

from . import _compat
from ._pycore import is_fastaio_factory


def spawn(loop, coro, kwargs):
    """``loop.create_task(coro, **kwargs)``, with ``name`` and ``context``
    reaching fastaio's factory before the first step on every version."""
    factory = loop.get_task_factory()
    if factory is not None and is_fastaio_factory(factory):
        if loop.is_closed():
            raise RuntimeError("Event loop is closed")
        return factory(loop, coro, **kwargs)
    if not _compat.PY311 and kwargs.get("context") is not None:
        # 3.9/3.10 loops take no context: create the task inside it.  The
        # task then runs in a copy of that context.
        kwargs = dict(kwargs)
        context = kwargs.pop("context")
        return context.run(loop.create_task, coro, **kwargs)
    return loop.create_task(coro, **kwargs)


def need_cancel_counting(task, what):
    """Raise a clear error if ``task`` lacks cancelling()/uncancel()."""
    if not hasattr(task, "uncancel"):
        raise RuntimeError(
            f"{what} needs the current task to have cancelling() and "
            f"uncancel(), which {type(task).__qualname__} has only from "
            "Python 3.11 on; run this code in a fastaio task: start the "
            "program with fastaio.run(), or create the task with "
            "fastaio.create_task() or on a loop where fastaio.install() ran")


def patch_asyncio_create_task():
    """Before 3.13, ``asyncio.create_task`` names a task only after the loop
    made it, so an eager task ran its first step under a default name
    (gh-143173).  Replace it, once, by a function that hands ``name`` and
    ``context`` to fastaio's factory, and calls the original for every loop
    that does not run fastaio."""
    if _compat.PY313:
        return
    original = asyncio.tasks.create_task
    if getattr(original, "_fastaio_original", None) is not None:
        return

    @functools.wraps(original)
    def create_task(coro, *, name=None, context=None):
        loop = events.get_running_loop()
        factory = loop.get_task_factory()
        if factory is not None and is_fastaio_factory(factory):
            return factory(loop, coro, name=name, context=context)
        if context is None:
            return original(coro, name=name)
        return original(coro, name=name, context=context)

    create_task._fastaio_original = original
    asyncio.create_task = asyncio.tasks.create_task = create_task
