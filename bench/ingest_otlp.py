"""OTLP ingest benchmark: ``mfq ingest`` of N spans (OTLP/JSON) beside N NDJSON events.

Run it from the repository root::

    .venv/bin/python bench/ingest_otlp.py                       # 1,000,000 of each, 5 runs
    .venv/bin/python bench/ingest_otlp.py --events 200000 --runs 3
    .venv/bin/python bench/ingest_otlp.py --events 200000 --json

What it does and measures:

1. Generates ``--events`` demo events (``mfq.demo``, as ``bench/ingest.py`` does, and the
   same file ``OUT/events-N.ndjson``) and turns each event into one OTLP span, written the
   way the OpenTelemetry collector's file exporter writes them: one
   ``{"resourceSpans": [...]}`` document per line, ``--batch`` spans a line, one resource
   per (service, environment, version). The span carries the event's type as its name, its
   time as the start, its duration, status, trace and span ids (hashed from the event id
   when the event has none), and its other fields as typed attributes (``intValue`` as
   decimal text, as protobuf's JSON writes 64-bit integers). It is written with the
   standard library only, to ``OUT/spans-N.otlp.ndjson``, reused while its sidecar
   ``.meta.json`` records the same source export and batch size.
   It also writes ``OUT/spans-N.stored.ndjson``: the events the OTLP side stores, as
   NDJSON (converted by the OTLP reader's record path). Those are not quite the demo's
   events: every span has trace and span ids (the demo gives them to a few events), a
   kind and a scope, so the OTLP side stores about twice the bytes; this twin is the
   NDJSON ingest of exactly the stored events.
2. Runs, as whole subprocesses and interleaved A B C A B C (one untimed warm-up of each,
   then ``--runs`` timed runs of each): A ``mfq ingest SPANS --store <fresh dir> --format
   json``, B the same for the demo's NDJSON export and C for the stored-events twin. Wall
   time and the child's own peak RSS (``ru_maxrss`` from ``os.wait4``), as in
   ``bench/ingest.py``.
3. Checks every run's summary: ``read == ingested == N`` on every side.
4. Prints a table (or one JSON object): medians, events per second, and the ratios of the
   OTLP wall and CPU times to each NDJSON side's, run by run (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_EVENTS,
    DEFAULT_RUNS,
    BenchError,
    Sample,
    build_parser,
    common_options,
    ensure_export,
    environment,
    export_meta,
    export_path,
    measure,
    mfq_executable,
    name_suffix,
    pair_ratios,
    positive_int,
    progress,
    ratio_summary,
    require_success,
)
from mfq.demo import DemoConfig

DEFAULT_BATCH = 512
#: The runs' sides, in the order they run: the spans, the demo's NDJSON, the stored events.
_SIDES = ("otlp", "ndjson", "stored")
#: The issue's target: OTLP ingest at most this many times the NDJSON ingest.
TARGET_RATIO = 1.5
#: Demo fields that become the span's own OTLP fields or its resource, not attributes.
_RESOURCE_KEYS = {
    "service": "service.name",
    "environment": "deployment.environment.name",
    "version": "service.version",
}
_STATUS_CODES = {"ok": 1, "error": 2}
#: Demo fields renamed to their OpenTelemetry semantic-convention names.
_SEMCONV = {"http_status": "http.response.status_code", "severity": "log.level"}


@dataclass(frozen=True, slots=True)
class Options:
    """The command line, parsed."""

    events: int
    runs: int
    seed: int
    out: Path
    batch: int
    json: bool


def parse_args(argv: Sequence[str] | None = None) -> Options:
    """Parse the command line into :class:`Options`."""

    def add_batch(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--batch",
            type=positive_int,
            default=DEFAULT_BATCH,
            help=f"spans per OTLP document, one document a line (default {DEFAULT_BATCH})",
        )

    parser = build_parser(
        "Benchmark `mfq ingest` of OTLP/JSON spans beside NDJSON events of the same count.",
        events_help=f"spans and events (default {DEFAULT_EVENTS:,})",
        runs_help=f"timed runs of each ingest, after one warm-up (default {DEFAULT_RUNS})",
        out_help="directory for the exports and the run stores (default bench/out)",
        json_help="print the results as one JSON object instead of the table",
        after_runs=add_batch,
    )
    args = parser.parse_args(argv)
    return Options(**common_options(args), batch=args.batch)


# --- the OTLP export ------------------------------------------------------------------------


def _hex(text: str, size: int) -> str:
    return hashlib.blake2b(text.encode(), digest_size=size).hexdigest()


def _any_value(value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": _key_values(value)}}
    return {"stringValue": str(value)}


def _key_values(values: dict[str, object]) -> list[dict[str, object]]:
    return [{"key": k, "value": _any_value(v)} for k, v in values.items() if v is not None]


def event_to_span(
    event: dict[str, Any], seen: set[tuple[str, str]]
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One demo event as (its resource key, an OTLP span)."""
    fields = {k: v for k, v in event.items() if k != "attributes"}
    fields.update(event.get("attributes") or {})
    event_id = str(fields.pop("id"))
    name = fields.pop("type")
    start = datetime.fromisoformat(fields.pop("timestamp").replace("Z", "+00:00"))
    start_ns = int(start.timestamp()) * 1_000_000_000 + start.microsecond * 1000
    duration_ns = round(float(fields.pop("duration_ms", 0) or 0) * 1_000_000)
    trace_id = str(fields.pop("trace_id", "") or _hex(event_id, 16))
    span_id = str(fields.pop("span_id", "") or _hex(event_id, 8))
    if (trace_id, span_id) in seen:  # one span per event: ids must not repeat
        span_id = _hex(event_id, 8)
    seen.add((trace_id, span_id))
    resource = tuple(str(fields.pop(key, "")) for key in _RESOURCE_KEYS)
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 2,
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + duration_ns),
    }
    parent = fields.pop("parent_span_id", None)
    if parent:
        span["parentSpanId"] = parent
    status = fields.pop("status", None)
    if status in _STATUS_CODES:
        span["status"] = {"code": _STATUS_CODES[status]}
    attributes = {_SEMCONV.get(k, k): v for k, v in fields.items()}
    span["attributes"] = _key_values(attributes)
    return resource, span


