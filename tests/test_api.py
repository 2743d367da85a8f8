"""The public API: names, install()/uninstall(), loops and runners, the
choice of implementation, and bad input."""
import asyncio
import os
from asyncio import base_events
import subprocess
import sys
import sysconfig

import pytest

import fastaio
from fastaio import _compat
from conftest import make_loop


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


def test_compiled_core_is_used():
    if "c" not in fastaio.implementations:
        pytest.skip(fastaio.WHY)
    from fastaio import _core
    c = fastaio.implementations["c"]
    if _compat.PY312:
        assert c.current_task is asyncio.current_task
    else:
        assert c.current_task is _core.current_task
        assert type(c.current_task).__name__ == "builtin_function_or_method"
    if _compat.PY312:
        assert c.gather is asyncio.gather
    else:
        assert c.gather is _core.gather
        assert type(c.gather).__name__ == "builtin_function_or_method"


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
    assert "fastaio (python)" in out and "× stdlib" in out


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
    for name in ("is_running", "get_debug", "create_task"):
        method = vars(fa.EventLoop)[name]
        if fa is fastaio.implementations.get("c"):
            # Method descriptors: no bound method per call, and no loop
            # that is not a BaseEventLoop.
            assert type(method).__name__ == "method_descriptor", name
            with pytest.raises(TypeError):
                method(object())
        elif name != "create_task":
            assert method is getattr(base_events.BaseEventLoop, name)


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
