"""Demo stores with known truths, built once per test session (generation and ingest of
200k events take about two seconds each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import mfq
from mfq.api import Store
from mfq.demo import DemoConfig, DemoTruth, IncidentSpec, write_export


@dataclass(frozen=True)
class DemoStore:
    """An ingested demo export and the truth the generator recorded."""

    store: Store
    truth: DemoTruth
    config: DemoConfig


def _build(root: Path, config: DemoConfig) -> DemoStore:
    export = root / "export.ndjson"
    truth = write_export(export, config)
    store = mfq.open_store(root / "store")
    summary = store.ingest([export])
    assert summary.rejected == 0
    export.unlink()
    return DemoStore(store, truth, config)


@pytest.fixture(scope="session")
def incident_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """200k demo events over a week with the default incident (checkout 2.4.1 in
    eu-west-1 fails for 2026-11-19 14:00-15:30 UTC)."""
    return _build(tmp_path_factory.mktemp("incident"), DemoConfig(events=200_000))


@pytest.fixture(scope="session")
def quiet_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """200k demo events over a week without any incident."""
    config = DemoConfig(events=200_000, seed=21, incident=None)
    return _build(tmp_path_factory.mktemp("quiet"), config)


#: A second planted incident: payments 3.12.0 in us-east-1, Saturday night, two hours.
PAYMENTS_INCIDENT = IncidentSpec(
    service="payments",
    version="3.12.0",
    region="us-east-1",
    start=datetime(2026, 11, 21, 22, 0, tzinfo=UTC),
    duration=timedelta(hours=2),
    error_rate=0.5,
    load_factor=1.0,
)


@pytest.fixture(scope="session")
def payments_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """150k demo events with a different planted incident (``PAYMENTS_INCIDENT``)."""
    config = DemoConfig(events=150_000, seed=5, incident=PAYMENTS_INCIDENT)
    return _build(tmp_path_factory.mktemp("payments"), config)
