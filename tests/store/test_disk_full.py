"""A full disk during an ingest: one line, exit 3, and the store exactly as before.

The fault is injected where each kind of write happens: the Parquet writer (in its
background thread), the id-hash file, and the catalog commit (SQLite's SQLITE_FULL).
"""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from tests.conftest import event


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _no_space(*_args: object, **_kwargs: object) -> NoReturn:
    raise OSError(errno.ENOSPC, "No space left on device")


def _sqlite_full(*_args: object, **_kwargs: object) -> NoReturn:
    raise sqlite3.OperationalError("database or disk is full")


@pytest.mark.parametrize(
    "target",
    [
        "mfq.store.writer.pq.write_table",
        "mfq.store.ids.save_spilled",
        "mfq.store.catalog.Catalog.commit_batch",
    ],
)
def test_a_full_disk_commits_nothing_and_says_so(
    tmp_path: Path,
    write_ndjson: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    store = str(tmp_path / "store")
    first = write_ndjson([event(i) for i in range(5)])
    second = write_ndjson([event(i) for i in range(5, 12)])
    assert invoke("ingest", str(first), "--store", store, "--format", "json")[0] == 0
    monkeypatch.setattr(target, _sqlite_full if "Catalog" in target else _no_space)
    assert invoke("ingest", str(second), "--store", store) == (
        3,
        "",
        f"mfq: error: no space left on the device of the store {store}; nothing was"
        " committed (free some space, then try again)\n",
    )
    monkeypatch.undo()
    code, out, _err = invoke("info", "--store", store, "--format", "json")
    assert (code, json.loads(out)["events"]) == (0, 5)
    assert not (tmp_path / "store" / "tmp").exists()
    code, out, _err = invoke("ingest", str(second), "--store", store, "--format", "json")
    assert (code, json.loads(out)["ingested"]) == (0, 7)


def test_a_full_disk_during_a_repair_says_so(
    tmp_path: Path, write_ndjson: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = str(tmp_path / "store")
    export = write_ndjson([event(i) for i in range(5)])
    assert invoke("ingest", str(export), "--store", store)[0] == 0
    (id_file,) = (tmp_path / "store" / "ids").glob("*.npy")
    id_file.unlink()
    monkeypatch.setattr("mfq.store.ids.save", _no_space)
    assert invoke("doctor", "--repair", "--store", store) == (
        3,
        "",
        f"mfq: error: no space left on the device of the store {store}; nothing was"
        " committed (free some space, then try again)\n",
    )
    monkeypatch.undo()
    assert invoke("doctor", "--repair", "--store", store)[0] == 0
    assert invoke("doctor", "--store", store)[0] == 0
