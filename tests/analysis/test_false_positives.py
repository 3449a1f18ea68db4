"""False positives measured: on stationary data (daily cycle, Poisson counts, failures
well inside the budget, services from 100 events an hour down to one every two hours)
``anomalies``, ``slo`` and ``report`` flag nothing beyond the rate docs/analysis.md states;
with a planted two-hour burn and a one-hour spike, each is found.

``bench/false_positives.py`` measures the same rates over many seeds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import mfq
from mfq.api import Selection, Store
from tests import stationary
from tests.stationary import BURN, SPIKE, START

SINCE, UNTIL = START.isoformat(), (START + timedelta(days=7)).isoformat()
BAD = "status = 'error'"
#: docs/analysis.md: fewer than one bucket in 10,000 of a stationary series is flagged (1 of
#: 80,640 over 20 seeds); the week's two signals hold 2 x 12 x 168 = 4,032 hourly buckets.
MOST_FLAGGED = 1


def _store(root: Path, seed: int, plants: tuple[stationary.Plant, ...]) -> Store:
    store = mfq.open_store(root / "store", create=True)
    summary = store.ingest([stationary.write(root / "week.ndjson", seed, plants=plants)])
    assert summary.rejected == 0
    return store


@pytest.fixture(scope="module")
def null_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return _store(tmp_path_factory.mktemp("stationary"), 1, ())


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return _store(tmp_path_factory.mktemp("planted"), 2, (BURN, SPIKE))


def _utc(moment: object) -> pd.Timestamp:
    return pd.Timestamp(moment).tz_convert("UTC")  # type: ignore[arg-type]


def test_slo_pages_for_nothing_on_stationary_data(null_store: Store) -> None:
    scopes = [None, *(f"service = '{s}'" for s in stationary.RATES)]
    for scope in scopes:
        where = [] if scope is None else [scope]
        summary = null_store.slo(Selection(where=where, since=SINCE, until=UNTIL), bad=BAD).iloc[0]
        assert summary["incidents"] == 0, scope
        assert null_store.slo(
            Selection(where=where, since=SINCE, until=UNTIL), bad=BAD, incidents=True
        ).empty


def test_anomalies_flag_at_most_the_documented_rate(null_store: Store) -> None:
    volume = null_store.anomalies(Selection(since=SINCE, until=UNTIL), by="service", every="1h")
    errors = null_store.anomalies(
        Selection(where=BAD, since=SINCE, until=UNTIL), by="service", every="1h"
    )
    assert len(volume) + len(errors) <= MOST_FLAGGED


def test_the_report_on_stationary_data_has_no_incident(null_store: Store) -> None:
    report = null_store.report(week="2026-W47")
    assert report.section("slo").table("slo").frame["incidents"].sum() == 0
    assert not any(t.key == "incidents" for t in report.section("slo").tables)
    anomalies = [t for t in report.section("anomalies").tables if t.key == "anomalies"]
    assert sum(len(t.frame) for t in anomalies) <= MOST_FLAGGED


def test_a_planted_two_hour_burn_is_one_incident(planted_store: Store) -> None:
    start, end = BURN.start, BURN.start + timedelta(hours=BURN.hours)
    scoped = f"service = '{BURN.service}' and region = '{BURN.region}'"
    # Scoped to the region, the burn is 30% of events: found to the quarter hour. Over the
    # whole service it is diluted to about 10% (three regions), each 5-minute bucket holds
    # one or two failures, and the bounds are looser; still one incident, not fragments.
    for where, slack in ((scoped, 15), (f"service = '{BURN.service}'", 60)):
        incidents = planted_store.slo(
            Selection(where=where, since=SINCE, until=UNTIL), bad=BAD, incidents=True
        )
        assert len(incidents) == 1, (where, incidents)
        incident = incidents.iloc[0]
        margin = timedelta(minutes=slack)
        assert start - timedelta(minutes=15) <= incident["start"] <= start + margin, where
        assert end - margin <= incident["end"] <= end + timedelta(minutes=15), where
        assert 0 < incident["detect_minutes"] <= 105


def test_a_planted_spike_and_the_burn_are_anomalies(planted_store: Store) -> None:
    volume = planted_store.anomalies(Selection(since=SINCE, until=UNTIL), by="service", every="1h")
    spiked = volume[(volume["service"] == SPIKE.service) & (volume["direction"] == "up")]
    assert [_utc(t) for t in spiked["time"]] == [pd.Timestamp(SPIKE.start)]
    errors = planted_store.anomalies(
        Selection(where=BAD, since=SINCE, until=UNTIL), by="service", every="1h"
    )
    burning = errors[errors["service"] == BURN.service]
    hours = [BURN.start + timedelta(hours=h) for h in range(int(BURN.hours))]
    assert [_utc(t) for t in burning["time"]] == [pd.Timestamp(h) for h in hours]


def test_the_report_finds_both(planted_store: Store) -> None:
    report = planted_store.report(week="2026-W47")
    incidents = report.section("slo").table("incidents").frame
    assert f"service = '{BURN.service}'" in set(incidents["scope"])
    flagged = report.section("anomalies").table("anomalies").frame
    assert SPIKE.service in set(flagged["group"]) and BURN.service in set(flagged["group"])
