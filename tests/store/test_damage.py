"""Damaged store files: every command that would read one says which, in one line, exit 3
(never an internal error, never "cannot evaluate the filter"), summaries included; an
ingest rebuilds damaged id hashes from the event files.

The damage is done by hand to a store built for each test: files truncated, emptied,
deleted, overwritten in place; store folders replaced by files, the lock by a folder.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import mfq
from mfq.cli.main import cli
from tests.conftest import event

HINT = "(run 'mfq doctor' to see every damaged file, 'mfq doctor --repair' to drop them)"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _events(first: int, count: int, kind: str = "t") -> list[dict[str, object]]:
    # Three UTC days, so one batch writes three event files.
    return [
        {**event(i, type=kind), "timestamp": f"2026-11-0{1 + i % 3}T10:{i % 60:02d}:00Z"}
        for i in range(first, first + count)
    ]


@pytest.fixture
def store_root(tmp_path: Path, write_ndjson: Callable[..., Path]) -> Path:
    root = tmp_path / "store"
    with mfq.open_store(root) as store:
        store.ingest([write_ndjson(_events(0, 30), "a.ndjson")])
        store.ingest([write_ndjson([*_events(30, 6, "u"), "not json"], "b.ndjson")])
    return root


def _event_file(root: Path, day: str = "2026-11-02") -> Path:
    return sorted((root / "events" / f"date={day}").glob("*.parquet"))[0]


def _committed_id_files(root: Path) -> list[Path]:
    db = sqlite3.connect(root / "catalog.sqlite")
    try:
        rows = db.execute("SELECT path FROM files WHERE kind = 'ids' ORDER BY batch_id")
        return [root / path for (path,) in rows]
    finally:
        db.close()


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


READS = [
    ["query"],  # a count answered from the catalog's summaries
    ["query", "--where", "type = 't'", "--group-by", "type"],
    ["events", "--limit", "1"],
    ["timeseries", "--every", "1d"],
    ["info"],
    ["schema"],
]


@pytest.mark.parametrize("command", READS, ids=" ".join)
@pytest.mark.parametrize("damage", ["truncated", "emptied", "deleted"])
def test_reads_name_a_damaged_event_file_and_exit_3(
    store_root: Path, command: list[str], damage: str
) -> None:
    path = _event_file(store_root)
    size = path.stat().st_size
    if damage == "deleted":
        path.unlink()
        problem = "missing"
    else:
        kept = size // 2 if damage == "truncated" else 0
        with path.open("r+b") as handle:
            handle.truncate(kept)
        problem = f"truncated or changed: {kept} bytes, the catalog recorded {size}"
    assert invoke(*command, "--store", str(store_root)) == (
        3,
        "",
        f"mfq: error: damaged store file {path}: {problem} {HINT}\n",
    )


def test_a_file_overwritten_in_place_is_named_not_blamed_on_the_filter(store_root: Path) -> None:
    path = _event_file(store_root)
    data = bytearray(path.read_bytes())
    data[-64:] = b"\0" * 64  # the footer: same size, unreadable
    path.write_bytes(bytes(data))
    code, out, err = invoke(
        "query", "--where", "id != 'ev-1'", "--group-by", "type", "--store", str(store_root)
    )
    assert (code, out) == (3, "")
    assert err.startswith(f"mfq: error: damaged store file {path}: unreadable: ")
    assert err.endswith(f" {HINT}\n")


def test_an_events_folder_replaced_by_a_file_is_named(store_root: Path) -> None:
    shutil.rmtree(store_root / "events")
    (store_root / "events").write_text("not a folder")
    code, out, err = invoke("query", "--store", str(store_root))
    assert (code, out) == (3, "")
    assert err.startswith("mfq: error: damaged store file ")
    assert err.endswith(f": missing: events is not a directory {HINT}\n")


def test_a_damaged_rejects_file_is_named(store_root: Path) -> None:
    (path,) = (store_root / "rejects").glob("*.parquet")
    path.unlink()
    assert invoke("rejects", "--store", str(store_root)) == (
        3,
        "",
        f"mfq: error: damaged store file {path}: missing {HINT}\n",
    )


@pytest.mark.parametrize("damage", ["truncated", "deleted", "garbage"])
def test_ingest_rebuilds_damaged_id_hashes_from_the_event_files(
    store_root: Path, write_ndjson: Callable[..., Path], damage: str
) -> None:
    id_files = _committed_id_files(store_root)  # (rebuilt in the order they were committed)
    for path in id_files:
        if damage == "truncated":
            path.write_bytes(path.read_bytes()[:100])
        elif damage == "deleted":
            path.unlink()
        else:
            path.write_bytes(b"x" * path.stat().st_size)
    again = write_ndjson(_events(25, 15), "again.ndjson")  # 11 stored already, 4 new
    code, out, err = invoke("ingest", str(again), "--store", str(store_root), "--format", "json")
    relative = [_relative(store_root, path) for path in id_files]
    assert (code, err) == (
        0,
        "".join(f"mfq: rebuilt the damaged id hashes {r} from the event files\n" for r in relative),
    )
    summary = json.loads(out)
    assert (summary["ingested"], summary["duplicates"]) == (4, 11)
    assert summary["rebuilt_id_files"] == relative
    assert invoke("doctor", "--store", str(store_root)) == (
        0,
        "",
        "the store is sound: 13 files checked\n",
    )


def test_ingest_reports_id_hashes_it_cannot_rebuild_before_reading_its_input(
    store_root: Path, write_ndjson: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damaged id files whose events files are gone too: the batch cannot be checked for
    duplicates, and the ingest says so before it opens any input (standard input left
    open would otherwise hold the report back until its end)."""
    for id_file in _committed_id_files(store_root):
        id_file.unlink()
    for events in (store_root / "events" / "date=2026-11-02").glob("*.parquet"):
        events.unlink()  # (of both batches: each id file's rebuild needs one)
    opened: list[str] = []

    def never(self: object, source: object, *args: object) -> None:
        opened.append(str(source))
        raise AssertionError("an input was opened before the stored ids were read")

    monkeypatch.setattr(mfq.store.store.Storage, "_open_source", never)
    again = write_ndjson(_events(25, 15), "again.ndjson")
    code, out, err = invoke("ingest", str(again), "--store", str(store_root))
    assert (code, out, opened) == (3, "", [])
    assert err.startswith(f"mfq: error: damaged store file {store_root / 'events'}")
    assert err.endswith(f": missing {HINT}\n")


