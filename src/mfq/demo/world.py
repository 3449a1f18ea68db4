"""The numeric model behind an export: indices, rates, popularity and version rollouts.

A :class:`World` turns the static catalog and a :class:`DemoConfig` into arrays that the
sampler indexes per event. Seeded parts (actors' devices and home projects) come from the
config's seed, so one config always describes the same world.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from mfq.demo.catalog import (
    ACTIVITY_ZIPF_EXPONENT,
    CLIENT_ERRORS,
    EVENT_TYPES,
    FAILURES,
    NIGHT_FLOOR,
    REGIONS,
    SERVICES,
    SLOW_FACTOR,
    TRACE_TEMPLATES,
    TYPE_ZIPF_EXPONENT,
    WEEKEND_FACTOR,
    TraceTemplate,
)
from mfq.demo.config import DemoConfig, IncidentSpec

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

#: Outcome codes of an event, in order: ok, slow (warn), client errors (warn), failures.
OUTCOME_OK = 0
OUTCOME_SLOW = 1
OUTCOME_CLIENT = 2
OUTCOME_FAILURE = OUTCOME_CLIENT + len(CLIENT_ERRORS)
OUTCOME_INCIDENT = OUTCOME_FAILURE + len(FAILURES)
OUTCOMES = OUTCOME_INCIDENT + 1

MAX_VERSIONS = max(len(service.versions) for service in SERVICES)

#: Where a service's rollouts begin, as a share of the range, by its number of versions
#: (then a little later per service and per region; each takes 5% of the range).
ROLLOUT_STARTS: dict[int, tuple[float, ...]] = {2: (0.3,), 3: (0.08, 0.55)}


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch, exactly (no float rounding)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def zipf_cdf(count: int, exponent: float) -> FloatArray:
    """Cumulative Zipf probabilities of ranks 1..count (the last is exactly 1)."""
    weights = 1.0 / np.arange(1, count + 1, dtype=np.float64) ** exponent
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    return cdf


def normalised_cdf(weights: list[float]) -> FloatArray:
    """Cumulative probabilities of the given weights (the last is exactly 1)."""
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    return cdf


@dataclass(frozen=True)
class PlantedIncident:
    """An :class:`IncidentSpec` resolved to indices and epoch milliseconds."""

    spec: IncidentSpec
    service: int
    version: int
    region: int
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class TraceShape:
    """A :class:`TraceTemplate` resolved to indices, ready for vectorised placement."""

    template: TraceTemplate
    types: tuple[int, ...]
    endpoints: tuple[int, ...]
    parents: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]


def service_index(name: str) -> int:
    """Position of a service in :data:`SERVICES`."""
    return [service.name for service in SERVICES].index(name)


def type_index(name: str) -> int:
    """Position of an event type in :data:`EVENT_TYPES`."""
    return [event_type.name for event_type in EVENT_TYPES].index(name)


def region_index(name: str) -> int:
    """Position of a region in :data:`REGIONS`."""
    return [region.name for region in REGIONS].index(name)


def service_versions(incident: IncidentSpec | None) -> tuple[tuple[str, ...], ...]:
    """Each service's versions in rollout order; the incident's version is its service's newest."""
    versions = [service.versions for service in SERVICES]
    if incident is not None:
        index = service_index(incident.service)
        others = [name for name in versions[index] if name != incident.version]
        versions[index] = (*others[: MAX_VERSIONS - 1], incident.version)
    return tuple(versions)


def trace_shapes() -> tuple[TraceShape, ...]:
    """Every trace template with its spans' type, endpoint, parent and children indices.

    Endpoints 0..len(EVENT_TYPES)-1 are the event types' own; each template's root (the
    gateway request) gets an endpoint of its own after those, for its route.
    """
    shapes = []
    for number, template in enumerate(TRACE_TEMPLATES):
        types = tuple(type_index(name) for name, _ in template.spans)
        parents = tuple(parent for _, parent in template.spans)
        endpoints = (len(EVENT_TYPES) + number, *types[1:])
        children = tuple(
            tuple(child for child, parent in enumerate(parents) if parent == node)
            for node in range(len(parents))
        )
        shapes.append(TraceShape(template, types, endpoints, parents, children))
    return tuple(shapes)


