"""Sums of floats per group that do not depend on the rows' order or chunks.

Arrow's grouped ``sum``, ``mean`` and ``variance`` of doubles add the rows in the order
they come, batch by batch, so the last bits of an answer follow where the ingest cut
its flushes (the store reads them file by file; a file's question holds its events in
time order). Here each group's sum is made of exact partial sums (``exact_sums``), so the
answer is a function of the multiset of values alone. A group holding a value near the
largest double (where no power of two far enough above it is finite) falls back to a
canonical order instead: its values sorted, then added in that order (order-free, but
not exact: ``1e308 + 1e16 + 1 - 1e16`` loses the 1).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from mfq.model.arrays import to_arrow
from mfq.query.engines.rows import Column

#: The most extraction levels before the sorted fallback: each takes about
#: 52 - log2(n) bits (at least 22), real fields need one to four, values over the
#: doubles' whole range fewer than a hundred (a million such took 0.7 s).
LEVELS = 100


def grouped_sums(terms: Column, ids: np.ndarray, count: int) -> pa.Array:
    """Each group's sum of ``terms`` (doubles), null where a group has none."""
    values, ids = _valid(terms, ids)
    held = np.bincount(ids, minlength=count) > 0
    sums = exact_sums(values, ids, count)
    return to_arrow(sums, pa.float64(), mask=~held)


def grouped_variances(values: Column, ids: np.ndarray, count: int) -> pa.Array:
    """Each group's population variance of ``values`` (two passes: the exact mean, then
    the exact sum of squared distances to it), null where a group has none."""
    floats, ids = _valid(values, ids)
    sizes = np.bincount(ids, minlength=count).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = exact_sums(floats, ids, count) / sizes
        distances = floats - means[ids]
        variances = exact_sums(distances * distances, ids, count) / sizes
    return to_arrow(variances, pa.float64(), mask=sizes == 0)


def _valid(column: Column, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-null values as doubles (integers past 2^53 rounded), with their groups."""
    floats = column.cast(pa.float64(), safe=False)
    values = np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)
    if not floats.null_count:
        return values, ids
    valid = np.asarray(floats.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return values[valid], ids[valid]


def exact_sums(values: np.ndarray, ids: np.ndarray, count: int) -> np.ndarray:
    """Per group, the sum of ``values`` whatever their order.

    Rump, Ogita and Oishi's extraction: with ``sigma`` a power of two far enough above
    every value, ``(sigma + x) - sigma`` is ``x`` rounded to a multiple of ``sigma``'s
    last bit, exactly, and so is the rest ``x - q``; the rounded parts of ``n`` values add
    exactly in doubles in any order (every partial sum is a multiple of that bit, below
    ``sigma``). Each level takes about 52 - log2(n) bits of the values (31 for a million
    rows); the levels' exact sums are added from the smallest, the same way whatever the order
    (a deterministic function of exact sums, within a unit in the last place or so)."""
    sums = np.zeros(count, dtype=np.float64)
    if not len(values):
        return sums
    values = np.asarray(values, dtype=np.float64)
    largest = max(float(values.max()), -float(values.min()))
    if not math.isfinite(largest):
        # Infinities and NaN decide their groups alone (inf + -inf is NaN in any order).
        finite = np.isfinite(values)
        sums += np.bincount(ids[~finite], weights=values[~finite], minlength=count)
        values, ids = values[finite], ids[finite]
        if not len(values):
            return sums
        largest = max(float(values.max()), -float(values.min()))
    room = len(values).bit_length() + 1  # bits a group's sum may grow by
    # A group holding a value with no finite power of two far enough above it (about
    # 1e300 and up at a million rows) is added in its sorted order, alone: the other
    # groups are still extracted exactly.
    huge = np.abs(values) >= math.ldexp(1.0, 1023 - room)
    if huge.any():
        holding = np.zeros(count, dtype=bool)
        holding[ids[huge]] = True
        apart = holding[ids]
        sums += _sorted_sums(values[apart], ids[apart], count)
        values, ids = values[~apart], ids[~apart]
        if not len(values):
            return sums
        largest = max(float(values.max()), -float(values.min()))
    levels: list[np.ndarray] = []
    rest = values
    rounded = np.empty_like(values)
    while largest > 0:
        top = math.frexp(largest)[1] + room  # every |rest| < 2^top / 2^room
        if top > 1023 or len(levels) >= LEVELS:
            sums += _sorted_sums(values, ids, count)
            return sums
        # At least 2^-1022, whose last bit is the smallest subnormal's: every rest is a
        # multiple of it, so none is left as a tie of rounding (2^-1021's last bit is
        # 2^-1073, and a rest of 2^-1074 was never extracted: 100 levels, then the
        # fallback for the whole column).
        sigma = math.ldexp(1.0, max(top, -1022))
        np.add(rest, sigma, out=rounded)
        rounded -= sigma
        rest = rest - rounded if rest is values else np.subtract(rest, rounded, out=rest)
        levels.append(np.bincount(ids, weights=rounded, minlength=count))
        largest = max(float(rest.max()), -float(rest.min()))
    # Added from the smallest with each addition's rounding error kept beside (Knuth's
    # two-sum): levels that cancel (``1e300``, ``-1e300``, ``1``) lose nothing.
    total = np.zeros(count, dtype=np.float64)
    lost = np.zeros(count, dtype=np.float64)
    for level in reversed(levels):
        added = total + level
        part = added - total
        lost += (total - (added - part)) + (level - part)
        total = added
    sums += total + lost
    return sums


def _sorted_sums(values: np.ndarray, ids: np.ndarray, count: int) -> np.ndarray:
    """Per group, its values added in ascending order (the same order however the rows
    came)."""
    order = np.lexsort((values, ids))
    sizes = np.bincount(ids, minlength=count)
    sums = np.zeros(count, dtype=np.float64)
    held = sizes > 0
    if held.any():
        starts = (np.cumsum(sizes) - sizes)[held]
        sums[held] = np.add.reduceat(values[order], starts)
    return sums
