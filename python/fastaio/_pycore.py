"""fastaio's core in pure Python.

This module is the executable specification of the compiled core
(``fastaio._core``): every name the compiled module exports exists here with
the same behaviour, and the test-suite runs against both.  It is also what
fastaio uses where the compiled core is missing or disabled
(``FASTAIO_NO_EXTENSIONS=1``, non-CPython interpreters).

Semantics follow CPython 3.14's asyncio on every supported version, with the
eager-start bugs of CPython 3.12-3.15 fixed:

* a task starts eagerly only on the thread that runs its loop (gh-155338);
* ``context=`` must be a ``contextvars.Context`` (TypeError otherwise), and a
  context that is already entered makes the task start lazily instead of
  breaking the loop (gh-157301);
* an eager first step never sees the exception its creator is handling
  (gh-155575): created in the creator's own except block, the task starts
  eagerly with that exception hidden from the first step and given back to
  the creator afterwards (an exception ``create_task`` raises is chained to
  it unless it has a context of its own); if an outer frame handles the
  exception (the creator is awaited in another coroutine's except block, or
  the loop runs in one), or ctypes cannot set the exception state (not
  CPython), the task starts lazily, as asyncio's tasks do;
* eager creations nest at most ``MAX_EAGER_DEPTH`` deep; deeper ones start
  lazily instead of exhausting the C stack; from ``_STACK_CHECK_FROM``
  levels on, they also start lazily once the stack takes more than three
  quarters of the recursion limit.  The compiled core reads what the
  thread has used of the limit; this implementation counts the frames on
  the stack, each as two units before 3.12, which also counts the call
  into Python made from C (3.12 counts Python frames apart, gh-91079);
* the name is set before the first step (gh-128308, gh-143173);
* ``get_coro()`` returns None after an eager start completed the task, and
  never crashes (gh-122332);
* ``gather()`` accounts at once for the children that are done when it is
  called, as 3.12+ does (gh-97696), so that a gather of eager children that
  all finished is itself done and awaiting it does not suspend.
"""
import asyncio
import contextvars
import enum
import functools
import heapq
import sys
import threading
import types
from asyncio import events, exceptions, futures, tasks

from . import _compat
from ._tasks import create_task_on, task_kwargs

# The names of a core: the compiled one (fastaio._core) has each of them.
__all__ = (
    "MAX_EAGER_DEPTH",
    "Barrier",
    "BrokenBarrierError",
    "Task",
    "create_eager_task_factory",
    "create_task_via_factory",
    "current_task",
    "eager_task_factory",
    "gather",
    "handle_run",
    "loop_call_soon",
    "loop_get_debug",
    "loop_is_running",
)

#: Eager creations nested deeper than this start lazily (see module doc).
MAX_EAGER_DEPTH = 100

BrokenBarrierError = _compat.BrokenBarrierError

_Context = contextvars.Context
_get_running_loop = events._get_running_loop


class _ThreadState(threading.local):
    depth = 0          # eager first steps currently on this thread's stack


_tstate = _ThreadState()

#: Eager levels from which the stack is looked at (``_stack_nearly_full``).
_STACK_CHECK_FROM = 8
#: Units of the recursion limit a Python frame takes here: before 3.12 the
#: call into Python made from C counts as well as the frame.
_UNITS_PER_FRAME = 2 if sys.version_info < (3, 12) else 1
_getframe = getattr(sys, "_getframe", None)


def _stack_nearly_full():
    """Whether the frames on this thread's stack take more than three
    quarters of the recursion limit."""
    if _getframe is None:
        return False
    frames = 0
    frame = _getframe()
    while frame is not None:
        frames += 1
        frame = frame.f_back
    return _UNITS_PER_FRAME * frames > sys.getrecursionlimit() * 3 // 4


def _noop():
    pass


def _check_context(context):
    if context is not None and type(context) is not _Context:
        raise TypeError(
            "context must be a contextvars.Context or None, not "
            f"{type(context).__name__}")


#: ``_may_start_eagerly``'s answer when the first step may run with the
#: exception being handled hidden from it (through ``_start_hidden``).
_HIDING = 2


