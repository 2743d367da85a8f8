"""loop.call_soon() after install() (and on fastaio's loop): the compiled
core's version does the work of BaseEventLoop.call_soon without its Python
frames, and must leave every observable result as asyncio's.  uvloop's loop
is not a BaseEventLoop: fastaio leaves its call_soon alone.  The same holds
for Handle._run, with which the loop runs each callback."""
import asyncio
import contextvars
import inspect
import subprocess
import sys
from asyncio import events

import pytest

from fastaio import _compat, _impl, _install, _pycore

KINDS = ("fastaio-loop", "asyncio")


def new_loop(fa, kind, **attrs):
    """A loop of that kind, of a fresh subclass with ``attrs``, on which
    fastaio runs."""
    base = fa.EventLoop if kind == "fastaio-loop" else \
        asyncio.SelectorEventLoop
    loop = type("Loop", (base,), attrs)()
    if kind != "fastaio-loop":
        fa.install(loop)
    return loop


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


def test_core_call_soon_is_in_place(fa):
    """With the compiled core, install() makes the core's loop_call_soon
    BaseEventLoop's call_soon (and fastaio.EventLoop's), and the fast path
    recognised asyncio's Handle on this interpreter."""
    loop = new_loop(fa, "asyncio")
    loop.close()
    original = _install._made.get("BaseEventLoop.call_soon",
                                  (asyncio.BaseEventLoop.call_soon,))[0]
    if fa.IMPLEMENTATION != "c":
        # The specification is asyncio's method itself.
        assert fa.loop_call_soon is original
        return
    assert fa.core.FAST_CALL_SOON == 1
    assert vars(fa.EventLoop)["call_soon"].__func__ is fa.loop_call_soon
    if fa.core is _impl.core:
        assert vars(asyncio.BaseEventLoop)["call_soon"].__func__ \
            is fa.loop_call_soon
    with pytest.raises(TypeError, match="BaseEventLoop"):
        fa.loop_call_soon(object(), print)


def test_call_soon_makes_asyncio_handles(fa, kind):
    loop = new_loop(fa, kind)
    try:
        seen = []
        var = contextvars.ContextVar("var")
        var.set("outer")
        first = loop.call_soon(seen.append, 1)
        assert type(first) is events.Handle
        assert (first._callback, first._args, first._loop, first._cancelled,
                first._repr, first._source_traceback) == (
                    seen.append, (1,), loop, False, None, None)
        assert type(first._context) is contextvars.Context
        assert first._context[var] == "outer"
        assert first._context is not contextvars.copy_context()
        given = contextvars.Context()
        second = loop.call_soon(seen.append, 2, context=given)
        assert second._context is given
        third = loop.call_soon(seen.append, 3, context=None)
        assert third._context[var] == "outer"
        fourth = loop.call_soon(seen.extend, [4, 5])
        assert fourth._args == ([4, 5],)
        no_args = loop.call_soon(seen.clear)
        assert no_args._args == ()
        # 3.13+ shows the arguments in debug mode only.
        assert repr(first) == ("<Handle list.append()>" if _compat.PY313
                               else "<Handle list.append(1)>")
        assert list(loop._ready)[-5:] == [first, second, third, fourth,
                                          no_args]
        no_args.cancel()
        var.set("changed")
        loop.call_soon(lambda: seen.append(var.get()))
        loop.run_until_complete(asyncio.sleep(0))
        assert seen == [1, 2, 3, 4, 5, "changed"]
    finally:
        loop.close()


def test_call_soon_errors_as_asyncio(fa, kind):
    loop = new_loop(fa, kind)
    try:
        with pytest.raises(TypeError, match="unexpected keyword"):
            loop.call_soon(print, ctx=None)
        with pytest.raises(TypeError, match="callback"):
            loop.call_soon()
        # Debug mode: asyncio's checks, and the traceback of the caller.
        loop.set_debug(True)
        with pytest.raises(TypeError, match="callable"):
            loop.call_soon(42)
        line = inspect.currentframe().f_lineno + 1
        handle = loop.call_soon(print)
        assert handle._source_traceback[-1].lineno == line
        assert handle._source_traceback[-1].filename == __file__
        handle.cancel()
        loop.set_debug(False)
    finally:
        loop.close()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.call_soon(print)


