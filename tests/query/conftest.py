"""The engine every engine test runs on: each test body runs once per engine.

Dask runs on one in-process ``distributed.LocalCluster`` (threads, no worker processes)
for the whole session, so the suite stays fast; ``test_dask_cluster.py`` runs the real
thing, a scheduler and two worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import mfq
from mfq.api import Store
from mfq.query.engines import ENGINES

#: Distributed's upkeep of a cluster that only its diagnostics read: the worker's sampling
#: profiler (every thread's stack, 100 times a second), the event loop's latency check
#: (every 20 ms) and the system monitor (every 0.5 s) cost an idle in-process cluster
#: 0.85 s of CPU in 15 s, 0.14 s without them; the cluster lives from a worker's first
#: Dask test to the session's end, busy or idle. No test reads them.
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "10s",
}


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """The address of an in-process Dask cluster shared by the session's tests."""
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set(QUIET_CLUSTER),
        LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
        ) as cluster,
    ):
        yield cluster.scheduler_address


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The name of the engine under test."""
    return str(request.param)


@pytest.fixture(scope="session")
def engine_options(engine: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """``open_store`` keyword arguments for the engine under test."""
    if engine == "dask":
        return {"engine": "dask", "scheduler": request.getfixturevalue("dask_scheduler")}
    return {"engine": engine}


@pytest.fixture
def open_engine_store(engine_options: dict[str, Any]) -> Iterator[Callable[[Path], Store]]:
    """Open stores with the engine under test; they are closed after the test."""
    opened: list[Store] = []

    def open_(path: Path) -> Store:
        store = mfq.open_store(path, **engine_options)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()
