"""Query benchmark: the six queries of the suite, mfq against DuckDB SQL on the same Parquet files.

Run it from the repository root::

    .venv/bin/python bench/query.py                      # 1,000,000 events, 5 runs, both modes
    .venv/bin/python bench/query.py --events 10000000 --mode inprocess
    .venv/bin/python bench/query.py --events 200000 --runs 3 --json   # one JSON object
    .venv/bin/python bench/query.py --events 10000000 --engine dask   # + the Dask engine
    .venv/bin/python bench/query.py --baseline ../wt-base --runs 9    # against another checkout

The suite (each query also written as the equivalent DuckDB SQL, see :func:`build_queries`):

- Q1 count of errors in prod by service (``mfq query --where ... --group-by service``);
- Q2 p50/p95/p99 of ``duration_ms`` by service per hour (``mfq timeseries --every 1h``);
- Q3 count by type per day, the 10 largest types, the rest folded into OTHER (``--top 10``);
- Q4 error ratio per service per 5 minutes over 2026-11-19;
- Q5 every event of one trace (the largest trace in the store, found with DuckDB);
- Q6 ``count_distinct(actor_profile_id)`` by project over the last 7 days before
  2026-11-23T00:00:00Z.

The SQL answers the same question as mfq: ``count`` and ``ratio`` weight each event by
``coalesce(sample_rate, 1)``, percentiles are ``quantile_cont`` (linear interpolation, as mfq),
and the time series fill empty buckets (every series times every bucket of the range) as
``mfq timeseries`` does. Files are read with ``read_parquet([...], union_by_name = true,
hive_partitioning = false)`` over the store's event files as its catalog lists them.

What it does and measures:

1. Builds the store ``OUT/store-N`` (``OUT`` is ``bench/out`` by default, git-ignored) from
   ``--events`` demo events (``mfq.demo``, seed ``--seed``) with ``mfq ingest``, unless the
   sidecar ``OUT/store-N.meta.json`` says an identical one is there and this mfq opens its
   catalog (``--rebuild`` forces it). The NDJSON export ``OUT/events-N.ndjson`` is shared
   with ``bench/ingest.py``; from 10,000,000 events on it is deleted after the ingest (it is
   about 5 GB). Free disk space is checked first.
2. Runs every query once with DuckDB in this process for its reference row count.
3. ``--mode process``: for each query, ``mfq <command> ... --format json`` (the ``mfq``
   executable next to ``sys.executable``) against ``python -c "import duckdb;
   duckdb.sql(SQL).fetchall()"``, both as whole subprocesses, one untimed warm-up of each,
   then ``--runs`` timed runs interleaved A B A B. Each run records its wall time and the
   peak RSS of that child alone (``ru_maxrss`` from ``os.wait4`` on its pid). Every child is
   started by a small launcher process, not by this one: Linux carries a parent's memory
   high-water mark into its child across fork and exec, so children started from this
   process (which holds DuckDB's and mfq's in-process answers) would report its peak.
4. ``--mode inprocess``: in this process, the Python API (``mfq.open_store(...).query(...)``,
   ``.timeseries(...)``, ``.events(...)``) against ``con.sql(SQL).fetchall()`` on one DuckDB
   connection, one warm-up call of each, then ``--runs`` timed calls interleaved A B A B
   (``time.perf_counter``; a ``gc.collect()`` before each timed call, not timed). Then each
   API call runs once more alone in a child (``python -c "import mfq; ..."``), and so does
   the DuckDB command of step 3, for their peak RSS.
5. Checks that mfq and DuckDB return the same number of rows for every query (a mismatch is
   a warning, printed and kept in the results).
6. Times ``mfq --help`` (median of 10 runs after one warm-up).
7. Prints one table per mode (or, with ``--json``, one JSON object) and the acceptance
   targets that apply to the ``--events`` and ``--mode`` being run, as PASS/FAIL lines:

   - in-process on 10,000,000 events: every query's median pairwise ratio mfq/duckdb <= 1.5;
   - whole process on 1,000,000 events: every query's median pairwise ratio <= 2.0 (issue
     17's start-up target);
   - peak memory of Q2 on 10,000,000 events < 2 GiB (the API call in a child; with
     ``--mode process`` alone, the largest peak of the ``mfq timeseries`` runs);
   - ``mfq --help`` median < 0.2 s (always).

   A FAIL is reported, not turned into an exit status; the exit status is 1 only when a
   command failed.
8. With ``--engine dask``, every query also runs on the Dask engine, beside the pandas
   engine and DuckDB, interleaved A B C: ``mfq ... --engine dask --scheduler ADDRESS``
   (whole process) and ``mfq.open_store(..., engine="dask", scheduler=ADDRESS)`` (in
   process). The cluster is ``--scheduler``, else one started for the benchmark and not
   measured: ``dask scheduler`` and ``--dask-workers`` ``dask worker`` processes with
   ``--dask-threads`` threads each. The peaks are the client's alone (the workers are
   not its children). Each Dask answer is compared with the local engine's (a
   difference is a warning); the targets add: the client's peak memory on 10,000,000
   events < 512 MiB (the largest query; the client never holds the events). One more
   whole-process run of Q1 with ``--engine dask`` and no scheduler shows what a command
   that starts (and stops) its own local cluster takes.

9. With ``--baseline DIR`` (another checkout with its own ``.venv``: ``git worktree add
   DIR REV`` and ``make venv`` there), none of the above: every query runs as a whole
   ``mfq`` process of this checkout and of ``DIR``'s, one warm-up of each (answers
   compared), then ``--runs`` pairs in alternating order; per query the median wall and
   CPU (user + sys) times of each and the medians of the pairwise ratios new/baseline.
   Target: no median wall ratio above 1.05.

Progress goes to stderr, so ``--json`` output can be redirected as it is.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    DEFAULT_EVENTS,
    DEFAULT_RUNS,
    MAX_HELP_SECONDS,
    BenchError,
    DaskCluster,
    Sample,
    Target,
    build_parser,
    common_options,
    ensure_export,
    environment,
    export_is_current,
    export_meta,
    export_path,
    help_line,
    help_summary,
    mfq_executable,
    name_suffix,
    pair_ratios,
    peak_summary,
    positive_int,
    progress,
    ratio_summary,
    require_success,
    run_help,
    run_line,
    sample_of,
    sql_string,
    target_lines,
    target_rows,
    wall_summary,
)
from mfq.demo import DemoConfig

MODES = ("process", "inprocess", "both")
ENGINES = ("local", "pandas", "dask")
#: The Dask client's peak memory (largest query) on 10,000,000 events.
MAX_DASK_CLIENT_PEAK_MIB = 512.0

#: From this many events on, the NDJSON export is deleted once the store is built.
DELETE_EXPORT_FROM = 10_000_000
#: Disk estimates per event (measured on demo data), for the free-space check.
EXPORT_BYTES_PER_EVENT = 560
STORE_BYTES_PER_EVENT = 60
DISK_MARGIN_BYTES = 1 << 30

INPROCESS_TARGET_EVENTS = 10_000_000
MAX_INPROCESS_RATIO = 1.5
PROCESS_TARGET_EVENTS = 1_000_000
MAX_PROCESS_RATIO = 2.0
MEMORY_TARGET_EVENTS = 10_000_000
MAX_Q2_PEAK_MIB = 2048.0

#: ``--now`` and ``--last`` of Q6, and the day of Q4.
Q6_NOW = "2026-11-23T00:00:00Z"
Q6_LAST = "7d"
Q6_SINCE_SQL = "TIMESTAMPTZ '2026-11-16 00:00:00+00'"
Q6_UNTIL_SQL = "TIMESTAMPTZ '2026-11-23 00:00:00+00'"
Q4_SINCE = "2026-11-19T00:00:00Z"
Q4_UNTIL = "2026-11-20T00:00:00Z"
Q4_SINCE_SQL = "TIMESTAMPTZ '2026-11-19 00:00:00+00'"
Q4_UNTIL_SQL = "TIMESTAMPTZ '2026-11-20 00:00:00+00'"


@dataclass(frozen=True, slots=True)
class Options:
    """The command line, parsed."""

    events: int
    runs: int
    mode: str
    seed: int
    out: Path
    rebuild: bool
    json: bool
    #: ``dask``: every query on the Dask engine too (beside the local engine and DuckDB).
    engine: str = "local"
    #: A running Dask scheduler to use; None starts a cluster for the benchmark.
    scheduler: str | None = None
    dask_workers: int = 2
    dask_threads: int = 1
    #: Another checkout (with its own ``.venv``) whose ``mfq`` runs against this one.
    baseline: Path | None = None

    @property
    def dask(self) -> bool:
        return self.engine == "dask"

    @property
    def process(self) -> bool:
        return self.mode in ("process", "both")

    @property
    def inprocess(self) -> bool:
        return self.mode in ("inprocess", "both")


@dataclass(frozen=True, slots=True)
class Query:
    """One query of the suite: the mfq command line, the same call in the Python API, and SQL."""

    id: str
    title: str
    #: Arguments after ``mfq`` (``--store`` and ``--format json`` are added when run).
    cli: tuple[str, ...]
    #: ``Store`` method (``query``, ``timeseries`` or ``events``) and its keyword arguments.
    method: str
    kwargs: dict[str, Any]
    sql: str


@dataclass(frozen=True, slots=True)
class Store:
    """The benchmark's store: its directory and the event files its catalog lists."""

    root: Path
    files: tuple[Path, ...]
    bytes: int