def otlp_documents(export: Path, batch: int) -> Iterator[dict[str, Any]]:
    """The export's events as OTLP documents of ``batch`` spans each."""
    seen: set[tuple[str, str]] = set()
    spans: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    with export.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                spans.append(event_to_span(json.loads(line), seen))
            if len(spans) == batch:
                yield _document(spans)
                spans = []
    if spans:
        yield _document(spans)


def _document(spans: list[tuple[tuple[str, ...], dict[str, Any]]]) -> dict[str, Any]:
    by_resource: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for resource, span in spans:
        by_resource.setdefault(resource, []).append(span)
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": _key_values(
                        {k: v for k, v in zip(_RESOURCE_KEYS.values(), key, strict=True) if v}
                    )
                },
                "scopeSpans": [
                    {"scope": {"name": "mfq.bench", "version": "1"}, "spans": resource_spans}
                ],
            }
            for key, resource_spans in by_resource.items()
        ]
    }


def ensure_stored_twin(otlp: Path) -> Path:
    """The events the OTLP export stores, as NDJSON (generated unless an identical one exists)."""
    from mfq.ingest.otlp.stream import record_chunks

    twin = otlp.with_name(otlp.name.replace(".otlp.ndjson", ".stored.ndjson"))
    meta = {"source": otlp.name, "source_bytes": otlp.stat().st_size}
    meta_path = export_meta(twin)
    if twin.exists() and meta_path.exists():
        recorded = json.loads(meta_path.read_text())
        if recorded.get("bytes") == twin.stat().st_size and all(
            recorded.get(k) == v for k, v in meta.items()
        ):
            progress(f"reusing {twin} ({twin.stat().st_size / 2**20:,.1f} MiB)")
            return twin
    progress(f"writing the stored events of {otlp.name} into {twin} ...")
    started = time.perf_counter()
    meta_path.unlink(missing_ok=True)
    with otlp.open("rb") as source, twin.open("wb") as sink:
        for chunk in record_chunks(source, 16 * 2**20):
            if chunk.rejects:
                raise BenchError(f"{otlp.name}: the OTLP reader rejected {chunk.rejects[0]}")
            sink.writelines(text + b"\n" for text in chunk.records())
    meta["bytes"] = twin.stat().st_size
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    progress(f"  {twin.stat().st_size / 2**20:,.1f} MiB in {time.perf_counter() - started:.1f} s")
    return twin


