"""The public API: names, install()/uninstall(), loops and runners, the
choice of implementation, and bad input."""
import asyncio
import json
import os
import pickle
from asyncio import base_events
import subprocess
import sys
import sysconfig

import pytest

import fastaio
from implementations import IMPLEMENTATIONS
from fastaio import _compat
from implementations import make_loop


def test_public_names():
    for name in fastaio.__all__:
        assert getattr(fastaio, name) is not None, name
    assert fastaio.IMPLEMENTATION in ("c", "python")
    assert fastaio.USE_EXTENSIONS == (fastaio.IMPLEMENTATION == "c")
    assert isinstance(fastaio.__version__, str)
    if _compat.PY311:
        assert fastaio.BrokenBarrierError is asyncio.BrokenBarrierError
    assert issubclass(fastaio.TimeoutError, asyncio.TimeoutError)
    assert issubclass(fastaio.TimeoutError, TimeoutError)


def test_public_names_are_module_level():
    """Every public callable is defined once, under its own name: help(),
    pickle and documentation tools see ``install``, not a closure."""
    for name in fastaio.__all__:
        obj = getattr(fastaio, name)
        if not callable(obj) or name in ("TimeoutError", "BrokenBarrierError",
                                         "to_thread"):
            continue
        assert obj.__qualname__ == name, (name, obj.__qualname__)
        if not isinstance(obj, type(fastaio.eager_task_factory)):
            assert pickle.loads(pickle.dumps(obj)) is obj, name
    code = "import fastaio, pickle; pickle.dumps(fastaio.install)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_twins_under_fixed_names():
    from fastaio import _impl, _pycore
    c = _impl.ccore
    assert fastaio._PyTask is _pycore.Task
    assert fastaio._PyBarrier is _pycore.Barrier
    assert fastaio._py_eager_task_factory is _pycore.eager_task_factory
    assert fastaio._CTask is (c and c.Task)
    assert fastaio._CBarrier is (c and c.Barrier)
    assert fastaio._c_current_task is (c and c.current_task)
    assert fastaio.Task is _impl.core.Task
    assert fastaio.eager_task_factory is _impl.core.eager_task_factory


def test_compiled_core_is_used():
    if "c" not in IMPLEMENTATIONS:
        pytest.skip(fastaio.WHY)
    from fastaio import _core
    c = IMPLEMENTATIONS["c"]
    assert c.current_task is _core.current_task
    assert c.gather is _core.gather
    assert type(_core.gather).__name__ == "builtin_function_or_method"
    if _compat.PY312:
        assert _core.current_task is asyncio.tasks._c_current_task
    else:
        assert type(_core.current_task).__name__ == \
            "builtin_function_or_method"