@dataclass(slots=True)
class Comparison:
    """One query in one mode: wall times of each side (mfq on the local engine, DuckDB,
    and with ``--engine dask`` mfq on Dask), peaks, row counts."""

    mfq_walls: list[float] = field(default_factory=list)
    duck_walls: list[float] = field(default_factory=list)
    mfq_peaks: list[float] = field(default_factory=list)
    duck_peaks: list[float] = field(default_factory=list)
    mfq_rows: int | None = None
    duck_rows: int | None = None
    dask_walls: list[float] = field(default_factory=list)
    dask_peaks: list[float] = field(default_factory=list)
    dask_rows: int | None = None
    #: Whether the Dask engine's answer equals the local engine's (None: not run).
    dask_same: bool | None = None

    def ratios(self) -> list[float]:
        """Run i of mfq over run i of DuckDB."""
        return pair_ratios(self.mfq_walls, self.duck_walls)

    def as_dict(self) -> dict[str, Any]:
        ratios = self.ratios()
        result: dict[str, Any] = {
            "mfq": _stats(self.mfq_walls, self.mfq_peaks),
            "duckdb": _stats(self.duck_walls, self.duck_peaks),
            "ratio": ratio_summary(ratios, 4),
            "rows": {"mfq": self.mfq_rows, "duckdb": self.duck_rows},
        }
        if self.dask_walls:
            result["dask"] = _stats(self.dask_walls, self.dask_peaks)
            result["dask_ratio_duckdb"] = ratio_summary(
                pair_ratios(self.dask_walls, self.duck_walls), 4
            )
            result["dask_ratio_pandas"] = ratio_summary(
                pair_ratios(self.dask_walls, self.mfq_walls), 4
            )
            result["rows"]["dask"] = self.dask_rows
            result["dask_equals_pandas"] = self.dask_same
        return result


def _stats(walls: Sequence[float], peaks: Sequence[float]) -> dict[str, Any]:
    """Per-run wall times and their median / min / max, and peak RSS when measured."""
    stats: dict[str, Any] = {
        "wall_seconds": [round(w, 4) for w in walls],
        **wall_summary(walls),
    }
    if peaks:
        stats["peak_mib"] = [round(p, 1) for p in peaks]
        stats.update(peak_summary(peaks))
    return stats


# --- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Parse the command line into :class:`Options`."""
    parser = build_parser(
        "Benchmark mfq's queries against the same questions in DuckDB SQL.",
        events_help=f"events in the store (default {DEFAULT_EVENTS:,})",
        runs_help=(
            f"timed runs of each query on each side, after one warm-up (default {DEFAULT_RUNS})"
        ),
        out_help="directory for the export and the store (default bench/out)",
        json_help="print the results as one JSON object instead of the tables",
        after_runs=lambda p: p.add_argument(
            "--mode",
            choices=MODES,
            default="both",
            help="whole subprocesses, calls in this process, or both (default both)",
        ),
        after_out=_store_and_engine_arguments,
    )
    args = parser.parse_args(argv)
    return Options(
        **common_options(args),
        mode=args.mode,
        rebuild=args.rebuild,
        engine=args.engine,
        scheduler=args.scheduler,
        dask_workers=args.dask_workers,
        dask_threads=args.dask_threads,
        baseline=args.baseline,
    )


def _store_and_engine_arguments(parser: Any) -> None:
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="ingest the store again even when an identical one is there",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="dask: every query on the Dask engine too, beside the local engine and DuckDB",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="a running Dask scheduler (default: start one with workers for the benchmark)",
    )
    parser.add_argument(
        "--dask-workers",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="worker processes of the benchmark's Dask cluster (default: the CPU count)",
    )
    parser.add_argument(
        "--dask-threads",
        type=positive_int,
        default=1,
        help="threads per worker of the benchmark's Dask cluster (default 1)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="DIR",
        help=(
            "another checkout with its own .venv (git worktree add DIR REV; make venv): "
            "its mfq against this one, whole processes interleaved, instead of the modes"
        ),
    )


