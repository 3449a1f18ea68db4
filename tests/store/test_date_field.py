"""A field called ``date`` beside the ``date=`` partition folders: mfq reads the field, and
the README's recipes for DuckDB and pyarrow read it too, with the partition key off."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

import mfq
from mfq.api import Selection
from tests.conftest import event


def _store(tmp_path: Path) -> Path:
    export = tmp_path / "orders.ndjson"
    records = [
        event(i, date=f"2025-01-0{1 + i % 2}", status="error" if i % 2 else "ok") for i in range(8)
    ]
    export.write_text("".join(json.dumps(r) + "\n" for r in records))
    root = tmp_path / "store"
    with mfq.open_store(root) as store:
        store.ingest([export])
    return root


def test_mfq_reads_a_field_called_date(tmp_path: Path) -> None:
    with mfq.open_store(_store(tmp_path)) as store:
        shown = store.events(fields="date", sort="id")
        assert shown["date"].tolist() == ["2025-01-01", "2025-01-02"] * 4
        ranked = store.correlate(Selection(where="status = 'error'"))
    assert "date" in set(ranked["field"])


def test_the_readme_recipes_read_the_field_not_the_partition(tmp_path: Path) -> None:
    root = _store(tmp_path)
    files = f"{root}/events/*/*.parquet"
    recipe = (
        "SELECT date, count(*) AS n FROM read_parquet(?, union_by_name = true,"
        " hive_partitioning = false) GROUP BY ALL ORDER BY date"
    )
    assert duckdb.execute(recipe, [files]).fetchall() == [("2025-01-01", 4), ("2025-01-02", 4)]
    table = ds.dataset(root / "events", format="parquet").to_table(columns=["date"])
    assert sorted(table.column("date").to_pylist()) == ["2025-01-01"] * 4 + ["2025-01-02"] * 4
    # With the folder names read as columns, the partition key hides the field.
    hive = ds.dataset(root / "events", format="parquet", partitioning="hive")
    assert set(hive.to_table(columns=["date"]).column("date").to_pylist()) == {"2026-11-03"}
