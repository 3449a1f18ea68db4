"""Times on the command line: ISO instants, relative ages (``15m``, ``24h``, ``7d``),
``--last``, and bucket widths (``--every 5m``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from mfq.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
#: Widths ``--every auto`` picks from: the first giving at most 150 buckets.
AUTO_WIDTHS = tuple(
    parse
    for parse in (
        timedelta(seconds=1), timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=30),
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=15),
        timedelta(minutes=30), timedelta(hours=1), timedelta(hours=3), timedelta(hours=6),
        timedelta(hours=12), timedelta(days=1), timedelta(weeks=1),
    )
)  # fmt: skip
MAX_AUTO_BUCKETS = 150


class TimeRange(BaseModel):
    """``since`` inclusive, ``until`` exclusive, both aware UTC; None is unbounded."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    since: datetime | None = None
    until: datetime | None = None

    def since_ns(self) -> int | None:
        return None if self.since is None else _ns(self.since)

    def until_ns(self) -> int | None:
        return None if self.until is None else _ns(self.until)


def _ns(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def parse_duration(text: str, option: str) -> timedelta:
    """``15m``, ``24h``, ``7d``, ``2w``, ``500ms``, ``1.5h`` to a timedelta."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise UsageError(f"{option}: bad duration {text!r} (use e.g. 15m, 24h, 7d)")
    return _UNITS[match.group(2).lower()] * float(match.group(1))


def parse_instant(text: str, now: datetime, option: str) -> datetime:
    """An ISO time (naive = UTC, a date = its midnight UTC), ``now``, or an age like ``24h``."""
    stripped = text.strip()
    if stripped.lower() == "now":
        return now
    if _DURATION.match(stripped):
        return now - parse_duration(stripped, option)
    candidate = stripped[:-1] + "+00:00" if stripped.endswith(("Z", "z")) else stripped
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise UsageError(
            f"{option}: bad time {text!r} (use ISO-8601 like 2026-11-03T10:00Z, or an age like 24h)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_range(
    since: str | None, until: str | None, last: str | None, now: datetime
) -> TimeRange:
    """The time range the shared options describe; ``--last D`` means ``--since D``."""
    if last is not None and since is not None:
        raise UsageError("--last and --since cannot be used together")
    start = now - parse_duration(last, "--last") if last is not None else None
    if since is not None:
        start = parse_instant(since, now, "--since")
    end = parse_instant(until, now, "--until") if until is not None else None
    if last is not None and end is None:
        end = now
    if start is not None and end is not None and start >= end:
        raise UsageError("the time range is empty: --since must be before --until")
    return TimeRange.model_construct(since=start, until=end)


def auto_width(span: timedelta) -> timedelta:
    """The bucket width for ``--every auto``: about 50-150 buckets over ``span``."""
    for width in AUTO_WIDTHS:
        if span / width <= MAX_AUTO_BUCKETS:
            return width
    return AUTO_WIDTHS[-1]


def duration_text(width: timedelta) -> str:
    """A duration as ``--every``/``--window`` text: ``1h``, ``10m``, ``1d``, ``90s``."""
    seconds = int(width.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
