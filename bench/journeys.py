"""Journeys benchmark: a 4-step funnel and sessions, mfq against DuckDB SQL, in one run.

    .venv/bin/python bench/journeys.py                          # 1M and 10M events, 5 runs
    .venv/bin/python bench/journeys.py --events 1000000 --events 3000000 --runs 3

For each size, the demo store ``OUT/store-N`` (built as ``bench/query.py`` builds it; the
demo plants order journeys keyed by ``correlation_id``, about 6% of the events):

- **funnel**: ``store.funnel(order.created, payment.captured, order.packed,
  order.shipped, by="correlation_id", within="1d")`` against DuckDB SQL that finds each
  next step with an ASOF join (the first event of the step after the previous one, same
  key), keeps the furthest attempt per key with ``row_number()`` and takes
  ``quantile_cont`` of the times between steps;
- **sessions**: ``store.sessions(by="correlation_id", end="type in ('order.shipped',
  'order.cancelled', 'payment.failed')")`` against SQL with window functions (an
  operation starts at a key's first event or after an end; ``sum() OVER`` numbers them)
  grouping start, end, events, errors, first and last type.

Both answer in this process: one warm-up each, then ``--runs`` timed calls interleaved
A B A B (``time.perf_counter``, ``gc.collect()`` untimed before each); the ratio is the
median of the pairwise mfq/DuckDB ratios. Peak memory: each call once more alone in a
child process (``ru_maxrss``). Targets: ratio <= 2, mfq's peak < 2 GiB at 10M events.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from common import ensure_demo_store
from query import Launcher

BENCH = Path(__file__).resolve().parent
RATIO_TARGET = 2.0
PEAK_TARGET_MIB = 2048.0
STEPS = ["order.placed", "order.paid", "order.packed", "order.dispatched"]
END_TYPES = ("order.dispatched", "order.cancelled", "order.payment_declined")
ENDS = f"type in {END_TYPES!r}"
WITHIN_MS = 86_400_000


def files_sql(store: Path) -> str:
    return f"read_parquet('{store}/events/*/*.parquet', union_by_name = true)"


def funnel_sql(store: Path) -> str:
    """The funnel in SQL: ASOF joins for the next step, the furthest attempt per key."""
    steps = ", ".join(f"'{step}'" for step in STEPS)
    return f"""
    WITH ev AS (SELECT correlation_id AS k, epoch_ms(timestamp::TIMESTAMPTZ) AS ts, type
                FROM {files_sql(store)}
                WHERE correlation_id IS NOT NULL AND type IN ({steps})),
    s1 AS (SELECT k, ts AS t1 FROM ev WHERE type = '{STEPS[0]}'),
    e2 AS (SELECT k, ts FROM ev WHERE type = '{STEPS[1]}'),
    e3 AS (SELECT k, ts FROM ev WHERE type = '{STEPS[2]}'),
    e4 AS (SELECT k, ts FROM ev WHERE type = '{STEPS[3]}'),
    j2 AS (SELECT s1.k, s1.t1, CASE WHEN e2.ts <= s1.t1 + {WITHIN_MS} THEN e2.ts END AS t2
           FROM s1 ASOF LEFT JOIN e2 ON s1.k = e2.k AND s1.t1 < e2.ts),
    j3 AS (SELECT j2.*, CASE WHEN e3.ts <= j2.t1 + {WITHIN_MS} THEN e3.ts END AS t3
           FROM j2 ASOF LEFT JOIN e3 ON j2.k = e3.k AND j2.t2 < e3.ts),
    j4 AS (SELECT j3.*, CASE WHEN e4.ts <= j3.t1 + {WITHIN_MS} THEN e4.ts END AS t4
           FROM j3 ASOF LEFT JOIN e4 ON j3.k = e4.k AND j3.t3 < e4.ts),
    best AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY k ORDER BY
               (t2 IS NOT NULL)::INT + (t3 IS NOT NULL)::INT + (t4 IS NOT NULL)::INT DESC,
               t1) AS n FROM j4) WHERE n = 1)
    SELECT count(*), count(t2), count(t3), count(t4),
           quantile_cont(t2 - t1, [0.5, 0.95]), quantile_cont(t3 - t2, [0.5, 0.95]),
           quantile_cont(t4 - t3, [0.5, 0.95])
    FROM best
    """


def sessions_sql(store: Path) -> str:
    """Operations cut at the end types, with window functions."""
    return f"""
    WITH ev AS (SELECT correlation_id AS k, timestamp AS ts, type, status,
                       type IN {END_TYPES!r} AS fin
                FROM {files_sql(store)} WHERE correlation_id IS NOT NULL),
    flagged AS (SELECT *, coalesce(lag(fin) OVER (PARTITION BY k ORDER BY ts), true) AS new
                FROM ev),
    numbered AS (SELECT *, sum(new::INT) OVER (PARTITION BY k ORDER BY ts) AS op FROM flagged)
    SELECT k, op, min(ts) AS start, max(ts) AS stop, count(*) AS events,
           count(*) FILTER (WHERE status = 'error') AS errors,
           arg_min(type, ts) AS first_type, arg_max(type, ts) AS last_type,
           bool_or(fin) AS ended
    FROM numbered GROUP BY k, op ORDER BY start, k
    """


def child_peak(launcher: Launcher, code: str, out: Path) -> float:
    """Peak RSS (MiB) of ``python -c code`` in a child of its own, started by the launcher
    (a child of this process would inherit this process's high-water mark)."""
    sample = launcher.checked([sys.executable, "-c", code], out)
    return float(sample.peak_mib)


def interleaved(
    ours: Callable[[], object], theirs: Callable[[], object], runs: int
) -> dict[str, Any]:
    ours()
    theirs()
    walls: dict[str, list[float]] = {"mfq": [], "duckdb": []}
    for _ in range(runs):
        for name, call in (("mfq", ours), ("duckdb", theirs)):
            gc.collect()
            started = time.perf_counter()
            call()
            walls[name].append(time.perf_counter() - started)
    ratios = [a / b for a, b in zip(walls["mfq"], walls["duckdb"], strict=True)]
    return {
        "mfq_median_s": round(statistics.median(walls["mfq"]), 4),
        "duckdb_median_s": round(statistics.median(walls["duckdb"]), 4),
        "ratio": round(statistics.median(ratios), 2),
    }


def _fetch_all(con: Any, sql: str) -> object:
    return con.sql(sql).fetchall()


def bench_size(events: int, runs: int, out: Path, launcher: Launcher) -> list[dict[str, Any]]:
    import duckdb

    import mfq

    store_path = ensure_demo_store(out, events)
    store = mfq.open_store(store_path)
    con = duckdb.connect()
    results = []
    cases: dict[str, tuple[Callable[[], object], str, str]] = {
        "funnel (4 steps)": (
            lambda: store.funnel(STEPS, by="correlation_id", within="1d"),
            funnel_sql(store_path),
            f"store.funnel({STEPS!r}, by='correlation_id', within='1d')",
        ),
        "sessions": (
            lambda: store.sessions(by="correlation_id", end=ENDS),
            sessions_sql(store_path),
            f"store.sessions(by='correlation_id', end={ENDS!r})",
        ),
    }
    for name, (ours, sql, call) in cases.items():
        timing = interleaved(ours, partial(_fetch_all, con, sql), runs)
        mfq_peak = child_peak(
            launcher, f"import mfq; store = mfq.open_store({str(store_path)!r}); {call}", out
        )
        duck_peak = child_peak(launcher, f"import duckdb; duckdb.sql({sql!r}).fetchall()", out)
        results.append(
            {
                "events": events,
                "case": name,
                **timing,
                "mfq_peak_mib": round(mfq_peak, 1),
                "duckdb_peak_mib": round(duck_peak, 1),
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append", default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")
    options = parser.parse_args()
    sizes = options.events or [1_000_000, 10_000_000]
    options.out.mkdir(parents=True, exist_ok=True)
    with Launcher() as launcher:  # first, while this process is small
        results = [
            row for size in sizes for row in bench_size(size, options.runs, options.out, launcher)
        ]
    if options.json:
        print(json.dumps({"runs": options.runs, "results": results}, indent=2))
        return 0
    for row in results:
        within = row["ratio"] <= RATIO_TARGET
        memory = row["events"] < 10_000_000 or row["mfq_peak_mib"] < PEAK_TARGET_MIB
        verdict = "PASS" if within and memory else "FAIL"
        print(
            f"{verdict}  {row['events']:>10,}  {row['case']:<17} mfq {row['mfq_median_s']:7.3f} s"
            f"  duckdb {row['duckdb_median_s']:7.3f} s  ratio {row['ratio']:5.2f}"
            f"  peak mfq {row['mfq_peak_mib']:7.1f} MiB, duckdb {row['duckdb_peak_mib']:7.1f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
