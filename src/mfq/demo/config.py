"""What a demo export contains: its size, time range, seed and the incident planted in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mfq.demo.catalog import REGIONS, SERVICES


@dataclass(frozen=True)
class IncidentSpec:
    """An incident to plant: one version of one service fails in one region for a while.

    Within ``[start, start + duration)`` the events of ``service`` at ``version`` in
    ``region`` fail with probability ``error_rate`` and take ``latency_factor`` times
    longer. Everything else, including other versions and regions of the same service in
    the same window, keeps the base error rate. The version runs on half of the region's
    traffic from an hour before the window until an hour after it, and in one other
    region, healthily, from a day before; so only version and region together explain
    the failures.
    """

    service: str = "checkout"
    version: str = "2.4.1"
    region: str = "eu-west-1"
    start: datetime = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)
    duration: timedelta = timedelta(minutes=90)
    #: Share of the affected events that fail inside the window.
    error_rate: float = 0.6
    latency_factor: float = 4.0
    #: Traffic of ``service`` in ``region`` during the window relative to normal: the
    #: flash sale that set the incident off. It reaches every version there alike.
    load_factor: float = 3.0

    @property
    def end(self) -> datetime:
        """The end of the incident window (exclusive)."""
        return self.start + self.duration

    @classmethod
    def within(cls, start: datetime, days: int, **changes: Any) -> IncidentSpec:
        """The default incident moved into the range ``[start, start + days)``.

        It starts at 14:00 UTC on the range's fourth day (a Thursday for a range starting
        on a Monday), or, in a range of fewer than four days, at the whole hour nearest
        the range's middle. ``changes`` override other fields.
        """
        first_day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        if days >= 4:
            moment = first_day + timedelta(days=3, hours=14)
        else:
            middle = start + timedelta(days=days) / 2
            moment = middle.replace(minute=0, second=0, microsecond=0)
        return cls(**{"start": moment, **changes})

    def validate(self, start: datetime, end: datetime) -> None:
        """Raise ValueError unless this incident can be planted in ``[start, end)``."""
        services = [service.name for service in SERVICES]
        regions = [region.name for region in REGIONS]
        if self.service not in services:
            raise ValueError(f"incident service {self.service!r} is not one of {services}")
        if self.region not in regions:
            raise ValueError(f"incident region {self.region!r} is not one of {regions}")
        if not self.version:
            raise ValueError("incident version must not be empty")
        if self.start.tzinfo is None:
            raise ValueError("incident start must be timezone-aware")
        if self.duration <= timedelta(0):
            raise ValueError("incident duration must be positive")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("incident error_rate must be between 0 and 1")
        if self.latency_factor <= 0.0:
            raise ValueError("incident latency_factor must be positive")
        if self.load_factor < 1.0:
            raise ValueError("incident load_factor must be at least 1")
        if self.start < start or self.end > end:
            raise ValueError(
                f"incident window {self.start.isoformat()} .. {self.end.isoformat()} "
                f"is not inside the generated range {start.isoformat()} .. {end.isoformat()}"
            )


@dataclass(frozen=True)
class JourneySpec:
    """Order journeys to plant: placed → paid → packed → dispatched.

    The ``orders`` service emits every step; an order's events share a ``correlation_id``
    (and an ``order_id``). About a minute after ``order.placed`` the order is paid
    (``order.paid``) or its payment declined (``order.payment_declined``, HTTP 402): at
    ``decline_rate`` normally, at ``drop_rate`` for orders placed on orders
    ``drop_version`` in ``drop_region``, the planted drop. A paid order is cancelled at
    ``cancel_rate``, else packed about half an hour later; a packed order is dispatched a
    few hours later, except at ``stuck_rate`` (stuck work). Every order that is not stuck
    ends within :data:`mfq.demo.journeys.LONGEST_JOURNEY`.

    Journeys come on top of ``DemoConfig.events``, from a random stream of their own, with
    ids of their own (``ev_9...``), so the other events are the same with or without them.
    """

    #: Journey events per other event (at most; orders have two to four events).
    share: float = 0.06
    drop_version: str = "3.1.0"
    drop_region: str = "ap-southeast-1"
    drop_rate: float = 0.8
    decline_rate: float = 0.02
    cancel_rate: float = 0.03
    stuck_rate: float = 0.015

    def validate(self) -> None:
        """Raise ValueError unless the rates are shares and the slice exists."""
        regions = [region.name for region in REGIONS]
        if self.drop_region not in regions:
            raise ValueError(f"journey drop region {self.drop_region!r} is not one of {regions}")
        orders = next(service for service in SERVICES if service.name == "orders")
        if self.drop_version not in orders.versions:
            raise ValueError(
                f"journey drop version {self.drop_version!r} is not one of {orders.versions}"
            )
        for name in ("share", "drop_rate", "decline_rate", "cancel_rate", "stuck_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"journey {name} must be between 0 and 1")


@dataclass(frozen=True)
class DemoConfig:
    """How big, when, and how noisy a generated export is. The same config gives the same bytes."""

    events: int = 50_000
    seed: int = 7
    #: First instant of the export (a Monday by default); must be timezone-aware.
    start: datetime = datetime(2026, 11, 16, tzinfo=UTC)
    days: int = 7
    #: The planted incident, or None for an export without one.
    incident: IncidentSpec | None = field(default_factory=IncidentSpec)
    #: The planted order journeys, or None for an export without them.
    journeys: JourneySpec | None = field(default_factory=JourneySpec)
    #: Actors (people, services, devices) producing events; their activity is Zipf-skewed.
    actors: int = 400
    #: Projects the actors work in; their activity is Zipf-skewed too.
    projects: int = 36
    #: End users (``user_id``) the events concern.
    users: int = 25_000
    #: Average share of events that fail outside the incident (status "error", HTTP 5xx).
    error_rate: float = 0.01
    #: Share of HTTP events rejected with a 4xx (severity "warn").
    client_error_rate: float = 0.02
    #: Share of events that are spans of multi-span traces.
    trace_share: float = 0.15
    #: Share of events from the staging environment.
    staging_share: float = 0.04
    #: Events generated and formatted at once; bounds memory (10M events fit in ~350 MB).
    #: The chunks are drawn from their own random streams, so another chunk size gives a
    #: different (equally valid) export.
    chunk_events: int = 100_000
    #: Traces whose span trees :class:`DemoTruth` records (the first ones in time order).
    truth_trace_limit: int = 2_000

    def __post_init__(self) -> None:
        if self.events < 0:
            raise ValueError("events must not be negative")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.actors < 1 or self.projects < 1 or self.users < 1:
            raise ValueError("actors, projects and users must be at least 1")
        for name in ("error_rate", "client_error_rate", "trace_share", "staging_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.chunk_events < 1:
            raise ValueError("chunk_events must be at least 1")
        if self.truth_trace_limit < 0:
            raise ValueError("truth_trace_limit must not be negative")
        if self.incident is not None:
            self.incident.validate(self.start, self.end)
        if self.journeys is not None:
            self.journeys.validate()

    @property
    def end(self) -> datetime:
        """The end of the generated range (exclusive)."""
        return self.start + timedelta(days=self.days)