def _may_start_eagerly(loop, context):
    """Whether a task of ``loop`` may run its first step right now: False
    (it starts lazily), True, or ``_HIDING``: yes, through
    ``_start_hidden``, as an exception is being handled.

    ``context`` has already passed ``_check_context``.
    """
    if _get_running_loop() is not loop:
        return False                       # another thread, or loop idle
    depth = _tstate.depth
    if depth >= MAX_EAGER_DEPTH:
        return False
    if depth >= _STACK_CHECK_FROM and _stack_nearly_full():
        return False
    if context is not None:
        try:
            context.run(_noop)
        except RuntimeError:               # entered somewhere up the stack
            return False
    handled = sys.exc_info()
    if handled[1] is None:
        return True
    return _where_handled(handled)        # never leak it to the first step


# --------------------------------------------------------------------------
# the exception being handled, hidden from an eager first step
#
# sys.exc_info() reports the exception of the topmost item of the thread's
# exception stack that holds one.  Each running coroutine or generator has
# an item of its own; an except block of a plain function sets the item of
# the coroutine or generator it runs in (the thread's own item at the
# bottom).  PyErr_SetExcInfo sets the top item only: while a task is
# created, the creator's.

@functools.cache
def _exc_info_setter():
    """A function that makes the top item of the exception stack hold a
    ``sys.exc_info()`` triple, through ``PyErr_SetExcInfo``; None without
    that C API (a task created while an exception is being handled then
    starts lazily).  Made on first use: ctypes is imported then."""
    try:
        import ctypes
        api = ctypes.pythonapi
        void_p = ctypes.c_void_p
        set_exc_info = ctypes.PYFUNCTYPE(None, void_p, void_p, void_p)(
            ("PyErr_SetExcInfo", api))
        incref = ctypes.PYFUNCTYPE(None, void_p)(("Py_IncRef", api))
    except (ImportError, AttributeError):
        return None

    def set_handled(info):
        # PyErr_SetExcInfo takes a reference to each of the three (3.11+
        # keeps the exception only, but releases all three).
        for obj in info:
            if obj is not None:
                incref(id(obj))
        set_exc_info(*[None if obj is None else id(obj) for obj in info])
    return set_handled


_NOTHING = (None, None, None)


def _where_handled(handled):
    """``_HIDING`` if the top item of the exception stack holds ``handled``,
    the exception being handled, so that emptying it hides the exception
    from an eager first step; False if an outer frame holds it (the creator
    is awaited in an except block of another coroutine, or the loop runs in
    one) or holds another one, which emptying the top item would show.

    The top item is emptied to find out, and given back unless the item
    below holds the very same exception: then it stays empty, which
    ``sys.exc_info()`` and a bare ``raise`` cannot tell apart."""
    set_handled = _exc_info_setter()
    if set_handled is None:
        return False
    set_handled(_NOTHING)
    below = sys.exc_info()
    if below[1] is None:
        set_handled(handled)
        return _HIDING
    if any(a is not b for a, b in zip(below, handled)):
        set_handled(handled)
    return False


def _start_hidden(func, /, *args, **kwargs):
    """``func(*args, **kwargs)``, which takes a task's first step, with the
    exception being handled hidden from it: the top item of the exception
    stack, which holds it (``_may_start_eagerly`` answered ``_HIDING``), is
    emptied, and holds it again afterwards.

    An exception on its way out (one the first step let out, such as
    KeyboardInterrupt, or an error of the task constructor) is raised again
    once the handled exception is back, so that it is chained to it as an
    exception raised in the creator's except block, unless it has a
    ``__context__`` of its own."""
    set_handled = _exc_info_setter()
    handled = sys.exc_info()
    set_handled(_NOTHING)
    try:
        return func(*args, **kwargs)
    except BaseException as exc:
        error = exc
    finally:
        # Not inside the except block: when that ends, the top item gets
        # back what it held when the block began.
        set_handled(handled)
    context = error.__context__
    try:
        raise error.with_traceback(error.__traceback__.tb_next)
    finally:
        if context is not None:
            error.__context__ = context
        error = context = None


# --------------------------------------------------------------------------
# current_task

if _compat.PY312:
    # Already implemented in C by CPython (gh-100344).
    current_task = asyncio.current_task
