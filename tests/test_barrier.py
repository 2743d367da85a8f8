"""fastaio.Barrier: the scenarios of CPython's BarrierTests, run on every
version (3.9/3.10 have no asyncio.Barrier), loop iteration by loop
iteration, plus the unique-index fix (gh-155233)."""
import asyncio
import re

import pytest

from fastaio import _compat
from implementations import IMPLEMENTATIONS

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


# --------------------------------------------------------------------------
# Loop iteration by loop iteration: a callback that reschedules itself with
# call_soon() runs once per iteration and records the barrier's state; the
# parties record what wait() gave them.  The interleaving of both is the
# trace.  The reference is asyncio.Barrier on 3.13+ (whose Condition wakes
# another waiter when one leaves by an exception, gh-112202, as CPython 3.14
# does); before 3.13 it is fastaio's other implementation.

def _state_of(b):
    return REPR.match(repr(b)).group(1).split(",")[0]


def _trace(barrier_cls, scenario, parties, kind, fa):
    from implementations import make_loop

    loop = make_loop(fa, kind)
    trace = []
    tasks = []

    async def party(b, name, method="wait"):
        try:
            if method == "cm":
                async with b as i:
                    trace.append((name, i))
            else:
                trace.append((name, await b.wait()))
        except BaseException as exc:      # recorded, not raised
            trace.append((name, type(exc).__name__, str(exc)))

    async def main():
        b = barrier_cls(parties)
        done = []

        def tick(n=0):
            trace.append(("tick", n, b.n_waiting, _state_of(b), b._count))
            if not done:
                loop.call_soon(tick, n + 1)

        def spawn(name, method="wait"):
            t = fa.create_task(party(b, name, method), eager_start=False)
            tasks.append(t)
            return t

        loop.call_soon(tick)
        await scenario(b, spawn, trace)
        await asyncio.gather(*tasks, return_exceptions=True)
        trace.append(("end", b.n_waiting, _state_of(b), b._count))
        done.append(True)
        await asyncio.sleep(0)

    try:
        loop.run_until_complete(asyncio.wait_for(main(), 10))
    finally:
        loop.close()
    return trace


async def _sc_basic(b, spawn, trace):
    spawn("a")
    spawn("b", "cm")
    await asyncio.sleep(0)
    trace.append(("main", await b.wait()))
    spawn("late1")
    spawn("late2")
    await asyncio.sleep(0)
    trace.append(("main", await b.wait()))


async def _sc_cancel_filling(b, spawn, trace):
    a = spawn("a")
    spawn("b")
    spawn("c")
    await asyncio.sleep(0)
    a.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    spawn("d")
    spawn("e")
    await asyncio.sleep(0)


async def _sc_cancel_after_trip(b, spawn, trace):
    a = spawn("a")
    spawn("b")
    await asyncio.sleep(0)
    spawn("c")
    spawn("d")              # blocked: arrives while draining
    await asyncio.sleep(0)  # c trips; a and b are notified
    a.cancel()
    await asyncio.sleep(0)
    spawn("e")
    spawn("f")


async def _sc_cancel_blocked(b, spawn, trace):
    spawn("a")
    spawn("b")
    spawn("c")
    blocked = spawn("d")
    spawn("e")
    await asyncio.sleep(0)      # c trips; d and e block
    blocked.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    spawn("f")
    spawn("g")


async def _sc_reset_waiting(b, spawn, trace):
    spawn("a")
    spawn("b")
    await asyncio.sleep(0)
    await b.reset()
    trace.append(("main", "reset"))
    spawn("c")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    spawn("d")
    spawn("e")


