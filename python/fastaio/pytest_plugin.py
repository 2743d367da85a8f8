"""fastaio's pytest plugin: run a test-suite under eager tasks, or find the
tests whose outcome changes when tasks start eagerly.

``pytest --eager``
    every event loop a test starts runs fastaio's eager task factory.
``pytest --eager-check`` (``--eager-check=report``)
    every test runs twice, with default (lazy) tasks and then with fastaio's
    eager factory; the tests whose outcome differs are listed at the end,
    with what fastaio saw of the cause.  The run fails when one differs,
    unless ``=report`` is given.  pytest shows the outcome of the lazy run.

The plugin is registered through the ``pytest11`` entry point and does
nothing unless one of these options is given.  When it is, it wraps
``asyncio._set_running_loop`` (which every stdlib loop and uvloop call when
they start running) and sets the loop's task factory there: fastaio's
factory in an eager run, none in a lazy run.  A loop that already has a
task factory of its own keeps it, and the report says which tests had one.
Loops that run across tests are switched each time they start running.
``asyncio`` gets the same replacements as with ``fastaio.install()``
(README, *What install() changes*) in both runs, so that only the task
factory differs between them.
"""
import inspect
import sys
import threading
import weakref

import pytest

from ._tasks import is_fastaio_factory

_CHOICES = ("strict", "report")
_RUN = None   # the _Run, once an option asked for the plugin


def pytest_addoption(parser):
    group = parser.getgroup("fastaio", "fastaio eager tasks")
    group.addoption(
        "--eager", action="store_true", dest="fastaio_eager", default=False,
        help="run every test with fastaio's eager task factory on every "
             "event loop it starts")
    group.addoption(
        "--eager-check", nargs="?", const="strict", default=None,
        dest="fastaio_eager_check", metavar="strict|report",
        help="run every test with lazy and with eager tasks and list the "
             "tests whose outcome differs; the run fails if one does, "
             "unless 'report' is given")


def _normalise_args(args):
    """A bare ``--eager-check`` followed by a test path takes the path as
    its value (argparse's optional value): give it its value explicitly."""
    for i, arg in enumerate(args):
        if arg == "--eager-check" and i + 1 < len(args) and not args[
                i + 1].startswith("-") and args[i + 1] not in _CHOICES:
            args[i] = "--eager-check=strict"
        elif arg.startswith("--eager-check="):
            value = arg.partition("=")[2]
            if value not in _CHOICES:
                raise pytest.UsageError(
                    f"--eager-check takes 'strict' or 'report', not {value!r}")


def _mode(option):
    check = option.fastaio_eager_check
    if check is not None and check not in _CHOICES:
        check = "strict"            # the value was a test path (see above)
    if check and option.fastaio_eager:
        raise pytest.UsageError("--eager and --eager-check exclude each other")
    if check:
        return "check-" + check
    return "eager" if option.fastaio_eager else None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    _normalise_args(args)
    mode = _mode(early_config.known_args_namespace)
    if mode is not None:
        _start(mode)


def pytest_configure(config):
    mode = _mode(config.option)
    if mode is None:
        return
    if _RUN is None:
        # Loaded too late for pytest_load_initial_conftests (for example
        # through pytest_plugins in a conftest).
        _start(mode)
    if _RUN.config is None:
        _RUN.config = config
    if config.pluginmanager.hasplugin("xdist") and getattr(
            config.option, "numprocesses", None) and mode.startswith("check"):
        raise pytest.UsageError("--eager-check does not run under xdist (-n)")


# --------------------------------------------------------------------------
# reaching every loop

def _start(mode):
    global _RUN
    import asyncio

    from . import _impl, _install
    _install.patch_asyncio(_impl.core)
    _RUN = _Run(mode, _impl.core.eager_task_factory)
    original = asyncio.events._set_running_loop

    def _set_running_loop(loop):
        original(loop)
        if loop is not None:
            _RUN.loop_started(loop)

    _set_running_loop.__wrapped__ = original
    asyncio.events._set_running_loop = _set_running_loop
    asyncio._set_running_loop = _set_running_loop
    if "uvloop.loop" in sys.modules:
        # uvloop keeps the function it found when it was imported.
        _RUN.warnings.append(
            "uvloop was imported before fastaio's plugin started, so the "
            "loops of uvloop are not reached")


