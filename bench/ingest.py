"""Ingest benchmark: ``mfq ingest`` against DuckDB's NDJSON-to-Parquet copy of the same file.

Run it from the repository root (``make bench`` runs the default)::

    .venv/bin/python bench/ingest.py                        # 1,000,000 events, 5 runs each
    .venv/bin/python bench/ingest.py --events 5000000 --runs 3
    .venv/bin/python bench/ingest.py --events 200000 --json # one JSON object, for the docs
    .venv/bin/python bench/ingest.py --shape wide           # the wide shape (wide_export.py)
    .venv/bin/python bench/ingest.py --shape second --out /tmp/mfq-bench-direct  # direct.py's
    .venv/bin/python bench/ingest.py --shape k8s            # real audit events (replica_export.py)
    .venv/bin/python bench/ingest.py --baseline ../main/src --runs 3 --no-real  # against main

What it does and measures:

1. Generates ``--events`` demo events (``mfq.demo``, seed ``--seed``) into
   ``OUT/events-N.ndjson`` (with ``--shape wide``, events of the wide shape of
   ``bench/wide_export.py`` into ``OUT/wide-N.ndjson``; with ``--shape second``, the
   export ``bench/direct.py`` asks its questions of, ``bench/second_export.py``, into
   ``OUT/second-shape-N-SEED.ndjson``: pass ``--out /tmp/mfq-bench-direct``, that bench's
   default, to share the file; ``OUT`` is ``bench/out`` by default, git-ignored). The
   file is reused while its sidecar ``.meta.json`` records the same generator config and
   size (the second shape's while it exists).
2. Runs, as whole subprocesses and interleaved A B A B (one untimed warm-up of each, then
   ``--runs`` timed runs of each):

   A. ``mfq ingest FILE --store <fresh empty dir> --format json`` (the ``mfq`` executable
      next to ``sys.executable``);
   B. ``python -c "import duckdb; duckdb.sql(\"COPY (SELECT * FROM read_ndjson('FILE'))
      TO 'OUT.parquet' (FORMAT parquet, COMPRESSION zstd)\")"`` (a fresh output path).

   Each run records its wall time (``time.perf_counter`` around start and reaping) and the
   peak RSS of that child alone (``ru_maxrss`` from ``os.wait4`` on its pid, which also
   covers any descendants the child itself waited for). Both read the export from the page
   cache (the warm-up loads it), and write into ``OUT/runs/`` on the same file system; every
   store and Parquet file is removed after its run unless ``--keep``.
3. Checks every mfq run: its JSON summary must say ``read == ingested ==`` the export's
   line count (else it stops with exit status 1; the demo generator's journeys come on top
   of the N events asked for). The warm-up DuckDB output is checked for as many rows.
4. Times ``mfq --help`` (median of 10 runs after one warm-up).
5. Prints a table (or, with ``--json``, one JSON object) and the acceptance targets as
   PASS/FAIL lines: median of the pairwise wall-time ratios mfq/duckdb <= 1.5, mfq peak
   memory (the largest over the timed runs) <= 1024 MiB, ``mfq --help`` median <= 0.2 s,
   and what format-profile detection costs: C, ``mfq ingest --profile none`` (detection
   off; ``--profile k8s-audit`` for the k8s shape, which needs it), runs interleaved with A
   and B; the median of the ratios A/C must be <= 1.02.
   A FAIL is reported, not turned into an exit status.
   With ``--baseline SRC`` (another checkout's ``src/``), D, ``python -m mfq ingest`` with
   that source tree first on ``PYTHONPATH``, runs interleaved with A, B and C (after its
   own warm-up); the table adds its row and the medians of the pairwise wall and CPU
   ratios A/D (this tree against the baseline) and A/B in CPU time.
6. A second, small suite (left out with ``--no-real``): ``mfq ingest FOLDER`` with no
   options on each folder of ``../shared/real`` (the detected profiles, the counts, the
   median wall time of ``--runs`` runs after one warm-up); ``--real-only`` runs just this
   suite.

Progress goes to stderr, so ``--json`` output can be redirected as it is.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_EVENTS,
    DEFAULT_RUNS,
    MAX_HELP_SECONDS,
    BenchError,
    Sample,
    Target,
    build_parser,
    common_options,
    ensure_export,
    environment,
    export_path,
    help_line,
    help_summary,
    measure,
    mfq_executable,
    pair_ratios,
    peak_summary,
    progress,
    ratio_summary,
    require_success,
    run_help,
    run_line,
    sql_string,
    target_lines,
    target_rows,
    wall_summary,
)
from mfq.demo import DemoConfig
from replica_export import (
    ensure_replica_export,
    ensure_zeek_export,
    replica_export_path,
    zeek_export_path,
)
from second_export import ensure_second_export, second_export_path
from wide_export import attribute_keys, ensure_wide_export, wide_export_path

#: Issue 17: ``mfq ingest`` at most 1.5x DuckDB's COPY to Parquet.
MAX_WALL_RATIO = 1.5
MAX_PEAK_MIB = 1024.0


@dataclass(frozen=True, slots=True)
class Options:
    """The command line, parsed."""

    events: int
    runs: int
    seed: int
    out: Path
    keep: bool
    json: bool
    real_only: bool = False
    shape: str = "demo"
    #: Another source tree whose ``mfq ingest`` runs interleaved (D), or None.
    baseline: Path | None = None
    real: bool = True


# --- command line -------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Parse the command line into :class:`Options`."""
    parser = build_parser(
        "Benchmark `mfq ingest` against DuckDB's NDJSON-to-Parquet COPY.",
        events_help=f"events in the generated export (default {DEFAULT_EVENTS:,})",
        runs_help=f"timed runs of each command, after one warm-up (default {DEFAULT_RUNS})",
        out_help="directory for the export and the run outputs (default bench/out)",
        json_help="print the results as one JSON object instead of the table",
        after_out=_more_options,
    )
    args = parser.parse_args(argv)
    return Options(
        **common_options(args),
        keep=args.keep,
        real_only=args.real_only,
        shape=args.shape,
        baseline=args.baseline,
        real=not args.no_real,
    )


