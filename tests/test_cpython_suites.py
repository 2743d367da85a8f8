"""CPython's own asyncio test classes, bound to fastaio's objects.

The classes are imported at run time from the running interpreter's ``test``
package (never copied) and subclassed once per implementation of the core
and, for the suites that run on a real loop, once per loop kind.  Inside a
bound test, the test module's ``asyncio`` name refers to a copy of asyncio
whose fastaio-provided names (``current_task``, ``TaskGroup``, ``timeout``,
``Barrier``, ...) are fastaio's.

Every test that is not run is listed in EXCLUDED with its reason.
"""
import asyncio
import importlib
import sys
import types
import unittest

import pytest

from implementations import IMPLEMENTATIONS
from fastaio import _compat, _impl, _install

try:
    import uvloop
except ImportError:
    uvloop = None


try:
    import test.test_asyncio  # noqa: F401
except ImportError as exc:
    pytest.skip(
        "this interpreter has no test.test_asyncio (CPython's own test suite "
        "is not installed: Debian and Ubuntu ship it apart, as "
        f"libpython3.X-testsuite): {exc}", allow_module_level=True)


def _suite(name):
    try:
        return importlib.import_module("test.test_asyncio." + name)
    except ImportError:
        return None


test_utils = _suite("utils")
test_tasks = _suite("test_tasks")
test_eager = _suite("test_eager_task_factory")
test_taskgroups = _suite("test_taskgroups")
test_timeouts = _suite("test_timeouts")
test_locks = _suite("test_locks")
test_base_events = _suite("test_base_events")
test_events = _suite("test_events")

# (module, class) -> {test name: reason}.  A name that the interpreter's
# suite does not have is reported as a failure, so this list cannot rot.
EXCLUDED = {}


def _exclude(module_name, class_name, reason, *tests, when=True,
             loops=None, impls=None):
    """Skip ``tests`` of the class, on the given loop kinds and
    implementations (default all)."""
    if when:
        bucket = EXCLUDED.setdefault((module_name, class_name), {})
        for test in tests:
            bucket[test] = (reason, loops, impls)


def _module_with(real, overrides):
    """A copy of module ``real`` whose names in ``overrides`` are replaced."""
    mod = types.ModuleType(real.__name__)
    mod.__dict__.update(real.__dict__)
    mod.__dict__.update((k, v) for k, v in overrides.items()
                        if k in real.__dict__ or real is asyncio)
    return mod


def _overrides(api):
    names = {
        "current_task": api.current_task,
        "gather": api.gather,
        "create_eager_task_factory": api.create_eager_task_factory,
        "eager_task_factory": api.eager_task_factory,
        "TaskGroup": api.TaskGroup,
        "timeout": api.timeout,
        "timeout_at": api.timeout_at,
        "Timeout": api.Timeout,
        "Barrier": api.Barrier,
        "BrokenBarrierError": api.BrokenBarrierError,
    }
    return names


class _Binding:
    """Mixin: rebinds the test module's ``asyncio`` during each test."""

    _fa_module = None
    _fa_api = None

    def setUp(self):
        module = self._fa_module
        overrides = _overrides(self._fa_api)
        for attr, real in (("asyncio", asyncio),
                           ("taskgroups", getattr(asyncio, "taskgroups", None)),
                           ("timeouts", getattr(asyncio, "timeouts", None))):
            if real is not None and getattr(module, attr, None) is real:
                self.addCleanup(setattr, module, attr, real)
                setattr(module, attr, _module_with(real, overrides))
        super().setUp()


def _loop_factories(api):
    # Eager: fastaio's loop and uvloop with fastaio installed.  Lazy: a plain
    # asyncio loop, where fastaio's TaskGroup, timeout and Barrier run with
    # the interpreter's lazily started tasks.
    yield "fastaio_loop", api.new_event_loop
    if uvloop is not None:
        yield "uvloop", lambda: api.install(uvloop.new_event_loop())
    yield "lazy", asyncio.new_event_loop


class _OnLoop:
    """Mixin for IsolatedAsyncioTestCase suites: run on a fastaio loop."""

    _fa_loop_factory = None

    def _setupAsyncioRunner(self):
        assert self._asyncioRunner is None
        runner = asyncio.Runner(debug=True,
                                loop_factory=type(self)._fa_loop_factory)
        self._asyncioRunner = runner
        # As without a loop_factory, the loop is also the current loop.
        asyncio.set_event_loop(runner.get_loop())
        self.addCleanup(asyncio.set_event_loop, None)


class _Installed:
    """Mixin for the suites of asyncio's loop classes: they run with the
    methods install() puts in BaseEventLoop (call_soon, get_debug, ...) in
    place, as in a program that turned fastaio on."""

    def setUp(self):
        _install.patch_asyncio(self._fa_api.core)
        super().setUp()


def _bind(module, base_name, label, api, bases, attrs, loop=None):
    """Bind ``module.base_name``; ``bases`` are (mixins, after-bases)."""
    if module is None or not hasattr(module, base_name):
        return None
    base = getattr(module, base_name)
    name = f"Test_{module.__name__.rsplit('.', 1)[1]}_{base_name}_{label}"
    namespace = dict(attrs, _fa_module=module, _fa_api=api,
                     __module__=__name__, __qualname__=name)
    mixins, after = bases
    cls = type(name, (_Binding,) + mixins + (base,) + after, namespace)
    key = (module.__name__.rsplit(".", 1)[1], base_name)
    for test, (reason, loops, impls) in EXCLUDED.get(key, {}).items():
        if not hasattr(cls, test):
            raise AssertionError(f"excluded test {key}.{test} does not exist")
        if loops is not None and loop not in loops:
            continue
        if impls is not None and api.IMPLEMENTATION not in impls:
            continue
        setattr(cls, test, unittest.skip(reason)(getattr(cls, test)))
    globals()[name] = cls
    return cls


