"""Events files: dictionaries only for columns whose values repeat, values unchanged."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mfq.settings import DEFAULT_SETTINGS
from mfq.store.catalog import FileRecord
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


def test_files_are_numbered_in_time_order_and_the_rejects_after_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several flushes, the last written beside the one in flight: the events files are
    numbered as their events come (a day's files in time order), the rejects file last."""
    import mfq
    from mfq.settings import Settings
    from mfq.store.writer import BatchWriter

    export = tmp_path / "export.ndjson"
    lines = [
        f'{{"id": "e{i}", "type": "t", "timestamp": "2026-11-{1 + i // 200:02d}T10:'
        f'{(i // 60) % 60:02d}:{i % 60:02d}Z", "pad": "{"x" * 40}"}}'
        for i in range(3050)
    ]  # (over 64 KiB: more than the head read ahead, so more than one chunk)
    export.write_text("\n".join([*lines[:1500], "not json", *lines[1500:]]) + "\n")
    at_finish: list[tuple[bool, bool]] = []
    finish = BatchWriter.finish

    def seen_finish(writer: BatchWriter) -> list[FileRecord]:
        at_finish.append((bool(writer._buffer), writer._in_flight is not None))
        return finish(writer)

    monkeypatch.setattr(BatchWriter, "finish", seen_finish)
    settings = Settings(flush_rows=1000, chunk_bytes=2048)
    store = mfq.open_store(tmp_path / "store", create=True, settings=settings)
    summary = store.ingest([export])
    assert (summary.ingested, summary.rejected) == (3050, 1)
    assert at_finish == [(True, True)]  # events buffered while a write is in flight
    events = sorted((tmp_path / "store").glob("events/*/part-*.parquet"), key=_number)
    (rejects,) = (tmp_path / "store").glob("rejects/*.parquet")
    numbers = sorted(_number(f) for f in [*events, rejects])
    assert numbers == list(range(1, len(events) + 2))
    assert _number(rejects) == numbers[-1]
    by_day: dict[str, list[list[object]]] = {}
    for f in events:
        by_day.setdefault(f.parent.name, []).append(
            pq.read_table(f).column("timestamp").to_pylist()
        )
    assert len(by_day) == 16
    assert max(len(files) for files in by_day.values()) > 1
    for files in by_day.values():
        assert all(a[-1] <= b[0] for a, b in itertools.pairwise(files))


def test_rejects_flushed_mid_ingest_are_numbered_whatever_the_writes_timing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rejects file written while an events write is in flight takes its number after
    that write's files, however long the write takes to number them: the same export
    gives the same files, numbered alike, with slow writes and with quick ones."""
    import time

    from mfq.store import writer

    monkeypatch.setattr(writer, "_REJECT_FLUSH", 1)  # every chunk's rejects written at once
    export = tmp_path / "export.ndjson"
    lines = [
        f'{{"id": "e{i}", "type": "t", "timestamp": "2026-11-{1 + i // 400:02d}T10:'
        f'{(i // 60) % 60:02d}:{i % 60:02d}Z", "pad": "{"x" * 40}"}}'
        for i in range(2000)
    ]
    export.write_text("\n".join(f"{line}\nnot json {i}" for i, line in enumerate(lines)) + "\n")
    quick = _files_in_number_order(export, tmp_path / "quick")
    day_slices = writer._day_slices

    def slow_day_slices(table: pa.Table) -> Iterator[tuple[pa.Table, date]]:
        time.sleep(0.05)  # (a write numbers its files only after this)
        return day_slices(table)

    monkeypatch.setattr(writer, "_day_slices", slow_day_slices)
    slow = _files_in_number_order(export, tmp_path / "slow")
    assert [kind for kind, _ in quick].count("rejects") > 20
    assert slow == quick
    assert sum(rows for kind, rows in quick if kind == "part") == 2000
    assert sum(rows for kind, rows in quick if kind == "rejects") == 2000


def _files_in_number_order(export: Path, root: Path) -> list[tuple[str, int]]:
    """Each file's kind and rows, in number order, once ``export`` is ingested."""
    import mfq
    from mfq.settings import Settings

    settings = Settings(flush_rows=300, chunk_bytes=4096)
    mfq.open_store(root, create=True, settings=settings).ingest([export])
    files = sorted(root.glob("*/**/*-*.parquet"), key=_number)
    assert [_number(f) for f in files] == list(range(1, len(files) + 1))
    return [(f.name.split("-", 1)[0], pq.ParquetFile(f).metadata.num_rows) for f in files]


