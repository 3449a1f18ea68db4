"""The store's guarantees: counts add up, duplicates and re-ingests store nothing twice,
--strict commits nothing, crashes and concurrent writers never corrupt it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import mfq
from mfq.api import Store
from mfq.errors import StoreNotFound
from tests.conftest import SHARED_REAL, event


def stored_ids(store: Store) -> list[str]:
    ids: list[str] = []
    for f in store.catalog.files("events"):
        ids.extend(pq.read_table(store.root / f.path, columns=["id"]).column("id").to_pylist())
    return sorted(ids)


def test_counts_add_up_and_rejects_are_kept_with_reasons(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    path = write_ndjson([event(1), "not json", event(2), [1], {"type": "x"}, event(1)])
    summary = store.ingest([path])
    assert (summary.read, summary.ingested, summary.duplicates, summary.rejected) == (6, 2, 1, 3)
    assert summary.read == summary.ingested + summary.duplicates + summary.rejected
    assert summary.rejects_by_reason == {"missing_timestamp": 1, "not_json": 1, "not_object": 1}
    rejects = pq.read_table(store.root / store.catalog.files("rejects")[0].path).to_pylist()
    assert [(r["number"], r["code"], r["raw"]) for r in rejects] == [
        (2, "not_json", "not json"),
        (4, "not_object", "[1]"),
        (5, "missing_timestamp", '{"type": "x"}'),
    ]
    assert all(r["source"] == str(path) for r in rejects)


def test_reingesting_a_file_is_a_no_op(store: Store, write_ndjson: Callable[..., Path]) -> None:
    path = write_ndjson([event(i) for i in range(10)])
    store.ingest([path])
    files_before = store.catalog.files("events")
    again = store.ingest([path])
    assert (again.skipped_sources, again.read, again.ingested) == (1, 0, 0)
    assert store.catalog.files("events") == files_before
    assert len(stored_ids(store)) == 10


def test_ids_already_stored_are_duplicates_across_files(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson([event(i) for i in range(5)])])
    summary = store.ingest([write_ndjson([event(i) for i in range(3, 8)])])
    assert (summary.ingested, summary.duplicates) == (3, 2)
    assert stored_ids(store) == sorted(f"ev-{i}" for i in range(8))


def test_records_without_ids_are_deduplicated_by_content(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    record = {"type": "a", "ts": 1, "x": 1}
    store.ingest([write_ndjson([record, {"x": 1, "ts": 1, "type": "a"}])])
    summary = store.ingest([write_ndjson([record, {"type": "a", "ts": 2}])])
    assert (summary.ingested, summary.duplicates, summary.derived_ids) == (1, 1, 2)
    assert len(stored_ids(store)) == 2


def test_strict_commits_nothing_when_anything_is_rejected(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    summary = store.ingest([write_ndjson([event(1), "oops"])], strict=True)
    assert not summary.committed
    assert (summary.read, summary.ingested, summary.rejected) == (2, 1, 1)
    assert store.catalog.files("events") == [] and store.catalog.sources() == []
    clean = store.ingest([write_ndjson([event(1)])], strict=True)
    assert clean.committed and stored_ids(store) == ["ev-1"]


def test_events_are_partitioned_by_utc_date_and_sorted(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    records = [
        {"id": "c", "type": "a", "timestamp": "2026-11-04T00:30:00+02:00"},  # 3rd, 22:30 UTC
        {"id": "a", "type": "a", "timestamp": "2026-11-04T01:00:00Z"},
        {"id": "b", "type": "a", "timestamp": "2026-11-03T09:00:00Z"},
    ]
    store.ingest([write_ndjson(records)])
    days = {f.day: f for f in store.catalog.files("events")}
    assert sorted(days) == ["2026-11-03", "2026-11-04"]
    first_day = pq.read_table(store.root / days["2026-11-03"].path)
    assert first_day.column("id").to_pylist() == ["b", "c"]
    assert days["2026-11-03"].path.startswith("events/date=2026-11-03/")
    assert (
        pq.ParquetFile(store.root / days["2026-11-03"].path)
        .metadata.row_group(0)
        .column(0)
        .compression
        == "ZSTD"
    )


def test_reading_a_store_that_does_not_exist_fails_and_creates_nothing(tmp_path: Path) -> None:
    store = mfq.open_store(tmp_path / "nothing")
    with pytest.raises(StoreNotFound):
        store.info()
    assert not (tmp_path / "nothing").exists()


def test_orphans_of_a_crashed_batch_are_removed_on_the_next_write(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson([event(1)])])
    orphan = store.root / "events" / "date=2026-11-03" / "part-crashed-00001.parquet"
    orphan.write_bytes(b"half a file")
    (store.root / "tmp" / "crashed").mkdir(parents=True)
    store.ingest([write_ndjson([event(2)])])
    assert not orphan.exists() and not (store.root / "tmp").exists()
    assert stored_ids(store) == ["ev-1", "ev-2"]


def test_store_matches_duckdb_reading_the_same_input(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    records = [
        event(
            i,
            service=["checkout", "search", None][i % 3],
            duration_ms=i * 1.5,
            http_status=200 + (i % 2) * 300,
            attributes={"region": f"r{i % 4}", "n": i},
        )
        for i in range(300)
    ]
    path = write_ndjson(records)
    store.ingest([path])
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    ours = duckdb.sql(
        "SELECT count(*), count(service), sum(duration_ms), sum(http_status),"
        " count(DISTINCT region), sum(n), min(timestamp), max(timestamp)"
        f" FROM read_parquet({files!r}, union_by_name=true)"
    ).fetchall()
    theirs = duckdb.sql(
        f"SELECT count(*), count(service), sum(duration_ms), sum(http_status),"
        f" count(DISTINCT attributes.region), sum(attributes.n), min(timestamp::TIMESTAMPTZ),"
        f" max(timestamp::TIMESTAMPTZ) FROM read_ndjson('{path}')"
    ).fetchall()
    assert ours == theirs
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({files!r})").fetchall()
    types = {row[0]: row[1] for row in described}
    assert types["timestamp"].startswith("TIMESTAMP") and types["duration_ms"] == "DOUBLE"
    assert (
        types["http_status"] == "BIGINT" and types["n"] == "BIGINT" and types["region"] == "VARCHAR"
    )


def test_openstack_export_ingests_with_zero_rejects(store: Store) -> None:
    summary = store.ingest([SHARED_REAL / "openstack" / "openstack_2k.ndjson"])
    assert (summary.read, summary.ingested, summary.rejected) == (2000, 2000, 0)
    fields = set(store.schema()["field"])
    assert {"http_status", "duration_ms", "correlation_id"} <= fields


# -- crashes and concurrency (real processes) ----------------------------------------------


def _ingest_process(store_dir: Path, path: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mfq", "ingest", str(path), "--store", str(store_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _big_export(tmp_path: Path, name: str, start: int, count: int) -> Path:
    path = tmp_path / name
    with path.open("w") as out:
        for i in range(start, start + count):
            out.write(json.dumps(event(i, attributes={"payload": "x" * 200})) + "\n")
    return path


@pytest.mark.slow
def test_kill_9_mid_batch_then_rerun_stores_every_event_exactly_once(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    path = _big_export(tmp_path, "big.ndjson", 0, 400_000)
    mfq.open_store(store_dir, create=True).ingest([_big_export(tmp_path, "seed.ndjson", 0, 10)])
    process = _ingest_process(store_dir, path)
    deadline = time.monotonic() + 60
    # Kill once the batch has started writing files (mid-batch, before its commit).
    while time.monotonic() < deadline and process.poll() is None:
        if any((store_dir / "tmp").rglob("*.parquet")):
            break
        time.sleep(0.005)
    assert process.poll() is None, "ingest finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    store = mfq.open_store(store_dir)
    assert len(stored_ids(store)) == 10  # the killed batch is invisible
    summary = store.ingest([path])
    assert (summary.ingested, summary.duplicates) == (399_990, 10)
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) == 400_000
    assert not (store_dir / "tmp").exists()


@pytest.mark.slow
def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Switching a new catalog to WAL makes a second process's SQLite answer "database
    is locked" at once, without waiting: opening retries until the other is done."""
    export = tmp_path / "small.ndjson"
    export.write_text(
        "".join(
            json.dumps({"id": f"e{i}", "type": "t", "timestamp": "2026-11-20T00:00:00Z"}) + "\n"
            for i in range(2000)
        )
    )
    for round_number in range(8):  # two at once collided in about a third of tries
        store_dir = tmp_path / f"store-{round_number}"
        processes = [_ingest_process(store_dir, export, "--format", "json") for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        summaries = [json.loads(out) for out, _err in outputs]
        assert sorted(s["ingested"] for s in summaries) == [0, 2000]
        assert len(stored_ids(mfq.open_store(store_dir))) == 2000


@pytest.mark.slow
def test_two_concurrent_ingests_end_with_the_union(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    first = _big_export(tmp_path, "a.ndjson", 0, 30_000)
    second = _big_export(tmp_path, "b.ndjson", 20_000, 30_000)
    processes = [_ingest_process(store_dir, p, "--format", "json") for p in (first, second)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    summaries = [json.loads(out) for out, _err in outputs]
    assert sum(s["ingested"] for s in summaries) == 50_000
    assert sum(s["duplicates"] for s in summaries) == 10_000
    ids = stored_ids(mfq.open_store(store_dir))
    assert len(ids) == len(set(ids)) == 50_000


def test_python_api_as_the_spec_shows_it(tmp_path: Path, write_ndjson: Callable[..., Path]) -> None:
    store = mfq.open_store(tmp_path / "new-store")  # nothing exists yet
    assert not store.exists()
    summary = store.ingest([write_ndjson([event(1), event(2, project_id=7), "junk"])])
    assert (summary.ingested, summary.rejected) == (2, 1)
    info = store.info()
    assert (info["events"], info["sources"], info["projects"], info["types"]) == (2, 1, 1, 1)
    assert str(info["first"]) == "2026-11-03 10:00:01+00:00"
    schema = store.schema().set_index("field")
    assert schema.loc["project_id", "present"] == 50.0
    rejects = store.rejects()
    assert rejects[["number", "code", "raw"]].values.tolist() == [[3, "not_json", "junk"]]
    assert store.rejects(code="missing_type").empty


def test_progress_reports_records_and_bytes(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    updates: list[tuple[str, int, int | None, int | None]] = []
    path = write_ndjson([event(i) for i in range(50)])
    store.ingest(
        [path],
        progress=lambda p: updates.append((p.source, p.records, p.bytes_done, p.bytes_total)),
    )
    assert updates and updates[-1][0] == str(path)
    assert updates[-1][1] == 50
    assert updates[-1][3] == path.stat().st_size


def test_a_catalog_from_an_earlier_mfq_gains_the_newer_columns(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "old"
    root.mkdir()
    old = sqlite3.connect(root / "catalog.sqlite")
    old.executescript(
        "CREATE TABLE files (path TEXT PRIMARY KEY, batch_id INTEGER, kind TEXT, day TEXT,"
        " rows INTEGER, bytes INTEGER, min_ns INTEGER, max_ns INTEGER);"
        "CREATE TABLE sources (id INTEGER PRIMARY KEY AUTOINCREMENT, batch_id INTEGER,"
        " name TEXT, content_hash TEXT, size INTEGER, container TEXT, compression TEXT,"
        " counters TEXT);"
    )
    old.close()
    store = mfq.open_store(root)
    assert store.info()["events"] == 0
    assert store.catalog.sources() == []


def test_schema_leaves_out_top_values_where_nothing_stands_out(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    records = [
        event(i, trace_id=f"t{i // 2:05d}", service="a" if i % 3 else "b") for i in range(3000)
    ]
    store.ingest([write_ndjson(records)])
    rows = store.schema(exact=True).set_index("field")
    assert rows.loc["trace_id", "distinct"] == 1500
    assert list(rows.loc["trace_id", "top_values"]) == []  # 1,500 pairs: none stands out
    assert list(rows.loc["service", "top_values"]) == ["a (2000)", "b (1000)"]
    # From the catalog's statistics (one file: its distinct count is exact)
    rows = store.schema().set_index("field")
    assert rows.loc["trace_id", "distinct"] == 1500
    assert list(rows.loc["trace_id", "top_values"]) == []
    assert list(rows.loc["service", "top_values"]) == ["a (2000)", "b (1000)"]
