"""TaskGroup with eager children: a child that succeeded inside
``create_task`` costs the group nothing, and every other child keeps 3.14's
behaviour.  Each test runs through ``fastaio.TaskGroup`` and, from 3.11 on,
through ``asyncio.TaskGroup`` on a loop where fastaio is installed (which
then is fastaio's)."""
import asyncio

import pytest

from fastaio import _compat
from implementations import IMPLEMENTATIONS

# install() puts one of these into asyncio, once per process: that of the
# core that installed first.
FASTAIO_GROUPS = {api.TaskGroup for api in IMPLEMENTATIONS.values()}


class Boom(Exception):
    pass


HOWS = ["fastaio.TaskGroup", "asyncio.TaskGroup"]


def _group(how, fa):
    if how == "fastaio.TaskGroup":
        return fa.TaskGroup
    if not _compat.PY311:
        pytest.skip("asyncio has no TaskGroup before 3.11")
    # Looked up while the test's loop runs: install() has replaced it.
    return asyncio.TaskGroup


async def _value(x):
    return x


async def _fail(exc):
    raise exc


def _not_yet(loop):
    """A list that the loop's next iteration appends to."""
    marks = []
    loop.call_soon(marks.append, "loop ran")
    return marks


@pytest.mark.parametrize("how", HOWS)
def test_children_that_return_cost_no_loop_trip(fa, run, how):
    async def main():
        group = _group(how, fa)
        assert group in FASTAIO_GROUPS
        marks = _not_yet(asyncio.get_running_loop())
        async with group() as tg:
            children = [tg.create_task(_value(i)) for i in range(50)]
            assert not tg._tasks            # none of them was added
        # Neither create_task nor the exit went through the loop.
        assert marks == []
        await asyncio.sleep(0)
        assert marks == ["loop ran"]
        return [c.result() for c in children]

    assert run(main) == list(range(50))


@pytest.mark.parametrize("how", HOWS)
def test_child_that_fails_eagerly(fa, run, how):
    async def main():
        group = _group(how, fa)
        seen = []
        with pytest.raises(_compat.BaseExceptionGroup) as info:
            async with group() as tg:
                ok = tg.create_task(_value(1))
                tg.create_task(_fail(Boom("eager")))
                seen.append("body goes on until its next suspension")
                await asyncio.sleep(10)
                seen.append("not reached")
        assert [type(e) for e in info.value.exceptions] == [Boom]
        assert ok.result() == 1
        assert asyncio.current_task().cancelling() == 0
        await asyncio.sleep(0)          # no cancellation left over
        return seen

    assert run(main) == ["body goes on until its next suspension"]


@pytest.mark.parametrize("how", HOWS)
def test_child_cancelled_eagerly(fa, run, how):
    """A child whose first step ends cancelled is no error of the group."""
    async def cancelled():
        raise asyncio.CancelledError

    async def main():
        async with _group(how, fa)() as tg:
            child = tg.create_task(cancelled())
            ok = tg.create_task(_value(2))
            assert child.cancelled()
            assert child in tg._tasks and ok not in tg._tasks
        assert asyncio.current_task().cancelling() == 0
        await asyncio.sleep(0)
        return ok.result()

    assert run(main) == 2


@pytest.mark.parametrize("how", HOWS)
def test_child_that_cancels_the_group_eagerly(fa, run, how):
    """The child calls tg.cancel() in its first step and returns: it takes
    the fast path, the group's cancellation still stops the body."""
    if not hasattr(fa.TaskGroup, "cancel"):
        pytest.skip("no TaskGroup.cancel()")

    async def canceller(tg):
        tg.cancel()
        return "cancelled the group"

    async def main():
        seen = []
        async with _group(how, fa)() as tg:
            if not hasattr(tg, "cancel"):
                pytest.skip("this TaskGroup has no cancel()")
            child = tg.create_task(canceller(tg))
            seen.append(child.result())
            with pytest.raises(RuntimeError, match="shutting down"):
                tg.create_task(_value(0))
            await asyncio.sleep(10)
            seen.append("not reached")
        assert asyncio.current_task().cancelling() == 0
        await asyncio.sleep(0)
        return seen

    assert run(main) == ["cancelled the group"]


@pytest.mark.parametrize("how", HOWS)
def test_child_that_creates_siblings_eagerly(fa, run, how):
    async def parent_child(tg, results):
        for i in range(3):
            tg.create_task(_collect(results, i))
        tg.create_task(_suspend_then_collect(results, "late"))
        return "spawned"

    async def _collect(results, x):
        results.append(x)

    async def _suspend_then_collect(results, x):
        await asyncio.sleep(0)
        results.append(x)

    async def main():
        results = []
        async with _group(how, fa)() as tg:
            first = tg.create_task(parent_child(tg, results))
            assert results == [0, 1, 2]      # ran inside create_task
            assert len(tg._tasks) == 1      # only the one that suspended
        assert first.result() == "spawned"
        return results

    assert run(main) == [0, 1, 2, "late"]


