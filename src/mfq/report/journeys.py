"""The report's "Journeys" section: operations by a journey key, this period and the last.

The key is ``ReportSettings.journey_key`` when set, else the first standard key the store
has (``correlation_id``, ``order_id``, ``session_id``, ``user_id``, see
:data:`mfq.analysis.journeys.STANDARD_KEYS`); without one the report has no such section.
Operations are cut as ``mfq sessions --by KEY`` cuts them by default (ends inferred);
an operation is stuck when it is open ``ReportSettings.journey_stuck_after`` before the
period's last event. The section holds a table of operations, completion rate, median
and p95 duration and stuck operations against the previous period, and the stuck ones.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mfq.analysis.journeys import STANDARD_KEYS
from mfq.analysis.sessions import SessionsRequest, sessions
from mfq.report.context import Call, ReportContext
from mfq.report.model import Column, ColumnKind, Section, Span, Table, change, paragraph

if TYPE_CHECKING:
    import pandas as pd

SECTION = "journeys"


def journey_key(context: ReportContext) -> str | None:
    """The configured key, else the first standard key the store has."""
    configured = context.settings.journey_key
    if configured:
        return configured if context.has_field(configured) else None
    return next((key for key in STANDARD_KEYS if context.has_field(key)), None)


def journeys_section(context: ReportContext) -> Section | None:
    """The section, or None when the data has no journey key."""
    key = journey_key(context)
    if key is None:
        return None
    stuck_after = context.settings.journey_stuck_after
    calls = [
        Call(
            SECTION,
            sessions,
            SessionsRequest(
                # Operations count stored events: no weighting to list.
                selection=replace(context.selection(period), unweighted=False),
                by=key,
                open_longer_than=stuck_after,
            ),
        )
        for period in (context.current, context.previous)
    ]
    current, previous = context.run(calls)
    now, before = current.summary, previous.summary
    if not now["operations"]:
        return None
    summary = _summary_table(now, before)
    stuck = _stuck_table(current, key, context.settings.journey_stuck_rows)
    text = paragraph(
        "Operations by ",
        Span(key, code=True),
        f": {now['operations']:,}, {now['completion_rate']:.1%} completed, "
        f"{now['stuck']:,} open for more than {stuck_after} (stuck). "
        "Ends are inferred from the types that end their key's events, as ",
        Span(f"mfq sessions --by {key}", code=True),
        " does.",
    )
    tables = (summary, stuck) if len(stuck.frame) else (summary,)
    return Section(SECTION, "Journeys", paragraphs=(text,), tables=tables)


_ROWS = (
    ("operations", "operations", ColumnKind.COUNT),
    ("completion_rate", "completion rate", ColumnKind.RATIO),
    ("p50_ms", "median duration", ColumnKind.DURATION_MS),
    ("p95_ms", "p95 duration", ColumnKind.DURATION_MS),
    ("stuck", "stuck", ColumnKind.COUNT),
)


def _summary_table(now: dict[str, object], before: dict[str, object]) -> Table:
    import pandas as pd

    records = []
    for name, label, kind in _ROWS:
        current, previous = _number(now.get(name)), _number(before.get(name))
        records.append(
            {
                "metric": label,
                "this period": _shown(current, kind),
                "previous": _shown(previous, kind),
                "change": change(current, previous, ColumnKind.CHANGE),
            }
        )
    frame = pd.DataFrame.from_records(records)
    columns = (
        Column("metric", "metric"),
        Column("this period", "this period"),
        Column("previous", "previous"),
        Column("change", "change", ColumnKind.CHANGE),
    )
    return Table("journeys", "Operations against the previous period", columns, frame)


def _stuck_table(frame: pd.DataFrame, key: str, rows: int) -> Table:
    shown = frame.head(rows)[[key, "start", "duration_ms", "events", "last_type"]]
    columns = (
        Column(key, key),
        Column("start", "start", ColumnKind.TIME),
        Column("duration_ms", "lasted so far", ColumnKind.DURATION_MS),
        Column("events", "events", ColumnKind.COUNT),
        Column("last_type", "last event"),
    )
    note = f"{len(frame) - rows:,} more stuck" if len(frame) > rows else None
    return Table("journeys_stuck", "Stuck operations", columns, shown, note=note)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _shown(value: float | None, kind: ColumnKind) -> str:
    from mfq.render.display import format_duration_ms

    if value is None:
        return "—"
    if kind is ColumnKind.RATIO:
        return f"{value:.1%}"
    if kind is ColumnKind.DURATION_MS:
        return format_duration_ms(value)
    return f"{int(value):,}"
