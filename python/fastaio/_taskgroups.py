"""TaskGroup with CPython 3.14's behaviour on every supported version.

Differences from the stdlib, on purpose:

* the eager shortcut of 3.12/3.13 (gh-104144) is not taken for a child that
  failed or was cancelled during ``create_task``: such a child is added to
  the group and reported through its done callback, as any other, so it
  cannot leak a cancellation (gh-128588) or deadlock the group (gh-128550);
* a child that *succeeded* during ``create_task`` (on a loop running a
  fastaio factory) is not added at all: it needs nothing from the group
  (see ``create_task``), and a group whose children all finished that way
  leaves its ``async with`` block without suspending;
* ``cancel()`` (3.15) exists on every version and works when called by an
  eager child before its first suspension (gh-155418).
"""
from asyncio import events, exceptions, futures, tasks

from . import _compat
from ._tasks import (finished_ok, later, need_cancel_counting,
                     runs_fastaio_factory, spawn)

__all__ = ("TaskGroup",)

_add_awaited_by = getattr(futures, "future_add_to_awaited_by", None)
_discard_awaited_by = getattr(futures, "future_discard_from_awaited_by", None)


def _is_base_error(exc):
    return isinstance(exc, (SystemExit, KeyboardInterrupt))


class TaskGroup:
    """Asynchronous context manager that owns a group of tasks.

    Leaving the ``async with`` block waits for every task of the group.  The
    first task that fails cancels the others and the body; the failures are
    raised together as a ``BaseExceptionGroup``.
    """

    def __init__(self):
        self._entered = False
        self._exiting = False
        self._aborting = False
        self._loop = None
        self._parent_task = None
        self._parent_cancel_requested = False
        self._tasks = set()
        self._errors = []
        self._base_error = None
        self._on_completed_fut = None
        self._cancel_when_entered = False
        self._eager = False      # the loop runs a fastaio factory
        self._done_callback = None   # self._on_task_done, made once

    def __repr__(self):
        parts = []
        if self._tasks:
            parts.append(f"tasks={len(self._tasks)}")
        if self._errors:
            parts.append(f"errors={len(self._errors)}")
        if self._aborting:
            parts.append("cancelling")
        elif self._entered:
            parts.append("entered")
        return "<TaskGroup" + "".join(" " + p for p in parts) + ">"

    def __aenter__(self):
        # Not a coroutine, as nothing here suspends: the awaitable returned
        # runs _enter() when it is awaited (see _tasks.later).
        return later(self._enter)

    def _enter(self):
        if self._entered:
            raise RuntimeError(f"TaskGroup {self!r} has already been entered")
        if self._loop is None:
            self._loop = events.get_running_loop()
        parent = tasks.current_task(self._loop)
        if parent is None:
            raise RuntimeError(
                f"TaskGroup {self!r} cannot determine the parent task")
        need_cancel_counting(parent, "fastaio.TaskGroup")
        self._parent_task = parent
        self._eager = runs_fastaio_factory(self._loop)
        self._entered = True
        if self._cancel_when_entered:
            self.cancel()
        return self

    def __aexit__(self, et, exc, tb):
        tb = None
        if (et is None and not self._tasks and not self._errors
                and not self._aborting and not self._parent_cancel_requested):
            # Nothing to wait for and nothing to report: what the general
            # path below does in that case, without suspending.
            return later(self._exit_at_once)
        return self._exit(et, exc)

    def _exit_at_once(self):
        self._exiting = True
        self._parent_task = None
        self._errors = None
        self._done_callback = None

    async def _exit(self, et, exc):
        try:
            self._exiting = True
            if (exc is not None and _is_base_error(exc)
                    and self._base_error is None):
                self._base_error = exc

            cancelled_by = None        # CancelledError to re-raise, if any
            if et is not None and issubclass(et, exceptions.CancelledError):
                cancelled_by = exc
            if et is not None and not self._aborting:
                # The body failed or was cancelled: stop the children.
                self._abort()

            # The wait may be cancelled several times (the parent being
            # cancelled again while the children wind down), hence the loop.
            cancelled_while_waiting = None
            while self._tasks:
                if self._on_completed_fut is None:
                    self._on_completed_fut = self._loop.create_future()
                try:
                    await self._on_completed_fut
                except exceptions.CancelledError as err:
                    cancelled_while_waiting = err
                    if not self._aborting:
                        cancelled_by = err
                        self._abort()
                self._on_completed_fut = None

            if self._base_error is not None:
                # Only the base error propagates: report the others rather
                # than drop them silently (gh-135736).
                for lost in self._errors:
                    self._loop.call_exception_handler({
                        "message": "TaskGroup task exception was not "
                                   "propagated because the TaskGroup body "
                                   "is being closed with a BaseException",
                        "exception": lost,
                        "task_group": self,
                    })
                try:
                    raise self._base_error
                finally:
                    exc = None

            if self._parent_cancel_requested:
                # This group cancelled its parent: take that request back.
                # Only cancellations requested by others still propagate,
                # even when they arrived while the children wound down
                # (gh-155433).
                if self._parent_task.uncancel() == 0:
                    cancelled_by = None
                elif cancelled_by is None:
                    cancelled_by = cancelled_while_waiting

            try:
                if cancelled_by is not None and not self._errors:
                    try:
                        raise cancelled_by
                    finally:
                        exc = None
            finally:
                cancelled_by = None

            if (et is not None
                    and not issubclass(et, exceptions.CancelledError)):
                self._errors.append(exc)

            if self._errors:
                # No local may name the parent task: the frame stays
                # reachable from the raised group's traceback.
                if self._parent_task.cancelling():
                    # Someone else cancelled the parent too: keep the count
                    # stable while turning our own request into a
                    # re-delivery.
                    self._parent_task.uncancel()
                    self._parent_task.cancel()
                try:
                    if (et is not None and issubclass(et, GeneratorExit)
                            and len(self._errors) == 1):
                        # An async generator closed inside the group: let
                        # aclose() see its GeneratorExit.
                        raise exc
                    raise _compat.BaseExceptionGroup(
                        "unhandled errors in a TaskGroup",
                        self._errors) from None
                finally:
                    exc = None
            # Whatever is left is a cancellation this group asked for.
            return True
        finally:
            # Break the cycles through the frames of the raised errors.
            self._parent_task = None
            self._errors = None
            self._base_error = None
            self._done_callback = None
            exc = None

    def create_task(self, coro, *, name=None, context=None, **kwargs):
        """Create a task of this group (``name``, ``context`` and the other
        keyword arguments of ``loop.create_task`` are accepted)."""
        if not self._entered:
            coro.close()
            raise RuntimeError(f"TaskGroup {self!r} has not been entered")
        if self._exiting and not self._tasks:
            coro.close()
            raise RuntimeError(f"TaskGroup {self!r} is finished")
        if self._aborting:
            coro.close()
            raise RuntimeError(f"TaskGroup {self!r} is shutting down")
        task = spawn(self._loop, coro, name, context, kwargs)
        if self._eager and finished_ok(task):
            # It finished successfully inside spawn().  Its done callback
            # would only take it out of _tasks again and wake the exit when
            # _tasks becomes empty; it adds no error and cancels nothing.
            # Leaving it out gives the state the group has once the loop ran
            # that callback, a state every group reaches (gh-128588,
            # gh-128550, gh-155418, gh-155433 and gh-135736 all concern a
            # child that failed, was cancelled or is still running; those
            # take the path below).  awaited_by (3.14) would be added and
            # discarded again.
            return task
        if _add_awaited_by is not None:
            _add_awaited_by(task, self._parent_task)
        # Registered even when it failed or was cancelled eagerly.
        self._tasks.add(task)
        callback = self._done_callback
        if callback is None:
            # One bound method for every child of the group.
            callback = self._done_callback = self._on_task_done
        task.add_done_callback(callback)
        if self._aborting and not task.done():
            # An eager child cancelled the group before it joined it
            # (gh-155418).
            task.cancel()
        try:
            return task
        finally:
            del task

    def cancel(self):
        """Cancel the group: its unfinished tasks and its body are cancelled,
        and the ``async with`` block exits without raising CancelledError.

        Called before the group is entered, it cancels the group on entry.
        Idempotent; a no-op once the group has finished.
        """
        if not self._entered:
            self._cancel_when_entered = True
            return
        if self._exiting and not self._tasks:
            return
        if self._aborting:
            return
        self._abort()
        if self._parent_task is not None and not self._parent_cancel_requested:
            self._parent_cancel_requested = True
            self._parent_task.cancel()

    def _abort(self):
        self._aborting = True
        for task in self._tasks:
            if not task.done():
                task.cancel()

    def _on_task_done(self, task):
        self._tasks.discard(task)
        if _discard_awaited_by is not None:
            _discard_awaited_by(task, self._parent_task)
        waiter = self._on_completed_fut
        if waiter is not None and not self._tasks and not waiter.done():
            waiter.set_result(True)

        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        self._errors.append(exc)
        if _is_base_error(exc) and self._base_error is None:
            self._base_error = exc

        parent = self._parent_task
        if parent.done():
            self._loop.call_exception_handler({
                "message": f"Task {task!r} has errored out but its parent "
                           f"task {parent} is already completed",
                "exception": exc,
                "task": task,
            })
            return
        if not self._aborting and not self._parent_cancel_requested:
            # The body is still running: interrupt it so that the group
            # exits as soon as possible.
            self._abort()
            self._parent_cancel_requested = True
            parent.cancel()

