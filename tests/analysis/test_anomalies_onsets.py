"""``anomalies`` on hand-built series whose incidents a model of bursty series must not
hide (the cases the reviews of two bursty-series models used to revert them): a spike
and an outage in a series whose nights are empty, a new kind of error over a few
consecutive hours, a service failing for six hours where it never failed, one burst far
above a background of bursts, a session's first failures the size of one of its bursts,
and a new action running steadily after a session of bursts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mfq.api import Selection, Store
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
@pytest.mark.parametrize("count", [150, 600])
def test_a_first_burst_of_errors_in_a_bursty_session_is_flagged(
    store: Store, write_ndjson: Callable[..., Path], seed: int, count: int
) -> None:
    # 150 failures in ten seconds are the size of one of the session's bursts (20 to 250
    # events), 600 several: both are the session's first failures, flagged in the errors
    # and by type. (A model that took the unit of evidence to be the source's burst
    # scored 150 at 3.48 and 300 at 4.1-4.9: not flagged.)
    store.ingest([write_ndjson(_error_burst(seed, count))])
    errors = Selection(where=ERRORS, since=SESSION.since, until=SESSION.until)
    assert _flags(store, errors, every="30s") == [("2017-09-11 20:20:00+00:00", "up")]
    assert ("2017-09-11 20:20:00+00:00", "up") in _flags(store, SESSION, by="type", every="30s")


def _steady_stream(seed: int, count: int, *, status: str | None) -> list[dict[str, str]]:
    """``bursty_session(seed)`` and, from its 25th minute (20:20:05), one ``create
    pods/exec`` every 0.3 seconds, ``count`` of them: a new action running steadily (a
    loop exec-ing into pods), not a burst."""
    at = BURSTY_START + timedelta(minutes=25, seconds=5)
    stream = []
    for i in range(count):
        row = {
            "id": f"s{i}",
            "type": "create pods/exec",
            "timestamp": (at + timedelta(seconds=i * 0.3))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        if status is not None:
            row["status"] = status
        stream.append(row)
    return bursty_session(seed) + stream


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_steady_new_stream_after_bursts_is_flagged(
    store: Store, write_ndjson: Callable[..., Path], seed: int
) -> None:
    # The second bursty-series model's review: a new action running for five minutes
    # after a session of bursts took the source's burst size as its own overdispersion
    # and went unflagged (14.94 -> 1.27 by type), with or without a status to judge.
    store.ingest([write_ndjson(_steady_stream(seed, 1000, status=None))])
    by_type = store.anomalies(SESSION, by="type", every="30s")
    stream = by_type[by_type["type"] == "create pods/exec"]
    assert len(stream) and (stream["direction"] == "up").all()
    assert stream["score"].max() > 10
