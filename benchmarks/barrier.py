"""Barrier rounds: fastaio's Barrier against asyncio.Barrier, in one run.

``parties`` tasks each pass the same barrier ``--cycles`` times in a row
(``await barrier.wait()`` in a loop); the time per barrier round is the
elapsed time divided by the cycles.  All barriers run on the same kind of
loop with the interpreter's own tasks (the stdlib loop, or uvloop with
``--uvloop``), so only the barrier differs.  Setups: asyncio.Barrier (3.11+)
and each available implementation of fastaio's core.  Measurements of the
setups are interleaved so that machine noise hits them alike; the first are
discarded as warm-up.  Printed, per party count: the median time per round
and, per setup, the median ratio of the reference's time to the setup's time
(above 1: faster than the reference) with its min-max over the measurements.
The reference is asyncio.Barrier where it exists, else fastaio's pure-Python
Barrier.

    python benchmarks/barrier.py [--parties 4,64] [--cycles N] [--rounds R]
                                 [--uvloop]
"""
import argparse
import asyncio
import platform
import statistics
import time

import fastaio
import variants


def setups():
    if hasattr(asyncio, "Barrier"):
        yield "asyncio.Barrier", asyncio.Barrier
    for impl in variants.implementations():
        api = variants.fastaio_api(impl)
        yield f"fastaio {impl}", api.Barrier


async def cycles(barrier_cls, parties, n):
    barrier = barrier_cls(parties)

    async def party():
        wait = barrier.wait
        for _ in range(n):
            await wait()

    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(party()) for _ in range(parties)]
    start = time.perf_counter()
    await asyncio.gather(*tasks)
    return time.perf_counter() - start


def measure(loop, parties, n, rounds, warmup):
    named = list(setups())
    times = {name: [] for name, _ in named}
    for r in range(warmup + rounds):
        for name, cls in named:
            elapsed = loop.run_until_complete(cycles(cls, parties, n))
            if r >= warmup:
                times[name].append(elapsed / n)
    return named[0][0], times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parties", default="4,64",
                        help="comma-separated party counts (default 4,64)")
    parser.add_argument("--cycles", type=int, default=0,
                        help="barrier rounds per measurement "
                             "(default: 20000 // parties, at least 200)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()

    if args.uvloop:
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    print(f"Python {platform.python_version()} "
          f"({platform.python_implementation()}), "
          f"fastaio {fastaio.__version__} ({fastaio.IMPLEMENTATION} active), "
          f"loop {type(loop).__module__}.{type(loop).__name__}")
    try:
        for parties in (int(p) for p in args.parties.split(",")):
            n = args.cycles or max(200, 20000 // parties)
            ref, times = measure(loop, parties, n, args.rounds, args.warmup)
            print(f"\n{parties} parties, {n} rounds x {args.rounds} "
                  f"measurements; ratio = {ref} time / setup time")
            print(f"  {'setup':<18}{'us/round':>10}{'ratio':>9}"
                  f"{'min-max':>16}")
            for name, ts in times.items():
                ratios = [a / b for a, b in zip(times[ref], ts)]
                print(f"  {name:<18}{statistics.median(ts) * 1e6:>10.2f}"
                      f"{statistics.median(ratios):>9.2f}"
                      f"{min(ratios):>8.2f}-{max(ratios):<7.2f}")
    finally:
        loop.close()


if __name__ == "__main__":
    main()
