"""Whole-process timings of the analysis commands on a 1M-event demo store.

    .venv/bin/python bench/analysis.py                 # 5 runs of each command
    .venv/bin/python bench/analysis.py --runs 3 --json

Uses the store ``bench/query.py`` builds (``bench/out/store-1000000``), or builds one from
the demo generator (seed 7, the default incident). Each command runs as a user runs it
(``mfq ... --format json`` in a fresh process), one untimed warm-up, then ``--runs`` timed
runs; wall time and the child's peak RSS (``os.wait4``). Target: every command under 3 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from common import ensure_demo_store, measure, mfq_executable, require_success

BENCH = Path(__file__).resolve().parent
LIMIT_SECONDS = 3.0
EVENTS = 1_000_000
CHECKOUT_ERRORS = "service = 'checkout' and status = 'error'"
WINDOW = ["--since", "2026-11-19T14:00Z", "--until", "2026-11-19T15:30Z"]


def first_trace_id(store: Path) -> str:
    """A trace id from the store (the first one found)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    dataset = ds.dataset(str(store / "events"), format="parquet", partitioning="hive")
    for batch in dataset.to_batches(columns=["trace_id"]):
        ids = pc.drop_null(batch.column("trace_id"))
        if len(ids):
            return str(ids[0])
    raise SystemExit("the store has no traces")


def commands(store: Path) -> dict[str, list[str]]:
    """The analysis suite: name -> argv (every command reads the same store)."""
    common = ["--store", str(store), "--format", "json"]
    trace_id = first_trace_id(store)
    return {
        "correlate (week)": ["correlate", "--where", CHECKOUT_ERRORS, *common],
        "correlate (incident)": ["correlate", "--where", CHECKOUT_ERRORS, *WINDOW, *common],
        "correlate --metric": [
            "correlate",
            "--where",
            "service = 'checkout'",
            "--metric",
            "duration_ms",
            *common,
        ],
        "anomalies errors": ["anomalies", "--where", "status = 'error'", *common],
        "anomalies by service 30m": ["anomalies", "--by", "service", "--every", "30m", *common],
        "trace": ["trace", trace_id, *common],
        "timeline": [
            "timeline",
            "--where",
            "service = 'checkout' and region = 'eu-west-1'",
            "--since",
            "2026-11-19",
            "--until",
            "2026-11-20",
            *common,
        ],
        "slo": [
            "slo",
            "--where",
            "service = 'checkout'",
            "--bad",
            "status = 'error'",
            "--target",
            "99",
            "--now",
            "2026-11-23T00:00Z",
            *common,
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--only", default=None, help="Run only commands whose name has this.")
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")
    options = parser.parse_args()
    store = ensure_demo_store(options.out, EVENTS)
    results = []
    for name, argv in commands(store).items():
        if options.only and options.only not in name:
            continue
        command = [str(mfq_executable()), *argv]
        require_success(measure(command, options.out), command)  # warm-up: cache, bytecode
        samples = [
            require_success(measure(command, options.out), command) for _ in range(options.runs)
        ]
        walls, peaks = [s.wall for s in samples], [s.peak_mib for s in samples]
        median = statistics.median(walls)
        results.append(
            {
                "command": name,
                "wall_median": round(median, 3),
                "wall_min": round(min(walls), 3),
                "wall_max": round(max(walls), 3),
                "peak_mib": round(max(peaks), 1),
                "passed": median < LIMIT_SECONDS,
            }
        )
        if not options.json:
            verdict = "PASS" if median < LIMIT_SECONDS else "FAIL"
            print(
                f"{verdict}  {name:<26} median {median:6.3f} s  "
                f"(min {min(walls):.3f}, max {max(walls):.3f})  peak {max(peaks):7.1f} MiB",
                flush=True,
            )
    if options.json:
        print(json.dumps({"events": EVENTS, "runs": options.runs, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
