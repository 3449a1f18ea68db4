"""The report as plain data: a period, headline metrics, sections of tables, the series the
charts draw, and every library call that produced them.

``build_report`` returns a :class:`Report`; the Markdown and HTML renderers only read it.
Tables keep their numbers as DataFrames (machine column names) and say how each column is
shown (:class:`ColumnKind`), so both renderers format every cell the same way.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


class ColumnKind(StrEnum):
    """How a column's values read: the renderers format each kind one way."""

    TEXT = "text"
    #: A (weighted) event count: ``1,234``.
    COUNT = "count"
    #: A share in 0..1, shown as a percentage: ``1.23%``.
    RATIO = "ratio"
    #: A value already in percent (SLO targets and compliance): ``99.512%``.
    PERCENT = "percent"
    #: Milliseconds: ``85.3 ms``, ``1.25 s``.
    DURATION_MS = "duration_ms"
    #: Minutes (time to recover): ``1h 30m``.
    MINUTES = "minutes"
    #: An instant, shown in the report's time zone.
    TIME = "time"
    #: A relative change (0.1 = +10%); ``inf`` reads ``new`` (nothing before).
    CHANGE = "change"
    #: A change of a ratio, in percentage points (0.001 = +0.10 pp).
    CHANGE_PP = "change_pp"
    #: A plain number (scores, expected values).
    NUMBER = "number"


@dataclass(frozen=True)
class Column:
    """One column of a :class:`Table`: the frame's column, its header and its kind."""

    name: str
    label: str
    kind: ColumnKind = ColumnKind.TEXT


@dataclass(frozen=True)
class Table:
    """A titled table: ``frame`` holds the values, ``columns`` which ones are shown and how."""

    key: str
    title: str
    columns: tuple[Column, ...]
    frame: pd.DataFrame
    #: Said under the table (what was cut, what a column means).
    note: str | None = None
    #: How many of the last rows are OTHER/TOTAL rows rather than values.
    totals: int = 0

    def values(self) -> list[list[object]]:
        """The shown columns' raw values, row by row."""
        names = [column.name for column in self.columns]
        return [list(row) for row in self.frame[names].itertuples(index=False, name=None)]

    def column(self, name: str) -> list[object]:
        """One column's raw values (for tests and API users)."""
        return list(self.frame[name])


@dataclass(frozen=True)
class Span:
    """A run of text in a paragraph; ``code`` text is an expression or a value from data."""

    text: str
    code: bool = False


Paragraph = tuple[Span, ...]


def paragraph(*parts: str | Span) -> Paragraph:
    """A paragraph from plain strings and :class:`Span` s."""
    return tuple(part if isinstance(part, Span) else Span(part) for part in parts)


@dataclass(frozen=True)
class Chart:
    """A chart the HTML report draws from the report's data (``mfq.report.charts``)."""

    key: str
    title: str
    #: Text alternative: what the chart shows, for screen readers and failed images.
    alt: str