def _number(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1])


def _days_export(path: Path, days: int = 4, per_day: int = 300) -> Path:
    lines = [
        f'{{"id": "e{d}-{i}", "type": "t", "timestamp": "2026-11-{1 + d:02d}T10:'
        f'{i // 60:02d}:{i % 60:02d}Z", "n": {i}}}'
        for d in range(days)
        for i in range(per_day)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _catalog_rows(root: Path) -> list[tuple[object, ...]]:
    """What the catalog keeps of each file (its path named by folder and number: the
    batch's token in file names is random)."""
    import sqlite3

    def named(path: str) -> str:
        folder, _, name = path.rpartition("/")
        return folder if name.startswith("ids-") else f"{folder}/{name.rsplit('-', 1)[1]}"

    db = sqlite3.connect(root / "catalog.sqlite")
    try:
        rows = [
            (table, named(row[0]), *row[1:])
            for table, columns in (
                ("files", "path, kind, day, rows, bytes, min_ns, max_ns, schema"),
                ("trace_index", "*"),
                ("file_summary", "*"),
                ("field_stats", "*"),
            )
            for row in db.execute(f"SELECT {columns} FROM {table}")
        ]
    finally:
        db.close()
    return sorted(rows, key=repr)


def _stored(root: Path) -> list[tuple[str, str, list[dict[str, object]]]]:
    """Each events file's day folder, number and rows, in number order."""
    files = sorted(root.glob("events/*/part-*.parquet"), key=_number)
    return [(f.parent.name, f.name.rsplit("-", 1)[1], pq.read_table(f).to_pylist()) for f in files]


class _InlineExecutor(Executor):
    """Runs what is submitted at once, in the caller's thread."""

    def __init__(self, *_: object, **__: object) -> None:
        pass

    def submit(  # type: ignore[override]
        self, fn: Callable[..., object], /, *args: object, **kwargs: object
    ) -> Future[object]:
        done: Future[object] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as err:
            done.set_exception(err)
        return done


def test_a_flushs_day_files_written_at_once_are_those_written_in_one_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flush spans several days: its files are written two at a time, in two threads,
    and are the files (names, numbers, rows, order) and catalog records written one
    after another in one thread."""
    import threading

    import mfq
    from mfq.store import writer as writer_module
    from mfq.store.writer import BatchWriter

    export = _days_export(tmp_path / "export.ndjson")
    threads: set[int] = set()
    write = BatchWriter._write_events

    def seen_write(writer: BatchWriter, *args: object) -> object:
        threads.add(threading.get_ident())
        return write(writer, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(BatchWriter, "_write_events", seen_write)
    counts: list[int] = []
    records: list[list[tuple[object, ...]]] = []
    for name in ("one thread", "at once"):
        if name == "at once":
            monkeypatch.undo()
            monkeypatch.setattr(BatchWriter, "_write_events", seen_write)
        else:
            monkeypatch.setattr(writer_module, "ThreadPoolExecutor", _InlineExecutor)
        threads.clear()
        store = mfq.open_store(tmp_path / name, create=True)
        assert store.ingest([export]).ingested == 1200
        counts.append(len(threads))
        records.append(_catalog_rows(tmp_path / name))
    assert counts == [1, 2]  # (one flush, the batch's last, over four days: two lanes)
    assert _stored(tmp_path / "at once") == _stored(tmp_path / "one thread")
    assert len(_stored(tmp_path / "at once")) == 4
    assert records[0] == records[1]
    assert not (tmp_path / "at once" / "tmp").exists()


def test_a_flush_over_many_days_writes_two_files_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unsorted export's flush can span hundreds of days: its files are still written
    by two threads, never more than two at once (a thread a day held every file's
    buffers at once), and are the files written one after another."""
    import threading

    import mfq
    from mfq.store import writer as writer_module
    from mfq.store.writer import BatchWriter

    export = _days_export(tmp_path / "export.ndjson", days=28, per_day=20)
    threads: set[int] = set()
    lock = threading.Lock()
    running, most = 0, 0
    write = BatchWriter._write_events

    def counted_write(writer: BatchWriter, *args: object) -> object:
        nonlocal running, most
        with lock:
            threads.add(threading.get_ident())
            running += 1
            most = max(most, running)
        try:
            return write(writer, *args)  # type: ignore[arg-type]
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(writer_module, "ThreadPoolExecutor", _InlineExecutor)
    alone = mfq.open_store(tmp_path / "one thread", create=True)
    assert alone.ingest([export]).ingested == 560
    monkeypatch.undo()
    monkeypatch.setattr(BatchWriter, "_write_events", counted_write)
    store = mfq.open_store(tmp_path / "two lanes", create=True)
    assert store.ingest([export]).ingested == 560
    assert (len(threads), most) == (2, 2)
    assert _stored(tmp_path / "two lanes") == _stored(tmp_path / "one thread")
    assert len(_stored(tmp_path / "two lanes")) == 28
    assert _catalog_rows(tmp_path / "two lanes") == _catalog_rows(tmp_path / "one thread")


def test_a_flush_starts_its_write_beside_the_write_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flush while the write before it is still going hands its events to a write at
    once (it waited for the one in flight first, so a slow write held back the next
    one's start); its files are still numbered after the earlier ones, and the store is
    the one written one flush after another in one thread."""
    import threading

    import mfq
    from mfq.settings import Settings
    from mfq.store import writer as writer_module

    export = _days_export(tmp_path / "export.ndjson", days=1, per_day=1200)
    settings = Settings(flush_rows=300, chunk_bytes=2048)
    write = writer_module.write_events_file
    calls: list[int] = []
    second = threading.Event()
    beside: list[bool] = []

    def first_waits(table: pa.Table, *args: object) -> object:
        calls.append(len(calls))
        if len(calls) == 1:  # (a deadlock guard only: the next write sets it at once)
            beside.append(second.wait(timeout=20))
        else:
            second.set()
        return write(table, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "ThreadPoolExecutor", _InlineExecutor)
    alone = mfq.open_store(tmp_path / "one thread", create=True, settings=settings)
    assert alone.ingest([export]).ingested == 1200
    monkeypatch.undo()
    monkeypatch.setattr(writer_module, "write_events_file", first_waits)
    store = mfq.open_store(tmp_path / "beside", create=True, settings=settings)
    assert store.ingest([export]).ingested == 1200
    assert beside == [True]
    assert len(_stored(tmp_path / "beside")) > 2
    assert _stored(tmp_path / "beside") == _stored(tmp_path / "one thread")
    assert _catalog_rows(tmp_path / "beside") == _catalog_rows(tmp_path / "one thread")


def test_two_lanes_share_the_rows_largest_first() -> None:
    from mfq.store.writer import _two_lanes

    assert _two_lanes([5, 1, 7, 3, 3]) == ([2, 4], [0, 1, 3])  # 10 rows against 9
    assert _two_lanes([4]) == ([0], [])
    assert _two_lanes([2, 2]) == ([0], [1])


def test_a_failed_days_file_among_the_last_commits_nothing_and_leaves_no_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One of the last files written side by side fails: the ingest fails, nothing is
    committed or left in the store, and no write thread outlives it."""
    import threading

    import mfq
    from mfq.store import writer as writer_module

    export = _days_export(tmp_path / "export.ndjson")
    write = writer_module.write_events_file

    def failing(table: pa.Table, tmp: Path, path: str, day: date, *args: object) -> object:
        if day == date(2026, 11, 2):
            raise OSError("disk gone")
        return write(table, tmp, path, day, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "write_events_file", failing)
    store = mfq.open_store(tmp_path / "store", create=True)
    with pytest.raises(OSError, match="disk gone"):
        store.ingest([export])
    assert store.info()["events"] == 0
    assert list((tmp_path / "store").glob("events/**/*.parquet")) == []
    assert not (tmp_path / "store" / "tmp").exists()
    assert [t.name for t in threading.enumerate() if t.name.startswith("mfq-write")] == []


def test_an_interrupt_while_a_flushs_day_files_are_written_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while one of a flush's day files is still being written in its own thread:
    the ingest stops, that write is waited for before the batch's files are removed, and
    nothing is committed or left."""
    import threading

    import mfq
    from mfq.settings import Settings
    from mfq.store import writer as writer_module
    from mfq.store.writer import BatchWriter

    export = _days_export(tmp_path / "export.ndjson")
    started, release = threading.Event(), threading.Event()
    written: list[date] = []
    write = writer_module.write_events_file

    def slow(table: pa.Table, tmp: Path, path: str, day: date, *args: object) -> object:
        if day == date(2026, 11, 2):
            started.set()
            release.wait(timeout=30)
        record = write(table, tmp, path, day, *args)  # type: ignore[arg-type]
        written.append(day)
        return record

    def interrupted(writer: BatchWriter) -> list[FileRecord]:
        started.wait(timeout=30)
        threading.Timer(0.2, release.set).start()
        raise KeyboardInterrupt

    monkeypatch.setattr(writer_module, "write_events_file", slow)
    monkeypatch.setattr(BatchWriter, "finish", interrupted)
    store = mfq.open_store(tmp_path / "store", create=True, settings=Settings(flush_rows=1000))
    with pytest.raises(KeyboardInterrupt):
        store.ingest([export])
    assert date(2026, 11, 2) in written  # (the write in flight ended before the clean-up)
    assert store.info()["events"] == 0
    assert list((tmp_path / "store").glob("events/**/*.parquet")) == []
    assert not (tmp_path / "store" / "tmp").exists()
    assert [t.name for t in threading.enumerate() if t.name.startswith("mfq-write")] == []


def test_wide_events_are_written_when_their_bytes_reach_the_limit_before_their_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch holds at most ``flush_bytes`` of events (plus the chunk that reached it)
    before writing them: wide records (a real Windows log's 140 keys) held 131,072 rows,
    1.15 GB at the peak of a 332 MB export."""
    import mfq
    from mfq.settings import Settings
    from mfq.store.writer import BatchWriter

    export = tmp_path / "wide.ndjson"
    lines = [
        f'{{"id": "e{i}", "type": "t", "timestamp": "2026-11-03T10:{(i // 60) % 60:02d}:'
        f'{i % 60:02d}Z", ' + ", ".join(f'"k{k}": "{i:06d}-{k}"' for k in range(40)) + "}"
        for i in range(3000)
    ]
    export.write_text("\n".join(lines) + "\n")
    flushed: list[tuple[int, int]] = []
    flush = BatchWriter.flush

    def seen_flush(writer: BatchWriter) -> None:
        flushed.append((writer._buffered_rows, writer._buffered_bytes))
        flush(writer)

    monkeypatch.setattr(BatchWriter, "flush", seen_flush)
    limit = 256 << 10
    settings = Settings(flush_rows=1_000_000, flush_bytes=limit, chunk_bytes=64 << 10)
    store = mfq.open_store(tmp_path / "store", create=True, settings=settings)
    assert store.ingest([export]).ingested == 3000
    assert len(flushed) >= 3
    assert all(held >= limit and rows < 3000 for rows, held in flushed)
    assert sum(rows for rows, _ in flushed) <= 3000  # (the rest written by ``finish``)
    events = sorted((tmp_path / "store").glob("events/*/part-*.parquet"))
    assert sum(pq.read_metadata(f).num_rows for f in events) == 3000
    assert len(events) == len(flushed) + 1


def test_columns_absent_from_most_chunks_count_toward_the_bytes_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The buffer's unified table holds every buffered column for every row: 100 records
    each bringing a key of their own, then 60,000 narrow ones, made 100 columns of 60,100
    rows (48 MB) for chunks holding 4 MB; they are counted, so a flush is written sooner."""
    import mfq
    from mfq.settings import Settings
    from mfq.store import writer

    export = tmp_path / "own.ndjson"
    lines = [
        f'{{"id": "e{i}", "type": "t", "timestamp": "2026-11-03T10:00:00Z", "s": 1'
        + (f', "own{i}": {i}' if i < 100 else "")
        + "}"
        for i in range(60_100)
    ]
    export.write_text("\n".join(lines) + "\n")
    unified: list[int] = []
    unify = writer.unify

    def seen_unify(tables: list[pa.Table]) -> pa.Table:
        table = unify(tables)
        unified.append(table.nbytes)
        return table

    monkeypatch.setattr(writer, "unify", seen_unify)
    limit = 4 << 20
    settings = Settings(flush_rows=1_000_000, flush_bytes=limit, chunk_bytes=64 << 10)
    store = mfq.open_store(tmp_path / "store", create=True, settings=settings)
    assert store.ingest([export]).ingested == 60_100
    assert len(unified) >= 2
    assert max(unified) < 3 * limit  # (48 MB in one table before)
    events = sorted((tmp_path / "store").glob("events/*/part-*.parquet"))
    assert sum(pq.read_metadata(f).num_rows for f in events) == 60_100


class _DeferredExecutor(Executor):
    """Runs what is submitted only when its result is asked for, in the asker's thread:
    a write that starts after the chunks added since its flush were merged."""

    def __init__(self, *_: object, **__: object) -> None:
        pass

    def submit(  # type: ignore[override]
        self, fn: Callable[..., object], /, *args: object, **kwargs: object
    ) -> Future[object]:
        class _Later(Future[object]):
            def result(self, timeout: float | None = None) -> object:
                if not self.done():
                    try:
                        self.set_result(fn(*args, **kwargs))
                    except Exception as err:
                        self.set_exception(err)
                return super().result(timeout)

        return _Later()


def test_a_write_takes_the_value_classes_as_of_its_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value classes a flush's files are written with are those of the events added
    until that flush: the write's threads read them while the next chunks are merged
    into the batch's (a dict changing size under their iteration, found in review)."""
    import mfq
    from mfq.settings import Settings
    from mfq.store import writer as writer_module

    lines = [
        f'{{"id": "e{i}", "type": "t", "timestamp": "2026-11-01T10:00:{i % 60:02d}Z",'
        f' "x": "{"a" if i < 2000 else i}", "y": {"1" if i < 2000 else chr(34) + "b" + chr(34)}}}'
        for i in range(3000)
    ]
    export = tmp_path / "export.ndjson"
    export.write_text("\n".join(lines) + "\n")
    written: list[tuple[int, dict[str, set[str]] | None]] = []
    write = writer_module.write_events_file

    def recorded(table: pa.Table, *args: object, **kwargs: object) -> FileRecord:
        classes = args[4] if len(args) > 4 else kwargs.get("classes")
        written.append((table.num_rows, classes))  # type: ignore[arg-type]
        return write(table, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "write_events_file", recorded)
    monkeypatch.setattr(writer_module, "ThreadPoolExecutor", _DeferredExecutor)
    settings = Settings(flush_rows=300, chunk_bytes=4096)
    store = mfq.open_store(tmp_path / "store", create=True, settings=settings)
    assert store.ingest([export]).ingested == 3000
    # The first flushes held text under x and integers under y only: mixed in none;
    # y is mixed from the 2,000th event on, which each write ran after.
    rows_before_mixed = 0
    for rows, classes in written:
        if rows_before_mixed + rows > 2000:
            break
        assert classes == {}
        rows_before_mixed += rows
    assert rows_before_mixed >= 300
    assert written[-1][1] == {"y": {"integer", "string"}}
