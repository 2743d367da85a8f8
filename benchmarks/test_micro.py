"""Micro-benchmarks (pytest-benchmark): one asyncio operation at a time.

Each benchmark runs under every variant of ``variants.py`` on the stdlib
loop and on uvloop.  One call of the timed function runs ``OPS`` operations
inside one ``run_until_complete``; ``extra_info["ops"]`` says how many, so
the time per operation is the pytest-benchmark time divided by it.

    python -m pytest benchmarks/test_micro.py --benchmark-only

``benchmarks/run.py`` runs this file several times (each run is a round,
with the variants of each benchmark in a rotated order) and reports the
ratio of each variant to the stdlib default within each round.
"""
import asyncio

import pytest

import variants

OPS = {
    "create_task returns": 1000,
    "create_task suspends": 1000,
    "current_task": 10000,
    "Barrier 4 parties": 200,
    "Barrier 64 parties": 50,
    "TaskGroup 1000 children": 1,
    "gather 100 children": 10,
    "gather 100 tasks": 10,
}
NEEDS = {
    "Barrier 4 parties": ("Barrier",),
    "Barrier 64 parties": ("Barrier",),
    "TaskGroup 1000 children": ("TaskGroup",),
}
BENCHMARKS = tuple(OPS)


async def _returns():
    return 1


async def _suspends():
    await asyncio.sleep(0)
    return 1


async def create_task_returns(ns, loop, n):
    create = loop.create_task
    for _ in range(n):
        await create(_returns())


async def create_task_suspends(ns, loop, n):
    create = loop.create_task
    for _ in range(n):
        await create(_suspends())


async def current_task(ns, loop, n):
    current = ns.current_task
    for _ in range(n):
        current()


async def _barrier_party(barrier, rounds):
    for _ in range(rounds):
        await barrier.wait()


def _barrier(parties):
    async def barrier_rounds(ns, loop, n):
        barrier = ns.Barrier(parties)
        others = [loop.create_task(_barrier_party(barrier, n))
                  for _ in range(parties - 1)]
        await _barrier_party(barrier, n)
        for task in others:
            await task
    return barrier_rounds


async def taskgroup_1000(ns, loop, n):
    for _ in range(n):
        async with ns.TaskGroup() as tg:
            for _ in range(1000):
                tg.create_task(_returns())


async def gather_100(ns, loop, n):
    gather = variants.gather_of(ns)
    for _ in range(n):
        await gather(*[_returns() for _ in range(100)])


async def gather_100_tasks(ns, loop, n):
    gather = variants.gather_of(ns)
    create = loop.create_task
    for _ in range(n):
        await gather(*[create(_returns()) for _ in range(100)])


WORKLOADS = {
    "create_task returns": create_task_returns,
    "create_task suspends": create_task_suspends,
    "current_task": current_task,
    "Barrier 4 parties": _barrier(4),
    "Barrier 64 parties": _barrier(64),
    "TaskGroup 1000 children": taskgroup_1000,
    "gather 100 children": gather_100,
    "gather 100 tasks": gather_100_tasks,
}


@pytest.mark.parametrize("variant", variants.VARIANTS)
@pytest.mark.parametrize("loop_name", variants.LOOPS)
@pytest.mark.parametrize("bench", BENCHMARKS)
def test_micro(benchmark, bench, loop_name, variant):
    why = variants.available(variant, loop_name)
    if why:
        pytest.skip(why)
    ns = variants.setup(variant, loop_name)
    why = variants.missing(ns, NEEDS.get(bench, ()))
    if why:
        pytest.skip(why)
    workload, ops = WORKLOADS[bench], OPS[bench]
    loop = ns.new_loop()
    try:
        def run():
            loop.run_until_complete(workload(ns, loop, ops))

        benchmark.group = f"{bench} [{loop_name}]"
        benchmark.extra_info.update(
            suite="micro", bench=bench, loop=loop_name, variant=variant,
            ops=ops)
        benchmark(run)
    finally:
        loop.close()
        asyncio.set_event_loop(None)
