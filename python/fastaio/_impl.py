"""Which implementation of fastaio's core is in use, chosen once, at import.

The compiled core (``fastaio._core``) is used where it is built and imports;
``FASTAIO_NO_EXTENSIONS=1`` or an interpreter other than CPython selects the
pure-Python twin (``fastaio._pycore``).  A compiled core that is built but
fails to import falls back to the twin with a RuntimeWarning, unless
``FASTAIO_REQUIRE_EXTENSIONS=1`` is set or the interpreter is a debug build:
then the ImportError propagates.

Both cores define the names of ``_pycore.__all__``.

The compiled core comes with ``fastaio._ctaskgroups``, the module
``_taskgroups`` compiled by Cython; where that does not import, the
pure-Python TaskGroup is used.
"""
import importlib.util
import os
import sys
import warnings

from . import _pycore
from ._taskgroups import TaskGroup as PyTaskGroup


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


def _compiled_core_absent():
    try:
        return importlib.util.find_spec(__package__ + "._core") is None
    except (ImportError, ValueError):
        return False


ccore = None
if sys.implementation.name != "cpython":
    WHY = f"{sys.implementation.name} runs the pure-Python core"
elif _flag("FASTAIO_NO_EXTENSIONS"):
    WHY = "FASTAIO_NO_EXTENSIONS is set"
else:
    try:
        from . import _core as ccore
    except ImportError as exc:
        if _compiled_core_absent():
            WHY = "fastaio was built without its compiled core"
        elif _flag("FASTAIO_REQUIRE_EXTENSIONS") or hasattr(
                sys, "gettotalrefcount"):
            raise
        else:
            warnings.warn(
                f"fastaio: the compiled core failed to import ({exc}); "
                "using the pure-Python implementation", RuntimeWarning,
                stacklevel=4)
            WHY = f"the compiled core failed to import: {exc}"
    else:
        WHY = "the compiled core is built and enabled"

USE_EXTENSIONS = ccore is not None
IMPLEMENTATION = "c" if USE_EXTENSIONS else "python"
#: The core in use: ``fastaio._core`` or ``fastaio._pycore``.
core = ccore if USE_EXTENSIONS else _pycore


def _compiled_task_group():
    try:
        from . import _ctasks
        from ._ctaskgroups import TaskGroup
    except ImportError:
        return None
    # The compiled group creates its tasks through the compiled core.
    _ctasks.use_compiled_core(ccore)
    TaskGroup.__module__ = "fastaio"     # the public name, as for the Task
    return TaskGroup


#: The compiled TaskGroup, or None.
CTaskGroup = _compiled_task_group() if USE_EXTENSIONS else None


def task_group(core):
    """The TaskGroup class that goes with ``core``: the compiled one with
    the compiled core where it imports, else the pure-Python one."""
    if core is ccore and CTaskGroup is not None:
        return CTaskGroup
    return PyTaskGroup


#: The TaskGroup of the core in use.
TaskGroup = task_group(core)
