"""gather() with eager children: CPython 3.14's gather on every version,
through ``fastaio.gather`` and through ``asyncio.gather`` on an installed
loop (the compiled gather on 3.12+ as well)."""
import asyncio
import sys

import pytest

from fastaio import _compat

from implementations import make_loop

GATHERS = ["fastaio.gather", "asyncio.gather"]


def _gather(how, fa):
    # asyncio.gather is looked up at call time: install() replaces it (before
    # 3.12, and with the compiled core on every version), and code that
    # imported it earlier keeps the original.
    return fa.gather if how == "fastaio.gather" else asyncio.gather


async def _value(v):
    return v


async def _fail(exc):
    raise exc


async def _suspend_then(v):
    await asyncio.sleep(0)
    return v


@pytest.mark.parametrize("how", GATHERS)
def test_all_children_finished_eagerly_means_outer_is_done(fa, run, how):
    async def main():
        outer = _gather(how, fa)(_value(1), _value(2), _value(3))
        assert outer.done()
        return await outer

    assert run(main) == [1, 2, 3]


@pytest.mark.parametrize("how", GATHERS)
def test_awaiting_finished_children_does_not_yield_to_the_loop(fa, run, how):
    order = []

    async def main():
        asyncio.get_running_loop().call_soon(order.append, "callback")
        await _gather(how, fa)(_value(1), _value(2))
        order.append("gathered")
        await asyncio.sleep(0)

    run(main)
    assert order == ["gathered", "callback"]


@pytest.mark.parametrize("how", GATHERS)
def test_mixed_children_keep_argument_order(fa, run, how):
    async def main():
        outer = _gather(how, fa)(_suspend_then("a"), _value("b"),
                                 _suspend_then("c"), _value("d"))
        assert not outer.done()
        return await outer

    assert run(main) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("how", GATHERS)
@pytest.mark.parametrize("count", [3, 16, 17, 40])
def test_many_children_done_and_pending_with_repeats(fa, run, how, count):
    # Below and above the number of arguments that the compiled gather
    # handles without a dict or a heap array; done, pending and repeated
    # children in one call.
    async def main():
        done = asyncio.get_running_loop().create_future()
        done.set_result("f")
        args = []
        for i in range(count):
            kind = i % 3
            args.append(_value(i) if kind == 0
                        else _suspend_then(i) if kind == 1 else done)
        outer = _gather(how, fa)(*args)
        return outer.done(), await outer

    expected = [i if i % 3 != 2 else "f" for i in range(count)]
    assert run(main) == (False, expected)


@pytest.mark.parametrize("how", GATHERS)
def test_eager_failure_is_raised_at_once(fa, run, how):
    async def main():
        slow = asyncio.ensure_future(_suspend_then("slow"))
        outer = _gather(how, fa)(slow, _fail(KeyError("k")))
        assert outer.done()
        with pytest.raises(KeyError):
            await outer
        # As in the stdlib, the other children are not cancelled.
        assert await slow == "slow"

    run(main)


@pytest.mark.parametrize("how", GATHERS)
def test_return_exceptions_with_eager_children(fa, run, how):
    error = ValueError("v")

    async def main():
        done = asyncio.get_running_loop().create_future()
        done.cancel("gone")
        return await _gather(how, fa)(_value(1), _fail(error), done,
                                      return_exceptions=True)

    result = run(main)
    assert result[:2] == [1, error]
    assert isinstance(result[2], asyncio.CancelledError)
    assert result[2].args == ("gone",)


@pytest.mark.parametrize("how", GATHERS)
def test_cancelled_child_without_return_exceptions(fa, run, how):
    async def main():
        done = asyncio.get_running_loop().create_future()
        done.cancel()
        outer = _gather(how, fa)(done, _value(1))
        assert outer.done()
        with pytest.raises(asyncio.CancelledError):
            await outer

    run(main)


@pytest.mark.parametrize("how", GATHERS)
def test_duplicate_arguments_are_one_child(fa, run, how):
    async def main():
        future = asyncio.get_running_loop().create_future()
        future.set_result("x")
        coro = _value("y")
        return await _gather(how, fa)(future, coro, future, coro)

    assert run(main) == ["x", "y", "x", "y"]


@pytest.mark.parametrize("how", GATHERS)
def test_arguments_that_compare_equal_are_one_child(fa, run, how):
    """Repeats are found as a dict finds keys (the stdlib's), not by
    identity: a second future equal to the first is not awaited."""
    class Keyed(asyncio.Future):
        def __eq__(self, other):
            return isinstance(other, Keyed)

        def __hash__(self):
            return 1

    async def main():
        loop = asyncio.get_running_loop()
        first, second = Keyed(loop=loop), Keyed(loop=loop)
        first.set_result("first")
        second.set_result("second")
        return await _gather(how, fa)(first, second, _value("c"), first)

    assert run(main) == ["first", "first", "c", "first"]