def ensure_otlp_export(out: Path, events: int, seed: int, batch: int) -> tuple[Path, Path]:
    """(the NDJSON export, its OTLP twin), each generated unless an identical one exists."""
    ndjson = export_path(out, events, seed)
    ensure_export(ndjson, DemoConfig(events=events, seed=seed))
    otlp = out / f"spans-{name_suffix(events, seed)}.otlp.ndjson"
    meta = {"source": ndjson.name, "source_bytes": ndjson.stat().st_size, "batch": batch}
    meta_path = export_meta(otlp)
    if otlp.exists() and meta_path.exists():
        recorded = json.loads(meta_path.read_text())
        if recorded.get("bytes") == otlp.stat().st_size and all(
            recorded.get(k) == v for k, v in meta.items()
        ):
            progress(f"reusing {otlp} ({otlp.stat().st_size / 2**20:,.1f} MiB)")
            return ndjson, otlp
    progress(f"writing {events:,} spans into {otlp} ...")
    started = time.perf_counter()
    meta_path.unlink(missing_ok=True)
    with otlp.open("w", encoding="utf-8") as sink:
        for document in otlp_documents(ndjson, batch):
            sink.write(json.dumps(document, separators=(",", ":")) + "\n")
    meta["bytes"] = otlp.stat().st_size
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    progress(f"  {otlp.stat().st_size / 2**20:,.1f} MiB in {time.perf_counter() - started:.1f} s")
    return ndjson, otlp


# --- running ----------------------------------------------------------------------------------


def run_ingest(mfq: Path, source: Path, runs_dir: Path, events: int) -> Sample:
    """One ``mfq ingest`` into a fresh store, its summary checked (read == ingested == N)."""
    store = Path(tempfile.mkdtemp(prefix="mfq-store-", dir=runs_dir))
    cmd = [str(mfq), "ingest", str(source), "--store", str(store), "--format", "json"]
    try:
        sample = require_success(measure(cmd, runs_dir), cmd)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    summary = json.loads(sample.stdout)
    if not summary.get("read") == summary.get("ingested") == events:
        raise BenchError(f"{source.name}: expected {events} read and ingested: {summary}")
    return sample


def count_lines(path: Path) -> int:
    """The non-blank lines of a file (its events, for an NDJSON export)."""
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def run_sides(opts: Options, sources: Sequence[Path]) -> list[list[Sample]]:
    """Warm-up, then ``opts.runs`` interleaved timed runs of each source, in order."""
    mfq = mfq_executable()
    # The demo adds journey events to the count asked for: the export's lines are the events.
    events = count_lines(sources[1])
    runs_dir = opts.out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    progress("warm-up (untimed): " + ", ".join(s.name for s in sources))
    for source in sources:
        run_ingest(mfq, source, runs_dir, events)
    samples: list[list[Sample]] = [[] for _ in sources]
    for i in range(1, opts.runs + 1):
        for source, taken in zip(sources, samples, strict=True):
            taken.append(run_ingest(mfq, source, runs_dir, events))
        a, b, c = (taken[-1] for taken in samples)
        progress(
            f"run {i}/{opts.runs}: otlp {a.wall:.3f} s {a.peak_mib:,.0f} MiB | "
            f"ndjson {b.wall:.3f} s {b.peak_mib:,.0f} MiB | "
            f"stored {c.wall:.3f} s {c.peak_mib:,.0f} MiB | "
            f"ratios {a.wall / b.wall:.2f} {a.wall / c.wall:.2f}"
        )
    if not any(runs_dir.iterdir()):
        runs_dir.rmdir()
    return samples


