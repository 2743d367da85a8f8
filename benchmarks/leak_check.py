"""A million eager tasks that complete, fail, or are cancelled, alone or
under ``asyncio.gather`` (fastaio's on 3.9-3.11): does anything stay behind?

Runs the workload in chunks on fastaio's loop and prints, after each chunk,
the gc object count and the tracemalloc-traced memory relative to the end
of the first chunk (the warm-up).  Flat columns mean no leak.

    python benchmarks/leak_check.py [--tasks N] [--chunks K] [--impl c|python]
"""
import argparse
import asyncio
import gc
import platform
import tracemalloc

import fastaio
import variants


async def done():
    return 1


async def fails():
    raise ValueError


async def suspends():
    await asyncio.sleep(0)


async def churn(n):
    loop = asyncio.get_running_loop()
    for i in range(n):
        kind = i % 5
        if kind == 0:
            await loop.create_task(done())
        elif kind == 1:
            try:
                await loop.create_task(fails())
            except ValueError:
                pass
        elif kind == 2:
            t = loop.create_task(suspends())
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                pass
        elif kind == 3:
            await asyncio.gather(done(), fails(), return_exceptions=True)
        else:
            g = asyncio.gather(done(), suspends())
            g.cancel()
            try:
                await g
            except asyncio.CancelledError:
                pass


async def main(tasks, chunks):
    per_chunk = tasks // chunks
    tracemalloc.start()
    base = None
    for chunk in range(chunks):
        await churn(per_chunk)
        gc.collect()
        now = (len(gc.get_objects()), tracemalloc.get_traced_memory()[0])
        if base is None:
            base = now
        print(f"  after {(chunk + 1) * per_chunk:>9} tasks: "
              f"objects {now[0] - base[0]:+6d}   "
              f"traced bytes {now[1] - base[1]:+9d}")
    tracemalloc.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--chunks", type=int, default=5)
    ap.add_argument("--impl", default=fastaio.IMPLEMENTATION,
                    choices=variants.implementations())
    args = ap.parse_args()
    print(f"CPython {platform.python_version()}, fastaio {args.impl}")
    loop = variants.fastaio_api(args.impl).new_event_loop()
    try:
        loop.run_until_complete(main(args.tasks, args.chunks))
    finally:
        loop.close()
