"""The query description: one frozen pydantic model that the CLI, the Python API and the
report build, and that every engine executes. It is plain data: it can be printed
(``--explain``) and embedded in a report."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mfq.query.expr import Expr, NamedAggregate, NamedValue
from mfq.query.timerange import TimeRange


class QueryKind(StrEnum):
    """What shape of answer a query asks for."""

    EVENTS = "events"  # raw events
    AGGREGATE = "aggregate"  # one row per group
    TIMESERIES = "timeseries"  # one row per time bucket (and group)


class OrderKey(BaseModel):
    """Sort by a result column."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    column: str
    descending: bool = False


class QuerySpec(BaseModel):
    """Everything an engine needs to answer one question."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: QueryKind = QueryKind.AGGREGATE
    time: TimeRange = TimeRange.model_construct()
    where: tuple[Expr, ...] = ()
    group_by: tuple[str, ...] = ()
    aggregates: tuple[NamedAggregate, ...] = ()
    having: Expr | None = None
    order_by: tuple[OrderKey, ...] = ()
    limit: int | None = Field(default=None, ge=1)
    #: Add OTHER (groups cut by ``limit``) and TOTAL rows.
    totals: bool = True
    #: Time bucket width (``timeseries``); None picks a width from the time range.
    every: timedelta | None = None
    #: Keep the N largest ``group_by`` series, fold the rest into OTHER (``timeseries``).
    top: int | None = Field(default=None, ge=1)
    #: IANA zone whose midnight aligns day buckets (None: UTC).
    bucket_tz: str | None = None
    #: Fields to return (``events``); empty: the default selection.
    fields: tuple[str, ...] = ()
    #: Ignore ``sample_rate`` (count every stored event once).
    unweighted: bool = False
    #: Columns computed from the events read (``--let``, ``--group-by EXPR``): group keys,
    #: aggregates' fields and event fields may name them. Filters never do (the parser
    #: puts the expression there, so it is pushed into the scan).
    derived: tuple[NamedValue, ...] = ()
    #: Result columns computed from aggregates (``--agg "sum(x) / count as mean"``).
    computed: tuple[NamedValue, ...] = ()
    #: Every ``--agg`` column's name in the order given (aggregates and computed ones).
    columns: tuple[str, ...] = ()
