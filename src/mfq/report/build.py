"""Assembling the report: every section from the library calls the commands make.

One ``Store.run_many`` answers the aggregate questions of both periods (headline numbers,
volume by type, error breakdowns, latency percentiles: a scan per period); then
``timeseries``, ``anomalies``, ``slo`` and ``correlate`` run as the commands of the same
names would, several at once. ``build_report`` returns a :class:`~mfq.report.model.Report`
(plain data); ``mfq.report.markdown`` and ``mfq.report.html`` render it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from mfq.analysis.anomalies import AnomaliesRequest, anomalies
from mfq.analysis.common import parse_number
from mfq.analysis.correlate import CorrelateRequest, correlate
from mfq.analysis.slo import SloRequest, slo
from mfq.errors import UsageError
from mfq.query.build import answer_query
from mfq.query.expr import ExpressionError
from mfq.query.expr.text import name_text
from mfq.query.requests import QueryRequest, Request, Selection, TimeseriesRequest
from mfq.render.values import normalise
from mfq.report import findings, releases, tables
from mfq.report.context import Batch, Call, ReportContext, equals
from mfq.report.fields import NO_ERRORS, breakdowns, fields_present
from mfq.report.model import (
    Chart,
    ColumnKind,
    Metric,
    NoEvents,
    Period,
    Report,
    Section,
    SeriesData,
    Table,
    paragraph,
)
from mfq.report.period import resolve_periods
from mfq.report.prose import (
    Parts,
    highlights,
    missing_sentences,
    no_events_notice,
    section_paragraphs,
)
from mfq.report.questions import SavedQuestion, question_sections
from mfq.report.settings import DEFAULT_REPORT_SETTINGS, ReportSettings

if TYPE_CHECKING:
    import pandas as pd

    from mfq.query.expr import FieldType
    from mfq.query.source import QuerySource
    from mfq.report.settings import AnomalySignal

#: Latency percentiles per service (``p95`` is also the headline's).
PERCENTILES = ("p50", "p90", "p95", "p99")


@dataclass(frozen=True, kw_only=True)
class ReportRequest(Request):
    """``report``: a period's event-pattern report.

    The selection's ``since`` / ``until`` (or ``last``, or ``week``) is the period;
    ``week``: an ISO week (``2026-W47``). ``errors``: the bad events. ``by``: breakdown
    fields. ``latency``: the duration field. ``slo_bad``, ``slo_target``, ``slo_alerts``,
    ``slo_by``: the SLO section. ``tz``: week boundaries and day buckets in this time
    zone. ``settings``: thresholds and sizes (``[report]`` of ``mfq.toml``).
    ``questions``: saved questions shown as sections.
    """

    command: ClassVar[str] = "report"

    week: str | None = None
    errors: str | None = None
    by: str | Sequence[str] | None = None
    latency: str | None = None
    slo_bad: str | None = None
    slo_target: float | str | None = None
    slo_alerts: str | Sequence[str] | None = None
    slo_by: str | None = None
    tz: str | None = None
    settings: ReportSettings = DEFAULT_REPORT_SETTINGS
    questions: tuple[SavedQuestion, ...] = ()


def build_report(store: QuerySource, request: ReportRequest) -> Report:
    """The report of one period: ``week`` (ISO, ``2026-W47``) or ``since``/``until``
    (``until`` defaults to ``now``; neither: the last complete ISO week), compared with
    the period of the same length right before.

    ``where`` restricts every section; ``errors`` is the filter that marks a bad event
    (``--bad``; default ``status = 'error'`` when the data has ``status``, else none: the
    sections about errors then say which option to give). ``by`` names the breakdown
    fields (default: the standard ones present, else the two most useful low-cardinality
    fields); ``latency`` the duration field in milliseconds (default ``duration_ms``).
    The SLO counts ``slo_bad`` (default: the errors) as bad events against ``slo_target``
    percent, overall and per value of ``slo_by``; incidents are when ``slo_alerts``
    (``mfq slo --alert``) would have fired. ``tz`` places week boundaries and shows times
    in that zone. ``questions`` (saved questions of ``mfq.toml``) are asked over the
    period and added as sections. Every mistake is a ``UsageError``.
    """
    selection, settings, tz = request.selection, request.settings, request.tz
    latency, by, errors = request.latency, request.by, request.errors
    slo_bad, slo_target, slo_by = request.slo_bad, request.slo_target, request.slo_by
    unweighted = selection.unweighted
    zone = _zone(tz)
    clock = _clock(selection.now)
    current, previous = resolve_periods(
        week=request.week, since=_since(selection), until=selection.until, now=clock, zone=zone
    )
    filters = selection.filters
    types = store.field_types()
    if latency is not None:
        settings = replace(settings, latency_field=_field_name(store, types, latency, "--latency"))
    wanted = _listed_fields(by)
    for name in wanted:
        _field_name(store, types, name, "--by")
    # Both periods: a field the previous one has is worth a section saying it is gone.
    span = (previous.since, current.until)
    present = fields_present(store, *span, filters, types, settings, wanted, unweighted)
    judged = errors is not None or settings.errors_field in present
    context = ReportContext(
        store=store,
        current=current,
        previous=previous,
        where=filters,
        errors=_expression(store, errors or settings.errors, "--bad") if judged else NO_ERRORS,
        tz=tz,
        unweighted=unweighted,
        settings=settings,
        types=types,
        present=frozenset(present),
        judges_errors=judged,
    )
    context.breakdowns = breakdowns(store, context, wanted)
    target = parse_number(settings.slo_target if slo_target is None else slo_target, "--target")
    slo_field = settings.slo_by if slo_by is None else slo_by
    if slo_by is None and not context.has_field(slo_field) and context.breakdowns:
        slo_field = context.breakdowns[0][0]
    from mfq.analysis.slo import burn_alerts

    chosen = (
        burn_alerts(request.slo_alerts, (100.0 - target) / 100.0, "--slo-alert")
        if 0 < target < 100
        else ()
    )
    objective = _Objective(
        bad=_expression(store, slo_bad, "--slo-bad") if slo_bad else context.errors,
        target=target,
        alerts=tuple(str(alert) for alert in chosen),
        by=_field(context, slo_field, "--slo-by")
        if context.has_field(slo_field) or slo_by
        else None,
    )
    return _Builder(context, objective, request.questions).build()


def _since(selection: Selection) -> str | None:
    """The period's start: ``since``, or ``last`` (an age such as ``7d`` counts back from
    ``now`` as a start does)."""
    if selection.last is not None and selection.since is not None:
        raise UsageError("--last and --since cannot be used together")
    return selection.last if selection.last is not None else selection.since


@dataclass(frozen=True)
class _Objective:
    """The SLO's options, checked: bad events, target percent, burn-rate alerts,
    per-value field."""

    bad: str
    target: float
    alerts: tuple[str, ...]
    by: str | None

    def __post_init__(self) -> None:
        if not 0.0 < self.target < 100.0:
            raise UsageError(f"--target: {self.target:g} is not a percentage between 0 and 100")


def _listed_fields(value: str | Sequence[str] | None) -> list[str]:
    from mfq.query.build import split_fields

    if value is None:
        return []
    return split_fields([value] if isinstance(value, str) else list(value))


def _field_name(store: QuerySource, types: Mapping[str, FieldType], name: str, option: str) -> str:
    """``name`` when the store knows it, else the "did you mean" usage error."""
    if name not in types:
        _expression(store, f"exists({name_text(name)})", option)
    return name


def _zone(name: str | None) -> tzinfo:
    if name is None or name.upper() in {"UTC", "Z"}:
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--tz: unknown time zone {name!r}") from None


def _clock(now: datetime | str | None) -> datetime:
    from mfq.query.timerange import parse_instant

    clock = datetime.now(UTC)
    if isinstance(now, str):
        return parse_instant(now, clock, "--now")
    return clock if now is None else now.astimezone(UTC)


def _expression(store: QuerySource, text: str, option: str) -> str:
    from mfq.analysis.common import parse_expression

    try:
        parse_expression(store, text)
    except ExpressionError as err:
        raise UsageError(f"{option}: {err}") from None
    return text.strip()


def _field(context: ReportContext, name: str, option: str) -> str | None:
    name = name.strip()
    if not name:
        return None
    if not context.has_field(name):
        _expression(context.store, f"exists({name_text(name)})", option)  # "did you mean"
    return name


class _Builder:
    """One report's assembly: the calls, then the sections from their results."""

    def __init__(
        self,
        context: ReportContext,
        objective: _Objective,
        questions: tuple[SavedQuestion, ...] = (),
    ) -> None:
        self.context = context
        self.settings = context.settings
        self.objective = objective
        self.questions = questions

    def build(self) -> Report:
        context = self.context
        batch, series, anomalies, correlation = self._first_pass()
        release_results = context.run(releases.calls(context))
        slo_frames = self._objectives(batch)
        incidents = self._incidents(slo_frames)
        incident_correlations = self._incident_correlations(incidents)
        headline_frames = batch["headline"]
        no_events = None if _has_events(headline_frames[0]) else self._where_events_are()
        parts = Parts(
            headline=self._headline(headline_frames),
            volume=self._volume(batch["types"]),
            errors=self._errors(batch),
            latency=self._latency(batch["latency"]),
            anomalies=findings.anomaly_table(anomalies, rows=self.settings.anomaly_rows),
            slo=findings.slo_table(slo_frames),
            incidents=findings.incident_table(incidents),
            correlate=(
                findings.correlate_table("correlate", "What distinguishes the errors", correlation),
                *incident_correlations,
            ),
            errors_now=float(headline_frames[0]["errors"].iloc[0]),
            errors_before=float(headline_frames[1]["errors"].iloc[0]),
            types_now=int((batch["types"][0]["events"] > 0).sum()),
            observed=findings.observed_note(anomalies),
            no_events=no_events,
        )
        sections = releases.add_to(
            self._sections(parts),
            context,
            release_results,
            parts.correlate[0],
            judged=no_events is None,
        )
        from mfq.report.journeys import journeys_section

        journeys = journeys_section(context)
        if journeys is not None:
            sections = (*sections, journeys)
        sections = sections + question_sections(context, self.questions)
        return Report(
            title=f"Event report {context.current.name}",
            period=context.current,
            previous=context.previous,
            tz=context.tz,
            options=self._options(),
            headline=parts.headline,
            sections=sections,
            series=SeriesData(every=context.every, current=series[0], previous=series[1]),
            queries=tuple(context.queries),
            no_events=no_events,
            notice=None if no_events is None else no_events_notice(no_events, context),
        )

    def _where_events_are(self) -> NoEvents:
        """The first and last event matching the report's filters at any time: asked only
        when the period has none, so the report can say where they are."""
        context = self.context
        anywhere = Selection(where=context.where, unweighted=context.unweighted)
        request = QueryRequest(
            selection=anywhere, aggs=["min(timestamp) as first", "max(timestamp) as last"]
        )
        frame = context.run([Batch("highlights", (request,))])[0][0]
        first, last = (
            normalise(frame[name].iloc[0]) if len(frame) else None for name in ("first", "last")
        )
        return NoEvents(
            first=first if isinstance(first, datetime) else None,
            last=last if isinstance(last, datetime) else None,
            filtered=bool(context.where),
        )

    def _options(self) -> dict[str, object]:
        context = self.context
        return {
            "since": context.current.since,
            "until": context.current.until,
            "where": list(context.where),
            "errors": context.errors,
            "slo_bad": self.objective.bad,
            "slo_target": self.objective.target,
            "slo_alerts": list(self.objective.alerts),
            "slo_by": self.objective.by,
            "by": [",".join(keys) for keys in context.breakdowns],
            "tz": context.tz,
            "unweighted": context.unweighted,
            "every": context.every,
        }

    # -- the calls --------------------------------------------------------------------------

    def _requests(self, period: Period) -> dict[str, QueryRequest]:
        """The aggregate questions of one period, by name (one shared scan)."""
        context, settings = self.context, self.settings
        selection = context.selection(period)
        errors = context.errors
        latency = name_text(settings.latency_field)
        headline = [
            "count as events",
            f"count({errors}) as errors",
            f"ratio({errors}) as error_ratio",
            f"p95({latency}) as p95_ms",
            f"count_distinct({name_text(settings.actor_field)}) as active_actors",
        ]
        requests = {
            "headline": QueryRequest(selection=selection, aggs=headline),
            "types": QueryRequest(selection=selection, group_by=["type"], aggs=["count as events"]),
        }
        for keys in self._breakdowns():
            requests["errors:" + ",".join(keys)] = QueryRequest(
                selection=selection,
                group_by=list(keys),
                aggs=[f"count({errors}) as errors", "count as events"],
            )
        percentiles = [f"{p}({latency}) as {p}_ms" for p in PERCENTILES]
        group = context.group_field
        requests["latency"] = QueryRequest(
            selection=selection,
            group_by=[group] if group else [],
            aggs=[
                f"count(exists({latency})) as timed",
                *percentiles,
                f"max({latency}) as max_ms",
            ],
        )
        by = self.objective.by
        if by is not None and (by,) not in self._breakdowns():
            requests["slo_scopes"] = QueryRequest(
                selection=selection, group_by=[by], aggs=["count as events"]
            )
        return requests

    def _breakdowns(self) -> list[tuple[str, ...]]:
        return list(self.context.breakdowns)

    def _first_pass(
        self,
    ) -> tuple[
        dict[str, tuple[pd.DataFrame, pd.DataFrame]],
        tuple[pd.DataFrame, pd.DataFrame],
        list[tuple[AnomalySignal, pd.DataFrame]],
        pd.DataFrame,
    ]:
        """Everything that needs no other answer first, at once: the aggregates of both
        periods (one ``run_many``), the period's correlate of errors, the series of both
        periods and the anomaly signals."""
        context, settings = self.context, self.settings
        errors = context.errors
        current = context.selection(context.current)
        now, before = self._requests(context.current), self._requests(context.previous)
        names = list(now)
        compared = CorrelateRequest(
            selection=current.narrowed(errors), limit=settings.correlate_rows, combine=2
        )
        correlating: Call[Any] | Batch = Call("correlate", correlate, compared, heavy=True)
        if not context.judges_errors:  # nothing to correlate: an empty batch answers []
            correlating = Batch("correlate", ())
        jobs: list[Call[Any] | Batch] = [
            Batch("aggregates", tuple(now[n] for n in names) + tuple(before[n] for n in names)),
            correlating,
        ]
        jobs += [
            Call(
                "series",
                answer_query,
                TimeseriesRequest(
                    selection=context.selection(period),
                    every=context.every,
                    aggs=["count as events", f"count({errors}) as errors"],
                    tz=context.tz,
                ),
            )
            for period in (context.current, context.previous)
        ]
        signals = list(context.anomaly_signals())
        jobs += [
            Call(
                "anomalies",
                anomalies,
                AnomaliesRequest(
                    selection=current.narrowed(errors) if signal.errors_only else current,
                    by=signal.by,
                    every=context.every,
                    tz=context.tz,
                ),
            )
            for signal in signals
        ]
        results = context.run(jobs)
        frames: list[pd.DataFrame] = results[0]
        half = len(names)
        batch = {name: (frames[i], frames[half + i]) for i, name in enumerate(names)}
        found = list(zip(signals, results[4:], strict=True))
        correlation = results[1] if context.judges_errors else _no_correlation()
        return batch, (results[2], results[3]), found, correlation

    def _objectives(
        self, batch: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
    ) -> list[tuple[str, pd.DataFrame]]:
        """The SLO summary of every scope: all events, then the busiest values of
        ``slo_by``."""
        if not self.context.judges_errors:
            return []
        scopes = self._slo_scopes(batch)
        calls = [Call("slo", slo, self._slo_request(scope)) for scope in scopes]
        return list(zip(scopes, self.context.run(calls), strict=True))

    def _slo_scopes(self, batch: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> list[str]:
        """``all events``, then one scope per value of ``slo_by`` (the busiest first)."""
        by = self.objective.by
        scopes = [findings.ALL_EVENTS]
        if by is None:
            return scopes
        frame = batch["slo_scopes" if "slo_scopes" in batch else f"errors:{by}"][0]
        busiest = frame.sort_values(["events", by], ascending=[False, True], kind="stable")
        values = busiest[by].head(self.settings.max_slo_scopes)
        return scopes + [equals(by, value) for value in values]

    def _scope_where(self, scope: str) -> tuple[str, ...]:
        return () if scope == findings.ALL_EVENTS else (scope,)

    def _slo_request(self, scope: str, *, incidents: bool = False) -> SloRequest:
        alerts = list(self.objective.alerts)
        context = self.context
        return SloRequest(
            selection=context.selection(context.current, *self._scope_where(scope)),
            bad=self.objective.bad,
            target=self.objective.target,
            every=context.slo_every,
            alerts=None if alerts == list(self.settings.slo_alerts) else alerts,
            incidents=incidents,
        )

    def _incidents(
        self, summaries: list[tuple[str, pd.DataFrame]]
    ) -> list[tuple[str, pd.DataFrame]]:
        """The incidents of every objective that had any."""
        burning = [scope for scope, summary in summaries if int(summary["incidents"].iloc[0])]
        calls = [Call("slo", slo, self._slo_request(scope, incidents=True)) for scope in burning]
        return list(zip(burning, self.context.run(calls), strict=True))

    def _incident_correlations(self, incidents: list[tuple[str, pd.DataFrame]]) -> list[Table]:
        """``correlate`` of the errors inside the largest incidents (one per stretch of
        time: an overall incident inside a service's says nothing new)."""
        from mfq.query.expr.text import time_text

        episodes: list[tuple[str, Any]] = [
            (scope, row) for scope, frame in incidents for row in frame.itertuples(index=False)
        ]
        episodes.sort(key=lambda item: (-int(item[1].bad), item[1].start, item[0]))
        picked: list[tuple[str, Any]] = []
        for scope, row in episodes:
            if len(picked) == self.settings.incident_correlations:
                break
            if any(row.start < other.end and other.start < row.end for _s, other in picked):
                continue
            picked.append((scope, row))
        calls = [
            Call(
                "correlate",
                correlate,
                CorrelateRequest(
                    selection=Selection(
                        where=(*self.context.where, *self._scope_where(scope), self.context.errors),
                        since=time_text(row.start.to_pydatetime()),
                        until=time_text(row.end.to_pydatetime()),
                        unweighted=self.context.unweighted,
                    ),
                    limit=self.settings.correlate_rows,
                ),
            )
            for scope, row in picked
        ]
        results = self.context.run(calls)
        return [
            findings.correlate_table(
                f"correlate_incident_{index}",
                f"Errors during the incident of {scope}, {self._when(row.start, row.end)}",
                frame,
            )
            for index, ((scope, row), frame) in enumerate(zip(picked, results, strict=True), 1)
        ]

    def _when(self, start: pd.Timestamp, end: pd.Timestamp) -> str:
        from mfq.report.format import format_time, zone_of

        zone = zone_of(self.context.tz)
        first, last = format_time(start, zone), format_time(end, zone)
        if first[:10] == last[:10]:
            last = last[11:]
        return f"{first} to {last}"

    # -- the sections -----------------------------------------------------------------------

    def _headline(self, frames: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[Metric, ...]:
        now, before = frames[0].iloc[0], frames[1].iloc[0]

        # Without a way to judge errors, the error ratio is unknown rather than 0.
        unknown = set() if self.context.judges_errors else {"error_ratio"}

        def metric(key: str, label: str, kind: ColumnKind, change: ColumnKind) -> Metric:
            if key in unknown:
                return Metric(key, label, kind, None, None, change)
            return Metric(key, label, kind, _value(now[key]), _value(before[key]), change)

        return (
            metric("events", "Events", ColumnKind.COUNT, ColumnKind.CHANGE),
            metric("error_ratio", "Error ratio", ColumnKind.RATIO, ColumnKind.CHANGE_PP),
            metric("p95_ms", "p95 latency", ColumnKind.DURATION_MS, ColumnKind.CHANGE),
            metric("active_actors", "Active actors", ColumnKind.COUNT, ColumnKind.CHANGE),
        )

    def _volume(self, frames: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[Table, Table | None]:
        by_type = tables.volume_by_type(*frames, rows=self.settings.type_rows)
        compared = float(frames[1]["events"].sum()) > 0 and float(frames[0]["events"].sum()) > 0
        if not compared:
            return by_type, None
        return by_type, tables.new_and_vanished(*frames, rows=self.settings.new_type_rows)

    def _latency(self, frames: tuple[pd.DataFrame, pd.DataFrame]) -> Table:
        return tables.latency_by(*frames, self.context.group_field, PERCENTILES)

    def _errors(self, batch: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[Table, ...]:
        rows = self.settings.breakdown_rows
        return tuple(
            tables.error_breakdown(*batch["errors:" + ",".join(keys)], keys, rows=rows)
            for keys in self._breakdowns()
        )

    def _sections(self, parts: Parts) -> tuple[Section, ...]:
        context = self.context
        every = context.every
        objective = self.objective
        paragraphs = section_paragraphs(
            parts, context, objective.bad, objective.target, objective.alerts
        )
        missing = missing_sentences(context)
        sections = (
            Section("highlights", "Highlights", items=highlights(parts, context)),
            Section(
                "volume",
                "Volume",
                paragraphs=paragraphs["volume"],
                charts=(
                    Chart(
                        "events",
                        f"Events per {every}",
                        f"Line chart of events per {every} bucket, this period and the "
                        "previous one.",
                    ),
                    Chart(
                        "types",
                        "Largest event types",
                        "Bar chart of the largest event types, this period and the previous.",
                    ),
                ),
                tables=_shown(*parts.volume),
            ),
            Section(
                "errors",
                "Errors",
                paragraphs=paragraphs["errors"],
                charts=(
                    Chart(
                        "errors",
                        f"Errors per {every}",
                        f"Line chart of errors per {every} bucket; SLO incidents shaded, "
                        "anomalous buckets marked.",
                    ),
                ),
                tables=_shown(*parts.errors),
            ),
            Section(
                "latency",
                "Latency",
                paragraphs=paragraphs["latency"],
                charts=(
                    Chart(
                        "latency",
                        f"Latency percentiles by {context.group_field}",
                        f"Bar chart of p50, p95 and p99 latency per {context.group_field}.",
                    ),
                ),
                tables=_shown(parts.latency),
            ),
            Section(
                "anomalies",
                "Anomalies",
                paragraphs=paragraphs["anomalies"],
                tables=_shown(parts.anomalies),
                notes=(parts.observed,) if parts.observed else (),
            ),
            Section(
                "slo",
                "SLO compliance and incidents",
                paragraphs=paragraphs["slo"],
                tables=_shown(parts.slo, parts.incidents),
            ),
            Section(
                "correlate",
                "What correlate says about the errors",
                paragraphs=paragraphs["correlate"],
                tables=_shown(*parts.correlate),
            ),
        )
        return _replaced(sections, missing)


def _no_correlation() -> pd.DataFrame:
    import pandas as pd

    from mfq.analysis.correlate import COLUMNS

    return pd.DataFrame(columns=COLUMNS)


def _replaced(sections: tuple[Section, ...], missing: Mapping[str, str]) -> tuple[Section, ...]:
    """Sections whose fields are absent, as one sentence saying which option supplies them."""
    return tuple(
        Section(s.key, s.title, paragraphs=(paragraph(missing[s.key]),)) if s.key in missing else s
        for s in sections
    )


def _has_events(headline: pd.DataFrame) -> bool:
    """Whether the period's headline counts any event."""
    events = _value(headline["events"].iloc[0]) if len(headline) else None
    return events is not None and events > 0


def _shown(*candidates: Table | None) -> tuple[Table, ...]:
    """The tables with rows (the paragraphs say when there is nothing to list)."""
    return tuple(table for table in candidates if table is not None and len(table.frame))


def _value(value: object) -> float | None:
    cell = normalise(value)
    return float(cell) if isinstance(cell, int | float) else None
