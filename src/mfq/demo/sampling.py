"""Drawing one chunk of events as column arrays: standalone events and whole traces.

Every column is drawn for all events of a chunk at once. The draws happen in a fixed
order from a generator seeded by (seed, chunk), so a config always yields the same events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from mfq.demo.catalog import (
    REGIONS,
    SPAN_CAP_MS,
    TIMEOUT_MS,
    TRACE_TEMPLATES,
)
from mfq.demo.traffic import BIN_MS, Chunk, bin_starts
from mfq.demo.world import (
    OUTCOME_CLIENT,
    OUTCOME_FAILURE,
    OUTCOME_INCIDENT,
    OUTCOME_OK,
    OUTCOME_SLOW,
    BoolArray,
    FloatArray,
    IntArray,
    TraceShape,
    World,
)

U64Array = npt.NDArray[np.uint64]

#: Upper bound of any trace's length: every span at its cap plus gaps and rounding.
TRACE_BOUND_MS = max(len(t.spans) for t in TRACE_TEMPLATES) * (int(SPAN_CAP_MS) + 5)
#: Share of an actor's events in its home project.
HOME_PROJECT_SHARE = 0.9
#: Exponent skewing end users: user = users * u**k puts most events on few users.
USER_SKEW = 2.5
_U64_MAX = 2**64 - 1


@dataclass
class EventColumns:
    """Events as parallel arrays of indices into the world's tables (one row per event)."""

    timestamp_ms: IntArray
    event_type: IntArray
    endpoint: IntArray
    service: IntArray
    environment: IntArray
    version: IntArray
    region: IntArray
    project: IntArray
    actor: IntArray
    #: Index of the end user, -1 for events without one.
    user: IntArray
    outcome: IntArray
    duration_ms: FloatArray
    traced: BoolArray
    #: The 128-bit trace id as two halves, the span and its parent (0: none).
    trace_hi: U64Array
    trace_lo: U64Array
    span: U64Array
    parent: U64Array
    #: Seeds the type-specific attributes; shared by a trace's spans (one order, one sku).
    key: U64Array
    #: The event belongs to a trace with an incident failure in it.
    incident_trace: BoolArray
    #: The order journey the event is a step of (its ``correlation_id``), 0: none.
    journey: U64Array

    def __len__(self) -> int:
        return len(self.timestamp_ms)

    def take(self, index: IntArray) -> EventColumns:
        """The rows at ``index``, in that order."""
        return EventColumns(*(getattr(self, f.name)[index] for f in fields(self)))

    def slice(self, start: int, stop: int) -> EventColumns:
        """The rows ``[start, stop)`` (views, not copies)."""
        return EventColumns(*(getattr(self, f.name)[start:stop] for f in fields(self)))

    @staticmethod
    def concat(parts: list[EventColumns]) -> EventColumns:
        """All rows of ``parts``, one after the other."""
        names = [f.name for f in fields(EventColumns)]
        return EventColumns(*(np.concatenate([getattr(p, name) for p in parts]) for name in names))


@dataclass
class _Context:
    """Who and where: drawn once per standalone event or once per trace."""

    bin_local: IntArray
    region: IntArray
    timestamp_ms: IntArray
    environment: IntArray
    actor: IntArray
    project: IntArray
    user: IntArray
    key: U64Array

    def take(self, index: IntArray) -> _Context:
        """The contexts at ``index``, in that order."""
        return _Context(*(getattr(self, f.name)[index] for f in fields(self)))


@dataclass
class _Behaviour:
    """How a span went: its outcome code and its own processing time."""

    outcome: IntArray
    self_ms: FloatArray


