#!/usr/bin/env python3
"""Run fastaio's benchmark suite on every CPython found; write
``benchmarks/results/results.json`` and ``speedups.png``.

    python3 benchmarks/run.py                    # everything (~17 min, 5 interpreters)
    python3 benchmarks/run.py --quick            # a smoke run (~4 min)
    python3 benchmarks/run.py --only micro,tree --python 3.13

Interpreters are those of the test matrix (``tests/matrix.py``): the newest
pyenv 3.9-3.13 and ``python3.14``, ``python3.14t``, ``python3.15`` on PATH;
``--python`` takes labels (``3.12``) or paths.  Each gets a venv under
``build/bench/<label>`` with pytest-benchmark, aiohttp and uvloop (where a
wheel exists); fastaio is rebuilt from this checkout with its compiled core
at every run, so re-running after a change of the core is this command.

Suites: ``micro`` (``test_micro.py`` under pytest-benchmark, one pytest run
per round), ``tree`` (``async_tree.py``) and ``server`` (``server.py``
loaded by wrk on 127.0.0.1).  Every variant runs in every round, in a
rotated order; warm-up is discarded; each figure is the median over the
rounds of the ratio to the stdlib default measured in the same round, with
its min-max.  See ``benchmarks/README.md``.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
import report  # noqa: E402

WORK = ROOT / "build" / "bench"
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
DEPS = ["pytest>=7.4", "pytest-benchmark>=4", "aiohttp>=3.9"]
DRIVER_DEPS = ["matplotlib>=3.5"]
BASELINE, EAGER = "stdlib default", "stdlib eager"
SUITES = ("micro", "tree", "server")

# Settings per mode.  Server: wrk threads, connections, seconds per run;
# warm-up runs (discarded) are shorter.
SETTINGS = {
    "full": dict(micro_rounds=5, micro_max_time=0.1, tree_levels=6,
                 tree_branches=6, tree_rounds=3, tree_warmup=1,
                 wrk_threads=2, wrk_connections=64, wrk_seconds=4,
                 wrk_warmup_seconds=1, server_rounds=5, server_warmup=1),
    "quick": dict(micro_rounds=2, micro_max_time=0.03, tree_levels=4,
                  tree_branches=6, tree_rounds=2, tree_warmup=1,
                  wrk_threads=2, wrk_connections=64, wrk_seconds=2,
                  wrk_warmup_seconds=1, server_rounds=2, server_warmup=1),
}
SERVER_VARIANTS = (BASELINE, EAGER, "fastaio c")
ALL_VARIANTS = (BASELINE, EAGER, "fastaio c", "fastaio python")


def log(msg):
    print(f"[bench] {msg}", flush=True)


def run(cmd, timeout=None, **kw):
    kw.setdefault("cwd", ROOT)
    return subprocess.run(cmd, timeout=timeout, **kw)


def pip_env():
    env = dict(os.environ, PIP_CONSTRAINT=str(CONSTRAINTS),
               PIP_BUILD_CONSTRAINT=str(CONSTRAINTS),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    for name in ("FASTAIO_NO_EXTENSIONS", "PYTHONPATH"):
        env.pop(name, None)
    return env


# ---------------------------------------------------------------- machine

def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable,
            "kernel": f"{platform.system()} {platform.release()}",
            "platform": platform.platform(), "arch": platform.machine()}


def git_info():
    def git(*args):
        p = run(["git", *args], capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--", "python",
                              "src", "setup.py", "pyproject.toml"))}


# ------------------------------------------------------------------ venvs

def venv_python(venv):
    return str(venv / "bin" / "python")


def ensure_venv(label, python, deps, env):
    """A venv under build/bench/<label> with ``deps``; kept between runs
    (a marker records what was installed)."""
    venv = WORK / label
    marker = venv / ".bench-deps"
    want = json.dumps({"python": python, "deps": deps})
    vpy = venv_python(venv)
    if marker.exists() and marker.read_text() == want and \
            Path(vpy).exists():
        return vpy, True
    shutil.rmtree(venv, ignore_errors=True)
    run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [vpy, "-m", "pip", "install", "-q"]
    run(pip + ["--upgrade", "pip"], env=env, timeout=600)
    if run(pip + deps, env=env, timeout=1200).returncode != 0:
        raise RuntimeError(f"pip install {' '.join(deps)} failed")
    marker.write_text(want)
    return vpy, False


INFO_CODE = r"""
import json, platform, sys, sysconfig
info = {"version": sys.version, "version_short": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": " ".join(platform.python_build()),
        "compiler": platform.python_compiler(),
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "config_args": sysconfig.get_config_var("CONFIG_ARGS") or ""}
flags = info["config_args"]
info["optimizations"] = [f for f in ("--enable-optimizations", "--with-lto")
                         if f in flags]
