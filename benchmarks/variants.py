"""The setups every benchmark compares, on each kind of event loop.

A *variant* says how tasks are created and which TaskGroup, Barrier and
current_task() the workload uses:

``stdlib default``
    the loop's own lazy tasks; ``asyncio.TaskGroup``, ``asyncio.Barrier``
    and ``asyncio.current_task`` (TaskGroup and Barrier exist from 3.11 on);
``stdlib eager``
    the same with ``asyncio.eager_task_factory`` (3.12+);
``fastaio c`` / ``fastaio python``
    fastaio's compiled core / its pure-Python twin, turned on as a program
    does at start-up: ``install(loop)`` on the loop that ``asyncio.run()``
    would make (``asyncio.new_event_loop()``) or on uvloop's, and that
    implementation's TaskGroup, Barrier and current_task.

Loops: ``asyncio`` (the stdlib's default loop) and ``uvloop``.
"""
import asyncio
import functools
import sys
import types

import fastaio
from fastaio import _impl, _install, _loops, _pycore

LOOPS = ("asyncio", "uvloop")
VARIANTS = ("stdlib default", "stdlib eager", "fastaio c", "fastaio python")
BASELINE = "stdlib default"
EAGER = "stdlib eager"


def fastaio_api(impl):
    """fastaio over one implementation of its core ("c" or "python"), as a
    namespace with ``new_event_loop``, ``install``, ``TaskGroup``,
    ``Barrier``, ``current_task`` and ``gather``; None if that
    implementation is not available.  The implementation in use is the
    ``fastaio`` module itself."""
    core = {"c": _impl.ccore, "python": _pycore}[impl]
    if core is None:
        return None
    if core is _impl.core:
        return fastaio
    return types.SimpleNamespace(
        new_event_loop=_loops.event_loop_class_core(core),
        install=functools.partial(_install.install_core, core),
        TaskGroup=fastaio.TaskGroup, Barrier=core.Barrier,
        current_task=core.current_task, gather=core.gather)


def implementations():
    """The implementations of fastaio's core available here."""
    return [impl for impl in ("c", "python") if fastaio_api(impl)]


def has_uvloop():
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


# install() replaces some methods of asyncio.BaseEventLoop process-wide,
# and asyncio.events.Handle._run; the stdlib variants run on loops of a
# class that has asyncio's own methods back, and that runs with asyncio's
# own Handle._run, so that they measure asyncio as a program without
# fastaio runs it.
_STDLIB_LOOP_METHODS = {
    name: _install.asyncio_original("BaseEventLoop." + name)
    for name in ("create_task", "is_running", "get_debug", "call_soon")}
_STDLIB_HANDLE_RUN = _install.asyncio_original("Handle._run")


def _run_forever_with_stdlib_handles(self):
    handle = asyncio.events.Handle
    saved = handle.__dict__["_run"]
    handle._run = _STDLIB_HANDLE_RUN
    try:
        return _loops._DefaultLoop.run_forever(self)
    finally:
        handle._run = saved


StdlibLoop = type("StdlibLoop", (_loops._DefaultLoop,),
                  dict(_STDLIB_LOOP_METHODS,
                       run_forever=_run_forever_with_stdlib_handles,
                       __doc__="The stdlib's loop with asyncio's own "
                               "methods, and asyncio's Handle._run while "
                               "it runs."))


def stdlib_loop_factory(loop_name):
    """A factory of loops for the stdlib variants (see StdlibLoop)."""
    if loop_name == "asyncio":
        return StdlibLoop
    return base_loop_factory(loop_name)


def base_loop_factory(loop_name):
    if loop_name == "uvloop":
        import uvloop
        return uvloop.new_event_loop
    if loop_name == "asyncio":
        return asyncio.new_event_loop
    raise ValueError(loop_name)


def available(variant, loop_name):
    """None if the variant can run on this interpreter and loop, else why
    not."""
    if loop_name == "uvloop" and not has_uvloop():
        return "uvloop is not installed"
    if variant == EAGER and not hasattr(asyncio, "eager_task_factory"):
        return "asyncio has no eager_task_factory before 3.12"
    if variant == EAGER and loop_name == "uvloop":
        return _uvloop_eager_problem()
    if variant.startswith("fastaio "):
        impl = variant.split()[1]
        if fastaio_api(impl) is None:
            return f"fastaio's {impl} implementation is not built"
    return None


_probed = {}