def test_call_soon_runs_what_a_loop_class_replaces(fa, kind, monkeypatch):
    """A loop class that replaces _call_soon, _check_closed or get_debug,
    before or after its first call_soon, has its method run."""
    calls = []

    def _call_soon(self, callback, args, context):
        calls.append("_call_soon")
        return asyncio.BaseEventLoop._call_soon(self, callback, args,
                                                context)

    loop = new_loop(fa, kind, _call_soon=_call_soon)
    try:
        loop.call_soon(print).cancel()
        assert calls == ["_call_soon"]
    finally:
        loop.close()

    loop = new_loop(fa, kind)
    try:
        loop.call_soon(print).cancel()     # the class is known now
        monkeypatch.setattr(type(loop), "_check_closed",
                            lambda self: calls.append("_check_closed"),
                            raising=False)
        loop.call_soon(print).cancel()
        assert calls == ["_call_soon", "_check_closed"]
        # get_debug() decides whether Handle records its traceback.
        monkeypatch.setattr(type(loop), "get_debug", lambda self: True,
                            raising=False)
        handle = loop.call_soon(print)
        handle.cancel()
        assert handle._source_traceback
    finally:
        loop.close()


def test_call_soon_uses_asyncio_handle_as_it_is_now(fa, kind, monkeypatch):
    """asyncio's _call_soon makes an ``events.Handle`` when it is called: a
    replaced class, or a replaced __init__, is what runs."""
    loop = new_loop(fa, kind)
    try:
        loop.call_soon(print).cancel()

        class Mine(events.Handle):
            __slots__ = ()

        monkeypatch.setattr(events, "Handle", Mine)
        handle = loop.call_soon(print)
        handle.cancel()
        assert type(handle) is Mine
        monkeypatch.undo()

        inits = []
        original = events.Handle.__init__

        def __init__(self, *args, **kwargs):
            inits.append(args[0])
            original(self, *args, **kwargs)

        monkeypatch.setattr(events.Handle, "__init__", __init__)
        loop.call_soon(print).cancel()
        assert inits == [print]
        monkeypatch.undo()
        handle = loop.call_soon(print)
        handle.cancel()
        assert inits == [print] and type(handle) is events.Handle
    finally:
        loop.close()


def test_futures_schedule_their_callbacks_in_order(fa, kind):
    """Futures and tasks schedule done callbacks and steps with
    loop.call_soon, in the order asyncio gives them."""
    loop = new_loop(fa, kind)
    order = []

    async def child(i):
        await asyncio.sleep(0)
        order.append(i)
        return i

    async def main():
        fut = loop.create_future()
        for i in range(3):
            fut.add_done_callback(lambda f, i=i: order.append(("cb", i)))
        fut.set_result(None)
        tasks = [asyncio.ensure_future(child(i)) for i in range(3)]
        return await asyncio.gather(*tasks)

    try:
        assert loop.run_until_complete(main()) == [0, 1, 2]
    finally:
        loop.close()
    assert order == [("cb", 0), ("cb", 1), ("cb", 2), 0, 1, 2]


# --------------------------------------------------------------------------
# Handle._run


def _reports(loop):
    """The contexts the loop's exception handler receives, each with the
    exception being handled while it ran."""
    seen = []

    def handler(loop, context):
        seen.append((context, sys.exc_info()[1]))

    loop.set_exception_handler(handler)
    return seen


