"""A question on a file sorts its events by time column by column, letting each column go
once its sorted copy is made: at 10M events, a sort of the whole table at once held every
column twice, which was the read's peak (docs/performance.md, "Memory at 10M events")."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mfq.query.direct import reader

ROWS = 200_000


def _table() -> pa.Table:
    """Times falling, and four columns; every buffer Arrow's own (``pc.multiply``: an
    array made from numpy would hold numpy's memory, which Arrow does not count)."""
    falling = pa.array(np.arange(ROWS, 0, -1, dtype=np.int64))
    times = pc.multiply(falling, 1_000_000_000).cast(pa.timestamp("ns", tz="UTC"))
    rising = pa.array(np.arange(ROWS, dtype=np.int64))
    values = {f"v{i}": pc.multiply(rising, i + 1) for i in range(4)}
    return pa.table({"timestamp": times, **values})


def test_the_sort_lets_each_column_go_once_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    column_bytes = ROWS * 8
    held = [_table()]
    before = pa.total_allocated_bytes()
    seen: list[int] = []
    taken = reader._taken

    def watched(column: pa.ChunkedArray, order: pa.Array) -> pa.ChunkedArray:
        seen.append(pa.total_allocated_bytes() - before)
        return taken(column, order)

    monkeypatch.setattr(reader, "_taken", watched)
    result = reader._sorted_by_time(held)
    assert not held
    assert len(seen) == 5
    # At each column's turn, beyond the table held before: the order (8 bytes a row,
    # numpy's memory here) and the column sorted before it, whose original is gone; not
    # every column twice.
    assert max(seen) <= 2 * column_bytes, [s / column_bytes for s in seen]
    assert result.num_rows == ROWS


def test_the_sort_is_by_time_and_stable() -> None:
    times = pa.array([3, 1, 2, 1, 3], pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    table = pa.table({"timestamp": times, "n": pa.array([0, 1, 2, 3, 4])})
    sorted_table = reader._sorted_by_time([table])
    assert sorted_table.column("n").to_pylist() == [1, 3, 2, 0, 4]
    assert sorted_table.schema == table.schema
