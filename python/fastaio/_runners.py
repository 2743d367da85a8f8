"""asyncio.Runner for Python 3.9 and 3.10 (where asyncio has none).

Behaves as the 3.11+ class: a loop made on first use by ``loop_factory``
(default: ``asyncio.new_event_loop``), one context shared by every ``run()``,
the first Ctrl-C cancelling the main task and the second raising
KeyboardInterrupt, and ``close()`` cancelling leftover tasks and shutting
down async generators and the default executor.
"""
import contextvars
import enum
import functools
import signal
import threading

from asyncio import coroutines, events, exceptions
from asyncio.runners import _cancel_all_tasks

from ._tasks import spawn

__all__ = ("Runner",)


class _State(enum.Enum):
    CREATED = "created"
    INITIALIZED = "initialized"
    CLOSED = "closed"


class Runner:
    """Run coroutines one after another on one event loop."""

    def __init__(self, *, debug=None, loop_factory=None):
        self._state = _State.CREATED
        self._debug = debug
        self._loop_factory = loop_factory
        self._loop = None
        self._context = None
        self._interrupt_count = 0
        self._set_event_loop = False

    def __enter__(self):
        self._lazy_init()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()

    def close(self):
        """Shut down and close the loop; a no-op unless it was made."""
        if self._state is not _State.INITIALIZED:
            return
        loop = self._loop
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            if self._set_event_loop:
                events.set_event_loop(None)
            loop.close()
            self._loop = None
            self._state = _State.CLOSED

    def get_loop(self):
        """The runner's loop (made now if it does not exist yet)."""
        self._lazy_init()
        return self._loop

    def run(self, coro, *, context=None):
        """Run ``coro`` to completion in the runner's loop; return its
        result."""
        if not coroutines.iscoroutine(coro):
            raise ValueError(f"a coroutine was expected, got {coro!r}")
        if events._get_running_loop() is not None:
            raise RuntimeError(
                "Runner.run() cannot be called from a running event loop")
        self._lazy_init()
        if context is None:
            context = self._context
        task = spawn(self._loop, coro, context=context)

        sigint_installed = False
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT)
                is signal.default_int_handler):
            handler = functools.partial(self._on_sigint, main_task=task)
            try:
                signal.signal(signal.SIGINT, handler)
                sigint_installed = True
            except ValueError:
                pass   # not the main interpreter, or signals unsupported

        self._interrupt_count = 0
        try:
            return self._loop.run_until_complete(task)
        except exceptions.CancelledError:
            if self._interrupt_count > 0:
                uncancel = getattr(task, "uncancel", None)
                if uncancel is not None and uncancel() == 0:
                    raise KeyboardInterrupt()
            raise
        finally:
            if (sigint_installed and signal.getsignal(signal.SIGINT)
                    is handler):
                signal.signal(signal.SIGINT, signal.default_int_handler)

    def _lazy_init(self):
        if self._state is _State.CLOSED:
            raise RuntimeError("Runner is closed")
        if self._state is _State.INITIALIZED:
            return
        if self._loop_factory is None:
            self._loop = events.new_event_loop()
            if not self._set_event_loop:
                events.set_event_loop(self._loop)
                self._set_event_loop = True
        else:
            self._loop = self._loop_factory()
        if self._debug is not None:
            self._loop.set_debug(self._debug)
        self._context = contextvars.copy_context()
        self._state = _State.INITIALIZED

    def _on_sigint(self, signum, frame, main_task):
        self._interrupt_count += 1
        if self._interrupt_count == 1 and not main_task.done():
            main_task.cancel()
            self._loop.call_soon_threadsafe(lambda: None)   # wake select()
            return
        raise KeyboardInterrupt()
