"""Is ``timeout()`` on the hot path of a request?  Its cost per block
against the asyncio work of one request, in one run.

A request here is the handler of ``server.py`` without HTTP: a gather of
FANOUT fetches of which one in ten suspends once.  Each setup handles
``--requests`` such requests one after the other on a stdlib loop where
``fastaio.install(loop)`` ran:

``no timeout``          the handler alone (the reference);
``asyncio.timeout``     each request inside ``async with asyncio.timeout(30)``
                        (3.11+);
``fastaio.timeout``     the same with fastaio's ``timeout()`` (Python code
                        in both implementations of the core);
``bare asyncio.timeout`` / ``bare fastaio.timeout``
                        ``async with ...timeout(30): pass`` alone, the cost of
                        one block with nothing inside.

Rounds are interleaved (rotated order, the first discarded).  Printed per
setup: median microseconds per request and the median (min-max) of its time
divided by the reference's in the same round: what a timeout around every
request adds, as a fraction of the request's asyncio work.  Everything a
real server does besides (parsing, writing to the socket) is left out, so
the fraction is an upper bound.

    python benchmarks/timeout_cost.py [--requests 2000] [--rounds 9] [--uvloop]
"""
import argparse
import asyncio
import platform
import statistics
import time

import fastaio
import server
import variants


async def _handler():
    return await asyncio.gather(
        *[server.fetch(f"key{i}") for i in range(server.FANOUT)])


def setups():
    """(name, async function of n) for every setup available here."""
    async def plain(n):
        for _ in range(n):
            await _handler()

    def with_timeout(timeout):
        async def run(n):
            for _ in range(n):
                async with timeout(30):
                    await _handler()
        return run

    def bare(timeout):
        async def run(n):
            for _ in range(n):
                async with timeout(30):
                    pass
        return run

    yield "no timeout", plain
    timeouts = []
    if hasattr(asyncio, "timeout"):
        timeouts.append(("asyncio.timeout", asyncio.timeout))
    timeouts.append(("fastaio.timeout", fastaio.timeout))
    for name, timeout in timeouts:
        yield name, with_timeout(timeout)
    for name, timeout in timeouts:
        yield "bare " + name, bare(timeout)


def measure(loop, n, rounds, warmup):
    named = dict(setups())

    def run_once(name):
        t0 = time.perf_counter()
        loop.run_until_complete(named[name](n))
        return time.perf_counter() - t0, None

    return variants.interleaved(list(named), run_once, None, rounds, warmup)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--uvloop", action="store_true")
    args = ap.parse_args(argv)
    if args.requests < 1 or args.rounds < 1 or args.warmup < 0:
        ap.error("--requests and --rounds must be at least 1, --warmup at "
                 "least 0")
    if args.uvloop:
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    fastaio.install(loop)
    print(f"CPython {platform.python_version()}, fastaio "
          f"{fastaio.__version__} ({fastaio.IMPLEMENTATION}), "
          f"{type(loop).__module__}.{type(loop).__name__} with "
          f"fastaio.install(loop); {args.requests} requests x {args.rounds} "
          f"rounds; ratio = setup time / no-timeout time (lower is faster)")
    try:
        times = measure(loop, args.requests, args.rounds, args.warmup)
    finally:
        loop.close()
    ref = times["no timeout"]
    print(f"  {'setup':<34}{'us/request':>11}{'ratio':>8}{'min-max':>14}")
    for name, ts in times.items():
        ratios = [t / b for t, b in zip(ts, ref)]
        print(f"  {name:<34}"
              f"{statistics.median(ts) / args.requests * 1e6:>11.2f}"
              f"{statistics.median(ratios):>8.3f}"
              f"{min(ratios):>7.3f}-{max(ratios):<6.3f}")


if __name__ == "__main__":
    main()
