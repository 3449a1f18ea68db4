"""The questions asked of events, as plain typed values: the :class:`Selection` every
question shares (which events: filters, time range, clock, weighting) and the requests of
the three query questions (``query``, ``events``, ``timeseries``).

Each analysis keeps its own request type beside it (``AnomaliesRequest`` in
``mfq.analysis.anomalies``, ...), built from a ``Selection`` plus its own options, so a new
question adds its options once and never copies the selection's. Nothing here parses:
``mfq.query.build`` and ``mfq.analysis.common`` check a request against the store's
fields. This module is light (the command line builds a ``Selection`` from its options
before anything heavy loads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import ClassVar

__all__ = [
    "EVERYTHING",
    "EventsRequest",
    "QueryRequest",
    "Request",
    "Selection",
    "TimeseriesRequest",
    "listed",
]


def listed(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """One text or several as a tuple of texts (None: none)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class Selection:
    """Which events a question looks at.

    ``where``: filter expressions (a text or several, all must hold). ``since`` /
    ``until``: the time range (ISO instants, dates, or ages such as ``2h`` counted back
    from ``now``); ``last``: the range ``last`` long ending at ``now``. ``now``: the moment
    relative times count from (default: the clock). ``unweighted``: count stored events,
    ignoring ``sample_rate`` (questions that count stored events anyway, such as
    ``sessions``, ``funnel``, ``paths``, ``timeline`` and ``trace``, need no such flag).

    One selection serves many questions: ``week = Selection(since="2026-11-16",
    until="2026-11-23")``, then ``store.query(week, group_by="service")`` and
    ``store.correlate(week.narrowed("status = 'error'"))``.
    """

    where: str | Sequence[str] = ()
    since: str | None = None
    until: str | None = None
    last: str | None = None
    now: datetime | str | None = None
    unweighted: bool = False

    def __post_init__(self) -> None:
        # One shape for ``where`` (a tuple), so equal selections compare and hash equal.
        object.__setattr__(self, "where", listed(self.where))

    @property
    def filters(self) -> tuple[str, ...]:
        """``where`` as a tuple of filter texts."""
        return listed(self.where)

    def narrowed(self, *where: str) -> Selection:
        """This selection with more filters (all must hold)."""
        return replace(self, where=(*self.filters, *where))

    def during(self, since: str | None, until: str | None) -> Selection:
        """This selection over another time range (``last`` dropped)."""
        return replace(self, since=since, until=until, last=None)

    def options(self) -> dict[str, object]:
        """The options that differ from their defaults, by keyword (for listings)."""
        return _changed(self)


#: The selection of every event, weighted: what a question looks at unless told otherwise.
EVERYTHING = Selection()


@dataclass(frozen=True, kw_only=True)
class Request:
    """What every request has: the :class:`Selection`, and the ``mfq`` command that asks
    the same question (``--incidents``-style variants are options of the request)."""

    #: The command of the same question, for listings such as the report's appendix.
    command: ClassVar[str]

    selection: Selection = EVERYTHING

    def options(self) -> dict[str, object]:
        """The request's own options, then the selection's, that differ from their
        defaults, by keyword, as ``mfq <command>`` takes them (for listings: the question,
        then the events it looks at)."""
        own = {k: v for k, v in _changed(self).items() if k != "selection"}
        return {**own, **self.selection.options()}


def _changed(value: object) -> dict[str, object]:
    """The dataclass fields of ``value`` whose value is not their default."""
    changed: dict[str, object] = {}
    for item in fields(value):  # type: ignore[arg-type]
        current = getattr(value, item.name)
        if item.default is not current and item.default != current:
            changed[item.name] = current
    return changed


@dataclass(frozen=True, kw_only=True)
class QueryRequest(Request):
    """``query``: aggregates, grouped.

    ``group_by``: fields to group by. ``aggs``: aggregates (``p95(duration_ms) as p95``;
    default ``count``). ``having``: a filter on the aggregates. ``order_by``: sort keys
    (``-count``). ``limit``: at most this many groups. ``totals``: with ``limit``, add the
    OTHER and TOTAL rows. ``fields``: accepted as ``mfq query`` does. ``let``: derived
    fields for this query only.
    """

    command: ClassVar[str] = "query"

    group_by: str | Sequence[str] | None = None
    aggs: str | Sequence[str] | None = None
    having: str | None = None
    order_by: str | Sequence[str] | None = None
    limit: int | None = None
    totals: bool = True
    fields: str | Sequence[str] | None = None
    let: str | Sequence[str] | None = None


@dataclass(frozen=True, kw_only=True)
class EventsRequest(Request):
    """``events``: the matching events themselves.

    ``fields``: the columns (globs allowed; default all). ``sort``: sort keys
    (``-timestamp``). ``limit``: at most this many events. ``let``: derived fields for
    this query only.
    """

    command: ClassVar[str] = "events"

    fields: str | Sequence[str] | None = None
    sort: str | Sequence[str] | None = None
    limit: int | None = None
    let: str | Sequence[str] | None = None


@dataclass(frozen=True, kw_only=True)
class TimeseriesRequest(Request):
    """``timeseries``: aggregates per time bucket.

    ``every``: the bucket width (``5m``, ``1h``, ``auto``). ``by``: one series per value
    of these fields. ``top``: keep the ``top`` largest series, the rest folded into OTHER.
    ``aggs``: aggregates (default ``count``). ``tz``: day and week buckets in this time
    zone. ``let``: derived fields for this query only.
    """

    command: ClassVar[str] = "timeseries"

    every: str | None = None
    by: str | Sequence[str] | None = None
    top: int | None = None
    aggs: str | Sequence[str] | None = None
    tz: str | None = None
    let: str | Sequence[str] | None = None


#: A question of the query layer, answered by one query description.
QueryQuestion = QueryRequest | EventsRequest | TimeseriesRequest
