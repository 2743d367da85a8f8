"""``python -m fastaio``: which implementation is active, and a short
side-by-side timing of the stdlib and fastaio on this interpreter."""
import argparse
import asyncio
import platform
import sys
import time

import fastaio
from fastaio import _pycore
from fastaio._loops import event_loop_class_core


async def _leaf():
    return None


async def _spawn_many(create, n):
    for _ in range(n):
        await create(_leaf())


def _time_setup(name, make_loop, n, rounds):
    """Best time per task (µs) of ``rounds`` rounds of ``n`` create+await."""
    best = float("inf")
    loop = make_loop()
    try:
        create = loop.create_task
        loop.run_until_complete(_spawn_many(create, 1000))     # warm-up
        for _ in range(rounds):
            t0 = time.perf_counter()
            loop.run_until_complete(_spawn_many(create, n))
            best = min(best, time.perf_counter() - t0)
    finally:
        loop.close()
    return name, best / n * 1e6


def _setups():
    yield "stdlib (lazy tasks)", asyncio.new_event_loop
    if hasattr(asyncio, "eager_task_factory"):
        def eager_loop():
            loop = asyncio.new_event_loop()
            loop.set_task_factory(asyncio.eager_task_factory)
            return loop
        yield "stdlib eager_task_factory", eager_loop
    yield f"fastaio ({fastaio.IMPLEMENTATION})", fastaio.new_event_loop
    if fastaio.IMPLEMENTATION != "python":
        yield "fastaio (python)", event_loop_class_core(_pycore)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastaio",
                                     description=__doc__)
    parser.add_argument("-n", type=int, default=20000,
                        help="tasks per round (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds per setup; the best is shown")
    args = parser.parse_args(argv)

    print(f"fastaio {fastaio.__version__} on {platform.python_implementation()}"
          f" {platform.python_version()} ({sys.platform})")
    print(f"implementation: {fastaio.IMPLEMENTATION} ({fastaio.WHY})")
    print()
    print(f"create a task whose coroutine returns at once, then await it "
          f"({args.n} tasks, best of {args.rounds}):")
    results = [_time_setup(name, make, args.n, args.rounds)
               for name, make in _setups()]
    base = results[0][1]
    for name, us in results:
        print(f"  {name:28s} {us:7.3f} µs/task  {us / base:5.2f}× stdlib")
    return 0


if __name__ == "__main__":
    sys.exit(main())
