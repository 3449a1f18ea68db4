"""A question on a folder that holds a named pipe reads the pipe once, as it reads standard
input: the store path, which would read the folder again, is never taken for it (opening
the pipe a second time waited forever for a writer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from click.testing import CliRunner

from mfq.cli.files import read_once
from mfq.cli.main import cli
from tests.conftest import REPO, event

#: Generous: a loaded machine; the command ends long before unless it waits on the pipe.
PATIENCE = 120.0
#: The lines of a.ndjson and b.ndjson (the named pipe, or a regular file to compare).
LINES = {
    "a.ndjson": json.dumps(event(1, service="api")) + "\n",
    "b.ndjson": json.dumps(event(2, service="web")) + "\n",
}


def folder_with_a_pipe(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.ndjson").write_text(LINES["a.ndjson"])
    pipe = folder / "b.ndjson"
    os.mkfifo(pipe)
    return folder, pipe


def test_read_once_answers_for_what_a_folder_or_a_pattern_holds(tmp_path: Path) -> None:
    folder, pipe = folder_with_a_pipe(tmp_path)
    assert read_once([str(folder)])
    assert read_once([str(pipe)])
    assert read_once(["-"])
    assert not read_once([str(folder / "a.ndjson")])
    assert not read_once([str(folder / "*.ndjson")])  # (a pattern matches regular files)
    assert not read_once([str(folder / "a.ndjson"), str(tmp_path / "missing.ndjson")])


def test_an_unknown_field_on_a_folder_holding_a_pipe_is_named(tmp_path: Path) -> None:
    folder, pipe = folder_with_a_pipe(tmp_path)

    def feed() -> None:
        with pipe.open("w") as stream:  # (opens once mfq opens the pipe to read it)
            stream.write(LINES["b.ndjson"])

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    question = [sys.executable, "-m", "mfq", "query", str(folder), "--group-by", "regoin"]
    try:
        run = subprocess.run(
            question, capture_output=True, text=True, cwd=REPO, timeout=PATIENCE, check=False
        )
    finally:
        if feeder.is_alive():  # (mfq never opened the pipe: let the feeder go)
            os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))
    (tmp_path / "files").mkdir()
    for name, text in LINES.items():  # (the same events in regular files)
        (tmp_path / "files" / name).write_text(text)
    as_files = CliRunner().invoke(cli, ["query", str(tmp_path / "files"), "--group-by", "regoin"])
    assert (run.returncode, run.stdout, run.stderr) == (2, "", as_files.stderr)
    assert as_files.stderr == "mfq: error: bad expression at column 1: unknown field 'regoin'\n"
