"""Human-readable text for one cell, shared by the table and Markdown renderers.

Numbers get thousands separators and a bounded number of significant digits, ``*_ms``
columns read as durations, timestamps are shown in the display timezone, and every piece
of text from data is made inert with :func:`~mfq.render.escape.escape_control`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from mfq.render.escape import escape_control
from mfq.render.result import Record, Rows
from mfq.render.values import json_text, normalise, subsecond_timespec

MISSING_TEXT = "—"
"""What a missing value (None, NaN, NA, NaT) looks like in a table or Markdown cell."""

SIGNIFICANT_DIGITS = 6
"""Significant digits shown for floats (0.999123, 12,345.7, 1,234,568)."""

_DURATION_DIGITS = 3  # sub-second durations: 850 ms, 12.3 ms, 0.25 ms
_DURATION_MAX_DECIMALS = 6  # nanoseconds; anything finer shows as 0 ms


@dataclass(frozen=True)
class DisplayCell:
    """A cell's display text and what kind of value it shows.

    ``numeric`` cells are right-aligned; ``compact`` ones (numbers, booleans, times) are
    short and lose their meaning when cut, so a table narrows text columns first.
    """

    text: str
    numeric: bool = False
    compact: bool = False
    missing: bool = False


# Identifiers and ports: ``id``, ``flow_id``, ``actor.id``, ``EventID``, ``ProcessId``,
# ``src_port``, ``id.orig_p`` (Zeek's connection tuple), ``pid``, ``uid``.
_IDENTIFIER_NAME = re.compile(
    r"(^|[._])(?i:id|ids|pid|ppid|tid|uid|gid|port|sport|dport)$"
    r"|(^|[._])id[._]"
    r"|[a-z0-9](Id|ID|Port)$"
    r"|_(id|port)$",
)


def is_identifier_field(field: str) -> bool:
    """Fields whose integers are names, not quantities: shown without thousands separators,
    so they can be pasted back into ``--where``."""
    return bool(_IDENTIFIER_NAME.search(field))


def is_duration_field(field: str) -> bool:
    """Columns holding milliseconds (``duration_ms``, ``offset_ms``, ``p95_ms``)."""
    return field.endswith("_ms")


def _decimals_for(value: float, digits: int) -> int:
    if value == 0:
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def _fixed(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_number(value: int | float) -> str:
    """``1,234,567``; floats to :data:`SIGNIFICANT_DIGITS`, trailing zeros dropped."""
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)  # inf, -inf (NaN never gets here: it is missing)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-4 or magnitude >= 1e15):
        return f"{value:.{SIGNIFICANT_DIGITS}g}"
    return _fixed(value, _decimals_for(value, SIGNIFICANT_DIGITS))


def format_duration_ms(value: int | float) -> str:
    """Milliseconds as ``850 ms``, ``1.25 s``, ``2m 05s``, ``1h 02m``, ``3d 04h``."""
    if not math.isfinite(value):
        return str(value)
    sign = "-" if value < 0 else ""
    ms = abs(value)
    decimals = min(_decimals_for(ms, _DURATION_DIGITS), _DURATION_MAX_DECIMALS)
    if round(ms, decimals) < 1000:
        return f"{sign}{_fixed(ms, decimals)} ms"
    seconds = ms / 1000
    if round(seconds, 2) < 60:
        return f"{sign}{seconds:.2f} s"
    whole = round(seconds)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {secs:02d}s"


def format_local_time(moment: datetime, tz: tzinfo) -> str:
    """``2026-11-03 10:00:00`` in ``tz``, plus the offset (``+01:00``) when it is not zero."""
    local = moment.astimezone(tz)
    timespec = subsecond_timespec(local)
    if not local.utcoffset():
        return local.replace(tzinfo=None).isoformat(sep=" ", timespec=timespec)
    return local.isoformat(sep=" ", timespec=timespec)


#: An estimated count as ``mfq schema`` writes it.
_ESTIMATE = re.compile(r"~[0-9]+")


def display_cell(value: object, field: str, tz: tzinfo, *, identifier: bool = False) -> DisplayCell:
    """The display text of ``value`` in column (or field) ``field``, times shown in ``tz``;
    an ``identifier`` column's integers (and those of fields named like one) as written."""
    cell = normalise(value)
    if cell is None:
        return DisplayCell(MISSING_TEXT, compact=True, missing=True)
    if isinstance(cell, bool):
        return DisplayCell("true" if cell else "false", compact=True)
    if isinstance(cell, int) and (identifier or is_identifier_field(field)):
        return DisplayCell(str(cell), numeric=True, compact=True)
    if isinstance(cell, int | float):
        formatter = format_duration_ms if is_duration_field(field) else format_number
        return DisplayCell(formatter(cell), numeric=True, compact=True)
    if isinstance(cell, str) and field == "distinct" and _ESTIMATE.fullmatch(cell):
        # ``mfq schema``'s estimated distinct counts (``~51394``): a number all the same.
        return DisplayCell("~" + format_number(int(cell[1:])), numeric=True, compact=True)
    if isinstance(cell, str):
        return DisplayCell(escape_control(cell))
    if isinstance(cell, datetime):
        return DisplayCell(format_local_time(cell, tz), compact=True)
    if isinstance(cell, date):
        return DisplayCell(cell.isoformat(), compact=True)
    if isinstance(cell, list) and all(isinstance(item, str) for item in cell):
        # A list of labels (schema's top values) reads best as plain text.
        return DisplayCell(escape_control(", ".join(str(item) for item in cell)))
    return DisplayCell(escape_control(json_text(cell, compact=False)))


def is_numeric_column(cells: Iterable[DisplayCell]) -> bool:
    """A column is right-aligned when it holds numbers and nothing else but missing values."""
    present = [cell for cell in cells if not cell.missing]
    return bool(present) and all(cell.numeric for cell in present)


def is_compact_column(cells: Iterable[DisplayCell]) -> bool:
    """A column of compact values only (numbers, booleans, times), which is never cut first."""
    return all(cell.compact for cell in cells)


def display_rows(
    rows: Rows, tz: tzinfo, identifiers: frozenset[str] = frozenset()
) -> list[list[DisplayCell]]:
    """Every row's display cells, each formatted for its column (``identifiers``: integer
    columns shown without separators)."""
    marks = [column in identifiers for column in rows.columns]
    return [
        [
            display_cell(value, column, tz, identifier=mark)
            for column, value, mark in zip(rows.columns, row, marks, strict=True)
        ]
        for row in rows
    ]


RECORD_HEADER = ("field", "value")
"""The header of a single object shown as a two-column table."""


def display_record(record: Record, tz: tzinfo) -> list[list[DisplayCell]]:
    """A single object as ``field``/``value`` rows, each value formatted for its field."""
    return [
        [DisplayCell(escape_control(str(field))), display_cell(value, str(field), tz)]
        for field, value in record.fields.items()
    ]
