"""Compaction and pruning under kill -9 and beside other writers (real processes).

Each killed run is followed by the checks a user relies on: the store answers as an
untouched copy does (before the rewrite, or after it once its catalog swap committed),
no event id is stored twice, and the next write leaves no file the catalog does not list.
Kills land at random moments of a real ``mfq`` process, and at each step of a rewrite
(written, moved into place, committed, deleting) by wrapping the library's functions in
the killed process: nothing in mfq knows about these tests.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import mfq
from mfq.api import Store
from tests.selection import selected

pytestmark = pytest.mark.slow

DAYS = 24
BATCHES = 3
PER_DAY = 150
PRUNE_BEFORE = "2026-11-10T12:00:00Z"
QUERIES: list[dict[str, object]] = [
    {"aggs": ["count", "sum(duration_ms)", "count_distinct(id)"]},
    {"group_by": ["service"], "aggs": ["count", "p95(duration_ms)", "max(n)"]},
    {"group_by": ["type"], "aggs": ["count"], "where": "status = 'error'"},
    {"aggs": ["count"], "since": "2026-11-08T06:00:00Z", "until": "2026-11-15T00:00:00Z"},
]


def _record(i: int, day: int) -> dict[str, object]:
    return {
        "id": f"e{i}",
        "type": ["order.created", "search.performed", "page.viewed"][i % 3],
        "timestamp": f"2026-11-{day:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}Z",
        "service": ["checkout", "search", "web"][i % 3],
        "status": "error" if i % 11 == 0 else "ok",
        "duration_ms": float(i % 97),
        "trace_id": f"t{i // 5}",
        "attributes": {"n": i % 13},
    }


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of DAYS days, each written by BATCHES ingests (72 small files)."""
    root = tmp_path_factory.mktemp("upkeep-faults")
    store = mfq.open_store(root / "store")
    number = 0
    for batch in range(BATCHES):
        path = root / f"batch-{batch}.ndjson"
        with path.open("w") as out:
            for day in range(1, DAYS + 1):
                for _ in range(PER_DAY // BATCHES):
                    out.write(json.dumps(_record(number, day)) + "\n")
                    number += 1
        store.ingest([path])
    store.close()
    return root / "store"


def _answers(store_dir: Path) -> list[list[tuple[object, ...]]]:
    with mfq.open_store(store_dir) as store:
        answers = []
        for query in QUERIES:
            frame = store.query(**selected(query))
            answers.append(sorted(tuple(row) for row in frame.itertuples(index=False)))
        return answers


def _same_answers(
    left: list[list[tuple[object, ...]]], right: list[list[tuple[object, ...]]]
) -> bool:
    def same(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9) or (math.isnan(a) and math.isnan(b))
        return a == b

    return len(left) == len(right) and all(
        len(x) == len(y)
        and all(len(r) == len(s) and all(map(same, r, s)) for r, s in zip(x, y, strict=True))
        for x, y in zip(left, right, strict=True)
    )


@pytest.fixture(scope="module")
def expected(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Answers of the untouched store, and of a copy pruned without interruption."""
    pruned = tmp_path_factory.mktemp("pruned") / "store"
    shutil.copytree(pristine, pruned)
    with mfq.open_store(pruned) as store:
        store.prune(_moment(PRUNE_BEFORE))
    return {"before": _answers(pristine), "pruned": _answers(pruned)}


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _copy(pristine: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(pristine, target)
    return target


def _ids(store: Store) -> list[str]:
    found: list[str] = []
    for record in store.catalog.files("events"):
        found += pq.read_table(store.root / record.path, columns=["id"]).column("id").to_pylist()
    return found


def _on_disk(store_dir: Path) -> set[str]:
    return {
        p.relative_to(store_dir).as_posix()
        for directory in ("events", "rejects", "ids")
        for p in (store_dir / directory).rglob("*")
        if p.is_file()
    }


def _check_after_kill(store_dir: Path, expected: dict[str, object], states: tuple[str, ...]) -> str:
    """The store answers as one of ``states``; ids are unique; the next write cleans up.
    Returns the state found."""
    answers = _answers(store_dir)
    found = [state for state in states if _same_answers(answers, expected[state])]  # type: ignore[arg-type]
    assert found, "the store answers neither as before nor as after"
    with mfq.open_store(store_dir) as store:
        ids = _ids(store)
        assert len(ids) == len(set(ids))
        pairs = sum(len(np.load(store.root / f.path)) for f in store.catalog.files("ids"))
        assert pairs == len(ids)  # one id hash per stored event, none of pruned ones
        store.compact(since=_moment("2030-01-01T00:00:00Z"))  # a write that rewrites nothing
        assert _on_disk(store_dir) == store.catalog.all_paths()
        assert not (store_dir / "tmp").exists()
    assert _same_answers(_answers(store_dir), answers)
    return found[0]


def _mfq(store_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mfq", *args, "--store", str(store_dir), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


COMMANDS = {
    "compact": (("compact",), ("before",)),
    "prune": (("prune", "--before", PRUNE_BEFORE), ("before", "pruned")),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_kill_9_at_random_moments_leaves_a_correct_store(
    pristine: Path, expected: dict[str, object], tmp_path: Path, command: str
) -> None:
    args, states = COMMANDS[command]
    started = time.monotonic()
    whole = _mfq(_copy(pristine, tmp_path, "timing"), *args)
    output = whole.communicate(timeout=300)
    assert whole.returncode == 0, output
    duration = time.monotonic() - started
    generator = random.Random(2026)
    interrupted = 0
    # Eight rounds at least; more (up to 24) while fewer than four kills landed mid-run,
    # since a loaded machine stretches one run's phases unlike the timing run's. A run
    # that ended before its kill shortens the kills' span, so they land inside the runs.
    for round_number in range(24):
        if round_number >= 8 and interrupted >= 4:
            break
        store_dir = _copy(pristine, tmp_path, f"round-{round_number}")
        process = _mfq(store_dir, *args)
        time.sleep(generator.uniform(0.2, 1.0) * duration)  # start-up is most of the first 20%
        running = process.poll() is None
        interrupted += running
        if not running:
            duration *= 0.75
        process.send_signal(signal.SIGKILL)  # nothing when it already ended
        process.communicate()
        _check_after_kill(store_dir, expected, states)
    assert interrupted >= 4  # kills landed while it ran


# Kill points: (function to wrap, path of its module, kill before or after it runs).
STEPS = {
    "a file written": ("mfq.store.rewrite", "write_events_file", "after"),
    "files moved into place": ("mfq.store.catalog", "Catalog.replace_files", "before"),
    "the swap committed": ("mfq.store.catalog", "Catalog.replace_files", "after"),
    "deleting the old files": ("pathlib", "Path.unlink", "after"),
}
KILLER = """
import importlib, os, signal, sys
from datetime import datetime
import mfq
module_name, attribute, when = sys.argv[1:4]
module = importlib.import_module(module_name)
owner, _, name = attribute.rpartition(".")
holder = getattr(module, owner) if owner else module
original = getattr(holder, name)
def wrapped(*args, **kwargs):
    if when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*args, **kwargs)
    if name != "unlink" or "/events/" in str(args[0]):
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(holder, name, wrapped)
store = mfq.open_store(sys.argv[4])
if sys.argv[5] == "compact":
    store.compact()
else:
    store.prune(datetime.fromisoformat(sys.argv[6]))
"""


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_kill_9_at_every_step_of_a_rewrite_leaves_a_correct_store(
    pristine: Path, expected: dict[str, object], tmp_path: Path, command: str, step: str
) -> None:
    module, attribute, when = STEPS[step]
    store_dir = _copy(pristine, tmp_path, "store")
    before = PRUNE_BEFORE.replace("Z", "+00:00")
    process = subprocess.run(
        [sys.executable, "-c", KILLER, module, attribute, when, str(store_dir), command, before],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    state = _check_after_kill(store_dir, expected, COMMANDS[command][1])
    committed = step in {"the swap committed", "deleting the old files"}
    assert state == ("pruned" if command == "prune" and committed else "before")
    if committed and command == "compact":
        with mfq.open_store(store_dir) as store:
            assert len(store.catalog.files("events")) == DAYS


def test_two_compactions_at_once(
    pristine: Path, expected: dict[str, object], tmp_path: Path
) -> None:
    store_dir = _copy(pristine, tmp_path, "store")
    processes = [_mfq(store_dir, "compact") for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    days = sorted(json.loads(out)["days"] for out, _err in outputs)
    assert days == [0, DAYS]  # the second waited, then found nothing to do
    assert _check_after_kill(store_dir, expected, ("before",)) == "before"


def test_a_compaction_beside_an_ingest(
    pristine: Path, expected: dict[str, object], tmp_path: Path
) -> None:
    store_dir = _copy(pristine, tmp_path, "store")
    extra = tmp_path / "extra.ndjson"
    extra.write_text("".join(json.dumps(_record(100_000 + i, 5)) + "\n" for i in range(500)))
    processes = [_mfq(store_dir, "compact"), _mfq(store_dir, "ingest", str(extra))]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert json.loads(outputs[1][0])["ingested"] == 500
    with mfq.open_store(store_dir) as store:
        ids = _ids(store)
        assert len(ids) == len(set(ids)) == DAYS * PER_DAY + 500
        assert _on_disk(store_dir) == store.catalog.all_paths()


class _InterruptedCommit:
    """A catalog connection whose first COMMIT is interrupted before it runs: a signal
    that lands after the transaction's body, before its COMMIT."""

    def __init__(self, db: object) -> None:
        self._db = db
        self.interrupted = False

    def execute(self, sql: str, *args: object) -> object:
        if sql == "COMMIT" and not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        return self._db.execute(sql, *args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._db, name)


def test_an_interrupt_just_before_the_commit_leaves_no_file_of_the_batch(
    store: Store, write_ndjson: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's rows are rolled back before its files are removed: the files were
    kept as listed by the open transaction, and mfq doctor found them unlisted."""
    from tests.conftest import event

    first = write_ndjson([event(i) for i in range(10)])  # type: ignore[operator]
    store.ingest([first])
    files = set(store.catalog.all_paths())
    proxy = _InterruptedCommit(store.catalog._db)
    monkeypatch.setattr(store.catalog, "_db", proxy)
    with pytest.raises(KeyboardInterrupt):
        store.ingest([write_ndjson([event(i) for i in range(10, 20)])])  # type: ignore[operator]
    assert proxy.interrupted and not proxy.in_transaction
    monkeypatch.undo()
    assert set(store.catalog.all_paths()) == files
    assert store.doctor().findings == []
    assert store.query(aggs=["count"])["count"].tolist() == [10]
