"""Whole-process timings and peak memory of ``mfq patterns``, ``query --group-by
"pattern(message)"`` (which must count as ``patterns`` does) and ``correlate --combine 2``.

    .venv/bin/python bench/patterns.py                          # 1,000,000 events, 3 runs
    .venv/bin/python bench/patterns.py --events 10000000 --runs 1
    .venv/bin/python bench/patterns.py --events 200000 --json

The store holds log lines, not demo events: each message is one of the 4,000 messages of
loghub's labelled BGL and OpenStack samples (``../shared/real``) with every run of digits
replaced by a random number, so nearly every message is distinct text (as real logs are)
while the templates stay loghub's. Each event also has a service, a region, a version and
a status with a planted interaction (version 2 fails 30% in eu, everything else 2%), which
``correlate --combine 2`` must rank first. The export is written once per size under
``bench/out`` and ingested into ``bench/out/patterns-N``, both reused while present.

Each command runs as a user runs it (``mfq ... --format json`` in a fresh process): one
untimed warm-up, then ``--runs`` timed runs; wall time and the child's own peak RSS
(``ru_maxrss`` from ``os.wait4``, the number ``/usr/bin/time -v`` prints as "Maximum
resident set size").
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import sys
from pathlib import Path

from common import measure, mfq_executable, progress, require_success

BENCH = Path(__file__).resolve().parent
REAL = BENCH.parent.parent / "shared" / "real"
SOURCES = [
    REAL / "bgl" / "BGL_2k.log_structured.csv",
    REAL / "openstack" / "OpenStack_2k.log_structured.csv",
]
SERVICES = ["api", "compute", "scheduler", "storage", "network"]
REGIONS = ["eu", "us", "ap"]
DIGITS = re.compile(r"\d+")


def message_formats() -> list[str]:
    """loghub's messages with each run of digits turned into a ``{}`` hole."""
    formats = []
    for path in SOURCES:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                text = row["Content"].replace("{", "{{").replace("}", "}}")
                formats.append(DIGITS.sub("{}", text))
    return formats


def write_export(path: Path, events: int, seed: int = 7) -> None:
    """``events`` NDJSON log events over one week (see the module docs)."""
    formats = message_formats()
    holes = [f.count("{}") for f in formats]
    rng = random.Random(seed)
    week_ms = 7 * 86_400_000
    start_ms = 1_763_337_600_000  # 2025-11-17T00:00:00Z, a Monday
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for index in range(events):
            pick = rng.randrange(len(formats))
            numbers = [rng.randrange(100_000) for _ in range(holes[pick])]
            message = formats[pick].format(*numbers)
            version = "2" if rng.random() < 0.25 else "1"
            region = REGIONS[rng.randrange(3)]
            rate = 0.30 if version == "2" and region == "eu" else 0.02
            millis = start_ms + index * week_ms // events
            seconds, ms = divmod(millis, 1000)
            status = "error" if rng.random() < rate else "ok"
            service = SERVICES[pick % len(SERVICES)]
            out.write(
                f'{{"id":"l{index}","type":"log","timestamp":{seconds}.{ms:03d},'
                f'"service":"{service}","region":"{region}","version":"{version}",'
                f'"status":"{status}","message":{json.dumps(message)}}}\n'
            )
    partial.rename(path)


def ensure_store(out: Path, events: int, mfq: Path) -> Path:
    """The ingested store of ``events`` log events (built once)."""
    store = out / f"patterns-{events}"
    if (store / ".built").exists():
        return store
    export = out / f"patterns-{events}.ndjson"
    if not export.exists():
        progress(f"writing {events:,} log events to {export}")
        write_export(export, events)
    progress(f"ingesting {export}")
    cmd = [str(mfq), "ingest", str(export), "--store", str(store), "--format", "json"]
    sample = require_success(measure(cmd, out), cmd)
    summary = json.loads(sample.stdout)
    if summary["ingested"] != events:
        raise SystemExit(f"ingested {summary['ingested']} of {events} events")
    (store / ".built").write_text(json.dumps({"ingest_seconds": sample.wall}))
    export.unlink()
    return store


def run(cmd: list[str], runs: int, out: Path) -> tuple[float, float, list[dict[str, object]]]:
    """One warm-up, then ``runs`` timed runs: median wall time, the largest peak RSS
    (MiB) and the last answer."""
    require_success(measure(cmd, out), cmd)
    samples = [require_success(measure(cmd, out), cmd) for _ in range(runs)]
    seconds = round(statistics.median(s.wall for s in samples), 2)
    return seconds, round(max(s.peak_mib for s in samples), 1), json.loads(samples[-1].stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    mfq = mfq_executable()
    store = ensure_store(args.out, args.events, mfq)
    common = ["--store", str(store), "--format", "json"]
    progress("mfq patterns")
    p_seconds, p_peak, templates = run([str(mfq), "patterns", *common], args.runs, args.out)
    progress("mfq query --group-by pattern(message)")
    grouped = [str(mfq), "query", "--group-by", "pattern(message)", "--limit", "100000"]
    q_seconds, q_peak, rows = run([*grouped, *common], args.runs, args.out)
    counts = {r["pattern(message)"]: r["count"] for r in rows if r["pattern(message)"]}
    if counts != {t["id"]: t["count"] for t in templates}:
        raise SystemExit("query --group-by pattern(message) disagrees with mfq patterns")
    progress("mfq correlate --combine 2")
    where = ["--where", "status = 'error'", "--combine", "2", "--limit", "5"]
    c_seconds, c_peak, ranked = run([str(mfq), "correlate", *where, *common], args.runs, args.out)
    first = f"{ranked[0]['field']} = {ranked[0]['value']} ({ranked[0]['kind']})"
    result = {
        "events": args.events,
        "runs": args.runs,
        "patterns": {"seconds": p_seconds, "peak_mib": p_peak, "templates": len(templates)},
        "group_by_pattern": {"seconds": q_seconds, "peak_mib": q_peak},
        "correlate_combine": {"seconds": c_seconds, "peak_mib": c_peak, "first": first},
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{args.events:,} events, median of {args.runs} runs:")
    count = len(templates)
    print(f"  patterns               {p_seconds:>7} s  peak {p_peak:>7} MiB  {count} templates")
    print(f"  query --group-by pattern {q_seconds:>5} s  peak {q_peak:>7} MiB  counts as patterns")
    print(f"  correlate --combine 2  {c_seconds:>7} s  peak {c_peak:>7} MiB  first: {first}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
