"""pyperformance's ``async_tree`` benchmarks, unmodified, with and without
fastaio.

The benchmark script (``bm_async_tree/run_benchmark.py`` of the installed
``pyperformance`` package) runs under pyperf as it does in pyperformance.
Variants, for each tree (``none``, ``memoization``, ``cpu_io_mixed``), shape
(gather, or ``--task-groups``) and loop (the stdlib's, uvloop):

``stdlib default``  the benchmark as it is;
``stdlib eager``    the benchmark's own ``eager_*`` flavour
                    (``asyncio.eager_task_factory``, 3.12+);
``fastaio install`` the benchmark as it is, with ``fastaio.install(loop)`` on
                    the loop pyperf's runner makes;
``fastaio loop``    the same with ``fastaio.new_event_loop()`` as that loop
                    (stdlib loop only).

fastaio is turned on by ``benchmarks/pyperf_hook/sitecustomize.py`` in every
pyperf process.  Rounds interleave the variants, each round starting with
another one; the figure is the median over rounds of pyperf's mean, and
each ratio is against a variant of the same run.

    python benchmarks/pyperformance_tree.py [--rounds 3] [--loops asyncio]
    (needs ``pip install pyperformance``)
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import variants

HERE = Path(__file__).resolve().parent
TREES = ("none", "memoization", "cpu_io_mixed")
SHAPES = ("gather", "tg")
VARIANTS = ("stdlib default", "stdlib eager", "fastaio install",
            "fastaio loop")


def benchmark_script():
    import pyperformance
    path = (Path(pyperformance.__file__).parent / "data-files" /
            "benchmarks" / "bm_async_tree" / "run_benchmark.py")
    if not path.exists():
        raise SystemExit(f"pyperformance has no {path}")
    return path


def available(variant, loop):
    if variant == "stdlib eager" and not hasattr(
            __import__("asyncio"), "eager_task_factory"):
        return False
    if variant == "stdlib eager" and loop == "uvloop":
        return variants.available("stdlib eager", "uvloop") is None
    if variant == "fastaio loop" and loop != "asyncio":
        return False
    return True


def run_once(script, tree, shape, variant, loop, fast):
    """pyperf's mean time (s) of one benchmark run."""
    name = tree
    if variant == "stdlib eager":
        name = "eager" if tree == "none" else f"eager_{tree}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(script), name, "--quiet", "-o", str(out),
               "--inherit-environ",
               "FASTAIO_BENCH_VARIANT,FASTAIO_BENCH_LOOP,PYTHONPATH"]
        if shape == "tg":
            cmd.append("--task-groups")
        if fast:
            # Fewer, shorter pyperf runs; the rounds of this script repeat
            # them, interleaved with the other variants.
            cmd += ["--processes", "2", "--values", "3", "--warmups", "1"]
        env = dict(os.environ, FASTAIO_BENCH_VARIANT=variant,
                   FASTAIO_BENCH_LOOP=loop,
                   PYTHONPATH=str(HERE / "pyperf_hook"))
        subprocess.run(cmd, env=env, check=True)
        data = json.loads(out.read_text())
    values = [v for run in data["benchmarks"][0]["runs"]
              for v in run.get("values", [])]
    return statistics.mean(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loops", default="asyncio,uvloop")
    ap.add_argument("--trees", default=",".join(TREES))
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--rigorous", action="store_true",
                    help="pyperf's default number of runs and values")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    script = benchmark_script()
    loops = [x for x in args.loops.split(",")
             if x != "uvloop" or variants.has_uvloop()]
    import fastaio
    print(f"CPython {platform.python_version()}, fastaio "
          f"{fastaio.__version__} ({fastaio.IMPLEMENTATION}); pyperformance "
          f"{__import__('pyperformance').__version__}: {script.parent.name}")
    results = {}
    for loop in loops:
        for shape in args.shapes.split(","):
            for tree in args.trees.split(","):
                names = [v for v in VARIANTS if available(v, loop)]
                samples = {v: [] for v in names}
                for r in range(args.rounds):
                    for v in variants.rotated(names, r):
                        samples[v].append(run_once(
                            script, tree, shape, v, loop, not args.rigorous))
                med = {v: statistics.median(s) for v, s in samples.items()}
                results[f"{loop} {shape} {tree}"] = {
                    "median_s": med, "samples_s": samples}
                line = [f"{loop:8s} {shape:6s} {tree:13s}"]
                for v in names:
                    ratio = med[v] / med["stdlib default"]
                    line.append(f"{v}: {med[v] * 1e3:8.2f} ms ({ratio:4.2f})")
                if "stdlib eager" in med:
                    for v in ("fastaio install", "fastaio loop"):
                        if v in med:
                            line.append(f"{v}/eager "
                                        f"{med[v] / med['stdlib eager']:4.2f}")
                print("  ".join(line), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
