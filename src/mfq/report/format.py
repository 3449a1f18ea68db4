"""Every value of the report as text, one way for both renderers (so the Markdown and the
HTML report always carry the same numbers). Text from events is made inert here
(control characters shown as escapes); each renderer then escapes for its own syntax."""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from mfq.render.display import MISSING_TEXT, format_duration_ms, format_number
from mfq.render.escape import escape_control
from mfq.render.values import normalise
from mfq.report.model import ColumnKind

if TYPE_CHECKING:
    from mfq.report.model import Metric, Table

#: Kinds whose cells are numbers (right-aligned).
NUMERIC_KINDS = frozenset(kind for kind in ColumnKind if kind is not ColumnKind.TEXT) - {
    ColumnKind.TIME
}
NEW_TEXT = "new"


def zone_of(name: str | None) -> tzinfo:
    """The zone called ``name`` (None or ``UTC``: UTC); the name was checked before."""
    if name is None or name.upper() in {"UTC", "Z"}:
        return UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def format_time(value: object, zone: tzinfo) -> str:
    """An instant in ``zone``: ``2026-11-19 14:00`` (seconds only when there are some)."""
    cell = normalise(value)
    if not isinstance(cell, datetime):
        return MISSING_TEXT if cell is None else escape_control(str(cell))
    local = cell.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")


def format_value(value: object, kind: ColumnKind, zone: tzinfo = UTC) -> str:
    """``value`` as a cell of a column of ``kind``; missing values read ``—``."""
    if kind is ColumnKind.TIME:
        return format_time(value, zone)
    cell = normalise(value)
    if cell is None:
        return MISSING_TEXT
    if kind is ColumnKind.TEXT or isinstance(cell, str) or not isinstance(cell, int | float):
        return escape_control(str(cell))
    number = float(cell)
    if kind is ColumnKind.CHANGE:
        return NEW_TEXT if math.isinf(number) else f"{number * 100:+,.1f}%"
    if kind is ColumnKind.CHANGE_PP:
        return f"{number * 100:+.2f} pp"
    if kind is ColumnKind.RATIO:
        return f"{number * 100:,.2f}%"
    if kind is ColumnKind.PERCENT:
        return f"{number:,.3f}%"
    if kind is ColumnKind.DURATION_MS:
        return format_duration_ms(number)
    if kind is ColumnKind.MINUTES:
        return format_duration_ms(number * 60_000)
    if kind is ColumnKind.COUNT and number.is_integer():
        return format_number(int(number))
    return format_number(round(number, 3) if abs(number) < 1e15 else number)


def table_cells(table: Table, zone: tzinfo) -> list[list[str]]:
    """Every shown cell of ``table`` as text, row by row."""
    kinds = [column.kind for column in table.columns]
    return [
        [format_value(value, kind, zone) for value, kind in zip(row, kinds, strict=True)]
        for row in table.values()
    ]


def metric_texts(metric: Metric, zone: tzinfo = UTC) -> tuple[str, str, str]:
    """A headline metric's value, previous value and change as text."""
    return (
        format_value(metric.current, metric.kind, zone),
        format_value(metric.previous, metric.kind, zone),
        format_value(metric.change, metric.change_kind, zone),
    )


def is_numeric(kind: ColumnKind) -> bool:
    """True for columns of numbers (right-aligned)."""
    return kind in NUMERIC_KINDS
