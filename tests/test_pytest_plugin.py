"""The pytest plugin (``--eager``, ``--eager-check``), run with pytest's
``pytester`` in a subprocess, on both implementations of the core.

Each test writes a small test-suite and runs pytest on it; the suites reach
event loops in every way the plugin supports: ``asyncio.run``,
``asyncio.Runner``, ``new_event_loop()``, uvloop, ``IsolatedAsyncioTestCase``,
pytest-asyncio, anyio's plugin (asyncio and uvloop) and aiohttp's ``loop``
fixture (the last ones where they are installed).
"""
import importlib.util
import re
import sys

import pytest

import implementations

pytest_plugins = ["pytester"]

HAS = {name: importlib.util.find_spec(name) is not None
       for name in ("uvloop", "pytest_asyncio", "anyio", "aiohttp")}


@pytest.fixture(params=sorted(implementations.IMPLEMENTATIONS))
def impl(request, monkeypatch):
    """Run the subprocess with this implementation of the core."""
    if request.param == "python":
        monkeypatch.setenv("FASTAIO_NO_EXTENSIONS", "1")
    else:
        monkeypatch.delenv("FASTAIO_NO_EXTENSIONS", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    return request.param


ORDER = '''
import asyncio
import sys
import unittest

import pytest


async def order():
    """Lazy tasks run after their creator's next line; eager ones before."""
    seen = []

    async def child():
        seen.append("child")

    task = asyncio.create_task(child())
    seen.append("creator")
    await task
    return seen


LAZY = ["creator", "child"]
'''

# One test per way of making a loop; each passes with lazy tasks only.
REACH = ORDER + '''

def test_asyncio_run():
    assert asyncio.run(order()) == LAZY


@pytest.mark.skipif(sys.version_info < (3, 11), reason="no asyncio.Runner")
def test_runner():
    with asyncio.Runner() as runner:
        assert runner.run(order()) == LAZY


def test_new_event_loop():
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(order()) == LAZY
    finally:
        loop.close()


def test_uvloop():
    uvloop = pytest.importorskip("uvloop")
    loop = uvloop.new_event_loop()
    try:
        assert loop.run_until_complete(order()) == LAZY
    finally:
        loop.close()


class TestUnittest(unittest.IsolatedAsyncioTestCase):
    async def test_isolated(self):
        self.assertEqual(await order(), LAZY)
'''

REACH_PYTEST_ASYNCIO = ORDER + '''

@pytest.mark.asyncio
async def test_pytest_asyncio():
    assert await order() == LAZY
'''

REACH_ANYIO = ORDER + '''

BACKENDS = [pytest.param("asyncio", id="asyncio")]
try:
    import uvloop
except ImportError:
    pass
else:
    BACKENDS.append(pytest.param(("asyncio", {"use_uvloop": True}),
                                 id="uvloop"))


@pytest.fixture(params=BACKENDS)
def anyio_backend(request):
    return request.param


@pytest.mark.anyio
async def test_anyio():
    assert await order() == LAZY
'''

REACH_AIOHTTP = ORDER + '''

pytest_plugins = ["aiohttp.pytest_plugin"]


def test_aiohttp_loop(loop):
    assert loop.run_until_complete(order()) == LAZY
'''

# Tests whose outcome does not depend on when a task starts.
SAME = '''
import asyncio

import pytest

calls = []


@pytest.fixture(scope="module")
def module_resource():
    calls.append("module setup")
    yield
    calls.append("module teardown")


@pytest.fixture
def function_resource():
    calls.append("function setup")
    yield
    calls.append("function teardown")


async def work(n):
    await asyncio.sleep(0)
    return n * 2


def test_gather(module_resource, function_resource):
    async def main():
        return await asyncio.gather(*(asyncio.create_task(work(i))
                                      for i in range(5)))
    assert asyncio.run(main()) == [0, 2, 4, 6, 8]


def test_own_factory(module_resource):
    async def main():
        loop = asyncio.get_running_loop()
        assert loop.get_task_factory() is factory
        return await loop.create_task(work(1))

    def factory(loop, coro, **kwargs):
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop = asyncio.new_event_loop()
    loop.set_task_factory(factory)
    try:
        assert loop.run_until_complete(main()) == 2
    finally:
        loop.close()


@pytest.mark.skip(reason="skipped in both runs")
def test_skipped():
    pass


@pytest.mark.xfail(reason="fails in both runs", strict=True)
def test_xfail():
    assert asyncio.run(work(1)) == 3


def test_fixtures_ran_per_run():
    # Each test before ran twice, with its function fixtures set up and torn
    # down each time; the module fixture was set up once.
    assert calls == ["module setup"] + ["function setup",
                                        "function teardown"] * 2
'''

EXPLAINED = '''
import asyncio

import pytest

runs = []


def test_cancel_before_start():
    async def child():
        return 1

    async def main():
        task = asyncio.get_running_loop().create_task(child())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_unstable():
    # Fails on its 2nd and 3rd run: eager first, then the repeated lazy run.
    runs.append(None)
    assert len(runs) not in (2, 3)
'''


# Subtests and a pytest session run inside a test: what happens in them
# belongs to the run of the test around them.
NESTED = ORDER + '''
pytest_plugins = ["pytester"]


class TestSubtests(unittest.TestCase):
    def test_subtest(self):
        with self.subTest("order"):
            self.assertEqual(asyncio.run(order()), LAZY)


def test_inner_session_then_order(pytester):
    pytester.makepyfile(test_inner="def test_once():\\n    print('INNER')\\n")
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.stdout.str().count("INNER") == 1
    assert asyncio.run(order()) == LAZY
'''


def summary(result):
    """The one-line summary of --eager-check, as a dict."""
    line = [x for x in result.outlines if x.startswith("eager-check:")]
    assert len(line) == 1, result.outlines
    m = re.search(r"(\d+) tests run .*: (\d+) differ, (\d+) unstable, "
                  r"(\d+) with", line[0])
    return dict(zip(("checked", "differ", "unstable", "own"),
                    map(int, m.groups())))


def differs(result):
    return sorted(x.split("::", 1)[1] for x in result.outlines
                  if x.startswith("DIFFERS "))


# The tests of REACH that skip here.
REACH_SKIPPED = (sys.version_info < (3, 11)) + (not HAS["uvloop"])


def reach_suites(pytester):
    """Write the suites that reach each kind of loop; return the test names
    expected to run (those whose library is installed)."""
    pytester.makepyfile(test_reach=REACH)
    names = ["test_asyncio_run", "test_new_event_loop",
             "TestUnittest::test_isolated"]
    if sys.version_info >= (3, 11):
        names.append("test_runner")
    if HAS["uvloop"]:
        names.append("test_uvloop")
    if HAS["pytest_asyncio"]:
        pytester.makepyfile(test_reach_pytest_asyncio=REACH_PYTEST_ASYNCIO)
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = "
                         "function\n")
        names.append("test_pytest_asyncio")
    if HAS["anyio"]:
        pytester.makepyfile(test_reach_anyio=REACH_ANYIO)
        names.append("test_anyio[asyncio]")
        if HAS["uvloop"]:
            names.append("test_anyio[uvloop]")
    if HAS["aiohttp"]:
        pytester.makepyfile(test_reach_aiohttp=REACH_AIOHTTP)
        names.append("test_aiohttp_loop[pyloop]")
    return sorted(names)