class _Recorder:
    """A fastaio factory that also records which tasks started, and which
    finished, inside ``create_task``.  Used when a test that differs runs
    again, to explain why."""

    def __init__(self, factory, evidence):
        self._factory = factory
        self._fastaio_task_constructor = factory._fastaio_task_constructor
        self._evidence = evidence

    def __call__(self, loop, coro, **kwargs):
        task = self._factory(loop, coro, **kwargs)
        self._evidence.created(task, coro)
        return task

    def __repr__(self):
        return f"<recording {self._factory!r}>"


class _Run:
    def __init__(self, mode, factory):
        self.mode = mode
        self.config = None            # the pytest run that asked for it
        self.factory = factory
        self.eager = mode == "eager"
        self.evidence = None          # _Evidence of the run in progress
        self.ours = weakref.WeakSet()  # loops whose factory this plugin set
        self.ours_strong = []         # the same, for loops without weakref
        self.loops_eager = 0
        self.own_factories = {}       # nodeid -> repr of a loop's factory
        self.current = None           # nodeid of the test running
        self.warnings = []
        self.differ = []              # _Verdict of each test that differs
        self.unstable = []
        self.checked = 0

    def _is_ours(self, loop):
        try:
            return loop in self.ours
        except TypeError:
            return any(x is loop for x in self.ours_strong)

    def _mark(self, loop):
        try:
            self.ours.add(loop)
        except TypeError:
            if not any(x is loop for x in self.ours_strong):
                self.ours_strong.append(loop)

    def loop_started(self, loop):
        try:
            self._switch(loop)
        except Exception as exc:   # never break the loop that starts
            self.warnings.append(f"could not set the task factory of "
                                 f"{loop!r}: {exc!r}")

    def _switch(self, loop):
        current = loop.get_task_factory()
        ours = current is None or (self._is_ours(loop) and (
            current is self.factory or isinstance(current, _Recorder)))
        if not ours:
            if self.current is not None and not is_fastaio_factory(current):
                self.own_factories.setdefault(self.current, repr(current))
            return
        if self.eager:
            wanted = self.factory
            if self.evidence is not None and self.evidence.recording:
                wanted = _Recorder(self.factory, self.evidence)
            if current is None:
                self.loops_eager += 1
            if current is not wanted:
                self._mark(loop)
                loop.set_task_factory(wanted)
        elif current is not None:
            loop.set_task_factory(None)

    # ---------------------------------------------------------------- check

    def once(self, item, eager, recording=False):
        """Run ``item``'s setup, call and teardown once, with eager or lazy
        tasks; tear down only what belongs to the item itself.  Reports made
        during the run (subtests) are kept, not logged."""
        from _pytest.runner import runtestprotocol
        before = self.eager
        self.eager = eager
        self.evidence = _Evidence(recording)
        session = item.session
        real = session.gethookproxy
        kept = []
        failed_subtests = _failed_subtests(item)
        key = getattr(item, "id", item.nodeid)
        counted = failed_subtests.get(key, 0)
        session.gethookproxy = lambda path: _QuietHooks(real(path), kept)
        try:
            with self.evidence.watching():
                reports = runtestprotocol(item, log=False,
                                          nextitem=item.parent)
        finally:
            del session.gethookproxy
            self.eager = before
            added = failed_subtests.get(key, 0) - counted
            if counted:
                failed_subtests[key] = counted
            else:
                failed_subtests.pop(key, None)
        outcome = _Outcome(reports, kept)
        outcome.failed_subtests = added
        return outcome, self.evidence


class _QuietHooks:
    """The hooks of a node, but ``pytest_runtest_logreport`` keeps the
    report instead of logging it (pytest's subtests log theirs directly)."""

    def __init__(self, hooks, kept):
        self._hooks = hooks
        self._kept = kept

    def __getattr__(self, name):
        if name == "pytest_runtest_logreport":
            return self._keep
        return getattr(self._hooks, name)

    def _keep(self, report):
        self._kept.append(report)


def _failed_subtests(item):
    """pytest's count of failed subtests per test (pytest 9), which makes
    the test fail when it is logged; an empty dict where there is none."""
    try:
        from _pytest.subtests import failed_subtests_key
        return item.config.stash[failed_subtests_key]
    except (ImportError, KeyError):
        return {}


def _crash(report):
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.splitlines()[0] if crash.message else ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return longrepr[2]              # a skip: (path, line, reason)
    text = str(longrepr or "").strip().splitlines()
    return text[-1] if text else ""