def _uvloop_eager_problem():
    """Why asyncio.eager_task_factory does not work on uvloop here, or None.
    (uvloop passes ``eager_start=`` to the task factory, which the factory
    of CPython 3.12 and 3.13 does not accept.)"""
    if "uvloop" not in _probed:
        import uvloop

        async def probe():
            return 1

        loop = uvloop.new_event_loop()
        coro = probe()
        try:
            loop.set_task_factory(asyncio.eager_task_factory)
            loop.run_until_complete(loop.create_task(coro))
            _probed["uvloop"] = None
        except TypeError as exc:
            coro.close()
            _probed["uvloop"] = (
                f"asyncio.eager_task_factory fails on uvloop "
                f"{uvloop.__version__}: {exc}")
        finally:
            loop.close()
    return _probed["uvloop"]


def variants(loop_name):
    """The variants available on this interpreter for ``loop_name``."""
    return [v for v in VARIANTS if available(v, loop_name) is None]


# Before 3.12, fastaio.install() (with the compiled core) replaces
# asyncio.current_task process-wide by fastaio's; the stdlib variants must
# keep measuring asyncio's own function.
_STDLIB_CURRENT_TASK = _install.asyncio_original("current_task")
# Likewise asyncio.gather before 3.12 (the replacement calls the original on
# loops without fastaio, but its check would still be timed), and
# asyncio.TaskGroup on 3.11+, which install() replaces by fastaio's.
_STDLIB_GATHER = _install.asyncio_original("gather")
_STDLIB_TASK_GROUP = (_install.asyncio_original("TaskGroup")
                      if hasattr(asyncio, "TaskGroup") else None)


def gather_of(setup_ns):
    """The gather a workload of ``setup_ns`` calls: the stdlib's own for the
    stdlib variants; for fastaio, ``asyncio.gather`` as a program sees it
    once fastaio is installed (so looked up after a loop was made)."""
    return setup_ns.gather or asyncio.gather


def setup(variant, loop_name):
    """A namespace with ``new_loop()``, ``TaskGroup``, ``Barrier``,
    ``current_task`` and ``gather`` for ``variant`` (``None`` where it has
    none; see ``gather_of``)."""
    why = available(variant, loop_name)
    if why:
        raise LookupError(f"{variant} on {loop_name}: {why}")
    base = base_loop_factory(loop_name)
    if variant.startswith("fastaio "):
        api = fastaio_api(variant.split()[1])

        def new_loop():
            return api.install(base())
        return types.SimpleNamespace(
            name=variant, loop=loop_name, new_loop=new_loop,
            TaskGroup=api.TaskGroup, Barrier=api.Barrier,
            current_task=api.current_task, gather=None)
    base = stdlib_loop_factory(loop_name)
    if variant == EAGER:
        def new_loop():
            loop = base()
            loop.set_task_factory(asyncio.eager_task_factory)
            return loop
    else:
        new_loop = base
    return types.SimpleNamespace(
        name=variant, loop=loop_name, new_loop=new_loop,
        TaskGroup=_STDLIB_TASK_GROUP,
        Barrier=getattr(asyncio, "Barrier", None),
        current_task=_STDLIB_CURRENT_TASK, gather=_STDLIB_GATHER)


def missing(setup_ns, needs):
    """Why ``setup_ns`` cannot run a workload needing the attributes in
    ``needs`` (e.g. ``("TaskGroup",)``), or None."""
    for name in needs:
        if getattr(setup_ns, name) is None:
            return (f"asyncio has no {name} on Python "
                    f"{sys.version_info[0]}.{sys.version_info[1]}")
    return None


def rotated(items, k):
    """``items`` rotated left by ``k``: round ``k`` of an interleaved run
    starts with a different variant, so no variant always runs first."""
    items = list(items)
    if not items:
        return items
    k %= len(items)
    return items[k:] + items[:k]


def interleaved(names, run_once, want, rounds, warmup, repeat=1):
    """Time ``run_once(name)`` (which returns ``(seconds, result)``) for
    every name, round by round, each round in an order rotated from the
    last; a sample is the best of ``repeat`` runs, and the first ``warmup``
    rounds are discarded.  Every result must equal ``want``.  Returns
    ``{name: [seconds per round]}``."""
    times = {name: [] for name in names}
    for r in range(warmup + rounds):
        for name in rotated(names, r):
            best = None
            for _ in range(repeat):
                dt, result = run_once(name)
                if result != want:
                    raise AssertionError(f"{name}: result {result} != {want}")
                best = dt if best is None else min(best, dt)
            if r >= warmup:
                times[name].append(best)
    return times
