#!/usr/bin/env python3
"""Render ``benchmarks/results/results.json``: the README table, a full
Markdown report and the PNG chart of the speed-ups.

    python benchmarks/report.py benchmarks/results/results.json
        [--png speedups.png] [--markdown results.md] [--readme README.md]

Importable without matplotlib (only ``--png`` needs it).
"""
import argparse
import json
import sys
from pathlib import Path

SUBJECT = "fastaio c"
BASELINE, EAGER = "stdlib default", "stdlib eager"
LOOP_TITLES = {"asyncio": "stdlib asyncio loop", "uvloop": "uvloop"}
START = "<!-- benchmark-table:start -->"
END = "<!-- benchmark-table:end -->"


def _benches(doc):
    seen = {}
    for entry in doc["interpreters"].values():
        for r in entry["results"]:
            seen.setdefault(r["bench"], None)
    return list(seen)


def _loops(doc):
    seen = {}
    for entry in doc["interpreters"].values():
        for r in entry["results"]:
            seen.setdefault(r["loop"], None)
    return [x for x in ("asyncio", "uvloop") if x in seen]


def _find(entry, bench, loop, variant):
    for r in entry["results"]:
        if (r["bench"], r["loop"], r["variant"]) == (bench, loop, variant):
            return r
    return None


def fmt_speedup(s, mark_slower=True):
    if not s:
        return "—"
    text = f"{s['median']:.2f}× ({s['min']:.2f}–{s['max']:.2f})"
    if mark_slower and is_slower(s):
        text = f"**{text} slower**"
    elif mark_slower and s["median"] < 1:
        text += " not faster"
    return text


def is_slower(s):
    """Slower in every round (not just noise around 1), as printed."""
    return bool(s) and round(s["max"], 2) < 1


def fmt_value(r):
    unit = r["unit"]
    m = r["median"]
    if unit == "req/s":
        return f"{m:,.0f} req/s"
    if unit == "s" or unit == "s/tree":
        return f"{m * 1e3:.1f} ms" if m < 1 else f"{m:.2f} s"
    if unit == "s/op":
        return f"{m * 1e6:.3f} µs" if m < 1e-3 else f"{m * 1e3:.2f} ms"
    return f"{m:g} {unit}"


def _interp_label(label, entry):
    info = entry.get("info") or {}
    return f"{label}" + (f" ({info['version_short']})"
                         if info.get("version_short") else "")


def header(doc):
    m = doc["machine"]
    lines = [
        f"Measured {doc['date'][:10]} on {m['cpu']}, {m['cores']} cores "
        f"({m['kernel']}), shared with other work; `{doc['command']}` "
        f"({doc['mode']} settings, {doc.get('seconds', 0) / 60:.0f} min).",
        "",
        "Interpreters: " + "; ".join(
            f"{k}: `{(v.get('info') or {}).get('version', '?').split()[0]}`"
            f" {' '.join((v.get('info') or {}).get('optimizations', []))}"
            .rstrip() + (f", uvloop {v['info']['uvloop']}"
                         if (v.get('info') or {}).get('uvloop') else "")
            for k, v in doc["interpreters"].items()) + ".",
    ]
    co = doc.get("fastaio_checkout") or {}
    if co.get("commit"):
        lines[-1] += (f" fastaio at {co['commit'][:10]}"
                      f"{' (uncommitted changes)' if co.get('dirty') else ''}"
                      ".")
    wrk = doc.get("wrk")
    if wrk and not wrk.get("available"):
        lines += ["", f"Server benchmark not run: {wrk['note']}."]
    return "\n".join(lines)


def eager_uvloop_note(doc):
    broken = [k for k, v in doc["interpreters"].items()
              if "fails on uvloop" in
              ((v.get("info") or {}).get("unavailable") or {}).get(
                  "stdlib eager on uvloop", "")]
    if not broken:
        return ""
    return (" On uvloop with " + ", ".join(broken) + " there is no eager "
            "line: `asyncio.eager_task_factory` raises TypeError there "
            "(uvloop passes `eager_start=`, which that factory does not "
            "take).")


def markdown_table(doc):
    """The README table: speed-up of fastaio's compiled core over the
    stdlib default (and eager, 3.12+), median (min–max) over the rounds."""
    interps = list(doc["interpreters"])
    out = [header(doc), "",
           "Speed-up of fastaio (compiled core, turned on with "
           "`fastaio.install(loop)` on the loop `asyncio.run()` makes, or on "
           "uvloop's) over the stdlib's default "
           "lazy tasks in the same run, median (min–max) over the rounds; "
           "> 1 is faster. On 3.12+ the second line is the speed-up over "
           "`asyncio.eager_task_factory`. — means no stdlib counterpart "
           "(TaskGroup and Barrier are 3.11+)." + eager_uvloop_note(doc)]
    for loop in _loops(doc):
        out += ["", f"**{LOOP_TITLES.get(loop, loop)}**", "",
                "| benchmark | " + " | ".join(
                    _interp_label(i, doc["interpreters"][i])
                    for i in interps) + " |",
                "|---" * (len(interps) + 1) + "|"]
        for bench in _benches(doc):
            cells = []
            for i in interps:
                r = _find(doc["interpreters"][i], bench, loop, SUBJECT)
                if r is None or "skipped" in r:
                    cells.append("—")
                    continue
                cell = fmt_speedup(r.get("speedup_vs_default"))
                if r.get("speedup_vs_eager"):
                    cell += "<br>vs eager " + fmt_speedup(
                        r["speedup_vs_eager"])
                cells.append(cell)
            out.append(f"| {bench} | " + " | ".join(cells) + " |")
    errors = [f"{k}: {e}" for k, v in doc["interpreters"].items()
              for e in v.get("errors", [])]
    if errors:
        out += ["", "Not measured: " + "; ".join(errors)]
    return "\n".join(out)


