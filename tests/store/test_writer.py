"""Events files: dictionaries only for columns whose values repeat, values unchanged."""

from __future__ import annotations

import itertools
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


def test_a_helper_thread_gives_the_same_file_and_record(tmp_path: Path) -> None:
    """Half the statistics, the summary and the trace index computed by a helper thread:
    the record and the file are those of the work done in one thread."""
    from concurrent.futures import ThreadPoolExecutor

    table = _table().append_column("trace_id", pa.array([f"T{i % 7}" for i in range(1000)]))
    alone = write_events_file(
        table, tmp_path / "a.parquet", "p", date(1970, 1, 1), DEFAULT_SETTINGS
    )
    with ThreadPoolExecutor(max_workers=1) as helper:
        helped = write_events_file(
            table, tmp_path / "b.parquet", "p", date(1970, 1, 1), DEFAULT_SETTINGS, None, helper
        )
        assert table_stats(table, None, helper) == table_stats(table)
    assert helped == alone
    assert [s.field for s in helped.field_stats] == [
        n for n in table.column_names if table.column(n).null_count < len(table)
    ]
    assert pq.read_table(tmp_path / "b.parquet").equals(pq.read_table(tmp_path / "a.parquet"))


def test_files_are_numbered_in_time_order_and_the_rejects_after_them(tmp_path: Path) -> None:
    """Several flushes, the last written beside the one in flight: the events files are
    numbered as their events come (a day's files in time order), the rejects file last."""
    import mfq
    from mfq.settings import Settings

    export = tmp_path / "export.ndjson"
    lines = [
        f'{{"id": "e{i}", "type": "t", "timestamp": "2026-11-0{1 + i // 40}T10:{i % 40:02d}:00Z"}}'
        for i in range(200)
    ]
    export.write_text("\n".join([*lines[:100], "not json", *lines[100:]]) + "\n")
    settings = Settings(flush_rows=30, chunk_bytes=2048)
    store = mfq.open_store(tmp_path / "store", create=True, settings=settings)
    summary = store.ingest([export])
    assert (summary.ingested, summary.rejected) == (200, 1)
    events = sorted((tmp_path / "store").glob("events/*/part-*.parquet"), key=_number)
    assert len(events) > 2
    times = [pq.read_table(f).column("timestamp").to_pylist() for f in events]
    assert all(a[-1] <= b[0] for a, b in itertools.pairwise(times))
    (rejects,) = (tmp_path / "store").glob("rejects/*.parquet")
    assert _number(rejects) > _number(events[-1])


def _number(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])