else:
    _current_tasks = tasks._current_tasks

    def current_task(loop=None):
        """Return the task running on ``loop`` (default: the running loop)."""
        if loop is None:
            loop = events.get_running_loop()
        return _current_tasks.get(loop)


# --------------------------------------------------------------------------
# Task

if _compat.PY312 and not _compat.GET_CORO_CRASHES:
    Task = asyncio.Task

elif _compat.PY312:

    class Task(asyncio.Task):
        """``asyncio.Task`` whose ``get_coro()`` is safe after an eager start
        completed the task (CPython 3.12.0-3.12.4 crash there, gh-122332).

        No ``__init__`` of its own: construction stays asyncio's C code."""

        __slots__ = ()

        def get_coro(self):
            # The ``_coro`` getter returns None once the eager start has
            # cleared the coroutine, which is what 3.12.5+ get_coro() does.
            return self._coro

else:
    _PyFuture = futures._PyFuture
    _register_task = tasks._register_task
    _next_task_number = tasks._task_name_counter

    class Task(tasks._PyTask):
        """A Task with CPython 3.14's interface on Python 3.9-3.11.

        Adds ``eager_start``, ``context`` (3.9, 3.10), ``get_context()``
        (3.9, 3.10) and ``cancelling()``/``uncancel()`` with 3.13+
        semantics.  It steps through the interpreter's own Task machinery,
        so ``asyncio.current_task()`` and ``asyncio.all_tasks()`` see it.
        """

        _num_cancels_requested = 0
        _done_eagerly = False

        def __init__(self, coro, *, loop=None, name=None, context=None,
                     eager_start=False):
            _PyFuture.__init__(self, loop=loop)
            if self._source_traceback:
                del self._source_traceback[-1]
            if not asyncio.iscoroutine(coro):
                self._log_destroy_pending = False
                raise TypeError(f"a coroutine was expected, got {coro!r}")
            try:
                _check_context(context)
            except TypeError:
                self._log_destroy_pending = False
                raise
            self._name = (f"Task-{_next_task_number()}" if name is None
                          else str(name))
            self._must_cancel = False
            self._fut_waiter = None
            self._coro = coro
            self._context = (contextvars.copy_context() if context is None
                             else context)
            how = eager_start and _may_start_eagerly(self._loop, context)
            if how:
                # Inline (not a method): each eager level costs stack.  The
                # step enters this task itself; the creator steps aside.
                loop = self._loop
                creator = _current_tasks.pop(loop, None)
                _register_task(self)
                _tstate.depth += 1
                try:
                    if how == _HIDING:
                        _start_hidden(self._context.run, self._Task__step)
                    else:
                        self._context.run(self._Task__step)
                finally:
                    _tstate.depth -= 1
                    if creator is not None:
                        _current_tasks[loop] = creator
                if self.done():
                    self._done_eagerly = True
            else:
                self._loop.call_soon(self._Task__step, context=self._context)
                _register_task(self)

        def __del__(self):
            if self._loop is not None:     # __init__ got as far as the loop
                super().__del__()

        def get_coro(self):
            return None if self._done_eagerly else self._coro

        def get_context(self):
            return self._context

        def cancel(self, msg=None):
            self._log_traceback = False
            if self.done():
                return False
            self._num_cancels_requested += 1
            waiter = self._fut_waiter
            if waiter is not None and waiter.cancel(msg=msg):
                return True
            self._must_cancel = True
            self._cancel_message = msg
            return True

        def cancelling(self):
            return self._num_cancels_requested

        def uncancel(self):
            if self._num_cancels_requested > 0:
                self._num_cancels_requested -= 1
                if self._num_cancels_requested == 0:
                    self._must_cancel = False
            return self._num_cancels_requested


# --------------------------------------------------------------------------
# eager task factory