def _more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep every run's store and Parquet file under OUT/runs/ (removed by default)",
    )
    parser.add_argument(
        "--shape",
        choices=("demo", "wide", "second", "k8s", "zeek"),
        default="demo",
        help="the export: the demo generator's (default), or wide: numeric ids, the standard"
        " fields nested in attributes under aliases, 41 attribute keys (bench/wide_export.py);"
        " or second: the export bench/direct.py asks its questions of, the standard fields"
        " nested in attributes under their names, 36 keys (bench/second_export.py);"
        " or k8s: the real Kubernetes audit events replicated, read through their profile"
        " (bench/replica_export.py); or zeek: Zeek's real connection records replicated,"
        " fractional epoch times and no event ids (the same file)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="SRC",
        help="also run `python -m mfq ingest` from this source tree (e.g. ../main/src),"
        " interleaved, and report the ratios of this tree to it",
    )
    parser.add_argument(
        "--no-real",
        action="store_true",
        help="leave out the small suite of ../shared/real folders",
    )
    parser.add_argument(
        "--real-only",
        action="store_true",
        help="run only the small suite: each folder of ../shared/real, ingested with no options",
    )


# --- the export and one child -------------------------------------------------------------


#: The shapes other than the demo's: (the export's path, its generator, what it holds).
OTHER_SHAPES = {
    "k8s": (replica_export_path, ensure_replica_export, "real audit events replicated"),
    "zeek": (zeek_export_path, ensure_zeek_export, "real connection records replicated"),
    "second": (second_export_path, ensure_second_export, "the questions' bench's"),
    "wide": (wide_export_path, ensure_wide_export, f"{attribute_keys()} attribute keys"),
}


