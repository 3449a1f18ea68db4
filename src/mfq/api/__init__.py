"""The public Python API: ``open_store(...)``, the ``Store`` users hold, the ``Selection``
every question takes and the request of each question.

The top of the library: it sits above analysis and report and imports them at module
level; the command line is its only caller inside mfq. ``import mfq`` loads this package
only when one of its names is first used (see ``mfq/__init__.py``).
"""

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
from mfq.api.store import Store, open_store
from mfq.query.requests import (
    EVERYTHING,
    EventsRequest,
    QueryRequest,
    Request,
    Selection,
    TimeseriesRequest,
)
from mfq.report.build import ReportRequest
from mfq.store.store import IngestProgress, IngestSummary

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
