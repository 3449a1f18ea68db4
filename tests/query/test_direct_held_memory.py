"""What a question on a file holds per event until the reading ends, and at its end
(docs/performance.md, "Memory at 10M events, second round"): repeated texts and integers
held as dictionaries with one-byte indices, made the store's types again when the
reading ends; the id hashes let go before the copies without the repeats are made, and
each table's original let go as its copy is made."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mfq.ingest.columns import TypeCounts
from mfq.query.direct import reader
from mfq.query.direct.scan import scan_held
from mfq.query.expr import parse_filter
from mfq.query.timerange import TimeRange
from mfq.store import ids

ROWS = 100_000


def _chunk(rows: int = ROWS, start: int = 0) -> pa.Table:
    """A chunk's held columns as the reading makes them: the time, an event type of a
    few values, a sample rate of one, a duration of distinct values; every buffer
    Arrow's own (an array made from numpy holds numpy's memory, which Arrow does not
    count)."""
    at = pa.array(np.arange(start, start + rows, dtype=np.int64))
    kinds = pa.array(["login", "logout", "http.request", "sms.sent"] * (rows // 4))
    return pa.table(
        {
            "timestamp": pc.multiply(at, 1_000_000).cast(pa.timestamp("ns", tz="UTC")),
            "type": kinds,
            "sample_rate": pc.add(pa.array(np.zeros(rows, dtype=np.int64)), 1),
            "duration_ms": pc.divide(at.cast(pa.float64()), 7),
        }
    )


def test_repeated_texts_and_integers_are_held_in_a_byte_an_event() -> None:
    held = reader._held_narrow(_chunk())
    sizes = {name: held.column(name).nbytes / ROWS for name in held.column_names}
    assert sizes["type"] < 1.1, sizes  # (4 bytes with 32-bit indices)
    assert sizes["sample_rate"] < 1.1, sizes  # (8 bytes as int64)
    assert sizes["duration_ms"] == 8  # distinct values stay as they are
    assert held.schema.field("type").type == pa.dictionary(pa.int8(), pa.string())


def test_a_dictionary_of_more_than_a_byte_takes_16_bit_indices() -> None:
    values = pa.array([f"v{i % 1000}" for i in range(10_000)])
    held = reader._held_narrow(pa.table({"v": values}))
    assert held.schema.field("v").type == pa.dictionary(pa.int16(), pa.string())
    assert reader._widened(held).column("v").to_pylist() == values.to_pylist()


def test_the_end_makes_the_store_types_again() -> None:
    chunk = _chunk(1_000)
    chunk = chunk.set_column(
        1, "type", pc.if_else(pc.equal(chunk["type"], "sms.sent"), None, chunk["type"])
    )
    widened = reader._widened(reader._held_narrow(chunk))
    encoded = chunk.column("type").dictionary_encode()
    assert widened.schema.field("type").type == pa.dictionary(pa.int32(), pa.string())
    # Each chunk's dictionary as 32-bit indices had made it (not unified across chunks).
    assert widened.column("type").chunks[0].dictionary.equals(encoded.chunks[0].dictionary)
    assert widened.column("type").equals(encoded)
    assert widened.column("sample_rate").type == pa.int64()
    assert widened.column("sample_rate").equals(chunk.column("sample_rate"))
    assert widened.column("duration_ms").equals(chunk.column("duration_ms"))


def _batch(tables: int, repeats: bool) -> reader._Batch:
    """A batch of ``tables`` held chunks, each of whose first ids (with ``repeats``)
    repeat ids of the chunk before."""
    batch = reader._Batch(frozenset({"timestamp", "type", "sample_rate", "duration_ms"}))
    for index in range(tables):
        first = index * (ROWS - 100) if repeats else index * ROWS
        names = pa.array([f"id-{n}" for n in range(first, first + ROWS)])
        counts = TypeCounts()
        counts.add("type", "string", ROWS)
        counts.add("duration_ms", "float", ROWS)
        counts.add("sample_rate", "int", ROWS)
        batch.tables.append(reader._held_narrow(_chunk(start=index * ROWS)))
        batch.counts.append(counts)
        batch.hashes.append(ids.hash_ids(pa.chunked_array([names])))
    return batch


def test_the_end_lets_the_hashes_and_each_original_go(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = 6
    tracemalloc.start()  # (numpy's memory, the hashes', is traced from here)
    try:
        batch = _batch(tables, repeats=True)
        narrow = sum(t.nbytes for t in batch.tables) // tables
        hashes = sum(h.nbytes for h in batch.hashes)
        arrow_before = pa.total_allocated_bytes()
        traced_before = tracemalloc.get_traced_memory()[0]
        seen: list[tuple[int, int]] = []
        widened = reader._widened

        def watched(table: pa.Table) -> pa.Table:
            traced = tracemalloc.get_traced_memory()[0] - traced_before
            seen.append((pa.total_allocated_bytes() - arrow_before, traced))
            return widened(table)

        monkeypatch.setattr(reader, "_widened", watched)
        found = batch.events()
    finally:
        tracemalloc.stop()
    assert found is not None
    assert found[0].num_rows == tables * ROWS - 100 * (tables - 1)
    assert len(seen) == tables
    # At the last table's turn: the tables before it made wide again (28 bytes an event
    # instead of 18) and this one's copy without its repeats; not every original beside
    # the copies (5 more tables' 18 bytes an event).
    wide = ROWS * (8 + 4 + 8 + 8)
    limit = (tables - 1) * (wide - narrow) + narrow + ROWS * 2
    assert max(arrow for arrow, _ in seen) <= limit, (seen, narrow, limit)
    # The hashes (numpy's memory: 16 bytes an event) are let go before the first copy.
    assert hashes > 0
    assert max(traced for _, traced in seen) < -hashes * 3 // 4, (seen, hashes)


def test_events_in_time_order_end_one_chunk_each(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _batch(4, repeats=False)
    seen: list[int] = []
    one_chunk = reader._one_chunk
    before = pa.total_allocated_bytes()

    def watched(column: pa.ChunkedArray) -> pa.ChunkedArray:
        seen.append(pa.total_allocated_bytes() - before)
        return one_chunk(column)

    monkeypatch.setattr(reader, "_one_chunk", watched)
    found = batch.events()
    assert found is not None
    table = found[0]
    assert [column.num_chunks for column in table.columns] == [1] * table.num_columns
    assert len(seen) == table.num_columns
    # Each column's chunks let go once it is one chunk: at the last column's turn, the
    # table made wide again (28 bytes an event), not it and its columns' copies.
    assert max(seen) <= 4 * ROWS * (28 + 4), (seen, 4 * ROWS * 28)
    assert table.column("type").to_pylist()[:5] == [
        "login",
        "logout",
        "http.request",
        "sms.sent",
        "login",
    ]


def test_a_scan_without_a_filter_reads_the_held_columns_where_they_lie() -> None:
    found = _batch(4, repeats=False).events()
    assert found is not None
    held = found[0]
    before = pa.total_allocated_bytes()
    result = scan_held(held, ["type", "sample_rate"], (), TimeRange(), ("type",))
    assert pa.total_allocated_bytes() - before < ROWS  # (12 bytes an event copied before)
    assert result.table.column("sample_rate").equals(held.column("sample_rate"))
    assert result.table.column("type").equals(held.column("type"))
    filtered = scan_held(
        held, ["type"], (parse_filter("duration_ms < 10"),), TimeRange(), ("type",)
    )
    assert filtered.table.num_rows == 70


def test_the_end_gives_back_freed_memory_once_the_hashes_are_let_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = _batch(3, repeats=True)
    calls: list[tuple[int, int]] = []
    widened: list[int] = []
    original = reader._widened

    def widen(table: pa.Table) -> pa.Table:
        widened.append(len(calls))
        return original(table)

    monkeypatch.setattr(
        reader, "_give_back_freed_memory", lambda: calls.append((len(batch.hashes), len(widened)))
    )
    monkeypatch.setattr(reader, "_widened", widen)
    assert batch.events() is not None
    # Once, the hashes let go, before the first copy is made.
    assert calls == [(0, 0)]
    assert widened == [1, 1, 1]


def test_texts_too_large_for_one_array_stay_in_their_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A text column past 2 GiB cannot be one array of 32-bit offsets: events in time
    order keep such a column in its chunks (made one, it was an internal error, where the
    store answers), and a question on them answers as on one chunk."""
    batch = _batch(4, repeats=False)
    found = batch.events()
    assert found is not None
    whole = found[0]
    # (As though every text column were past the limit: the seam, not 2 GiB of text.)
    monkeypatch.setattr(reader, "ONE_CHUNK_BYTES", 1)
    found = _batch(4, repeats=False).events()
    assert found is not None
    table = found[0]
    assert table.column("type").num_chunks == 4
    assert table.column("timestamp").num_chunks == 1  # (fixed width: no offsets)
    assert table.equals(whole)
    wanted = (parse_filter("type = 'login'"),)
    kept = scan_held(table, ["type"], wanted, TimeRange(), ("type",)).table
    assert kept.num_rows == ROWS  # a quarter of 4 chunks' events
    assert kept.equals(scan_held(whole, ["type"], wanted, TimeRange(), ("type",)).table)