def ensure_ingest_export(out: Path, events: int, seed: int, shape: str = "demo") -> Path:
    """The NDJSON export of ``events`` events of ``shape``, generated unless an identical
    one exists."""
    if shape in OTHER_SHAPES:
        path_of, ensure, label = OTHER_SHAPES[shape]
        path = path_of(out, events, seed)
        progress(f"{shape} export ({label}): {path}")
        if ensure(path, events, seed):
            progress(f"  generated {path.stat().st_size / 2**20:,.1f} MiB")
        return path
    path = export_path(out, events, seed)
    ensure_export(path, DemoConfig(events=events, seed=seed))
    return path


def count_records(export: Path) -> int:
    """The records (lines) of an NDJSON export: the demo generator writes more events than
    asked for (its journeys come on top), so the checks count what the file holds."""
    lines = 0
    last = b"\n"
    with export.open("rb") as handle:
        while block := handle.read(16 * 1024 * 1024):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def checked(cmd: Sequence[str], cwd: Path) -> Sample:
    """:func:`measure`, raising :class:`BenchError` unless the command exits with status 0."""
    return require_success(measure(cmd, cwd), cmd)


# --- the two commands ---------------------------------------------------------------------


def duckdb_command(export: Path, parquet: Path) -> list[str]:
    """``python -c "import duckdb; duckdb.sql('COPY ... TO parquet')"``."""
    sql = (
        f"COPY (SELECT * FROM read_ndjson({sql_string(str(export))})) "
        f"TO {sql_string(str(parquet))} (FORMAT parquet, COMPRESSION zstd)"
    )
    return [sys.executable, "-c", f"import duckdb; duckdb.sql({sql!r})"]


def baseline_command(source: Path) -> list[str]:
    """``mfq`` run from another source tree: ``python -m mfq`` with it first on the path."""
    return ["env", f"PYTHONPATH={source.resolve()}", sys.executable, "-m", "mfq"]


def run_mfq(
    mfq: Path | Sequence[str],
    export: Path,
    runs_dir: Path,
    events: int,
    keep: bool,
    extra: Sequence[str] = (),
) -> Sample:
    """One ``mfq ingest`` into a fresh empty store, its summary checked (read == ingested == N)."""
    store = Path(tempfile.mkdtemp(prefix="mfq-store-", dir=runs_dir))
    command = [str(mfq)] if isinstance(mfq, Path) else list(mfq)
    try:
        sample = checked(
            [*command, "ingest", str(export), "--store", str(store), "--format", "json", *extra],
            cwd=runs_dir,
        )
    finally:
        if not keep:
            shutil.rmtree(store, ignore_errors=True)
    verify_summary(sample.stdout, events)
    return sample


def verify_summary(stdout: str, events: int) -> dict[str, Any]:
    """The JSON summary of ``mfq ingest``; :class:`BenchError` unless read == ingested == N."""
    try:
        summary: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise BenchError(f"mfq ingest printed no JSON summary ({exc}):\n{stdout[:2000]}") from exc
    read, ingested = summary.get("read"), summary.get("ingested")
    if not read == ingested == events:
        raise BenchError(
            f"mfq ingest summary: read={read} ingested={ingested}, expected {events}: {summary}"
        )
    return summary


def run_duckdb(export: Path, runs_dir: Path, events: int, keep: bool, verify: bool) -> Sample:
    """One DuckDB ``COPY`` of the export to a fresh Parquet file (row count checked if verify)."""
    run_dir = Path(tempfile.mkdtemp(prefix="duckdb-", dir=runs_dir))
    parquet = run_dir / "events.parquet"
    try:
        sample = checked(duckdb_command(export, parquet), cwd=run_dir)
        if verify:
            verify_parquet_rows(parquet, events)
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return sample


def verify_parquet_rows(parquet: Path, events: int) -> None:
    """Raise :class:`BenchError` unless the Parquet file holds ``events`` rows."""
    import duckdb

    query = f"SELECT count(*) FROM read_parquet({sql_string(str(parquet))})"
    relation = duckdb.sql(query)
    rows = relation.fetchall()[0][0] if relation is not None else None
    if rows != events:
        raise BenchError(f"duckdb wrote {rows} rows to {parquet}, expected {events}")


