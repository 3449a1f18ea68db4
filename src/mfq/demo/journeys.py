"""Order journeys: the chains of events sharing a ``correlation_id`` (see
:class:`mfq.demo.config.JourneySpec`), drawn per chunk from a random stream of their own.

Orders start in their chunk like other events (by the traffic curve); their later steps
may fall in later chunks (the generator carries events across chunks) and are left out
when they fall after the export's end. Each order is numbered (chunk, position), so
correlation ids are unique.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mfq.demo.catalog import PAYMENT_DECLINED, REGIONS
from mfq.demo.sampling import ChunkSampler, EventColumns
from mfq.demo.traffic import BIN_MS
from mfq.demo.world import (
    HOUR_MS,
    MINUTE_MS,
    OUTCOME_CLIENT,
    OUTCOME_OK,
    BoolArray,
    FloatArray,
    IntArray,
    region_index,
    service_index,
    type_index,
)

#: Median and spread (lognormal) and cap of the delay before each step, in milliseconds.
PAYMENT_DELAY = (40_000.0, 0.8, 10 * MINUTE_MS)
PACKING_DELAY = (30 * MINUTE_MS, 0.6, 3 * HOUR_MS)
SHIPPING_DELAY = (3 * HOUR_MS, 0.5, 8 * HOUR_MS)
CANCEL_DELAY = (20 * MINUTE_MS, 0.7, 2 * HOUR_MS)
#: Every journey that is not stuck has ended this long after its order was created.
LONGEST_JOURNEY = PAYMENT_DELAY[2] + PACKING_DELAY[2] + SHIPPING_DELAY[2]
#: The most events a journey has (placed, paid, packed, dispatched).
_EVENTS_PER_JOURNEY = 4
#: Correlation ids: ``(chunk + 1) * ORDER_BLOCK + position``.
ORDER_BLOCK = 1_000_000

STEP_TYPES = ("order.placed", "order.paid", "order.packed", "order.dispatched")
DECLINED, CANCELLED = "order.payment_declined", "order.cancelled"


@dataclass
class _Orders:
    """Drawn orders: when, where, by whom, and their number."""

    timestamp_ms: IntArray
    region: IntArray
    bin_local: IntArray
    environment: IntArray
    actor: IntArray
    project: IntArray
    user: IntArray
    key: IntArray
    ids: IntArray


class JourneySampler:
    """Draws one chunk's order journeys as event columns."""

    def __init__(self, sampler: ChunkSampler) -> None:
        self.sampler = sampler
        self.world = sampler.world
        self.spec = self.world.config.journeys
        self.rng = np.random.default_rng([self.world.config.seed, 2, sampler.chunk.index])

    def sample(self) -> EventColumns:
        """The journeys started in the chunk: at most ``share`` of its other events."""
        spec = self.spec
        if spec is None or spec.share == 0.0:
            return _empty()
        count = int(spec.share * self.sampler.chunk.events) // _EVENTS_PER_JOURNEY
        if count == 0:
            return _empty()
        parts = [self._steps(self._orders(count))]
        chunk = self.sampler.chunk
        if chunk.index == 0:
            # Orders placed before the export began, whose later steps fall inside it: an
            # export cuts journeys at its start as at its end (without them, dispatches
            # would be missing from the first hours).
            span = (chunk.end_bin - chunk.first_bin) * BIN_MS
            parts.insert(0, self._steps(self._orders(int(count * LONGEST_JOURNEY / span), True)))
        columns = EventColumns.concat(parts)
        inside = (columns.timestamp_ms >= self.world.start_ms) & (
            columns.timestamp_ms < self.world.end_ms
        )
        return columns.take(np.flatnonzero(inside))

    def _orders(self, count: int, before_start: bool = False) -> _Orders:
        rng, sampler = self.rng, self.sampler
        cell = np.searchsorted(sampler.cell_cdf, rng.random(count), "right")
        bin_local, region = np.divmod(cell.clip(0, len(sampler.cell_cdf) - 1), len(REGIONS))
        offset = (rng.random(count) * BIN_MS).astype(np.int64)
        times = sampler.bin_start[bin_local] + offset
        if before_start:
            times = self.world.start_ms - 1 - (rng.random(count) * LONGEST_JOURNEY).astype(np.int64)
            bin_local = np.zeros(count, dtype=np.int64)  # the rollouts as at the start
        order = np.argsort(times, kind="stable")
        return _Orders(
            timestamp_ms=times[order],
            region=region[order],
            bin_local=bin_local[order],
            # Production's orders service (the busiest actor, so the other events' actors
            # and projects are what they were without journeys; no user_id either).
            environment=np.zeros(count, dtype=np.int64),
            actor=np.zeros(count, dtype=np.int64),
            project=np.full(count, self.world.actor_home[0], dtype=np.int64),
            user=np.full(count, -1, dtype=np.int64),
            key=rng.integers(1, 2**63 - 1, size=count, dtype=np.int64),
            # Orders placed before the export are numbered in block 0, from 1 (0 is none).
            ids=(0 if before_start else sampler.chunk.index + 1) * ORDER_BLOCK
            + np.arange(count, dtype=np.int64)
            + (1 if before_start else 0),
        )

    def _version(self, service: int, orders: _Orders) -> IntArray:
        adoption = self.sampler.adoption[service, orders.region, 1:, orders.bin_local]
        draw = self.rng.random(len(orders.region))
        level: IntArray = (draw[:, None] < adoption).sum(axis=1).astype(np.int64)
        return level

    def _delay(self, shape: tuple[float, float, int], count: int) -> IntArray:
        median, sigma, cap = shape
        drawn = median * np.exp(sigma * self.rng.standard_normal(count))
        delay: IntArray = np.minimum(drawn, cap).astype(np.int64) + 1
        return delay

    def _steps(self, orders: _Orders) -> EventColumns:
        """Every order's events: placed, paid or declined, cancelled or packed, dispatched."""
        spec = self.spec
        assert spec is not None
        world, rng = self.world, self.rng
        count = len(orders.timestamp_ms)
        orders_service = service_index("orders")
        version = self._version(orders_service, orders)
        versions = world.versions[orders_service]
        drop_level = versions.index(spec.drop_version) if spec.drop_version in versions else -1
        in_drop = (version == drop_level) & (orders.region == region_index(spec.drop_region))
        declined_draw, cancel_draw, stuck_draw = rng.random((3, count))
        declined = declined_draw < np.where(in_drop, spec.drop_rate, spec.decline_rate)
        cancelled = ~declined & (cancel_draw < spec.cancel_rate)
        stuck = ~declined & ~cancelled & (stuck_draw < spec.stuck_rate)
        paid_at = orders.timestamp_ms + self._delay(PAYMENT_DELAY, count)
        cancelled_at = paid_at + self._delay(CANCEL_DELAY, count)
        packed_at = paid_at + self._delay(PACKING_DELAY, count)
        dispatched_at = packed_at + self._delay(SHIPPING_DELAY, count)
        everyone = np.ones(count, dtype=np.bool_)
        packed = ~declined & ~cancelled
        parts = [
            (everyone, STEP_TYPES[0], orders.timestamp_ms, OUTCOME_OK),
            (declined, DECLINED, paid_at, OUTCOME_CLIENT + PAYMENT_DECLINED),
            (~declined, STEP_TYPES[1], paid_at, OUTCOME_OK),
            (cancelled, CANCELLED, cancelled_at, OUTCOME_OK),
            (packed, STEP_TYPES[2], packed_at, OUTCOME_OK),
            (packed & ~stuck, STEP_TYPES[3], dispatched_at, OUTCOME_OK),
        ]
        return EventColumns.concat([self._part(orders, version, *part) for part in parts])

    def _part(
        self,
        orders: _Orders,
        version: IntArray,
        rows: BoolArray,
        name: str,
        at: IntArray,
        outcome: int,
    ) -> EventColumns:
        """One step's events, for the orders in ``rows`` (one version serves an order)."""
        world = self.world
        picked = np.flatnonzero(rows)
        count = len(picked)
        event_type = type_index(name)
        service = int(world.type_service[event_type])
        median = float(world.service_median[service])
        own: FloatArray = np.round(
            median * np.exp(world.service_sigma[service] * self.rng.standard_normal(count)), 1
        ).clip(0.5, None)
        zeros = np.zeros(count, dtype=np.uint64)
        return EventColumns(
            timestamp_ms=at[picked],
            event_type=np.full(count, event_type, dtype=np.int64),
            endpoint=np.full(count, event_type, dtype=np.int64),
            service=np.full(count, service, dtype=np.int64),
            environment=orders.environment[picked],
            version=version[picked],
            region=orders.region[picked],
            project=orders.project[picked],
            actor=orders.actor[picked],
            user=orders.user[picked],
            outcome=np.full(count, outcome, dtype=np.int64),
            duration_ms=own,
            traced=np.zeros(count, dtype=np.bool_),
            trace_hi=zeros,
            trace_lo=zeros,
            span=zeros,
            parent=zeros,
            key=orders.key[picked].astype(np.uint64),
            incident_trace=np.zeros(count, dtype=np.bool_),
            journey=orders.ids[picked].astype(np.uint64),
        )


def _empty() -> EventColumns:
    ints = np.zeros(0, dtype=np.int64)
    words = np.zeros(0, dtype=np.uint64)
    flags = np.zeros(0, dtype=np.bool_)
    return EventColumns(
        timestamp_ms=ints,
        event_type=ints,
        endpoint=ints,
        service=ints,
        environment=ints,
        version=ints,
        region=ints,
        project=ints,
        actor=ints,
        user=ints,
        outcome=ints,
        duration_ms=np.zeros(0, dtype=np.float64),
        traced=flags,
        trace_hi=words,
        trace_lo=words,
        span=words,
        parent=words,
        key=words,
        incident_trace=flags,
        journey=words,
    )
