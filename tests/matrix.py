#!/usr/bin/env python3
"""Run fastaio's test-suite on every CPython found, in fresh venvs.

Interpreters: the newest 3.9, 3.10, 3.11, 3.12 and 3.13 that pyenv has, and
``python3.14``, ``python3.14t`` and ``python3.15`` if they are on PATH; with
no pyenv interpreter, the interpreter that runs this script as well.  For
each, fastaio is built from this checkout with its compiled core and the
whole suite runs (both implementations, every loop kind: the fixtures and
the bound CPython suites do that inside one pytest run).  The oldest and the
newest interpreter also check a build made with
``FASTAIO_NO_EXTENSIONS=1`` (the pure-Python core alone, whose eager
levels take more of the recursion limit before 3.12).

Exit status: 0 only if every cell ran tests and none failed.

    python3 tests/matrix.py            # all interpreters
    python3 tests/matrix.py 3.11 3.13  # some of them
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "matrix"
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
PYENV_MINORS = ["3.9", "3.10", "3.11", "3.12", "3.13"]
PATH_NAMES = ["python3.14", "python3.14t", "python3.15"]
TEST_DEPS = ["pytest>=7.4", "pytest-timeout>=2.1", "pytest-asyncio>=1",
             "anyio>=4", "mypy>=1.10", "basedpyright>=1.20"]
# uvloop wheels exist for these; elsewhere it is tried but not required.
UVLOOP_REQUIRED = {"3.9", "3.10", "3.11", "3.12", "3.13"}


def log(msg):
    print(f"[matrix] {msg}", flush=True)


def pyenv_interpreters():
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True,
                              text=True, check=True).stdout.strip() or root
    except (OSError, subprocess.CalledProcessError):
        pass
    versions = Path(root) / "versions"
    found = {}
    if versions.is_dir():
        for d in versions.iterdir():
            m = re.fullmatch(r"(3\.\d+)\.(\d+)", d.name)
            exe = d / "bin" / "python"
            if m and m.group(1) in PYENV_MINORS and exe.exists():
                key = m.group(1)
                if key not in found or int(m.group(2)) > found[key][0]:
                    found[key] = (int(m.group(2)), str(exe))
    return {k: v[1] for k, v in sorted(found.items(),
                                       key=lambda kv: PYENV_MINORS.index(kv[0]))}


def this_interpreter():
    """The label and path of the interpreter running this script."""
    label = "%d.%d" % sys.version_info[:2]
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        label += "t"
    return label, sys.executable


def all_interpreters():
    found = pyenv_interpreters()
    if not found:
        label, exe = this_interpreter()
        found[label] = exe
    for name in PATH_NAMES:
        exe = shutil.which(name)
        label = name.replace("python", "")
        if exe and label not in found:
            found[label] = exe
    return found


def run(cmd, env=None, **kw):
    kw.setdefault("cwd", ROOT)
    return subprocess.run(cmd, env=env, **kw)


def run_streaming(cmd, env):
    """Run ``cmd``, echoing its output as it comes; return the exit code and
    the output."""
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    return proc.wait(), "".join(lines)


def make_venv(label, python, env):
    venv = WORK / label
    shutil.rmtree(venv, ignore_errors=True)
    run([python, "-m", "venv", str(venv)], check=True)
    vpy = str(venv / "bin" / "python")
    pip = [vpy, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run(pip + ["--upgrade", "pip"], env=env)
    return vpy, pip


def pytest_counts(output):
    counts = {}
    for line in output.splitlines()[-5:]:
        for n, what in re.findall(r"(\d+) (passed|failed|errors?|skipped)",
                                  line):
            counts["error" if what.startswith("error") else what] = int(n)
    return counts


def check_cell(label, python, extra_pytest_args):
    env = dict(os.environ, PIP_CONSTRAINT=str(CONSTRAINTS),
               PIP_BUILD_CONSTRAINT=str(CONSTRAINTS))
    env.pop("FASTAIO_NO_EXTENSIONS", None)
    vpy, pip = make_venv(label, python, env)
    if run(pip + [".", *TEST_DEPS], env=env).returncode != 0:
        return {"error": 1}, "pip install failed"
    has_uvloop = run(pip + ["--only-binary", ":all:", "uvloop>=0.19"],
                     env=env).returncode == 0
    if not has_uvloop and label in UVLOOP_REQUIRED:
        return {"error": 1}, "uvloop did not install"
    # aiohttp's loop fixture is one of the loops the pytest plugin must
    # reach; its tests skip that case where no wheel exists.
    run(pip + ["--only-binary", ":all:", "aiohttp"], env=env)
    env.update(FASTAIO_REQUIRE_EXTENSIONS="1",
               FASTAIO_REQUIRE_TYPECHECKERS="1",
               FASTAIO_REQUIRE_UVLOOP="1" if has_uvloop else "0")
    cmd = [vpy, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "--timeout=300", *extra_pytest_args, "tests"]
    returncode, output = run_streaming(cmd, env)
    counts = pytest_counts(output)
    if returncode == 5 or not counts.get("passed"):
        return dict(counts, error=counts.get("error", 0) + 1), "no test ran"
    if returncode != 0:
        counts.setdefault("failed", 0)
        if not counts["failed"] and not counts.get("error"):
            counts["error"] = 1
        return counts, f"pytest exited {returncode}"
    return counts, "ok" + ("" if has_uvloop else " (no uvloop wheel)")


def check_pure_build(label, python):
    """A build made with FASTAIO_NO_EXTENSIONS=1 has no compiled core."""
    env = dict(os.environ, PIP_CONSTRAINT=str(CONSTRAINTS),
               PIP_BUILD_CONSTRAINT=str(CONSTRAINTS),
               FASTAIO_NO_EXTENSIONS="1")
    vpy, pip = make_venv(f"pure-build-{label}", python, env)
    if run(pip + [".", *TEST_DEPS], env=env).returncode != 0:
        return {"error": 1}, "pip install failed"
    env.pop("FASTAIO_NO_EXTENSIONS")
    code = ("import fastaio, importlib.util as u;"
            "assert fastaio.IMPLEMENTATION == 'python', fastaio.WHY;"
            "assert u.find_spec('fastaio._core') is None;"
            "print(fastaio.WHY)")
    proc = run([vpy, "-W", "error::RuntimeWarning", "-c", code], env=env,
               capture_output=True, text=True, cwd=WORK)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout + proc.stderr)
        return {"failed": 1}, "the pure build still has a compiled core"
    proc = run([vpy, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "tests/test_api.py", "tests/test_eager.py"], env=env,
               capture_output=True, text=True)
    sys.stdout.write(proc.stdout[-2000:])
    counts = pytest_counts(proc.stdout)
    if proc.returncode != 0 or not counts.get("passed"):
        return dict(counts, failed=counts.get("failed", 0) or 1), \
            f"pytest exited {proc.returncode}"
    return counts, "ok"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("only", nargs="*", help="interpreters, e.g. 3.11")
    parser.add_argument("--pytest-args", default="",
                        help="extra arguments for pytest")
    parser.add_argument("--list", action="store_true",
                        help="print the interpreters found, as JSON, and "
                             "exit")
    args = parser.parse_args()
    interpreters = all_interpreters()
    if args.list:
        print(json.dumps(interpreters))
        return 0
    if args.only:
        interpreters = {k: v for k, v in interpreters.items()
                        if k in args.only}
    if not interpreters:
        log("no interpreter found")
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    results = {}
    for label, python in interpreters.items():
        log(f"=== CPython {label}: {python}")
        t0 = time.monotonic()
        counts, status = check_cell(label, python, args.pytest_args.split())
        results[label] = (counts, status, time.monotonic() - t0)
        log(f"=== CPython {label}: {status} {counts} "
            f"({results[label][2]:.0f}s)")
    found = list(interpreters.items())
    for label, python in dict([found[0], found[-1]]).items():
        log(f"=== CPython {label}, build with FASTAIO_NO_EXTENSIONS=1")
        t0 = time.monotonic()
        counts, status = check_pure_build(label, python)
        results[f"pure {label}"] = (counts, status, time.monotonic() - t0)

    total = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    bad = []
    print()
    for label, (counts, status, secs) in results.items():
        for k in total:
            total[k] += counts.get(k, 0)
        if counts.get("failed") or counts.get("error") or \
                not counts.get("passed"):
            bad.append(label)
        print(f"  {label:12s} {status:36s} passed={counts.get('passed', 0)} "
              f"failed={counts.get('failed', 0)} "
              f"skipped={counts.get('skipped', 0)} ({secs:.0f}s)")
    print(f"matrix: {total['passed']} passed, "
          f"{total['failed'] + total['error']} failed, "
          f"{total['skipped']} skipped")
    if bad:
        log("FAILED: " + ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