# --- the benchmark ------------------------------------------------------------------------


#: Format profiles off: ``mfq ingest`` without detection (the cost detection adds).
NO_DETECTION = ("--profile", "none")
#: The k8s shape needs its profile (no type key otherwise): named, so not detected.
NO_DETECTION_K8S = ("--profile", "k8s-audit")
#: The zeek shape likewise (no type key without its profile).
NO_DETECTION_ZEEK = ("--profile", "zeek")
MAX_DETECTION_RATIO = 1.02


def run_ingest(
    opts: Options, export: Path
) -> tuple[list[Sample], list[Sample], list[Sample], list[Sample]]:
    """Warm-up, then ``opts.runs`` interleaved timed runs of mfq (A), DuckDB (B), mfq
    with profile detection off (C) and, with ``--baseline``, the baseline's mfq (D)."""
    mfq = mfq_executable()
    runs_dir = opts.out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    records = count_records(export)
    no_detection = {"k8s": NO_DETECTION_K8S, "zeek": NO_DETECTION_ZEEK}.get(
        opts.shape, NO_DETECTION
    )
    progress(f"warm-up (untimed): mfq, duckdb, mfq {' '.join(no_detection)}")
    run_mfq(mfq, export, runs_dir, records, opts.keep)
    run_duckdb(export, runs_dir, records, opts.keep, verify=True)
    run_mfq(mfq, export, runs_dir, records, opts.keep, no_detection)
    baseline = None if opts.baseline is None else baseline_command(opts.baseline)
    if baseline is not None:
        progress(f"warm-up (untimed): baseline mfq from {opts.baseline}")
        run_mfq(baseline, export, runs_dir, records, opts.keep)
    mfq_samples: list[Sample] = []
    duck_samples: list[Sample] = []
    plain_samples: list[Sample] = []
    base_samples: list[Sample] = []
    for i in range(1, opts.runs + 1):
        a = run_mfq(mfq, export, runs_dir, records, opts.keep)
        mfq_samples.append(a)
        b = run_duckdb(export, runs_dir, records, opts.keep, verify=False)
        duck_samples.append(b)
        c = run_mfq(mfq, export, runs_dir, records, opts.keep, no_detection)
        plain_samples.append(c)
        line = run_line(i, opts.runs, a, b) + f"  no-detection {c.wall:.3f}s"
        if baseline is not None:
            d = run_mfq(baseline, export, runs_dir, records, opts.keep)
            base_samples.append(d)
            line += f"  baseline {d.wall:.3f}s (cpu {d.cpu:.2f}s, this tree {a.cpu:.2f}s)"
        progress(line)
    if not opts.keep and not any(runs_dir.iterdir()):
        runs_dir.rmdir()
    return mfq_samples, duck_samples, plain_samples, base_samples


# --- the real-folders suite ---------------------------------------------------------------

REAL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "real"


def run_real(runs: int) -> list[dict[str, Any]]:
    """``mfq ingest FOLDER`` (no options) on each folder of ../shared/real: the detected
    profiles, counts (no rejects expected) and the median wall time of ``runs`` runs."""
    if not REAL_DIR.is_dir():
        raise BenchError(f"no real exports at {REAL_DIR}")
    mfq = mfq_executable()
    rows = []
    for folder in sorted(p for p in REAL_DIR.iterdir() if p.is_dir()):
        walls: list[float] = []
        summary: dict[str, Any] = {}
        for _ in range(runs + 1):  # the first run warms the page cache, untimed
            store = Path(tempfile.mkdtemp(prefix="mfq-real-"))
            try:
                cmd = [str(mfq), "ingest", str(folder), "--store", str(store), "--format", "json"]
                sample = measure(cmd, store)
            finally:
                shutil.rmtree(store, ignore_errors=True)
            if sample.returncode not in (0, 3):
                require_success(sample, cmd)
            summary = json.loads(sample.stdout)
            walls.append(sample.wall)
        rows.append(
            {
                "folder": folder.name,
                "profiles": summary["profiles"],
                "read": summary["read"],
                "ingested": summary["ingested"],
                "duplicates": summary["duplicates"],
                "rejected": summary["rejected"],
                "skipped_files": summary["skipped_files"],
                "wall_median": round(statistics.median(walls[1:]), 3),
            }
        )
        progress(f"real: {folder.name} {rows[-1]['wall_median']:.3f}s")
    return rows


