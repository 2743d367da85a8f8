"""fastaio's public API over each implementation of its core, for the
tests: for the core in use it is the ``fastaio`` module's own objects; for
the other one it is the same objects made over that core by the package's
``*_core`` functions."""
import asyncio
import functools
import os
import types

import fastaio
from fastaio import _impl, _install, _loops, _pycore, _tasks

try:
    import uvloop
except ImportError:  # not installable on this interpreter or platform
    uvloop = None

# The names every core defines, and the core-independent public names.
CORE_NAMES = _pycore.__all__
SHARED_NAMES = ("Timeout", "timeout", "timeout_at", "to_thread",
                "TimeoutError", "uninstall")


def _api(core, implementation):
    if core is _impl.core:
        api = types.SimpleNamespace(
            **{name: getattr(fastaio, name) for name in fastaio.__all__})
        api.install = fastaio.install
    else:
        api = types.SimpleNamespace(
            **{name: getattr(fastaio, name) for name in SHARED_NAMES})
        api.install = functools.partial(_install.install_core, core)
        api.EventLoop = api.new_event_loop = _loops.event_loop_class_core(
            core)
        api.Runner = type("Runner", (fastaio.Runner,), {
            "_new_event_loop": staticmethod(api.new_event_loop),
            "_install": staticmethod(api.install)})
        api.run = functools.partial(_loops.run_core, api.Runner)
        api.create_task = functools.partial(_loops.create_task_core, core)
    for name in CORE_NAMES:
        setattr(api, name, getattr(core, name))
    api.TaskGroup = _impl.task_group(core)
    api.IMPLEMENTATION = implementation
    api.core = core
    api.is_fastaio_factory = _tasks.is_fastaio_factory
    return api


# FASTAIO_TEST_COMPILED_TASKGROUP=1: every core, and fastaio itself, use the
# compiled TaskGroup (fastaio._ctaskgroups), which otherwise goes with the
# compiled core only.
if os.environ.get("FASTAIO_TEST_COMPILED_TASKGROUP", "") not in ("", "0"):
    _impl.CTaskGroup = _impl._compiled_task_group()
    _impl.task_group = lambda core: _impl.CTaskGroup
    _impl.TaskGroup = fastaio.TaskGroup = _impl.CTaskGroup


IMPLEMENTATIONS = {"python": _api(_pycore, "python")}
if _impl.ccore is not None:
    IMPLEMENTATIONS["c"] = _api(_impl.ccore, "c")


# fastaio-loop: new_event_loop(); asyncio / uvloop: a plain loop of that kind
# on which install() ran.
LOOP_KINDS = ["fastaio-loop", "asyncio"] + (["uvloop"] if uvloop else [])


def make_loop(fa, kind, install=True):
    if kind == "fastaio-loop":
        loop = fa.new_event_loop()
    elif kind == "uvloop":
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    if install and kind != "fastaio-loop":
        fa.install(loop)
    return loop