async def _sc_reset_half_draining(b, spawn, trace):
    spawn("a")
    spawn("b")
    spawn("c")
    spawn("d")              # blocked until the round drains
    await asyncio.sleep(0)  # c trips
    await b.reset()         # a and b not resumed yet: they fail
    trace.append(("main", "reset"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    spawn("e")
    spawn("f")


async def _sc_abort(b, spawn, trace):
    spawn("a")
    spawn("b")
    spawn("c")
    spawn("d")
    await asyncio.sleep(0)  # c trips, d blocks
    await b.abort()
    trace.append(("main", "abort", b.broken))
    spawn("e")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await b.reset()
    trace.append(("main", "reset", b.broken))
    spawn("f")
    spawn("g")
    spawn("h")


async def _sc_unique_indices(b, spawn, trace):
    ts = [spawn(n) for n in "abc"]
    await asyncio.sleep(0)
    ts[1].cancel()
    ts[0].cancel()
    await asyncio.sleep(0)
    for n in "def":
        spawn(n)
        await asyncio.sleep(0)


# name -> (scenario, parties)
SCENARIOS = {
    "basic": (_sc_basic, 3),
    "cancel_filling": (_sc_cancel_filling, 4),
    "cancel_after_trip": (_sc_cancel_after_trip, 3),
    "cancel_blocked": (_sc_cancel_blocked, 3),
    "reset_waiting": (_sc_reset_waiting, 3),
    "reset_half_draining": (_sc_reset_half_draining, 3),
    "abort": (_sc_abort, 3),
}


def _indices(trace):
    return [e[1] for e in trace if len(e) == 2 and e[0] != "main"
            and isinstance(e[1], int)]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_trace_as_reference(fa, loop_kind, name):

    scenario, parties = SCENARIOS[name]
    got = _trace(fa.Barrier, scenario, parties, loop_kind, fa)
    if _compat.PY313:
        want = _trace(asyncio.Barrier, scenario, parties, loop_kind, fa)
        if name == "cancel_filling":
            # gh-155233: asyncio repeats an index after the cancellation
            # (d gets 2 as c did); fastaio gives d the index a gave back.
            assert sorted(_indices(want)) == [1, 2, 2, 3]
            want = [("d", 0) if e == ("d", 2) else e for e in want]
    else:
        other = "python" if fa is IMPLEMENTATIONS.get("c") else "c"
        if other not in IMPLEMENTATIONS:
            pytest.fail("the compiled core is needed as the reference "
                        "before Python 3.13")
        ref = IMPLEMENTATIONS[other]
        want = _trace(ref.Barrier, scenario, parties, loop_kind, fa)
    assert got == want
    # The scenario ran to its end and handed out indices.
    assert any(e[0] == "end" for e in got) and _indices(got)


def test_unique_indices_after_cancellations(fa, run):
    """gh-155233: cancelled waiters give their index back; each round still
    hands out 0..parties-1 exactly once."""
    async def main():
        trace = []
        b = fa.Barrier(4)
        tasks = []

        def spawn(name):
            async def party():
                try:
                    trace.append((name, await b.wait()))
                except asyncio.CancelledError:
                    trace.append((name, "cancelled"))
            t = fa.create_task(party(), eager_start=False)
            tasks.append(t)
            return t

        await _sc_unique_indices(b, spawn, trace)
        await asyncio.gather(*tasks)
        return trace

    trace = run(main)
    assert ("a", "cancelled") in trace and ("b", "cancelled") in trace
    got = dict(e for e in trace if isinstance(e[1], int))
    # c keeps 2; d and e take the indices a and b gave back, lowest first;
    # f takes the next unused one and trips the barrier.
    assert got == {"c": 2, "d": 0, "e": 1, "f": 3}


def test_threads_and_loops(fa):
    """Barriers on loops in several threads; a barrier used from a second
    loop refuses it and keeps its state."""
    import threading

    shared = fa.Barrier(3)   # a second arrival has to suspend
    errors = []
    results = []
    # One refused wait at a time: like every asyncio primitive the barrier
    # is not thread-safe, and on 3.9 the pure-Python one finds out about the
    # other loop only when its first wait suspends, after it counted the
    # arrival (two threads inside at once could trip it).
    one_at_a_time = threading.Lock()

    def worker(n):
        async def main():
            own = fa.Barrier(3)
            for _ in range(200):
                got = await asyncio.gather(*(own.wait() for _ in range(3)))
                assert sorted(got) == [0, 1, 2]
            with one_at_a_time:
                try:
                    await shared.wait()     # the first loop to wait binds it
                except RuntimeError as exc:
                    errors.append(str(exc))
            return n

        try:
            results.append(fa.run(main()))
        except BaseException as exc:   # pragma: no cover - reported below
            results.append(exc)

    bound = fa.new_event_loop()

    async def bind():
        waiter = asyncio.ensure_future(shared.wait())
        await asyncio.sleep(0)
        return waiter

    waiter = bound.run_until_complete(bind())
    assert shared.n_waiting == 1
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2, 3]
    assert len(errors) == 4 and all("different" in e and "loop" in e
                                    for e in errors)
    # The refused waits gave their places back.
    assert shared.n_waiting == 1 and not shared.broken

    async def finish():
        return sorted(await asyncio.gather(waiter, shared.wait(),
                                           shared.wait()))

    assert bound.run_until_complete(finish()) == [0, 1, 2]
    bound.close()