# --- running one child --------------------------------------------------------------------

#: The launcher: runs :func:`common.serve` (one JSON request per line, ``cmd`` and ``cwd``,
#: each run as ``bench/ingest.py`` runs its children: Popen, then ``os.wait4`` on its pid for
#: that child's own ``ru_maxrss``; one JSON line back). ``common`` imports nothing heavy.
LAUNCHER_CODE = f"import sys; sys.path.insert(0, {str(BENCH_DIR)!r}); import common; common.serve()"


class Launcher:
    """Starts every measured child from a small helper process, not from this one.

    Linux carries the parent's memory high-water mark into a child across fork/vfork and
    exec, so ``ru_maxrss`` of a child started here would be at least this process's own peak
    (which grows with the in-process runs and DuckDB's reference answers). The helper stays
    at a few MiB, well under any Python child's own peak, so the children's numbers are theirs.
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def measure(self, cmd: Sequence[str], cwd: Path) -> Sample:
        """Run ``cmd`` to completion; its wall time and the peak RSS of that child alone."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"cmd": list(cmd), "cwd": str(cwd)}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise BenchError(f"the launcher process exited (status {proc.wait()})")
        return sample_of(json.loads(line))

    def checked(self, cmd: Sequence[str], cwd: Path) -> Sample:
        """:meth:`measure`, raising :class:`BenchError` unless the command exits with 0."""
        return require_success(self.measure(cmd, cwd), cmd, shown_chars=500)

    def close(self) -> None:
        """End the helper: it exits when its input closes."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the store ----------------------------------------------------------------------------


def catalog_event_files(root: Path) -> list[Path]:
    """The store's event files as its SQLite catalog lists them (absolute paths)."""
    import sqlite3

    with sqlite3.connect(f"file:{root / 'catalog.sqlite'}?mode=ro", uri=True) as catalog:
        rows = catalog.execute("SELECT path FROM files WHERE kind = 'events' ORDER BY path")
        return [root / path for (path,) in rows.fetchall()]


def check_disk(out: Path, events: int, need_export: bool) -> None:
    """Raise :class:`BenchError` with a clear message unless the export and store fit."""
    out.mkdir(parents=True, exist_ok=True)
    export_bytes = events * EXPORT_BYTES_PER_EVENT if need_export else 0
    needed = export_bytes + events * STORE_BYTES_PER_EVENT + DISK_MARGIN_BYTES
    free = shutil.disk_usage(out).free
    if free < needed:
        raise BenchError(
            f"not enough free disk space in {out}: about {needed / 2**30:.1f} GiB needed "
            f"(NDJSON export ~{export_bytes / 2**30:.1f} GiB, store "
            f"~{events * STORE_BYTES_PER_EVENT / 2**30:.1f} GiB, 1 GiB margin), "
            f"{free / 2**30:.1f} GiB free; free some space or pass --out on another disk"
        )


def store_opens(root: Path) -> str | None:
    """None when this version of mfq reads the store's catalog, else why it cannot (a store
    written by an older mfq whose catalog layout has changed since is rebuilt)."""
    import mfq

    try:
        with mfq.open_store(root) as store:
            store.catalog.files("events")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def ensure_store(opts: Options, launcher: Launcher) -> Store:
    """The store of ``opts.events`` demo events, ingested unless its sidecar says it is there."""
    config = DemoConfig(events=opts.events, seed=opts.seed)
    suffix = name_suffix(opts.events, opts.seed)
    root = opts.out / f"store-{suffix}"
    marker = opts.out / f"store-{suffix}.meta.json"
    if not opts.rebuild and marker.exists() and (root / "catalog.sqlite").exists():
        meta = json.loads(marker.read_text())
        files = catalog_event_files(root)
        if (
            meta.get("config") == repr(config)
            and meta.get("files") == len(files)
            and all(f.exists() for f in files)
        ):
            problem = store_opens(root)
            if problem is None:
                size = sum(f.stat().st_size for f in files)
                progress(f"reusing store {root} ({len(files)} files, {size / 2**20:,.1f} MiB)")
                return Store(root, tuple(files), size)
            progress(f"store {root} does not open with this mfq ({problem}): rebuilding it")
    marker.unlink(missing_ok=True)
    shutil.rmtree(root, ignore_errors=True)
    export = export_path(opts.out, opts.events, opts.seed)
    check_disk(opts.out, opts.events, need_export=not export_is_current(export, config))
    ensure_export(export, config)
    progress(f"ingesting into {root} ...")
    cmd = [str(mfq_executable()), "ingest", str(export), "--store", str(root), "--format", "json"]
    try:
        sample = launcher.checked(cmd, opts.out)
        summary = json.loads(sample.stdout)
        # The demo adds its journeys' events to the N asked for: every line read is stored.
        read, ingested = summary.get("read"), summary.get("ingested")
        if not (read == ingested and isinstance(ingested, int) and ingested >= opts.events):
            raise BenchError(f"mfq ingest summary, expected {opts.events} events: {summary}")
    except (BenchError, json.JSONDecodeError):
        shutil.rmtree(root, ignore_errors=True)
        raise
    files = catalog_event_files(root)
    size = sum(f.stat().st_size for f in files)
    progress(f"  {len(files)} files, {size / 2**20:,.1f} MiB in {sample.wall:.1f} s")
    marker.write_text(
        json.dumps(
            {"config": repr(config), "events": opts.events, "files": len(files), "bytes": size},
            indent=2,
        )
        + "\n"
    )
    if opts.events >= DELETE_EXPORT_FROM:
        progress(f"deleting the export {export} ({export.stat().st_size / 2**30:.1f} GiB)")
        export.unlink()
        export_meta(export).unlink(missing_ok=True)
    return Store(root, tuple(files), size)


# --- the suite ----------------------------------------------------------------------------


def source_sql(files: Sequence[Path]) -> str:
    """``read_parquet`` over the store's event files."""
    listed = ", ".join(sql_string(str(f)) for f in files)
    return f"read_parquet([{listed}], union_by_name = true, hive_partitioning = false)"


def pick_trace_id(source: str) -> str:
    """The trace with the most events (ties: the smallest id), read with DuckDB."""
    import duckdb

    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT trace_id FROM {source} WHERE trace_id IS NOT NULL "
            "GROUP BY trace_id ORDER BY count(*) DESC, trace_id LIMIT 1"
        ).fetchall()
    if not rows:
        raise BenchError("the store has no event with a trace_id")
    return str(rows[0][0])