def real_table(rows: Sequence[dict[str, Any]]) -> str:
    """The real-folders suite as text."""
    lines = [
        "real exports (../shared/real, no options):",
        f"{'folder':<20} {'profiles':<24} {'read':>6} {'stored':>6} {'dup':>4} {'rej':>4}"
        f" {'median s':>9}",
    ]
    for r in rows:
        profiles = ",".join(f"{k}:{v}" for k, v in r["profiles"].items())
        lines.append(
            f"{r['folder']:<20} {profiles:<24} {r['read']:>6} {r['ingested']:>6}"
            f" {r['duplicates']:>4} {r['rejected']:>4} {r['wall_median']:>9.3f}"
        )
    return "\n".join(lines)


def command_stats(samples: Sequence[Sample]) -> dict[str, Any]:
    """Per-run values and their median / min / max."""
    walls = [s.wall for s in samples]
    peaks = [s.peak_mib for s in samples]
    return {
        "wall_seconds": [round(w, 4) for w in walls],
        "peak_mib": [round(p, 1) for p in peaks],
        "cpu_seconds": [round(s.cpu, 3) for s in samples],
        **wall_summary(walls),
        **peak_summary(peaks),
    }


def summarise(
    opts: Options,
    export: Path,
    mfq_samples: Sequence[Sample],
    duck_samples: Sequence[Sample],
    plain_samples: Sequence[Sample],
    help_walls: Sequence[float],
    base_samples: Sequence[Sample] = (),
) -> dict[str, Any]:
    """All results as one JSON-ready object, acceptance targets included."""
    mfq_stats = command_stats(mfq_samples)
    detection = pair_ratios((s.wall for s in mfq_samples), (s.wall for s in plain_samples))
    mfq_stats["events_per_second"] = round(
        opts.events / statistics.median(s.wall for s in mfq_samples)
    )
    mfq_stats["reported_seconds"] = [json.loads(s.stdout).get("seconds") for s in mfq_samples]
    ratios = pair_ratios((s.wall for s in mfq_samples), (s.wall for s in duck_samples))
    cpu_ratios = pair_ratios((s.cpu for s in mfq_samples), (s.cpu for s in duck_samples))
    help_median = statistics.median(help_walls)
    targets = [
        Target(
            "ingest wall time ratio mfq/duckdb (median)",
            statistics.median(ratios),
            MAX_WALL_RATIO,
            "",
        ),
        Target(
            "mfq ingest peak memory (max of runs)",
            max(s.peak_mib for s in mfq_samples),
            MAX_PEAK_MIB,
            "MiB",
        ),
        Target("mfq --help startup (median)", help_median, MAX_HELP_SECONDS, "s"),
        Target(
            "profile detection: wall ratio mfq/mfq --profile none (median)",
            statistics.median(detection),
            MAX_DETECTION_RATIO,
            "",
        ),
    ]
    against_baseline: dict[str, Any] = {}
    if base_samples:
        against_baseline = {
            "source": str(opts.baseline),
            "wall_ratio": ratio_summary(
                pair_ratios((s.wall for s in mfq_samples), (s.wall for s in base_samples)), 3
            ),
            "cpu_ratio": ratio_summary(
                pair_ratios((s.cpu for s in mfq_samples), (s.cpu for s in base_samples)), 3
            ),
        }
    return {
        "benchmark": "ingest",
        "shape": opts.shape,
        "events": opts.events,
        "seed": opts.seed,
        "export": {"path": str(export), "bytes": export.stat().st_size},
        "runs": opts.runs,
        "warmup_runs": 1,
        "environment": environment(),
        "mfq": mfq_stats,
        "duckdb": command_stats(duck_samples),
        "mfq_no_detection": command_stats(plain_samples),
        "ratio": ratio_summary(ratios, 3),
        "cpu_ratio": ratio_summary(cpu_ratios, 3),
        "baseline": command_stats(base_samples) if base_samples else None,
        "against_baseline": against_baseline or None,
        "detection_ratio": ratio_summary(detection, 3),
        "help": help_summary(help_walls),
        "targets": target_rows(targets, with_strict=False),
        "passed": all(t.passed for t in targets),
    }


