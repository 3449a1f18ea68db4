"""The exact ground truth of a generated export, counted from the events as they are written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mfq.demo.catalog import (
    ENVIRONMENTS,
    EVENT_TYPES,
    FAILURES,
    INCIDENT_FAILURE,
    REGIONS,
    SERVICES,
)
from mfq.demo.config import DemoConfig, IncidentSpec, JourneySpec
from mfq.demo.encoding import hex_strings
from mfq.demo.sampling import TRACE_BOUND_MS, EventColumns
from mfq.demo.world import (
    DAY_MS,
    MAX_VERSIONS,
    OUTCOME_CLIENT,
    OUTCOME_FAILURE,
    OUTCOME_SLOW,
    OUTCOMES,
    IntArray,
    World,
    from_ms,
)

#: Traces with an incident failure kept in :attr:`DemoTruth.traces` beyond the limit.
INCIDENT_TRACES_KEPT = 20


class SliceCounts(NamedTuple):
    """Events of a slice and how many of them failed (status "error")."""

    events: int
    errors: int

    @property
    def error_ratio(self) -> float:
        """errors / events, 0 for an empty slice."""
        return self.errors / self.events if self.events else 0.0


class SpanTruth(NamedTuple):
    """One span of a trace as written: ids in hex, the root's parent is None."""

    span_id: str
    parent_span_id: str | None
    service: str
    type: str


@dataclass(frozen=True)
class IncidentTruth:
    """What the planted incident did, counted over the written events.

    The incident's slice is its (service, version, region); its window is
    ``[spec.start, spec.end)``. The by-(version, region) maps cover every event of the
    incident's service, inside and outside the window, so any comparison can be made.
    """

    spec: IncidentSpec
    in_window: dict[tuple[str, str], SliceCounts]
    outside_window: dict[tuple[str, str], SliceCounts]
    #: Events carrying the incident's error code (the failures the incident planted).
    incident_errors: int

    @property
    def window_start(self) -> datetime:
        """First instant of the incident window."""
        return self.spec.start

    @property
    def window_end(self) -> datetime:
        """End of the incident window (exclusive)."""
        return self.spec.end

    @property
    def slice_key(self) -> tuple[str, str]:
        """(version, region) of the affected slice."""
        return (self.spec.version, self.spec.region)

    @property
    def affected(self) -> SliceCounts:
        """The slice inside the window."""
        return self.in_window.get(self.slice_key, SliceCounts(0, 0))

    @property
    def affected_outside(self) -> SliceCounts:
        """The slice outside the window."""
        return self.outside_window.get(self.slice_key, SliceCounts(0, 0))

    @property
    def peers_in_window(self) -> SliceCounts:
        """The incident's service in the window, except the slice (other versions/regions)."""
        others = [c for key, c in self.in_window.items() if key != self.slice_key]
        return SliceCounts(sum(c.events for c in others), sum(c.errors for c in others))


@dataclass(frozen=True)
class JourneyTruth:
    """The planted order journeys, counted over the written events (each order has at
    most one event of each step type, in step order)."""

    spec: JourneySpec
    #: Orders placed inside the export, and how many of them reached each later step.
    orders: int
    paid: int
    declined: int
    cancelled: int
    packed: int
    dispatched: int
    #: Orders placed on orders ``spec.drop_version`` in ``spec.drop_region``, and how many
    #: of them had their payment declined.
    drop_orders: int
    drop_declined: int
    #: Packed and never dispatched (stuck), as (correlation id, its first event in the
    #: export), oldest first.
    stuck: tuple[tuple[str, datetime], ...]
    #: Every journey event written, those of orders placed before the export included.
    events: int

    def stuck_before(self, moment: datetime) -> list[str]:
        """Correlation ids of the stuck orders whose first event is at or before ``moment``."""
        return [key for key, first in self.stuck if first <= moment]


