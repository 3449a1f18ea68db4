"""The weekly event-pattern report: assembled from the same library calls the commands use
(:mod:`mfq.report.build`), rendered as GitHub Markdown (:mod:`mfq.report.markdown`) or as
one self-contained HTML file with charts (:mod:`mfq.report.html`, :mod:`mfq.report.charts`).

::

    report = mfq.open_store(".mfq").report(week="2026-W47")
    Path("week.html").write_text(render_report(report, ReportFormat.HTML))
"""

from mfq.report.model import Report
from mfq.report.output import ReportFormat, render_report, report_summary
from mfq.report.questions import SavedQuestion

__all__ = ["Report", "ReportFormat", "SavedQuestion", "render_report", "report_summary"]