@pytest.mark.parametrize("how", HOWS)
def test_nested_groups(fa, run, how):
    async def inner(values):
        async with _group(how, fa)() as tg:
            tasks = [tg.create_task(_value(v)) for v in values]
        return sum(t.result() for t in tasks)

    async def inner_failing():
        async with _group(how, fa)() as tg:
            tg.create_task(_value(1))
            tg.create_task(_fail(Boom("inner")))
        return "not reached"

    async def main():
        async with _group(how, fa)() as tg:
            a = tg.create_task(inner([1, 2, 3]))
            b = tg.create_task(inner([10, 20]))
        assert (a.result(), b.result()) == (6, 30)
        with pytest.raises(_compat.BaseExceptionGroup) as info:
            async with _group(how, fa)() as tg:
                tg.create_task(inner([1]))
                tg.create_task(inner_failing())
        (nested,) = info.value.exceptions
        assert isinstance(nested, _compat.BaseExceptionGroup)
        assert [type(e) for e in nested.exceptions] == [Boom]
        return "ok"

    assert run(main) == "ok"


@pytest.mark.parametrize("how", HOWS)
def test_parent_cancelled_after_every_child_finished(fa, run, how):
    """Someone else cancels the parent while the body waits and every child
    already finished eagerly: the cancellation is the parent's, not the
    group's, so it propagates out of the block."""
    async def main():
        me = asyncio.current_task()
        asyncio.get_running_loop().call_soon(me.cancel)
        with pytest.raises(asyncio.CancelledError):
            async with _group(how, fa)() as tg:
                done = [tg.create_task(_value(i)) for i in range(3)]
                await asyncio.sleep(10)
        assert me.cancelling() == 1
        me.uncancel()
        return [t.result() for t in done]

    assert run(main) == [0, 1, 2]


@pytest.mark.parametrize("how", HOWS)
def test_parent_cancel_pending_at_exit(fa, run, how):
    """A cancellation requested while the body does not suspend is delivered
    at the parent's next suspension, inside or after the block; here the
    block's exit does not suspend, so it comes after it."""
    async def main():
        me = asyncio.current_task()
        async with _group(how, fa)() as tg:
            child = tg.create_task(_value("x"))
            me.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.sleep(0)
        me.uncancel()
        return child.result()

    assert run(main) == "x"


@pytest.mark.skipif(not _compat.PY311, reason="asyncio.TaskGroup is 3.11+")
def test_asyncio_taskgroup_keeps_314_behaviour_without_fastaio(fa):
    """After install() asyncio.TaskGroup is fastaio's everywhere; on a loop
    that does not run fastaio it behaves as 3.14's: every child is added,
    even one that finished inside create_task (stdlib eager factory)."""
    loop = fa.new_event_loop()
    loop.close()                         # makes the process-wide patch
    assert asyncio.TaskGroup in FASTAIO_GROUPS
    assert asyncio.taskgroups.TaskGroup is asyncio.TaskGroup

    async def main():
        async with asyncio.TaskGroup() as tg:
            child = tg.create_task(_value(5))
            added, done_at_once = child in tg._tasks, child.done()
        return child.result(), added, done_at_once

    for eager in (False, True):
        if eager and not hasattr(asyncio, "eager_task_factory"):
            continue
        loop = asyncio.new_event_loop()
        if eager:
            loop.set_task_factory(asyncio.eager_task_factory)
        try:
            assert loop.run_until_complete(main()) == (5, True, eager)
        finally:
            loop.close()


def test_a_change_to_the_loop_class_reaches_the_next_child(fa):
    """The group reads is_closed() and get_task_factory() through the loop's
    class, as asyncio does: a method replaced on the class, after children
    were created, is the one the next child meets."""
    class Loop(asyncio.SelectorEventLoop):
        pass

    async def main():
        async with fa.TaskGroup() as tg:
            for i in range(3):
                assert tg.create_task(_value(i)).done()
        Loop.is_closed = lambda self: True
        try:
            async with fa.TaskGroup() as tg:
                coro = _value(3)
                with pytest.raises(RuntimeError, match="closed"):
                    tg.create_task(coro)
                coro.close()
        finally:
            del Loop.is_closed
        Loop.get_task_factory = lambda self: None
        try:
            async with fa.TaskGroup() as tg:
                # No fastaio factory in sight: the group waits for its
                # children through the loop, as for any other factory.
                tg.create_task(_value(4))
                assert tg._tasks
        finally:
            del Loop.get_task_factory
        async with fa.TaskGroup() as tg:
            assert tg.create_task(_value(5)).done()
            assert not tg._tasks

    loop = fa.install(Loop())
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_any_fastaio_factory_counts_and_no_other(fa, loop_kind, make_loop):
    """The group skips a child that finished inside create_task when the
    loop runs a factory of either implementation, and only then: under a
    plain callable factory every child is added, as in asyncio."""
    from fastaio import _pycore

    def plain_factory(loop, coro, **kwargs):
        # fa.Task rather than asyncio.Task: before 3.11 only fastaio's
        # Task has the cancelling()/uncancel() a group needs.
        return fa.Task(coro, loop=loop, **kwargs)

    async def main():
        async with fa.TaskGroup() as tg:
            child = tg.create_task(_value(1))
            added = child in tg._tasks
        return child.result(), added

    factories = [(_pycore.eager_task_factory, False), (plain_factory, True)]
    for factory, expect_added in factories:
        loop = make_loop(fa, loop_kind)
        loop.set_task_factory(factory)
        try:
            assert loop.run_until_complete(main()) == (1, expect_added)
        finally:
            loop.close()
