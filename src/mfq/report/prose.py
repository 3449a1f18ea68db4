"""The sentences of the report: what each section found, in words, with the numbers
formatted exactly as in its tables. Values from events are :class:`Span` s marked as code,
so each renderer shows (and escapes) them as such."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING

from mfq.analysis.defaults import ANOMALY_MIN_CHANGE as DEFAULT_MIN_CHANGE
from mfq.analysis.defaults import ANOMALY_THRESHOLD as DEFAULT_THRESHOLD
from mfq.render.display import MISSING_TEXT
from mfq.report.format import format_time, format_value, metric_texts, zone_of
from mfq.report.model import ColumnKind, Metric, NoEvents, Paragraph, Span, Table, paragraph
from mfq.report.period import week_name

if TYPE_CHECKING:
    from mfq.report.context import ReportContext

#: Incidents and anomalies named in the highlights; the tables list them all.
HIGHLIGHTED = 3


@dataclass(frozen=True)
class Parts:
    """The tables a report is made of, before they are put into sections."""

    headline: tuple[Metric, ...]
    #: Volume by type, and new/vanished types (None without two periods to compare).
    volume: tuple[Table, Table | None]
    errors: tuple[Table, ...]
    latency: Table
    anomalies: Table
    slo: Table
    incidents: Table
    #: The period's correlate, then one per incident.
    correlate: tuple[Table, ...]
    #: How many errors the period had, and the one before (weighted counts).
    errors_now: float
    errors_before: float
    #: How many types had events this period (the volume table may fold some).
    types_now: int
    #: Which span of the period the data covers, when less than all of it (anomalies
    #: score only the buckets within it).
    observed: str | None = None
    #: Set when the period has no events (matching the filters): nothing was judged.
    no_events: NoEvents | None = None

    def metric(self, key: str) -> Metric:
        """The headline metric ``key``."""
        return next(metric for metric in self.headline if metric.key == key)


def plural(count: int, noun: str) -> str:
    """``1 bucket``, ``2 buckets``."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _count(value: float) -> str:
    return format_value(value, ColumnKind.COUNT)


def _code(text: object) -> Span:
    return Span(str(text), code=True)


def highlights(parts: Parts, context: ReportContext) -> tuple[Paragraph, ...]:
    """The report in a few lines: headline, anomalies, incidents, suspects, new types.
    A period with no events says so, and where the events are, instead of reading as a
    calm one ("no anomalies", "no incidents")."""
    items = [_headline_item(parts)]
    if parts.no_events is not None:
        return (*items, paragraph(*no_events_spans(parts.no_events, context)))
    items.append(_anomaly_item(parts.anomalies, zone_of(context.tz)))
    items.append(_incident_item(parts, zone_of(context.tz)))
    suspects = _suspects_item(parts)
    if suspects is not None:
        items.append(suspects)
    new_types = parts.volume[1]
    if new_types is not None and len(new_types.frame):
        items.append(_new_types_item(new_types))
    return tuple(items)


def no_events_spans(
    empty: NoEvents, context: ReportContext, *, terminal: bool = False
) -> list[str | Span]:
    """What a period with no events says: that nothing was judged, and where the events
    (matching the filters) are, with the ``--week`` that holds the last of them.
    ``terminal``: the one line said on stderr (no sections to point at)."""
    zone = zone_of(context.tz)
    events = "events matching the filters" if empty.filtered else "events"
    judged = (
        "the report judged nothing."
        if terminal
        else "nothing was judged, so the empty anomaly and SLO sections below do not mean "
        "a calm period."
    )
    pieces: list[str | Span] = [f"No {events} in {context.current.label}: {judged}"]
    if empty.first is None or empty.last is None:
        where = (
            "The filters (--where) match no event at any time."
            if empty.filtered
            else "There are no events at all."
        )
        return [*pieces, f" {where}"]
    return [
        *pieces,
        f" The {events} run from {format_time(empty.first, zone)} to "
        f"{format_time(empty.last, zone)} ({context.tz or 'UTC'}); for the week of the last "
        "of them, give ",
        _code(f"--week {week_name(empty.last.astimezone(zone).date())}"),
        ".",
    ]


def no_events_notice(empty: NoEvents, context: ReportContext) -> str:
    """:func:`no_events_spans` as one line for the terminal."""
    spans = no_events_spans(empty, context, terminal=True)
    return "note: " + "".join(piece.text if isinstance(piece, Span) else piece for piece in spans)


def _headline_item(parts: Parts) -> Paragraph:
    texts = {m.key: metric_texts(m) for m in parts.headline}
    pieces: list[str] = []
    labels = {
        "events": "{} events",
        "error_ratio": "error ratio {}",
        "p95_ms": "p95 latency {}",
        "active_actors": "{} active actors",
    }
    for key, label in labels.items():
        now, _before, change = texts[key]
        pieces.append(label.format(now) + (f" ({change})" if change != MISSING_TEXT else ""))
    return paragraph("Against the previous period: " + ", ".join(pieces) + ".")


