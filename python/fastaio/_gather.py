"""What ``install()`` does to ``asyncio.gather`` before 3.12.

From 3.12 (gh-97696), ``asyncio.gather`` accounts for a child that is done
when it is passed (an eager task that finished inside ``create_task``) at
once rather than through a callback on the next loop iteration, and a gather
whose children all finished is done before it is returned.  Before 3.12
every such child costs a loop callback and the caller always waits for the
next iteration, which takes away most of what eager tasks save in fan-out
code.  fastaio's ``gather`` (in each core) has the 3.12+ behaviour.
"""
import asyncio
import functools
from asyncio import events, tasks

from . import _compat

# type of a core's eager task factory -> that core's gather
_gather_by_factory_type = {}


def register(core):
    """Let the replacement find ``core.gather`` on loops whose task factory
    is one of ``core``'s."""
    if not _compat.PY312:
        _gather_by_factory_type[type(core.eager_task_factory)] = core.gather


def patch_asyncio_gather():
    """Before 3.12, replace ``asyncio.gather`` (and ``asyncio.tasks.gather``)
    once per process by a function that runs the gather of the fastaio core
    whose factory the running loop has, and the original everywhere else
    (other loops, no running loop, 3.9's ``loop=`` argument)."""
    if _compat.PY312:
        return
    original = tasks.gather
    if getattr(original, "_fastaio_original", None) is not None:
        return
    by_type = _gather_by_factory_type
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

    gather._fastaio_original = original
    asyncio.gather = tasks.gather = gather
