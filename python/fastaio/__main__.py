"""python -m fastaio: which implementation of fastaio is active, and a short
side-by-side timing of the stdlib and fastaio on this interpreter."""
import argparse
import asyncio
import platform
import sys
import time

import fastaio
from fastaio import _pycore
from fastaio._loops import event_loop_class_core


async def _returns():
    return None


async def _suspends():
    await asyncio.sleep(0)


async def _create_and_await(loop, n, coro):
    create = loop.create_task
    for _ in range(n):
        await create(coro())


async def _gather_tens(loop, n, coro):
    for _ in range(n // 10):
        await asyncio.gather(*[coro() for _ in range(10)])


# name -> (workload, the coroutine function of its tasks)
WORKLOADS = {
    "create and await a task that returns at once":
        (_create_and_await, _returns),
    "create and await a task that suspends once":
        (_create_and_await, _suspends),
    "gather 10 coroutines that return at once":
        (_gather_tens, _returns),
}


def _best_time(make_loop, workload, coro, n, rounds):
    """Best time per task (µs) over ``rounds`` rounds of ``n`` tasks."""
    loop = make_loop()
    try:
        loop.run_until_complete(workload(loop, min(n, 1000), coro))  # warm-up
        best = None
        for _ in range(rounds):
            t0 = time.perf_counter()
            loop.run_until_complete(workload(loop, n, coro))
            elapsed = time.perf_counter() - t0
            best = elapsed if best is None else min(best, elapsed)
    finally:
        loop.close()
    return best / n * 1e6


def _eager_loop():
    loop = asyncio.new_event_loop()
    loop.set_task_factory(asyncio.eager_task_factory)
    return loop


def _setups():
    yield "stdlib, default tasks", asyncio.new_event_loop
    if hasattr(asyncio, "eager_task_factory"):
        yield "stdlib, eager_task_factory", _eager_loop
    yield f"fastaio ({fastaio.IMPLEMENTATION})", fastaio.new_event_loop
    if fastaio.IMPLEMENTATION != "python":
        yield "fastaio (python)", event_loop_class_core(_pycore)


def _at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be at least {minimum}, not {value}")
        return value
    return parse


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m fastaio",
        description="Show which implementation of fastaio is active and "
                    "time fastaio against the stdlib on this interpreter.")
    parser.add_argument("-n", type=_at_least(10), default=20000,
                        metavar="TASKS",
                        help="tasks per round, at least 10 (default: "
                             "%(default)s)")
    parser.add_argument("--rounds", type=_at_least(1), default=5,
                        help="rounds per setup, at least 1; the best round "
                             "counts (default: %(default)s)")
    parser.add_argument("--version", action="version",
                        version=f"fastaio {fastaio.__version__}")
    args = parser.parse_args(argv)

    print(f"fastaio {fastaio.__version__} on "
          f"{platform.python_implementation()} {platform.python_version()} "
          f"({sys.platform})")
    print(f"implementation: {fastaio.IMPLEMENTATION} ({fastaio.WHY})")
    setups = list(_setups())
    for title, (workload, coro) in WORKLOADS.items():
        print()
        print(f"{title}: {args.n} tasks, best of {args.rounds} rounds")
        results = [(name, _best_time(make, workload, coro, args.n,
                                     args.rounds))
                   for name, make in setups]
        base = results[0][1]
        for name, us in results:
            speedup = base / us
            print(f"  {name:28s} {us:7.3f} µs per task  "
                  f"{speedup:5.2f}× the speed of the stdlib's default")
    return 0


if __name__ == "__main__":
    sys.exit(main())