class _EagerTaskFactory:
    """A task factory that starts tasks eagerly (see
    ``create_eager_task_factory``).

    anyio recognises asyncio's eager factory by its ``__code__`` (3.12+;
    before 3.12 it compares ``__code__`` with None) and then creates the
    tasks of its task groups lazily through the constructor in
    ``__closure__[0]``.  fastaio's factory answers both the same way, so
    anyio treats it exactly as ``asyncio.eager_task_factory``.
    """

    __slots__ = ("_fastaio_task_constructor", "__closure__", "__name__",
                 "__qualname__")

    def __init__(self, ctor):
        self._fastaio_task_constructor = ctor
        self.__closure__ = (types.CellType(ctor),)
        self.__name__ = self.__qualname__ = "eager_task_factory"

    if _compat.PY312:
        @property
        def __code__(self):
            return _stdlib_eager_code

    def __repr__(self):
        return (f"<fastaio eager_task_factory of "
                f"{self._fastaio_task_constructor!r}>")

    if _compat.PY312:
        def __call__(self, loop, coro, /, *, name=None, context=None,
                     eager_start=None, **kwargs):
            ctor = self._fastaio_task_constructor
            _check_context(context)
            task_kwargs(kwargs, name, context)
            if eager_start is None or eager_start:
                how = _may_start_eagerly(loop, context)
                if how:
                    _tstate.depth += 1
                    try:
                        if how == _HIDING:
                            return _start_hidden(ctor, coro, loop=loop,
                                                 eager_start=True, **kwargs)
                        return ctor(coro, loop=loop, eager_start=True,
                                    **kwargs)
                    finally:
                        _tstate.depth -= 1
                if not loop.is_running():
                    # As asyncio's factory: the constructor is asked for an
                    # eager start and, the loop being idle, starts lazily.
                    return ctor(coro, loop=loop, eager_start=True, **kwargs)
            return ctor(coro, loop=loop, eager_start=False, **kwargs)
    else:
        def __call__(self, loop, coro, /, *, name=None, context=None,
                     eager_start=None, **kwargs):
            # fastaio.Task decides (and checks) eagerness itself.
            return self._fastaio_task_constructor(
                coro, loop=loop,
                eager_start=eager_start is None or bool(eager_start),
                **task_kwargs(kwargs, name, context))


if _compat.PY312:
    _stdlib_eager_code = getattr(asyncio.eager_task_factory, "__code__", None)


def create_eager_task_factory(custom_task_constructor):
    """Return a task factory that starts tasks eagerly.

    The factory takes ``(loop, coro, *, name=None, context=None,
    eager_start=None, **kwargs)`` on every Python version; ``eager_start``
    None means eager.  Other keyword arguments go to
    ``custom_task_constructor``, which must accept ``loop`` and
    ``eager_start`` keywords, and ``name`` and ``context`` (passed only when
    not None).
    """
    if not callable(custom_task_constructor):
        raise TypeError("custom_task_constructor must be callable, not "
                        f"{type(custom_task_constructor).__name__}")
    if (not _compat.PY312 and isinstance(custom_task_constructor, type)
            and not issubclass(custom_task_constructor, Task)):
        raise TypeError(
            f"{custom_task_constructor.__qualname__} cannot start eagerly on "
            f"Python {sys.version_info[0]}.{sys.version_info[1]}; use "
            "fastaio.Task or a subclass of it")
    return _EagerTaskFactory(custom_task_constructor)


eager_task_factory = create_eager_task_factory(Task)

_base_create_task = asyncio.BaseEventLoop.create_task


def create_task_via_factory(loop, coro, *, name=None, context=None, **kwargs):
    """``loop.create_task`` for loops that run fastaio's factory: the factory
    gets the name and context before the first step (CPython's loops only
    pass them from 3.14 on); any other factory is called as
    ``BaseEventLoop.create_task`` calls it."""
    return create_task_on(loop, loop._task_factory, coro, name, context,
                          kwargs, types.MethodType(_base_create_task, loop))


# asyncio's Task constructor calls loop.get_debug() and, for an eager start,
# loop.is_running() on every task, and a future schedules each of its
# callbacks with loop.call_soon(); fastaio.EventLoop takes these three from
# the core (the compiled core has versions that need no Python frame).
loop_is_running = asyncio.BaseEventLoop.is_running
loop_get_debug = asyncio.BaseEventLoop.get_debug
loop_call_soon = asyncio.BaseEventLoop.call_soon
# ... and the loop runs each callback with Handle._run().
handle_run = events.Handle._run


# --------------------------------------------------------------------------
# Barrier