def side(samples: Sequence[Sample], source: Path, events: int) -> dict[str, Any]:
    """One side's runs: wall times, peaks, throughput."""
    walls = [s.wall for s in samples]
    return {
        "file": str(source),
        "bytes": source.stat().st_size,
        "wall_seconds": [round(w, 4) for w in walls],
        "wall_median": round(statistics.median(walls), 4),
        "cpu_seconds": [round(s.cpu, 4) for s in samples],
        "cpu_median": round(statistics.median(s.cpu for s in samples), 4),
        "peak_mib": [round(s.peak_mib, 1) for s in samples],
        "peak_mib_max": round(max(s.peak_mib for s in samples), 1),
        "events_per_second": round(events / statistics.median(walls)),
        "reported_seconds": [json.loads(s.stdout).get("seconds") for s in samples],
    }


def summarise(
    opts: Options, sources: Sequence[Path], samples: Sequence[Sequence[Sample]]
) -> dict[str, Any]:
    """All results as one JSON-ready object."""
    a, b, c = samples
    result: dict[str, Any] = {
        "benchmark": "ingest-otlp",
        "events": opts.events,
        "seed": opts.seed,
        "batch": opts.batch,
        "runs": opts.runs,
        "warmup_runs": 1,
        "environment": environment(),
    }
    for key, taken, source in zip(_SIDES, samples, sources, strict=True):
        result[key] = side(taken, source, opts.events)
    for key, other in (("ndjson", b), ("stored", c)):
        result[f"ratio_otlp_over_{key}"] = ratio_summary(
            pair_ratios((s.wall for s in a), (s.wall for s in other)), 3
        )
        result[f"cpu_ratio_otlp_over_{key}"] = ratio_summary(
            pair_ratios((s.cpu for s in a), (s.cpu for s in other)), 3
        )
    return result


def format_table(result: dict[str, Any]) -> str:
    """The human-readable report."""
    lines = [
        f"OTLP ingest benchmark: {result['events']:,} spans ({result['batch']} a line) beside"
        f" {result['events']:,} NDJSON events ({result['runs']} timed runs each after 1"
        f" warm-up, interleaved; {result['environment']['cpus']} CPUs)",
        "",
        f"{'input':<8} {'MiB':>8} {'median s':>9} {'cpu s':>7} {'events/s':>10} {'peak MiB':>9}",
    ]
    for key in _SIDES:
        s = result[key]
        lines.append(
            f"{key:<8} {s['bytes'] / 2**20:>8,.1f} {s['wall_median']:>9.3f} {s['cpu_median']:>7.2f}"
            f" {s['events_per_second']:>10,} {s['peak_mib_max']:>9,.1f}"
        )
    lines += [
        "(ndjson: the demo export the spans were made from; stored: the events the OTLP side",
        " stores, as NDJSON; peak MiB: the largest ru_maxrss over the runs)",
        "",
    ]
    for key in ("ndjson", "stored"):
        wall, cpu = result[f"ratio_otlp_over_{key}"], result[f"cpu_ratio_otlp_over_{key}"]
        verdict = "PASS" if wall["median"] <= TARGET_RATIO else "FAIL"
        lines += [
            f"otlp/{key} wall time, run by run: "
            + " ".join(f"{r:.2f}" for r in wall["pairs"])
            + f"  -> median {wall['median']:.2f} (target <= {TARGET_RATIO}: {verdict})",
            f"otlp/{key} CPU time (user+sys), run by run: "
            + " ".join(f"{r:.2f}" for r in cpu["pairs"])
            + f"  -> median {cpu['median']:.2f}",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when it ran, 1 when something failed."""
    opts = parse_args(argv)
    try:
        ndjson, otlp = ensure_otlp_export(opts.out, opts.events, opts.seed, opts.batch)
        sources = (otlp, ndjson, ensure_stored_twin(otlp))
        samples = run_sides(opts, sources)
    except BenchError as exc:
        print(f"bench/ingest_otlp.py: FAILED: {exc}", file=sys.stderr)
        return 1
    result = summarise(opts, sources, samples)
    print(json.dumps(result, indent=2) if opts.json else format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
