"""current_task(): fastaio's compiled version against asyncio's, one run.

Inside a running task, each round times N calls of asyncio.current_task,
of fastaio's compiled current_task and, as the floor, of a C builtin that
does nothing useful (sys.getrecursionlimit): the loop and call overhead
every version pays, shown for scale.  Rounds are interleaved; printed are
the median ns/call and the median ratio asyncio/fastaio with min-max.

    python benchmarks/current_task.py [--calls N] [--rounds R] [--uvloop]
"""
import argparse
import asyncio
import platform
import statistics
import sys
import time

import fastaio
import variants


def per_call(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e9


async def measure(calls, rounds):
    stdlib = asyncio.current_task
    orig = getattr(asyncio.tasks, "_py_current_task", None)
    if not isinstance(stdlib, type(per_call)) and orig is not None \
            and sys.version_info < (3, 12):
        stdlib = orig          # install() replaced it: measure the original
    fast = variants.fastaio_api("c").current_task
    floor = sys.getrecursionlimit
    rows = {"asyncio": [], "fastaio": [], "floor": []}
    for i in range(rounds + 2):
        sample = {"asyncio": per_call(stdlib, calls),
                  "fastaio": per_call(fast, calls),
                  "floor": per_call(floor, calls)}
        if i >= 2:                                   # warm-up discarded
            for k, v in sample.items():
                rows[k].append(v)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--uvloop", action="store_true")
    args = ap.parse_args()
    if variants.fastaio_api("c") is None:
        sys.exit("fastaio's compiled core is not available: " + fastaio.WHY)
    new_loop = asyncio.new_event_loop
    if args.uvloop:
        import uvloop
        new_loop = uvloop.new_event_loop
    loop = new_loop()
    try:
        rows = loop.run_until_complete(measure(args.calls, args.rounds))
    finally:
        loop.close()
    ratio = [a / f for a, f in zip(rows["asyncio"], rows["fastaio"])]
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"CPython {platform.python_version()} "
          f"({'uvloop' if args.uvloop else 'stdlib loop'}), "
          f"{args.rounds} rounds of {args.calls} calls")
    print(f"  asyncio.current_task   {med['asyncio']:7.1f} ns/call")
    print(f"  fastaio current_task   {med['fastaio']:7.1f} ns/call")
    print(f"  floor (C no-op call)   {med['floor']:7.1f} ns/call")
    print(f"  speed-up               {statistics.median(ratio):7.1f}x "
          f"({min(ratio):.1f}-{max(ratio):.1f})")


if __name__ == "__main__":
    main()