def test_compiled_core_imports_only_asyncio():
    """The compiled core loads with every Python module of fastaio
    unimportable: it imports asyncio and nothing of fastaio's."""
    from fastaio import _impl
    if _impl.ccore is None:
        pytest.skip(fastaio.WHY)
    code = (
        "import importlib.util, sys\n"
        "class NoFastaio:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('fastaio') and name != 'fastaio._core':\n"
        "            raise ImportError('no ' + name)\n"
        "sys.meta_path.insert(0, NoFastaio())\n"
        f"spec = importlib.util.spec_from_file_location("
        f"'fastaio._core', {_impl.ccore.__file__!r})\n"
        "core = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(core)\n"
        "print(sorted(n for n in sys.modules if n.startswith('fastaio')\n"
        "             and n != 'fastaio._core'))\n"
        "print(core.Task.__name__, core.Barrier.__name__,\n"
        "      core.eager_task_factory)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, cwd=os.path.dirname(__file__))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "[]"
    assert lines[1].startswith("Task Barrier <fastaio eager_task_factory")


@pytest.mark.parametrize("opt_out", ["", "1", "gather", "create_task,TaskGroup",
                                     "BaseEventLoop.get_debug",
                                     "BaseEventLoop.call_soon,Handle._run"])
def test_asyncio_patches_opt_out(opt_out):
    """install()'s process-wide replacements in asyncio: each is made where
    its version needs it, in every module that holds it, unless
    FASTAIO_NO_ASYNCIO_PATCHES names it (or says 1/all); unpatch_asyncio()
    puts the originals back and no more are made."""
    code = (
        "import asyncio, json, sys, fastaio\n"
        "where = {'create_task': ('asyncio', 'asyncio.tasks'),\n"
        "         'gather': ('asyncio', 'asyncio.tasks'),\n"
        "         'current_task': ('asyncio', 'asyncio.tasks'),\n"
        "         'TaskGroup': ('asyncio', 'asyncio.taskgroups'),\n"
        "         'BaseEventLoop.create_task': ('asyncio',),\n"
        "         'BaseEventLoop.is_running': ('asyncio',),\n"
        "         'BaseEventLoop.get_debug': ('asyncio',),\n"
        "         'BaseEventLoop.call_soon': ('asyncio',),\n"
        "         'Handle._run': ('asyncio', 'asyncio.events')}\n"
        "def get(m, n):\n"
        "    obj = sys.modules.get(m)\n"
        "    for part in n.split('.'):\n"
        "        obj = None if obj is None else vars(obj).get(part)\n"
        "    return obj\n"
        "def now():\n"
        "    return {n: [get(m, n) for m in ms]\n"
        "            for n, ms in where.items()}\n"
        "before = now()\n"
        "loop = fastaio.install(asyncio.new_event_loop())\n"
        "after = now()\n"
        "made = [n for n in where if after[n] != before[n]\n"
        "        and len(set(map(id, after[n]))) == 1]\n"
        "fastaio.unpatch_asyncio()\n"
        "back = now() == before\n"
        "fastaio.install(asyncio.new_event_loop())\n"
        "again = [n for n in where if now()[n] != before[n]]\n"
        "print(json.dumps([made, back, again]))\n")
    env = dict(os.environ, FASTAIO_NO_ASYNCIO_PATCHES=opt_out)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    made, back, again = json.loads(proc.stdout)
    from fastaio import _impl
    compiled = _impl.ccore is not None and os.environ.get(
        "FASTAIO_NO_EXTENSIONS", "") in ("", "0")
    needed = []
    if not _compat.PY313:
        needed.append("create_task")
    if compiled or not _compat.PY312:
        needed.append("gather")
    if compiled and not _compat.PY312:
        needed.append("current_task")
    if _compat.PY311:
        needed.append("TaskGroup")
    if compiled or not _compat.PY314:
        needed.append("BaseEventLoop.create_task")
    if compiled:
        needed += ["BaseEventLoop.is_running", "BaseEventLoop.get_debug",
                   "BaseEventLoop.call_soon", "Handle._run"]
    refused = (set(needed) if opt_out == "1"
               else set(opt_out.split(",")) - {""})
    assert made == [n for n in needed if n not in refused]
    assert back is True
    assert again == []
    with pytest.raises(ValueError):
        fastaio.unpatch_asyncio("sleep")


@pytest.mark.parametrize("env, expected", [
    ({"FASTAIO_NO_EXTENSIONS": "1"}, "python"),
    ({"FASTAIO_NO_EXTENSIONS": "0"}, None),
])
def test_implementation_selected_at_import(env, expected):
    code = "import fastaio; print(fastaio.IMPLEMENTATION, fastaio.USE_EXTENSIONS)"
    out = subprocess.run([sys.executable, "-c", code], check=True,
                         capture_output=True, text=True,
                         env=dict(os.environ, **env)).stdout.split()
    expected = expected or fastaio.IMPLEMENTATION
    assert out == [expected, str(expected == "c")]


def test_demo_command_runs():
    out = subprocess.run([sys.executable, "-m", "fastaio", "-n", "200",
                          "--rounds", "1"], check=True, capture_output=True,
                         text=True).stdout
    assert f"implementation: {fastaio.IMPLEMENTATION}" in out
    assert "fastaio (python)" in out
    setups = 2 + hasattr(asyncio, "eager_task_factory") + (
        fastaio.IMPLEMENTATION != "python")
    assert out.count("the speed of the stdlib's default") == 3 * setups
    for title in ("returns at once", "suspends once", "gather 10"):
        assert title in out
    assert "inf" not in out and "nan" not in out


@pytest.mark.parametrize("args, message", [
    (["-n", "0"], "argument -n: must be at least 10, not 0"),
    (["-n", "-5"], "argument -n: must be at least 10, not -5"),
    (["--rounds", "0"], "argument --rounds: must be at least 1, not 0"),
    (["-n", "many"], "argument -n: 'many' is not a whole number"),
])
def test_demo_command_refuses_bad_arguments(args, message):
    proc = subprocess.run([sys.executable, "-m", "fastaio", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_command_help_and_version():
    out = subprocess.run([sys.executable, "-m", "fastaio", "--help"],
                         check=True, capture_output=True, text=True).stdout
    assert "``" not in out and "--version" in out
    out = subprocess.run([sys.executable, "-m", "fastaio", "--version"],
                         check=True, capture_output=True, text=True).stdout
    assert out.strip() == f"fastaio {fastaio.__version__}"


def test_install_idempotent_uninstall_restores(fa, loop_kind):
    loop = make_loop(fa, loop_kind, install=False)
    try:
        before = loop.get_task_factory()
        assert fa.install(loop) is loop
        assert fa.install(loop) is loop
        assert loop.get_task_factory() is fa.eager_task_factory
        fa.uninstall(loop)
        assert loop.get_task_factory() is None
        fa.uninstall(loop)                 # a no-op now
        if loop_kind == "fastaio-loop":
            assert before is fa.eager_task_factory
        assert "create_task" not in getattr(loop, "__dict__", {})
    finally:
        loop.close()


def test_install_refuses_foreign_factory(fa, loop_kind):
    loop = make_loop(fa, loop_kind, install=False)

    def theirs(loop, coro, **kw):
        return asyncio.Task(coro, loop=loop)

    try:
        loop.set_task_factory(theirs)
        with pytest.raises(RuntimeError, match="theirs.*force=True"):
            fa.install(loop)
        assert loop.get_task_factory() is theirs
        fa.install(loop, force=True)
        assert loop.get_task_factory() is fa.eager_task_factory
        fa.uninstall(loop)
        assert loop.get_task_factory() is theirs
    finally:
        loop.close()


def test_install_on_running_loop_and_closed_loop(fa):
    async def main():
        fa.install()
        return asyncio.get_running_loop().get_task_factory()

    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(main()) is fa.eager_task_factory
    loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        fa.install(loop)
    with pytest.raises(RuntimeError, match="no running event loop"):
        fa.install()


def test_run_and_runner(fa, loop_kind):
    async def main():
        loop = asyncio.get_running_loop()
        return (fa.current_task() is asyncio.current_task(),
                fa.is_fastaio_factory(loop.get_task_factory()))

    factory = None
    if loop_kind == "uvloop":
        import uvloop
        factory = uvloop.new_event_loop
    elif loop_kind == "asyncio":
        factory = asyncio.new_event_loop
    assert fa.run(main(), loop_factory=factory) == (True, True)
    assert fa.run(main(), loop_factory=factory, install=False)[1] is False
    with fa.Runner(loop_factory=factory) as runner:
        assert runner.run(main()) == (True, True)
        assert runner.run(main()) == (True, True)
        assert fa.is_fastaio_factory(runner.get_loop().get_task_factory())
    coro = main()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(coro)
    coro.close()


def test_run_main_task_is_lazy_and_a_fastaio_task(fa):
    async def main():
        return asyncio.current_task()

    task = fa.run(main())
    assert isinstance(task, fa.Task)


def test_run_with_loop_factory_on_312_asyncio_run(fa):
    if not _compat.PY312:
        pytest.skip("asyncio.run(loop_factory=) is new in 3.12")

    async def main():
        return fa.is_fastaio_factory(
            asyncio.get_running_loop().get_task_factory())

    assert asyncio.run(main(), loop_factory=fa.new_event_loop)


def test_run_rejects_nesting_and_non_coroutines(fa):
    async def inner():
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="running event loop"):
            fa.run(coro)
        coro.close()

    fa.run(inner())
    with pytest.raises((ValueError, TypeError), match="coroutine"):
        fa.run(lambda: None)


def test_bad_input_leaves_loop_usable(fa, run):
    async def ok():
        return "ok"

    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(TypeError, match="coroutine"):
            fa.create_task(lambda: None)
        with pytest.raises(TypeError, match="coroutine"):
            fa.eager_task_factory(loop, 42)
        with pytest.raises(TypeError):
            fa.create_eager_task_factory(42)
        with pytest.raises(TypeError):
            fa.current_task(1, 2)
        with pytest.raises(TypeError):
            fa.current_task(bogus=1)
        with pytest.raises(TypeError):
            fa.timeout("soon")
        with pytest.raises(TypeError):
            fa.Barrier("3")
        assert await fa.create_task(ok()) == "ok"
        assert await asyncio.create_task(ok()) == "ok"

        # A foreign loop's task cannot be awaited here.
        other = asyncio.new_event_loop()
        try:
            foreign = other.create_future()
            with pytest.raises(RuntimeError):
                await fa.create_task(_await(foreign))
            assert fa.current_task(other) is None
        finally:
            other.close()
        assert await fa.create_task(ok()) == "ok"

    run(main)


async def _await(fut):
    return await fut


def test_closed_loop(fa, loop_kind):
    loop = make_loop(fa, loop_kind)
    loop.close()

    async def ok():
        pass

    coro = ok()
    with pytest.raises(RuntimeError, match="closed"):
        loop.create_task(coro)
    coro.close()


def test_event_loop_methods_of_the_core(fa):
    """fastaio.EventLoop's is_running(), get_debug() and create_task() come
    from the core and behave as BaseEventLoop's."""
    loop = fa.new_event_loop()
    try:
        assert loop.is_running() is False
        assert loop.get_debug() is False
        loop.set_debug(True)
        assert loop.get_debug() is True
        loop.set_debug(False)
        seen = []

        async def main():
            seen.append(loop.is_running())
            seen.append(asyncio.get_running_loop().is_running())
            task = loop.create_task(asyncio.sleep(0, "x"), name="n")
            seen.append(task.get_name())
            return await task

        assert loop.run_until_complete(main()) == "x"
        assert seen == [True, True, "n"]
        assert loop.is_running() is False
        with pytest.raises(TypeError):
            loop.create_task()
        coro = asyncio.sleep(0)
        with pytest.raises(TypeError):
            loop.create_task(coro, None)
        coro.close()
    finally:
        loop.close()
    assert loop.is_running() is False
    for name in ("is_running", "get_debug", "create_task", "call_soon"):
        assert name not in vars(loop)
        method = vars(fa.EventLoop).get(name)
        if fa is IMPLEMENTATIONS.get("c"):
            # The core's C functions as methods: no Python frame per call,
            # and no loop that is not a BaseEventLoop.
            assert type(method.__func__).__name__ == \
                "builtin_function_or_method", name
            with pytest.raises(TypeError, match="BaseEventLoop"):
                method.__func__(object())
        elif name != "create_task" or _compat.PY314:
            assert method is None


def test_install_sets_no_loop_attribute(fa, loop_kind):
    """install() replaces loop methods in BaseEventLoop, never on the loop:
    an instance attribute that shadows a method slows every attribute
    lookup on the loop on CPython 3.11, 3.12 and 3.14."""
    loop = make_loop(fa, loop_kind, install=False)
    try:
        fa.install(loop)
        names = {"create_task", "is_running", "get_debug", "call_soon"}
        assert not names & set(getattr(loop, "__dict__", {}))
        assert loop.get_debug() is False and loop.is_running() is False

        async def main():
            return loop.is_running(), loop.create_task(
                asyncio.sleep(0, "r"), name="t").get_name()

        assert loop.run_until_complete(main()) == (True, "t")
        fa.uninstall(loop)
        assert not names & set(getattr(loop, "__dict__", {}))
    finally:
        loop.close()


@pytest.mark.skipif(_compat.PY312, reason="asyncio.Task starts eagerly "
                    "from 3.12 on")
def test_create_eager_task_factory_needs_eager_task_type(fa):
    with pytest.raises(TypeError, match="fastaio.Task"):
        fa.create_eager_task_factory(asyncio.Task)

    class Mine(fa.Task):
        pass

    assert fa.create_eager_task_factory(Mine)


def test_custom_task_constructor(fa, run):
    made = []

    class Counting(fa.Task):
        def __init__(self, *args, **kwargs):
            made.append(kwargs.get("eager_start"))
            super().__init__(*args, **kwargs)

    async def child():
        return 3

    async def main():
        loop = asyncio.get_running_loop()
        factory = fa.create_eager_task_factory(Counting)
        loop.set_task_factory(factory)
        t = loop.create_task(child())
        assert t.done() and isinstance(t, Counting)
        return await t

    assert run(main) == 3
    assert made[0] is True      # later ones: the runner's own shutdown tasks


def test_to_thread(fa, run):
    async def main():
        return await fa.to_thread(sum, [1, 2, 3])

    assert run(main) == 6


_IMPORT_PROBE = (
    "import sys, warnings\n"
    "{setup}\n"
    "with warnings.catch_warnings(record=True) as w:\n"
    "    warnings.simplefilter('always')\n"
    "    import fastaio\n"
    "print(fastaio.IMPLEMENTATION, [str(x.message)[:40] for x in w])\n"
    "print(fastaio.WHY)\n")
_BREAK_CORE = (
    "class Broken:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'fastaio._core':\n"
    "            raise ImportError('simulated broken core')\n"
    "sys.meta_path.insert(0, Broken())")


@pytest.mark.parametrize("required", [False, True])
def test_broken_compiled_core_falls_back_with_warning(required):
    """A compiled core that fails to import: a RuntimeWarning and the pure
    implementation, or the ImportError when the core is required."""
    env = dict(os.environ, FASTAIO_NO_EXTENSIONS="0",
               FASTAIO_REQUIRE_EXTENSIONS="1" if required else "0")
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE.format(setup=_BREAK_CORE)],
        capture_output=True, text=True, env=env)
    if required:
        assert proc.returncode != 0
        assert "simulated broken core" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        first, why = proc.stdout.splitlines()
        assert first.startswith("python [")
        assert "fastaio: the compiled core failed" in first
        assert "simulated broken core" in why


