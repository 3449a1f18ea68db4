"""The local engine's grouping: one row per distinct key tuple, one column per aggregate,
in pyarrow and numpy. Rows reduce to each aggregate's state (``algebra``) in one pyarrow
hash grouping, then the states finish; percentiles with counts number the groups in
numpy instead (one pass, no hash table)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.model.arrays import to_arrow
from mfq.query.engines.algebra import TOTAL, Algebra, Kind, algebra_of
from mfq.query.engines.distinct import Digits, distinct_dictionary_rows
from mfq.query.engines.exact import grouped_sums, grouped_variances
from mfq.query.engines.keys import group_index
from mfq.query.engines.plan import AggregatePlan
from mfq.query.engines.quantiles import grouped_quantiles
from mfq.query.engines.rows import Column, SharedMasks, mask_of, plain, weights
from mfq.query.expr import Aggregate

GROUP_ID = "__group"


def bucket_starts(times: Column, step: int) -> Column:
    """Each time's bucket start, ``step`` nanoseconds wide, aligned to the UTC epoch."""
    nanos = pc.cast(times, pa.int64())
    # Floor division in integers (exact to the nanosecond; negative times round down).
    shifted = pc.subtract(nanos, pc.if_else(pc.less(nanos, 0), step - 1, 0))
    return pc.multiply(pc.divide(shifted, step), step).cast(times.type)


def group_table(
    table: pa.Table,
    keys: list[str],
    plan: AggregatePlan,
    seconds: float | None,
    steps: dict[str, int] | None = None,
    masks: SharedMasks | None = None,
) -> pa.Table:
    """One row per distinct key tuple (nulls are a group), one column per aggregate.
    ``steps`` names keys holding times, grouped into buckets of that many nanoseconds
    (aligned to the UTC epoch). ``masks`` holds filter results shared with other queries."""
    steps = steps or {}
    algebras = [(name, aggregate, algebra_of(aggregate)) for name, aggregate in plan.aggregates]
    quantiles = any(a.kind is Kind.QUANTILE for _n, _a, a in algebras)
    if quantiles:
        numbered = _numpy_groups(table, keys, plan, seconds, steps, masks)
        if numbered is not None:
            return numbered
    else:
        table = _without_repeats(table, keys, algebras, steps)
    for key, step in steps.items():
        index = table.schema.get_field_index(key)
        table = table.set_column(index, key, bucket_starts(table.column(key), step))
    # Distinct counts, extremes and percentiles alone need no weights (nor their sums);
    # without group keys the weights still give the work table its rows.
    weighed = not keys or any(a.weighs for _n, _a, a in algebras)
    weight = weights(table, plan.weighted) if weighed else pa.nulls(0, pa.int64())
    work: dict[str, object] = {key: table.column(key) for key in keys}
    wanted: list[tuple[str, str, pc.FunctionOptions | None]] = []
    # Parts summed here rather than by Arrow, whose float sums follow the rows' order.
    exact: dict[tuple[int, str], Column] = {}
    if weighed:
        work[TOTAL] = weight
        wanted.append((TOTAL, "sum", None))
    for index, (_name, aggregate, algebra) in enumerate(algebras):
        values = _values(table, aggregate.field) if algebra.reads_field else None
        if algebra.reads_field and values is None:
            continue  # a field no file holds: no value
        distinct = values is not None and algebra.kind is Kind.COUNT_DISTINCT and not keys
        if distinct and values is not None and pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)  # no ungrouped dictionary kernel
        mask = mask_of(table, aggregate.arg, masks) if aggregate.arg is not None else None
        row_parts = algebra.row_parts(values, weight, mask)
        order_free = _order_free_parts(algebra, row_parts)
        for part in algebra.parts:
            if part.name in order_free:
                exact[(index, part.name)] = row_parts[part.name]
            elif part.name in row_parts:
                column = f"__a{index}{part.name}"
                work[column] = row_parts[part.name]
                wanted.append((column, part.rows, part.options()))
    work_table = pa.table(work).unify_dictionaries()  # each file's dictionary differs
    group_ids: tuple[np.ndarray, int] | None = None
    if quantiles or exact:
        group_ids = _group_ids(work_table, keys, steps)
        work_table = work_table.append_column(GROUP_ID, to_arrow(group_ids[0]))
        wanted.append((GROUP_ID, "min", None))
    grouped = work_table.group_by(keys, use_threads=True).aggregate(
        [(c, f) if o is None else (c, f, o) for c, f, o in wanted]
    )
    total = grouped.column(f"{TOTAL}_sum") if weighed else pa.nulls(grouped.num_rows)
    computed: dict[str, dict[float, np.ndarray]] = {}
    result = plain(grouped.select(keys))
    for index, (name, aggregate, algebra) in enumerate(algebras):
        output: Column
        if algebra.kind is Kind.QUANTILE and group_ids is not None:
            per_group = _quantile_column(
                table, aggregate.field, algebras, group_ids, computed, algebra
            )
            if len(per_group) == 0:  # no events at all: one row, no value
                output = pa.nulls(grouped.num_rows, pa.float64())
            else:
                order = pc.fill_null(grouped.column(f"{GROUP_ID}_min"), 0).to_numpy()
                output = per_group.take(to_arrow(order.astype(np.int64)))
        else:
            parts = {
                part.name: grouped.column(f"__a{index}{part.name}_{part.rows}")
                for part in algebra.parts
                if f"__a{index}{part.name}_{part.rows}" in grouped.column_names
            }
            if group_ids is not None:
                parts.update(_exact_parts(exact, index, group_ids, grouped))
            output = algebra.finish(parts, total, seconds, grouped.num_rows)
        result = result.append_column(name, output)
    return result


