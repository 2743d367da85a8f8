"""TaskGroup benchmark: fastaio's group, reached the way a program reaches
it, against the group each CPython version offers, in one run.

Variants (each on the stdlib loop and on uvloop):

``reference``
    3.12+: ``asyncio.TaskGroup`` with ``asyncio.eager_task_factory``;
    3.11: ``asyncio.TaskGroup`` with the loop's default tasks;
    3.9/3.10: the ``taskgroup`` backport from PyPI with default tasks;
``stdlib default``
    ``asyncio.TaskGroup`` (3.9/3.10: the backport) with default tasks
    (3.12+ only: before that it is the reference);
``fastaio install``
    the loop the stdlib makes, with ``fastaio.install(loop)``; the program
    writes ``asyncio.TaskGroup`` (3.11+, which install() makes fastaio's)
    or ``fastaio.TaskGroup`` (3.9/3.10);
``fastaio loop``
    the same on ``fastaio.new_event_loop()`` (stdlib loop only);
``no group``
    the floor: the same children created with ``loop.create_task`` on the
    loop of ``fastaio install`` and awaited directly where still pending,
    with no TaskGroup at all (what fastaio's time would be if its group
    cost nothing).

The reference groups are asyncio's own even after install() replaced
``asyncio.TaskGroup``.

Workloads (one timed run each):

``flat returns``   ``GROUPS`` groups of 1000 children that return at once;
``flat suspends``  the same, each child awaits ``asyncio.sleep(0)`` once;
``tree none``, ``tree memo``, ``tree cpu_io``
    ``async_tree.py``'s TaskGroup tree, 5 levels of 6 branches, with its
    three kinds of leaves.

Rounds are interleaved (each round runs every variant once, in an order
rotated each round; a sample is the fastest of ``--repeat`` runs); the
first is a discarded warm-up.  Printed: median
seconds per run and, per variant, the median and min-max over the rounds of
its time divided by the reference's in the same round (lower is faster).

    python benchmarks/task_group.py [--rounds 7] [--repeat 3]
        [--loops asyncio,uvloop]
        [--workloads ...] [--json F]
"""
import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import fastaio
from fastaio import _install

import async_tree
import variants

GROUPS = 20
CHILDREN = 1000
TREE_LEVELS = 5
TREE_BRANCHES = 6
WORKLOADS = ("flat returns", "flat suspends", "tree none", "tree memo",
             "tree cpu_io")
VARIANTS = ("reference", "stdlib default", "fastaio install", "fastaio loop",
            "no group")
REFERENCE = "reference"


def _stdlib_task_group():
    """asyncio's own TaskGroup (the PyPI backport before 3.11), or why
    there is none."""
    if hasattr(asyncio, "TaskGroup"):
        return _install.asyncio_original("TaskGroup"), None
    try:
        import taskgroup
    except ImportError:
        return None, "the taskgroup backport (pip install taskgroup) " \
                     "is not installed"
    return taskgroup.TaskGroup, None


def _program_task_group():
    """The TaskGroup a program gets once fastaio is on: asyncio.TaskGroup
    as it is now (install() replaced it) on 3.11+, fastaio.TaskGroup
    before."""
    return getattr(asyncio, "TaskGroup", fastaio.TaskGroup)


def setup(variant, loop_name):
    """(new_loop, TaskGroup getter) for ``variant``, or a reason to skip."""
    if loop_name == "uvloop" and not variants.has_uvloop():
        return "uvloop is not installed"
    base = variants.base_loop_factory(loop_name)
    eager = hasattr(asyncio, "eager_task_factory")
    if variant in ("reference", "stdlib default"):
        base = variants.stdlib_loop_factory(loop_name)
        group, why = _stdlib_task_group()
        if why:
            return why
        if variant == "stdlib default" and not eager:
            return "the reference has default tasks before 3.12"
        if variant == "reference" and eager:
            why = variants.available(variants.EAGER, loop_name)
            if why:
                return why

            def new_loop():
                loop = base()
                loop.set_task_factory(asyncio.eager_task_factory)
                return loop
            return new_loop, (lambda: group)
        return base, (lambda: group)
    if variant == "fastaio install":
        return (lambda: fastaio.install(base())), _program_task_group
    if variant == "fastaio loop":
        if loop_name != "asyncio":
            return "fastaio's own loop is the stdlib loop's class"
        return fastaio.new_event_loop, _program_task_group
    if variant == "no group":
        return (lambda: fastaio.install(base())), (lambda: NoGroup)
    raise ValueError(variant)


class NoGroup:
    """Stands for "no TaskGroup": the workloads then create the children
    with ``loop.create_task`` and await those still pending."""


async def _await_pending(tasks):
    for task in tasks:
        if not task.done():
            await task