try:
    import fastaio
    import variants
    info["fastaio"] = {"version": fastaio.__version__,
                       "active": fastaio.IMPLEMENTATION, "why": fastaio.WHY,
                       "implementations": variants.implementations()}
except Exception as exc:
    info["fastaio"] = {"error": repr(exc)}
import variants
info["variants"] = {loop: variants.variants(loop) for loop in variants.LOOPS}
info["unavailable"] = {
    f"{v} on {loop}": variants.available(v, loop)
    for loop in variants.LOOPS for v in variants.VARIANTS
    if variants.available(v, loop)}
for mod in ("uvloop", "aiohttp", "pytest_benchmark"):
    try:
        m = __import__(mod)
        info[mod] = getattr(m, "__version__", "?")
    except Exception:
        info[mod] = None
print(json.dumps(info))
"""


def prepare_interpreter(label, python):
    env = pip_env()
    vpy, reused = ensure_venv(label, python, DEPS, env)
    log(f"{label}: venv {'reused' if reused else 'created'}: {vpy}")
    pip = [vpy, "-m", "pip", "install", "-q"]
    if not reused:
        run(pip + ["--only-binary", ":all:", "uvloop>=0.19"], env=env,
            timeout=600)
    # fastaio from this checkout, with its compiled core, at every run.
    if run(pip + ["--force-reinstall", "."], env=env,
           timeout=1200).returncode != 0:
        raise RuntimeError("pip install . failed")
    proc = run([vpy, "-c", INFO_CODE], capture_output=True, text=True,
               env=env, cwd=HERE, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    info = json.loads(proc.stdout)
    info["executable"] = python
    if "c" not in info["fastaio"].get("implementations", []):
        log(f"{label}: WARNING: fastaio's compiled core is not in use: "
            f"{info['fastaio']}")
    return vpy, info


# --------------------------------------------------------------- summaries

def spread(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values)}


def compare(samples, higher_is_better=False):
    """``samples``: variant -> per-round values (aligned by round).  Per
    variant: median/min/max of the values and of the per-round speed-ups
    over the stdlib default and eager (speed-up > 1: faster)."""
    out = {}
    for v, xs in samples.items():
        entry = dict(spread(xs), rounds=len(xs), samples=xs)
        for key, ref in (("speedup_vs_default", BASELINE),
                         ("speedup_vs_eager", EAGER)):
            if ref in samples and len(samples[ref]) == len(xs):
                ratios = [(x / b if higher_is_better else b / x)
                          for x, b in zip(xs, samples[ref])]
                entry[key] = spread(ratios)
        out[v] = entry
    return out


def add_results(results, suite, bench, loop, samples, unit,
                higher_is_better=False, skipped=None, extra=None):
    for v, entry in compare(samples, higher_is_better).items():
        results.append(dict(suite=suite, bench=bench, loop=loop, variant=v,
                            unit=unit, **entry, **(extra or {})))
    for v, why in (skipped or {}).items():
        results.append(dict(suite=suite, bench=bench, loop=loop, variant=v,
                            skipped=why))


# ------------------------------------------------------------------ micro

def run_micro(label, vpy, s, raw, unavailable):
    per_round = {}            # (bench, loop, variant) -> [s/op per round]
    skipped = {}
    for r in range(s["micro_rounds"]):
        out = raw / f"micro-{r}.json"
        cmd = [vpy, "-m", "pytest", "benchmarks/test_micro.py", "-q",
               "-p", "no:cacheprovider", "-rs", "--benchmark-only",
               f"--benchmark-json={out}", "--benchmark-warmup=on",
               "--benchmark-warmup-iterations=3",
               "--benchmark-min-rounds=5",
               f"--benchmark-max-time={s['micro_max_time']}",
               "--benchmark-columns=median,min,max,rounds",
               "--benchmark-sort=name", f"--bench-round={r}"]
        log(f"{label}: micro round {r + 1}/{s['micro_rounds']}")
        proc = run(cmd, capture_output=True, text=True, timeout=1800,
                   env=pip_env())
        (raw / f"micro-{r}.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode not in (0,) or not out.exists():
            raise RuntimeError(f"micro round {r} failed "
                               f"(exit {proc.returncode}): "
                               f"{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
        for b in json.loads(out.read_text())["benchmarks"]:
            x = b["extra_info"]
            key = (x["bench"], x["loop"], x["variant"])
            per_round.setdefault(key, []).append(
                b["stats"]["median"] / x["ops"])
        for m in re.finditer(r"SKIPPED \[\d+\] \S+ (.*)", proc.stdout):
            skipped.setdefault(m.group(1).strip(), 0)
    results = []
    blocks = {}
    for (bench, loop, v), xs in per_round.items():
        blocks.setdefault((bench, loop), {})[v] = xs
    for (bench, loop), samples in blocks.items():
        not_run = {v: unavailable.get(f"{v} on {loop}") or
                   "no such API in asyncio on this Python"
                   for v in ALL_VARIANTS if v not in samples}
        add_results(results, "micro", bench, loop, samples, "s/op",
                    skipped=not_run)
    return results, sorted(skipped)


# ------------------------------------------------------------------- tree

def run_tree(label, vpy, s, raw, loops):
    out = raw / "tree.json"
    cmd = [vpy, "benchmarks/async_tree.py", "--levels",
           str(s["tree_levels"]), "--branches", str(s["tree_branches"]),
           "--rounds", str(s["tree_rounds"]), "--warmup",
           str(s["tree_warmup"]), "--loops", ",".join(loops),
           "--json", str(out)]
    log(f"{label}: async tree {s['tree_levels']}x{s['tree_branches']}")
    proc = run(cmd, capture_output=True, text=True, timeout=3600,
               env=pip_env())
    (raw / "tree.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"async tree failed: {proc.stderr[-3000:]}")
    data = json.loads(out.read_text())
    blocks, skipped = {}, {}
    for e in data["results"]:
        key = (e["bench"], e["loop"])
        if "skipped" in e:
            skipped.setdefault(key, {})[e["variant"]] = e["skipped"]
        else:
            blocks.setdefault(key, {})[e["variant"]] = e["samples"]
    results = []
    for key in dict.fromkeys(list(blocks) + list(skipped)):
        add_results(results, "tree", key[0], key[1], blocks.get(key, {}),
                    "s/tree", skipped=skipped.get(key))
    return results


# ----------------------------------------------------------------- server

def find_wrk():
    """(path, note): wrk, installed with apt-get if missing."""
    exe = shutil.which("wrk")
    if exe:
        return exe, None
    if shutil.which("apt-get") and hasattr(os, "geteuid") and \
            os.geteuid() == 0:
        log("wrk is missing: apt-get install -y wrk")
        try:
            run(["apt-get", "install", "-y", "wrk"], timeout=600,
                stdout=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pass
        exe = shutil.which("wrk")
        if exe:
            return exe, None
        return None, "wrk is not installed and 'apt-get install -y wrk' failed"
    return None, ("wrk is not installed (install it, e.g. "
                  "'apt-get install wrk', to run the server benchmark)")


def wrk_version(exe):
    p = run([exe, "--version"], capture_output=True, text=True, timeout=10)
    return (p.stdout + p.stderr).strip().splitlines()[0] \
        if (p.stdout + p.stderr).strip() else "?"


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def parse_wrk(text):
    rps = re.search(r"Requests/sec:\s*([\d.]+)", text)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    if not rps or not p99:
        raise ValueError(f"cannot parse wrk output:\n{text}")
    errors = re.search(r"Socket errors: (.*)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"rps": float(rps.group(1)),
            "p99": float(p99.group(1)) * _UNITS[p99.group(2)],
            "socket_errors": errors.group(1).strip() if errors else None,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def _read_port(proc, timeout):
    box = {}

    def reader():
        for line in proc.stdout:
            if line.startswith("PORT "):
                box["port"] = int(line.split()[1])
                return
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    return box.get("port")


def run_server(label, vpy, s, raw, loops, wrk, avail, unavailable):
    combos = [(loop, v) for loop in loops for v in SERVER_VARIANTS
              if v in avail[loop]]
    not_run = {loop: {v: why for v in SERVER_VARIANTS
                      if v not in avail[loop]
                      for why in [unavailable.get(f"{v} on {loop}")] if why}
               for loop in loops}
    n_runs = len(combos) * (s["server_rounds"] + s["server_warmup"])
    budget = n_runs * (s["wrk_seconds"] + 15) + 60
    procs = {}
    results, runs = [], []
    try:
        for combo in combos:
            loop, v = combo
            p = subprocess.Popen(
                [vpy, "benchmarks/server.py", "--variant", v, "--loop", loop,
                 "--max-seconds", str(budget)], cwd=ROOT, env=pip_env(),
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True)
            procs[combo] = p
            port = _read_port(p, 30)
            if port is None:
                raise RuntimeError(f"server {v} on {loop} did not start")
            url = f"http://127.0.0.1:{port}/"
            with urllib.request.urlopen(url, timeout=10) as resp:
                body = json.loads(resp.read())
                assert resp.status == 200 and body["n"] == 10, body
            procs[combo] = (p, url)
        samples = {}          # (loop) -> variant -> {"rps": [], "p99": []}
        total = s["server_warmup"] + s["server_rounds"]
        for r in range(total):
            warm = r < s["server_warmup"]
            secs = s["wrk_warmup_seconds"] if warm else s["wrk_seconds"]
            log(f"{label}: server round {r + 1}/{total}"
                f"{' (warm-up)' if warm else ''}")
            for loop in loops:
                names = [v for (lp, v) in combos if lp == loop]
                for v in rotate(names, r):
                    p, url = procs[(loop, v)]
                    if p.poll() is not None:
                        raise RuntimeError(f"server {v} on {loop} exited")
                    cmd = [wrk, f"-t{s['wrk_threads']}",
                           f"-c{s['wrk_connections']}", f"-d{secs}s",
                           "--latency", "--timeout", "5s", url]
                    proc = run(cmd, capture_output=True, text=True,
                               timeout=secs + 60)
                    if proc.returncode != 0:
                        raise RuntimeError(f"wrk failed: {proc.stderr}")
                    parsed = parse_wrk(proc.stdout)
                    runs.append(dict(parsed, loop=loop, variant=v, round=r,
                                     warmup=warm))
                    if not warm:
                        d = samples.setdefault(loop, {}).setdefault(
                            v, {"rps": [], "p99": []})
                        d["rps"].append(parsed["rps"])
                        d["p99"].append(parsed["p99"])
        for loop, by_v in samples.items():
            add_results(results, "server", "server requests/s", loop,
                        {v: d["rps"] for v, d in by_v.items()}, "req/s",
                        higher_is_better=True, skipped=not_run[loop])
            add_results(results, "server", "server p99 latency", loop,
                        {v: d["p99"] for v, d in by_v.items()}, "s",
                        skipped=not_run[loop])
    finally:
        for item in procs.values():
            p = item[0] if isinstance(item, tuple) else item
            if p.poll() is None:
                p.terminate()
        for item in procs.values():
            p = item[0] if isinstance(item, tuple) else item
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        (raw / "server-runs.json").write_text(json.dumps(runs, indent=1))
    return results


def rotate(items, k):
    items = list(items)
    if not items:
        return items
    k %= len(items)
    return items[k:] + items[:k]


# ------------------------------------------------------------------- main

def matrix_interpreters():
    """The interpreters of the test matrix, as ``tests/matrix.py --list``
    prints them."""
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "matrix.py"),
                           "--list"], capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout)


def select_interpreters(wanted):
    found = matrix_interpreters()
    if not wanted:
        return found
    chosen = {}
    for w in wanted:
        if w in found:
            chosen[w] = found[w]
        elif os.path.exists(w) or shutil.which(w):
            exe = w if os.path.exists(w) else shutil.which(w)
            p = subprocess.run(
                [exe, "-c", "import sys, sysconfig; print('%d.%d%s' % ("
                 "sys.version_info[:2] + ('t' if sysconfig.get_config_var("
                 "'Py_GIL_DISABLED') else '',)))"],
                capture_output=True, text=True)
            chosen[p.stdout.strip() or Path(exe).name] = str(exe)
        else:
            raise SystemExit(f"no interpreter {w!r} (found: "
                             f"{', '.join(found)})")
    return chosen


def variants_available(info):
    """variant names available per loop, from the interpreter info."""
    return {loop: vs for loop, vs in info["variants"].items() if vs}


def driver_python():
    """A Python with matplotlib for the chart (a small venv if needed)."""
    try:
        import matplotlib  # noqa: F401
        return sys.executable
    except ImportError:
        pass
    vpy, _ = ensure_venv("driver", sys.executable, DRIVER_DEPS, pip_env())
    return vpy


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a few-minute smoke run (fewer, shorter rounds;"
                             " a 4-level tree); results go to results/quick")
    parser.add_argument("--only", default=",".join(SUITES),
                        help="comma-separated suites: micro,tree,server")
    parser.add_argument("--python", action="append", default=[],
                        help="interpreter label (3.12) or path; repeatable")
    parser.add_argument("--out", help="results directory (default "
                        "benchmarks/results, or benchmarks/results/quick)")
    parser.add_argument("--update-readme", choices=("auto", "yes", "no"),
                        default="auto", help="rewrite the table of README.md"
                        "'s Benchmarks section (auto: on a full run of "
                        "every suite and interpreter)")
    args = parser.parse_args(argv)
    suites = [x for x in args.only.split(",") if x]
    bad = set(suites) - set(SUITES)
    if bad:
        parser.error(f"unknown suites {sorted(bad)}")
    mode = "quick" if args.quick else "full"
    s = SETTINGS[mode]
    out_dir = Path(args.out) if args.out else \
        HERE / "results" / ("quick" if args.quick else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    interpreters = select_interpreters(args.python)
    if not interpreters:
        log("no interpreter found")
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    command = "python3 benchmarks/run.py" + "".join(
        " " + shlex.quote(a) for a in (argv if argv is not None
                                       else sys.argv[1:]))
    doc = {
        "schema": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "command": command,
        "mode": mode,
        "settings": s,
        "machine": machine_info(),
        "fastaio_checkout": git_info(),
        "definitions": {
            "speedup_vs_default": "per round: stdlib-default time / "
            "variant time (server: variant req/s / stdlib req/s; p99: "
            "stdlib p99 / variant p99); median, min and max over the "
            "rounds; > 1 means the variant is faster",
            "speedup_vs_eager": "the same against asyncio's "
            "eager_task_factory (3.12+)",
            "median/min/max": "of the per-round values in 'unit' (micro: "
            "pytest-benchmark's median of one pytest run per op)"},
        "notes": [
            f"{machine_info()['usable_cores']} cores, shared: in the server "
            "benchmark wrk and the (single-threaded) server run on the same "
            "cores, so requests/s are a lower bound of the server's own.",
        ],
        "suites": suites,
        "interpreters": {},
    }
    wrk = wrk_note = None
    if "server" in suites:
        wrk, wrk_note = find_wrk()
        doc["wrk"] = {"available": bool(wrk), "note": wrk_note,
                      "version": wrk_version(wrk) if wrk else None}
        if not wrk:
            log(f"SERVER BENCHMARK NOT RUN: {wrk_note}")
    out_json = out_dir / "results.json"
    for label, python in interpreters.items():
        log(f"=== {label}: {python}")
        t0 = time.monotonic()
        entry = doc["interpreters"][label] = {"executable": python,
                                              "results": [], "errors": []}
        raw = WORK / label / "raw"
        try:
            vpy, info = prepare_interpreter(label, python)
        except Exception as exc:      # noqa: BLE001 - reported, not hidden
            log(f"{label}: setup failed: {exc}")
            entry["errors"].append(f"setup: {exc}")
            continue
        raw.mkdir(parents=True, exist_ok=True)
        entry.update(info=info)
        avail = variants_available(info)
        loops = list(avail)
        for suite in suites:
            try:
                if suite == "micro":
                    res, skipped = run_micro(label, vpy, s, raw,
                                             info.get("unavailable", {}))
                    entry["micro_skipped"] = skipped
                elif suite == "tree":
                    res = run_tree(label, vpy, s, raw, loops)
                elif wrk:
                    res = run_server(label, vpy, s, raw, loops, wrk, avail,
                                     info.get("unavailable", {}))
                else:
                    entry["errors"].append(f"server: not run: {wrk_note}")
                    continue
                entry["results"] += res
            except Exception as exc:  # noqa: BLE001 - reported, not hidden
                log(f"{label}: {suite} failed: {exc}")
                entry["errors"].append(f"{suite}: {exc}")
        entry["seconds"] = round(time.monotonic() - t0, 1)
        log(f"=== {label}: done in {entry['seconds']:.0f}s")
        out_json.write_text(json.dumps(doc, indent=1))
    doc["seconds"] = round(time.monotonic() - started, 1)
    out_json.write_text(json.dumps(doc, indent=1))
    log(f"wrote {out_json}")
    print()
    print(report.markdown_table(doc))
    proc = run([driver_python(), str(HERE / "report.py"), str(out_json),
                "--png", str(out_dir / "speedups.png"),
                "--markdown", str(out_dir / "results.md")], timeout=600)
    if proc.returncode != 0:
        log("the chart could not be drawn")
    full = not args.quick and not args.python and set(suites) == set(SUITES)
    if args.update_readme == "yes" or (args.update_readme == "auto" and full):
        report.update_readme(doc, ROOT / "README.md")
        log("README.md's benchmark table updated")
    failed = [f"{k}: {e}" for k, v in doc["interpreters"].items()
              for e in v["errors"]]
    for f in failed:
        log(f"ERROR {f}")
    log(f"total {doc['seconds']:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
