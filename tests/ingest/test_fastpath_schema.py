"""The vectorised path's learned text columns: a key seen as text in some records and as an
object in others stays text (found by the parity property test, where it depended on which
worker thread learned which path first)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from mfq.ingest import fastpath
from mfq.ingest.containers import RecordChunk, _lines_chunk
from mfq.ingest.fastpath import (
    FastPathState,
    _learnable,
    _parse_options,
    _whole_float_paths,
    validate_chunk_fast,
)
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.validate import validate_chunk
from mfq.api import Store


def test_text_key_wins_over_an_object_under_the_same_name() -> None:
    state = FastPathState(
        string_paths={("timestamp",), ("timestamp", "created_at"), ("a", "b"), ("a", "c")}
    )
    schema = _parse_options(state, None).explicit_schema
    assert schema.field("timestamp").type == pa.string()
    assert schema.field("a").type == pa.struct([("b", pa.string()), ("c", pa.string())])


def test_ingest_of_such_records_keeps_every_record(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    records = [
        {"id": "1", "type": "t", "timestamp": "2026-11-03T10:00:00Z", "meta": "plain"},
        {"id": "2", "type": "t", "timestamp": "2026-11-03T10:00:01Z", "meta": {"created_at": "x"}},
    ]
    summary = store.ingest([write_ndjson(records * 3)])
    assert (summary.read, summary.ingested, summary.duplicates, summary.rejected) == (6, 2, 4, 0)


def _chunk_of(records: list[dict[str, object]]) -> RecordChunk:
    data = "\n".join(json.dumps(r) for r in records).encode()
    chunk, _lines = _lines_chunk(data, 1)
    return chunk


def _record(i: int, x: object) -> dict[str, object]:
    return {"id": f"e{i}", "type": "t", "timestamp": f"2026-11-03T10:00:{i % 60:02d}Z", "x": x}


def test_learned_types_declare_float_columns() -> None:
    """Floats are declared once learned (pyarrow parses a declared column a third faster)."""
    schema = pa.schema(
        [("a", pa.float64()), ("s", pa.struct([("f", pa.float64()), ("l", pa.list_(pa.int64()))]))]
    )
    assert _learnable(schema) == pa.schema(
        [("a", pa.float64()), ("s", pa.struct([("f", pa.float64())]))]
    )
    assert _learnable(schema, frozenset({("s", "f")})) == pa.schema([("a", pa.float64())])


def test_a_block_of_whole_numbers_under_a_learned_float_reads_as_integers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocks learn ``x`` as a float, later blocks hold only whole numbers: those are parsed
    again as pyarrow infers them, so the result equals inferring every block (the oracle),
    and whole numbers count as integers, as record by record."""
    records = [_record(i, 1.5) for i in range(1000)] + [_record(i, 2) for i in range(1000, 1200)]
    chunk = _chunk_of(records)
    state = FastPathState(sub_block_bytes=1024)
    fast = validate_chunk_fast(chunk, NormalizeOptions(), state)
    assert state.whole_paths == {("x",)}
    monkeypatch.setattr(fastpath, "_learnable", lambda schema, whole=frozenset(): None)
    inferred = validate_chunk_fast(chunk, NormalizeOptions(), FastPathState(sub_block_bytes=1024))
    assert fast.type_counts.counts == inferred.type_counts.counts
    assert fast.table.equals(inferred.table)
    assert fast.type_counts.counts["x"]["integer"] > 0
    slow = validate_chunk(chunk, NormalizeOptions())
    assert fast.table.column("x").to_pylist() == slow.table.column("x").to_pylist()


def test_whole_float_paths_finds_nested_columns_with_values_only() -> None:
    table = pa.table(
        {
            "a": pa.array([1.0, None, 3.0]),
            "b": pa.array([1.0, 2.5, None]),
            "c": pa.array([None, None, None], pa.float64()),
            "s": pa.array([{"f": 2.0}, None, {"f": None}], pa.struct([("f", pa.float64())])),
        }
    )
    assert _whole_float_paths(table, table.schema) == {("a",), ("s", "f")}
