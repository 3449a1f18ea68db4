"""Demo stores with known truths, built once per test session and shared by its xdist
workers (``tests.demostores``; generation and ingest of 200k events take about 5 s of CPU
each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

import mfq
from mfq.api import Store
from mfq.demo import DemoConfig, DemoTruth, IncidentSpec
from tests.demostores import INCIDENT_WEEK, demo_store


@dataclass(frozen=True)
class DemoStore:
    """An ingested demo export and the truth the generator recorded."""

    store: Store
    truth: DemoTruth
    config: DemoConfig


def _build(tmp_path_factory: pytest.TempPathFactory, name: str, config: DemoConfig) -> DemoStore:
    root, truth = demo_store(tmp_path_factory, name, config)
    return DemoStore(mfq.open_store(root), truth, config)


@pytest.fixture(scope="session")
def incident_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """200k demo events over a week with the default incident (checkout 2.4.1 in
    eu-west-1 fails for 2026-11-19 14:00-15:30 UTC); the store of ``INCIDENT_WEEK``."""
    return _build(tmp_path_factory, "incident", INCIDENT_WEEK)


@pytest.fixture(scope="session")
def quiet_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """200k demo events over a week without any incident."""
    config = DemoConfig(events=200_000, seed=21, incident=None)
    return _build(tmp_path_factory, "quiet", config)


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
    return _build(tmp_path_factory, "payments", config)
