"""``mfq doctor``: the check finds every kind of damage; ``--repair`` drops it in one
transaction, reports exactly what was lost, and ingesting the sources it names again
restores the lost events and nothing else."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import mfq
from mfq.cli.main import cli
from mfq.store.catalog import Catalog
from tests.conftest import event


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _events(first: int, count: int, kind: str) -> list[dict[str, object]]:
    # Three UTC days, so one batch writes three event files (one a day).
    return [
        {**event(i, type=kind), "timestamp": f"2026-11-0{1 + i % 3}T10:{i % 60:02d}:00Z"}
        for i in range(first, first + count)
    ]


@pytest.fixture
def exports(write_ndjson: Callable[..., Path]) -> tuple[Path, Path]:
    return (
        write_ndjson(_events(0, 30, "t"), "a.ndjson"),
        write_ndjson([*_events(30, 6, "u"), "not json"], "b.ndjson"),
    )


@pytest.fixture
def store_root(tmp_path: Path, exports: tuple[Path, Path]) -> Path:
    root = tmp_path / "store"
    for export in exports:
        with mfq.open_store(root) as store:
            store.ingest([export])
    return root


def _batch_files(root: Path, exports: tuple[Path, Path], kind: str) -> list[Path]:
    """The files of batch a (ingested first), then of batch b, of one kind."""
    with mfq.open_store(root) as store:
        batch_of = store.catalog.file_batches()
        records = sorted(store.catalog.files(kind), key=lambda f: (batch_of[f.path], f.path))
    return [root / f.path for f in records]


def _doctor(root: Path, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    code, out, err = invoke("doctor", "--store", str(root), "--format", "json", *extra)
    return code, json.loads(out), err


def _count(root: Path) -> int:
    code, out, _err = invoke("query", "--store", str(root), "--format", "json")
    assert code == 0
    return int(json.loads(out)[0]["count"])


def test_a_sound_store_passes(store_root: Path) -> None:
    assert invoke("doctor", "--store", str(store_root)) == (
        0,
        "",
        "the store is sound: 9 files checked\n",
    )


def test_repair_drops_damage_reports_the_loss_and_reingesting_restores_it(
    store_root: Path, exports: tuple[Path, Path]
) -> None:
    day2 = _batch_files(store_root, exports, "events")[1]  # batch a, 2026-11-02
    assert day2.parent.name == "date=2026-11-02"
    size = day2.stat().st_size
    day2.write_bytes(day2.read_bytes()[:100])
    ids_b = _batch_files(store_root, exports, "ids")[1]
    ids_b.unlink()
    (store_root / "tmp" / "20261101T000000-dead").mkdir(parents=True)
    stray = day2.parent / "part-stray.parquet"
    stray.write_bytes(b"left by a crash")
    rel = lambda path: path.relative_to(store_root).as_posix()  # noqa: E731
    expected = [
        {
            "path": rel(day2),
            "problem": f"truncated or changed: 100 bytes, the catalog recorded {size}",
            "events_lost": 10,
            "first": "2026-11-02T10:01:00Z",
            "last": "2026-11-02T10:28:00Z",
            "sources": str(exports[0]),
            "action": "dropped from the catalog",
        },
        {
            "path": rel(ids_b),
            "problem": "missing",
            "events_lost": 0,
            "first": None,
            "last": None,
            "sources": "",
            "action": "rebuilt from the event files",
        },
        {
            "path": "tmp",
            "problem": "leftover of an interrupted ingest (or one running now)",
            "events_lost": 0,
            "first": None,
            "last": None,
            "sources": "",
            "action": "removed",
        },
        {
            "path": rel(stray),
            "problem": "not listed in the catalog (a leftover)",
            "events_lost": 0,
            "first": None,
            "last": None,
            "sources": "",
            "action": "removed",
        },
    ]
    assert _doctor(store_root) == (
        1,
        expected,
        "mfq: 4 problems, 10 events in damaged files: 'mfq doctor --repair' drops them\n",
    )
    assert _doctor(store_root, "--repair") == (
        0,
        expected,
        "mfq: repaired: 10 events lost; ingest the sources listed again to restore them\n",
    )
    assert not day2.exists() and not stray.exists() and not (store_root / "tmp").exists()
    assert invoke("doctor", "--store", str(store_root))[0::2] == (
        0,
        "the store is sound: 8 files checked\n",
    )
    assert _count(store_root) == 26
    code, out, _err = invoke(
        "ingest", *map(str, exports), "--store", str(store_root), "--format", "json"
    )
    summary = json.loads(out)
    # Only a.ndjson is read again: b.ndjson lost nothing, so it is still known as ingested.
    assert (code, summary["ingested"], summary["duplicates"]) == (0, 10, 20)
    assert summary["skipped_sources"] == 1
    assert _count(store_root) == 36


def test_a_damaged_rejects_file_is_dropped_with_its_count(
    store_root: Path, exports: tuple[Path, Path]
) -> None:
    (rejects,) = _batch_files(store_root, exports, "rejects")
    rejects.write_bytes(b"")
    code, rows, _err = _doctor(store_root, "--repair")
    assert code == 0
    assert [(r["problem"], r["events_lost"], r["action"]) for r in rows] == [
        ("empty (1 rejected records)", 0, "dropped from the catalog")
    ]
    assert invoke("rejects", "--store", str(store_root), "--format", "csv") == (0, "", "")
    assert _count(store_root) == 36


def test_store_paths_of_the_wrong_kind_are_removed(
    store_root: Path, exports: tuple[Path, Path]
) -> None:
    (store_root / "write.lock").unlink()
    (store_root / "write.lock").mkdir()
    shutil.rmtree(store_root / "events")
    (store_root / "events").write_text("not a folder")
    code, rows, err = _doctor(store_root, "--repair")
    assert (code, err) == (
        0,
        "mfq: repaired: 36 events lost; ingest the sources listed again to restore them\n",
    )
    assert [(r["path"], r["problem"]) for r in rows][:2] == [
        ("events", "not a directory: something else stands where the store keeps its own"),
        ("write.lock", "not a regular file: something else stands where the store keeps its own"),
    ]
    assert sorted(r["events_lost"] for r in rows[2:]) == [2, 2, 2, 10, 10, 10]
    code, out, _err = invoke(
        "ingest", *map(str, exports), "--store", str(store_root), "--format", "json"
    )
    assert (code, json.loads(out)["ingested"]) == (0, 36)
    assert invoke("doctor", "--store", str(store_root))[0] == 0


def test_a_failed_repair_changes_nothing_the_catalog_lists(
    store_root: Path, exports: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    day1 = _batch_files(store_root, exports, "events")[0]
    day1.unlink()
    before = _doctor(store_root)

    def fail_in_the_transaction(self: Catalog, *args: object) -> None:
        def batches() -> list[tuple[int]]:
            raise OSError("the disk went away")

        original(self, args[0], args[1], batches())  # type: ignore[arg-type]

    original = Catalog.drop_files
    monkeypatch.setattr(Catalog, "drop_files", fail_in_the_transaction)
    with mfq.open_store(store_root) as store, pytest.raises(OSError, match="went away"):
        store.doctor(repair=True)
    monkeypatch.undo()
    code, rows, _err = _doctor(store_root)
    assert code == 1
    listed = [r for r in rows if r["problem"] != "not listed in the catalog (a leftover)"]
    assert listed == before[1]
    assert _doctor(store_root, "--repair")[0] == 0
    assert _count(store_root) == 26


def test_a_catalog_that_is_not_sqlite_is_named(store_root: Path) -> None:
    (store_root / "catalog.sqlite").write_bytes(b"garbage" * 1000)
    for name in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
        (store_root / name).unlink(missing_ok=True)
    assert invoke("doctor", "--store", str(store_root)) == (
        3,
        "",
        f"mfq: error: cannot read the store catalog {store_root / 'catalog.sqlite'}: file is"
        " not a database\n",
    )