class _GrouplessTree(async_tree.Tree):
    async def taskgroup_node(self, level, index):
        if level == 0:
            return await self.leaf(index)
        base = index * self.branches
        create = asyncio.get_running_loop().create_task
        children = [create(self.taskgroup_node(level - 1, base + b))
                    for b in range(self.branches)]
        await _await_pending(children)
        return sum(c.result() for c in children)


async def flat_groupless(child):
    create = asyncio.get_running_loop().create_task
    for _ in range(GROUPS):
        await _await_pending([create(child()) for _ in range(CHILDREN)])
    return GROUPS * CHILDREN


async def _returns():
    return 1


async def _suspends():
    await asyncio.sleep(0)
    return 1


async def flat(task_group, child):
    for _ in range(GROUPS):
        async with task_group() as tg:
            for _ in range(CHILDREN):
                tg.create_task(child())
    return GROUPS * CHILDREN


def run_workload(loop, workload, task_group):
    """Run ``workload`` once on ``loop``: (seconds, result)."""
    if workload.startswith("flat "):
        child = _returns if workload == "flat returns" else _suspends
        coro = flat_groupless(child) if task_group is NoGroup \
            else flat(task_group, child)
    else:
        tree_class = _GrouplessTree if task_group is NoGroup \
            else async_tree.Tree
        tree = tree_class(
            types.SimpleNamespace(TaskGroup=task_group, gather=None),
            TREE_LEVELS, TREE_BRANCHES, workload.split()[1])
        coro = tree.root("TaskGroup")
    gc.collect()
    t0 = time.perf_counter()
    result = loop.run_until_complete(coro)
    return time.perf_counter() - t0, result


def expected(workload):
    if workload.startswith("flat "):
        return GROUPS * CHILDREN
    return async_tree.expected(TREE_LEVELS, TREE_BRANCHES,
                               workload.split()[1])


def measure(workload, loop_name, rounds, warmup, repeat):
    setups, skipped = {}, {}
    for v in VARIANTS:
        s = setup(v, loop_name)
        if isinstance(s, str):
            skipped[v] = s
        else:
            setups[v] = s
    loops = {v: new_loop() for v, (new_loop, _) in setups.items()}
    groups = {v: get() for v, (_, get) in setups.items()}
    try:
        times = variants.interleaved(
            list(setups),
            lambda v: run_workload(loops[v], workload, groups[v]),
            expected(workload), rounds, warmup, repeat)
    finally:
        for loop in loops.values():
            loop.close()
        asyncio.set_event_loop(None)
    return times, skipped, groups


def summarize(times):
    out = {}
    for v, ts in times.items():
        entry = {"median": statistics.median(ts), "min": min(ts),
                 "max": max(ts), "samples": ts}
        if REFERENCE in times:
            rs = [t / b for t, b in zip(ts, times[REFERENCE])]
            entry["vs_reference"] = {"median": statistics.median(rs),
                                     "min": min(rs), "max": max(rs)}
        out[v] = entry
    return out


def _group_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per sample, the fastest counts")
    ap.add_argument("--loops", default=",".join(variants.LOOPS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0 or args.repeat < 1:
        ap.error("--rounds and --repeat must be at least 1, --warmup at "
                 "least 0")
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r}; choose from {WORKLOADS}")
    print(f"CPython {platform.python_version()}, fastaio "
          f"{fastaio.__version__} ({fastaio.IMPLEMENTATION}): TaskGroup, "
          f"{args.rounds} rounds (+{args.warmup} warm-up); time ratio to "
          f"the reference, lower is faster", flush=True)
    results = []
    for loop_name in [x for x in args.loops.split(",") if x]:
        for workload in workloads:
            times, skipped, groups = measure(workload, loop_name,
                                             args.rounds, args.warmup,
                                             args.repeat)
            summary = summarize(times)
            print(f"\n{workload} / {loop_name} loop", flush=True)
            for v, e in summary.items():
                r = e.get("vs_reference")
                ratio = (f"{r['median']:6.2f} ({r['min']:.2f}-"
                         f"{r['max']:.2f})" if r else "     -")
                print(f"  {v:16s} {e['median'] * 1e3:9.2f} ms  {ratio}  "
                      f"{_group_name(groups[v])}", flush=True)
                results.append(dict(
                    workload=workload, loop=loop_name, variant=v,
                    task_group=_group_name(groups[v]), **e))
            for v, why in skipped.items():
                print(f"  {v:16s} skipped: {why}", flush=True)
                results.append(dict(workload=workload, loop=loop_name,
                                    variant=v, skipped=why))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"python": platform.python_version(), "rounds": args.rounds,
             "repeat": args.repeat, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
