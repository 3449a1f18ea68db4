"""The vectorised path's learned text columns: a key seen as text in some records and as an
object in others stays text (found by the parity property test, where it depended on which
worker thread learned which path first)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from mfq.api import Store
from mfq.ingest.fastpath import FastPathState, _parse_options


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
