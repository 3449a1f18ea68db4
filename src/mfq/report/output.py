"""The report's output formats, and the short summary a terminal shows after writing one."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from mfq.report.format import format_value, metric_texts, zone_of
from mfq.report.model import ColumnKind

if TYPE_CHECKING:
    from mfq.report.model import Report


class ReportFormat(StrEnum):
    """The ``mfq report --format`` choices."""

    MARKDOWN = "markdown"
    HTML = "html"


def render_report(report: Report, fmt: ReportFormat) -> str:
    """``report`` as a Markdown or an HTML document."""
    if ReportFormat(fmt) is ReportFormat.HTML:
        from mfq.report.html import render_html

        return render_html(report)
    from mfq.report.markdown import render_markdown

    return render_markdown(report)


def report_summary(report: Report) -> dict[str, object]:
    """The headline numbers and findings in a few fields (value, then the change)."""
    zone = zone_of(report.tz)
    summary: dict[str, object] = {"period": report.period.label}
    for metric in report.headline:
        value, _previous, change = metric_texts(metric, zone)
        summary[metric.label.lower()] = f"{value} (change: {change})"
    if report.no_events is not None:
        # Zero would read as a calm period; nothing was there to judge.
        summary["anomalies"] = summary["slo incidents"] = "not judged (no events)"
        return summary
    anomalies = report.section("anomalies").tables
    summary["anomalies"] = sum(len(table.frame) for table in anomalies)
    incidents = next((t.frame for t in report.section("slo").tables if t.key == "incidents"), None)
    if incidents is None or not len(incidents):
        summary["slo incidents"] = 0
    else:
        mttr = format_value(float(incidents["minutes"].mean()), ColumnKind.MINUTES)
        summary["slo incidents"] = f"{len(incidents)} (MTTR {mttr})"
    return summary
