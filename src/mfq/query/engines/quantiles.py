"""Exact percentiles per group: linear between closest ranks, as numpy's default and
DuckDB's ``quantile_cont``, to the last bit of numpy's own answer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: Up to this many groups, one partial sort per group (fast for few large groups);
#: beyond, one sort of all the values by (group, value) and no loop over groups.
LOOP_GROUPS = 50_000


def grouped_quantiles(
    column: pa.ChunkedArray | pa.Array, group_ids: tuple[np.ndarray, int], quantiles: list[float]
) -> dict[float, np.ndarray]:
    """Exact percentiles per group; NaN for a group without values."""
    ids, count = group_ids
    # Integers past 2^53 are taken as the nearest double, as DuckDB's quantile_cont does.
    values = column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    missing = np.isnan(values)
    if missing.any():
        ids, values = ids[~missing], values[~missing]
    if count > LOOP_GROUPS:
        return _sorted_quantiles(values, ids, count, quantiles)
    # A stable sort by group (radix for small ids) keeps each group's values together.
    kind_ids = ids.astype(np.uint16) if count < 2**16 else ids
    values = values[np.argsort(kind_ids, kind="stable")]
    counts = np.bincount(ids, minlength=count)
    ends = np.cumsum(counts)
    fractions = np.asarray(quantiles, dtype=np.float64)
    result = np.full((len(quantiles), count), np.nan)
    for group in np.flatnonzero(counts):
        size = int(counts[group])
        part = values[ends[group] - size : ends[group]]
        # The ranks each percentile lies between, found by one partial sort.
        position = fractions * (size - 1)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, size - 1)
        # (The ranks deduplicated in Python: np.unique would import numpy.ma.)
        ranked = np.partition(part, sorted({*below.tolist(), *above.tolist()}))
        low, high = ranked[below], ranked[above]
        result[:, group] = lerp(low, high, position - below)
    return {q: result[i] for i, q in enumerate(quantiles)}


def _sorted_quantiles(
    values: np.ndarray, ids: np.ndarray, count: int, quantiles: list[float]
) -> dict[float, np.ndarray]:
    """Many small groups: every group's ranks read from one sort by (group, value)."""
    order = np.lexsort((values, ids))
    ranked = values[order]
    counts = np.bincount(ids, minlength=count)
    starts = np.cumsum(counts) - counts
    present = counts > 0
    sizes = counts[present]
    first = starts[present]
    result: dict[float, np.ndarray] = {}
    for quantile in quantiles:
        position = quantile * (sizes - 1).astype(np.float64)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, sizes - 1)
        answer = np.full(count, np.nan)
        answer[present] = lerp(ranked[first + below], ranked[first + above], position - below)
        result[quantile] = answer
    return result


def lerp(low: np.ndarray, high: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Linear interpolation written as numpy's quantile writes it (from the nearer end),
    so the results are the same to the last bit.

    Two finite values more than the largest float apart (``-1.7e308`` and ``1e300``) have
    no finite difference: there the weighted sum, which cannot overflow, is the answer
    (numpy's own quantile would answer infinity or NaN, with a warning)."""
    with np.errstate(over="ignore", invalid="ignore"):
        step = high - low
        nearer = np.where(fraction >= 0.5, high - step * (1 - fraction), low + step * fraction)
        wide = np.isinf(step) & np.isfinite(low) & np.isfinite(high)
        if np.any(wide):
            weighted = low * (1 - fraction) + high * fraction
            nearer = np.where(wide, weighted, nearer)
    return np.asarray(nearer)
