"""The report's tunable defaults, in one place (docs/report.md lists them)."""

from __future__ import annotations

from dataclasses import dataclass

from mfq.analysis.defaults import SLO_DEFAULTS


@dataclass(frozen=True)
class AnomalySignal:
    """One series family ``mfq anomalies`` is asked about: events (or only errors) per
    bucket, one series per value of ``by``."""

    label: str
    by: str
    errors_only: bool


@dataclass(frozen=True)
class ReportSettings:
    """Defaults of ``mfq report``; pass a modified copy to ``build_report(settings=...)``."""

    #: Which events are bad (``--bad``, also ``--errors``) when the data has a ``status``
    #: field: the error ratio, breakdowns, anomalies and correlate use it, and the SLO
    #: counts them as bad unless ``--slo-bad`` says otherwise.
    errors: str = "status = 'error'"
    #: The field ``errors`` needs; without it there are no bad events unless ``--bad``.
    errors_field: str = "status"
    #: The SLO target in percent (``--target``), as ``mfq slo``'s default.
    slo_target: float = SLO_DEFAULTS.target
    #: The SLO's burn-rate alerts (``--slo-alert``), as ``mfq slo``'s default.
    slo_alerts: tuple[str, ...] = SLO_DEFAULTS.alerts
    #: One objective per value of this field besides the overall one (``--slo-by``);
    #: without it in the data, the first breakdown field.
    slo_by: str = "service"
    #: SLO buckets: the narrowest of 5m, 15m, 1h, 6h, 1d giving at most this many.
    max_slo_buckets: int = 20_000
    #: Most per-value objectives (the largest values by events).
    max_slo_scopes: int = 12
    #: The field whose distinct values count as active actors.
    actor_field: str = "actor_profile_id"
    #: The latency field (milliseconds).
    latency_field: str = "duration_ms"
    #: Error breakdowns (``--by``): one table per tuple of fields present in the data; when
    #: none is, the ``fallback_breakdowns`` most useful low-cardinality fields, one each.
    breakdowns: tuple[tuple[str, ...], ...] = (("service",), ("service", "version"), ("region",))
    fallback_breakdowns: int = 2
    #: A fallback breakdown field has from 2 to this many distinct values ...
    max_breakdown_values: int = 50
    #: ... and at least this many events per value on average.
    min_events_per_value: int = 4
    #: Rows of each breakdown table.
    breakdown_rows: int = 10
    #: Rows of the volume-by-type table (the rest is folded into one OTHER row).
    type_rows: int = 15
    #: Rows of the new/vanished types table.
    new_type_rows: int = 10
    #: The anomaly signals asked about.
    anomaly_signals: tuple[AnomalySignal, ...] = (
        AnomalySignal("errors by service", "service", errors_only=True),
        AnomalySignal("errors by region", "region", errors_only=True),
        AnomalySignal("events by service", "service", errors_only=False),
    )
    #: Flagged buckets listed (the strongest, then shown in time order).
    anomaly_rows: int = 20
    #: Values listed per ``correlate`` table.
    correlate_rows: int = 10
    #: Incidents whose errors get their own ``correlate`` (the largest, not overlapping).
    incident_correlations: int = 2
    #: Chart and anomaly buckets: the narrowest width giving at most this many buckets.
    max_buckets: int = 200
    #: The journey key of the "Journeys" section (None: the first standard key present,
    #: ``correlation_id``, ``order_id``, ``session_id``, ``user_id``).
    journey_key: str | None = None
    #: An operation open this long before the period's last event is stuck.
    journey_stuck_after: str = "12h"
    #: Stuck operations listed.
    journey_stuck_rows: int = 10


DEFAULT_REPORT_SETTINGS = ReportSettings()
