"""Task creation: fastaio against the stdlib, measured in one run.

Two workloads: a coroutine that returns without suspending, and one that
suspends once (``await asyncio.sleep(0)``); each task is created with
``loop.create_task`` and awaited.  Setups: the stdlib's default (lazy)
tasks, ``asyncio.eager_task_factory`` (3.12+), and fastaio's loop with each
available implementation of its core.  Rounds of the setups are interleaved
so that machine noise hits them alike; the first rounds are discarded as
warm-up.  Printed: the median time per task and, for each setup, the median
ratio to the stdlib default with its min-max over the rounds.

    python benchmarks/create_task.py [--tasks N] [--rounds R] [--uvloop]
"""
import argparse
import asyncio
import platform
import statistics
import time

import fastaio
import variants


async def returns():
    return None


async def suspends():
    await asyncio.sleep(0)


async def spawn_all(loop, coro_fn, n):
    create = loop.create_task
    for _ in range(n):
        await create(coro_fn())


def setups(use_uvloop):
    if use_uvloop:
        import uvloop
        base = uvloop.new_event_loop
    else:
        base = asyncio.new_event_loop
    yield "stdlib default", base
    if hasattr(asyncio, "eager_task_factory"):
        def eager():
            loop = base()
            loop.set_task_factory(asyncio.eager_task_factory)
            return loop
        yield "stdlib eager", eager
    for impl in variants.implementations():
        api = variants.fastaio_api(impl)
        if use_uvloop:
            yield f"fastaio {impl}", (lambda api=api: api.install(base()))
        else:
            yield f"fastaio {impl}", api.new_event_loop


def measure(workload, tasks, rounds, warmup, use_uvloop):
    named = list(setups(use_uvloop))
    loops = {name: make() for name, make in named}
    times = {name: [] for name, _ in named}
    try:
        for r in range(warmup + rounds):
            for name, _ in named:
                loop = loops[name]
                t0 = time.perf_counter()
                loop.run_until_complete(spawn_all(loop, workload, tasks))
                dt = (time.perf_counter() - t0) / tasks
                if r >= warmup:
                    times[name].append(dt)
    finally:
        for loop in loops.values():
            loop.close()
    return times


def report(title, times):
    base = times["stdlib default"]
    print(f"\n{title}")
    print(f"  {'setup':18s} {'median µs/task':>15s} {'ratio':>7s} "
          f"{'min-max ratio':>15s}")
    for name, ts in times.items():
        ratios = [t / b for t, b in zip(ts, base)]
        print(f"  {name:18s} {statistics.median(ts) * 1e6:15.3f} "
              f"{statistics.median(ratios):7.2f} "
              f"{min(ratios):7.2f}-{max(ratios):<7.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    print(f"CPython {platform.python_version()}, fastaio "
          f"{fastaio.__version__} (active: {fastaio.IMPLEMENTATION}), "
          f"{'uvloop' if args.uvloop else 'asyncio'} loop, "
          f"{args.tasks} tasks x {args.rounds} rounds")
    for title, fn in (("returns without suspending", returns),
                      ("suspends once", suspends)):
        report(title, measure(fn, args.tasks, args.rounds, args.warmup,
                              args.uvloop))


if __name__ == "__main__":
    main()
