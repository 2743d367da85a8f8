"""timeout() and timeout_at() with CPython 3.14's behaviour on every version.

On 3.9/3.10 the expiry raises ``fastaio.TimeoutError``, a subclass of both
``asyncio.TimeoutError`` and the builtin ``TimeoutError`` (one class from
3.11 on), so either ``except`` clause catches it.
"""
import enum

from asyncio import events, exceptions, tasks

from . import _compat
from ._tasks import need_cancel_counting

__all__ = ("Timeout", "timeout", "timeout_at")


class _State(enum.Enum):
    CREATED = "created"
    ENTERED = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    EXITED = "finished"


class Timeout:
    """Asynchronous context manager that cancels its block at a deadline.

    Build it with :func:`timeout` or :func:`timeout_at`.  ``when`` is a time
    of ``loop.time()``'s clock, or None for no deadline.
    """

    def __init__(self, when):
        self._state = _State.CREATED
        self._handle = None
        self._task = None
        self._when = when
        self._cancelling = 0

    def when(self):
        """The deadline, or None."""
        return self._when

    def reschedule(self, when):
        """Move the deadline to ``when`` (None: no deadline)."""
        if self._state is not _State.ENTERED:
            if self._state is _State.CREATED:
                raise RuntimeError("Timeout has not been entered")
            raise RuntimeError(
                f"Cannot change state of {self._state.value} Timeout")
        self._when = when
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if when is not None:
            loop = events.get_running_loop()
            if when <= loop.time():
                self._handle = loop.call_soon(self._expire)
            else:
                self._handle = loop.call_at(when, self._expire)

    def expired(self):
        """True once the deadline has passed and the block was cancelled."""
        return self._state in (_State.EXPIRING, _State.EXPIRED)

    def __repr__(self):
        extra = ""
        if self._state is _State.ENTERED:
            when = None if self._when is None else round(self._when, 3)
            extra = f" when={when}"
        return f"<Timeout [{self._state.value}]{extra}>"

    async def __aenter__(self):
        if self._state is not _State.CREATED:
            raise RuntimeError("Timeout has already been entered")
        task = tasks.current_task()
        if task is None:
            raise RuntimeError("Timeout should be used inside a task")
        need_cancel_counting(task, "fastaio.timeout()")
        self._state = _State.ENTERED
        self._task = task
        self._cancelling = task.cancelling()
        self.reschedule(self._when)
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb):
        assert self._state in (_State.ENTERED, _State.EXPIRING)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._state is _State.ENTERED:
            self._state = _State.EXITED
            return None
        self._state = _State.EXPIRED
        # Our cancellation is ours to take back; raise TimeoutError only
        # when no one else asked for the task to be cancelled too.
        if self._task.uncancel() > self._cancelling or exc_type is None:
            return None
        if issubclass(exc_type, exceptions.CancelledError):
            raise _compat.TimeoutError from exc_val
        if exc_val is not None:
            _mark_timeout(exc_val)
            if isinstance(exc_val, _compat.BaseExceptionGroup):
                for inner in exc_val.exceptions:
                    _mark_timeout(inner)
        return None

    def _expire(self):
        assert self._state is _State.ENTERED
        self._task.cancel()
        self._state = _State.EXPIRING
        self._handle = None


def _mark_timeout(exc):
    """Put a TimeoutError between ``exc`` and the CancelledError of the
    expiry in ``exc``'s chain of contexts."""
    while exc.__context__ is not None:
        ctx = exc.__context__
        if isinstance(ctx, exceptions.CancelledError):
            marker = _compat.TimeoutError()
            marker.__context__ = marker.__cause__ = ctx
            exc.__context__ = marker
            return
        exc = ctx


def timeout(delay):
    """Cancel the block after ``delay`` seconds (None: never) and raise
    TimeoutError instead of CancelledError."""
    loop = events.get_running_loop()
    return Timeout(loop.time() + delay if delay is not None else None)


def timeout_at(when):
    """Like :func:`timeout`, with an absolute deadline of ``loop.time()``."""
    return Timeout(when)
