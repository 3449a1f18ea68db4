"""SIGTERM (``kill``, ``timeout``, a container stopping) ends a command as Ctrl-C does, in
a real process: one line, exit 130, the batch discarded, nothing waited for forever.

The input is a named pipe the test keeps open after writing it: the command cannot end by
itself, and SIGTERM reaches only mfq, as it does when a supervisor stops it, while the
program writing to its input lives on (a thread reading that pipe never returns)."""

from __future__ import annotations

import errno
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from tests.conftest import REPO

#: Past the writer's flush (131,072 events) and the reader's 16 MiB chunk: the batch has a
#: Parquet file in its tmp folder while the pipe is still open.
EVENTS = 300_000
#: Generous: a loaded machine; each wait ends as soon as its condition holds.
PATIENCE = 180.0


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def export_text() -> bytes:
    return "".join(
        f'{{"id":"ev-{i}","type":"order.created",'
        f'"timestamp":"2026-11-03T10:{i // 60 % 60:02d}:{i % 60:02d}Z"}}\n'
        for i in range(EVENTS)
    ).encode()


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


@contextmanager
def ctrl_c_as_at_a_terminal() -> Iterator[None]:
    """Processes started here receive Ctrl-C: a test runner's worker may ignore it, which
    its children inherit, and mfq keeps an ignored SIGINT ignored (see the test of that
    below). A handled signal is the default one after ``exec``."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@contextmanager
def mfq_reading_a_pipe(
    tmp_path: Path, *args: str, stderr: int = subprocess.PIPE
) -> Iterator[subprocess.Popen[str]]:
    """``mfq ARGS PIPE`` running, every event written to the pipe, the pipe kept open."""
    pipe = tmp_path / "export.ndjson"
    os.mkfifo(pipe)
    with ctrl_c_as_at_a_terminal():
        process = subprocess.Popen(
            [sys.executable, "-m", "mfq", *args, str(pipe)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=REPO,
        )
    writer: list[int] = []

    def opened() -> bool:  # (a pipe opens for writing once mfq opened it for reading)
        try:
            writer.append(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as err:
            assert err.errno == errno.ENXIO, err
            return False
        return True

    try:
        wait_for(opened, process)
        os.set_blocking(writer[0], True)
        with os.fdopen(writer[0], "wb", closefd=False) as stream:
            stream.write(export_text())  # (returns once mfq has read all but the last 64 KiB)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        for fd in writer:
            os.close(fd)


def stopped(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=PATIENCE)
    return process.returncode, out, err


def test_sigterm_mid_ingest_discards_the_batch_and_exits_130(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with mfq_reading_a_pipe(tmp_path, "ingest", "--store", str(store)) as ingest:
        wait_for(lambda: any((store / "tmp").glob("*/*.parquet")), ingest)
        assert stopped(ingest) == (130, "", "mfq: error: interrupted\n")
    assert sorted(p.name for p in store.iterdir()) == ["catalog.sqlite", "read.lock", "write.lock"]
    code, out, _err = invoke("info", "--store", str(store), "--format", "json")
    assert (code, json.loads(out)["events"]) == (0, 0)
    assert invoke("doctor", "--store", str(store)) == (
        0,
        "",
        "the store is sound: 0 files checked\n",
    )
    export = tmp_path / "export-again.ndjson"
    export.write_bytes(export_text())
    code, out, _err = invoke("ingest", str(export), "--store", str(store), "--format", "json")
    assert (code, json.loads(out)["ingested"], json.loads(out)["duplicates"]) == (0, EVENTS, 0)
    code, out, _err = invoke("info", "--store", str(store), "--format", "json")
    assert (code, json.loads(out)["events"]) == (0, EVENTS)


def test_sigterm_mid_question_on_a_file_exits_130(tmp_path: Path) -> None:
    with mfq_reading_a_pipe(tmp_path, "query", "--group-by", "type") as query:
        assert stopped(query) == (130, "", "mfq: error: interrupted\n")


def test_an_ignored_sigint_inherited_stays_ignored() -> None:
    """A command started with Ctrl-C ignored (a background job of a script, ``trap '' INT``)
    keeps ignoring it, as other Unix tools do; SIGTERM still stops it."""
    for stop, expected in ((signal.SIGINT, 0), (signal.SIGTERM, 130)):
        command = [sys.executable, "-m", "mfq", "query", "-", "--group-by", "type"]
        process = subprocess.Popen(
            ["sh", "-c", f"trap '' INT; exec {shlex.join(command)} --format json"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        assert process.stdin is not None
        text = export_text()
        process.stdin.write(text[: len(text) // 2])  # (returns once mfq is reading)
        process.stdin.flush()
        process.send_signal(stop)
        # (the rest written, then the input closed; a stopped mfq's broken pipe ignored)
        out, err = process.communicate(text[len(text) // 2 :], timeout=PATIENCE)
        assert process.returncode == expected, err
        if expected == 0:
            assert json.loads(out) == [{"type": "order.created", "count": EVENTS}]
        else:
            assert (out, err) == (b"", b"mfq: error: interrupted\n")


def read_terminal(terminal: int) -> bytes:
    """All a closed terminal's other side was written."""
    written = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # (Linux: EIO once the other side is closed and all was read)
            return written
        if not chunk:
            return written
        written += chunk


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        # The terminal echoed ^C without ending its line: the message takes the next line.
        (signal.SIGINT, b"\r\nmfq: error: interrupted\r\n"),
        (signal.SIGTERM, b"mfq: error: interrupted\r\n"),
    ],
)
def test_a_stopped_question_on_a_terminal_ends_the_line_of_a_ctrl_c_only(
    tmp_path: Path, stop: signal.Signals, expected: bytes
) -> None:
    terminal, stderr = os.openpty()
    try:
        with mfq_reading_a_pipe(tmp_path, "query", "--group-by", "type", stderr=stderr) as query:
            os.close(stderr)
            query.send_signal(stop)
            out, _err = query.communicate(timeout=PATIENCE)
            assert (query.returncode, out, read_terminal(terminal)) == (130, "", expected)
    finally:
        os.close(terminal)


def test_a_stopped_ingest_on_a_terminal_writes_its_line_where_its_bar_was(
    tmp_path: Path,
) -> None:
    """The progress bar is cleared from its line, ^C with it: no empty line is left."""
    terminal, stderr = os.openpty()
    store = tmp_path / "store"
    try:
        with mfq_reading_a_pipe(tmp_path, "ingest", "--store", str(store), stderr=stderr) as ingest:
            os.close(stderr)
            wait_for(lambda: any((store / "tmp").glob("*/*.parquet")), ingest)
            ingest.send_signal(signal.SIGINT)
            out, _err = ingest.communicate(timeout=PATIENCE)
            written = read_terminal(terminal)
    finally:
        os.close(terminal)
    bar, message = written.rsplit(b"mfq: error: interrupted", 1)
    assert (ingest.returncode, out, message) == (130, "", b"\r\n")
    assert b"records" in bar and bar.endswith(b"\x1b[2K"), bar[-80:]
