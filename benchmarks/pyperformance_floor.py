"""How much of pyperformance's ``async_tree`` is the leaves' own work.

The tree classes of the installed pyperformance (``bm_async_tree``,
unmodified) run in this process on the stdlib loop, one after another in
every round:

``eager``    the benchmark's ``eager_*`` flavour (3.12+), or the plain
             benchmark before 3.12;
``install``  the plain benchmark with ``fastaio.install(loop)``;
``tasks``    (3.12+) the plain benchmark on the stdlib's tasks with
             nothing around them: each node makes its children itself as
             ``asyncio.Task(coro, loop=loop, eager_start=True)`` and awaits
             them one after the other; no task factory, no gather.  This is
             what CPython's own Task costs for this tree, the part that any
             implementation keeping its tasks exact ``asyncio.Task``
             objects pays;
``gathered`` (3.12+) as ``tasks``, but each node awaits
             ``asyncio.gather(*children)``, on a loop after
             ``fastaio.install(loop)``: fastaio's gather over CPython's
             tasks, that is ``install`` without fastaio's task factory;
``leaves``   the same tree without tasks: each node awaits its children's
             coroutines one after the other, and a leaf's sleep returns at
             once.

A tree with tasks also waits, at its end, for the last sleep it started
(the benchmark's ``IO_SLEEP_TIME``), which no task implementation shortens:
``leaves + sleep`` adds that wait to ``leaves``.  Printed: the median time
of each over the rounds, and its share of ``eager``.

    python benchmarks/pyperformance_floor.py [--tree cpu_io_mixed] [--rounds 15]
    (needs ``pip install pyperformance``)
"""
import argparse
import asyncio
import importlib.util
import platform
import statistics
import sys
import sysconfig
import time

from pyperformance_tree import benchmark_script


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bm_async_tree",
                                                  benchmark_script())
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def leaves_only(bm, base):
    class Leaves(base):
        async def mock_io_call(self):
            return

        async def recurse_with_gather(self, recurse_level):
            if recurse_level == 0:
                await self.workload_func()
                return
            for child in [self.recurse_with_gather(recurse_level - 1)
                          for _ in range(bm.NUM_RECURSE_BRANCHES)]:
                await child
    return Leaves


def _children(tree, bm, recurse_level):
    """A node's children as CPython's own tasks, started eagerly."""
    loop = asyncio.get_running_loop()
    return [asyncio.Task(tree.recurse_with_gather(recurse_level - 1),
                         loop=loop, eager_start=True)
            for _ in range(bm.NUM_RECURSE_BRANCHES)]


def bare_tasks(bm, base):
    class BareTasks(base):
        async def recurse_with_gather(self, recurse_level):
            if recurse_level == 0:
                await self.workload_func()
                return
            for child in _children(self, bm, recurse_level):
                await child
    return BareTasks


def gathered_tasks(bm, base):
    class GatheredTasks(base):
        async def recurse_with_gather(self, recurse_level):
            if recurse_level == 0:
                await self.workload_func()
                return
            await asyncio.gather(*_children(self, bm, recurse_level))
    return GatheredTasks


def run_once(tree, install):
    import fastaio
    loop = asyncio.new_event_loop()
    if install:
        fastaio.install(loop)
    try:
        start = time.perf_counter()
        loop.run_until_complete(tree.run())
        return time.perf_counter() - start
    finally:
        loop.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", default="cpu_io_mixed",
                    choices=("none", "memoization", "cpu_io_mixed"))
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    bm = load_benchmark()
    plain = bm.BENCHMARKS[args.tree]
    eager_name = "eager" if args.tree == "none" else f"eager_{args.tree}"
    eager = (bm.BENCHMARKS[eager_name]
             if hasattr(asyncio, "eager_task_factory") else plain)
    trees = {"eager": (eager(), False), "install": (plain(), True)}
    if hasattr(asyncio, "eager_task_factory"):
        trees["tasks"] = (bare_tasks(bm, plain)(), False)
        trees["gathered"] = (gathered_tasks(bm, plain)(), True)
    trees["leaves"] = (leaves_only(bm, plain)(), False)
    times = {name: [] for name in trees}
    for r in range(args.rounds + 1):   # the first round warms up
        for name, (tree, install) in trees.items():
            t = run_once(tree, install)
            if r:
                times[name].append(t)
    import fastaio
    build = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    print(f"CPython {platform.python_version()}{build}, fastaio "
          f"{fastaio.__version__} ({fastaio.IMPLEMENTATION}), stdlib loop; "
          f"{args.tree}, median of {args.rounds} rounds")
    med = {name: statistics.median(t) for name, t in times.items()}
    med["leaves + sleep"] = med["leaves"] + bm.IO_SLEEP_TIME
    for name, value in med.items():
        print(f"  {name:15s} {value * 1e3:8.1f} ms  "
              f"{value / med['eager']:5.3f} of eager")
    return 0


if __name__ == "__main__":
    sys.exit(main())