@dataclass(frozen=True)
class DemoTruth:
    """Exact facts about a generated export, for tests and for ``mfq demo``'s narration.

    Counts cover every written event. ``traces`` holds the span trees of the first
    ``config.truth_trace_limit`` traces in time order, plus up to 20 traces with an
    incident failure (their ids in ``incident_trace_ids``); spans are listed in time
    order, which is also their tree pre-order.
    """

    config: DemoConfig
    path: Path | None
    events: int
    #: Size of the NDJSON text before any compression.
    bytes: int
    first_timestamp: datetime | None
    last_timestamp: datetime | None
    counts_by_type: dict[str, int]
    counts_by_service: dict[str, int]
    #: Keyed by (service, version).
    counts_by_version: dict[tuple[str, str], int]
    counts_by_region: dict[str, int]
    counts_by_environment: dict[str, int]
    #: "ok", "rejected" (HTTP 4xx) or "error".
    counts_by_status: dict[str, int]
    #: "info", "warn" or "error".
    counts_by_severity: dict[str, int]
    #: Keyed by UTC date, "YYYY-MM-DD".
    counts_by_date: dict[str, int]
    counts_by_error_code: dict[str, int]
    errors: int
    errors_by_service: dict[str, int]
    errors_by_type: dict[str, int]
    projects: int
    actors: int
    users: int
    #: Events that are spans of multi-span traces, and the number of those traces.
    traced_events: int
    trace_count: int
    traces: dict[str, tuple[SpanTruth, ...]]
    incident_trace_ids: tuple[str, ...]
    incident: IncidentTruth | None
    journeys: JourneyTruth | None


def _named(names: list[str], counts: IntArray) -> dict[str, int]:
    return {name: int(count) for name, count in zip(names, counts, strict=True) if count}


