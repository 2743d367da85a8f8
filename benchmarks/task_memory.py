"""Memory per pending task: fastaio's tasks against the stdlib's.

Creates N tasks that each wait on one shared future, and reports the
tracemalloc-traced bytes per task while they are pending (the coroutine
and its frame included, the same for every setup), for the stdlib's default
tasks and fastaio's loop with each implementation of its core.

    python benchmarks/task_memory.py [--tasks N]
"""
import argparse
import asyncio
import gc
import platform
import tracemalloc

import variants


async def waits(fut):
    await fut


async def pending_bytes(n):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tasks = [loop.create_task(waits(fut)) for _ in range(n)]
        await asyncio.sleep(0)                      # lazy tasks: first step
        assert not any(t.done() for t in tasks)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    fut.set_result(None)
    await asyncio.gather(*tasks)
    return used / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=20_000)
    args = ap.parse_args()
    setups = [("stdlib default", asyncio.new_event_loop)]
    if hasattr(asyncio, "eager_task_factory"):
        def eager():
            loop = asyncio.new_event_loop()
            loop.set_task_factory(asyncio.eager_task_factory)
            return loop
        setups.append(("stdlib eager", eager))
    for name in variants.implementations():
        api = variants.fastaio_api(name)
        setups.append((f"fastaio {name}", api.new_event_loop))
    print(f"CPython {platform.python_version()}, {args.tasks} pending tasks")
    base = None
    for label, make in setups:
        loop = make()
        try:
            per_task = loop.run_until_complete(pending_bytes(args.tasks))
        finally:
            loop.close()
        base = base or per_task
        print(f"  {label:16s} {per_task:7.0f} bytes/task  "
              f"{per_task / base:5.2f}x")


if __name__ == "__main__":
    main()