class _BarrierState(enum.Enum):
    FILLING = "filling"
    DRAINING = "draining"
    RESETTING = "resetting"
    BROKEN = "broken"


async def _wait_for(cond, predicate):
    """cond.wait_for(predicate) with the wakeup-on-exception of 3.13's
    Condition.wait (gh-112202) on every version."""
    if _compat.PY313:
        return await cond.wait_for(predicate)
    try:
        return await cond.wait_for(predicate)
    except BaseException:
        cond.notify(1)
        raise


class Barrier:
    """asyncio.Barrier with CPython 3.14's behaviour on every version.

    One difference on purpose: arrival indices are unique within a round even
    when a waiter is cancelled before the barrier trips (gh-155233): a new
    arrival takes the lowest index a cancelled waiter gave back.

    A waiter leaving by an exception while suspended wakes the first other
    waiter, which re-checks and waits again at the end of the queue: that is
    what asyncio.Condition.wait does since 3.13 (gh-112202), and it changes
    the order in which the others resume; ``_wait_for`` does the same on
    older versions.
    """

    def __init__(self, parties):
        if parties < 1:
            raise ValueError("parties must be >= 1")
        self._parties = parties
        self._cond_obj = None
        self._state = _BarrierState.FILLING
        self._count = 0          # tasks inside wait() past the entry gate
        self._next_index = 0     # next never-used index of this round
        self._free = []          # heap of indices given back by cancellation

    @property
    def _cond(self):
        # Built on first use: on 3.9 a Condition binds to a loop when created.
        cond = self._cond_obj
        if cond is None:
            cond = self._cond_obj = asyncio.Condition()
        return cond

    def __repr__(self):
        if self.broken:
            extra = "broken"
        else:
            extra = (f"{self._state.value}, "
                     f"waiters:{self.n_waiting}/{self.parties}")
        return (f"<{type(self).__module__}.{type(self).__qualname__} "
                f"object at {id(self):#x} [{extra}]>")

    async def __aenter__(self):
        return await self.wait()

    async def __aexit__(self, *exc_info):
        return None

    async def wait(self):
        """Wait until ``parties`` tasks wait; return this task's index."""
        cond = self._cond
        async with cond:
            await _wait_for(cond, self._accepting)
            if self._state is _BarrierState.BROKEN:
                raise BrokenBarrierError("Barrier aborted")
            if self._free:
                index = heapq.heappop(self._free)
            else:
                index = self._next_index
                self._next_index += 1
            self._count += 1
            released = False
            try:
                if self._count == self._parties:
                    self._state = _BarrierState.DRAINING
                    cond.notify_all()
                else:
                    await _wait_for(cond, self._tripped_or_failed)
                    if self._state in (_BarrierState.BROKEN,
                                       _BarrierState.RESETTING):
                        raise BrokenBarrierError("Abort or reset of barrier")
                released = True
                return index
            finally:
                self._count -= 1
                if not released and self._state is _BarrierState.FILLING:
                    heapq.heappush(self._free, index)
                self._leave()

    def _accepting(self):
        return self._state not in (_BarrierState.DRAINING,
                                   _BarrierState.RESETTING)

    def _tripped_or_failed(self):
        return self._state is not _BarrierState.FILLING

    def _leave(self):
        if self._count == 0:
            if self._state in (_BarrierState.RESETTING,
                               _BarrierState.DRAINING):
                self._state = _BarrierState.FILLING
            self._new_round()
            self._cond.notify_all()

    def _new_round(self):
        self._next_index = 0
        self._free.clear()

    async def reset(self):
        """Return the barrier to the empty state; waiters get
        BrokenBarrierError."""
        cond = self._cond
        async with cond:
            if self._count > 0:
                if self._state is not _BarrierState.RESETTING:
                    self._state = _BarrierState.RESETTING
            else:
                self._state = _BarrierState.FILLING
                self._new_round()
            cond.notify_all()

    async def abort(self):
        """Break the barrier: current and future waiters get
        BrokenBarrierError."""
        cond = self._cond
        async with cond:
            self._state = _BarrierState.BROKEN
            cond.notify_all()

    @property
    def parties(self):
        return self._parties

    @property
    def n_waiting(self):
        if self._state is _BarrierState.FILLING:
            return self._count
        return 0

    @property
    def broken(self):
        return self._state is _BarrierState.BROKEN