def _anomaly_item(table: Table, zone: tzinfo) -> Paragraph:
    frame = table.frame
    if not len(frame):
        return paragraph("No anomalies: every bucket is within its expected range.")
    strongest = frame.reindex(frame["score"].abs().sort_values(ascending=False).index)
    count = len(frame)
    lead = "One anomalous bucket: " if count == 1 else f"{count} anomalous buckets; the strongest: "
    parts: list[str | Span] = [lead]
    for index, row in enumerate(strongest.head(HIGHLIGHTED).itertuples(index=False)):
        if index:
            parts.append("; ")
        parts += [
            f"{row.signal} ",
            _code(row.group),
            f" at {format_time(row.time, zone)} ({format_value(row.value, ColumnKind.NUMBER)}"
            f" against {format_value(row.expected, ColumnKind.NUMBER)} expected)",
        ]
    parts.append(".")
    return paragraph(*parts)


def _incident_item(parts: Parts, zone: tzinfo) -> Paragraph:
    incidents = parts.incidents.frame
    if not len(parts.slo.frame):
        return paragraph("No SLO: nothing in these events says which ones are bad (see --bad).")
    overall = parts.slo.frame.iloc[0]
    compliance = format_value(overall["compliance"], ColumnKind.PERCENT)
    target = format_value(overall["target"], ColumnKind.PERCENT)
    if not len(incidents):
        return paragraph(f"No SLO incidents; compliance {compliance} against a target of {target}.")
    mttr = format_value(float(incidents["minutes"].mean()), ColumnKind.MINUTES)
    largest = incidents.sort_values(["bad", "start"], ascending=[False, True], kind="stable")
    lead = (
        f"One SLO incident (MTTR {mttr}): "
        if len(incidents) == 1
        else f"{len(incidents)} SLO incidents (MTTR {mttr}), the largest: "
    )
    pieces: list[str | Span] = [lead]
    for index, row in enumerate(largest.head(HIGHLIGHTED).itertuples(index=False)):
        if index:
            pieces.append("; ")
        minutes = format_value(row.minutes, ColumnKind.MINUTES)
        pieces += [
            _code(row.scope),
            f" from {format_time(row.start, zone)} to {format_time(row.end, zone)} ({minutes})",
        ]
    if len(incidents) > HIGHLIGHTED:
        pieces.append(f"; and {len(incidents) - HIGHLIGHTED} more")
    pieces.append(f". Overall compliance {compliance} against a target of {target}.")
    return paragraph(*pieces)


def _suspects_item(parts: Parts) -> Paragraph | None:
    """What correlate puts first: inside the largest incident, else over the period."""
    for table in (*parts.correlate[1:], parts.correlate[0]):
        explains = table.frame[table.frame["kind"] == "explains"].head(2)
        if not len(explains):
            continue
        where = "over the period" if table is parts.correlate[0] else table.title.lower()
        pieces: list[str | Span] = [f"Correlate ({where}): the errors come with "]
        for index, row in enumerate(explains.itertuples(index=False)):
            if index:
                pieces.append(" and ")
            share = format_value(row.selection_share, ColumnKind.RATIO)
            baseline = format_value(row.baseline_share, ColumnKind.RATIO)
            pieces += [_code(f"{row.field} = {row.value}"), f" ({share} against {baseline})"]
        pieces.append(".")
        return paragraph(*pieces)
    return None


def _new_types_item(table: Table) -> Paragraph:
    frame = table.frame
    pieces: list[str | Span] = []
    for status in ("new", "vanished"):
        names = list(frame.loc[frame["status"] == status, "type"].head(HIGHLIGHTED))
        if not names:
            continue
        pieces.append(("; " if pieces else "") + f"{status} types: ")
        for index, name in enumerate(names):
            pieces += [", " if index else "", _code(name)]
    pieces.append(".")
    first = pieces[0]
    if isinstance(first, str):
        pieces[0] = first[:1].upper() + first[1:]
    return paragraph(*pieces)


def section_paragraphs(
    parts: Parts, context: ReportContext, bad: str, target: float, alerts: tuple[str, ...]
) -> dict[str, tuple[Paragraph, ...]]:
    """The opening paragraphs of each section, by section key."""
    return {
        "volume": _volume(parts, context),
        "errors": _errors(parts, context),
        "latency": _latency(parts),
        "anomalies": _anomalies(parts, context),
        "slo": _slo(parts, bad, target, alerts),
        "correlate": _correlate(parts),
    }


def missing_sentences(context: ReportContext) -> dict[str, str]:
    """Section key → the one sentence that replaces it when the data lacks its fields:
    what is missing, and which option supplies it."""
    missing: dict[str, str] = {}
    if not context.judges_errors:
        field = context.settings.errors_field
        sentence = (
            f"These events have no {field} field, so none counts as an error: give "
            '--bad EXPR (for example --bad "http_status >= 500") to judge them.'
        )
        missing.update(errors=sentence, slo=sentence, correlate=sentence)
    elif not context.breakdowns:
        missing["errors"] = (
            "No field to break the errors down by was found: give --by FIELDS "
            "(for example --by region,version)."
        )
    if not context.has_latency:
        missing["latency"] = (
            f"These events have no {context.settings.latency_field} field: give "
            "--latency FIELD (a duration in milliseconds) for latency percentiles."
        )
    return missing