class _Outcome:
    """What one run of a test came to: passed, failed, error, skipped,
    xfailed or xpassed, and the first exception."""

    def __init__(self, reports, subtests=()):
        self.reports = reports
        self.subtests = list(subtests)
        self.failed_subtests = 0      # what they added to pytest's count
        self.kind, self.message = self._judge(reports, self.subtests)

    @staticmethod
    def _judge(reports, subtests):
        for rep in reports:
            if rep.when != "call" and rep.failed:
                return "error", f"{_crash(rep)} (in {rep.when})"
        for rep in subtests:
            if rep.failed:
                return "failed", f"{_crash(rep)} (in a subtest)"
        for rep in reports:
            if rep.skipped:
                kind = "xfailed" if hasattr(rep, "wasxfail") else "skipped"
                return kind, _crash(rep)
        for rep in reports:
            if rep.when == "call":
                if rep.failed:
                    return "failed", _crash(rep)
                if hasattr(rep, "wasxfail"):
                    return "xpassed", ""
        return "passed", ""

    @property
    def exception(self):
        if self.kind not in ("failed", "error"):
            return None
        return self.message.partition(":")[0].split(" (in ")[0]

    def log(self, item, final):
        """Log this run's reports as pytest would have; ``final`` replaces
        the teardown report when it failed (see _teardown_to)."""
        ihook = item.ihook
        if self.failed_subtests:
            key = getattr(item, "id", item.nodeid)
            counts = _failed_subtests(item)
            counts[key] = counts.get(key, 0) + self.failed_subtests
        for rep in self.reports:
            if rep.when == "call":
                for sub in self.subtests:
                    ihook.pytest_runtest_logreport(report=sub)
            if rep.when == "teardown" and final is not None and final.failed:
                rep = final
            ihook.pytest_runtest_logreport(report=rep)

    def same(self, other):
        return self.kind == other.kind and self.exception == other.exception

    def __str__(self):
        return f"{self.kind} ({self.message})" if self.message else self.kind


# What a test that differs did with tasks that had finished inside
# create_task, found by watching calls to these methods while it runs again.
_WATCHED = {
    "cancel": "{tasks} had already finished when cancel() was called on "
              "{them}: cancel() returned False and did nothing (a lazy task "
              "is cancelled before its first step)",
    "add_done_callback": "{tasks} had already finished when a done callback "
                         "was added: the callback was scheduled at once, not "
                         "when the task ended",
    "get_coro": "get_coro() was called on {tasks} that had finished inside "
                "create_task: it returns None there",
}


class _Evidence:
    def __init__(self, recording):
        self.recording = recording
        self.started = 0
        self.finished = 0
        self.finished_tasks = weakref.WeakSet()
        self.calls = dict.fromkeys(_WATCHED, 0)

    def created(self, task, coro):
        if task.done():
            self.finished += 1
            self.started += 1
            self.finished_tasks.add(task)
        elif _started(coro):
            self.started += 1

    def _profile(self, frame, event, arg):
        if event == "c_call":
            name = getattr(arg, "__name__", None)
            if name in self.calls:
                self._seen(name, getattr(arg, "__self__", None))
        elif event == "call":
            name = frame.f_code.co_name
            if name in self.calls:
                self._seen(name, frame.f_locals.get("self"))

    def _seen(self, name, obj):
        try:
            if obj in self.finished_tasks:
                self.calls[name] += 1
        except TypeError:
            pass

    def watching(self):
        return _Watching(self)

    def reasons(self):
        if not self.started:
            return ["no task started eagerly in this test"]
        why = [f"{_tasks(self.started)} ran {_its(self.started)} first "
               f"step inside create_task, before the creator's next line; "
               f"{self.finished} finished there"]
        why += [text.format(tasks=_tasks(n), them=_them(n))
                for name, text in _WATCHED.items()
                if (n := self.calls[name])]
        return why


def _tasks(n):
    return "1 task" if n == 1 else f"{n} tasks"


def _its(n):
    return "its" if n == 1 else "their"


def _them(n):
    return "it" if n == 1 else "them"


class _Watching:
    def __init__(self, evidence):
        self.evidence = evidence

    def __enter__(self):
        if self.evidence.recording:
            self.saved = sys.getprofile()
            sys.setprofile(self.evidence._profile)
            threading.setprofile(self.evidence._profile)

    def __exit__(self, *exc):
        if self.evidence.recording:
            sys.setprofile(self.saved)
            threading.setprofile(self.saved)