# --------------------------------------------------------------------------
# gather()

# 3.10 and 3.11 gather() wraps its arguments with the private helper, which
# does not warn about the deprecated loop argument; 3.9 has only the public
# one, and 3.12 folded the helper back into it.
_ensure_future = getattr(tasks, "_ensure_future", tasks.ensure_future)
_GatheringFuture = tasks._GatheringFuture
_CoroutineType = types.CoroutineType


def _wrap_for_gather(arg, loop):
    """``ensure_future(arg, loop=loop)``; a native coroutine goes straight to
    ``loop.create_task`` when the loop is known and not in debug mode (where
    the stdlib trims the wrapper's frame from the source traceback)."""
    if loop is None or type(arg) is not _CoroutineType or loop.get_debug():
        return _ensure_future(arg, loop=loop)
    try:
        return loop.create_task(arg)
    except RuntimeError:
        arg.close()
        raise


def _gather_result(child):
    """What a child contributes to the result list."""
    if child.cancelled():
        message = child._cancel_message
        return exceptions.CancelledError("" if message is None else message)
    error = child.exception()
    return child.result() if error is None else error


class _GatherState:
    """The done callback of one gather() call's pending children."""

    __slots__ = ("outer", "children", "expected", "finished",
                 "return_exceptions")

    def __init__(self, return_exceptions):
        self.outer = None       # set once every argument is wrapped
        self.children = []
        self.expected = 0       # distinct children
        self.finished = 0
        self.return_exceptions = return_exceptions

    def __call__(self, child):
        self.finished += 1
        outer = self.outer
        if outer is None or outer.done():
            # Too early (an argument failed to wrap: bpo-46672) or too late.
            if not child.cancelled():
                child.exception()       # mark it retrieved
            return
        if not self.return_exceptions:
            if child.cancelled():
                outer.set_exception(child._make_cancelled_error())
                return
            error = child.exception()
            if error is not None:
                outer.set_exception(error)
                return
        if self.finished < self.expected:
            return
        children = self.children
        results = [_gather_result(each) for each in children]
        if outer._cancel_requested:
            # A cancelled gather raises CancelledError whatever
            # return_exceptions says (bpo-32684), built from the last child.
            outer.set_exception(children[-1]._make_cancelled_error())
        else:
            outer.set_result(results)


def _gather(coros_or_futures, return_exceptions):
    loop = _get_running_loop()
    state = _GatherState(return_exceptions)
    children = state.children
    seen = {}
    done_now = []
    for arg in coros_or_futures:
        child = seen.get(arg)
        if child is None:
            child = _wrap_for_gather(arg, loop)
            if loop is None:
                loop = futures._get_loop(child)
            if child is not arg:
                # Made here for a coroutine: nobody else can await it, so its
                # "destroyed but pending" report would only be noise.
                child._log_destroy_pending = False
            state.expected += 1
            seen[arg] = child
            if child.done():
                done_now.append(child)
            else:
                child.add_done_callback(state)
        children.append(child)
    outer = state.outer = _GatheringFuture(children, loop=loop)
    # The children that were done already are accounted for now that outer
    # exists; if all were, this completes outer before it is returned.
    for child in done_now:
        state(child)
    return outer


if _compat.PY314:
    gather = asyncio.gather
else:
    def gather(*coros_or_futures, return_exceptions=False, **kwargs):
        """``asyncio.gather`` as CPython 3.14 defines it (without the
        call-graph bookkeeping that 3.14 added): children that are done when
        passed are accounted for at once (3.12+), and if all are, the
        returned future is already done; the arguments are wrapped for the
        running loop."""
        if not coros_or_futures or kwargs:
            # Nothing to wait for (the stdlib picks the loop and warns as the
            # interpreter's version does), or 3.9's deprecated loop=.
            return _stdlib_gather(*coros_or_futures,
                                  return_exceptions=return_exceptions,
                                  **kwargs)
        return _gather(coros_or_futures, return_exceptions)


# The interpreter's gather, even when install() already replaced it.
_stdlib_gather = getattr(tasks.gather, "_fastaio_original", tasks.gather)