class TruthRecorder:
    """Accumulates :class:`DemoTruth` chunk by chunk, in the order events are written."""

    def __init__(self, world: World) -> None:
        config = world.config
        self.world = world
        self.events = 0
        self.bytes = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self.by_type = np.zeros(len(EVENT_TYPES), dtype=np.int64)
        self.errors_by_type = np.zeros(len(EVENT_TYPES), dtype=np.int64)
        self.by_version = np.zeros(len(SERVICES) * MAX_VERSIONS, dtype=np.int64)
        self.by_region = np.zeros(len(REGIONS), dtype=np.int64)
        self.by_environment = np.zeros(len(ENVIRONMENTS), dtype=np.int64)
        self.by_outcome = np.zeros(OUTCOMES, dtype=np.int64)
        self.by_day: dict[int, int] = {}
        self.projects = np.zeros(config.projects, dtype=np.bool_)
        self.actors = np.zeros(config.actors, dtype=np.bool_)
        self.users = np.zeros(config.users, dtype=np.bool_)
        self.traced_events = 0
        self.trace_count = 0
        # (window?, failed?) x version x region for the incident's service
        self.incident_cells = np.zeros((2, 2, MAX_VERSIONS, len(REGIONS)), dtype=np.int64)
        self.kept: dict[int, list[SpanTruth]] = {}
        self.kept_ids: dict[int, str] = {}
        self.kept_regular = 0
        self.kept_incident: list[int] = []
        self.last_kept_root_ms = 0
        self.journey_steps = np.zeros(len(EVENT_TYPES), dtype=np.int64)
        self.journey_events = 0
        self.journey_first: dict[int, int] = {}
        self.journey_placed: set[int] = set()
        self.journey_in_drop: set[int] = set()
        self.journey_drop_declined = 0
        self.journey_waiting: set[int] = set()

    def record(self, columns: EventColumns, size: int) -> None:
        """Count one written chunk of ``size`` bytes."""
        if len(columns) == 0:
            return
        self.events += len(columns)
        self.bytes += size
        times = columns.timestamp_ms
        self.first_ms = int(times[0]) if self.first_ms is None else self.first_ms
        self.last_ms = int(times[-1])
        failed = columns.outcome >= OUTCOME_FAILURE
        self.by_type += np.bincount(columns.event_type, minlength=len(EVENT_TYPES))
        self.errors_by_type += np.bincount(columns.event_type[failed], minlength=len(EVENT_TYPES))
        self.by_version += np.bincount(
            columns.service * MAX_VERSIONS + columns.version, minlength=len(self.by_version)
        )
        self.by_region += np.bincount(columns.region, minlength=len(REGIONS))
        self.by_environment += np.bincount(columns.environment, minlength=len(ENVIRONMENTS))
        self.by_outcome += np.bincount(columns.outcome, minlength=OUTCOMES)
        days = times // DAY_MS
        first_day = int(days[0])  # the chunk is sorted by time
        for offset, count in enumerate(np.bincount(days - first_day).tolist()):
            if count:
                self.by_day[first_day + offset] = self.by_day.get(first_day + offset, 0) + count
        self.projects[columns.project] = True
        self.actors[columns.actor] = True
        self.users[columns.user[columns.user >= 0]] = True
        self.traced_events += int(columns.traced.sum())
        self.trace_count += int((columns.traced & (columns.parent == 0)).sum())
        self._record_incident(columns, failed)
        self._record_traces(columns)
        self._record_journeys(columns)

    def _record_journeys(self, columns: EventColumns) -> None:
        """Count the steps of the orders placed inside the export; remember when each
        journey's first event is, the drop's orders and the packed, undispatched ones."""
        spec = self.world.config.journeys
        rows = np.flatnonzero(columns.journey)
        if spec is None or rows.size == 0:
            return
        self.journey_events += int(rows.size)
        names = [EVENT_TYPES[int(t)].name for t in columns.event_type[rows]]
        versions = self.world.versions[[s.name for s in SERVICES].index("orders")]
        drop_level = versions.index(spec.drop_version) if spec.drop_version in versions else -1
        drop_region = [r.name for r in REGIONS].index(spec.drop_region)
        for row, name in zip(rows.tolist(), names, strict=True):
            journey = int(columns.journey[row])
            self.journey_first.setdefault(journey, int(columns.timestamp_ms[row]))
            if name == "order.placed":
                self.journey_placed.add(journey)
                if columns.version[row] == drop_level and columns.region[row] == drop_region:
                    self.journey_in_drop.add(journey)
            elif name == "order.payment_declined" and journey in self.journey_in_drop:
                self.journey_drop_declined += 1
            elif name == "order.packed":
                self.journey_waiting.add(journey)
            elif name == "order.dispatched":
                self.journey_waiting.discard(journey)
            if journey in self.journey_placed:
                self.journey_steps[int(columns.event_type[row])] += 1

    def _record_incident(self, columns: EventColumns, failed: npt.NDArray[np.bool_]) -> None:
        incident = self.world.incident
        if incident is None:
            return
        rows = columns.service == incident.service
        times = columns.timestamp_ms[rows]
        window = (times >= incident.start_ms) & (times < incident.end_ms)
        np.add.at(
            self.incident_cells,
            (
                window.astype(np.int64),
                failed[rows].astype(np.int64),
                columns.version[rows],
                columns.region[rows],
            ),
            1,
        )

    def _record_traces(self, columns: EventColumns) -> None:
        """Keep the span trees of the first traces, and of some traces with incident failures."""
        self._keep_new_traces(columns)
        if not self.kept or columns.timestamp_ms[0] > self.last_kept_root_ms + TRACE_BOUND_MS:
            return  # every kept trace is complete: spans lie within the bound of their root
        keys = np.fromiter(self.kept, dtype=np.uint64, count=len(self.kept))
        traced = np.flatnonzero(columns.traced)
        rows = traced[np.isin(columns.trace_lo[traced], keys)]
        spans = hex_strings(columns.span[rows])
        parents = hex_strings(columns.parent[rows])
        for row, span, parent in zip(rows.tolist(), spans, parents, strict=True):
            event_type = EVENT_TYPES[int(columns.event_type[row])]
            root = columns.parent[row] == 0
            self.kept[int(columns.trace_lo[row])].append(
                SpanTruth(span, None if root else parent, event_type.service, event_type.name)
            )

    def _keep_new_traces(self, columns: EventColumns) -> None:
        """Choose which traces starting in this chunk to keep (roots come first in time)."""
        roots = np.flatnonzero(columns.traced & (columns.parent == 0))
        room = max(self.world.config.truth_trace_limit - self.kept_regular, 0)
        self.kept_regular += len(roots[:room])
        for row in roots[:room].tolist():
            self._keep(columns, row)
        for row in roots[room:][columns.incident_trace[roots[room:]]].tolist():
            if len(self.kept_incident) == INCIDENT_TRACES_KEPT:
                break
            self._keep(columns, row)

    def _keep(self, columns: EventColumns, root: int) -> None:
        key = int(columns.trace_lo[root])
        if columns.incident_trace[root] and len(self.kept_incident) < INCIDENT_TRACES_KEPT:
            self.kept_incident.append(key)
        halves = np.array([columns.trace_hi[root], columns.trace_lo[root]], dtype=np.uint64)
        self.kept[key] = []
        self.kept_ids[key] = "".join(hex_strings(halves))
        self.last_kept_root_ms = int(columns.timestamp_ms[root])

    def result(self, path: Path | None) -> DemoTruth:
        """The truth of everything recorded so far."""
        outcome = self.by_outcome
        type_names = [t.name for t in EVENT_TYPES]
        return DemoTruth(
            config=self.world.config,
            path=path,
            events=self.events,
            bytes=self.bytes,
            first_timestamp=None if self.first_ms is None else from_ms(self.first_ms),
            last_timestamp=None if self.last_ms is None else from_ms(self.last_ms),
            counts_by_type=_named(type_names, self.by_type),
            counts_by_service=_named(
                [s.name for s in SERVICES],
                self.by_version.reshape(len(SERVICES), MAX_VERSIONS).sum(axis=1),
            ),
            counts_by_version=self._version_counts(),
            counts_by_region=_named([r.name for r in REGIONS], self.by_region),
            counts_by_environment=_named(list(ENVIRONMENTS), self.by_environment),
            counts_by_status=_named(
                ["ok", "rejected", "error"],
                np.add.reduceat(outcome, [0, OUTCOME_CLIENT, OUTCOME_FAILURE]),
            ),
            counts_by_severity=_named(
                ["info", "warn", "error"],
                np.add.reduceat(outcome, [0, OUTCOME_SLOW, OUTCOME_FAILURE]),
            ),
            counts_by_date={
                from_ms(day * DAY_MS).date().isoformat(): n
                for day, n in sorted(self.by_day.items())
            },
            counts_by_error_code=_named(
                [f.code for f in (*FAILURES, INCIDENT_FAILURE)], outcome[OUTCOME_FAILURE:]
            ),
            errors=int(outcome[OUTCOME_FAILURE:].sum()),
            errors_by_service=self._errors_by_service(),
            errors_by_type=_named(type_names, self.errors_by_type),
            projects=int(self.projects.sum()),
            actors=int(self.actors.sum()),
            users=int(self.users.sum()),
            traced_events=self.traced_events,
            trace_count=self.trace_count,
            traces={self.kept_ids[key]: tuple(spans) for key, spans in self.kept.items()},
            incident_trace_ids=tuple(self.kept_ids[key] for key in self.kept_incident),
            incident=self._incident_truth(),
            journeys=self._journey_truth(),
        )

    def _journey_truth(self) -> JourneyTruth | None:
        spec = self.world.config.journeys
        if spec is None:
            return None
        steps = {t.name: int(n) for t, n in zip(EVENT_TYPES, self.journey_steps, strict=True)}
        stuck = sorted((self.journey_first[journey], journey) for journey in self.journey_waiting)
        return JourneyTruth(
            spec=spec,
            orders=steps["order.placed"],
            paid=steps["order.paid"],
            declined=steps["order.payment_declined"],
            cancelled=steps["order.cancelled"],
            packed=steps["order.packed"],
            dispatched=steps["order.dispatched"],
            drop_orders=len(self.journey_in_drop),
            drop_declined=self.journey_drop_declined,
            events=self.journey_events,
            stuck=tuple((f"ord-{journey:010d}", from_ms(created)) for created, journey in stuck),
        )

    def _version_counts(self) -> dict[tuple[str, str], int]:
        counts = self.by_version.reshape(len(SERVICES), MAX_VERSIONS)
        return {
            (service.name, version): int(counts[s, level])
            for s, (service, versions) in enumerate(zip(SERVICES, self.world.versions, strict=True))
            for level, version in enumerate(versions)
            if counts[s, level]
        }

    def _errors_by_service(self) -> dict[str, int]:
        errors: dict[str, int] = {}
        for event_type, count in zip(EVENT_TYPES, self.errors_by_type.tolist(), strict=True):
            if count:
                errors[event_type.service] = errors.get(event_type.service, 0) + count
        return errors

    def _incident_truth(self) -> IncidentTruth | None:
        incident = self.world.incident
        if incident is None:
            return None
        versions = self.world.versions[incident.service]
        cells = self.incident_cells

        def counts(window: int) -> dict[tuple[str, str], SliceCounts]:
            result = {}
            for level, version in enumerate(versions):
                for r, region in enumerate(REGIONS):
                    ok, failed = int(cells[window, 0, level, r]), int(cells[window, 1, level, r])
                    if ok + failed:
                        result[(version, region.name)] = SliceCounts(ok + failed, failed)
            return result

        return IncidentTruth(
            spec=incident.spec,
            in_window=counts(1),
            outside_window=counts(0),
            incident_errors=int(self.by_outcome[-1]),
        )