@pytest.mark.parametrize("how", GATHERS)
def test_outer_future_is_the_stdlibs(fa, run, how):
    """The returned future is asyncio's _GatheringFuture, with the
    attributes its __init__ sets."""
    async def main():
        loop = asyncio.get_running_loop()
        pending = loop.create_future()
        outer = _gather(how, fa)(_value(1), pending)
        assert type(outer) is asyncio.tasks._GatheringFuture
        assert outer._cancel_requested is False
        assert [c.done() for c in outer._children] == [True, False]
        assert outer._children[1] is pending
        assert outer.get_loop() is loop
        pending.set_result(2)
        return await outer

    assert run(main) == [1, 2]


@pytest.mark.parametrize("how", GATHERS)
def test_a_replaced_gathering_future_init_runs(fa, run, how, monkeypatch):
    """An __init__ put on _GatheringFuture is called for every gather, as
    the stdlib's gather calls the class."""
    made = []
    original = asyncio.tasks._GatheringFuture.__init__

    def init(self, children, *, loop):
        made.append(len(children))
        original(self, children, loop=loop)

    async def main():
        first = await _gather(how, fa)(_value(1), _value(2))
        monkeypatch.setattr(asyncio.tasks._GatheringFuture, "__init__", init)
        second = await _gather(how, fa)(_value(3), _value(4), _value(5))
        monkeypatch.undo()
        third = await _gather(how, fa)(_value(6))
        return first + second + third

    assert run(main) == [1, 2, 3, 4, 5, 6]
    assert made == [3]


@pytest.mark.parametrize("how", GATHERS)
def test_cancelling_a_pending_gather(fa, run, how):
    async def main():
        child = asyncio.ensure_future(_suspend_then(1))
        outer = _gather(how, fa)(_value(0), child)
        assert outer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer
        assert child.cancelled()

    run(main)


def test_bad_argument_raises_and_the_loop_keeps_working(fa, run):
    async def main():
        with pytest.raises(TypeError):
            await asyncio.gather(_value(1), 42)
        return await asyncio.gather(_value(2))

    assert run(main) == [2]


def test_empty_gather(fa, run):
    async def main():
        return await asyncio.gather(), await fa.gather()

    assert run(main) == ([], [])


@pytest.mark.skipif(_compat.PY312, reason="asyncio.gather is not replaced "
                    "from 3.12 on: it behaves this way itself")
def test_asyncio_gather_keeps_its_behaviour_on_other_loops(fa):
    make_loop(fa, "fastaio-loop").close()      # install()'s patch is made
    assert getattr(asyncio.gather, "_fastaio_original", None) is not None
    loop = asyncio.new_event_loop()
    try:
        async def main():
            future = loop.create_future()
            future.set_result(1)
            outer = asyncio.gather(future)
            # The interpreter's own gather: the child is accounted for by a
            # callback on the next loop iteration.
            assert not outer.done()
            return await outer

        assert loop.run_until_complete(main()) == [1]
    finally:
        loop.close()


def test_outside_a_running_loop_outer_is_its_arguments_loops(
        fa, make_loop, loop_kind):
    """Without a running loop, gather() makes the returned future for the
    loop of its first argument, as 3.14's does; the running loop of another
    thread is not this one's."""
    loop = make_loop(fa, loop_kind)
    try:
        future = loop.create_future()
        outer = fa.gather(future)
        assert type(outer) is asyncio.tasks._GatheringFuture
        assert outer.get_loop() is loop
        future.set_result(1)
        assert loop.run_until_complete(outer) == [1]
    finally:
        loop.close()


@pytest.mark.skipif(sys.version_info >= (3, 10),
                    reason="gather(loop=) was removed in 3.10")
def test_loop_argument_goes_to_the_stdlib_with_its_warning(fa, run):
    async def main():
        with pytest.warns(DeprecationWarning):
            return await asyncio.gather(
                _value(5), loop=asyncio.get_running_loop())

    assert run(main) == [5]


