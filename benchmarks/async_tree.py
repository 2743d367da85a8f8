"""Async-tree macro benchmark: a tree of tasks, LEVELS deep and BRANCHES
wide (6 x 6 by default: 46,656 leaves, 55,987 tasks), in two shapes and
with three kinds of leaves, under every variant of ``variants.py``.

Shapes: each inner node awaits its children with ``gather`` or spawns
them in a ``TaskGroup`` and sums their results.  ``gather`` is the one a
program gets by calling ``asyncio.gather`` under that variant: for the
fastaio variants on 3.9-3.11 that is fastaio's (``install()`` puts it into
``asyncio``), for the stdlib variants the stdlib's own.

Leaves (each returns an int; the tree's result is their sum, the same
under every variant):

``none``
    returns at once;
``memo``
    a lookup in an in-process cache that holds 90 % of the keys; a miss
    stands for an IO (``await asyncio.sleep(0)``: one trip through the
    loop) and then fills the cache;
``cpu_io``
    a little CPU work (a short integer loop), then the ``memo`` lookup.

The cache is rebuilt before every run, so every run and every variant
sees exactly the same hits and misses (leaf ``i`` misses iff
``i % 10 == 0``).

Rounds are interleaved: per (shape, leaf, loop), each round runs the tree
once under every variant, in an order rotated each round; the first
``--warmup`` rounds are discarded.  Printed (and written with ``--json``):
seconds per tree, and per variant the median, min and max over the rounds
of its time divided by the stdlib default's in the same round.

    python benchmarks/async_tree.py [--levels 6] [--branches 6]
        [--rounds 5] [--warmup 1] [--loops asyncio,uvloop] [--json F]
"""
import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import variants

SHAPES = ("gather", "TaskGroup")
LEAVES = ("none", "memo", "cpu_io")
MISS_EVERY = 10          # 1 leaf in 10 misses the cache: 90 % memoized
CPU_WORK = 40            # iterations of the cpu_io leaf's integer loop


class Tree:
    """One run's state: the cache and the workload's callables."""

    def __init__(self, ns, levels, branches, leaf):
        self.ns = ns
        self.levels = levels
        self.branches = branches
        n_leaves = branches ** levels
        self.cache = {i: i * 7 % 1000 for i in range(n_leaves)
                      if i % MISS_EVERY}
        self.leaf = getattr(self, "leaf_" + leaf)
        self.gather = variants.gather_of(ns)

    async def leaf_none(self, i):
        return 1

    async def _lookup(self, i):
        value = self.cache.get(i)
        if value is None:
            await asyncio.sleep(0)          # the IO a cache miss costs
            value = self.cache[i] = i * 7 % 1000
        return value

    async def leaf_memo(self, i):
        return await self._lookup(i)

    async def leaf_cpu_io(self, i):
        acc = i
        for k in range(CPU_WORK):
            acc = (acc * 31 + k) & 0xFFFF
        return (acc & 1) + await self._lookup(i)

    async def gather_node(self, level, index):
        if level == 0:
            return await self.leaf(index)
        base = index * self.branches
        results = await self.gather(
            *[self.gather_node(level - 1, base + b)
              for b in range(self.branches)])
        return sum(results)

    async def taskgroup_node(self, level, index):
        if level == 0:
            return await self.leaf(index)
        base = index * self.branches
        async with self.ns.TaskGroup() as tg:
            children = [tg.create_task(self.taskgroup_node(level - 1,
                                                           base + b))
                        for b in range(self.branches)]
        return sum(c.result() for c in children)

    def root(self, shape):
        node = self.gather_node if shape == "gather" else \
            self.taskgroup_node
        return node(self.levels, 0)


def run_tree(loop, ns, shape, leaf, levels, branches):
    """Run one tree on ``loop``: (seconds, result)."""
    tree = Tree(ns, levels, branches, leaf)
    gc.collect()
    t0 = time.perf_counter()
    # The root is a task of the loop (so of the variant's factory).
    result = loop.run_until_complete(tree.root(shape))
    return time.perf_counter() - t0, result


