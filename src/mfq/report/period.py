"""The report's period and the one it is compared with.

``--week 2026-W47`` is an ISO week (Monday 00:00 to the next Monday 00:00) in UTC, or in
the ``--tz`` zone; ``--since``/``--until`` is any range (``--until`` defaults to now). With
neither, the report covers the last complete ISO week. The previous period is the same
length right before: the previous ISO week for ``--week``, so a week that crosses a
daylight-saving change is compared with the whole week before it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

from mfq.errors import UsageError
from mfq.query.timerange import parse_instant
from mfq.report.model import Period

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)
_WEEK_LENGTH = timedelta(days=7)


def resolve_periods(
    *,
    week: str | None,
    since: str | None,
    until: str | None,
    now: datetime,
    zone: tzinfo,
) -> tuple[Period, Period]:
    """The report's period and the previous one (see the module docs); mistakes are
    ``UsageError`` s naming the option."""
    if week is not None and (since is not None or until is not None):
        raise UsageError("--week cannot be combined with --since/--until")
    if week is not None:
        return _week_periods(_parse_week(week), zone)
    if since is None:
        if until is not None:
            raise UsageError("--until needs --since (or use --week)")
        return _week_periods(_last_complete_week(now, zone), zone)
    start = parse_instant(since, now, "--since")
    end = parse_instant(until, now, "--until") if until is not None else now
    if start >= end:
        raise UsageError("the time range is empty: --since must be before --until")
    length = end - start
    label, earlier = _range_label(start, end, zone), _range_label(start - length, start, zone)
    return Period(start, end, label, name=label), Period(start - length, start, earlier, earlier)


def _parse_week(text: str) -> date:
    match = _WEEK.match(text)
    if match is None:
        raise UsageError(f"--week: {text!r} is not an ISO week like 2026-W47")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, number, 1)
    except ValueError:
        raise UsageError(f"--week: {year} has no ISO week {number}") from None


def _last_complete_week(now: datetime, zone: tzinfo) -> date:
    today = now.astimezone(zone).date()
    return today - timedelta(days=today.isoweekday() - 1) - _WEEK_LENGTH


def _week_periods(monday: date, zone: tzinfo) -> tuple[Period, Period]:
    before = monday - _WEEK_LENGTH
    return _week(monday, zone), _week(before, zone)


def _week(monday: date, zone: tzinfo) -> Period:
    start = _midnight(monday, zone)
    end = _midnight(monday + _WEEK_LENGTH, zone)
    last_day = monday + timedelta(days=6)
    name = week_name(monday)
    label = f"{name} ({monday.isoformat()} to {last_day.isoformat()})"
    return Period(start, end, label, name=name)


def week_name(day: date) -> str:
    """The ISO week holding ``day``, as ``--week`` takes it: ``2026-W47``."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _range_label(start: datetime, end: datetime, zone: tzinfo) -> str:
    def shown(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return f"{shown(start)} to {shown(end)}"
