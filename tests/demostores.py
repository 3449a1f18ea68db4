"""Demo stores built once per test session, whichever test or xdist worker asks first.

Generating and ingesting 200,000 demo events costs about 5 s of CPU; the analysis, SLO and
report tests ask for the same few stores, and under xdist each worker built its own. Here
the first asker builds a store in the session's shared temporary folder (under a lock),
and everyone else opens it: the stores are only read by the tests that share them.
"""

from __future__ import annotations

import fcntl
import pickle
from pathlib import Path

import pytest

import mfq
from mfq.demo import DemoConfig, DemoTruth, write_export

#: The demo's week with its default incident (checkout 2.4.1 in eu-west-1 fails for
#: 2026-11-19 14:00-15:30 UTC) at 200,000 events: the analysis, SLO and report tests' store.
INCIDENT_WEEK = DemoConfig(events=200_000)


def shared_root(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder of this test session that every xdist worker sees (the session's own
    temporary folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    if base.name.startswith("popen-gw"):  # (a worker's folder, inside the session's)
        base = base.parent
    root = base / name
    root.mkdir(exist_ok=True)
    return root


def demo_store(
    tmp_path_factory: pytest.TempPathFactory, name: str, config: DemoConfig
) -> tuple[Path, DemoTruth]:
    """The root of a store holding the demo export of ``config`` (built by the first to
    ask for ``name`` in this session), and the truth its generator recorded."""
    root = shared_root(tmp_path_factory, f"demo-store-{name}")
    store, saved = root / "store", root / "truth.pickle"
    with (root / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not store.exists():
            export, scratch = root / "export.ndjson", root / "building"
            truth = write_export(export, config)
            with mfq.open_store(scratch) as building:
                assert building.ingest([export]).rejected == 0
            export.unlink()
            saved.write_bytes(pickle.dumps(truth))
            scratch.rename(store)  # complete or absent, never half built
        truth = pickle.loads(saved.read_bytes())  # written by this test session
    if truth.config != config:  # (one name, one configuration)
        raise AssertionError(f"demo store {name!r} was built from {truth.config}")
    return store, truth
