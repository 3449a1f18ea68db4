"""Events files: dictionaries only for columns whose values repeat, values unchanged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mfq.settings import DEFAULT_SETTINGS
from mfq.store.fieldstats import table_stats
from mfq.store.writer import dictionary_columns, write_events_file


def _table(rows: int = 1000) -> pa.Table:
    return pa.table(
        {
            "id": [f"e{i}" for i in range(rows)],
            "type": ["a", "b"] * (rows // 2),
            "timestamp": pa.array(range(rows), pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
            "region": [f"r{i % 10}" for i in range(rows)],  # 10 values: a dictionary pays
            "bytes": list(range(rows)),  # every value distinct: plain
            "ratio": [i / 7 for i in range(rows)],
            "seldom": [f"v{i}" if i % 50 == 0 else None for i in range(rows)],  # 20 values
        }
    )


def test_dictionaries_go_to_repeating_columns_only() -> None:
    """At most a tenth as many distinct values as rows; ids never (they are unique)."""
    table = _table()
    assert dictionary_columns(table, table_stats(table)) == ["type", "region", "seldom"]


def test_written_file_holds_the_same_values_with_those_encodings(tmp_path: Path) -> None:
    table = _table()
    path = tmp_path / "part.parquet"
    record = write_events_file(table, path, "x/part.parquet", date(1970, 1, 1), DEFAULT_SETTINGS)
    assert record.rows == 1000
    assert pq.read_table(path).equals(table)
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encoded = {
        meta.column(i).path_in_schema: "RLE_DICTIONARY" in meta.column(i).encodings
        for i in range(meta.num_columns)
    }
    assert encoded == {
        "id": False,
        "type": True,
        "timestamp": False,
        "region": True,
        "bytes": False,
        "ratio": False,
        "seldom": True,
    }


def test_a_field_only_a_duplicate_held_is_no_column(tmp_path: Path) -> None:
    import mfq

    export = tmp_path / "export.ndjson"
    export.write_text(
        '{"id": "a", "type": "t", "timestamp": "2026-11-03T10:00:00Z", "n": 1}\n'
        '{"id": "a", "type": "t", "timestamp": "2026-11-03T10:00:00Z", "extra": "x"}\n'
        '{"id": "b", "type": "t", "timestamp": "2026-11-03T10:01:00Z", "n": 2}\n'
    )
    store = mfq.open_store(tmp_path / "store", create=True)
    summary = store.ingest([export])
    assert (summary.ingested, summary.duplicates) == (2, 1)
    stored = store.events(as_arrow=True)
    assert stored.column("n").to_pylist() == [1, 2]
    assert "extra" not in stored.column_names
    files = sorted((tmp_path / "store").glob("events/*/*.parquet"))
    assert files and all("extra" not in pq.read_schema(f).names for f in files)
