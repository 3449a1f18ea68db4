"""The analyses' documented defaults, apart from the analyses themselves.

The facade's signatures (``Store.anomalies(threshold=...)``), the report's settings and
``mfq slo``'s options show these values; importing them from here keeps a query, which
runs no analysis, from loading the analyses (their modules, dataclasses and what they
import) only to read a few constants. Each analysis reads its defaults from here too.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ANOMALY_MIN_CHANGE",
    "ANOMALY_THRESHOLD",
    "BURN_ALERTS",
    "SLO_DEFAULTS",
    "TIMELINE_GAP",
    "SloDefaults",
]

#: ``anomalies``: the robust z-score a bucket must reach to be flagged ...
ANOMALY_THRESHOLD = 4.5
#: ... and how far (relative) it must be from the expectation.
ANOMALY_MIN_CHANGE = 0.25

#: ``timeline``: consecutive like events closer than this collapse into one row.
TIMELINE_GAP = "1m"

#: Burn-rate alerts: the SRE workbook's page-worthy pairs.
BURN_ALERTS = ("1h/5m@14.4", "6h/30m@6")


@dataclass(frozen=True)
class SloDefaults:
    """The documented defaults of ``mfq slo`` (docs/guide.md, "Service level objectives")."""

    #: Percentage of events that should be good.
    target: float = 99.5
    #: How far back the objective looks from the window's end.
    window: str = "28d"
    #: Bucket width of the alert windows (the shortest window's resolution).
    every: str = "5m"
    #: The alerts, ``LONG/SHORT@RATE``: the SRE workbook's two page-worthy pairs.
    alerts: tuple[str, ...] = BURN_ALERTS
    #: Two-sided confidence of the Wilson interval whose lower end must clear the line
    #: (0.95: the long window is over the line with 97.5% confidence).
    confidence: float = 0.95
    #: More buckets than this is a mistake (``--every 1s`` over 28 days), not a question.
    max_buckets: int = 1_000_000


SLO_DEFAULTS = SloDefaults()
