"""Seeded, fast generation of realistic Manufactory exports with a planted incident.

The export is produced chunk by chunk (about ``config.chunk_events`` events each): a
chunk's columns are drawn with numpy, sorted by time, and formatted as NDJSON in one go.
Trace spans that end up past a chunk's end are carried into the next chunk, so the
stream as a whole is in timestamp order. Ids number the events in that order (the
planted order journeys' events apart, from ``JOURNEY_IDS``).
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from mfq.demo.config import DemoConfig
from mfq.demo.encoding import FragmentTables, encode
from mfq.demo.sampling import TRACE_BOUND_MS, ChunkSampler, EventColumns
from mfq.demo.traffic import plan_chunks
from mfq.demo.truth import DemoTruth, TruthRecorder
from mfq.demo.world import World

#: The first number of journey events' ids (``ev_900000000000``); other events count from 0.
JOURNEY_IDS = 900_000_000_000
#: gzip level of ``.gz`` exports: level 1 is several times faster than 9 and, on such
#: repetitive text, barely larger.
GZIP_LEVEL = 1


class ByteSink(Protocol):
    """Anything with ``write(bytes)``: a binary file, a pyarrow stream, a socket wrapper."""

    def write(self, data: bytes, /) -> object: ...


def _sorted_columns(world: World) -> Iterator[EventColumns]:
    """The export's events in timestamp order, one chunk at a time."""
    carry: EventColumns | None = None
    for chunk in plan_chunks(world):
        columns = ChunkSampler(world, chunk).sample()
        if carry is not None:
            columns = EventColumns.concat([carry, columns])
        columns = columns.take(np.argsort(columns.timestamp_ms, kind="stable"))
        cut = int(np.searchsorted(columns.timestamp_ms, chunk.end_ms(world), "left"))
        yield columns.slice(0, cut)
        carry = columns.slice(cut, len(columns))
    if carry is not None and len(carry):
        raise AssertionError("trace spans beyond the end of the range")  # pragma: no cover


def _ndjson_chunks(world: World, recorder: TruthRecorder) -> Iterator[bytes]:
    """The export's NDJSON text in blocks of whole lines, recording the truth as it goes."""
    tables = FragmentTables(world)
    next_id, next_journey_id = 0, JOURNEY_IDS
    for columns in _sorted_columns(world):
        if len(columns) == 0:
            continue
        # Journey events are numbered apart, so the other events keep their ids.
        journey = columns.journey != 0
        ids = np.empty(len(columns), dtype=np.int64)
        ids[~journey] = next_id + np.arange(int((~journey).sum()), dtype=np.int64)
        ids[journey] = next_journey_id + np.arange(int(journey.sum()), dtype=np.int64)
        blocks = encode(tables, columns, ids)
        recorder.record(columns, sum(len(block) for block in blocks))
        next_id += int((~journey).sum())
        next_journey_id += int(journey.sum())
        yield from blocks


def write_ndjson(sink: ByteSink, config: DemoConfig) -> DemoTruth:
    """Write the export described by ``config`` to ``sink`` as NDJSON; return its truth."""
    world = World(config)
    recorder = TruthRecorder(world)
    for data in _ndjson_chunks(world, recorder):
        sink.write(data)
    return recorder.result(None)


def generate_records(config: DemoConfig) -> Iterator[dict[str, object]]:
    """The export's events as parsed JSON objects, in timestamp order (same as the file)."""
    world = World(config)
    for data in _ndjson_chunks(world, TruthRecorder(world)):
        for line in data.splitlines():
            record: dict[str, object] = json.loads(line)
            yield record


def _open_stream(stack: ExitStack, path: Path, target: Path) -> ByteSink:
    """A binary stream writing to ``path``, compressed as ``target``'s suffix says."""
    suffix = target.suffix.lower()
    if suffix == ".zst":
        stream: ByteSink = stack.enter_context(pa.CompressedOutputStream(str(path), "zstd"))
        return stream
    raw = stack.enter_context(path.open("wb"))
    if suffix == ".gz":
        # No file name and mtime 0 in the header: the same config gives the same bytes.
        return stack.enter_context(
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0)
        )
    if suffix == ".bz2":
        return stack.enter_context(bz2.BZ2File(raw, "wb"))
    return raw


def write_export(path: Path | str, config: DemoConfig) -> DemoTruth:
    """Write the export as NDJSON to ``path``; gzip, bz2 or zstd by its suffix (.gz, .bz2, .zst).

    The file appears complete or not at all: it is written beside ``path`` and renamed.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with ExitStack() as stack:
            truth = write_ndjson(_open_stream(stack, partial, path), config)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return replace(truth, path=path)


def generate_trace_example(
    config: DemoConfig | None = None, route: str = "/api/checkout"
) -> list[dict[str, object]]:
    """The records of the first trace whose root serves ``route`` (root first, time order).

    By default from a small export without incident; routes of trace roots are
    ``/api/checkout``, ``/api/search``, ``/api/products/{id}``, ``/api/cart`` and
    ``/api/login``.
    """
    config = config or DemoConfig(events=5_000, incident=None)
    trace_id: object = None
    deadline = ""
    spans: list[dict[str, object]] = []
    for record in generate_records(config):
        attributes = record["attributes"]
        if not isinstance(attributes, dict) or "trace_id" not in attributes:
            continue
        if trace_id is None and _is_root_of(attributes, route):
            trace_id = attributes["trace_id"]
            deadline = _timestamp_after(str(record["timestamp"]), TRACE_BOUND_MS)
        if trace_id is not None and str(record["timestamp"]) > deadline:
            break
        if attributes["trace_id"] == trace_id:
            spans.append(record)
    if not spans:
        raise ValueError(f"no trace serves {route!r} in this export")
    return spans


def _is_root_of(attributes: dict[str, object], route: str) -> bool:
    return "parent_span_id" not in attributes and attributes.get("http.route") == route


def _timestamp_after(timestamp: str, milliseconds: int) -> str:
    """The timestamp text ``milliseconds`` later, in the export's format (compares as text)."""
    later = datetime.fromisoformat(timestamp) + timedelta(milliseconds=milliseconds)
    return later.strftime("%Y-%m-%dT%H:%M:%S.") + f"{later.microsecond // 1000:03d}Z"