# --- output -------------------------------------------------------------------------------


def format_table(result: dict[str, Any]) -> str:
    """The human-readable report."""
    export = result["export"]
    lines = [
        f"ingest benchmark: {result['events']:,} events ({result['shape']} shape),"
        f" {export['bytes'] / 2**20:,.1f} MiB NDJSON"
        f" ({result['runs']} timed runs each after 1 warm-up, interleaved;"
        f" {result['environment']['cpus']} CPUs)",
        "",
        f"{'command':<14} {'median s':>9} {'min s':>9} {'max s':>9} {'peak MiB':>9} {'cpu s':>7}",
    ]
    for label, key in (
        ("mfq ingest", "mfq"),
        ("duckdb COPY", "duckdb"),
        ("no detection", "mfq_no_detection"),
        ("baseline mfq", "baseline"),
    ):
        s = result[key]
        if s is None:
            continue
        lines.append(
            f"{label:<14} {s['wall_median']:>9.3f} {s['wall_min']:>9.3f} {s['wall_max']:>9.3f}"
            f" {s['peak_mib_median']:>9,.1f} {statistics.median(s['cpu_seconds']):>7.2f}"
        )
    ratio = result["ratio"]
    pairs = " ".join(f"{r:.2f}" for r in ratio["pairs"])
    mfq = result["mfq"]
    lines += [
        "(peak MiB: median over runs of the child's ru_maxrss)",
        "",
        f"ratio mfq/duckdb, run by run: {pairs}  -> median {ratio['median']:.2f}",
        "CPU ratio mfq/duckdb, run by run: "
        + " ".join(f"{r:.2f}" for r in result["cpu_ratio"]["pairs"])
        + f"  -> median {result['cpu_ratio']['median']:.2f}",
        "ratio mfq/mfq --profile none (detection's cost), run by run: "
        + " ".join(f"{r:.3f}" for r in result["detection_ratio"]["pairs"])
        + f"  -> median {result['detection_ratio']['median']:.3f}",
        f"mfq throughput: {mfq['events_per_second']:,} events/s (median wall time)",
        f"mfq reported seconds (in-process): {' '.join(str(x) for x in mfq['reported_seconds'])}",
        help_line(result),
    ]
    against = result["against_baseline"]
    if against is not None:
        for what in ("wall", "cpu"):
            found = against[f"{what}_ratio"]
            lines.append(
                f"{what} ratio this tree/baseline ({against['source']}), run by run: "
                + " ".join(f"{r:.3f}" for r in found["pairs"])
                + f"  -> median {found['median']:.3f}"
            )
    lines += ["", *target_lines(result["targets"])]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran (whatever the targets say), 1 when something failed."""
    opts = parse_args(argv)
    try:
        if opts.real_only:
            rows = run_real(opts.runs)
            print(json.dumps(rows, indent=2) if opts.json else real_table(rows))
            return 0
        export = ensure_ingest_export(opts.out, opts.events, opts.seed, opts.shape)
        mfq_samples, duck_samples, plain_samples, base_samples = run_ingest(opts, export)
        help_walls = run_help(checked)
        rows = run_real(opts.runs) if opts.real else []
    except BenchError as exc:
        print(f"bench/ingest.py: FAILED: {exc}", file=sys.stderr)
        return 1
    result = summarise(
        opts, export, mfq_samples, duck_samples, plain_samples, help_walls, base_samples
    )
    result["real"] = rows
    if opts.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result) + ("\n\n" + real_table(rows) if rows else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