def test_handle_run_runs_the_callback_in_its_context(fa):
    loop = asyncio.new_event_loop()
    try:
        var = contextvars.ContextVar("var", default="none")
        ctx = contextvars.Context()
        ctx.run(var.set, "handle's")
        seen = []
        handle = events.Handle(lambda *a: seen.append((a, var.get())),
                               (1, 2), loop, ctx)
        assert fa.handle_run(handle) is None
        assert seen == [((1, 2), "handle's")] and var.get() == "none"
        # A callback that cancels its own handle still runs to its end.
        handle = events.Handle(lambda: (handle.cancel(), seen.append("x")),
                               (), loop, ctx)
        fa.handle_run(handle)
        assert seen[-1] == "x" and handle._callback is None
    finally:
        loop.close()


@pytest.mark.parametrize("debug", [False, True])
def test_handle_run_reports_errors_as_asyncio(fa, debug):
    loop = asyncio.new_event_loop()
    loop.set_debug(debug)
    try:
        reports = _reports(loop)
        error = ValueError("boom")

        def fail(*args):
            raise error

        handle = loop.call_soon(fail, 1)
        loop._ready.remove(handle)     # run by hand
        fa.handle_run(handle)
        [(context, handled)] = reports
        assert handled is error
        assert context["exception"] is error
        assert context["handle"] is handle
        assert context["message"].startswith("Exception in callback ")
        assert ("fail(1)" in context["message"]) == (
            debug or not _compat.PY313)
        assert ("source_traceback" in context) == debug
        # The same report from asyncio's own method.
        del reports[:]
        _pycore.handle_run(handle)
        [(expected, _)] = reports
        assert expected["message"] == context["message"]
        assert set(expected) == set(context)

        # A callback that cancels its own handle, then fails: the report
        # names the handle's callback as it is then.
        messages = []
        for run in (fa.handle_run, _pycore.handle_run):
            handle = events.Handle(lambda: (handle.cancel(), fail()), (),
                                   loop, None)
            del reports[:]
            run(handle)
            [(context, handled)] = reports
            assert handled is error
            messages.append(context["message"])
        assert messages[0] == messages[1]
    finally:
        loop.close()


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_handle_run_lets_exit_exceptions_through(fa, exc_type):
    loop = asyncio.new_event_loop()
    try:
        reports = _reports(loop)

        def leave():
            raise exc_type(3)

        handle = events.Handle(leave, (), loop, None)
        with pytest.raises(exc_type):
            fa.handle_run(handle)
        assert reports == []
    finally:
        loop.close()


def test_handle_run_errors_of_the_handle_itself(fa):
    """Arguments that are not a tuple, or a context that is not one: as
    asyncio's method."""
    loop = asyncio.new_event_loop()
    try:
        reports = _reports(loop)
        seen = []
        handle = events.Handle(seen.append, [5], loop, None)
        fa.handle_run(handle)
        assert seen == [5]
        handle = events.Handle(seen.append, (6,), loop, object())
        fa.handle_run(handle)
        [(context, _)] = reports
        assert isinstance(context["exception"], AttributeError)
        if fa.IMPLEMENTATION == "c":
            with pytest.raises(TypeError, match="Handle"):
                fa.handle_run(object())
    finally:
        loop.close()


def test_loop_reports_callback_errors_and_goes_on(fa, kind):
    loop = new_loop(fa, kind)
    try:
        reports = _reports(loop)
        seen = []

        def fail():
            raise ValueError("cb")

        loop.call_soon(fail)
        loop.call_soon(seen.append, "next")
        loop.run_until_complete(asyncio.sleep(0))
        assert seen == ["next"]
        [(context, handled)] = reports
        assert type(handled) is ValueError and context["exception"] is handled
    finally:
        loop.close()


def test_handle_run_is_replaced_only_over_asyncio_own():
    """A Handle._run that another library put in place stays."""
    code = (
        "import asyncio, fastaio\n"
        "from asyncio import events\n"
        "original = events.Handle._run\n"
        "def _run(self):\n"
        "    calls.append(1)\n"
        "    return original(self)\n"
        "calls = []\n"
        "events.Handle._run = _run\n"
        "loop = fastaio.install(asyncio.new_event_loop())\n"
        "loop.run_until_complete(asyncio.sleep(0))\n"
        "print(events.Handle._run is _run, bool(calls))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True"]