# --------------------------------------------------------------------------
# Exclusions, each with its reason.

_exclude(
    "test_tasks", "BaseTaskTests",
    "the test's expected stack is that of asyncio's own Task class, whose "
    "constructor adds no Python frame; the pure-Python Task of 3.9-3.11 "
    "does",
    "test_task_source_traceback",
    when=not _compat.PY312, impls=("python",))
_exclude(
    "test_taskgroups", "TestTaskGroup",
    "expects create_task() to leave the coroutine open when it refuses it; "
    "3.13+ (gh-115957) and fastaio close it, so awaiting it afterwards fails",
    "test_taskgroup_finished", "test_taskgroup_no_create_task_after_failure",
    "test_taskgroup_not_entered", "test_taskgroup_without_parent_task",
    when=_compat.PY311 and not _compat.PY313)

_exclude(
    "test_timeouts", "TimeoutTests",
    "two timeouts with one deadline may fire in different iterations of "
    "uvloop's loop (libuv timers have millisecond resolution); the stdlib's "
    "timeout_at() fails this test on uvloop as often as fastaio's",
    "test_nested_timeouts", when=_compat.PY311, loops=("uvloop",))

_EAGER = ("fastaio_loop", "uvloop")
_exclude(
    "test_locks", "BarrierTests",
    "asserts the state one loop iteration after creating lazily started "
    "tasks; eager tasks trip and drain the barrier an iteration earlier "
    "(the test passes on the lazy loop)",
    "test_repr", loops=_EAGER)


def _task_future(api):
    """The Future class that goes with the implementation's Task, as in
    CPython's own pairings: the pure-Python Task of 3.9-3.11 subclasses
    asyncio's pure-Python Task, so its futures are the pure-Python ones."""
    if not _compat.PY312 and api.IMPLEMENTATION == "python":
        return asyncio.futures._PyFuture
    return asyncio.Future


def _bindings():
    """(module, class, label, api, bases, attrs, loop) for every binding."""
    for label, api in IMPLEMENTATIONS.items():
        if test_tasks is not None:
            # SetMethodsTest is a mixin of BaseTaskTests in CPython's own
            # task test classes.
            set_methods = getattr(test_tasks, "SetMethodsTest", None)
            after = ((set_methods,) if set_methods else ()) + (
                test_utils.TestCase,)
            yield (test_tasks, "BaseTaskTests", label, api, ((), after),
                   {"Task": api.Task, "Future": _task_future(api),
                    # 3.14's class calls these through self.
                    "current_task": staticmethod(api.current_task),
                    "all_tasks": staticmethod(asyncio.all_tasks)}, None)

            def new_task(self, coro, _api=api):
                return _api.Task(coro, loop=self.loop)

            yield (test_tasks, "BaseCurrentLoopTests", label, api,
                   ((), (test_utils.TestCase,)),
                   {"new_task": new_task,
                    "current_task": staticmethod(api.current_task)}, None)
            # fastaio.gather (asyncio.gather itself from 3.12 on).
            for base in ("FutureGatherTests", "CoroutineGatherTests"):
                yield test_tasks, base, label, api, ((), ()), {}, None
        if test_eager is not None:
            for base in ("EagerTaskFactoryLoopTests",
                         "BaseEagerTaskFactoryTests"):
                yield (test_eager, base, label, api,
                       ((), (test_utils.TestCase,)), {"Task": api.Task}, None)
        if api.core is _impl.core:
            # The process-wide replacements are made with the core in use.
            for module, base in ((test_base_events, "BaseEventLoopTests"),
                                 (test_base_events,
                                  "BaseEventLoopWithSelectorTests"),
                                 (test_events, "HandleTests"),
                                 (test_events, "SelectEventLoopTests")):
                yield (module, base, label, api, ((_Installed,), ()), {},
                       None)
        for loop_label, factory in _loop_factories(api):
            attrs = {"_fa_loop_factory": staticmethod(factory)}
            full = f"{label}_{loop_label}"
            for module, base in ((test_taskgroups, "TestTaskGroup"),
                                 (test_timeouts, "TimeoutTests"),
                                 (test_locks, "BarrierTests")):
                yield (module, base, full, api, ((_OnLoop,), ()), attrs,
                       loop_label)


# The suites each interpreter's test package has (they are bound wherever
# they exist; a missing one of these is a failure, not a silent skip).
_REQUIRED = {"test_tasks": (3, 9), "test_eager_task_factory": (3, 12),
             "test_taskgroups": (3, 11), "test_timeouts": (3, 11),
             "test_locks": (3, 9), "test_base_events": (3, 9),
             "test_events": (3, 9)}
_BOUND = []
for _binding in _bindings():
    _BOUND.append((_binding[0], _binding[1], _bind(*_binding)))


def test_suites_bound():
    """Every suite this interpreter's test package has was bound, once per
    implementation (and loop kind), and none that it should have is
    missing."""
    for name, since in _REQUIRED.items():
        if sys.version_info >= since:
            assert _suite(name) is not None, name
    for module, base, cls in _BOUND:
        if module is not None and hasattr(module, base):
            assert cls is not None and globals()[cls.__name__] is cls
        else:
            assert cls is None
    bound = {cls.__name__ for _, _, cls in _BOUND if cls is not None}
    assert bound == {k for k in globals() if k.startswith("Test_")}
    assert any(cls is not None for _, _, cls in _BOUND)