def _order_free_parts(algebra: Algebra, row_parts: dict[str, Column]) -> set[str]:
    """The parts whose Arrow reduction depends on the rows' order and chunks: sums of
    doubles (an integer sum is exact, or wraps alike in any order) and the variance."""
    if algebra.kind is Kind.STDDEV and row_parts:
        return {"mean", "var"}  # (the mean is a state for merging; finished from ``var``)
    summed = row_parts.get("s")
    if algebra.kind in (Kind.SUM, Kind.AVG) and summed is not None:
        return {"s"} if pa.types.is_floating(summed.type) else set()
    return set()


def _exact_parts(
    exact: dict[tuple[int, str], Column],
    index: int,
    group_ids: tuple[np.ndarray, int],
    grouped: pa.Table,
) -> dict[str, Column]:
    """The order-free parts of aggregate ``index``, one per row of ``grouped``."""
    ids, count = group_ids
    parts: dict[str, Column] = {}
    for (owner, name), rows in exact.items():
        if owner != index or name == "mean":
            continue
        if count == 0:  # no events at all: one row, no value
            parts[name] = pa.nulls(grouped.num_rows, pa.float64())
            continue
        per_group = (
            grouped_variances(rows, ids, count) if name == "var" else grouped_sums(rows, ids, count)
        )
        order = pc.fill_null(grouped.column(f"{GROUP_ID}_min"), 0).to_numpy()
        parts[name] = per_group.take(to_arrow(order.astype(np.int64)))
    return parts


def _values(table: pa.Table, field: str | None) -> Column | None:
    if field is None or field not in table.column_names:
        return None
    column = table.column(field)
    if pa.types.is_null(column.type):
        # A field of no file the time range keeps (a store's scan of no file types it
        # null): no kernel takes nulls, and events held in memory keep its own type.
        return pc.cast(column, pa.int64())
    return column


def _quantile_column(
    table: pa.Table,
    field: str | None,
    algebras: list[tuple[str, Aggregate, Algebra]],
    group_ids: tuple[np.ndarray, int],
    computed: dict[str, dict[float, np.ndarray]],
    algebra: Algebra,
) -> pa.Array:
    """One percentile per group id, all percentiles of a field from one sort."""
    if field is None or field not in table.column_names:
        return pa.nulls(group_ids[1], pa.float64())
    if field not in computed:
        wanted = sorted(
            {a.quantile for _n, agg, a in algebras if a.quantile is not None and agg.field == field}
        )
        computed[field] = grouped_quantiles(table.column(field), group_ids, wanted)
    assert algebra.quantile is not None
    return to_arrow(computed[field][algebra.quantile])


def _without_repeats(
    table: pa.Table,
    keys: list[str],
    algebras: list[tuple[str, Aggregate, Algebra]],
    steps: dict[str, int],
) -> pa.Table:
    """The rows ``keys`` and the aggregated fields hold, each once (mostly), when every
    aggregate is blind to repeats (distinct counts, minima, maxima of a field) and every
    column is a dictionary or a bucketed time; else ``table`` itself."""
    fields: dict[str, None] = {}
    for _name, aggregate, algebra in algebras:
        if not algebra.repeat_blind or aggregate.arg is not None:
            return table
        field = aggregate.field
        if field is not None and field in table.column_names:
            fields[field] = None
    if not keys and not fields:
        return table  # nothing but the row count of an empty grouping: keep the rows
    columns = list(dict.fromkeys([*keys, *fields]))
    reduced = distinct_dictionary_rows(table.select(columns), steps)
    return table if reduced is None else reduced


