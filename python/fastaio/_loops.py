"""fastaio's event loop, ``Runner``, ``run()`` and ``create_task()``.

Each is defined for the core in use (``fastaio._impl.core``); the
``*_core`` functions make the same object for a given core.
"""
import asyncio
import sys
from asyncio import events

from . import _compat, _impl, _install
from ._install import install, loop_methods, patch_asyncio
from ._tasks import is_fastaio_factory, spawn

__all__ = ("EventLoop", "Runner", "create_task", "new_event_loop", "run")

if _compat.PY311:
    _BaseRunner = asyncio.Runner
else:
    from ._runners import Runner as _BaseRunner

if sys.platform == "win32":  # pragma: no cover
    _DefaultLoop = asyncio.ProactorEventLoop
else:
    _DefaultLoop = asyncio.SelectorEventLoop


class EventLoop(_DefaultLoop):
    """The default asyncio event loop, with fastaio installed."""

    _fastaio_core = _impl.core

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        core = self._fastaio_core
        self.set_task_factory(core.eager_task_factory)
        patch_asyncio(core)


def _class_attributes(core):
    """What ``EventLoop`` takes from ``core``: the core's loop methods
    where the platform's loop class kept BaseEventLoop's (as install()
    puts them into BaseEventLoop, but whether or not that was opted out
    of)."""
    methods = {"_fastaio_core": core}
    for name, method in loop_methods(core).items():
        if getattr(_DefaultLoop, name) is _install.asyncio_original(
                "BaseEventLoop." + name):
            methods[name] = method
    return methods


for _name, _value in _class_attributes(_impl.core).items():
    setattr(EventLoop, _name, _value)
del _name, _value
EventLoop.__module__ = "fastaio"


def event_loop_class_core(core):
    """``EventLoop`` over the given core."""
    return type("EventLoop", (EventLoop,), _class_attributes(core))


def new_event_loop():
    """A new event loop with fastaio installed (a ``loop_factory``)."""
    return EventLoop()


class Runner(_BaseRunner):
    """``asyncio.Runner`` on every version.  Its loop gets fastaio
    installed unless ``install=False``; ``loop_factory`` defaults to
    ``fastaio.new_event_loop``."""

    # How the loop is made and fastaio installed on it (a subclass may use
    # another core).
    _new_event_loop = staticmethod(new_event_loop)
    _install = staticmethod(install)

    def __init__(self, *, debug=None, loop_factory=None, install=True):
        if install:
            loop_factory = self._installing(loop_factory)
        super().__init__(debug=debug, loop_factory=loop_factory)

    def _installing(self, loop_factory):
        if loop_factory is None:
            return self._new_event_loop
        install = self._install

        def make_loop():
            return install(loop_factory())
        return make_loop


Runner.__module__ = "fastaio"


def run_core(runner_class, main, debug=None, loop_factory=None,
             install=True):
    """``run()`` with the given ``Runner`` class."""
    if events._get_running_loop() is not None:
        raise RuntimeError(
            "fastaio.run() cannot be called from a running event loop")
    with runner_class(debug=debug, loop_factory=loop_factory,
                      install=install) as runner:
        return runner.run(main)


def run(main, *, debug=None, loop_factory=None, install=True):
    """``asyncio.run`` with ``loop_factory`` on every version; fastaio is
    installed on the loop unless ``install=False``."""
    return run_core(Runner, main, debug, loop_factory, install)


def create_task_core(core, coro, *, name=None, context=None,
                     eager_start=None, **kwargs):
    """``create_task()`` with the given core."""
    loop = events.get_running_loop()
    current = loop.get_task_factory()
    if eager_start is None and not is_fastaio_factory(current):
        return spawn(loop, coro, name, context, kwargs)
    use = current if is_fastaio_factory(current) else core.eager_task_factory
    return use(loop, coro, name=name, context=context,
               eager_start=eager_start, **kwargs)


def create_task(coro, *, name=None, context=None, eager_start=None,
                **kwargs):
    """Create a task on the running loop, eagerly if ``eager_start`` is
    true.  ``eager_start=None`` follows the loop: eager where fastaio is
    installed, lazy elsewhere.  The loop's task factory is used when it is
    not fastaio's unless ``eager_start`` is given."""
    return create_task_core(_impl.core, coro, name=name, context=context,
                            eager_start=eager_start, **kwargs)