def filled_series_sql(aggregated: str, key: str, buckets: str, columns: str) -> str:
    """Every ``key`` series times every bucket, left-joined to ``aggregated`` (a CTE body
    with ``time``, ``key`` and the aggregate columns): gaps filled as mfq fills them."""
    return f"""WITH agg AS (
    {aggregated}
),
grid AS (
    SELECT b.time, s.{key}
    FROM (SELECT DISTINCT {key} FROM agg) AS s
    CROSS JOIN ({buckets}) AS b
)
SELECT g.time, g.{key}, {columns}
FROM grid AS g
LEFT JOIN agg AS a ON a.time = g.time AND a.{key} IS NOT DISTINCT FROM g.{key}
ORDER BY g.time, g.{key}"""


def buckets_of_data(width: str) -> str:
    """Buckets from the first to the last one holding events (mfq, with no time range)."""
    return (
        f"SELECT unnest(range(min(time), max(time) + INTERVAL '{width}', "
        f"INTERVAL '{width}')) AS time FROM agg"
    )


def build_queries(files: Sequence[Path], trace_id: str) -> list[Query]:
    """The eight queries: mfq command line, Python API call and DuckDB SQL (Q7 and Q8
    use derived fields)."""
    src = source_sql(files)
    weight = "coalesce(sample_rate, 1)"
    q2_aggs = ("p50(duration_ms)", "p95(duration_ms)", "p99(duration_ms)")
    q4_agg = "ratio(status = 'error')"
    q6_agg = "count_distinct(actor_profile_id)"
    trace_filter = f"trace_id = {sql_string(trace_id)}"
    return [
        Query(
            id="Q1",
            title="errors in prod by service",
            cli=(
                "query",
                "--where",
                "environment = 'prod' and status = 'error'",
                "--group-by",
                "service",
            ),
            method="query",
            kwargs={"where": "environment = 'prod' and status = 'error'", "group_by": "service"},
            sql=f"""SELECT service, sum({weight}) AS count
FROM {src}
WHERE environment = 'prod' AND status = 'error'
GROUP BY service
ORDER BY count DESC, service""",
        ),
        Query(
            id="Q2",
            title="p50/p95/p99 duration by service per hour",
            cli=(
                "timeseries",
                "--every",
                "1h",
                "--by",
                "service",
                *(arg for agg in q2_aggs for arg in ("--agg", agg)),
            ),
            method="timeseries",
            kwargs={"every": "1h", "by": "service", "aggs": list(q2_aggs)},
            sql=filled_series_sql(
                f"""SELECT time_bucket(INTERVAL '1 hour', timestamp) AS time, service,
        quantile_cont(duration_ms, 0.5) AS p50,
        quantile_cont(duration_ms, 0.95) AS p95,
        quantile_cont(duration_ms, 0.99) AS p99
    FROM {src}
    GROUP BY ALL""",
                "service",
                buckets_of_data("1 hour"),
                "a.p50, a.p95, a.p99",
            ),
        ),
        Query(
            id="Q3",
            title="count by type per day, top 10",
            cli=("timeseries", "--every", "1d", "--by", "type", "--top", "10"),
            method="timeseries",
            kwargs={"every": "1d", "by": "type", "top": 10},
            sql=f"""WITH events AS (
    SELECT timestamp, type, {weight} AS w FROM {src}
),
top AS (
    SELECT type FROM events GROUP BY type ORDER BY sum(w) DESC, type LIMIT 10
),
"""
            + filled_series_sql(
                """SELECT time_bucket(INTERVAL '1 day', timestamp) AS time,
        CASE WHEN type IN (SELECT type FROM top) THEN type ELSE 'OTHER' END AS type,
        sum(w) AS count
    FROM events
    GROUP BY ALL""",
                "type",
                buckets_of_data("1 day"),
                "coalesce(a.count, 0) AS count",
            ).removeprefix("WITH "),
        ),
        Query(
            id="Q4",
            title="error ratio by service per 5 min, one day",
            cli=(
                "timeseries",
                "--every",
                "5m",
                "--by",
                "service",
                "--agg",
                q4_agg,
                "--since",
                Q4_SINCE,
                "--until",
                Q4_UNTIL,
            ),
            method="timeseries",
            kwargs={
                "every": "5m",
                "by": "service",
                "aggs": q4_agg,
                "since": Q4_SINCE,
                "until": Q4_UNTIL,
            },
            sql=filled_series_sql(
                f"""SELECT time_bucket(INTERVAL '5 minutes', timestamp) AS time, service,
        sum(CASE WHEN status = 'error' THEN {weight} ELSE 0 END)::DOUBLE
            / sum({weight}) AS error_ratio
    FROM {src}
    WHERE timestamp >= {Q4_SINCE_SQL} AND timestamp < {Q4_UNTIL_SQL}
    GROUP BY ALL""",
                "service",
                f"SELECT unnest(range({Q4_SINCE_SQL}, {Q4_UNTIL_SQL}, "
                "INTERVAL '5 minutes')) AS time",
                "a.error_ratio",
            ),
        ),
        Query(
            id="Q5",
            title="all events of one trace",
            cli=("events", "--where", trace_filter),
            method="events",
            kwargs={"where": trace_filter},
            sql=f"SELECT * FROM {src}\nWHERE {trace_filter}\nORDER BY timestamp",
        ),
        Query(
            id="Q6",
            title="distinct actors by project, last 7 days",
            cli=(
                "query",
                "--group-by",
                "project_id",
                "--agg",
                q6_agg,
                "--now",
                Q6_NOW,
                "--last",
                Q6_LAST,
            ),
            method="query",
            kwargs={"group_by": "project_id", "aggs": q6_agg, "now": Q6_NOW, "last": Q6_LAST},
            sql=f"""SELECT project_id, count(DISTINCT actor_profile_id) AS actors
FROM {src}
WHERE timestamp >= {Q6_SINCE_SQL} AND timestamp < {Q6_UNTIL_SQL}
GROUP BY project_id
ORDER BY actors DESC, project_id""",
        ),
        Query(
            id="Q7",
            title="slow prod events by service (--let)",
            cli=(
                "query",
                "--let",
                "slow = duration_ms > 800",
                "--where",
                "slow and environment = 'prod'",
                "--group-by",
                "service",
            ),
            method="query",
            kwargs={
                "let": "slow = duration_ms > 800",
                "where": "slow and environment = 'prod'",
                "group_by": "service",
            },
            sql=f"""SELECT service, sum({weight}) AS count
FROM {src}
WHERE duration_ms > 800 AND environment = 'prod'
GROUP BY service
ORDER BY count DESC, service""",
        ),
        Query(
            id="Q8",
            title="count, mean by bucket(duration_ms, 250)",
            cli=(
                "query",
                "--group-by",
                "bucket(duration_ms, 250)",
                "--agg",
                "count",
                "--agg",
                "sum(duration_ms) / count as mean",
            ),
            method="query",
            kwargs={
                "group_by": "bucket(duration_ms, 250)",
                "aggs": ["count", "sum(duration_ms) / count as mean"],
            },
            sql=f"""SELECT floor(duration_ms / 250) * 250 AS bucket, sum({weight}) AS count,
    sum(duration_ms * {weight}) / sum({weight}) AS mean
FROM {src}
GROUP BY bucket
ORDER BY count DESC, bucket""",
        ),
    ]


