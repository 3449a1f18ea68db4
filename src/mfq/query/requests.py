"""The questions asked of events, as plain typed values: the :class:`Request` every
question's request derives from (a :class:`~mfq.query.selection.Selection` and the
command of the same question) and the requests of the three query questions
(``query``, ``events``, ``timeseries``).

Each analysis keeps its own request type beside it (``AnomaliesRequest`` in
``mfq.analysis.anomalies``, ...), built from a ``Selection`` plus its own options, so a new
question adds its options once and never copies the selection's. Nothing here parses:
``mfq.query.build`` and ``mfq.analysis.common`` check a request against the store's
fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from mfq.query.selection import EVERYTHING, Selection, changed_options, listed

__all__ = [
    "EVERYTHING",
    "EventsRequest",
    "QueryQuestion",
    "QueryRequest",
    "Request",
    "Selection",
    "TimeseriesRequest",
    "listed",
]


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
        own = {k: v for k, v in changed_options(self).items() if k != "selection"}
        return {**own, **self.selection.options()}


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