@dataclass
class _Groups:
    """Rows numbered by group: ``ids[row]`` in ``0..count-1``, in the order of the groups'
    key tuples; ``keys`` holds each group's key values (one Arrow array per key)."""

    ids: np.ndarray
    count: int
    keys: list[pa.Array]


def _group_ids(table: pa.Table, keys: list[str], steps: dict[str, int]) -> tuple[np.ndarray, int]:
    """A dense group number per row (nulls are a group of their own), and the count."""
    groups = _number_groups(table, keys, steps)
    if groups is not None:
        return groups.ids, groups.count
    return group_index(table, keys)


def _number_groups(table: pa.Table, keys: list[str], steps: dict[str, int]) -> _Groups | None:
    """Number the groups of ``keys``. Time buckets (``steps``: key -> width in ns) are
    numbered arithmetically, not hashed; text keys by their dictionary index. None when
    a time is missing or the key space is too large to number this way."""
    rows = table.num_rows
    ids = np.zeros(rows, dtype=np.int64)
    size = 1
    digits: list[Digits] = []
    for key in keys:
        column = table.column(key).combine_chunks()
        if key in steps:
            digit = Digits.of_buckets(column, steps[key])
        else:
            encoded = (
                column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
            )
            digit = Digits.of_dictionary(encoded)
        if digit is None:
            return None
        ids = ids * digit.width + digit.numbers
        size *= digit.width
        digits.append(digit)
        if size > 2**40:
            return None
    if size <= 4 * max(rows, 1):
        present = np.bincount(ids, minlength=size) > 0
        codes = np.flatnonzero(present)
        ids = (np.cumsum(present) - 1)[ids]
    else:
        codes, ids = np.unique(ids, return_inverse=True)
    values: list[pa.Array] = []
    for digit in reversed(digits):
        codes, numbers = np.divmod(codes, digit.width)
        values.append(digit.plain_values(numbers))
    return _Groups(ids, len(values[0]) if values else int(rows > 0), values[::-1])


#: What :func:`_numpy_groups` computes: percentiles, and states of weights and masks.
_BY_BINCOUNT = {Kind.COUNT, Kind.COUNT_IF, Kind.RATIO, Kind.RATE, Kind.QUANTILE}


def _numpy_groups(
    table: pa.Table,
    keys: list[str],
    plan: AggregatePlan,
    seconds: float | None,
    steps: dict[str, int],
    masks: SharedMasks | None,
) -> pa.Table | None:
    """Percentiles with counts and ratios, grouped by numbering the groups in numpy (one
    pass, no hash table): the states summed with ``bincount``, then finished as
    ``algebra`` says; None when other aggregates need pyarrow's grouping."""
    algebras = [(name, a, algebra_of(a)) for name, a in plan.aggregates]
    if not table.num_rows or any(a.kind not in _BY_BINCOUNT for _n, _a, a in algebras):
        return None
    groups = _number_groups(table, keys, steps)
    if groups is None:
        return None
    result = pa.table(dict(zip(keys, groups.keys, strict=True)))
    if not keys:
        result = pa.table({"__rows": pa.nulls(groups.count)})
    weight: np.ndarray | None = None
    total: pa.Array | None = None
    computed: dict[str, dict[float, np.ndarray]] = {}
    ids = (groups.ids, groups.count)
    for name, aggregate, algebra in algebras:
        if algebra.kind is Kind.QUANTILE:
            output = _quantile_column(table, aggregate.field, algebras, ids, computed, algebra)
            result = result.append_column(name, output)
            continue
        if weight is None:
            weight = np.asarray(weights(table, plan.weighted).to_numpy(), dtype=np.float64)
            total = _summed(groups.ids, weight, groups.count)
        assert total is not None
        parts: dict[str, Column] = {}
        if aggregate.arg is not None:
            mask = mask_of(table, aggregate.arg, masks)
            held = mask.to_numpy(zero_copy_only=False).astype(np.float64) * weight
            parts["m"] = _summed(groups.ids, held, groups.count)
        output = algebra.finish(parts, total, seconds, groups.count)
        result = result.append_column(name, output)
    return result.drop_columns(["__rows"]) if not keys else result


def _summed(ids: np.ndarray, weight: np.ndarray, count: int) -> pa.Array:
    """Integer weights summed per group (exact: ``bincount`` adds whole numbers in
    floating point, far below 2**53)."""
    return to_arrow(np.rint(np.bincount(ids, weights=weight, minlength=count)).astype(np.int64))
