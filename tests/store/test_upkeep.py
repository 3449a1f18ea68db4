"""Store upkeep: ``compact`` and ``prune`` on small hand-built stores, exact numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import mfq
from mfq.api import Store
from mfq.settings import Settings
from mfq.store.readers import reading
from tests.cli.test_cli import invoke
from tests.conftest import event
from tests.store.test_store import stored_ids


def day_event(i: int, day: int, **extra: object) -> dict[str, object]:
    """Event ``i`` on 2026-11-``day``, at minute ``i % 1440`` of the day."""
    record = event(i, **extra)
    record["timestamp"] = f"2026-11-{day:02d}T{i % 1440 // 60:02d}:{i % 60:02d}:00Z"
    return record


def three_batches(store: Store, write_ndjson: Callable[..., Path]) -> None:
    """Three ingests, each writing into 2026-11-03 and 2026-11-04: six small files."""
    for batch in range(3):
        records = [
            day_event(
                batch * 100 + i,
                3 + i % 2,
                service=["checkout", "search"][i % 2],
                trace_id=f"t{batch}-{i // 4}",
                duration_ms=float(i),
                attributes={f"only_batch_{batch}": i},
            )
            for i in range(100)
        ]
        store.ingest([write_ndjson(records)])


def on_disk(store: Store) -> set[str]:
    """Every data file under the store directory, relative to it."""
    found = set()
    for directory in ("events", "rejects", "ids"):
        found.update(
            p.relative_to(store.root).as_posix()
            for p in (store.root / directory).rglob("*")
            if p.is_file()
        )
    return found


def test_compact_rewrites_each_day_as_one_file_sorted_by_time(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    three_batches(store, write_ndjson)
    before = store.catalog.files("events")
    assert len(before) == 6 and len(store.catalog.files("ids")) == 3
    answer = store.query(group_by=["service"], aggs=["count", "sum(duration_ms)"])
    result = store.compact()
    assert (result.days, result.files_before, result.files_after) == (2, 6, 2)
    assert result.bytes_before == sum(f.bytes for f in before)
    after = store.catalog.files("events")
    assert [(f.day, f.rows) for f in after] == [("2026-11-03", 150), ("2026-11-04", 150)]
    assert result.bytes_after == sum(f.bytes for f in after)
    for record in after:
        nanos = pc.cast(pq.read_table(store.root / record.path).column("timestamp"), pa.int64())
        values = nanos.to_pylist()
        assert values == sorted(values)
        assert (record.min_ns, record.max_ns) == (values[0], values[-1])
    assert len(store.catalog.files("ids")) == 1
    assert stored_ids(store) == sorted(f"ev-{i}" for i in range(300))
    assert on_disk(store) == store.catalog.all_paths()  # the old files are gone
    assert store.query(group_by=["service"], aggs=["count", "sum(duration_ms)"]).equals(answer)
    # (an empty tmp folder was left, which mfq doctor reported as an interrupted write's)
    assert not (store.root / "tmp").exists()


def test_compaction_keeps_the_trace_index_summaries_and_field_types(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    three_batches(store, write_ndjson)
    types = store.field_types()
    store.compact()
    assert store.field_types() == types
    _holding, indexed = store.catalog.trace_files([])
    assert indexed == {f.path for f in store.catalog.files("events")}
    assert len(store.trace("t1-3")) == 4
    paths = [f.path for f in store.catalog.files("events")]
    assert set(store.catalog.summaries(paths)) == set(paths)
    assert set(store.schema()["field"]) >= {"only_batch_0", "only_batch_1", "only_batch_2"}


def test_compacting_a_compact_store_changes_nothing(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    three_batches(store, write_ndjson)
    store.compact()
    files = store.catalog.files("events")
    again = store.compact()
    assert (again.days, again.files_before, again.files_after) == (0, 2, 2)
    assert again.bytes_before == again.bytes_after
    assert store.catalog.files("events") == files


def test_compact_since_until_rewrites_only_the_days_they_meet(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    three_batches(store, write_ndjson)
    result = store.compact(since=datetime(2026, 11, 4, 6, tzinfo=UTC))
    assert (result.days, result.files_after) == (1, 4)
    days = [f.day for f in store.catalog.files("events")]
    assert days == ["2026-11-03"] * 3 + ["2026-11-04"]
    result = store.compact(until=datetime(2026, 11, 3, 0, 0, 1, tzinfo=UTC))
    assert (result.days, result.files_after) == (1, 2)


def test_a_day_larger_than_a_file_is_split_into_equal_files(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    store = mfq.open_store(tmp_path / "s", settings=Settings(compact_file_rows=100))
    three_batches(store, write_ndjson)  # 150 events a day, in three files of 50
    result = store.compact()
    assert (result.days, result.files_after) == (2, 4)
    assert [f.rows for f in store.catalog.files("events")] == [75, 75] * 2
    assert store.compact().days == 0  # two files are what 150 events need
    small = mfq.open_store(tmp_path / "s", settings=Settings(compact_file_rows=40))
    assert small.compact().days == 0  # 4 files would be needed: two are fewer already


def test_ingest_compact_compacts_the_days_the_batch_wrote(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    root = str(tmp_path / "s")
    for batch in range(2):
        path = write_ndjson([day_event(batch * 10 + i, 3 + batch) for i in range(10)])
        assert invoke("ingest", str(path), "--store", root)[0] == 0
        path = write_ndjson([day_event(50 + batch * 10 + i, 3 + batch) for i in range(10)])
        assert invoke("ingest", str(path), "--store", root)[0] == 0
    # 2026-11-03 and -04 have two files each; a batch into the 4th compacts only that day
    last = write_ndjson([day_event(90 + i, 4) for i in range(5)])
    assert invoke("ingest", str(last), "--store", root, "--compact")[0] == 0
    store = mfq.open_store(root)
    assert [(f.day, f.rows) for f in store.catalog.files("events")] == [
        ("2026-11-03", 10),
        ("2026-11-03", 10),
        ("2026-11-04", 25),
    ]


def test_compact_cli_says_files_and_bytes_before_and_after(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    root = tmp_path / "s"
    three_batches(mfq.open_store(root), write_ndjson)
    code, out, err = invoke("compact", "--store", str(root), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["days"] == 2
    code, out, err = invoke("compact", "--store", str(root), "--format", "json")
    assert code == 0 and "the store is already compact" in err
    row = json.loads(out)
    assert (row["days"], row["files_before"], row["files_after"]) == (0, 2, 2)


def test_files_a_reader_may_still_read_are_deleted_by_the_next_write(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    three_batches(store, write_ndjson)
    old = {f.path for f in store.catalog.files("events")}
    with reading(store.layout):  # a query in progress (in this process or another)
        store.compact()
        assert old <= on_disk(store)  # still there for the reader
    assert not old & store.catalog.all_paths()
    store.ingest([write_ndjson([day_event(999, 5)])])
    assert on_disk(store) == store.catalog.all_paths()


# -- prune ---------------------------------------------------------------------------------------


def four_days(store: Store, write_ndjson: Callable[..., Path]) -> Path:
    """40 events a day on 2026-11-03 .. 06 (one at minute 0..39 of every hour 0..39)."""
    records = [
        day_event(i, 3 + i // 40, service="checkout", attributes={"early": 1} if i < 40 else {})
        for i in range(160)
    ]
    path = write_ndjson(records)
    store.ingest([path])
    return path


def test_prune_drops_whole_days_and_rewrites_the_day_it_cuts(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    four_days(store, write_ndjson)
    # 2026-11-04 holds events at 00:40 .. 01:19 (i = 40..79): the cut at 01:00 keeps 20
    result = store.prune(datetime(2026, 11, 4, 1, 0, tzinfo=UTC))
    assert (result.events_removed, result.days_removed, result.days_cut) == (60, 1, 1)
    assert (result.files_before, result.files_after) == (4, 3)
    assert [(f.day, f.rows) for f in store.catalog.files("events")] == [
        ("2026-11-04", 20),
        ("2026-11-05", 40),
        ("2026-11-06", 40),
    ]
    info = store.info()
    assert info["events"] == 100
    assert info["first"] == datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
    assert "early" not in set(store.schema()["field"])  # only in the pruned day
    assert store.schema().set_index("field").loc["id", "distinct"] == 100
    assert len(stored_ids(store)) == 100
    assert on_disk(store) == store.catalog.all_paths()
    assert not (store.root / "events" / "date=2026-11-03").exists()


def test_a_dry_run_counts_and_changes_nothing(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    four_days(store, write_ndjson)
    files = store.catalog.files("events")
    result = store.prune(datetime(2026, 11, 5, tzinfo=UTC), dry_run=True)
    assert (result.events_removed, result.days_removed, result.days_cut, result.dry_run) == (
        80,
        2,
        0,
        True,
    )
    assert (result.files_before, result.files_after) == (4, 2)
    assert store.catalog.files("events") == files


def test_a_pruned_event_ingested_again_from_another_file_counts_as_new(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    path = four_days(store, write_ndjson)
    store.prune(datetime(2026, 11, 5, tzinfo=UTC))
    again = store.ingest([path])  # the same file: skipped whole, by its content hash
    assert (again.skipped_sources, again.ingested) == (1, 0)
    copy = write_ndjson(json.loads(line) for line in path.read_text().splitlines())
    copy.write_text(path.read_text() + json.dumps(day_event(500, 6)) + "\n")
    summary = store.ingest([copy])
    assert (summary.ingested, summary.duplicates) == (81, 80)
    assert len(stored_ids(store)) == len(set(stored_ids(store))) == 161


def test_pruning_nothing_is_a_no_op(store: Store, write_ndjson: Callable[..., Path]) -> None:
    four_days(store, write_ndjson)
    files = store.catalog.files("events")
    result = store.prune(datetime(2026, 11, 1, tzinfo=UTC))
    assert (result.events_removed, result.files_after) == (0, 4)
    assert store.catalog.files("events") == files


def test_prune_cli_parses_dates_and_ages(tmp_path: Path, write_ndjson: Callable[..., Path]) -> None:
    root = tmp_path / "s"
    four_days(mfq.open_store(root), write_ndjson)
    code, out, err = invoke(
        "prune", "--store", str(root), "--before", "2026-11-05", "--dry-run", "--format", "json"
    )
    assert code == 0, err
    row = json.loads(out)
    assert (row["events_removed"], row["dry_run"]) == (80, True)
    code, _out, err = invoke("prune", "--store", str(root), "--before", "last tuesday")
    assert code == 2
    assert err.strip() == (
        "mfq: error: --before: bad time 'last tuesday'"
        " (use ISO-8601 like 2026-11-03T10:00Z, or an age like 24h)"
    )
    code, out, err = invoke(
        "prune", "--store", str(root), "--before", "2026-11-06", "--format", "json"
    )
    assert code == 0, err
    assert mfq.open_store(root).info()["events"] == 40


@pytest.mark.parametrize("command", [["compact"], ["prune", "--before", "2026-11-05"]])
def test_upkeep_of_a_missing_store_fails_with_exit_3(tmp_path: Path, command: list[str]) -> None:
    code, _out, err = invoke(*command, "--store", str(tmp_path / "none"))
    assert code == 3 and f"no store at {tmp_path / 'none'}" in err


def test_pruning_everything_leaves_an_empty_store_that_takes_new_events(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    path = four_days(store, write_ndjson)
    result = store.prune(datetime(2027, 1, 1, tzinfo=UTC))
    assert (result.events_removed, result.files_after, result.bytes_after) == (160, 0, 0)
    assert (store.info()["events"], store.info()["first"]) == (0, None)
    assert list(store.schema().query("present > 0")["field"]) == []
    assert on_disk(store) == store.catalog.all_paths()
    copy = write_ndjson(json.loads(line) for line in path.read_text().splitlines()[:10])
    assert store.ingest([copy]).ingested == 10


# -- an interrupted rewrite leaves the store as it was -------------------------------------------


@pytest.mark.parametrize("moment", ["writing", "moving"])
def test_an_interrupted_compaction_leaves_the_store_as_it_was(
    store: Store,
    write_ndjson: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
) -> None:
    """Ctrl-C or SIGTERM while the new files are written, or once some are moved in but
    before the catalog lists them: no file of the rewrite is left (mfq doctor found its
    temporary files, or files the catalog does not list)."""
    from mfq.store import rewrite

    three_batches(store, write_ndjson)
    files, answer = on_disk(store), store.query(group_by=["service"], aggs=["count"])
    if moment == "writing":
        write_day = rewrite.Rewrite.write_day

        def interrupted(self: rewrite.Rewrite, *args: object) -> None:
            write_day(self, *args)  # type: ignore[arg-type]
            raise KeyboardInterrupt

        monkeypatch.setattr(rewrite.Rewrite, "write_day", interrupted)
    else:

        def interrupted_replace(*args: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(store.catalog, "replace_files", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        store.compact()
    assert on_disk(store) == files == store.catalog.all_paths()
    assert not (store.root / "tmp").exists()
    assert store.doctor().findings == []
    assert store.query(group_by=["service"], aggs=["count"]).equals(answer)
