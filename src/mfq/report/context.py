"""What every section builder shares: the store, the periods, the filters, and a log of
every library call made (the report lists them as the commands that reproduce it).

Every number in the report comes through :meth:`ReportContext.run`: a :class:`Call` of one
question (the function that answers it, and its typed request: ``Call(section, anomalies,
AnomaliesRequest(...))``, so a renamed option is a type error) or a :class:`Batch` of
``QueryRequest`` answered by ``run_many`` (aggregates over the same period share one
scan). Nothing here reads Parquet, so any engine runs the report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mfq.query.build import request_spec
from mfq.query.expr.text import name_text, string_text
from mfq.query.requests import QueryRequest, Request, Selection
from mfq.query.timerange import AUTO_WIDTHS, duration_text
from mfq.render.values import normalise
from mfq.report.model import Period, ReportQuery
from mfq.report.settings import AnomalySignal, ReportSettings

if TYPE_CHECKING:
    import pandas as pd

    from mfq.query.expr import FieldType
    from mfq.query.source import QuerySource

__all__ = ["Batch", "Call", "ReportContext", "duration_text", "equals"]

#: The SLO's bucket widths, narrowest first.
SLO_WIDTHS = tuple(
    timedelta(minutes=m) for m in (5, 15, 60, 6 * 60, 24 * 60, 7 * 24 * 60, 28 * 24 * 60)
)

R = TypeVar("R", bound=Request)


@dataclass
class ReportContext:
    """The resolved options of one report, and the calls made so far."""

    store: QuerySource
    current: Period
    previous: Period
    where: tuple[str, ...]
    errors: str
    tz: str | None
    unweighted: bool
    settings: ReportSettings
    types: Mapping[str, FieldType]
    #: Fields with a value in the period (the report's sections need these, not just known).
    present: frozenset[str] = frozenset()
    #: False when no ``--bad`` was given and the data has no field to judge errors by.
    judges_errors: bool = True
    #: The error breakdowns: one table per tuple of fields.
    breakdowns: tuple[tuple[str, ...], ...] = ()
    queries: list[ReportQuery] = field(default_factory=list)

    @property
    def group_field(self) -> str:
        """The field latency is broken down by: ``service``, else the first breakdown's,
        else ``type``."""
        if self.has_field("service"):
            return "service"
        return self.breakdowns[0][0] if self.breakdowns else "type"

    @property
    def has_latency(self) -> bool:
        """True when the period's events carry the latency field."""
        return self.has_field(self.settings.latency_field)

    def anomaly_signals(self) -> tuple[AnomalySignal, ...]:
        """The settings' signals whose field is present (errors only when judged), else
        events (and errors) by the first breakdown field, else events by type."""
        from mfq.report.settings import AnomalySignal

        usable = tuple(
            signal
            for signal in self.settings.anomaly_signals
            if self.has_field(signal.by) and (self.judges_errors or not signal.errors_only)
        )
        if usable:
            return usable
        by = self.breakdowns[0][0] if self.breakdowns else "type"
        errors = (AnomalySignal(f"errors by {by}", by, errors_only=True),)
        return (
            *(errors if self.judges_errors else ()),
            AnomalySignal(f"events by {by}", by, False),
        )

    @property
    def every(self) -> str:
        """The bucket width of charts and anomalies: the narrowest of ``--every auto``'s
        widths giving at most ``settings.max_buckets`` buckets over the period."""
        span = self.current.end - self.current.start
        for width in AUTO_WIDTHS:
            if span / width <= self.settings.max_buckets:
                return duration_text(width)
        return duration_text(AUTO_WIDTHS[-1])

    @property
    def slo_every(self) -> str:
        """The SLO's bucket width: 5 minutes (the shortest alert window), or the narrowest
        wider one giving at most ``settings.max_slo_buckets`` over the period."""
        span = self.current.end - self.current.start
        for width in SLO_WIDTHS:
            if span / width <= self.settings.max_slo_buckets:
                return duration_text(width)
        return duration_text(SLO_WIDTHS[-1])

    def has_field(self, name: str) -> bool:
        """True when some event of the period has the field (reports skip what it lacks)."""
        return name in self.present

    def selection(self, period: Period, *where: str) -> Selection:
        """The report's events of ``period``: its filters (and ``where``), weighted as
        the report is."""
        return Selection(
            where=(*self.where, *where),
            since=period.since,
            until=period.until,
            unweighted=self.unweighted,
        )

    def run(self, jobs: Sequence[Call[Any] | Batch]) -> list[Any]:
        """Run independent jobs at once and return their results in order: a DataFrame
        per :class:`Call`, a list of them per :class:`Batch`.

        Jobs are logged in the order given (so the report lists its queries the same way
        every time) and run on a few threads (engines spend their time in pyarrow, which
        releases the GIL, or waiting on a cluster), heavy ones first. Every option is
        checked before any job starts, so a mistake costs no work.
        """
        from mfq.analysis.common import run_parallel

        prepared: list[Callable[[], Any]] = []
        for job in jobs:
            if isinstance(job, Batch):
                specs = [request_spec(self.store, request) for request in job.requests]
                self.queries.extend(
                    ReportQuery(job.section, "run_many", request.command, request.options())
                    for request in job.requests
                )
                prepared.append(partial(self.store.run_many, specs))
            else:
                self.queries.append(job.logged())
                prepared.append(partial(job.ask, self.store, job.request))
        order = sorted(range(len(jobs)), key=lambda index: not jobs[index].heavy)
        done = run_parallel([(_call, prepared[index]) for index in order])
        results: list[Any] = [None] * len(jobs)
        for index, result in zip(order, done, strict=True):
            results[index] = result
        return results


def _call(function: Callable[[], Any]) -> Any:
    return function()


@dataclass(frozen=True)
class Call(Generic[R]):
    """One question: which section asks, the function that answers it (an analysis, or
    :func:`~mfq.query.build.answer_query`) and its request."""

    section: str
    ask: Callable[[QuerySource, R], pd.DataFrame]
    request: R
    #: Started before the others (the slowest calls, so the threads finish together).
    heavy: bool = False

    def logged(self) -> ReportQuery:
        """The call as the report lists it: the ``Store`` method and the command of the
        same question (one name), and the options given."""
        command = self.request.command
        return ReportQuery(self.section, command, command, self.request.options())


@dataclass(frozen=True)
class Batch:
    """Several ``query`` requests answered by one ``run_many``: aggregates over the same
    period and filters share one scan of the events."""

    section: str
    requests: tuple[QueryRequest, ...]
    heavy: bool = True


def equals(name: str, value: object) -> str:
    """The filter ``name = value`` as expression text (``name is null`` for a missing
    value); values from data are quoted, so none can change the expression."""
    value = normalise(value)  # numpy scalars from a result frame; NaN and NA are None
    if value is None:
        return f"{name_text(name)} is null"
    if isinstance(value, bool):
        return f"{name_text(name)} = {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"{name_text(name)} = {value!r}"
    return f"{name_text(name)} = {string_text(str(value))}"
