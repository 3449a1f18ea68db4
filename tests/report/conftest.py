"""Stores for the report tests: fifteen hand-made events over two ISO weeks (every number
of their report is worked out by hand in ``test_build.py``), and a week of demo data with
the planted incident (checkout 2.4.1 in eu-west-1, 2026-11-19 14:00-15:30 UTC)."""

from __future__ import annotations

import fcntl
import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import pytest

import mfq
from mfq.api import Store
from mfq.report.html import render_html
from mfq.report.model import Report
from tests.demostores import INCIDENT_WEEK, demo_store, shared_root

# (timestamp, type, service, status, duration_ms, actor, region, version)
HAND_EVENTS = [
    # 2026-W46, the previous period
    ("2026-11-09T10:00:00Z", "order.created", "api", "ok", 10, "a1", "eu", "1.0"),
    ("2026-11-10T10:00:00Z", "order.created", "api", "ok", 20, "a2", "eu", "1.0"),
    ("2026-11-11T10:00:00Z", "order.created", "api", "ok", 30, "a1", "us", "1.0"),
    ("2026-11-12T10:00:00Z", "order.created", "api", "ok", 40, "a2", "us", "1.0"),
    ("2026-11-13T10:00:00Z", "legacy.ping", "api", "error", 100, "a1", "eu", "1.0"),
    ("2026-11-15T23:59:59Z", "legacy.ping", "api", "error", 200, "a1", "us", "1.0"),
    # 2026-W47, the report's period
    ("2026-11-16T00:00:00Z", "order.created", "api", "ok", 10, "a1", "eu", "1.1"),
    ("2026-11-16T12:00:00Z", "order.created", "api", "ok", 20, "a2", "eu", "1.1"),
    ("2026-11-17T09:00:00Z", "order.created", "api", "error", 30, "a3", "eu", "1.1"),
    ("2026-11-18T09:00:00Z", "order.created", "api", "ok", 40, "a1", "us", "1.1"),
    ("2026-11-19T09:00:00Z", "order.created", "api", "ok", 50, "a2", "us", "1.1"),
    ("2026-11-20T09:00:00Z", "order.created", "api", "ok", 60, "a3", "us", "1.1"),
    ("2026-11-20T15:00:00Z", "cart.updated", "web", "error", 5, "a4", "eu", "2.0"),
    ("2026-11-21T15:00:00Z", "cart.updated", "web", "ok", 15, "a4", "us", "2.0"),
    ("2026-11-22T15:00:00Z", "cart.updated", "web", "ok", 25, "a4", "us", "2.0"),
    # 2026-W48: after the period (--until is exclusive)
    ("2026-11-23T00:00:00Z", "order.created", "api", "error", 999, "a9", "eu", "1.1"),
]


def hand_records() -> list[dict[str, object]]:
    """The hand-made events as export records."""
    return [
        {
            "id": f"h-{index}",
            "timestamp": timestamp,
            "type": kind,
            "service": service,
            "status": status,
            "duration_ms": duration,
            "actor_profile_id": actor,
            "region": region,
            "version": version,
        }
        for index, (timestamp, kind, service, status, duration, actor, region, version) in (
            enumerate(HAND_EVENTS)
        )
    ]


def write_store(root: Path, records: list[dict[str, object]]) -> Store:
    """A store holding ``records``."""
    export = root / "export.ndjson"
    export.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    store = mfq.open_store(root / "store")
    assert store.ingest([export]).rejected == 0
    return store


@pytest.fixture(scope="session")
def hand_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The hand-made events, ingested."""
    return write_store(tmp_path_factory.mktemp("hand"), hand_records())


@pytest.fixture(scope="session")
def hand_report(hand_store: Store) -> Report:
    """The report of 2026-W47 over the hand-made events."""
    return hand_store.report(week="2026-W47")


@dataclass(frozen=True)
class DemoWeek:
    """A week of demo events with the planted incident, and its report."""

    store: Store
    report: Report

    @cached_property
    def html(self) -> str:
        """The report as HTML (rendered once: charts take a moment)."""
        return render_html(self.report)


@pytest.fixture(scope="session")
def demo_week(tmp_path_factory: pytest.TempPathFactory) -> DemoWeek:
    """200,000 demo events over 2026-W47 with the default incident (the SLO's defaults
    find it as one episode from 14:00 to 15:30 at this size), and the week's report.

    Under xdist the workers share the store (the analysis tests' ``incident_store``,
    ``tests.demostores``) and its report: the first builds them, the others wait and read
    them, as pytest-xdist's docs suggest for expensive session data.
    """
    root, _truth = demo_store(tmp_path_factory, "incident", INCIDENT_WEEK)
    store = mfq.open_store(root)
    shared = shared_root(tmp_path_factory, "report-demo-week")
    saved = shared / "report.pickle"
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            saved.write_bytes(pickle.dumps(store.report(week="2026-W47")))
        report = pickle.loads(saved.read_bytes())  # written by this test session
    return DemoWeek(store, report)


def duckdb_events(store: Store) -> Callable[[str], list[tuple[object, ...]]]:
    """Run SQL over the store's Parquet files with DuckDB (the oracle); ``EVENTS`` in the
    query names them."""
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    events = f"(SELECT * FROM read_parquet({files!r}, union_by_name=true))"

    def sql(query: str) -> list[tuple[object, ...]]:
        return duckdb.sql(query.replace("EVENTS", events)).fetchall()

    return sql
