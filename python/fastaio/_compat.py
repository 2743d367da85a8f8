"""Interpreter-version facts fastaio depends on, kept in one place.

Each flag names the CPython release whose behaviour it tracks.
"""
import sys

PY310 = sys.version_info >= (3, 10)
PY311 = sys.version_info >= (3, 11)   # TaskGroup, timeout, Barrier, Runner, Task.cancelling()
PY312 = sys.version_info >= (3, 12)   # native eager start (gh-97696), C current_task (gh-100344)
PY313 = sys.version_info >= (3, 13)   # uncancel() clears a pending cancel (gh-116720)
PY314 = sys.version_info >= (3, 14)   # create_task(**kwargs) passed verbatim to the factory

# 3.12.0-3.12.4: Task.get_coro() dereferences a NULL coroutine after an eager
# start that completed the task (gh-122332, fixed by PR #122338 in 3.12.5).
GET_CORO_CRASHES = (3, 12) <= sys.version_info[:3] < (3, 12, 5)

if PY311:
    from asyncio import BrokenBarrierError as _BBE
    BaseExceptionGroup = BaseExceptionGroup  # noqa: F821 - builtin since 3.11
    ExceptionGroup = ExceptionGroup  # noqa: F821
    TimeoutError = TimeoutError
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import asyncio as _asyncio
    import builtins as _builtins

    from exceptiongroup import BaseExceptionGroup, ExceptionGroup

    class TimeoutError(_asyncio.TimeoutError, _builtins.TimeoutError):
        """Raised by fastaio.timeout(); an ``asyncio.TimeoutError`` that also
        matches the builtin ``TimeoutError`` (the two are one class from 3.11)."""

        __module__ = "fastaio"

    class _BBE(RuntimeError):
        """The barrier was aborted or reset while a task waited on it."""

    _BBE.__name__ = _BBE.__qualname__ = "BrokenBarrierError"
    _BBE.__module__ = "fastaio"

BrokenBarrierError = _BBE
