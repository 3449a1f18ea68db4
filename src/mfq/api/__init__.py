"""The public Python API: ``open_store(...)``, the ``Store`` users hold, the ``Selection``
every question takes and the request of each question.

The top of the library: it sits above analysis and report; the command line is its only
caller inside mfq. ``import mfq`` loads this package only when one of its names is first
used (see ``mfq/__init__.py``), and an analysis's request type loads its analysis only
when that name is first used here (a query needs no analysis).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from mfq.api.store import Store, open_store
from mfq.query.requests import EventsRequest, QueryRequest, Request, TimeseriesRequest
from mfq.query.selection import EVERYTHING, Selection
from mfq.store.store import IngestProgress, IngestSummary

if TYPE_CHECKING:
    from mfq.analysis.anomalies import AnomaliesRequest
    from mfq.analysis.changes import ChangesRequest
    from mfq.analysis.check import CheckRequest
    from mfq.analysis.correlate import CorrelateRequest
    from mfq.analysis.funnel import FunnelRequest
    from mfq.analysis.paths import PathsRequest
    from mfq.analysis.patterns import PatternsRequest
    from mfq.analysis.sessions import SessionsRequest
    from mfq.analysis.slo import SloRequest
    from mfq.analysis.timeline import TimelineRequest
    from mfq.analysis.trace import TraceRequest
    from mfq.report.build import ReportRequest

#: Each analysis's request, by the module that defines it beside the analysis.
_REQUESTS = {
    "AnomaliesRequest": "mfq.analysis.anomalies",
    "ChangesRequest": "mfq.analysis.changes",
    "CheckRequest": "mfq.analysis.check",
    "CorrelateRequest": "mfq.analysis.correlate",
    "FunnelRequest": "mfq.analysis.funnel",
    "PathsRequest": "mfq.analysis.paths",
    "PatternsRequest": "mfq.analysis.patterns",
    "SessionsRequest": "mfq.analysis.sessions",
    "SloRequest": "mfq.analysis.slo",
    "TimelineRequest": "mfq.analysis.timeline",
    "TraceRequest": "mfq.analysis.trace",
    "ReportRequest": "mfq.report.build",
}

__all__ = [
    "EVERYTHING",
    "AnomaliesRequest",
    "ChangesRequest",
    "CheckRequest",
    "CorrelateRequest",
    "EventsRequest",
    "FunnelRequest",
    "IngestProgress",
    "IngestSummary",
    "PathsRequest",
    "PatternsRequest",
    "QueryRequest",
    "ReportRequest",
    "Request",
    "Selection",
    "SessionsRequest",
    "SloRequest",
    "Store",
    "TimelineRequest",
    "TimeseriesRequest",
    "TraceRequest",
    "open_store",
]


def __getattr__(name: str) -> object:
    # PEP 562: ``mfq.api.SloRequest`` loads the SLO analysis only when someone asks for it.
    if name in _REQUESTS:
        value: object = getattr(import_module(_REQUESTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_REQUESTS))