def _volume(parts: Parts, context: ReportContext) -> tuple[Paragraph, ...]:
    events = parts.metric("events")
    now, before, change = metric_texts(events)
    first = paragraph(
        f"{now} events in {context.current.label}, against {before} in "
        f"{context.previous.label}" + (f" ({change})." if change != MISSING_TEXT else ".")
    )
    new_types = parts.volume[1]
    types_now = parts.types_now
    if new_types is None:
        second = paragraph(
            f"{plural(types_now, 'event type')}; the previous period has no events to compare with."
        )
    else:
        counts = new_types.frame["status"].value_counts()
        second = paragraph(
            f"{plural(types_now, 'event type')} ({int(counts.get('new', 0))} new, "
            f"{int(counts.get('vanished', 0))} vanished)."
        )
    return (first, second)


def _errors(parts: Parts, context: ReportContext) -> tuple[Paragraph, ...]:
    ratio = parts.metric("error_ratio")
    now, before, change = metric_texts(ratio)
    return (
        paragraph(
            "Errors are the events matching ",
            _code(context.errors),
            f": {_count(parts.errors_now)} this period ({now} of events), against "
            f"{_count(parts.errors_before)} ({before}) before"
            + (f", {change}." if change != MISSING_TEXT else "."),
        ),
    )


def _latency(parts: Parts) -> tuple[Paragraph, ...]:
    p95 = parts.metric("p95_ms")
    now, before, change = metric_texts(p95)
    sentences: list[str | Span] = [
        f"p95 latency over all timed events: {now}, against {before} before"
        + (f" ({change})." if change != MISSING_TEXT else ".")
    ]
    frame = parts.latency.frame
    key = parts.latency.columns[0].name
    if len(frame) and frame["p95_ms"].notna().any():
        slowest = frame.sort_values("p95_ms", ascending=False, kind="stable").iloc[0]
        sentences += [
            f" The slowest {key} at p95: ",
            _code(slowest[key]),
            f" ({format_value(slowest['p95_ms'], ColumnKind.DURATION_MS)}).",
        ]
    return (paragraph(*sentences),)


def _anomalies(parts: Parts, context: ReportContext) -> tuple[Paragraph, ...]:
    signals = ", ".join(s.label for s in context.anomaly_signals())
    method = paragraph(
        f"Series per {context.every} bucket ({signals}), each compared with its expected level as ",
        _code("mfq anomalies"),
        " does (daily cycle and day level fitted robustly); a bucket is flagged when its "
        f"score reaches {DEFAULT_THRESHOLD:g} and it is at least "
        f"{DEFAULT_MIN_CHANGE:.0%} away from the expectation.",
    )
    count = len(parts.anomalies.frame)
    if parts.no_events is not None:
        return (method, paragraph(NOT_JUDGED))
    found = (
        paragraph(f"{plural(count, 'bucket')} flagged.")
        if count
        else paragraph("No bucket departs from its expected level.")
    )
    return (method, found)


def _slo(parts: Parts, bad: str, target: float, alerts: tuple[str, ...]) -> tuple[Paragraph, ...]:
    budget = (100.0 - target) / 100.0
    pairs = "; ".join(_alert_text(text, budget) for text in alerts)
    objective = paragraph(
        "Objective: events matching ",
        _code(bad),
        f" are bad; at least {format_value(target, ColumnKind.PERCENT)} should be good. "
        "An incident is a period in which a multiwindow burn-rate alert would have fired "
        f"({pairs}); its start is the first bucket of the burn, its time to detect runs to "
        "the first alert, its time to recover to the burn's last bucket.",
    )
    incidents = parts.incidents.frame
    if parts.no_events is not None:
        return (objective, paragraph(NOT_JUDGED))
    if not len(incidents):
        return (objective, paragraph("No incidents."))
    mttr = format_value(float(incidents["minutes"].mean()), ColumnKind.MINUTES)
    return (objective, paragraph(f"{plural(len(incidents), 'incident')}; MTTR {mttr}."))


#: What a section that judges events says of a period with none.
NOT_JUDGED = "Not judged: the period has no events."


def _alert_text(text: str, budget: float) -> str:
    from mfq.analysis.burn import parse_alert

    alert = parse_alert(text, budget)
    line = format_value(alert.rate * budget, ColumnKind.RATIO)
    long, short = str(alert).split("@")[0].split("/")
    rate = f"{alert.rate:g} times the budget"
    return f"the last {long} and the last {short} both over {line} bad, {rate}"


def _correlate(parts: Parts) -> tuple[Paragraph, ...]:
    method = paragraph(
        _code("mfq correlate"),
        " ranks field values by how much more common they are among the errors than in "
        "the baseline (the period's other events; inside an incident, the scope's events "
        "that did not fail). Values of kind symptom restate the failure rather than "
        "explain it.",
    )
    if any(len(table.frame) for table in parts.correlate):
        return (method,)
    found = "No errors to compare." if parts.errors_now == 0 else "Nothing stands out."
    return (method, paragraph(found))