def test_registered_and_inert_without_options(pytester, impl):
    """Installed, the plugin is loaded and changes nothing: loops get no
    factory, asyncio keeps its functions, tasks start lazily."""
    names = reach_suites(pytester)
    pytester.makepyfile(test_inert='''
import asyncio

import fastaio


def test_plugin_is_loaded(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("fastaio")


def test_asyncio_untouched():
    async def main():
        return asyncio.get_running_loop().get_task_factory()
    assert asyncio.run(main()) is None
    assert not hasattr(asyncio.events._set_running_loop, "__wrapped__")
    assert not hasattr(asyncio.create_task, "_fastaio_original")
    assert fastaio.IMPLEMENTATION == %r
''' % ("c" if impl == "c" else "python"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(names) + 2, skipped=REACH_SKIPPED)
    assert not any("fastaio" in x for x in result.outlines
                   if x.startswith("="))


def test_eager_reaches_every_loop(pytester, impl):
    names = reach_suites(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "--eager")
    result.assert_outcomes(failed=len(names), skipped=REACH_SKIPPED)
    failed = sorted(x.split("::", 1)[1].split(" - ")[0] for x in
                    result.outlines if x.startswith("FAILED "))
    assert failed == names
    result.stdout.fnmatch_lines(["*fastaio's eager task factory ran on "
                                 "* event loop(s)"])


def test_eager_check_reports_every_loop(pytester, impl):
    names = reach_suites(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "--eager-check")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # pytest shows the outcome of the lazy run: every test passed.
    result.assert_outcomes(passed=len(names), skipped=REACH_SKIPPED)
    assert differs(result) == names
    assert summary(result) == dict(checked=len(names) + REACH_SKIPPED,
                                   differ=len(names),
                                   unstable=0, own=0)
    result.stdout.fnmatch_lines([
        "DIFFERS test_reach.py::test_asyncio_run",
        "    lazy:  passed",
        "    eager: failed (AssertionError: *)",
        "    why:   * ran * first step inside create_task, before the "
        "creator's next line; * finished there",
    ])


def test_report_mode_does_not_fail_the_run(pytester, impl):
    pytester.makepyfile(test_reach=REACH)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--eager-check=report", "-k", "run")
    assert result.ret == pytest.ExitCode.OK
    assert summary(result)["differ"] >= 1


def test_suite_without_differences_reports_nothing(pytester, impl):
    pytester.makepyfile(test_same=SAME)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "--eager-check")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=3, skipped=1, xfailed=1)
    assert differs(result) == []
    assert not any(x.startswith(("UNSTABLE", "WARNING"))
                   for x in result.outlines)
    assert summary(result) == dict(checked=5, differ=0, unstable=0, own=1)
    result.stdout.fnmatch_lines([
        "OWN FACTORY <function test_own_factory.<locals>.factory> kept by "
        "the loops of 1 test: test_same.py::test_own_factory"])


