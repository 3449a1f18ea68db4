"""Questions on a file (``mfq query FILE``) side by side with DuckDB's ``read_ndjson``.

The export is shaped unlike the demo's: every standard field nested in ``attributes``,
numeric ids, 36 attribute keys per event (``bench/second_export.py``). ``--shape demo`` asks
the same questions of the demo's export instead (standard fields at the top, a dotted
``http.route`` key in most records' attributes; ``OUT/events-N.ndjson``, shared with
``bench/ingest.py``). ``--shape k8s`` and ``--shape zeek`` ask a question of each of
``bench/ingest.py``'s real-record replicas (Kubernetes audit events, Zeek connections,
read through their format profiles; ``OUT/k8s-N.ndjson``, ``OUT/zeek-N.ndjson``). Each
round runs, in
turn, ``mfq query FILE`` and the same question in DuckDB, as whole processes; wall time,
CPU time (user + sys) and peak RSS come from ``os.wait4``. Reported: medians, and the
median of the per-round ratios (the machine is shared: a ratio within one round is what
holds still). Targets (issue 17): mfq at most 2x DuckDB, peak under 1 GiB.

    python bench/direct.py --events 1000000 --runs 3 --out /tmp/mfq-direct
    python bench/direct.py --shape demo --events 1000000 --runs 3 --out bench/out
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
MAX_RATIO = 2.0
MAX_PEAK_MIB = 1024.0
#: The same questions of the demo's export, whose standard fields are at the top.
DEMO_QUESTIONS = {
    "group-by": (
        ["--group-by", "type"],
        "select type, count(*) from read_ndjson({f}) group by 1",
    ),
    "filter+percentile": (
        ["--where", "status = 'error'", "--group-by", "type", "--agg", "p95(duration_ms)"],
        "select type, quantile_cont(attributes.duration_ms, 0.95)"
        " from read_ndjson({f}) where attributes.status = 'error' group by 1",
    ),
}
#: Questions of the real-record replicas, read through their profiles (k8s: the event's
#: type is ``{verb} {objectRef.resource}/...``, its HTTP status ``responseStatus.code``;
#: Zeek: the type is ``@stream``, durations are in seconds).
K8S_QUESTIONS = {
    "group-by": (
        ["--group-by", "verb"],
        "select verb, count(*) from read_ndjson({f}) group by 1",
    ),
    "filter+count": (
        ["--where", "http_status >= 400", "--group-by", "verb", "--agg", "count"],
        "select verb, count(*) from read_ndjson({f}) where responseStatus.code >= 400 group by 1",
    ),
}
ZEEK_QUESTIONS = {
    "group-by": (
        ["--group-by", "type"],
        'select "@stream", count(*) from read_ndjson({f}) group by 1',
    ),
    "filter+percentile": (
        ["--where", "proto = 'udp'", "--group-by", "type", "--agg", "p95(duration_ms)"],
        'select "@stream", quantile_cont(duration * 1000, 0.95)'
        " from read_ndjson({f}) where proto = 'udp' group by 1",
    ),
}
QUESTIONS = {
    "group-by": (
        ["--group-by", "type"],
        "select attributes.type as type, count(*) from read_ndjson({f}) group by 1",
    ),
    "filter+percentile": (
        ["--where", "status = 'error'", "--group-by", "type", "--agg", "p95(duration_ms)"],
        "select attributes.type as type, quantile_cont(attributes.duration_ms, 0.95)"
        " from read_ndjson({f}) where attributes.status = 'error' group by 1",
    ),
}


def run(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """One child process: wall seconds, CPU seconds (user + sys), peak RSS in MiB."""
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    error = child.stderr.read().decode() if child.stderr else ""
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}\n{error}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("/tmp/mfq-bench-direct"))
    parser.add_argument(
        "--shape",
        choices=("second", "demo", "k8s", "zeek"),
        default="second",
        help="the bench's second shape (default), the demo's export, or a real-record replica",
    )
    parser.add_argument(
        "--before",
        action="store_true",
        help="also run each question through a temporary store (MFQ_FILE_QUESTIONS=store)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="also run mfq from this source tree (e.g. an older commit's src/), interleaved",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    questions = QUESTIONS
    if args.shape == "demo":
        from common import ensure_export, export_path
        from mfq.demo import DemoConfig

        export = export_path(args.out, args.events, args.seed)
        ensure_export(export, DemoConfig(events=args.events, seed=args.seed))
        questions = DEMO_QUESTIONS
    elif args.shape in ("k8s", "zeek"):
        from replica_export import (
            ensure_replica_export,
            ensure_zeek_export,
            replica_export_path,
            zeek_export_path,
        )

        if args.shape == "k8s":
            export = replica_export_path(args.out, args.events, args.seed)
            ensure_replica_export(export, args.events, args.seed)
            questions = K8S_QUESTIONS
        else:
            export = zeek_export_path(args.out, args.events, args.seed)
            ensure_zeek_export(export, args.events, args.seed)
            questions = ZEEK_QUESTIONS
    else:
        from second_export import ensure_second_export, second_export_path

        export = second_export_path(args.out, args.events, args.seed)
        if ensure_second_export(export, args.events, args.seed):
            print(f"wrote {export}", file=sys.stderr)
    mfq = str(Path(sys.executable).parent / "mfq")
    duck = [sys.executable, "-c", "import duckdb,sys; duckdb.sql(sys.argv[1]).fetchall()"]
    quoted = "'" + str(export).replace("'", "''") + "'"
    results = {}
    for name, (options, sql) in questions.items():
        rounds = []
        before: list[dict[str, float]] = []
        baseline: list[dict[str, float]] = []
        for i in range(args.runs):
            command = [mfq, "query", str(export), *options, "--format", "csv"]
            ours = run(command)
            theirs = run([*duck, sql.format(f=quoted)])
            rounds.append((ours, theirs))
            print(f"{name} {i + 1}/{args.runs}: mfq {ours} duckdb {theirs}", file=sys.stderr)
            if args.baseline is not None:
                env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
                old = run([sys.executable, "-m", "mfq", *command[1:]], env=env)
                baseline.append(old)
                print(f"{name} {i + 1}/{args.runs}: baseline {old}", file=sys.stderr)
            if args.before:
                stored = run(command, env={**os.environ, "MFQ_FILE_QUESTIONS": "store"})
                before.append(stored)
                print(f"{name} {i + 1}/{args.runs}: through a store {stored}", file=sys.stderr)
        ratio = statistics.median(o["wall"] / t["wall"] for o, t in rounds)
        cpu_ratio = statistics.median(o["cpu"] / t["cpu"] for o, t in rounds)
        peak = max(o["peak_mib"] for o, _ in rounds)
        results[name] = {
            "mfq_wall_median": statistics.median(o["wall"] for o, _ in rounds),
            "duckdb_wall_median": statistics.median(t["wall"] for _, t in rounds),
            "mfq_cpu_median": statistics.median(o["cpu"] for o, _ in rounds),
            "duckdb_cpu_median": statistics.median(t["cpu"] for _, t in rounds),
            "wall_ratio_median": ratio,
            "cpu_ratio_median": cpu_ratio,
            "mfq_peak_mib": peak,
            "duckdb_peak_mib": max(t["peak_mib"] for _, t in rounds),
            "pass": ratio <= MAX_RATIO and peak < MAX_PEAK_MIB,
        }
        if baseline:
            results[name]["baseline_wall_median"] = statistics.median(b["wall"] for b in baseline)
            results[name]["baseline_cpu_median"] = statistics.median(b["cpu"] for b in baseline)
            results[name]["baseline_peak_mib"] = max(b["peak_mib"] for b in baseline)
            results[name]["baseline_cpu_ratio_median"] = statistics.median(
                b["cpu"] / t["cpu"] for b, (_, t) in zip(baseline, rounds, strict=True)
            )
        if before:
            results[name]["store_path_wall_median"] = statistics.median(b["wall"] for b in before)
            results[name]["store_path_cpu_median"] = statistics.median(b["cpu"] for b in before)
            results[name]["store_path_peak_mib"] = max(b["peak_mib"] for b in before)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        json.dumps(
            {"shape": args.shape, "events": args.events, "bytes": export.stat().st_size, **results},
            indent=2,
        )
    )
    print(f"load average after the runs: {load}")
    for name, result in results.items():
        print(target_line(name, result))


def target_line(name: str, result: dict[str, float | bool]) -> str:
    """One line per question: PASS/FAIL against issue 17's target, with the numbers."""
    verdict = "PASS" if result["pass"] else "FAIL"
    return (
        f"{verdict} mfq query FILE ({name}), {result['mfq_wall_median']:.2f} s: "
        f"{result['wall_ratio_median']:.2f}x DuckDB's wall (target <= {MAX_RATIO:.1f}x; "
        f"CPU {result['cpu_ratio_median']:.2f}x), peak {result['mfq_peak_mib']:.0f} MiB "
        f"(target < {MAX_PEAK_MIB:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
