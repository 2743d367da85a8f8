# The public API of fastaio, for type checkers.  Behaviour: README.md and
# the docstrings of the modules that define each name.
import asyncio
import builtins
import sys
from asyncio import AbstractEventLoop
from collections.abc import Awaitable, Callable, Coroutine, Generator
from contextvars import Context
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

from typing_extensions import ParamSpec, Self

_T = TypeVar("_T")
_T1 = TypeVar("_T1")
_T2 = TypeVar("_T2")
_T3 = TypeVar("_T3")
_T4 = TypeVar("_T4")
_T5 = TypeVar("_T5")
_P = ParamSpec("_P")
_R = TypeVar("_R")
_Loop = TypeVar("_Loop", bound=AbstractEventLoop)

# What a task runs: a coroutine (or an old-style generator coroutine).
_TaskCoro = Coroutine[Any, Any, _T] | Generator[Any, None, _T]
_Awaited = Awaitable[_T] | asyncio.Future[_T]

__version__: str
IMPLEMENTATION: Literal["c", "python"]
USE_EXTENSIONS: bool
WHY: str

class Task(asyncio.Task[_T]):
    def __init__(
        self,
        coro: _TaskCoro[_T],
        *,
        loop: AbstractEventLoop | None = None,
        name: str | None = None,
        context: Context | None = None,
        eager_start: bool = False,
    ) -> None: ...
    def get_context(self) -> Context: ...
    def cancelling(self) -> int: ...
    def uncancel(self) -> int: ...

def create_task(
    coro: _TaskCoro[_T],
    *,
    name: str | None = None,
    context: Context | None = None,
    eager_start: bool | None = None,
    **kwargs: Any,
) -> asyncio.Task[_T]: ...
def current_task(loop: AbstractEventLoop | None = None) -> asyncio.Task[Any] | None: ...
def eager_task_factory(
    loop: AbstractEventLoop,
    coro: _TaskCoro[_T],
    /,
    *,
    name: str | None = None,
    context: Context | None = None,
    eager_start: bool | None = None,
    **kwargs: Any,
) -> asyncio.Task[_T]: ...
def create_eager_task_factory(
    custom_task_constructor: Callable[..., asyncio.Task[Any]],
) -> Callable[..., asyncio.Task[Any]]: ...

@overload
def gather(
    f1: _Awaited[_T1], /, *, return_exceptions: Literal[False] = False
) -> asyncio.Future[tuple[_T1]]: ...
@overload
def gather(
    f1: _Awaited[_T1], f2: _Awaited[_T2], /, *,
    return_exceptions: Literal[False] = False,
) -> asyncio.Future[tuple[_T1, _T2]]: ...
@overload
def gather(
    f1: _Awaited[_T1], f2: _Awaited[_T2], f3: _Awaited[_T3], /, *,
    return_exceptions: Literal[False] = False,
) -> asyncio.Future[tuple[_T1, _T2, _T3]]: ...
@overload
def gather(
    f1: _Awaited[_T1], f2: _Awaited[_T2], f3: _Awaited[_T3],
    f4: _Awaited[_T4], /, *, return_exceptions: Literal[False] = False,
) -> asyncio.Future[tuple[_T1, _T2, _T3, _T4]]: ...
@overload
def gather(
    f1: _Awaited[_T1], f2: _Awaited[_T2], f3: _Awaited[_T3],
    f4: _Awaited[_T4], f5: _Awaited[_T5], /, *,
    return_exceptions: Literal[False] = False,
) -> asyncio.Future[tuple[_T1, _T2, _T3, _T4, _T5]]: ...
@overload
def gather(
    *coros_or_futures: _Awaited[_T], return_exceptions: Literal[False] = False
) -> asyncio.Future[list[_T]]: ...
@overload
def gather(
    *coros_or_futures: _Awaited[_T], return_exceptions: bool
) -> asyncio.Future[list[_T | BaseException]]: ...

class Barrier:
    def __init__(self, parties: int) -> None: ...
    async def __aenter__(self) -> int: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def wait(self) -> int: ...
    async def reset(self) -> None: ...
    async def abort(self) -> None: ...
    @property
    def parties(self) -> int: ...
    @property
    def n_waiting(self) -> int: ...
    @property
    def broken(self) -> bool: ...

if sys.version_info >= (3, 11):
    from asyncio import BrokenBarrierError as BrokenBarrierError
    from builtins import TimeoutError as TimeoutError
else:
    class BrokenBarrierError(RuntimeError): ...
    class TimeoutError(asyncio.TimeoutError, builtins.TimeoutError): ...

class TaskGroup:
    def __init__(self) -> None: ...
    # Awaitables, not coroutines (README, "Differences from the stdlib").
    def __aenter__(self) -> Awaitable[Self]: ...
    def __aexit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[bool | None]: ...
    def create_task(
        self,
        coro: _TaskCoro[_T],
        *,
        name: str | None = None,
        context: Context | None = None,
        **kwargs: Any,
    ) -> asyncio.Task[_T]: ...
    def cancel(self) -> None: ...

class Timeout:
    def __init__(self, when: float | None) -> None: ...
    def when(self) -> float | None: ...
    def reschedule(self, when: float | None) -> None: ...
    def expired(self) -> bool: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None: ...

def timeout(delay: float | None) -> Timeout: ...
def timeout_at(when: float | None) -> Timeout: ...
async def to_thread(
    func: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs
) -> _R: ...

if sys.platform == "win32":
    _DefaultLoop = asyncio.ProactorEventLoop
else:
    _DefaultLoop = asyncio.SelectorEventLoop

class EventLoop(_DefaultLoop): ...

def new_event_loop() -> EventLoop: ...

class Runner:
    def __init__(
        self,
        *,
        debug: bool | None = None,
        loop_factory: Callable[[], AbstractEventLoop] | None = None,
        install: bool = True,
    ) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None: ...
    def close(self) -> None: ...
    def get_loop(self) -> AbstractEventLoop: ...
    def run(
        self, coro: Coroutine[Any, Any, _T], *, context: Context | None = None
    ) -> _T: ...

def run(
    main: Coroutine[Any, Any, _T],
    *,
    debug: bool | None = None,
    loop_factory: Callable[[], AbstractEventLoop] | None = None,
    install: bool = True,
) -> _T: ...
@overload
def install(loop: _Loop, *, force: bool = False) -> _Loop: ...
@overload
def install(loop: None = None, *, force: bool = False) -> AbstractEventLoop: ...
def uninstall(loop: AbstractEventLoop | None = None) -> None: ...
def unpatch_asyncio(*names: str) -> None: ...
