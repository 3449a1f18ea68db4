"""The report's period: ISO weeks in UTC or a zone, ranges, the previous period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mfq.errors import UsageError
from mfq.report.period import resolve_periods

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # a Wednesday in 2026-W48


def _periods(**options: str | None) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    zone = ZoneInfo(options.pop("tz")) if options.get("tz") else UTC
    current, previous = resolve_periods(
        week=options.get("week"),
        since=options.get("since"),
        until=options.get("until"),
        now=NOW,
        zone=zone,
    )
    return (current.start, current.end), (previous.start, previous.end)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("week", "monday"),
    [
        ("2026-W47", _utc(2026, 11, 16)),
        ("2026W47", _utc(2026, 11, 16)),
        ("2026-w01", _utc(2025, 12, 29)),  # ISO week 1 holds the year's first Thursday
        ("2026-W53", _utc(2026, 12, 28)),  # 2026 has 53 ISO weeks
    ],
)
def test_an_iso_week_runs_monday_to_monday_in_utc(week: str, monday: datetime) -> None:
    current, previous = _periods(week=week)
    assert current == (monday, monday + timedelta(days=7))
    assert previous == (monday - timedelta(days=7), monday)


def test_a_week_in_a_zone_starts_at_local_midnight_and_keeps_its_real_length() -> None:
    # Europe/Paris leaves summer time on Sunday 2026-10-25: W43 is 169 hours long.
    current, previous = _periods(week="2026-W43", tz="Europe/Paris")
    assert current == (_utc(2026, 10, 18, 22), _utc(2026, 10, 25, 23))
    assert previous == (_utc(2026, 10, 11, 22), _utc(2026, 10, 18, 22))


def test_without_a_period_the_last_complete_week() -> None:
    assert _periods()[0] == (_utc(2026, 11, 16), _utc(2026, 11, 23))


def test_a_range_is_compared_with_the_same_length_before() -> None:
    current, previous = _periods(since="2026-11-20T06:00Z", until="2026-11-21T00:00Z")
    assert current == (_utc(2026, 11, 20, 6), _utc(2026, 11, 21))
    assert previous == (_utc(2026, 11, 19, 12), _utc(2026, 11, 20, 6))


def test_until_defaults_to_now_and_ages_count_back_from_it() -> None:
    assert _periods(since="24h")[0] == (NOW - timedelta(hours=24), NOW)


def test_labels_name_the_week_and_the_range() -> None:
    current, previous = resolve_periods(week="2026-W47", since=None, until=None, now=NOW, zone=UTC)
    assert (current.name, current.label) == ("2026-W47", "2026-W47 (2026-11-16 to 2026-11-22)")
    assert previous.name == "2026-W46"
    ranged, _ = resolve_periods(
        week=None, since="2026-11-20T06:00Z", until="2026-11-21", now=NOW, zone=UTC
    )
    assert ranged.label == ranged.name == "2026-11-20 06:00 to 2026-11-21 00:00"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"week": "W47"}, "--week: 'W47' is not an ISO week like 2026-W47"),
        ({"week": "2025-W53"}, "--week: 2025 has no ISO week 53"),
        ({"week": "2026-W00"}, "--week: 2026 has no ISO week 0"),
        ({"since": "yesterday"}, "--since: bad time 'yesterday'"),
    ],
)
def test_bad_periods_are_usage_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        _periods(**options)
    assert message in str(caught.value)