def expected(levels, branches, leaf):
    """The tree's result, computed without asyncio."""
    total = 0
    for i in range(branches ** levels):
        if leaf == "none":
            total += 1
            continue
        value = i * 7 % 1000
        if leaf == "cpu_io":
            acc = i
            for k in range(CPU_WORK):
                acc = (acc * 31 + k) & 0xFFFF
            value += acc & 1
        total += value
    return total


def cells(loops, shapes=SHAPES, leaves=LEAVES):
    for loop_name in loops:
        if loop_name == "uvloop" and not variants.has_uvloop():
            continue
        for shape in shapes:
            for leaf in leaves:
                yield shape, leaf, loop_name


def measure(shape, leaf, loop_name, levels, branches, rounds, warmup,
            log=None):
    """Interleaved rounds of one (shape, leaf, loop) over the variants."""
    setups, skipped = {}, {}
    for v in variants.VARIANTS:
        why = variants.available(v, loop_name)
        if why:
            skipped[v] = why
            continue
        ns = variants.setup(v, loop_name)
        why = variants.missing(ns, ("TaskGroup",) if shape == "TaskGroup"
                               else ())
        if why:
            skipped[v] = why
        else:
            setups[v] = ns
    loops = {v: ns.new_loop() for v, ns in setups.items()}
    try:
        times = variants.interleaved(
            list(setups),
            lambda v: run_tree(loops[v], setups[v], shape, leaf, levels,
                               branches),
            expected(levels, branches, leaf), rounds, warmup)
    finally:
        for loop in loops.values():
            loop.close()
        asyncio.set_event_loop(None)
    return times, skipped


def summarize(times):
    """Per variant: median/min/max seconds and the ratios to the stdlib
    default (and eager) within each round."""
    out = {}
    for v, ts in times.items():
        entry = {"median": statistics.median(ts), "min": min(ts),
                 "max": max(ts), "samples": ts}
        for key, ref in (("vs_default", variants.BASELINE),
                         ("vs_eager", variants.EAGER)):
            if ref in times:
                ratios = [t / b for t, b in zip(ts, times[ref])]
                entry[key] = {"median": statistics.median(ratios),
                              "min": min(ratios), "max": max(ratios)}
        out[v] = entry
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", type=int, default=6)
    parser.add_argument("--branches", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--loops", default=",".join(variants.LOOPS))
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    loops = [x for x in args.loops.split(",") if x]
    print(f"CPython {platform.python_version()}: async tree "
          f"{args.levels} levels x {args.branches} branches, "
          f"{args.rounds} rounds (+{args.warmup} warm-up)", flush=True)
    results = []
    for shape, leaf, loop_name in cells(loops):
        times, skipped = measure(shape, leaf, loop_name, args.levels,
                                 args.branches, args.rounds, args.warmup)
        summary = summarize(times)
        print(f"\n{shape} / {leaf} leaves / {loop_name} loop", flush=True)
        print(f"  {'variant':16s} {'median s':>9s} {'time ratio':>10s} "
              f"{'min-max':>13s}")
        for v, e in summary.items():
            r = e.get("vs_default")
            ratio = (f"{r['median']:10.2f} {r['min']:6.2f}-{r['max']:<6.2f}"
                     if r else f"{'-':>10s}")
            print(f"  {v:16s} {e['median']:9.4f} {ratio}", flush=True)
            results.append(dict(
                suite="tree", bench=f"tree {shape} {leaf}", loop=loop_name,
                variant=v, unit="s/tree", median=e["median"], min=e["min"],
                max=e["max"], samples=e["samples"],
                time_ratio_vs_default=e.get("vs_default"),
                time_ratio_vs_eager=e.get("vs_eager")))
        for v, why in skipped.items():
            print(f"  {v:16s} skipped: {why}", flush=True)
            results.append(dict(suite="tree", bench=f"tree {shape} {leaf}",
                                loop=loop_name, variant=v, skipped=why))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"levels": args.levels, "branches": args.branches,
             "rounds": args.rounds, "warmup": args.warmup,
             "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