@pytest.mark.parametrize(
    ("path", "make", "what"),
    [
        ("tmp", "file", "tmp is not a directory"),
        ("events", "file", "events is not a directory"),
        ("ids", "file", "ids is not a directory"),
        ("write.lock", "folder", "write.lock is not a regular file"),
    ],
)
def test_ingest_stops_at_a_store_path_of_the_wrong_kind(
    store_root: Path, write_ndjson: Callable[..., Path], path: str, make: str, what: str
) -> None:
    target = store_root / path
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    if make == "file":
        target.write_text("x")
    else:
        target.mkdir()
    more = write_ndjson(_events(100, 3), "more.ndjson")
    assert invoke("ingest", str(more), "--store", str(store_root)) == (
        3,
        "",
        f"mfq: error: damaged store {store_root}: {what} {HINT}\n",
    )


def _overwrite_footer(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-64:] = b"\0" * 64  # same size, unreadable
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("command", [["info"], ["schema"]])
def test_info_and_schema_name_a_file_overwritten_in_place(
    store_root: Path, command: list[str]
) -> None:
    path = _event_file(store_root)
    _overwrite_footer(path)
    code, out, err = invoke(*command, "--store", str(store_root))
    assert (code, out) == (3, "")
    assert err.startswith(f"mfq: error: damaged store file {path}: unreadable: ")


def test_rejects_names_a_rejects_file_overwritten_in_place(store_root: Path) -> None:
    (path,) = (store_root / "rejects").glob("*.parquet")
    _overwrite_footer(path)
    code, out, err = invoke("rejects", "--store", str(store_root))
    assert (code, out) == (3, "")
    assert err.startswith(f"mfq: error: damaged store file {path}: unreadable: ")