@dataclass(frozen=True)
class Section:
    """One part of the report: a title, paragraphs, charts, tables and notes."""

    key: str
    title: str
    paragraphs: tuple[Paragraph, ...] = ()
    #: A bulleted list (the highlights).
    items: tuple[Paragraph, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()

    def table(self, key: str) -> Table:
        """The table called ``key`` (KeyError when the section has none)."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


@dataclass(frozen=True)
class Metric:
    """A headline number this period and the one before, and how it changed."""

    key: str
    label: str
    kind: ColumnKind
    current: float | None
    previous: float | None
    #: How the change reads: relative (:attr:`ColumnKind.CHANGE`) or in points.
    change_kind: ColumnKind = ColumnKind.CHANGE

    @property
    def change(self) -> float | None:
        """Relative change (``inf`` when the previous value is 0), or the difference in
        points for ratios; None when either side is missing."""
        return change(self.current, self.previous, self.change_kind)


def change(current: float | None, previous: float | None, kind: ColumnKind) -> float | None:
    """The change from ``previous`` to ``current`` as :class:`ColumnKind` ``kind`` shows it."""
    if current is None or previous is None or math.isnan(current) or math.isnan(previous):
        return None
    if kind is ColumnKind.CHANGE_PP:
        return current - previous
    if previous == 0:
        return None if current == 0 else float("inf")
    return (current - previous) / previous


@dataclass(frozen=True)
class Period:
    """A time range ``[start, end)`` (aware UTC) and how the report names it."""

    start: datetime
    end: datetime
    #: How the report names the period and describes it: ``2026-W47`` and
    #: ``2026-W47 (2026-11-16 to 2026-11-22)``; a range is named by its ends.
    label: str
    name: str = ""

    @property
    def since(self) -> str:
        """``start`` as the ``--since`` text of the commands that reproduce the report."""
        return _iso(self.start)

    @property
    def until(self) -> str:
        """``end`` as ``--until`` text."""
        return _iso(self.end)


def _iso(moment: datetime) -> str:
    from mfq.query.expr.text import time_text

    return time_text(moment)


@dataclass(frozen=True)
class ReportQuery:
    """One library call the report made: the ``Store`` method, the CLI command that asks
    the same question, and the keyword options given (exactly as passed)."""

    section: str
    method: str
    command: str
    options: Mapping[str, object]

    def command_line(self) -> str:
        """The ``mfq`` command that answers the same question (for the report's appendix)."""
        words = ["mfq", self.command]
        for name, value in self.options.items():
            words.extend(_option_words(name, value))
        return " ".join(words)


# Options whose CLI spelling differs from the keyword, or that the CLI does not take.
_CLI_NAMES = {
    "group_by": "--group-by",
    "aggs": "--agg",
    "order_by": "--order-by",
    "alerts": "--alert",
}


def _option_words(name: str, value: object) -> list[str]:
    flag = _CLI_NAMES.get(name, "--" + name.replace("_", "-"))
    if value is None or value is False or value in ([], ()):
        return []
    if value is True:
        return [flag]
    if isinstance(value, list | tuple):
        return [word for item in value for word in (flag, _quote(str(item)))]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # --target 99, not 99.0
    return [flag, _quote(str(value))]


def _quote(word: str) -> str:
    """Shell quoting that keeps expressions readable: double quotes where they are safe."""
    if word and all(c.isalnum() or c in "-_.:/,+" for c in word):
        return word
    if not any(c in word for c in '"$`\\!\n'):
        return f'"{word}"'
    return shlex.quote(word)


@dataclass(frozen=True)
class SeriesData:
    """What the charts draw besides tables: events and errors per bucket in both periods."""

    every: str
    current: pd.DataFrame
    previous: pd.DataFrame


@dataclass(frozen=True)
class NoEvents:
    """A period with no events (matching the filters): where the events are instead, so
    the report can say so rather than read as a calm period."""

    #: The first and last event time matching the filters at any time (None: none at all).
    first: datetime | None
    last: datetime | None
    #: Whether the report had filters (``--where``): the events meant are the matching ones.
    filtered: bool


@dataclass(frozen=True)
class Report:
    """A period's event-pattern report: everything the renderers show, as data."""

    title: str
    period: Period
    previous: Period
    #: The IANA zone times are shown in (None: UTC).
    tz: str | None
    #: The report's own options, resolved (period, filters, expressions, SLO).
    options: Mapping[str, object]
    headline: tuple[Metric, ...]
    sections: tuple[Section, ...]
    series: SeriesData
    queries: tuple[ReportQuery, ...] = field(default=())
    #: Set when the period has no events: what the report says instead of judging them.
    no_events: NoEvents | None = None
    #: One line for the terminal when the report has nothing to judge (None: it has).
    notice: str | None = None

    def section(self, key: str) -> Section:
        """The section called ``key`` (KeyError when the report has none)."""
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def metric(self, key: str) -> Metric:
        """The headline metric called ``key``."""
        for metric in self.headline:
            if metric.key == key:
                return metric
        raise KeyError(key)

    def commands(self) -> Sequence[str]:
        """Every query as the ``mfq`` command that reproduces it."""
        return [query.command_line() for query in self.queries]
