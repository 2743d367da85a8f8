"""fastaio.Barrier: the scenarios of CPython's BarrierTests, run on every
version (3.9/3.10 have no asyncio.Barrier), loop iteration by loop
iteration, plus the unique-index fix (gh-155233)."""
import asyncio
import re

import pytest

from fastaio import _compat

REPR = re.compile(r"^<.* object at 0x[0-9a-f]+ "
                  r"\[(filling, waiters:\d+/\d+|draining, waiters:0/\d+|"
                  r"resetting, waiters:0/\d+|broken)\]>$")


def lazy(coro):
    return asyncio.get_running_loop().create_task(coro)


def test_api_and_errors(fa, run):
    async def main():
        b = fa.Barrier(3)
        assert (b.parties, b.n_waiting, b.broken) == (3, 0, False)
        assert REPR.match(repr(b)) and "filling" in repr(b)
        with pytest.raises(TypeError):
            await b
        for bad in (0, -1):
            with pytest.raises(ValueError, match="parties"):
                fa.Barrier(bad)
        if _compat.PY311:
            assert fa.BrokenBarrierError is asyncio.BrokenBarrierError
        assert issubclass(fa.BrokenBarrierError, RuntimeError)

    run(main)


def test_last_party_does_not_suspend_others_resume_in_order(fa, run):
    async def main():
        b = fa.Barrier(3)
        order = []

        async def party(name):
            index = await b.wait()
            order.append((name, index))

        t1 = fa.create_task(party("a"), eager_start=False)
        t2 = fa.create_task(party("b"), eager_start=False)
        await asyncio.sleep(0)
        assert b.n_waiting == 2 and order == []
        index = await b.wait()          # trips without suspending
        assert index == 2
        assert order == []
        assert "draining" in repr(b) and b.n_waiting == 0
        await asyncio.sleep(0)
        assert order == [("a", 0), ("b", 1)]
        assert "filling" in repr(b)
        await asyncio.gather(t1, t2)

    run(main)


def test_context_manager_and_reuse(fa, run):
    async def main():
        b = fa.Barrier(2)
        results = []

        async def party():
            async with b as i:
                results.append(i)

        for _ in range(3):
            await asyncio.gather(party(), party())
        assert sorted(results) == [0, 0, 0, 1, 1, 1]
        assert b.n_waiting == 0 and not b.broken

    run(main)


def test_abort_and_reset(fa, run):
    async def main():
        b = fa.Barrier(3)
        waiters = [fa.create_task(b.wait()) for _ in range(2)]
        await asyncio.sleep(0)
        assert b.n_waiting == 2
        await b.abort()
        assert b.broken and repr(b).endswith("[broken]>")
        for w in waiters:
            with pytest.raises(fa.BrokenBarrierError):
                await w
        with pytest.raises(fa.BrokenBarrierError, match="aborted"):
            await b.wait()
        await b.reset()
        assert not b.broken and b.n_waiting == 0

        waiters = [fa.create_task(b.wait()) for _ in range(2)]
        await asyncio.sleep(0)
        await b.reset()
        assert "resetting" in repr(b)
        for w in waiters:
            with pytest.raises(fa.BrokenBarrierError, match="reset"):
                await w
        assert "filling" in repr(b)
        res = await asyncio.gather(*(b.wait() for _ in range(3)))
        assert sorted(res) == [0, 1, 2]

    run(main)


def test_cancelled_waiter(fa, run):
    async def main():
        b = fa.Barrier(3)
        t1 = lazy(b.wait())
        t2 = lazy(b.wait())
        await asyncio.sleep(0)
        assert b.n_waiting == 2
        t1.cancel()
        await asyncio.sleep(0)
        assert b.n_waiting == 1
        with pytest.raises(asyncio.CancelledError):
            await t1
        assert not b.broken
        t3 = lazy(b.wait())
        await asyncio.sleep(0)
        assert b.n_waiting == 2
        t4 = lazy(b.wait())
        results = await asyncio.gather(t2, t3, t4)
        # gh-155233: unique indices in the round despite the cancellation
        assert sorted(results) == [0, 1, 2]

    run(main)


def test_arrivals_while_draining_wait_for_next_round(fa, run):
    async def main():
        b = fa.Barrier(2)
        first = [lazy(b.wait()) for _ in range(2)]
        late = []
        await asyncio.sleep(0)      # both waited; the second tripped it
        late.append(lazy(b.wait()))
        late.append(lazy(b.wait()))
        assert sorted(await asyncio.gather(*first)) == [0, 1]
        assert sorted(await asyncio.gather(*late)) == [0, 1]

    run(main)


def test_on_plain_asyncio_tasks(fa):
    async def main():
        b = fa.Barrier(4)
        return sorted(await asyncio.gather(*(b.wait() for _ in range(4))))

    assert asyncio.run(main()) == [0, 1, 2, 3]