class World:
    """Per-index tables of one config's world, shared by sampling and truth keeping."""

    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.start_ms = to_ms(config.start)
        self.end_ms = to_ms(config.end)
        self.versions = service_versions(config.incident)
        self.incident = self._planted(config.incident)
        self.shapes = trace_shapes()
        self.trace_cdf = normalised_cdf([shape.template.weight for shape in self.shapes])
        self._init_types()
        self._init_services(config.error_rate)
        self._init_outcomes()
        self._init_population(config)
        self.surge_types, self.surge_cdf, self.surge_extra = self._surge()
        self.surge_shapes, self.surge_shape_cdf = self._surge_shapes()

    def _init_types(self) -> None:
        """Event types: their service, popularity (Zipf by rank) and HTTP-ness."""
        self.type_service: IntArray = np.array([service_index(t.service) for t in EVENT_TYPES])
        self.type_has_user = np.array([t.has_user for t in EVENT_TYPES], dtype=np.bool_)
        self.type_standalone = np.array([t.standalone for t in EVENT_TYPES], dtype=np.bool_)
        # Journey-only types rank last and lie outside the Zipf draw.
        ranks = np.array([t.rank + (0 if t.standalone else 10_000) for t in EVENT_TYPES])
        self.type_by_rank: IntArray = np.argsort(ranks, kind="stable")
        standalone = int(self.type_standalone.sum())
        self.type_cdf = zipf_cdf(standalone, TYPE_ZIPF_EXPONENT)
        self.type_share = np.zeros(len(EVENT_TYPES), dtype=np.float64)
        self.type_share[self.type_by_rank[:standalone]] = np.diff(self.type_cdf, prepend=0.0)
        has_http = [t.method is not None for t in EVENT_TYPES]
        self.endpoint_has_http = np.array(has_http + [True] * len(self.shapes), dtype=np.bool_)

    def _init_services(self, error_rate: float) -> None:
        """Latency profile and base error rate of each service."""
        self.service_median = np.array([s.median_ms for s in SERVICES], dtype=np.float64)
        self.service_sigma = np.array([s.sigma for s in SERVICES], dtype=np.float64)
        self.service_slow_ms = self.service_median * SLOW_FACTOR
        self.service_error_rate = self._base_error_rates(error_rate)

    def _init_outcomes(self) -> None:
        """How failures and client errors are chosen once an event fails or is rejected."""
        self.failure_cdf = normalised_cdf([f.weight for f in FAILURES])
        self.failure_timeout = np.array([f.timeout for f in FAILURES], dtype=np.bool_)
        self.client_cdf = normalised_cdf([c.weight for c in CLIENT_ERRORS])

    def _init_population(self, config: DemoConfig) -> None:
        """Actors (with a device and a home project) and projects, from the seed."""
        rng = np.random.default_rng([config.seed, 0])
        self.actor_cdf = zipf_cdf(config.actors, ACTIVITY_ZIPF_EXPONENT)
        self.project_cdf = zipf_cdf(config.projects, ACTIVITY_ZIPF_EXPONENT)
        self.actor_home = np.searchsorted(self.project_cdf, rng.random(config.actors), "right")
        self.actor_device = rng.integers(0, 256, size=(config.actors, 16), dtype=np.uint8)
        self.project_ids = 1001 + rng.permutation(config.projects * 3)[: config.projects]

    def _planted(self, spec: IncidentSpec | None) -> PlantedIncident | None:
        if spec is None:
            return None
        service = service_index(spec.service)
        return PlantedIncident(
            spec=spec,
            service=service,
            version=len(self.versions[service]) - 1,
            region=region_index(spec.region),
            start_ms=to_ms(spec.start),
            end_ms=to_ms(spec.end),
        )

    def _base_error_rates(self, error_rate: float) -> FloatArray:
        """Per-service error rates whose traffic-weighted mean is ``error_rate``."""
        weights = np.array([s.error_weight for s in SERVICES], dtype=np.float64)
        mean = float((weights[self.type_service] * self.type_share).sum())
        return np.minimum(error_rate * weights / mean, 1.0)

    def _surge(self) -> tuple[IntArray, FloatArray, float]:
        """The incident's flash sale: its service's types, their popularity, the extra load.

        ``surge_extra`` is the surge's traffic relative to the region's normal traffic.
        """
        incident = self.incident
        if incident is None:
            return np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.float64), 0.0
        types = np.flatnonzero((self.type_service == incident.service) & self.type_standalone)
        shares = self.type_share[types]
        extra = (incident.spec.load_factor - 1.0) * float(shares.sum())
        return types, normalised_cdf(shares.tolist()), extra

    def _surge_shapes(self) -> tuple[IntArray, FloatArray]:
        """Trace templates that involve the incident's service, and their popularity."""
        incident = self.incident
        if incident is None:
            return np.zeros(0, dtype=np.int64), np.ones(0, dtype=np.float64)
        involved = [
            number
            for number, shape in enumerate(self.shapes)
            if any(self.type_service[t] == incident.service for t in shape.types[1:])
        ]
        if not involved:
            return np.zeros(0, dtype=np.int64), np.ones(0, dtype=np.float64)
        weights = [self.shapes[number].template.weight for number in involved]
        return np.array(involved, dtype=np.int64), normalised_cdf(weights)

    def in_surge(self, region: IntArray, timestamp_ms: IntArray) -> BoolArray:
        """Which times and regions get the incident's extra load."""
        if self.incident is None or self.surge_extra == 0.0:
            return np.zeros(len(timestamp_ms), dtype=np.bool_)
        return self._in_window(self.incident, region, timestamp_ms)

    @staticmethod
    def _in_window(
        incident: PlantedIncident, region: IntArray, timestamp_ms: IntArray
    ) -> BoolArray:
        inside: BoolArray = (
            (region == incident.region)
            & (timestamp_ms >= incident.start_ms)
            & (timestamp_ms < incident.end_ms)
        )
        return inside

    def adoption(self, times_ms: IntArray) -> FloatArray:
        """Share of traffic on version >= level, shape (service, region, level, time).

        Level 0 is always 1 (every request runs some version); a service with fewer
        versions than :data:`MAX_VERSIONS` has 0 on its missing levels.
        """
        shape = (len(SERVICES), len(REGIONS), MAX_VERSIONS, len(times_ms))
        result = np.zeros(shape, dtype=np.float64)
        result[:, :, 0, :] = 1.0
        span = float(self.end_ms - self.start_ms)
        for s, versions in enumerate(self.versions):
            for r in range(len(REGIONS)):
                for level in range(1, len(versions)):
                    keys, values = self._rollout(s, r, level, len(versions), span)
                    result[s, r, level] = np.interp(times_ms, keys, values)
                for level in range(len(versions) - 2, 0, -1):
                    result[s, r, level] = np.maximum(result[s, r, level], result[s, r, level + 1])
        return result

    def _rollout(
        self, service: int, region: int, level: int, levels: int, span: float
    ) -> tuple[list[float], list[float]]:
        """Keyframes (epoch ms, share) of one version level's rollout in one region."""
        incident = self.incident
        if incident is not None and service == incident.service and level == levels - 1:
            return self._incident_rollout(incident, region)
        first = ROLLOUT_STARTS[levels][level - 1]
        begin = self.start_ms + span * (first + 0.03 * service + 0.012 * region)
        return [begin, begin + 0.05 * span], [0.0, 1.0]

    def _incident_rollout(
        self, incident: PlantedIncident, region: int
    ) -> tuple[list[float], list[float]]:
        """The incident version: a canary in its region around the window, healthy elsewhere.

        In the incident region it ramps to half the traffic in the two hours before the
        window and is rolled back an hour after it; one other region has run it healthily
        at 40% since a day before, so neither version nor region alone explains the errors.
        """
        start, end = float(incident.start_ms), float(incident.end_ms)
        if region == incident.region:
            keys = [start - 2 * HOUR_MS, start - HOUR_MS, end + HOUR_MS, end + 1.5 * HOUR_MS]
            return keys, [0.0, 0.5, 0.5, 0.0]
        canary = (incident.region + 1) % len(REGIONS)
        if region == canary:
            return [start - 26 * HOUR_MS, start - 24 * HOUR_MS], [0.0, 0.4]
        return [start], [0.0]

    def affected(
        self, service: IntArray, version: IntArray, region: IntArray, timestamp_ms: IntArray
    ) -> BoolArray:
        """Which events are in the incident's slice (service, version, region) and window."""
        incident = self.incident
        if incident is None:
            return np.zeros(len(timestamp_ms), dtype=np.bool_)
        in_slice: BoolArray = (service == incident.service) & (version == incident.version)
        return in_slice & self._in_window(incident, region, timestamp_ms)

    def region_weights(self, times_ms: IntArray) -> FloatArray:
        """Relative traffic per region at the given times, shape (time, region).

        Each region follows a daily cycle peaking at its own UTC hour, weekends are
        quieter, and the incident's region carries its surge; the sum over regions is the
        export's overall traffic curve.
        """
        hours = (times_ms % DAY_MS) / HOUR_MS
        weekday = (times_ms // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        day_factor = np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)
        weights = np.empty((len(times_ms), len(REGIONS)), dtype=np.float64)
        for r, region in enumerate(REGIONS):
            phase = 2.0 * np.pi * (hours - region.peak_hour_utc) / 24.0
            cycle = ((1.0 + np.cos(phase)) / 2.0) ** 2
            weights[:, r] = region.share * day_factor * (NIGHT_FLOOR + (1.0 - NIGHT_FLOOR) * cycle)
            surge = self.in_surge(np.full(len(times_ms), r), times_ms)
            weights[:, r] *= np.where(surge, 1.0 + self.surge_extra, 1.0)
        return weights
