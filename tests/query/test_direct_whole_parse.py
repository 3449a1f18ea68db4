"""A question on a file parses it whole, as ingest does, where a projection costs more.

A derived id hashes the record's whole canonical text. A whole parse lets Arrow write
those texts (``mfq.ingest.canonicaltable``); a projected parse leaves the other keys out,
so every text was orjson's, each looked at for suspect numbers: a Zeek question took
more CPU than ingesting the same file. And a dotted key that may meet a key the
projection reads (ECS's ``log.level`` beside its ``log`` object) sent every record to
the record path: 15 times ingest's CPU. Such a source now drops its projection after
its first block (``fastpath._projection_costs_more``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj
import pytest

from mfq.ingest import fastpath
from mfq.query.direct.reader import read_files
from tests.query.test_direct import (
    SMALL_CHUNKS,
    _compare,
    _write,
    record_path_rows,
    small_probe,
)


def _connection(i: int, *, with_id: bool = False, duration: float = 0.25) -> str:
    record: dict[str, object] = {
        "ts": 1700000000.5 + i,
        "uid": f"C{i:08d}",
        "proto": "udp" if i % 3 else "tcp",
        "duration": duration,
        "orig_bytes": i * 7,
        "type": "conn",
    }
    if with_id:
        record["id"] = f"ev-{i}"
    return json.dumps(record)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """How many rows got an id from orjson's text, and how many projected parses ran."""
    counts = {"orjson rows": 0, "projected parses": 0}
    by_orjson, read_block = fastpath.derive_ids_from_texts, fastpath.read_block

    def derive(texts: list[bytes], floats: list[bool]) -> list[str]:
        counts["orjson rows"] += len(texts)
        return by_orjson(texts, floats)

    def read(buffer: pa.Buffer, options: pj.ParseOptions) -> pa.Table:
        # (a projected parse ignores the keys it does not declare; a whole one infers them)
        counts["projected parses"] += options.unexpected_field_behavior == "ignore"
        return read_block(buffer, options)

    monkeypatch.setattr(fastpath, "derive_ids_from_texts", derive)
    monkeypatch.setattr(fastpath, "read_block", read)
    with small_probe():
        yield counts


def test_records_without_ids_are_parsed_whole_after_the_first_block(
    tmp_path: Path, counted: dict[str, int]
) -> None:
    export = _write(tmp_path / "conn.ndjson", [_connection(i) for i in range(300)])
    direct = read_files([str(export)], frozenset({"proto"}), settings=SMALL_CHUNKS)
    assert (direct.summary.ingested, direct.summary.derived_ids) == (300, 300)
    # Only the first block (256 bytes: its two records) went through orjson; the rest
    # was parsed whole, its texts written by Arrow (before: 300 rows and 1 projected parse).
    assert counted == {"orjson rows": 2, "projected parses": 0}


def test_records_with_ids_keep_the_projection(tmp_path: Path, counted: dict[str, int]) -> None:
    lines = [_connection(i, with_id=True) for i in range(300)]
    export = _write(tmp_path / "conn.ndjson", lines)
    direct = read_files([str(export)], frozenset({"proto"}), settings=SMALL_CHUNKS)
    assert (direct.summary.ingested, direct.summary.derived_ids) == (300, 0)
    # The first block parsed whole (to learn the types), the rest with the projection.
    assert counted == {"orjson rows": 0, "projected parses": 1}


def test_a_few_records_without_ids_keep_the_projection(
    tmp_path: Path, counted: dict[str, int]
) -> None:
    """A file whose first records hold ids keeps its projected parse; a later record
    without one gets its id from orjson's text, as before."""
    lines = [_connection(i, with_id=i != 200) for i in range(300)]
    export = _write(tmp_path / "conn.ndjson", lines)
    direct = read_files([str(export)], frozenset({"proto"}), settings=SMALL_CHUNKS)
    assert (direct.summary.ingested, direct.summary.derived_ids) == (300, 1)
    assert counted == {"orjson rows": 1, "projected parses": 1}


def _ecs_line(i: int) -> str:
    """An ECS log record as Python's ecs-logging writes it, with an id."""
    return json.dumps(
        {
            "@timestamp": f"2025-01-13T09:58:{i % 60:02d}.{i % 1000:03d}Z",
            "log.level": ("debug", "info", "warning", "error")[i % 4],
            "message": f"message num={i}",
            "ecs.version": "1.6.0",
            "log": {"logger": "app", "origin": {"function": "main"}, "original": f"num={i}"},
            "event": {"id": f"e-{i}"},
        }
    )


def test_records_whose_dotted_keys_meet_a_read_key_are_parsed_whole(
    tmp_path: Path, counted: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one = record_path_rows(monkeypatch)
    export = _write(tmp_path / "ecs.json", [_ecs_line(i) for i in range(300)])
    direct = read_files([str(export)], frozenset({"severity"}), settings=SMALL_CHUNKS)
    assert (direct.summary.ingested, direct.summary.profiles) == (300, {"ecs": 1})
    # The first block's record went record by record under the projection, the rest was
    # parsed whole and vectorised (before: all 300 one by one).
    assert (len(one_by_one), counted["projected parses"]) == (1, 0)
    _compare([export], {"kind": "query", "group_by": ["severity"], "aggs": ["count"]})


@pytest.mark.parametrize(
    "durations",
    [
        [0.25],
        [1e-7, 0.25, 2.5e-6],  # written by orjson unlike Python's json: looked at
        [0.25, 1e16, 123456789012345678901234567890],  # an exponent; beyond 64 bits
    ],
)
def test_ids_derived_from_whole_parses_equal_the_stores(
    tmp_path: Path, durations: list[float]
) -> None:
    lines = [_connection(i, duration=durations[i % len(durations)]) for i in range(120)]
    lines[30] = _connection(30, with_id=True)  # (one record with an id of its own)
    lines[50] = lines[49]  # (a repeated record: the same derived id, kept once)
    export = _write(tmp_path / "conn.ndjson", lines)
    questions: list[dict[str, object]] = [
        {"kind": "events", "fields": "id,type,timestamp,proto,duration"},
        {"kind": "query", "group_by": ["proto"], "aggs": ["count", "max(duration)"]},
    ]
    _compare([export], questions)
