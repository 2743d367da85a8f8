"""fastaio: a C-accelerated eager task factory, current_task() and Barrier
for asyncio, and the modern asyncio API on CPython 3.9 and newer.

Turn it on for a whole program::

    fastaio.run(main())                                   # any version
    asyncio.run(main(), loop_factory=fastaio.new_event_loop)   # 3.12+
    fastaio.install(loop)                                 # an existing loop

``IMPLEMENTATION`` is ``"c"`` when the compiled core is in use and
``"python"`` otherwise; ``FASTAIO_NO_EXTENSIONS=1`` (at build or import time)
selects the pure-Python implementation.  The two implementations of the
core are also importable under fixed names: ``_PyTask``/``_CTask``,
``_PyBarrier``/``_CBarrier``, ``_py_eager_task_factory``/
``_c_eager_task_factory``, ``_py_current_task``/``_c_current_task`` and
``_py_gather``/``_c_gather`` (the ``_C`` names are None without the
compiled core).
"""
import asyncio as _asyncio

from . import _compat, _impl, _pycore
from ._impl import IMPLEMENTATION, USE_EXTENSIONS, WHY
from ._install import install, uninstall, unpatch_asyncio
from ._loops import EventLoop, Runner, create_task, new_event_loop, run
from ._timeouts import Timeout, timeout, timeout_at

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0"

__all__ = (
    "IMPLEMENTATION",
    "USE_EXTENSIONS",
    "WHY",
    "Barrier",
    "BrokenBarrierError",
    "EventLoop",
    "Runner",
    "Task",
    "TaskGroup",
    "Timeout",
    "TimeoutError",
    "create_eager_task_factory",
    "create_task",
    "current_task",
    "eager_task_factory",
    "gather",
    "install",
    "new_event_loop",
    "run",
    "timeout",
    "timeout_at",
    "to_thread",
    "uninstall",
    "unpatch_asyncio",
)

Barrier = _impl.core.Barrier
BrokenBarrierError = _impl.core.BrokenBarrierError
Task = _impl.core.Task
create_eager_task_factory = _impl.core.create_eager_task_factory
current_task = _impl.core.current_task
eager_task_factory = _impl.core.eager_task_factory
gather = _impl.core.gather
TaskGroup = _impl.TaskGroup
TimeoutError = _compat.TimeoutError
to_thread = _asyncio.to_thread

# The twins, as asyncio.tasks publishes _PyTask and _CTask.
_c = _impl.ccore
_PyTask, _CTask = _pycore.Task, _c and _c.Task
_PyBarrier, _CBarrier = _pycore.Barrier, _c and _c.Barrier
_py_eager_task_factory = _pycore.eager_task_factory
_c_eager_task_factory = _c and _c.eager_task_factory
_py_current_task, _c_current_task = _pycore.current_task, _c and _c.current_task
_py_gather, _c_gather = _pycore.gather, _c and _c.gather
del _c
