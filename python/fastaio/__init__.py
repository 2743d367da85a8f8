"""fastaio: a C-accelerated eager task factory, current_task() and Barrier
for asyncio, and the modern asyncio API on CPython 3.9 and newer.

Turn it on for a whole program::

    fastaio.run(main())                                   # any version
    asyncio.run(main(), loop_factory=fastaio.new_event_loop)   # 3.12+
    fastaio.install(loop)                                 # an existing loop

``IMPLEMENTATION`` is ``"c"`` when the compiled core is in use and
``"python"`` otherwise; ``FASTAIO_NO_EXTENSIONS=1`` (at build or import time)
selects the pure-Python implementation.
"""
import os as _os
import sys as _sys
import types as _types
import warnings as _warnings

from . import _compat, _pycore
from ._api import build as _build

__version__ = "0.1.0.dev0"

__all__ = (
    "IMPLEMENTATION",
    "USE_EXTENSIONS",
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
)


def _flag(name):
    return _os.environ.get(name, "") not in ("", "0")


# Compiled modules; each may define any of _pycore.__all__.  "_core" is the
# one whose absence means "built without extensions".
_COMPILED_MODULES = ("_core", "_barrier", "_gathering")


def _import_compiled(name):
    import importlib
    return importlib.import_module(f"{__name__}.{name}")


def _load_compiled():
    """The compiled core merged over the pure one, or None with a reason."""
    if _sys.implementation.name != "cpython":
        return None, f"{_sys.implementation.name} runs the pure-Python core"
    if _flag("FASTAIO_NO_EXTENSIONS"):
        return None, "FASTAIO_NO_EXTENSIONS is set"
    modules = []
    for name in _COMPILED_MODULES:
        try:
            modules.append(_import_compiled(name))
        except ImportError as exc:
            import importlib.util
            try:
                absent = importlib.util.find_spec(
                    f"{__name__}.{name}") is None
            except (ImportError, ValueError):
                absent = False
            if absent and name == "_core":
                return None, "fastaio was built without its compiled core"
            if absent:
                continue
            if _flag("FASTAIO_REQUIRE_EXTENSIONS") or hasattr(
                    _sys, "gettotalrefcount"):
                raise
            _warnings.warn(
                f"fastaio: the compiled core failed to import ({exc}); "
                "using the pure-Python implementation", RuntimeWarning,
                stacklevel=3)
            return None, f"the compiled core failed to import: {exc}"
    merged = _types.ModuleType("fastaio._ccore")
    merged.__dict__.update(
        (k, getattr(_pycore, k)) for k in _pycore.__all__)
    compiled = []
    for module in modules:
        names = [k for k in vars(module) if not k.startswith("_")
                 and k in _pycore.__all__]
        merged.__dict__.update((k, getattr(module, k)) for k in names)
        compiled += names
    merged.COMPILED_NAMES = tuple(sorted(set(compiled)))
    return merged, "the compiled core is built and enabled"


_ccore, WHY = _load_compiled()
USE_EXTENSIONS = _ccore is not None
IMPLEMENTATION = "c" if USE_EXTENSIONS else "python"

# The public API over each available core; the tests use both.
implementations = {"python": _build(_pycore, "python")}
if _ccore is not None:
    implementations["c"] = _build(_ccore, "c")
_active = implementations[IMPLEMENTATION]

Barrier = _active.Barrier
BrokenBarrierError = _active.BrokenBarrierError
EventLoop = _active.EventLoop
Runner = _active.Runner
Task = _active.Task
TaskGroup = _active.TaskGroup
Timeout = _active.Timeout
TimeoutError = _compat.TimeoutError
create_eager_task_factory = _active.create_eager_task_factory
create_task = _active.create_task
current_task = _active.current_task
eager_task_factory = _active.eager_task_factory
gather = _active.gather
install = _active.install
new_event_loop = _active.new_event_loop
run = _active.run
timeout = _active.timeout
timeout_at = _active.timeout_at
to_thread = _active.to_thread
uninstall = _active.uninstall
