"""The aggregate algebra: for each aggregate of the registry, its partial state, how rows
reduce to a state, how states merge, how a state finishes into the answer, and the
answer over no events. The local engine reduces a table's rows per group and finishes;
the Dask engine reduces each file's rows, merges the states in a tree, then finishes the
same way. Nothing else says what an aggregate means.

A state is one row per group: the group's weight (``TOTAL``: the events its rows stand
for) and each aggregate's parts, named ``{prefix}{part}``. Parts merge by ``sum``,
``min`` or ``max``, or (``stddev``) by Chan et al.'s update of count, mean and variance,
so no large sums of squares cancel. Distinct counts and percentiles are *holistic*: their
state is every value of the group (a set, a list), which the engines bring together
before finishing (the local engine has them at hand; Dask shuffles them by group key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.errors import UnsupportedOperation, UsageError
from mfq.model.arrays import to_arrow
from mfq.query.engines.rows import Column
from mfq.query.expr import Aggregate, aggregate_spec

#: A state's column holding the group's weight (the events its rows stand for).
TOTAL = "__w"
#: How a part merges when states are Chan's moments (``stddev``).
MOMENTS = "moments"
RATE_NEEDS_RANGE = "rate needs a time range (--since/--until or --last)"


class Kind(StrEnum):
    """What an aggregate computes, as far as states go."""

    COUNT = "count"
    COUNT_IF = "count_if"
    RATIO = "ratio"
    RATE = "rate"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    STDDEV = "stddev"
    COUNT_DISTINCT = "count_distinct"
    QUANTILE = "quantile"


@dataclass(frozen=True)
class Part:
    """One column of a state: the pyarrow hash aggregate that reduces rows to it, and
    the one that merges states (``MOMENTS``: Chan's update; None: the part is holistic)."""

    name: str
    rows: str
    merge: str | None

    def options(self) -> pc.FunctionOptions | None:
        """The reduction's options (built here: options do not pickle everywhere)."""
        if self.rows == "variance":
            return pc.VarianceOptions(ddof=0)
        if self.rows == "count_distinct":
            return pc.CountOptions(mode="only_valid")
        return None


_WEIGHED = frozenset({Kind.COUNT, Kind.COUNT_IF, Kind.RATIO, Kind.RATE, Kind.SUM, Kind.AVG})
_ZERO_WHEN_EMPTY: Mapping[Kind, int | float] = {
    Kind.COUNT: 0,
    Kind.COUNT_IF: 0,
    Kind.COUNT_DISTINCT: 0,
    Kind.RATE: 0.0,
}
_PARTS: Mapping[Kind, tuple[Part, ...]] = {
    Kind.COUNT: (),
    Kind.COUNT_IF: (Part("m", "sum", "sum"),),
    Kind.RATIO: (Part("m", "sum", "sum"),),
    Kind.RATE: (),
    # ``f``: an integer field's sum as floats too, the answer where ``s`` (int64, whose
    # sums wrap) would not hold it (see ``_sum``).
    Kind.SUM: (Part("s", "sum", "sum"), Part("f", "sum", "sum")),
    Kind.AVG: (Part("s", "sum", "sum"), Part("c", "sum", "sum"), Part("f", "sum", "sum")),
    Kind.MIN: (Part("min", "min", "min"),),
    Kind.MAX: (Part("max", "max", "max"),),
    Kind.STDDEV: (
        Part("n", "sum", "sum"),
        Part("mean", "mean", MOMENTS),
        Part("var", "variance", MOMENTS),
    ),
    Kind.COUNT_DISTINCT: (Part("d", "count_distinct", None),),
    Kind.QUANTILE: (),
}


@dataclass(frozen=True)
class Algebra:
    """One aggregate as states: its parts, what it weighs, its answer over no events."""

    kind: Kind
    quantile: float | None = None

    @property
    def parts(self) -> tuple[Part, ...]:
        """The state's columns for this aggregate (besides the group's ``TOTAL``)."""
        return _PARTS[self.kind]

    @property
    def weighs(self) -> bool:
        """Whether each event counts ``sample_rate`` times."""
        return self.kind in _WEIGHED

    @property
    def holistic(self) -> bool:
        """Whether the state is every value of the group (no merge of small states)."""
        return self.kind in (Kind.COUNT_DISTINCT, Kind.QUANTILE)

    @property
    def repeat_blind(self) -> bool:
        """Whether a repeated row leaves the answer unchanged."""
        return self.kind in (Kind.COUNT_DISTINCT, Kind.MIN, Kind.MAX)

    @property
    def reads_field(self) -> bool:
        """Whether the aggregate reads a field's values (not weights or a filter)."""
        return self.kind not in (Kind.COUNT, Kind.COUNT_IF, Kind.RATIO, Kind.RATE)

    @property
    def empty(self) -> int | float | None:
        """The answer over no events: 0 for counts, 0.0 for a rate, else no value."""
        return _ZERO_WHEN_EMPTY.get(self.kind)

    def row_parts(
        self, values: Column | None, weight: Column, mask: Column | None
    ) -> dict[str, Column]:
        """Each row as a state of its own: the columns the parts reduce, by part name.
        ``values`` is the field's column, ``mask`` the filter's result (filtered ones)."""
        if self.kind in (Kind.COUNT_IF, Kind.RATIO):
            assert mask is not None
            return {"m": pc.if_else(mask, weight, 0)}
        if values is None or self.kind in (Kind.COUNT, Kind.RATE, Kind.QUANTILE):
            return {}
        if self.kind is Kind.SUM:
            return {"s": pc.multiply(values, weight), **_float_sum(values, weight)}
        if self.kind is Kind.AVG:
            return {
                "s": pc.multiply(values, weight),
                "c": pc.if_else(pc.is_valid(values), weight, 0),
                **_float_sum(values, weight),
            }
        if self.kind is Kind.STDDEV:
            floats = pc.cast(values, pa.float64(), safe=False)  # (integers past 2^53 round)
            return {"n": pc.cast(pc.is_valid(floats), pa.int64()), "mean": floats, "var": floats}
        return {self.parts[0].name: values}

    def finish(
        self, parts: Mapping[str, Column], total: Column, seconds: float | None, rows: int
    ) -> Column:
        """The answer per group from its state (``parts`` by part name, ``total`` the
        weights). A field missing from every file has no parts: no value."""
        kind = self.kind
        if kind is Kind.COUNT:
            return pc.fill_null(total, 0)
        if kind is Kind.RATE:
            if not seconds:
                raise UsageError(RATE_NEEDS_RANGE)
            return pc.divide(pc.cast(pc.fill_null(total, 0), pa.float64()), seconds)
        if kind is Kind.COUNT_IF:
            return pc.fill_null(parts["m"], 0)
        if kind is Kind.RATIO:
            return pc.divide(pc.cast(parts["m"], pa.float64()), total)
        if not parts:
            return pa.nulls(rows, pa.float64())
        if kind is Kind.SUM:
            return _sum(parts)
        if kind is Kind.AVG:
            return pc.divide(pc.cast(_sum(parts), pa.float64(), safe=False), parts["c"])
        if kind is Kind.STDDEV:
            return _stddev(parts)
        return parts[self.parts[0].name]


def algebra_of(aggregate: Aggregate) -> Algebra:
    """The algebra of one aggregate of a query."""
    spec = aggregate_spec(aggregate.func)
    if spec is None:
        raise UnsupportedOperation(f"aggregate {aggregate.func!r} is not supported")
    if spec.quantile is not None:
        return Algebra(Kind.QUANTILE, spec.quantile)
    if spec.name == "count" and aggregate.arg is not None:
        return Algebra(Kind.COUNT_IF)
    if spec.name not in set(Kind):
        # A registry entry without an algebra is refused, never guessed at.
        raise UnsupportedOperation(f"aggregate {spec.name!r} is not supported by the engines")
    return Algebra(Kind(spec.name))


def _float_sum(values: Column, weight: Column) -> dict[str, Column]:
    """An integer field's weighted values as floats (the part ``f``); nothing for others."""
    if not pa.types.is_integer(values.type):
        return {}
    floats = pc.cast(values, pa.float64(), safe=False)
    return {"f": pc.multiply(floats, pc.cast(weight, pa.float64()))}


#: Where an integer sum's floats reach this, its int64 sum may have wrapped (a margin
#: below 2^63 for the floats' rounding).
_WRAPS = float(2**62)


def _sum(parts: Mapping[str, Column]) -> Column:
    """The sums: int64, exact, unless some group's sum is past int64's range, where
    int64 wraps (``2^62 * 3`` summed to ``-4611686018427387903``): then every group's as
    floats (DuckDB keeps such a sum exact in a 128-bit integer; a double's 15-17 digits
    are the nearest a column of Arrow's types holds)."""
    floats = parts.get("f")
    if floats is not None and len(floats):
        largest = pc.max(pc.abs(floats)).as_py()
        if largest is not None and largest >= _WRAPS:
            return _unwrapped(parts["s"], floats)
    return parts["s"]


def _unwrapped(wrapped: Column, floats: Column) -> Column:
    """The exact sums from the int64 ones (right modulo 2^64, in any order of the rows)
    and the floats' (within far less than 2^63 of the exact sum, but with last bits that
    follow the rows' order): as int64 when every one fits, else each rounded once to the
    nearest double, so the answer does not depend on how the rows came."""
    exact: list[int | None] = []
    for low, near in zip(wrapped.to_pylist(), floats.to_pylist(), strict=True):
        if low is None or near is None:
            exact.append(None)
            continue
        exact.append(low + round((near - low) / 2**64) * 2**64)
    if all(value is None or -(2**63) <= value < 2**63 for value in exact):
        return pa.array(exact, pa.int64())
    return pa.array([None if value is None else float(value) for value in exact], pa.float64())


def _stddev(parts: Mapping[str, Column]) -> pa.Array:
    """The sample standard deviation from count and population variance."""
    count = _floats(parts["n"])
    variance = _floats(parts["var"])
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.sqrt(variance * count / (count - 1))
    return to_arrow(np.where(count > 1, result, np.nan), pa.float64())


def merge_moments(
    counts: np.ndarray, means: np.ndarray, variances: np.ndarray, ids: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chan et al.'s pairwise update of states ``i`` into their groups ``ids``:
    n = Σnᵢ, mean = Σnᵢ·meanᵢ / n, M2 = Σ(M2ᵢ + nᵢ·(meanᵢ − mean)²), variance = M2 / n."""
    mean_i = np.nan_to_num(means)
    m2_i = np.nan_to_num(variances) * counts
    n = np.bincount(ids, weights=counts, minlength=groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(ids, weights=counts * mean_i, minlength=groups) / n
        spread = m2_i + counts * (mean_i - np.nan_to_num(mean)[ids]) ** 2
        variance = np.bincount(ids, weights=spread, minlength=groups) / n
    return n, mean, variance


def _floats(column: Column) -> np.ndarray:
    values: np.ndarray = (
        pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False).astype(np.float64)
    )
    return values
