"""The weekly event-pattern report: assembled from the same library calls the commands use
(:mod:`mfq.report.build`), rendered as GitHub Markdown (:mod:`mfq.report.markdown`) or as
one self-contained HTML file with charts (:mod:`mfq.report.html`, :mod:`mfq.report.charts`).

::

    report = mfq.open_store(".mfq").report(week="2026-W47")
    Path("week.html").write_text(render_report(report, ReportFormat.HTML))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mfq.report.model import Report
    from mfq.report.output import ReportFormat, render_report, report_summary
    from mfq.report.questions import SavedQuestion

__all__ = ["Report", "ReportFormat", "SavedQuestion", "render_report", "report_summary"]

# Each name loads its module on first use: the facade (``mfq.api``) reads
# ``mfq.report.settings`` for its defaults, and a query needs nothing else of the report.
_MODULES = {
    "Report": "mfq.report.model",
    "ReportFormat": "mfq.report.output",
    "render_report": "mfq.report.output",
    "report_summary": "mfq.report.output",
    "SavedQuestion": "mfq.report.questions",
}


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
