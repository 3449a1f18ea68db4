"""How many events fall into which stretch of time: the traffic curve cut into chunks.

The range is divided into one-minute bins weighted by :meth:`World.region_weights`. Chunks
are runs of whole bins holding about ``chunk_events`` events each; their exact counts come
from the cumulative curve, so they always add up to the configured total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mfq.demo.world import MINUTE_MS, IntArray, World

#: Width of a traffic bin.
BIN_MS = MINUTE_MS
#: The last chunk spans at least this many bins, so trace roots fit before the end.
MIN_LAST_CHUNK_BINS = 10


@dataclass(frozen=True)
class Chunk:
    """A run of bins ``[first_bin, end_bin)`` and the number of events generated in it."""

    index: int
    first_bin: int
    end_bin: int
    events: int
    is_last: bool

    def start_ms(self, world: World) -> int:
        """Epoch milliseconds at which the chunk starts."""
        return world.start_ms + self.first_bin * BIN_MS

    def end_ms(self, world: World) -> int:
        """Epoch milliseconds at which the chunk ends (exclusive)."""
        return world.start_ms + self.end_bin * BIN_MS


def bin_starts(world: World, first_bin: int, end_bin: int) -> IntArray:
    """Epoch milliseconds at which the bins ``[first_bin, end_bin)`` start."""
    return world.start_ms + np.arange(first_bin, end_bin, dtype=np.int64) * BIN_MS


def plan_chunks(world: World) -> list[Chunk]:
    """Cut the range into chunks of about ``chunk_events`` events whose counts sum exactly."""
    config = world.config
    if config.events == 0:
        return []
    bins = (world.end_ms - world.start_ms) // BIN_MS
    weights = world.region_weights(bin_starts(world, 0, bins) + BIN_MS // 2).sum(axis=1)
    cumulative = np.concatenate(([0.0], np.cumsum(weights)))
    cumulative /= cumulative[-1]
    cumulative[-1] = 1.0
    wanted = math.ceil(config.events / config.chunk_events)
    targets = np.arange(1, wanted, dtype=np.float64) / wanted
    inner = np.unique(np.searchsorted(cumulative, targets).clip(1, bins - 1))
    edges = [0, *(int(edge) for edge in inner), bins]
    if len(edges) > 2 and edges[-1] - edges[-2] < MIN_LAST_CHUNK_BINS:
        del edges[-2]
    totals = np.floor(cumulative[edges] * config.events).astype(np.int64)
    totals[-1] = config.events
    return [
        Chunk(
            index=number,
            first_bin=edges[number],
            end_bin=edges[number + 1],
            events=int(totals[number + 1] - totals[number]),
            is_last=number == len(edges) - 2,
        )
        for number in range(len(edges) - 1)
    ]
