"""``anomalies`` on hand-built series whose incidents a model of bursty series must not
hide (the cases the review of the first bursty-series model used to revert it): a spike
and an outage in a series whose nights are empty, a new kind of error over a few
consecutive hours, a service failing for six hours where it never failed, and one burst
far above a background of bursts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mfq.analysis.anomalies import burst_size
from mfq.api import Selection, Store
from tests.realdata import real_store
from tests.stationary import BURSTY_START, bursty_session

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
ERRORS = "status = 'error'"
#: The week the hand-built series cover (``where`` picks a series; the range says when the
#: data was collected, so hours without errors are zeros).
SINCE, UNTIL = "2026-11-02", "2026-11-09"


def _hourly(
    counts: Sequence[int], *, prefix: str, type_: str = "page.viewed", **fields: str
) -> list[dict[str, str]]:
    """Events spread evenly over each hour from ``START``, ``counts[h]`` in hour ``h``."""
    rows = []
    for hour, count in enumerate(counts):
        for i in range(count):
            moment = START + timedelta(hours=hour, seconds=i * 3600 / count)
            rows.append(
                {
                    "id": f"{prefix}{hour}-{i}",
                    "type": type_,
                    "timestamp": moment.isoformat().replace("+00:00", "Z"),
                    **fields,
                }
            )
    return rows


def _office_hours(days: int) -> list[int]:
    """60 events an hour from 08:00 to 18:00 every day, none at night."""
    return [60 if 8 <= hour < 18 else 0 for _ in range(days) for hour in range(24)]


def _flags(store: Store, selection: Selection, **options: Any) -> list[tuple[str, str]]:
    result = store.anomalies(selection, **options)
    return [(str(r.time), str(r.direction)) for r in result.itertuples()]


def test_office_hours_spike_and_outage_are_flagged(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # Three weeks whose nights are empty: most buckets are zeros, yet the daily cycle
    # explains them. A 3-hour spike (three times the usual) and an hour of daytime outage.
    counts = _office_hours(21)
    for hour in (9 * 24 + 10, 9 * 24 + 11, 9 * 24 + 12):
        counts[hour] = 180
    counts[15 * 24 + 14] = 0
    store.ingest([write_ndjson(_hourly(counts, prefix="o"))])
    result = store.anomalies(Selection(), every="1h")
    assert [(str(r.time), r.direction) for r in result.itertuples()] == [
        ("2026-11-11 10:00:00+00:00", "up"),
        ("2026-11-11 11:00:00+00:00", "up"),
        ("2026-11-11 12:00:00+00:00", "up"),
        ("2026-11-17 14:00:00+00:00", "down"),
    ]
    assert result["score"].iloc[0] > 9 and result["score"].iloc[-1] < -10


@pytest.mark.parametrize("hours", [2, 3, 4, 6])
def test_a_new_kind_of_error_over_consecutive_hours_is_flagged(
    store: Store, write_ndjson: Callable[..., Path], hours: int
) -> None:
    # A steady week of traffic, no failures, then a new kind of error for a few hours.
    # Each hour vouches for its neighbours only if a model lets the series' own busy
    # buckets set its noise.
    onset = 3 * 24 + 14
    errors = [0] * (onset + hours)
    errors[onset:] = [25] * hours
    traffic = [60] * (7 * 24)
    store.ingest(
        [
            write_ndjson(
                _hourly(traffic, prefix="t")
                + _hourly(errors, prefix="e", type_="payment.declined", status="error")
            )
        ]
    )
    questions: list[tuple[Selection, dict[str, Any]]] = [
        (Selection(where=ERRORS, since=SINCE, until=UNTIL), {"every": "1h"}),
        (Selection(since=SINCE, until=UNTIL), {"every": "1h", "by": "type"}),
    ]
    for selection, options in questions:
        result = store.anomalies(selection, **options)
        flagged = [(str(r.time), r.direction) for r in result.itertuples()]
        assert flagged == [(str(START + timedelta(hours=onset + h)), "up") for h in range(hours)]
        assert result["score"].min() > 10


def test_six_hours_of_billing_errors_where_there_were_none(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # Checkout fails now and then (one error every eight hours); billing never did, then
    # fails 11 times an hour for six hours.
    checkout = [1 if hour % 8 == 0 else 0 for hour in range(7 * 24)]
    onset = 4 * 24 + 9
    billing = [0] * onset + [11] * 6
    store.ingest(
        [
            write_ndjson(
                _hourly([60] * (7 * 24), prefix="t")
                + _hourly(checkout, prefix="c", service="checkout", status="error")
                + _hourly(billing, prefix="b", service="billing", status="error")
            )
        ]
    )
    result = store.anomalies(
        Selection(where=ERRORS, since=SINCE, until=UNTIL), by="service", every="1h"
    )
    assert [(str(r.time), r.service, r.direction) for r in result.itertuples()] == [
        (str(START + timedelta(hours=onset + h)), "billing", "up") for h in range(6)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_burst_far_above_a_bursty_background_is_flagged(
    store: Store, write_ndjson: Callable[..., Path], seed: int
) -> None:
    # A 34-minute session of ten bursts of 20 to 250 events at random times, and one
    # burst of 3,000 events within ten seconds: its bucket is flagged, upwards.
    store.ingest([write_ndjson(bursty_session(seed, big=3000))])
    result = store.anomalies(Selection())
    assert ("2017-09-11 20:15:00+00:00", "up") in _flags(store, Selection())
    assert result["value"].max() >= 3000 and result["score"].max() > 10


# -- bursts at random times are not anomalies where the source is made of bursts ----------


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_bursty_short_session_flags_nothing(
    store: Store, write_ndjson: Callable[..., Path], seed: int
) -> None:
    # Ten bursts of 20 to 250 events at random times of 34 minutes, nothing between them
    # (like real/k8s-audit). Most 30-second buckets are empty, so the robust dispersion
    # said 1 (0 against 0), each burst scored against at most one event a bucket, and an
    # empty bucket beside a burst had the burst as its neighbours: dozens flagged.
    store.ingest([write_ndjson(bursty_session(seed))])
    every_question: list[dict[str, Any]] = [{}, {"by": "type"}]
    for options in every_question:
        assert store.anomalies(Selection(), **options).empty
    everything = store.anomalies(Selection(), include_all=True)
    assert len(everything) == 69 and (everything["value"] == 0).mean() >= 0.5


def test_burst_size_is_the_event_weighted_burst_of_the_other_runs() -> None:
    # Runs of busy buckets among empty ones: 10, (20, 20), 30 and 400 events. The run
    # holding the most (400) is left out; the others' sum of squares over their sum.
    values = np.zeros(60)
    values[[3, 11, 12, 30, 45]] = [10.0, 20.0, 20.0, 30.0, 400.0]
    assert burst_size(values) == pytest.approx((100 + 400 + 400 + 900) / 80)
    # Fewer than MIN_BURSTS runs: an onset of six hours among rare single failures is
    # one run, and a series with three bursts shows too few to tell their size.
    assert burst_size(values[:40]) == 1.0
    onset = np.zeros(168)
    onset[100:106] = 11.0
    assert burst_size(onset) == 1.0
    rare = np.zeros(168)
    rare[::8] = 1.0
    rare[100:106] = 11.0
    assert burst_size(rare) == 1.0
    # Events one by one, or a source busy in most buckets: no bursts.
    assert burst_size(np.random.default_rng(3).poisson(0.3, size=168).astype(float)) < 1.5
    assert burst_size(np.full(168, 80.0)) == 1.0


def test_k8s_audit_over_its_own_period(tmp_path: Path) -> None:
    # A 34-minute scripted demo whose actions come in bursts (78% of its 30-second buckets
    # empty, five runs of busy ones). Before: 69 buckets flagged by the four questions
    # (15 of the count, 39 by type, 15 by service) and 20 in the report, the empty buckets
    # beside the bursts among them. Its bursts are now judged against its bursts.
    store = real_store("k8s-audit", tmp_path)
    questions: list[tuple[Selection, dict[str, Any]]] = [
        (Selection(), {}),
        (Selection(), {"by": "type"}),
        (Selection(), {"by": "service"}),
        (Selection(where=ERRORS), {}),
    ]
    for selection, options in questions:
        assert store.anomalies(selection, **options).empty
    everything = store.anomalies(Selection(), include_all=True)
    assert len(everything) == 69 and (everything["value"] == 0).sum() == 54
    report = store.report(Selection(since="2017-09-11T19:55:00Z", until="2017-09-11T20:29:30Z"))
    assert report.section("anomalies").tables == ()


def _error_burst(seed: int, count: int) -> list[dict[str, str]]:
    """``bursty_session(seed)`` and ``count`` failed reads of secrets within ten seconds at
    its 25th minute (20:20:05), the session's first failures."""
    at = BURSTY_START + timedelta(minutes=25, seconds=5)
    return bursty_session(seed) + [
        {
            "id": f"x{i}",
            "type": "get secrets",
            "status": "error",
            "timestamp": (at + timedelta(seconds=i * 10 / count))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        for i in range(count)
    ]


SESSION = Selection(since="2017-09-11T19:55:00Z", until="2017-09-11T20:29:30Z")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_errors_of_several_bursts_in_a_bursty_session_are_flagged(
    store: Store, write_ndjson: Callable[..., Path], seed: int
) -> None:
    # 600 failures in ten seconds, several of the session's bursts at once: flagged, in the
    # errors and by type (5.9 to 7.0; 80.5 before).
    store.ingest([write_ndjson(_error_burst(seed, 600))])
    errors = Selection(where=ERRORS, since=SESSION.since, until=SESSION.until)
    assert _flags(store, errors, every="30s") == [("2017-09-11 20:20:00+00:00", "up")]
    assert ("2017-09-11 20:20:00+00:00", "up") in _flags(store, SESSION, by="type", every="30s")


def test_errors_of_one_burst_in_a_bursty_session_are_an_slo_incident(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # 150 failures in ten seconds are one burst of a session made of bursts of 20 to 250
    # events: one unit of evidence, which `anomalies` no longer flags (3.48; 34.69 before).
    # The failures are still an incident: the report's SLO section says so.
    store.ingest([write_ndjson(_error_burst(1, 150))])
    incidents = store.slo(SESSION, bad=ERRORS, incidents=True, every="1m")
    assert len(incidents) == 1
    assert incidents["bad"].iloc[0] == 150