def slower_summary(doc):
    """A sentence naming where fastaio's compiled core is slower."""
    slower_default, slower_eager, total = [], [], 0
    for label, entry in doc["interpreters"].items():
        for r in entry["results"]:
            if r["variant"] != SUBJECT or "skipped" in r:
                continue
            total += 1
            where = f"{r['bench']} ({label}, {r['loop']})"
            if is_slower(r.get("speedup_vs_default")):
                slower_default.append(where)
            if is_slower(r.get("speedup_vs_eager")):
                slower_eager.append(where)
    n_eager = sum(1 for entry in doc["interpreters"].values()
                  for r in entry["results"]
                  if r["variant"] == SUBJECT and r.get("speedup_vs_eager"))
    parts = []
    if slower_default:
        parts.append(f"fastaio's compiled core is slower than the stdlib's "
                     f"default tasks in every round of {len(slower_default)}"
                     f" of these {total} measurements")
    if slower_eager:
        parts.append(f"slower than `asyncio.eager_task_factory` in "
                     f"{len(slower_eager)} of {n_eager}")
    if not parts:
        return ("No measurement of this run had fastaio slower in every "
                "round; a median below 1 is marked *not faster*.")
    return ("Where fastaio is not faster, the table says so: in this run " +
            ", and ".join(parts) + " (in bold).")


def full_markdown(doc):
    """Every variant, with times, for benchmarks/results/results.md."""
    out = ["# fastaio benchmark results", "", header(doc), "",
           "Time (or req/s) is the median over the rounds; speed-ups are "
           "the median (min–max) over the rounds of the per-round ratio "
           "to the stdlib default / eager variant; > 1 is faster.", ""]
    for label, entry in doc["interpreters"].items():
        info = entry.get("info") or {}
        out += [f"## {label}", "",
                f"`{info.get('version', '?')}` — fastaio "
                f"{(info.get('fastaio') or {}).get('version', '?')}, "
                f"uvloop {info.get('uvloop')}, aiohttp {info.get('aiohttp')}"
                f", pytest-benchmark {info.get('pytest_benchmark')}", ""]
        for e in entry.get("errors", []):
            out.append(f"* not measured: {e}")
        out += ["| benchmark | loop | variant | median | vs default | "
                "vs eager |", "|---|---|---|---|---|---|"]
        for r in entry["results"]:
            if "skipped" in r:
                out.append(f"| {r['bench']} | {r['loop']} | {r['variant']} "
                           f"| skipped: {r['skipped']} | | |")
                continue
            out.append(
                f"| {r['bench']} | {r['loop']} | {r['variant']} | "
                f"{fmt_value(r)} | "
                f"{fmt_speedup(r.get('speedup_vs_default'))} | "
                f"{fmt_speedup(r.get('speedup_vs_eager'))} |")
        out.append("")
    return "\n".join(out)


def readme_block(doc, chart="benchmarks/results/speedups.png"):
    return "\n".join([
        START, "", markdown_table(doc), "", slower_summary(doc), "",
        f"![speed-ups per interpreter]({chart})", "", END])


def update_readme(doc, path):
    """Replace the block between the markers of README's Benchmarks
    section (nothing else)."""
    path = Path(path)
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} block")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + readme_block(doc) + tail)


def draw_png(doc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    loops = _loops(doc)
    benches = _benches(doc)
    interps = list(doc["interpreters"])
    fig, axes = plt.subplots(len(loops), 1, figsize=(15, 5.2 * len(loops)),
                             squeeze=False)
    width = 0.8 / max(1, len(interps))
    for ax, loop in zip(axes[:, 0], loops):
        for k, label in enumerate(interps):
            entry = doc["interpreters"][label]
            xs, ys, lo, hi = [], [], [], []
            for j, bench in enumerate(benches):
                r = _find(entry, bench, loop, SUBJECT)
                s = r and r.get("speedup_vs_default")
                if not s:
                    continue
                xs.append(j - 0.4 + width * (k + 0.5))
                ys.append(s["median"])
                lo.append(s["median"] - s["min"])
                hi.append(s["max"] - s["median"])
            # Bars start at 1 (no difference): up is faster, down slower.
            ax.bar(xs, [y - 1 for y in ys], width, bottom=1,
                   yerr=[lo, hi], capsize=2, label=label)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ticks = [0.25, 0.33, 0.5, 0.67, 1, 1.5, 2, 3, 4, 6, 8]
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylabel("speed-up over stdlib default (log scale)")
        ax.set_title(f"fastaio (compiled core) vs stdlib lazy tasks — "
                     f"{LOOP_TITLES.get(loop, loop)}; bars: median, "
                     f"whiskers: min–max over rounds")
        ax.set_xticks(range(len(benches)))
        ax.set_xticklabels(benches, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(title="CPython", fontsize=8)
    m = doc["machine"]
    fig.suptitle(f"{doc['date'][:10]} — {m['cpu']}, {m['cores']} cores — "
                 f"{doc['command']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="?",
                        default=str(Path(__file__).resolve().parent /
                                    "results" / "results.json"))
    parser.add_argument("--png", help="write the chart here")
    parser.add_argument("--markdown", help="write the full report here")
    parser.add_argument("--readme", help="update this README's table")
    args = parser.parse_args(argv)
    doc = json.loads(Path(args.results).read_text())
    if args.markdown:
        Path(args.markdown).write_text(full_markdown(doc) + "\n")
    if args.readme:
        update_readme(doc, args.readme)
    if args.png:
        draw_png(doc, args.png)
    if not (args.markdown or args.readme or args.png):
        print(readme_block(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
