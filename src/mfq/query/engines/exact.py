"""Sums of floats per group that do not depend on the rows' order or chunks.

Arrow's grouped ``sum``, ``mean`` and ``variance`` of doubles add the rows in the order
they come, batch by batch, so the last bits of an answer follow where the ingest cut its
flushes (the store reads them file by file; a file's question holds its events in time
order). Here each double is cut into integers on a fixed grid of 26-bit limbs, summed
exactly per group and limb (``bincount`` adds integers exactly below 2^53), and the exact
sum rounded once: the answer is a function of the multiset of values alone. A grid too
large to hold (values spanning most of the doubles' exponents, in very many groups) falls
back to a canonical order instead: each group's values sorted, then added in that order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mfq.model.arrays import to_arrow
from mfq.query.engines.rows import Column

#: Bits per limb: a double's 53-bit mantissa spans three limbs, each piece below 2^27.
_LIMB = 26
_MASK = (1 << _LIMB) - 1
#: Rows summed per ``bincount`` (pieces below 2^27: exact in doubles below 2^53).
_ROWS = 1 << 26
#: The most (group, limb) cells held before the sorted fallback.
MAX_CELLS = 1 << 24


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
    valid = np.asarray(floats.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    values = np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)
    if valid.all():
        return values, ids
    return values[valid], ids[valid]


def exact_sums(values: np.ndarray, ids: np.ndarray, count: int) -> np.ndarray:
    """Per group, the sum of ``values`` whatever their order (the exact sum, rounded)."""
    finite = np.isfinite(values)
    sums = np.zeros(count, dtype=np.float64)
    if not finite.all():
        # Infinities and NaN decide their groups alone (inf + -inf is NaN in any order).
        sums += np.bincount(ids[~finite], weights=values[~finite], minlength=count)
        values, ids = values[finite], ids[finite]
    mantissas, exponents = np.frexp(values)
    nonzero = mantissas != 0
    if not nonzero.any():
        return sums
    whole = (mantissas * 2.0**53).astype(np.int64)  # value = whole * 2^(exponent - 53)
    exponents = exponents.astype(np.int64)
    lowest = int(exponents[nonzero].min())
    limbs = (int(exponents[nonzero].max()) - lowest) // _LIMB + 4
    if count * limbs > MAX_CELLS:
        sums += _sorted_sums(values, ids, count)
        return sums
    shift = np.where(nonzero, exponents - lowest, 0)
    first = shift // _LIMB
    offset = shift - first * _LIMB
    size = np.abs(whole)
    low = (size & _MASK) << offset  # below 2^52
    high = (size >> _LIMB) << offset  # below 2^52
    pieces = (low & _MASK, (low >> _LIMB) + (high & _MASK), high >> _LIMB)
    sign = np.where(whole < 0, -1.0, 1.0)
    cells = ids * limbs + first
    grid = np.zeros(count * limbs, dtype=np.int64)
    for start in range(0, len(values), _ROWS):
        part = slice(start, start + _ROWS)
        for step, piece in enumerate(pieces):
            added = np.bincount(
                cells[part] + step, weights=piece[part] * sign[part], minlength=count * limbs
            )
            grid += added.astype(np.int64)
    sums += _rounded(grid.reshape(count, limbs), lowest - 53)
    return sums


def _rounded(grid: np.ndarray, scale: int) -> np.ndarray:
    """Per row of ``grid`` (limbs, lowest first, limb ``k`` worth 2^(26k + scale)), the
    number it holds as the nearest double, near enough (carried into canonical digits
    first, so equal sums give equal doubles)."""
    negative = _carried(grid)[:, -1] < 0
    grid[negative] = -grid[negative]
    _carried(grid)  # every limb now in [0, 2^26): added from the lowest, no cancellation
    total = np.zeros(grid.shape[0], dtype=np.float64)
    for index in range(grid.shape[1]):
        total += np.ldexp(grid[:, index].astype(np.float64), _LIMB * index + scale)
    return np.where(negative, -total, total)


def _carried(grid: np.ndarray) -> np.ndarray:
    """Carries moved up in place: every limb but the last in [0, 2^26)."""
    for index in range(grid.shape[1] - 1):
        carry = grid[:, index] >> _LIMB
        grid[:, index] -= carry << _LIMB
        grid[:, index + 1] += carry
    return grid


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