def test_explanations_and_unstable_tests(pytester, impl):
    pytester.makepyfile(test_explained=EXPLAINED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "--eager-check")
    assert differs(result) == ["test_cancel_before_start"]
    result.stdout.fnmatch_lines([
        "DIFFERS test_explained.py::test_cancel_before_start",
        "    lazy:  passed",
        "    eager: failed (Failed: DID NOT RAISE*)",
        "    why:   1 task ran its first step inside create_task, before the "
        "creator's next line; 1 finished there",
        "    why:   1 task had already finished when cancel() was called on "
        "it: cancel() returned False and did nothing*",
        "UNSTABLE test_explained.py::test_unstable: the lazy runs disagree "
        "with each other (passed / failed (*)); not counted",
    ])
    assert summary(result) == dict(checked=2, differ=1, unstable=1, own=0)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_subtests_and_inner_sessions(pytester, impl):
    """A subtest that fails only with eager tasks makes its test differ, and
    pytest shows only the lazy run's subtests; a pytest session run inside a
    test is part of that test's runs (its tests run once, not checked)."""
    pytester.makepyfile(test_nested=NESTED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider",
                                           "--eager-check=report", "-rA")
    assert result.ret == pytest.ExitCode.OK
    assert differs(result) == ["TestSubtests::test_subtest",
                               "test_inner_session_then_order"]
    assert summary(result)["checked"] == 2
    assert not any("SUBFAIL" in x or "FAILED" in x for x in result.outlines)
    result.assert_outcomes(passed=2)


# README's conftest for running a suite on fastaio's loop without the plugin.
ON_FASTAIO_LOOP_CONFTEST = '''
import fastaio
import pytest

def pytest_asyncio_loop_factories(config, item):      # pytest-asyncio
    return {"fastaio": fastaio.new_event_loop}

@pytest.fixture
def anyio_backend():                                  # anyio
    return ("asyncio", {"loop_factory": fastaio.new_event_loop})
'''

ON_FASTAIO_LOOP = '''
import asyncio

import fastaio
import pytest


@pytest.mark.anyio
async def test_anyio():
    assert isinstance(asyncio.get_running_loop(), fastaio.EventLoop)


@pytest.mark.asyncio
async def test_pytest_asyncio():
    assert isinstance(asyncio.get_running_loop(), fastaio.EventLoop)
'''


def _has_loop_factories_hook():
    try:
        from pytest_asyncio import plugin
    except ImportError:
        return False
    return hasattr(getattr(plugin, "PytestAsyncioSpecs", None),
                   "pytest_asyncio_loop_factories")


@pytest.mark.skipif(not HAS["anyio"] or not _has_loop_factories_hook(),
                    reason="needs anyio and pytest-asyncio 1.5+ (its "
                           "pytest_asyncio_loop_factories hook)")
def test_readme_conftest_runs_on_fastaios_loop(pytester, impl):
    """README's conftest puts pytest-asyncio's and anyio's tests on
    fastaio's loop, without the plugin."""
    pytester.makeconftest(ON_FASTAIO_LOOP_CONFTEST)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = "
                     "function\n")
    pytester.makepyfile(test_on_fastaio=ON_FASTAIO_LOOP)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_bare_option_before_a_path(pytester, impl):
    pytester.makepyfile(test_same=SAME)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--eager-check", "test_same.py")
    assert result.ret == pytest.ExitCode.OK
    assert summary(result)["checked"] == 5


@pytest.mark.parametrize("args, message", [
    (["--eager-check=sometimes"], "--eager-check takes 'strict' or 'report'"),
    (["--eager", "--eager-check"], "--eager and --eager-check exclude"),
])
def test_bad_options(pytester, args, message):
    pytester.makepyfile(test_same=SAME)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
