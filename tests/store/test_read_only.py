"""A store nobody may write (a read-only mount, a CI cache, another user's folder) can be
read by every read command, and reading it changes no byte of it.

Tests run as root in CI, where file modes do not stop writes: then the commands run in a
child process that has dropped to the unprivileged user ``nobody``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import mfq
from mfq.cli.main import cli
from tests.conftest import REPO, event

NOBODY = 65534
# Runs the read commands through the CLI in the child, printing each (code, stdout, stderr).
_READS = """
import json, sys
from click.testing import CliRunner
from mfq.cli.main import cli
store = sys.argv[1]
commands = [
    ["info", "--format", "json"],
    ["schema", "--format", "json"],
    ["query", "--group-by", "type", "--format", "json"],
    ["events", "--fields", "id", "--format", "csv"],
    ["timeseries", "--every", "1h", "--format", "csv"],
    ["rejects", "--format", "csv"],
]
results = []
for command in commands:
    result = CliRunner().invoke(cli, [*command, "--store", store])
    results.append([result.exit_code, result.stdout, result.stderr])
print(json.dumps(results))
"""


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder the unprivileged user can enter (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="mfq-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(folder)


def _read_as_an_earlier_mfq(root: Path) -> None:
    """A read-only connection, closed: it may not remove the ``-wal`` and ``-shm`` files
    it made, which an earlier mfq's reads left beside the catalog."""
    db = sqlite3.connect(f"file:{root / 'catalog.sqlite'}?mode=ro", uri=True)
    db.execute("SELECT count(*) FROM batches").fetchall()
    db.close()


def _contents(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)


def _as_nobody() -> list[str]:
    """The command prefix that drops root's privileges (none when not root).

    setpriv (util-linux) where there is one: it reaches an interpreter installed under
    root's home, which ``subprocess``'s own ``user=`` cannot exec.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return []  # then _run_reads drops privileges with subprocess's user=
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _run_reads(store: Path) -> list[list[object]]:
    prefix = _as_nobody()
    fallback = os.geteuid() == 0 and not prefix
    run = subprocess.run(
        [*prefix, sys.executable, "-c", _READS, str(store)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(store.parent)},
        check=True,
        user=NOBODY if fallback else None,
        group=NOBODY if fallback else None,
    )
    results: list[list[object]] = json.loads(run.stdout)
    return results


@pytest.mark.parametrize("reader_left_wal", [False, True], ids=["clean", "empty-wal-left"])
def test_every_read_command_works_on_a_read_only_store_and_writes_nothing(
    shared_folder: Path, reader_left_wal: bool
) -> None:
    export = shared_folder / "export.ndjson"
    export.write_text("".join(json.dumps(event(i, service="api")) + "\n" for i in range(3)))
    root = shared_folder / "store"
    with mfq.open_store(root) as store:
        store.ingest([export])
    if reader_left_wal:
        _read_as_an_earlier_mfq(root)
        assert (root / "catalog.sqlite-wal").stat().st_size == 0
    else:
        assert not (root / "catalog.sqlite-wal").exists()
    _make_read_only(root)
    before = _contents(root)
    results = _run_reads(root)
    assert [code for code, _out, _err in results] == [0] * 6, results
    assert [err for _code, _out, err in results] == [""] * 6
    assert json.loads(str(results[0][1]))["events"] == 3
    assert json.loads(str(results[2][1])) == [{"type": "order.created", "count": 3}]
    assert results[3][1] == "id\nev-0\nev-1\nev-2\n"
    assert results[4][1] == "time,count\n2026-11-03T10:00:00Z,3\n"
    assert results[5][1] == ""
    assert _contents(root) == before


def test_read_commands_leave_a_writable_store_as_they_found_it(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text("".join(json.dumps(event(i, service="api")) + "\n" for i in range(3)))
    root = tmp_path / "store"
    with mfq.open_store(root) as store:
        store.ingest([export])
    before = _contents(root)
    assert "catalog.sqlite-wal" not in before
    reads = ["info", "schema", "rejects", "events", "query", "timeseries", "anomalies", "doctor"]
    for command in reads:
        result = CliRunner().invoke(cli, [command, "--store", str(root)])
        assert (result.exit_code, _contents(root)) == (0, before), (command, result.stderr)


def test_a_read_keeps_the_log_files_of_a_store_that_had_them(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text(json.dumps(event(1)) + "\n")
    root = tmp_path / "store"
    with mfq.open_store(root) as store:
        store.ingest([export])
    _read_as_an_earlier_mfq(root)
    before = _contents(root)
    assert {"catalog.sqlite-wal", "catalog.sqlite-shm"} <= set(before)
    assert CliRunner().invoke(cli, ["info", "--store", str(root)]).exit_code == 0
    assert _contents(root) == before