class ChunkSampler:
    """Draws the events of one chunk, unsorted; trace spans may lie beyond the chunk's end."""

    def __init__(self, world: World, chunk: Chunk) -> None:
        self.world = world
        self.chunk = chunk
        self.rng = np.random.default_rng([world.config.seed, 1, chunk.index])
        self.bin_start = bin_starts(world, chunk.first_bin, chunk.end_bin)
        middles = self.bin_start + BIN_MS // 2
        cells = world.region_weights(middles).ravel()
        self.cell_cdf = np.cumsum(cells) / cells.sum()
        self.adoption = world.adoption(middles)

    def sample(self) -> EventColumns:
        """All events of the chunk: whole traces, and standalone events for the rest."""
        traces = self._trace_parts()
        traced = sum(len(part) for part in traces)
        from mfq.demo.journeys import JourneySampler

        standalone = self._standalone(self.chunk.events - traced)
        return EventColumns.concat([standalone, *traces, JourneySampler(self).sample()])

    def _trace_parts(self) -> list[EventColumns]:
        """Traces whose spans add up to at most ``trace_share`` of the chunk, by template."""
        world = self.world
        budget = math.floor(world.config.trace_share * self.chunk.events)
        sizes = np.array([len(shape.types) for shape in world.shapes])
        candidates = budget // int(sizes.min()) + 1
        context = self._root_context(candidates)
        picks = self._templates(context)
        kept = int(np.searchsorted(np.cumsum(sizes[picks]), budget, "right"))
        context, picks = context.take(np.arange(kept)), picks[:kept]
        return [
            self._traces(shape, context.take(np.flatnonzero(picks == number)))
            for number, shape in enumerate(world.shapes)
            if (picks == number).any()
        ]

    def _templates(self, context: _Context) -> IntArray:
        """A template per trace root; in the incident's surge, more of its service's flows."""
        world, rng = self.world, self.rng
        count = len(context.timestamp_ms)
        picks = np.searchsorted(world.trace_cdf, rng.random(count), "right")
        chosen: IntArray = picks.clip(0, len(world.shapes) - 1)
        if world.surge_extra == 0.0 or len(world.surge_shapes) == 0:
            return chosen
        surge_draw, surge_pick_draw = rng.random((2, count))
        surge_share = world.surge_extra / (1.0 + world.surge_extra)
        surging = world.in_surge(context.region, context.timestamp_ms) & (surge_draw < surge_share)
        surge_pick = np.searchsorted(world.surge_shape_cdf, surge_pick_draw, "right")
        surge_shape = world.surge_shapes[surge_pick.clip(0, len(world.surge_shapes) - 1)]
        surged: IntArray = np.where(surging, surge_shape, chosen)
        return surged

    def _context(self, count: int) -> _Context:
        """Time and region (from the traffic curve), environment, actor, project, user."""
        world, rng = self.world, self.rng
        config = world.config
        cell = np.searchsorted(self.cell_cdf, rng.random(count), "right")
        cell = cell.clip(0, len(self.cell_cdf) - 1)
        bin_local, region = np.divmod(cell, len(REGIONS))
        offset = (rng.random(count) * BIN_MS).astype(np.int64)
        actor = np.searchsorted(world.actor_cdf, rng.random(count), "right")
        actor = actor.clip(0, config.actors - 1)
        elsewhere = np.searchsorted(world.project_cdf, rng.random(count), "right")
        at_home = rng.random(count) < HOME_PROJECT_SHARE
        project = np.where(at_home, world.actor_home[actor], elsewhere).clip(0, config.projects - 1)
        user = (config.users * rng.random(count) ** USER_SKEW).astype(np.int64)
        return _Context(
            bin_local=bin_local,
            region=region,
            timestamp_ms=self.bin_start[bin_local] + offset,
            environment=(rng.random(count) < config.staging_share).astype(np.int64),
            actor=actor,
            project=project,
            user=user.clip(0, config.users - 1),
            key=rng.integers(1, _U64_MAX, size=count, dtype=np.uint64, endpoint=True),
        )

    def draw_version(self, service: IntArray, region: IntArray, bin_local: IntArray) -> IntArray:
        """The version level each event runs, from its service's rollout at that time."""
        adoption = self.adoption[service, region, 1:, bin_local]
        draw = self.rng.random(len(service))
        level: IntArray = (draw[:, None] < adoption).sum(axis=1).astype(np.int64)
        return level

    def draw_behaviour(
        self,
        service: IntArray,
        version: IntArray,
        region: IntArray,
        timestamp_ms: IntArray,
        has_http: BoolArray,
    ) -> _Behaviour:
        """Outcome and own time of spans; the incident decides by each span's own time."""
        world, rng = self.world, self.rng
        count = len(service)
        normal = rng.standard_normal(count)
        fail_draw, kind_draw, client_draw, client_kind_draw, timeout_draw = rng.random((5, count))
        own = world.service_median[service] * np.exp(world.service_sigma[service] * normal)
        rate = world.service_error_rate[service]
        affected = world.affected(service, version, region, timestamp_ms)
        if world.incident is not None:
            spec = world.incident.spec
            rate = np.where(affected, spec.error_rate, rate)
            own = np.where(affected, own * spec.latency_factor, own)
        failed = fail_draw < rate
        kind = np.searchsorted(world.failure_cdf, kind_draw, "right").clip(
            0, len(world.failure_cdf) - 1
        )
        client_kind = np.searchsorted(world.client_cdf, client_kind_draw, "right")
        client_kind = client_kind.clip(0, len(world.client_cdf) - 1)
        client = ~failed & has_http & (client_draw < world.config.client_error_rate)
        timeout = failed & ~affected & world.failure_timeout[kind]
        own = np.where(timeout, TIMEOUT_MS * (1.0 + 0.2 * timeout_draw), own)
        outcome = np.where(client, OUTCOME_CLIENT + client_kind, OUTCOME_OK)
        outcome = np.where(
            failed, np.where(affected, OUTCOME_INCIDENT, OUTCOME_FAILURE + kind), outcome
        )
        slow = (outcome == OUTCOME_OK) & (own > world.service_slow_ms[service])
        outcome = np.where(slow, OUTCOME_SLOW, outcome)
        return _Behaviour(outcome.astype(np.int64), np.round(own.clip(0.5, SPAN_CAP_MS), 1))

    def _standalone(self, count: int) -> EventColumns:
        """Events outside traces: one span each, typed by popularity."""
        world = self.world
        context = self._context(count)
        event_type = self._standalone_types(context)
        service = world.type_service[event_type]
        version = self.draw_version(service, context.region, context.bin_local)
        behaviour = self.draw_behaviour(
            service,
            version,
            context.region,
            context.timestamp_ms,
            world.endpoint_has_http[event_type],
        )
        zeros = np.zeros(count, dtype=np.uint64)
        return EventColumns(
            timestamp_ms=context.timestamp_ms,
            event_type=event_type,
            endpoint=event_type,
            service=service,
            environment=context.environment,
            version=version,
            region=context.region,
            project=context.project,
            actor=context.actor,
            user=np.where(world.type_has_user[event_type], context.user, -1),
            outcome=behaviour.outcome,
            duration_ms=behaviour.self_ms,
            traced=np.zeros(count, dtype=np.bool_),
            trace_hi=zeros,
            trace_lo=zeros,
            span=zeros,
            parent=zeros,
            key=context.key,
            incident_trace=np.zeros(count, dtype=np.bool_),
            journey=zeros,
        )

    def _standalone_types(self, context: _Context) -> IntArray:
        """Zipf-popular types; during the incident's surge, more of its service's types."""
        world, rng = self.world, self.rng
        count = len(context.timestamp_ms)
        rank = np.searchsorted(world.type_cdf, rng.random(count), "right")
        event_type: IntArray = world.type_by_rank[rank.clip(0, len(world.type_cdf) - 1)]
        if world.surge_extra == 0.0:
            return event_type
        surge_draw, surge_type_draw = rng.random((2, count))
        surge_share = world.surge_extra / (1.0 + world.surge_extra)
        surging = world.in_surge(context.region, context.timestamp_ms) & (surge_draw < surge_share)
        surge_pick = np.searchsorted(world.surge_cdf, surge_type_draw, "right")
        surge_type = world.surge_types[surge_pick.clip(0, len(world.surge_cdf) - 1)]
        chosen: IntArray = np.where(surging, surge_type, event_type)
        return chosen

    def _root_context(self, count: int) -> _Context:
        """Contexts of trace roots; in the last chunk, roots leave room for the whole trace."""
        context = self._context(count)
        if self.chunk.is_last:
            start = self.chunk.start_ms(self.world)
            latest = self.world.end_ms - TRACE_BOUND_MS
            scale = (latest - start) / (self.chunk.end_ms(self.world) - start)
            context.timestamp_ms = start + ((context.timestamp_ms - start) * scale).astype(np.int64)
            context.bin_local = (context.timestamp_ms - start) // BIN_MS
        return context

    def _traces(self, shape: TraceShape, context: _Context) -> EventColumns:
        """Whole traces of one template, rooted at the given contexts."""
        world, rng = self.world, self.rng
        count = len(context.timestamp_ms)
        trace_ids = rng.integers(1, _U64_MAX, size=(2, count), dtype=np.uint64, endpoint=True)
        spans = rng.integers(
            1, _U64_MAX, size=(len(shape.types), count), dtype=np.uint64, endpoint=True
        )
        placed = _TracePlacement(self, shape, context)
        placed.place(0, context.timestamp_ms)
        nodes = len(shape.types)
        types = np.repeat(np.array(shape.types, dtype=np.int64), count)
        parents = np.array(
            [spans[p] if p >= 0 else np.zeros(count, np.uint64) for p in shape.parents]
        )
        incident = (placed.outcome == OUTCOME_INCIDENT).any(axis=0)
        user = np.where(world.type_has_user[types], np.tile(context.user, nodes), -1)
        return EventColumns(
            timestamp_ms=placed.start.ravel(),
            event_type=types,
            endpoint=np.repeat(np.array(shape.endpoints, dtype=np.int64), count),
            service=world.type_service[types],
            environment=np.tile(context.environment, nodes),
            version=placed.version.ravel(),
            region=np.tile(context.region, nodes),
            project=np.tile(context.project, nodes),
            actor=np.tile(context.actor, nodes),
            user=user,
            outcome=placed.outcome.ravel(),
            duration_ms=placed.duration.ravel(),
            traced=np.ones(nodes * count, dtype=np.bool_),
            trace_hi=np.tile(trace_ids[0], nodes),
            trace_lo=np.tile(trace_ids[1], nodes),
            span=spans.ravel(),
            parent=parents.ravel(),
            key=np.tile(context.key, nodes),
            incident_trace=np.tile(incident, nodes),
            journey=np.zeros(nodes * count, dtype=np.uint64),
        )