@pytest.mark.parametrize("how", GATHERS)
def test_methods_set_on_a_future_or_task_are_called(fa, run, how):
    """gather calls a child's done(), exception() and result() as Python
    code does: an attribute set on the future or task itself is what it
    calls, for pending and done children alike."""
    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        done.set_result(1)
        done.result = lambda: "done future's own"
        pending = loop.create_future()
        pending.exception = lambda: None
        pending.result = lambda: "pending future's own"
        loop.call_soon(pending.set_result, 2)
        task = loop.create_task(_suspend_then(3))
        task.result = lambda: "task's own"
        plain = loop.create_task(_suspend_then(4))
        return await _gather(how, fa)(done, pending, task, plain)

    assert run(main) == ["done future's own", "pending future's own",
                         "task's own", 4]


@pytest.mark.parametrize("how", GATHERS)
def test_a_future_of_another_loop_raises_value_error(fa, run, how):
    """A future or task of another loop after one of the running loop is
    refused as _ensure_future refuses it, and the loop keeps working."""
    other = asyncio.new_event_loop()

    async def main():
        loop = asyncio.get_running_loop()
        foreign = [other.create_future(),
                   other.create_task(_value(0))]
        try:
            for child in foreign:
                mine = loop.create_future()
                with pytest.raises(ValueError, match="different loop"):
                    _gather(how, fa)(mine, child)
                mine.cancel()
            done = loop.create_future()
            done.set_result(1)
            return await _gather(how, fa)(done, loop.create_task(_value(2)))
        finally:
            foreign[1].cancel()

    try:
        assert run(main) == [1, 2]
    finally:
        other.run_until_complete(asyncio.sleep(0))
        other.close()


@pytest.mark.parametrize("how", GATHERS)
def test_get_loop_set_on_a_future_is_asked(fa, run, how):
    """Which loop a future belongs to is what its get_loop() answers, an
    attribute set on the future itself included, as for _get_loop()."""
    other = asyncio.new_event_loop()

    async def main():
        loop = asyncio.get_running_loop()
        mine = loop.create_future()
        mine.set_result("mine")
        mine.get_loop = lambda: other
        first = loop.create_future()
        with pytest.raises(ValueError, match="different loop"):
            _gather(how, fa)(first, mine)
        first.cancel()
        foreign = other.create_future()
        foreign.get_loop = lambda: loop
        foreign.set_result("foreign")
        return await _gather(how, fa)(foreign)

    try:
        assert run(main) == ["foreign"]
    finally:
        other.close()


def _compiled(fa):
    return fa.eager_task_factory is not None and isinstance(
        fa.gather, type(len))


@pytest.mark.skipif(not _compat.PY312, reason="3.12+ only")
def test_which_gather_from_312(fa):
    """3.12+: the compiled core's gather is its own, in C, and install()
    puts its dispatcher in asyncio; the pure twin's is asyncio's own on
    3.14+ and a copy of 3.14's on 3.12 and 3.13, and install() leaves
    asyncio.gather alone."""
    from fastaio import _impl, _install
    original = _install.asyncio_original("gather")
    make_loop(fa, "asyncio").close()
    if _compiled(fa):
        assert fa.gather is not original
        assert asyncio.gather is asyncio.tasks.gather is _impl.ccore.asyncio_gather
    else:
        assert (fa.gather is original) == _compat.PY314
        if _impl.ccore is None:
            assert asyncio.gather is original


@pytest.mark.skipif(not _compat.PY312 or _compat.PY314,
                    reason="3.12 and 3.13 only: their gather wraps for the "
                           "first argument's loop")
def test_asyncio_gather_is_the_stdlibs_on_other_loops(fa):
    """On a loop without the compiled factory asyncio.gather stays the
    interpreter's: 3.12 and 3.13 wrap the arguments for the first one's
    loop, where 3.14 (and fastaio's gather) use the running loop."""
    make_loop(fa, "asyncio").close()              # install()'s patch is made
    other = asyncio.new_event_loop()
    loop = asyncio.new_event_loop()
    try:
        async def main():
            future = other.create_future()
            outer = asyncio.gather(future)
            assert outer.get_loop() is other
            future.set_result(1)
            with pytest.raises(ValueError):
                fa.gather(other.create_future())

        loop.run_until_complete(main())
    finally:
        loop.close()
        other.close()


@pytest.mark.skipif(not _compat.PY314, reason="3.14+: call-graph records")
@pytest.mark.parametrize("how", GATHERS)
def test_pending_children_are_awaited_by_the_caller(fa, run, how):
    """3.14's gather records each pending child as awaited by the task that
    called it, and forgets it when the child is done."""
    async def main():
        me = asyncio.current_task()
        child = asyncio.ensure_future(_suspend_then(1))
        outer = _gather(how, fa)(child, _value(2))
        assert me in child._asyncio_awaited_by
        assert await outer == [1, 2]
        assert me not in (child._asyncio_awaited_by or ())

    run(main)
