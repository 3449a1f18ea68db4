"""Worker threads kept for the process still work in a child made by ``os.fork``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

FORKED_POOL = """
import os
from mfq.ingest.workers import WorkerThreads

pool = WorkerThreads(1, "t")
assert pool.submit(pow, 2, 5).result() == 32  # the worker now waits, idle
pid = os.fork()
if pid == 0:
    import faulthandler
    faulthandler.dump_traceback_later(30, exit=True)  # a hang fails, it does not stall
    os._exit(0 if pool.submit(pow, 3, 2).result() == 9 else 1)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""

FORKED_INGEST = """
import os, sys
from pathlib import Path
import mfq

folder = Path(sys.argv[1])
def export(name: str) -> Path:
    path = folder / name
    path.write_text("".join(
        f'{{"id": "{name}-{i}", "type": "t", "timestamp": {1_700_000_000 + i}}}\\n'
        for i in range(50_000)
    ))
    return path

mfq.open_store(folder / "a", create=True).ingest([export("one.ndjson")])
pid = os.fork()
if pid == 0:
    import faulthandler
    faulthandler.dump_traceback_later(60, exit=True)
    summary = mfq.open_store(folder / "b", create=True).ingest([export("two.ndjson")])
    os._exit(0 if summary.ingested == 50_000 else 1)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return done.stdout.strip()


def test_a_forked_child_gets_threads_of_its_own() -> None:
    assert run(FORKED_POOL) == "0"


def test_a_forked_child_ingests(tmp_path: Path) -> None:
    # The parse workers, the OTLP planners and the writer's threads: a child made after an
    # ingest waited forever for threads it did not have.
    assert run(FORKED_INGEST, str(tmp_path)) == "0"