def _started(coro):
    if inspect.iscoroutine(coro):
        return inspect.getcoroutinestate(coro) != inspect.CORO_CREATED
    if inspect.isgenerator(coro):
        return inspect.getgeneratorstate(coro) != inspect.GEN_CREATED
    return False


class _Verdict:
    def __init__(self, nodeid, lazy, eager, reasons):
        self.nodeid = nodeid
        self.lazy = lazy
        self.eager = eager
        self.reasons = reasons


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    run = _RUN
    if run is None or item.config is not run.config:
        return None       # not asked for, or a session run inside a test
    run.current = item.nodeid
    if not run.mode.startswith("check"):
        return None
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    run.checked += 1
    lazy, _ = run.once(item, eager=False)
    eager, _ = run.once(item, eager=True)
    if not lazy.same(eager):
        # Run both again, the eager one recording what its tasks did: a
        # test whose lazy outcome changes on a repeat depends on something
        # else (order, time, state) and is not counted.
        again, _ = run.once(item, eager=False)
        eager_again, evidence = run.once(item, eager=True, recording=True)
        if not again.same(lazy):
            run.unstable.append(_Verdict(
                item.nodeid, lazy, again,
                ["the lazy runs disagree with each other"]))
        elif not eager_again.same(eager):
            run.unstable.append(_Verdict(
                item.nodeid, eager, eager_again,
                ["the eager runs disagree with each other"]))
        else:
            run.differ.append(_Verdict(item.nodeid, lazy, eager,
                                       evidence.reasons()))
    final = _teardown_to(item, nextitem)
    lazy.log(item, final)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    run.current = None
    return True


def _teardown_to(item, nextitem):
    """Tear down what ``nextitem`` does not share with ``item`` (the runs
    above tore down only the item's own fixtures)."""
    call = pytest.CallInfo.from_call(
        lambda: item.session._setupstate.teardown_exact(nextitem),
        when="teardown", reraise=(pytest.exit.Exception, KeyboardInterrupt))
    if call.excinfo is None:
        return None
    return item.ihook.pytest_runtest_makereport(item=item, call=call)


# --------------------------------------------------------------------------
# report

def pytest_terminal_summary(terminalreporter, exitstatus, config):
    run = _RUN
    if run is None or config is not run.config:
        return
    tr = terminalreporter
    if run.mode == "eager":
        tr.section("fastaio --eager")
        tr.write_line(f"fastaio's eager task factory ran on {run.loops_eager} "
                      f"event loop(s)")
    else:
        tr.section("fastaio --eager-check")
        for verdict in run.differ:
            tr.write_line(f"DIFFERS {verdict.nodeid}", red=True, bold=True)
            tr.write_line(f"    lazy:  {verdict.lazy}")
            tr.write_line(f"    eager: {verdict.eager}")
            for reason in verdict.reasons:
                tr.write_line(f"    why:   {reason}")
        for verdict in run.unstable:
            tr.write_line(f"UNSTABLE {verdict.nodeid}: {verdict.reasons[0]} "
                          f"({verdict.lazy} / {verdict.eager}); not counted",
                          yellow=True)
    for factory, nodeids in _by_factory(run.own_factories).items():
        shown = ", ".join(nodeids[:3]) + (", ..." if len(nodeids) > 3 else "")
        tests = "1 test" if len(nodeids) == 1 else f"{len(nodeids)} tests"
        tr.write_line(f"OWN FACTORY {factory} kept by the loops of {tests}: "
                      f"{shown}")
    for text in run.warnings:
        tr.write_line(f"WARNING {text}", yellow=True)
    if run.mode.startswith("check"):
        tr.write_line(
            f"eager-check: {run.checked} tests run with lazy and eager tasks: "
            f"{len(run.differ)} differ, {len(run.unstable)} unstable, "
            f"{len(run.own_factories)} with a task factory of their own",
            bold=True, red=bool(run.differ), green=not run.differ)


def _by_factory(own_factories):
    """nodeid -> factory repr, as factory (without its address) -> nodeids."""
    import re
    grouped = {}
    for nodeid, factory in own_factories.items():
        factory = re.sub(r" at 0x[0-9a-fA-F]+", "", factory)
        grouped.setdefault(factory, []).append(nodeid)
    return grouped


def pytest_sessionfinish(session, exitstatus):
    run = _RUN
    if run is not None and session.config is run.config and (
            run.mode == "check-strict") and run.differ and (
            session.exitstatus == pytest.ExitCode.OK):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