def test_core_not_built_is_quiet():
    """A build without the compiled core selects pure Python silently."""
    env = dict(os.environ, FASTAIO_NO_EXTENSIONS="0",
               FASTAIO_REQUIRE_EXTENSIONS="0")
    setup = "sys.modules['fastaio._core'] = None"
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE.format(setup=setup)],
        capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "python []", "fastaio was built without its compiled core"]


@pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED"),
                    reason="only free-threaded builds can run without a GIL")
def test_import_leaves_the_gil_off():
    """On a free-threaded build, importing fastaio (its compiled modules
    included) does not turn the GIL back on."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c",
         "import sys, fastaio; "
         "print(fastaio.IMPLEMENTATION, sys._is_gil_enabled())"],
        capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [fastaio.IMPLEMENTATION, "False"]


def test_cpython_suites_skip_without_the_test_package():
    """Where CPython's own test package is not installed, the bound suites
    are skipped with the reason, not failed."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys, pytest\n"
            "sys.modules['test.test_asyncio'] = None\n"
            "sys.exit(pytest.main(['-q', '-rs', '-p', 'no:cacheprovider', "
            f"{os.path.join(here, 'test_cpython_suites.py')!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, cwd=os.path.dirname(here))
    # Exit status 5: the module was skipped whole, so no test ran.
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout
    assert "no test.test_asyncio" in proc.stdout


