"""fastaio's type hints check something: mypy (strict) and pyright accept
tests/typing/accepted.py, which also runs, and report exactly the lines
marked "# error" in tests/typing/rejected.py, for this interpreter's
version."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "typing"
ACCEPTED = HERE / "accepted.py"
REJECTED = HERE / "rejected.py"
VERSION = "%d.%d" % sys.version_info[:2]
REQUIRED = os.environ.get("FASTAIO_REQUIRE_TYPECHECKERS", "") not in ("", "0")


def _marked_lines(path):
    return {n for n, line in enumerate(path.read_text().splitlines(), 1)
            if line.rstrip().endswith("# error")}


def _mypy(path):
    try:
        import mypy.api
    except ImportError:
        if REQUIRED:
            raise
        pytest.skip("mypy is not installed")
    out, err, _ = mypy.api.run([
        "--strict", "--no-incremental", "--no-error-summary",
        "--python-version", VERSION, "--show-error-codes", str(path)])
    assert not err, err
    return {int(m.group(1)) for m in re.finditer(
        r"^[^:\n]+:(\d+): error:", out, re.M)}, out


def _pyright(path):
    exe = shutil.which("basedpyright", path=os.path.dirname(sys.executable))
    if exe is None:
        if REQUIRED:
            pytest.fail("basedpyright is not installed")
        pytest.skip("basedpyright (pyright) is not installed")
    proc = subprocess.run(
        [exe, "--outputjson", "--level", "error", "--pythonpath",
         sys.executable, "--pythonversion", VERSION, str(path)],
        capture_output=True, text=True)
    report = json.loads(proc.stdout)
    errors = [d for d in report["generalDiagnostics"]
              if d["severity"] == "error"]
    return {d["range"]["start"]["line"] + 1 for d in errors}, proc.stdout


CHECKERS = {"mypy": _mypy, "pyright": _pyright}


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_correct_code_is_accepted(checker):
    lines, report = CHECKERS[checker](ACCEPTED)
    assert lines == set(), report


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_misuse_is_rejected(checker):
    lines, report = CHECKERS[checker](REJECTED)
    assert lines == _marked_lines(REJECTED), report
    assert len(lines) >= 4


def test_accepted_code_runs():
    proc = subprocess.run([sys.executable, str(ACCEPTED)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