def mfq_command(mfq: Path, store: Store, query: Query) -> list[str]:
    """``mfq <command> ... --store DIR --format json``."""
    return [str(mfq), *query.cli, "--store", str(store.root), "--format", "json"]


def duckdb_command(query: Query) -> list[str]:
    """``python -c "import duckdb; duckdb.sql(SQL).fetchall()"``."""
    return [sys.executable, "-c", f"import duckdb; duckdb.sql({query.sql!r}).fetchall()"]


def api_command(store: Store, query: Query, scheduler: str | None = None) -> list[str]:
    """``python -c "import mfq; mfq.open_store(DIR).<method>(**kwargs)"`` (on the Dask
    cluster at ``scheduler`` when given)."""
    engine = "" if scheduler is None else f", engine='dask', scheduler={scheduler!r}"
    code = (
        f"import mfq\nwith mfq.open_store({str(store.root)!r}{engine}) as store: "
        f"store.{query.method}(**{query.kwargs!r})"
    )
    return [sys.executable, "-c", code]


def dask_command(command: list[str], scheduler: str) -> list[str]:
    """An ``mfq`` command line on the Dask cluster at ``scheduler``."""
    return [*command, "--engine", "dask", "--scheduler", scheduler]


def same_json(expected: str, answer: str) -> bool:
    """Whether two ``--format json`` outputs hold the same rows (floats to 1e-9: sums may
    run in another order)."""

    def same(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float | int):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return a == b

    return same(json.loads(expected), json.loads(answer))


def same_frame(expected: Any, answer: Any) -> bool:
    """Whether two API answers (DataFrames) are equal (floats to 1e-9)."""
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(answer, expected, check_exact=False, rtol=1e-9, atol=1e-12)
    except AssertionError:
        return False
    return True


def json_rows(stdout: str) -> int:
    """The number of rows in ``mfq ... --format json`` output (a JSON array of objects)."""
    try:
        parsed = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise BenchError(f"mfq printed no JSON ({exc}):\n{stdout[:2000]}") from exc
    if not isinstance(parsed, list):
        raise BenchError(f"mfq printed JSON that is not an array: {stdout[:2000]}")
    return len(parsed)


# --- the two modes ------------------------------------------------------------------------


def reference_rows(queries: Sequence[Query]) -> dict[str, int]:
    """Row counts of the DuckDB answers, computed once in this process."""
    import duckdb

    rows: dict[str, int] = {}
    with duckdb.connect() as con:
        for query in queries:
            rows[query.id] = len(con.sql(query.sql).fetchall())
            progress(f"{query.id}: duckdb returns {rows[query.id]:,} rows")
    return rows


def run_process(
    opts: Options,
    launcher: Launcher,
    store: Store,
    queries: Sequence[Query],
    reference: dict[str, int],
    scheduler: str | None = None,
) -> dict[str, Comparison]:
    """Whole subprocesses: one warm-up of each side, then ``opts.runs`` interleaved runs
    (local engine, DuckDB, and the Dask engine when ``scheduler`` is given)."""
    mfq = mfq_executable()
    cwd = Path(tempfile.gettempdir())
    results: dict[str, Comparison] = {}
    for query in queries:
        a_cmd, b_cmd = mfq_command(mfq, store, query), duckdb_command(query)
        c_cmd = dask_command(a_cmd, scheduler) if scheduler is not None else None
        progress(f"process {query.id} ({query.title}): warm-up")
        comparison = Comparison(duck_rows=reference[query.id])
        expected = launcher.checked(a_cmd, cwd).stdout
        comparison.mfq_rows = json_rows(expected)
        launcher.checked(b_cmd, cwd)
        if c_cmd is not None:
            answer = launcher.checked(c_cmd, cwd).stdout
            comparison.dask_rows = json_rows(answer)
            comparison.dask_same = same_json(expected, answer)
        for i in range(1, opts.runs + 1):
            a = launcher.checked(a_cmd, cwd)
            b = launcher.checked(b_cmd, cwd)
            rows = json_rows(a.stdout)
            if rows != comparison.mfq_rows:
                raise BenchError(
                    f"{query.id}: mfq returned {rows} rows, then {comparison.mfq_rows}"
                )
            comparison.mfq_walls.append(a.wall)
            comparison.mfq_peaks.append(a.peak_mib)
            comparison.duck_walls.append(b.wall)
            comparison.duck_peaks.append(b.peak_mib)
            line = run_line(i, opts.runs, a, b)
            if c_cmd is not None:
                c = launcher.checked(c_cmd, cwd)
                comparison.dask_walls.append(c.wall)
                comparison.dask_peaks.append(c.peak_mib)
                line += f" | dask {c.wall:.3f} s {c.peak_mib:,.0f} MiB"
            progress("  " + line)
        results[query.id] = comparison
    return results


def local_cluster_run(launcher: Launcher, store: Store, query: Query) -> dict[str, Any]:
    """One ``mfq ... --engine dask`` with no scheduler: it starts a local cluster, asks,
    and stops it. Its peak includes the local workers' (they are its children)."""
    cmd = [*mfq_command(mfq_executable(), store, query), "--engine", "dask"]
    sample = launcher.checked(cmd, Path(tempfile.gettempdir()))
    progress(f"{query.id} with a local cluster of its own: {sample.wall:.2f} s")
    return {"query": query.id, "wall": round(sample.wall, 3), "peak_mib": round(sample.peak_mib)}


