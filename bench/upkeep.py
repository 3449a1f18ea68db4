"""Store upkeep: a year of daily ingests, queries before and after ``mfq compact``, and
``mfq schema`` on a large store.

1. Generates a year of demo events (``--year-events``, 2,000 a day by default) and splits
   them into 365 daily exports, each from 22:00 UTC of one day to 22:00 UTC of the next
   (so every ingest writes into two UTC days, as a nightly export does).
2. Ingests them one by one into one store (365 batches, in one process: the time is the
   ingests', not Python's start-up).
3. Runs the query suite below as whole ``mfq`` processes (``--runs`` each, median), then
   ``mfq compact`` (timed), then the suite again on the compacted store.
4. Times ``mfq schema`` (whole process, from the catalog) and ``mfq schema --exact`` on the
   demo store of ``--schema-events`` events (10,000,000 by default; built once with the
   shared export of ``bench/query.py``).

Usage::

    .venv/bin/python bench/upkeep.py                               # the defaults above
    .venv/bin/python bench/upkeep.py --year-events 365000 --schema-events 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import common

YEAR_START = datetime(2025, 11, 17, tzinfo=UTC)
MAX_SCHEMA_SECONDS = 0.5
QUERIES: dict[str, list[str]] = {
    "count by service (errors in prod)": [
        "query",
        "--where",
        "environment = 'prod' and status = 'error'",
        "--group-by",
        "service",
    ],
    "p95 duration by service, last 30 days": [
        "query",
        "--since",
        "2026-10-17",
        "--until",
        "2026-11-16",
        "--group-by",
        "service",
        "--agg",
        "p95(duration_ms)",
    ],
    "count by type per week": ["timeseries", "--every", "1w", "--by", "type", "--top", "5"],
    "one day of events": [
        "events",
        "--since",
        "2026-06-01",
        "--until",
        "2026-06-02",
        "--limit",
        "100",
    ],
    "info": ["info"],
    "schema": ["schema"],
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--year-events", type=common.positive_int, default=730_000)
    parser.add_argument("--schema-events", type=common.positive_int, default=10_000_000)
    parser.add_argument("--runs", type=common.positive_int, default=3)
    parser.add_argument("--seed", type=common.positive_int, default=common.DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=common.BENCH_DIR / "out")
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")
    return parser.parse_args()


def daily_exports(out: Path, events: int, seed: int) -> list[Path]:
    """A year of events as 365 nightly exports (reused while the year's export is)."""
    from mfq.demo import DemoConfig

    config = DemoConfig(events=events, seed=seed, start=YEAR_START, days=365, incident=None)
    year = out / f"year-{common.name_suffix(events, seed)}.ndjson"
    fresh = not common.export_is_current(year, config)
    common.ensure_export(year, config)
    days = out / f"year-{common.name_suffix(events, seed)}-days"
    paths = [days / f"day-{n:03d}.ndjson" for n in range(365)]
    if not fresh and all(p.exists() for p in paths):
        return paths
    common.progress(f"splitting into {len(paths)} nightly exports under {days} ...")
    shutil.rmtree(days, ignore_errors=True)
    days.mkdir(parents=True)
    first_cut = YEAR_START + timedelta(hours=22)
    outs = [p.open("w") for p in paths]
    try:
        with year.open() as lines:
            for line in lines:
                moment = datetime.fromisoformat(
                    json.loads(line)["timestamp"].replace("Z", "+00:00")
                )
                index = (moment - first_cut) // timedelta(days=1) + 1
                outs[min(max(index, 0), 364)].write(line)
    finally:
        for handle in outs:
            handle.close()
    return paths


def build_year_store(out: Path, exports: list[Path]) -> tuple[Path, float]:
    """365 ingests into one new store; their total seconds."""
    import mfq

    store_dir = out / "year-store"
    shutil.rmtree(store_dir, ignore_errors=True)
    common.progress(f"ingesting {len(exports)} nightly exports into {store_dir} ...")
    started = time.perf_counter()
    with mfq.open_store(store_dir) as store:
        for path in exports:
            store.ingest([path])
    return store_dir, time.perf_counter() - started


def suite(store_dir: Path, runs: int) -> dict[str, float]:
    """Median whole-process seconds of each query."""
    exe = str(common.mfq_executable())
    medians = {}
    for name, args in QUERIES.items():
        cmd = [exe, *args, "--store", str(store_dir), "--format", "json"]
        walls = [
            common.require_success(common.measure(cmd, store_dir.parent), cmd).wall
            for _ in range(runs)
        ]
        medians[name] = statistics.median(walls)
        common.progress(f"  {name}: {medians[name]:.3f} s")
    return medians


def files_of(store_dir: Path) -> int:
    return sum(1 for _ in (store_dir / "events").rglob("*.parquet"))


def schema_times(out: Path, events: int, seed: int, runs: int) -> dict[str, Any]:
    store_dir = common.ensure_demo_store(out, events, seed)
    exe = str(common.mfq_executable())
    fast_cmd = [exe, "schema", "--store", str(store_dir), "--format", "json"]
    exact_cmd = [*fast_cmd, "--exact"]
    common.require_success(common.measure(fast_cmd, out), fast_cmd)  # warm-up
    fast = [
        common.require_success(common.measure(fast_cmd, out), fast_cmd).wall for _ in range(runs)
    ]
    exact = common.require_success(common.measure(exact_cmd, out), exact_cmd).wall
    help_walls = common.run_help(
        lambda cmd, cwd: common.require_success(common.measure(cmd, cwd), cmd)
    )
    return {
        "events": events,
        "schema_seconds": statistics.median(fast),
        "schema_exact_seconds": exact,
        "help_seconds": statistics.median(help_walls),
    }


def main() -> int:
    args = parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    exports = daily_exports(out, args.year_events, args.seed)
    store_dir, ingest_seconds = build_year_store(out, exports)
    before_files = files_of(store_dir)
    common.progress(f"{before_files} files; queries before compaction:")
    before = suite(store_dir, args.runs)
    compact_cmd = [
        str(common.mfq_executable()),
        "compact",
        "--store",
        str(store_dir),
        "--format",
        "json",
    ]
    compaction = common.require_success(common.measure(compact_cmd, out), compact_cmd)
    common.progress(f"compact: {compaction.wall:.1f} s {compaction.stdout.strip()}")
    after = suite(store_dir, args.runs)
    schema = schema_times(out, args.schema_events, args.seed, args.runs)
    result = {
        "year_events": args.year_events,
        "ingests": len(exports),
        "ingest_seconds": round(ingest_seconds, 1),
        "files_before": before_files,
        "files_after": files_of(store_dir),
        "compact_seconds": round(compaction.wall, 2),
        "compact": json.loads(compaction.stdout),
        "queries": {
            name: {
                "before": round(before[name], 3),
                "after": round(after[name], 3),
                "ratio": round(before[name] / after[name], 2),
            }
            for name in QUERIES
        },
        "schema": {k: round(v, 3) if isinstance(v, float) else v for k, v in schema.items()},
        "environment": common.environment(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.year_events:,} events in {len(exports)} daily ingests: {ingest_seconds:.1f} s"
        )
        files = f"{result['files_before']} -> {result['files_after']}"
        print(f"files: {files}; compact {compaction.wall:.1f} s")
        for name, row in result["queries"].items():
            print(
                f"  {name:40s} {row['before']:7.3f} s -> {row['after']:7.3f} s  (x{row['ratio']})"
            )
        print(
            f"mfq schema on {schema['events']:,} events: {schema['schema_seconds']:.3f} s"
            f" (--exact {schema['schema_exact_seconds']:.1f} s)"
        )
        verdict = "PASS" if schema["schema_seconds"] < MAX_SCHEMA_SECONDS else "FAIL"
        print(f"{verdict}: mfq schema < {MAX_SCHEMA_SECONDS} s whole process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