class _TracePlacement:
    """Times, versions and outcomes of a batch of traces of one shape, span by span.

    A span starts, works a little, calls its children one after another (each starting
    after a short gap, on a whole millisecond), then works a little more; so every child
    lies inside its parent's [start, start + duration]. Spans are placed in pre-order,
    so the incident (which depends on a span's own time) is decided with that time known.
    """

    def __init__(self, sampler: ChunkSampler, shape: TraceShape, context: _Context) -> None:
        nodes, count = len(shape.types), len(context.timestamp_ms)
        self.sampler = sampler
        self.shape = shape
        self.context = context
        self.start = np.zeros((nodes, count), dtype=np.int64)
        self.duration = np.zeros((nodes, count), dtype=np.float64)
        self.outcome = np.zeros((nodes, count), dtype=np.int64)
        self.version = np.zeros((nodes, count), dtype=np.int64)

    def place(self, node: int, start_ms: IntArray) -> FloatArray:
        """Place ``node`` and its subtree starting at ``start_ms``; return its durations."""
        sampler, context, world = self.sampler, self.context, self.sampler.world
        count = len(start_ms)
        service = np.full(count, world.type_service[self.shape.types[node]], dtype=np.int64)
        version = sampler.draw_version(service, context.region, context.bin_local)
        has_http = np.full(count, world.endpoint_has_http[self.shape.endpoints[node]])
        behaviour = sampler.draw_behaviour(service, version, context.region, start_ms, has_http)
        own = behaviour.self_ms
        children = self.shape.children[node]
        if children:
            before = np.round(own * 0.3, 1)
            cursor = before.copy()
            for child in children:
                gap = sampler.rng.uniform(0.2, 2.0, count)
                offset = np.ceil(cursor + gap).astype(np.int64)
                cursor = offset + self.place(child, start_ms + offset)
            duration = np.round(cursor + (own - before), 1)
        else:
            duration = own
        self.start[node] = start_ms
        self.duration[node] = duration
        self.outcome[node] = behaviour.outcome
        self.version[node] = version
        return duration
