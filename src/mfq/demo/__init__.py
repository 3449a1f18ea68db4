"""Realistic sample exports of Tallyfy Manufactory events, with a planted incident.

Used by ``mfq demo``, by tests (which need exact ground truth) and by benchmarks::

    from mfq.demo import DemoConfig, write_export
    truth = write_export(Path("sample.ndjson.gz"), DemoConfig(events=100_000))
    truth.incident.affected.error_ratio   # the failing slice, inside the window
"""

from __future__ import annotations

from mfq.demo.config import DemoConfig, IncidentSpec, JourneySpec
from mfq.demo.generator import (
    ByteSink,
    generate_records,
    generate_trace_example,
    write_export,
    write_ndjson,
)
from mfq.demo.truth import DemoTruth, IncidentTruth, JourneyTruth, SliceCounts, SpanTruth

__all__ = [
    "ByteSink",
    "DemoConfig",
    "DemoTruth",
    "IncidentSpec",
    "IncidentTruth",
    "JourneySpec",
    "JourneyTruth",
    "SliceCounts",
    "SpanTruth",
    "generate_records",
    "generate_trace_example",
    "write_export",
    "write_ndjson",
]