def timed(call: Callable[[], object]) -> tuple[float, object]:
    """Wall seconds of ``call()`` and its result (a collection first, so it is not timed)."""
    gc.collect()
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def run_inprocess(
    opts: Options,
    launcher: Launcher,
    store: Store,
    queries: Sequence[Query],
    reference: dict[str, int],
    scheduler: str | None = None,
) -> dict[str, Comparison]:
    """API calls and DuckDB in this process, interleaved (and the Dask engine's API calls
    when ``scheduler`` is given); then the peak RSS of each API call (and, for comparison,
    of the DuckDB command) run once alone in a child."""
    import duckdb

    import mfq

    results: dict[str, Comparison] = {}
    cwd = Path(tempfile.gettempdir())
    with contextlib.ExitStack() as stack:
        api = stack.enter_context(mfq.open_store(store.root))
        con = stack.enter_context(duckdb.connect())
        dask_api = (
            stack.enter_context(mfq.open_store(store.root, engine="dask", scheduler=scheduler))
            if scheduler is not None
            else None
        )
        for query in queries:
            method = getattr(api, query.method)

            def call_mfq(method: Any = method, query: Query = query) -> Any:
                return method(**query.kwargs)

            def call_duckdb(query: Query = query) -> object:
                return con.sql(query.sql).fetchall()

            def call_dask(query: Query = query) -> Any:
                return getattr(dask_api, query.method)(**query.kwargs)

            progress(f"in-process {query.id} ({query.title}): warm-up")
            comparison = Comparison(duck_rows=reference[query.id])
            expected = call_mfq()
            comparison.mfq_rows = len(expected)
            call_duckdb()
            if dask_api is not None:
                answer = call_dask()
                comparison.dask_rows = len(answer)
                comparison.dask_same = same_frame(expected, answer)
            for i in range(1, opts.runs + 1):
                a, _ = timed(call_mfq)
                b, _ = timed(call_duckdb)
                comparison.mfq_walls.append(a)
                comparison.duck_walls.append(b)
                line = f"  run {i}/{opts.runs}: mfq {a:.3f} s | duckdb {b:.3f} s | {a / b:.2f}"
                if dask_api is not None:
                    c, _ = timed(call_dask)
                    comparison.dask_walls.append(c)
                    line += f" | dask {c:.3f} s"
                progress(line)
            results[query.id] = comparison
    for query in queries:
        peak = launcher.checked(api_command(store, query), cwd).peak_mib
        duck_peak = launcher.checked(duckdb_command(query), cwd).peak_mib
        results[query.id].mfq_peaks.append(peak)
        results[query.id].duck_peaks.append(duck_peak)
        line = (
            f"in-process {query.id}: alone in a child, peak mfq API {peak:,.0f} MiB"
            f" | duckdb {duck_peak:,.0f} MiB"
        )
        if scheduler is not None:
            dask_peak = launcher.checked(api_command(store, query, scheduler), cwd).peak_mib
            results[query.id].dask_peaks.append(dask_peak)
            line += f" | dask client {dask_peak:,.0f} MiB"
        progress(line)
    return results


# --- results ------------------------------------------------------------------------------


def row_warnings(mode: str, results: dict[str, Comparison]) -> list[str]:
    """One line per query whose mfq and DuckDB row counts differ, or whose Dask answer
    differs from the local engine's."""
    lines = [
        f"rows differ: {mode} {qid}: mfq returned {c.mfq_rows} rows, duckdb {c.duck_rows}"
        for qid, c in results.items()
        if c.mfq_rows != c.duck_rows
    ]
    lines += [
        f"answers differ: {mode} {qid}: the Dask engine's is not the local engine's"
        for qid, c in results.items()
        if c.dask_same is False
    ]
    return lines


def mode_ratio_targets(
    label: str,
    results: dict[str, Comparison] | None,
    other_mode: str,
    events: int,
    target_events: int,
    limit: float,
) -> tuple[list[Target], str | None]:
    """One mode's ratio targets (every query's median ratio mfq/duckdb <= ``limit``), or
    none and the reason why they do not apply (the mode was not run, or the size differs)."""
    if results is None:
        return [], f"{label} ratio <= {limit}: not run (--mode {other_mode})"
    if events != target_events:
        return [], f"{label} ratio <= {limit}: applies to --events {target_events}"
    return [
        Target(f"{label} {qid} ratio mfq/duckdb (median)", statistics.median(c.ratios()), limit, "")
        for qid, c in results.items()
    ], None


def targets(
    opts: Options,
    process: dict[str, Comparison] | None,
    inprocess: dict[str, Comparison] | None,
    help_walls: Sequence[float],
) -> tuple[list[Target], list[str]]:
    """The targets that apply to this run, and a line for each that does not."""
    evaluated: list[Target] = []
    skipped: list[str] = []
    for label, results, other_mode, target_events, limit in (
        ("in-process", inprocess, "process", INPROCESS_TARGET_EVENTS, MAX_INPROCESS_RATIO),
        ("whole-process", process, "inprocess", PROCESS_TARGET_EVENTS, MAX_PROCESS_RATIO),
    ):
        ratio_targets, why_not = mode_ratio_targets(
            label, results, other_mode, opts.events, target_events, limit
        )
        evaluated += ratio_targets
        if why_not is not None:
            skipped.append(why_not)
    if opts.events != MEMORY_TARGET_EVENTS:
        skipped.append(
            f"Q2 peak memory < {MAX_Q2_PEAK_MIB:,.0f} MiB: applies to --events "
            f"{MEMORY_TARGET_EVENTS}"
        )
    else:
        source = inprocess if inprocess is not None else process
        how = "API call in a child" if inprocess is not None else "mfq timeseries, max of runs"
        if source is not None:
            evaluated.append(
                Target(
                    f"Q2 peak memory ({how})",
                    max(source["Q2"].mfq_peaks),
                    MAX_Q2_PEAK_MIB,
                    "MiB",
                    strict=True,
                )
            )
    evaluated += dask_targets(opts, process, inprocess, skipped)
    evaluated.append(
        Target(
            "mfq --help startup (median)",
            statistics.median(help_walls),
            MAX_HELP_SECONDS,
            "s",
            strict=True,
        )
    )
    return evaluated, skipped


def dask_targets(
    opts: Options,
    process: dict[str, Comparison] | None,
    inprocess: dict[str, Comparison] | None,
    skipped: list[str],
) -> list[Target]:
    """With ``--engine dask``: the client's peak memory, largest over the queries."""
    if not opts.dask:
        return []
    name = f"Dask client peak memory < {MAX_DASK_CLIENT_PEAK_MIB:,.0f} MiB"
    if opts.events != MEMORY_TARGET_EVENTS:
        skipped.append(f"{name}: applies to --events {MEMORY_TARGET_EVENTS}")
        return []
    source = inprocess if inprocess is not None else process
    how = "API call in a child" if inprocess is not None else "mfq --engine dask, max of runs"
    if source is None:
        return []
    peak = max(max(c.dask_peaks) for c in source.values())
    label = f"Dask client peak memory, largest query ({how})"
    return [Target(label, peak, MAX_DASK_CLIENT_PEAK_MIB, "MiB", strict=True)]


