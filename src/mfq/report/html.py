"""The report as one self-contained HTML file: styles inline, charts embedded as SVG
``data:`` images, no script and no network fetch; readable on a phone, printable.

The page comes from a jinja2 template (``templates/report.html.j2``) with autoescaping
on: every value reaches it as plain text and is escaped there, so event content can never
become markup. Cell texts come from :mod:`mfq.report.format`, as in the Markdown report.
Without matplotlib the page is rendered without charts and says so where they would be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING

from mfq.render.escape import escape_control
from mfq.report.charts import INSTALL_HINT, charts_available, draw_charts
from mfq.report.format import is_numeric, metric_texts, table_cells, zone_of

if TYPE_CHECKING:
    from mfq.report.model import Metric, Paragraph, Report, Section, Table

#: Headline metrics where a rise is bad news (shown in red) and a fall good news.
RISE_IS_BAD = frozenset({"error_ratio", "p95_ms"})
NO_CHARTS = f"Charts are not shown: matplotlib is not installed ({INSTALL_HINT})."


@dataclass(frozen=True)
class _Span:
    text: str
    code: bool


@dataclass(frozen=True)
class _Cell:
    text: str
    numeric: bool


@dataclass(frozen=True)
class _TableView:
    key: str
    title: str
    header: list[_Cell]
    rows: list[list[_Cell]]
    #: Index of the first OTHER/TOTAL row (len(rows) when there are none).
    totals_from: int
    note: str | None


@dataclass(frozen=True)
class _ChartView:
    key: str
    title: str
    alt: str
    uri: str | None


@dataclass(frozen=True)
class _SectionView:
    key: str
    title: str
    paragraphs: list[list[_Span]]
    items: list[list[_Span]]
    charts: list[_ChartView]
    tables: list[_TableView]
    notes: list[str]


@dataclass(frozen=True)
class _MetricView:
    key: str
    label: str
    value: str
    previous: str
    change: str
    tone: str


def render_html(report: Report, *, charts: bool = True) -> str:
    """The whole report as one HTML document (``charts=False``: no charts, no note)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("mfq.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    zone = zone_of(report.tz)
    available = charts and charts_available()
    uris = draw_charts(report) if available else {}
    where = report.options.get("where")
    return environment.get_template("report.html.j2").render(
        title=escape_control(report.title),
        period=escape_control(report.period.label),
        previous=escape_control(report.previous.label),
        zone=escape_control(report.tz or "UTC"),
        where=[escape_control(str(w)) for w in where] if isinstance(where, list) else [],
        metrics=[_metric(metric, zone) for metric in report.headline],
        sections=[_section(section, zone, uris) for section in report.sections],
        chart_note=NO_CHARTS if charts and not available else None,
        commands=[escape_control(line) for line in report.commands()],
    )


def _metric(metric: Metric, zone: tzinfo) -> _MetricView:
    value, previous, change = metric_texts(metric, zone)
    tone = ""
    moved = metric.change
    if metric.key in RISE_IS_BAD and moved is not None and moved != 0:
        tone = "bad" if moved > 0 else "good"
    return _MetricView(metric.key, metric.label, value, previous, change, tone)


def _spans(paragraph: Paragraph) -> list[_Span]:
    return [_Span(escape_control(span.text), span.code) for span in paragraph]


def _section(section: Section, zone: tzinfo, uris: dict[str, str]) -> _SectionView:
    return _SectionView(
        key=section.key,
        title=escape_control(section.title),
        paragraphs=[_spans(p) for p in section.paragraphs],
        items=[_spans(p) for p in section.items],
        charts=[
            _ChartView(chart.key, chart.title, chart.alt, uris.get(chart.key))
            for chart in section.charts
        ],
        tables=[_table(table, zone) for table in section.tables],
        notes=[escape_control(note) for note in section.notes],
    )


def _table(table: Table, zone: tzinfo) -> _TableView:
    numeric: Sequence[bool] = [is_numeric(column.kind) for column in table.columns]
    header = [
        _Cell(escape_control(column.label), flag)
        for column, flag in zip(table.columns, numeric, strict=True)
    ]
    rows = [
        [_Cell(text, flag) for text, flag in zip(row, numeric, strict=True)]
        for row in table_cells(table, zone)
    ]
    return _TableView(
        key=table.key,
        title=escape_control(table.title),
        header=header,
        rows=rows,
        totals_from=len(rows) - table.totals,
        note=escape_control(table.note) if table.note else None,
    )
