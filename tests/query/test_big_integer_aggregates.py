"""Aggregates and arithmetic over integers past 2^53 and sums past int64's range: every
answer as DuckDB's over the stored Parquet files (a double where DuckDB answers a double),
the same on a file as on its store. Each raised an internal error (a cast of an integer
past 2^53 to a double refused), or, for a sum past 2^63, wrapped to a wrong negative sum."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest

import mfq
from mfq.api import Selection, Store
from mfq.query.direct.reader import read_files
from mfq.query.direct.store import HeldStorage

BIG = 2**53 + 1
HUGE = 2**62


def _export(path: Path, values: list[int]) -> Path:
    lines = [
        {"type": "ab"[i % 2], "timestamp": f"2026-11-03T10:{i:02d}:00Z", "x": value}
        for i, value in enumerate(values)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _stores(tmp_path: Path, values: list[int]) -> tuple[Store, Store, str]:
    export = _export(tmp_path / "e.ndjson", values)
    store = mfq.open_store(tmp_path / "store", create=True)
    store.ingest([export])
    held = read_files([str(export)], None)
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    return store, Store(HeldStorage(held.table, held.classes)), f"read_parquet({files!r})"


AGGREGATES = {
    "avg(x)": "avg(x)",
    "stddev(x)": "stddev_samp(x)",
    "p50(x)": "quantile_cont(x, 0.5)",
    "p95(x)": "quantile_cont(x, 0.95)",
    "median(x)": "quantile_cont(x, 0.5)",
    "sum(x)": "sum(x)",
}


@pytest.mark.parametrize(
    "values", [[4, BIG, -BIG, 7], [HUGE, HUGE, HUGE + 1, 5], [-HUGE, -HUGE, -HUGE, 1]]
)
def test_aggregates_of_integers_past_2_53_answer_as_duckdb(
    tmp_path: Path, values: list[int]
) -> None:
    store, held, events = _stores(tmp_path, values)
    for name, sql in AGGREGATES.items():
        ((expected,),) = duckdb.sql(f"SELECT {sql} FROM {events}").fetchall()
        for source in (store, held):
            (row,) = source.query(as_arrow=True, aggs=[name]).to_pylist()
            got = row[name]
            if isinstance(got, int) and not isinstance(expected, float):
                assert got == expected, name  # an int64 sum: exact
            else:
                assert math.isclose(got, float(expected), rel_tol=1e-15), (name, got, expected)
        grouped = [
            store.query(as_arrow=True, group_by=["type"], aggs=[name]).to_pylist(),
            held.query(as_arrow=True, group_by=["type"], aggs=[name]).to_pylist(),
        ]
        assert grouped[0] == grouped[1]


def test_a_sum_past_int64_is_a_double_not_a_wrapped_integer(tmp_path: Path) -> None:
    store, held, _events = _stores(tmp_path, [HUGE, HUGE, HUGE + 1, 5])
    for source in (store, held):
        (row,) = source.query(as_arrow=True, aggs=["sum(x)", "avg(x)"]).to_pylist()
        assert row == {"sum(x)": float(3 * HUGE + 6), "avg(x)": (3 * HUGE + 6) / 4}
        # The groups cut by --limit fit int64, the TOTAL row does not: all as doubles.
        rows = source.query(
            as_arrow=True, group_by=["x"], aggs=["sum(x)"], order_by=["x"], limit=1, totals=True
        ).to_pylist()
        assert rows == [
            {"x": "5", "sum(x)": 5.0},
            {"x": "OTHER", "sum(x)": float(3 * HUGE + 1)},
            {"x": "TOTAL", "sum(x)": float(3 * HUGE + 6)},
        ]
    # A sum that fits stays an exact integer.
    (row,) = store.query(Selection(where=["x < 100"]), as_arrow=True, aggs=["sum(x)"]).to_pylist()
    assert row == {"sum(x)": 5}


@pytest.mark.parametrize(
    "condition", ["x / 2 > 1", "x * 1.5 > 10", "x + 0.5 > 10", "x - 1 > 10", "x > 10.5"]
)
def test_arithmetic_on_integers_past_2_53_filters_as_duckdb(tmp_path: Path, condition: str) -> None:
    store, held, events = _stores(tmp_path, [4, BIG, -BIG, 7, 20])
    ((expected,),) = duckdb.sql(f"SELECT count(*) FROM {events} WHERE {condition}").fetchall()
    for source in (store, held):
        (row,) = source.query(as_arrow=True, selection=Selection(where=[condition])).to_pylist()
        assert row == {"count": expected}