def summarise(
    opts: Options,
    store: Store,
    trace_id: str,
    queries: Sequence[Query],
    process: dict[str, Comparison] | None,
    inprocess: dict[str, Comparison] | None,
    help_walls: Sequence[float],
    dask: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All results as one JSON-ready object, acceptance targets included (``dask``: the
    cluster used with ``--engine dask``)."""
    evaluated, skipped = targets(opts, process, inprocess, help_walls)
    warnings = []
    if process is not None:
        warnings += row_warnings("process", process)
    if inprocess is not None:
        warnings += row_warnings("in-process", inprocess)
    return {
        "benchmark": "query",
        "events": opts.events,
        "seed": opts.seed,
        "store": {"path": str(store.root), "files": len(store.files), "bytes": store.bytes},
        "trace_id": trace_id,
        "mode": opts.mode,
        "engine": opts.engine,
        "dask": dask,
        "runs": opts.runs,
        "warmup_runs": 1,
        "environment": environment(),
        "queries": [
            {
                "id": q.id,
                "title": q.title,
                "cli": ["mfq", *q.cli],
                "api": {"method": q.method, "kwargs": q.kwargs},
                "sql": q.sql.replace(source_sql(store.files), "read_parquet([<event files>], ...)"),
            }
            for q in queries
        ],
        "process": None if process is None else {k: c.as_dict() for k, c in process.items()},
        "inprocess": None if inprocess is None else {k: c.as_dict() for k, c in inprocess.items()},
        "help": help_summary(help_walls),
        "warnings": warnings,
        "targets": target_rows(evaluated, with_strict=True),
        "targets_not_applicable": skipped,
        "passed": all(t.passed for t in evaluated),
    }


def format_mode(title: str, results: dict[str, Any], titles: dict[str, str]) -> list[str]:
    """One mode's table."""
    if any("dask" in r for r in results.values()):
        return format_mode_with_dask(title, results, titles)
    lines = [
        title,
        f"{'query':<48} {'mfq s':>8} {'duckdb s':>8} {'ratio':>6} {'mfq MiB':>8}"
        f" {'duck MiB':>8} {'rows':>7}",
    ]
    for qid, r in results.items():
        mfq, duck = r["mfq"], r["duckdb"]
        rows = r["rows"]
        rows_text = f"{rows['mfq']}" if rows["mfq"] == rows["duckdb"] else "DIFFER"
        mfq_peak = f"{mfq['peak_mib_max']:,.0f}" if "peak_mib_max" in mfq else "-"
        duck_peak = f"{duck['peak_mib_max']:,.0f}" if "peak_mib_max" in duck else "-"
        lines.append(
            f"{qid + ' ' + titles[qid]:<48} {mfq['wall_median']:>8.3f} {duck['wall_median']:>8.3f}"
            f" {r['ratio']['median']:>6.2f} {mfq_peak:>8} {duck_peak:>8} {rows_text:>7}"
        )
    return lines


def format_mode_with_dask(title: str, results: dict[str, Any], titles: dict[str, str]) -> list[str]:
    """One mode's table, the local engine, the Dask engine and DuckDB side by side."""
    lines = [
        title,
        f"{'query':<44} {'pandas s':>8} {'dask s':>8} {'duckdb s':>8} {'p/duck':>6}"
        f" {'d/duck':>6} {'d/p':>6} {'pandas MiB':>10} {'dask MiB':>8} {'duck MiB':>8}"
        f" {'rows':>7}",
    ]

    def peak(stats: dict[str, Any]) -> str:
        return f"{stats['peak_mib_max']:,.0f}" if "peak_mib_max" in stats else "-"

    for qid, r in results.items():
        mfq, dask, duck, rows = r["mfq"], r["dask"], r["duckdb"], r["rows"]
        same = rows["mfq"] == rows["duckdb"] == rows["dask"] and r["dask_equals_pandas"]
        lines.append(
            f"{qid + ' ' + titles[qid]:<44} {mfq['wall_median']:>8.3f} {dask['wall_median']:>8.3f}"
            f" {duck['wall_median']:>8.3f} {r['ratio']['median']:>6.2f}"
            f" {r['dask_ratio_duckdb']['median']:>6.2f} {r['dask_ratio_pandas']['median']:>6.2f}"
            f" {peak(mfq):>10} {peak(dask):>8} {peak(duck):>8}"
            f" {(str(rows['mfq']) if same else 'DIFFER'):>7}"
        )
    return lines


def format_table(result: dict[str, Any]) -> str:
    """The human-readable report."""
    store = result["store"]
    titles = {q["id"]: q["title"] for q in result["queries"]}
    lines = [
        f"query benchmark: {result['events']:,} events, store {store['files']} files"
        f" {store['bytes'] / 2**20:,.1f} MiB ({result['runs']} timed runs each after 1 warm-up,"
        f" interleaved; {result['environment']['cpus']} CPUs)",
        f"Q5 trace_id: {result['trace_id']}",
    ]
    for key, title, peaks in (
        (
            "process",
            "whole process: `mfq ... --format json` vs `python -c duckdb.sql(SQL).fetchall()`",
            "max ru_maxrss of runs",
        ),
        (
            "inprocess",
            "in-process: Python API vs `con.sql(SQL).fetchall()`",
            "one run alone in a child",
        ),
    ):
        if result[key] is not None:
            lines += [
                "",
                *format_mode(title, result[key], titles),
                f"(median wall s; ratio: median of run-by-run mfq/duckdb; MiB: {peaks})",
            ]
    dask = result.get("dask")
    if dask is not None:
        lines += ["", f"Dask cluster: {dask['cluster']}"]
        local = dask.get("local_cluster")
        if local is not None:
            lines.append(
                f"{local['query']} as one command that starts and stops its own local cluster"
                f" (mfq ... --engine dask, no --scheduler): {local['wall']:.2f} s,"
                f" peak {local['peak_mib']:,} MiB (its workers included)"
            )
    lines += [
        "",
        help_line(result),
    ]
    lines += [f"WARNING  {w}" for w in result["warnings"]]
    lines.append("")
    lines += target_lines(result["targets"])
    lines += [f"n/a   {line}" for line in result["targets_not_applicable"]]
    return "\n".join(lines)


# --- against a baseline checkout ------------------------------------------------------------

#: ``--baseline``: no query's median pairwise wall ratio (this mfq over the baseline's) above.
MAX_BASELINE_RATIO = 1.05


def baseline_executable(checkout: Path) -> Path:
    """The ``mfq`` of the checkout at ``checkout`` (its ``.venv``), modules compiled first
    as :func:`mfq_executable` compiles this one's."""
    mfq = checkout / ".venv" / "bin" / "mfq"
    if not mfq.exists():
        raise BenchError(f"--baseline: no {mfq} (run `make venv` in {checkout})")
    subprocess.run(
        [str(mfq.with_name("python")), "-m", "compileall", "-q", str(checkout / "src" / "mfq")],
        check=False,
        capture_output=True,
    )
    return mfq


def run_baseline(
    opts: Options, launcher: Launcher, store: Store, queries: Sequence[Query], baseline: Path
) -> dict[str, Any]:
    """Each query as a whole ``mfq`` process of this checkout (new) and of the baseline's,
    one warm-up of each, then ``opts.runs`` pairs whose order alternates (new first, then
    baseline first) so a drift of the machine's load weighs on both. Wall and CPU times
    (user + sys of the child) per run; the answers are compared."""
    new_mfq, old_mfq = mfq_executable(), baseline_executable(baseline)
    cwd = Path(tempfile.gettempdir())
    results: dict[str, Any] = {}
    for query in queries:
        new_cmd, old_cmd = mfq_command(new_mfq, store, query), mfq_command(old_mfq, store, query)
        progress(f"baseline {query.id} ({query.title}): warm-up")
        same = same_json(
            launcher.checked(old_cmd, cwd).stdout, launcher.checked(new_cmd, cwd).stdout
        )
        new: list[Sample] = []
        old: list[Sample] = []
        for i in range(1, opts.runs + 1):
            if i % 2:
                new.append(launcher.checked(new_cmd, cwd))
                old.append(launcher.checked(old_cmd, cwd))
            else:
                old.append(launcher.checked(old_cmd, cwd))
                new.append(launcher.checked(new_cmd, cwd))
            progress(
                f"  run {i}/{opts.runs}: new {new[-1].wall:.3f} s (cpu {new[-1].cpu:.3f}) | "
                f"baseline {old[-1].wall:.3f} s (cpu {old[-1].cpu:.3f})"
            )
        walls = pair_ratios([a.wall for a in new], [b.wall for b in old])
        cpus = pair_ratios([a.cpu for a in new], [b.cpu for b in old])
        results[query.id] = {
            "title": query.title,
            "new": {**wall_summary([a.wall for a in new]), "cpu_median": _median_cpu(new)},
            "baseline": {**wall_summary([b.wall for b in old]), "cpu_median": _median_cpu(old)},
            "wall_ratio": ratio_summary(walls, 4),
            "cpu_ratio": ratio_summary(cpus, 4),
            "same_answer": same,
        }
    return results


def _median_cpu(samples: Sequence[Sample]) -> float:
    return round(statistics.median(s.cpu for s in samples), 4)


def format_baseline(opts: Options, baseline: Path, results: dict[str, Any]) -> str:
    """The ``--baseline`` table and its target line."""
    lines = [
        f"mfq (this checkout) against the baseline at {baseline}: whole processes, "
        f"{opts.events:,} events, {opts.runs} interleaved pairs; ratios new/baseline",
        f"{'query':<6}{'new s':>9}{'base s':>9}{'wall ratio':>12}{'new cpu':>9}{'base cpu':>10}"
        f"{'cpu ratio':>11}  answer",
    ]
    for query_id, row in results.items():
        lines.append(
            f"{query_id:<6}{row['new']['wall_median']:>9.3f}{row['baseline']['wall_median']:>9.3f}"
            f"{row['wall_ratio']['median']:>12.3f}{row['new']['cpu_median']:>9.3f}"
            f"{row['baseline']['cpu_median']:>10.3f}{row['cpu_ratio']['median']:>11.3f}  "
            f"{'same' if row['same_answer'] else 'DIFFERENT'}"
        )
    worst = max(row["wall_ratio"]["median"] for row in results.values())
    verdict = "PASS" if worst <= MAX_BASELINE_RATIO else "FAIL"
    lines.append(
        f"{verdict}: no query slower than the baseline by more than "
        f"{MAX_BASELINE_RATIO - 1:.0%} (worst median pairwise wall ratio {worst:.3f})"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (whatever the targets say), 1 when something failed."""
    opts = parse_args(argv)
    if opts.baseline is not None:
        return _main_baseline(opts, opts.baseline.resolve())
    dask: dict[str, Any] | None = None
    try:
        with Launcher() as launcher, contextlib.ExitStack() as stack:
            store = ensure_store(opts, launcher)
            trace_id = pick_trace_id(source_sql(store.files))
            queries = build_queries(store.files, trace_id)
            reference = reference_rows(queries)
            scheduler = opts.scheduler
            if opts.dask:
                dask = {"cluster": scheduler}
                if scheduler is None:
                    cluster = DaskCluster(opts.dask_workers, opts.dask_threads, opts.out / "dask")
                    scheduler = stack.enter_context(cluster)
                    dask["cluster"] = (
                        f"started for the benchmark, {opts.dask_workers} worker processes x "
                        f"{opts.dask_threads} threads ({scheduler})"
                    )
            process = (
                run_process(opts, launcher, store, queries, reference, scheduler)
                if opts.process
                else None
            )
            inprocess = (
                run_inprocess(opts, launcher, store, queries, reference, scheduler)
                if opts.inprocess
                else None
            )
            if dask is not None and opts.process:
                dask["local_cluster"] = local_cluster_run(launcher, store, queries[0])
            help_walls = run_help(launcher.checked)
    except BenchError as exc:
        print(f"bench/query.py: FAILED: {exc}", file=sys.stderr)
        return 1
    result = summarise(opts, store, trace_id, queries, process, inprocess, help_walls, dask)
    for warning in result["warnings"]:
        progress(f"WARNING: {warning}")
    print(json.dumps(result, indent=2) if opts.json else format_table(result))
    return 0


def _main_baseline(opts: Options, baseline: Path) -> int:
    try:
        with Launcher() as launcher:
            store = ensure_store(opts, launcher)
            trace_id = pick_trace_id(source_sql(store.files))
            queries = build_queries(store.files, trace_id)
            results = run_baseline(opts, launcher, store, queries, baseline)
    except BenchError as exc:
        print(f"bench/query.py: FAILED: {exc}", file=sys.stderr)
        return 1
    if opts.json:
        print(
            json.dumps(
                {"baseline": str(baseline), "events": opts.events, "queries": results}, indent=2
            )
        )
    else:
        print(format_baseline(opts, baseline, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
