"""Whole-process timings of ``mfq report`` on the 1M-event demo store.

    .venv/bin/python bench/report.py                  # 5 timed runs of each format
    .venv/bin/python bench/report.py --runs 3 --json  # one JSON object on stdout

Uses the store ``bench/query.py`` builds (``bench/out/store-1000000``), or builds one the
same way when it is missing: the demo generator (seed 7, the default incident) and
``mfq ingest``, in child processes, so this process stays small and the children's peak
memory is their own. Then, as a user runs them (a fresh process each)::

    mfq report --store STORE --week 2026-W47 --format html --out OUT/report-2026-W47.html
    mfq report --store STORE --week 2026-W47 --format markdown --out OUT/report-2026-W47.md

one untimed warm-up of each, then ``--runs`` timed runs interleaved (html, markdown, html,
...): wall time and the child's peak RSS (``os.wait4``). Each output is checked (a complete
HTML document with its four charts and no script; a Markdown document with every section;
both naming the planted incident). Target: median under 10 s for each format.
"""

from __future__ import annotations

import argparse
import html
import json
import platform
import re
import statistics
import sys
from pathlib import Path

from common import Sample, ensure_demo_store, measure, mfq_executable, progress, require_success

BENCH = Path(__file__).resolve().parent
EVENTS = 1_000_000
WEEK = "2026-W47"
LIMIT_SECONDS = 10.0
SECTIONS = (
    "## Highlights",
    "## Volume",
    "## Errors",
    "## Latency",
    "## Anomalies",
    "## SLO compliance and incidents",
    "## What correlate says about the errors",
)
INCIDENT = "service = 'checkout'` from 2026-11-19 14:00 to 2026-11-19 15:30"


def check_output(fmt: str, path: Path) -> None:
    """Stop with a message unless the report written looks complete."""
    text = path.read_text(encoding="utf-8")
    problems = []
    if fmt == "html":
        if not (text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")):
            problems.append("not a complete HTML document")
        if text.count('<img src="data:image/svg+xml;base64,') != 4:
            problems.append("not four embedded charts")
        if "<script" in text.lower():
            problems.append("a script element")
        shown = html.unescape(re.sub(r"</?code>", "", text))  # the text a reader sees
        if INCIDENT.replace("`", "") not in shown:
            problems.append("no checkout incident from 14:00 to 15:30")
    else:
        problems += [f"no {s!r}" for s in SECTIONS if s not in text]
        if INCIDENT not in text:
            problems.append("no checkout incident from 14:00 to 15:30")
    if problems:
        raise SystemExit(f"{path}: " + "; ".join(problems))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each format")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="store and reports")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    options = parser.parse_args()
    out = options.out.resolve()
    store = ensure_demo_store(out)
    base = [str(mfq_executable()), "report", "--store", str(store), "--week", WEEK]
    commands = {
        fmt: [*base, "--format", fmt, "--out", str(out / f"report-{WEEK}.{suffix}")]
        for fmt, suffix in (("html", "html"), ("markdown", "md"))
    }
    samples: dict[str, list[Sample]] = {fmt: [] for fmt in commands}
    for fmt, command in commands.items():
        require_success(measure(command, out), command)  # warm-up: page cache, bytecode
        check_output(fmt, out / f"report-{WEEK}.{'html' if fmt == 'html' else 'md'}")
    for run in range(options.runs):
        for fmt, command in commands.items():
            sample = require_success(measure(command, out), command)
            samples[fmt].append(sample)
            progress(f"run {run + 1}/{options.runs} {fmt}: {sample.wall:.2f} s")
    results = [_result(fmt, runs) for fmt, runs in samples.items()]
    if options.json:
        environment = {"python": platform.python_version(), "platform": platform.platform()}
        print(json.dumps({"events": EVENTS, "week": WEEK, "runs": options.runs,
                          "environment": environment, "results": results}, indent=2))  # fmt: skip
        return 0
    for result in results:
        verdict = "PASS" if result["passed"] else "FAIL"
        print(
            f"{verdict}  mfq report --format {result['format']:<8}  median "
            f"{result['wall_median']:6.2f} s  (min {result['wall_min']:.2f}, max "
            f"{result['wall_max']:.2f}; cpu {result['cpu_median']:.2f} s)  peak "
            f"{result['peak_mib']:,.0f} MiB  < {LIMIT_SECONDS:g} s",
            flush=True,
        )
    return 0


def _result(fmt: str, runs: list[Sample]) -> dict[str, object]:
    walls = [s.wall for s in runs]
    median = statistics.median(walls)
    return {
        "format": fmt,
        "wall_median": round(median, 3),
        "wall_min": round(min(walls), 3),
        "wall_max": round(max(walls), 3),
        "cpu_median": round(statistics.median(s.cpu for s in runs), 3),
        "peak_mib": round(max(s.peak_mib for s in runs), 1),
        "passed": median < LIMIT_SECONDS,
    }


if __name__ == "__main__":
    sys.exit(main())