def test_factory_names_the_task_class_in_use(fa):
    """The factory's constructor is the implementation's own Task, and its
    repr says so (on 3.12.0-3.12.4 the compiled core has a Task of its own
    instead of the pure core's)."""
    ctor = fa.eager_task_factory._fastaio_task_constructor
    assert ctor is fa.Task
    assert repr(fa.Task) in repr(fa.eager_task_factory)
    if fa.IMPLEMENTATION == "c":
        assert fa.Task.__module__ != "fastaio._pycore"


@pytest.mark.skipif("c" not in IMPLEMENTATIONS, reason="no compiled core")
def test_later_awaitable_of_the_core():
    """The compiled core's later(func), which TaskGroup.__aenter__ and a
    finished __aexit__ return: func runs when the awaitable is awaited, not
    before, its result or exception comes back without suspending, and the
    awaitable behaves as a coroutine that was never started."""
    from fastaio import _core

    calls = []

    def give(value):
        def func():
            calls.append(value)
            return value
        return func

    def fail():
        raise KeyError("f")

    async def main():
        pending = _core.later(give("x"))
        assert calls == []
        assert await pending == "x" and calls == ["x"]
        for value in (None, (1, 2), ValueError("v")):
            assert await _core.later(give(value)) is value
        with pytest.raises(KeyError):
            await _core.later(fail)
        with pytest.raises(RuntimeError, match="already awaited"):
            await pending
        with pytest.raises(KeyError):
            _core.later(give(1)).throw(KeyError("k"))
        with pytest.raises(TypeError, match="non-None"):
            _core.later(give(1)).send(2)
        closed = _core.later(give("never"))
        assert closed.close() is None
        with pytest.raises(RuntimeError):
            await closed
        with pytest.raises(TypeError):
            _core.later(1)
        loop = asyncio.get_running_loop()
        ran = []
        loop.call_soon(ran.append, "soon")
        await _core.later(give(None))
        assert ran == []        # no trip through the loop
        assert "never" not in calls
        return "ok"

    assert asyncio.run(main()) == "ok"


@pytest.mark.skipif("c" not in IMPLEMENTATIONS or not _compat.GET_CORO_CRASHES,
                    reason="only 3.12.0-3.12.4 with the compiled core")
def test_compiled_task_is_exact_on_early_3_12():
    """On 3.12.0-3.12.4 the compiled core keeps tasks exact asyncio.Task
    objects (the import-time check of the coroutine field passed): a
    fallback to the subclass would make asyncio's C code skip its fast
    paths."""
    assert IMPLEMENTATIONS["c"].Task is asyncio.Task
