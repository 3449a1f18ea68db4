"""The pandas engine: pyarrow scans with pushed-down filters, then grouping and exact
aggregates in pandas (percentiles interpolate linearly, as numpy and DuckDB's
``quantile_cont``; ``count_distinct`` is exact; ``sum``/``avg`` ignore nulls)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from mfq.errors import UnsupportedOperation, UsageError
from mfq.query.engines.arrow import (
    BUCKET,
    COUNTING,
    OTHER,
    TOTAL,
    WEIGHT,
    ZERO_WHEN_EMPTY,
    AggregatePlan,
    SharedMasks,
    aggregate_rows,
    default_fields,
    dictionary_fields,
    distinct_only_fields,
    evaluate_mask,
    events_table,
    group_table,
    grouped_quantiles,
    having_aggregates,
    plain,
    seconds_of,
    series_groups,
)
from mfq.query.engines.computed import (
    add_computed_frame,
    first_column,
    frame_values,
    hidden_name,
    output_columns,
)
from mfq.query.expr import (
    Aggregate,
    And,
    Arith,
    Call,
    Compare,
    CompareOp,
    Expr,
    Field,
    Literal,
    NamedAggregate,
    Not,
    Or,
    aggregate_spec,
    aggregates_in,
    referenced_fields,
    to_text,
)
from mfq.query.grid import check_grid
from mfq.query.scan import scan
from mfq.query.spec import QueryKind, QuerySpec
from mfq.query.timerange import auto_width

if TYPE_CHECKING:
    from mfq.query.source import EventSource

__all__ = [
    "BUCKET",
    "OTHER",
    "TOTAL",
    "AggregatePlan",
    "default_fields",
    "execute",
    "execute_many",
    "fill_gaps",
    "finish_groups",
    "finish_series",
    "floor_times",
    "grouped_quantiles",
    "having_aggregates",
]

Series = pd.Series  # the engine's columns hold any dtype


def execute(store: EventSource, spec: QuerySpec) -> pd.DataFrame:
    """Run ``spec`` against ``store``."""
    if spec.kind is QueryKind.EVENTS:
        return _events(store, spec)
    if spec.kind is QueryKind.TIMESERIES:
        return _timeseries(store, spec)
    return _aggregate(store, spec)


# -- events ---------------------------------------------------------------------------------


def _events(store: EventSource, spec: QuerySpec) -> pd.DataFrame:
    return cast(pd.DataFrame, events_table(store, spec).to_pandas())


# -- aggregates -----------------------------------------------------------------------------


def _frame(table: pa.Table, plan: AggregatePlan) -> pd.DataFrame:
    """The scanned rows as pandas, with weights and one mask column per filtered aggregate."""
    frame = cast(pd.DataFrame, plain(table).to_pandas())
    if plan.weighted and "sample_rate" in frame:
        frame[WEIGHT] = frame["sample_rate"].fillna(1).astype("int64")
    else:
        frame[WEIGHT] = np.ones(len(frame), dtype="int64")
    for name, aggregate in plan.aggregates:
        if aggregate.arg is not None:
            mask = evaluate_mask(table, aggregate.arg)
            frame[f"__mask {name}"] = mask.to_numpy(zero_copy_only=False)
    return frame


def _aggregate_groups(
    frame: pd.DataFrame, keys: list[str], plan: AggregatePlan, seconds: float | None
) -> pd.DataFrame:
    """One row per distinct key tuple (nulls are a group), one column per aggregate."""
    grouped_keys = keys or ["__all"]
    if not keys:
        frame = frame.assign(__all=0)
    groups = frame.groupby(grouped_keys, dropna=False, sort=False)
    result = pd.DataFrame(index=groups.size().index)
    for name, aggregate in plan.aggregates:
        result[name] = _one_aggregate(frame, groups, name, aggregate, seconds)
    result = result.reset_index()
    if not keys:
        result = result.drop(columns=["__all"])
        if result.empty:  # no events: still one row, counts are 0 (as SQL's count(*))
            result = pd.DataFrame({name: [_empty_value(a.func)] for name, a in plan.aggregates})
    return result


def _empty_value(func: str) -> float:
    """An aggregate over no events: 0 for counts, 0.0 for a rate, else no value."""
    if func in COUNTING:
        return 0
    return 0.0 if func in ZERO_WHEN_EMPTY else np.nan


def _one_aggregate(
    frame: pd.DataFrame, groups: Any, name: str, aggregate: Aggregate, seconds: float | None
) -> Series:
    return cast(Series, _aggregate_values(frame, groups, name, aggregate, seconds))


def _aggregate_values(
    frame: pd.DataFrame, groups: Any, name: str, aggregate: Aggregate, seconds: float | None
) -> Any:
    spec = aggregate_spec(aggregate.func)
    if spec is None:
        raise UsageError(f"unknown aggregate {aggregate.func!r}")
    func = spec.name
    weight = groups[WEIGHT]
    if func == "count" and aggregate.arg is None:
        return weight.sum()
    if func in ("count", "ratio"):
        matched = (
            (frame[f"__mask {name}"] * frame[WEIGHT])
            .groupby(
                [frame[k] for k in groups.keys],
                dropna=False,
                sort=False,
            )
            .sum()
        )
        return matched if func == "count" else matched / weight.sum()
    if func == "rate":
        if not seconds:
            raise UsageError("rate needs a time range (--since/--until or --last)")
        return weight.sum() / seconds
    field = aggregate.field or ""
    if field not in frame:
        return pd.Series(np.nan, index=groups.size().index)
    values = frame[field]
    if func == "count_distinct":
        return groups[field].nunique(dropna=True)
    if func in ("sum", "avg"):
        weighted = values * frame[WEIGHT]
        by = [frame[k] for k in groups.keys]
        total = weighted.groupby(by, dropna=False, sort=False).sum(min_count=1)
        if func == "sum":
            return total
        denominator = frame[WEIGHT].where(values.notna(), 0)
        return total / denominator.groupby(by, dropna=False, sort=False).sum()
    if func == "min":
        return groups[field].min()
    if func == "max":
        return groups[field].max()
    if func == "stddev":
        return groups[field].std(ddof=1)
    if spec.quantile is not None:
        return groups[field].quantile(spec.quantile, interpolation="linear")
    raise UnsupportedOperation(f"aggregate {func!r} is not supported by the pandas engine")


def execute_many(store: EventSource, specs: Sequence[QuerySpec]) -> list[pd.DataFrame]:
    """Run several descriptions; aggregates over the same events (same time range, filters
    and weighting) share one scan of the union of their columns."""
    results: dict[int, pd.DataFrame] = {}
    shared: dict[tuple[str, ...], list[int]] = {}
    for index, spec in enumerate(specs):
        if spec.kind is QueryKind.AGGREGATE:
            key = (spec.time.model_dump_json(), *(e.model_dump_json() for e in spec.where))
            shared.setdefault((str(spec.unweighted), *key), []).append(index)
        else:
            results[index] = execute(store, spec)
    for indices in shared.values():
        group = [specs[i] for i in indices]
        if len(group) == 1:
            results[indices[0]] = execute(store, group[0])
            continue
        plans = [AggregatePlan(spec, having_aggregates(spec)) for spec in group]
        columns: dict[str, None] = {}
        for plan in plans:
            columns.update(dict.fromkeys(plan.columns()))
        used_in_conditions = {
            name
            for plan in plans
            for _n, aggregate in plan.aggregates
            if aggregate.arg is not None
            for name in referenced_fields(aggregate.arg)
        }
        as_dictionary = {
            name
            for plan in plans
            for name in (*plan.spec.group_by, *distinct_only_fields(plan))
            if name not in used_in_conditions
        }
        first = group[0]
        derived = {d.name: d for spec in group for d in spec.derived}
        table = scan(
            store,
            list(columns),
            first.where,
            first.time,
            dictionary=tuple(sorted(as_dictionary)),
            derived=tuple(derived.values()),
        ).table
        masks = SharedMasks(table)
        for index, plan in zip(indices, plans, strict=True):
            results[index] = _aggregate_table(table.select(plan.columns()), plan.spec, plan, masks)
    return [results[index] for index in range(len(specs))]


def _aggregate(store: EventSource, spec: QuerySpec) -> pd.DataFrame:
    extra = having_aggregates(spec)
    plan = AggregatePlan(spec, extra)
    return _aggregate_table(aggregate_rows(store, spec, plan), spec, plan)


def _aggregate_table(
    table: pa.Table, spec: QuerySpec, plan: AggregatePlan, masks: SharedMasks | None = None
) -> pd.DataFrame:
    """Aggregate rows already read (the scan of ``spec``'s events)."""
    groups = group_table(table, list(spec.group_by), plan, seconds_of(spec), masks=masks)
    return aggregate_scanned(table, spec, plan, groups)


def aggregate_scanned(
    table: pa.Table, spec: QuerySpec, plan: AggregatePlan, groups: pa.Table | None
) -> pd.DataFrame:
    """Finish an aggregate over scanned rows: from the Arrow path's ``groups`` when it
    had them, else grouped by pandas."""
    keys = list(spec.group_by)
    seconds = seconds_of(spec)
    if groups is not None:
        result = cast(pd.DataFrame, groups.to_pandas())
        return _finish_aggregate(result, spec, keys, plan, seconds, table=table)
    frame = _frame(table, plan)
    result = _aggregate_groups(frame, keys, plan, seconds)
    return _finish_aggregate(result, spec, keys, plan, seconds, frame=frame)


def _finish_aggregate(
    result: pd.DataFrame,
    spec: QuerySpec,
    keys: list[str],
    plan: AggregatePlan,
    seconds: float | None,
    *,
    table: pa.Table | None = None,
    frame: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Having, order, limit with OTHER and TOTAL rows, hidden columns dropped."""

    def other_and_total(rest: pd.DataFrame) -> list[pd.DataFrame]:
        whole = frame
        if whole is None:
            assert table is not None
            whole = _frame(table, plan)
        cut = whole.merge(rest[keys], on=keys, how="inner")
        return [
            _summary_row(cut, keys, plan, seconds, OTHER),
            _summary_row(whole, keys, plan, seconds, TOTAL),
        ]

    return finish_groups(result, spec, keys, other_and_total)


def finish_groups(
    result: pd.DataFrame,
    spec: QuerySpec,
    keys: list[str],
    other_and_total: Callable[[pd.DataFrame], list[pd.DataFrame]],
    hidden_prefixes: tuple[str, ...] = ("__having ",),
) -> pd.DataFrame:
    """``--having``, ``--order-by`` and ``--limit`` on one row per group; when the limit
    cuts groups (and ``spec.totals``), the rows ``other_and_total(cut groups)`` make
    (OTHER, TOTAL) are appended. Every engine finishes its groups here."""
    result = add_computed_frame(result, spec)
    if spec.having is not None:
        result = result[evaluate_condition(spec.having, result, spec)].reset_index(drop=True)
    result = order_result(result, spec, keys)
    if spec.limit is not None and keys and len(result) > spec.limit:
        kept, rest = result.iloc[: spec.limit], result.iloc[spec.limit :]
        result = kept
        if spec.totals:
            result = pd.concat([result, *other_and_total(rest)], ignore_index=True)
            result = add_computed_frame(result, spec)  # OTHER and TOTAL from their sums
    elif spec.limit is not None:
        result = result.iloc[: spec.limit]
    hidden = [c for c in result.columns if str(c).startswith(hidden_prefixes)]
    result = result.drop(columns=hidden).reset_index(drop=True)
    return result[output_columns(spec, keys)] if spec.computed else result


def _summary_row(
    frame: pd.DataFrame, keys: list[str], plan: AggregatePlan, seconds: float | None, label: str
) -> pd.DataFrame:
    row = _aggregate_groups(frame, [], plan, seconds)
    for position, key in enumerate(keys):
        row.insert(position, key, label if position == 0 else None)
    return row


def order_result(result: pd.DataFrame, spec: QuerySpec, keys: list[str]) -> pd.DataFrame:
    """``--order-by`` (group keys break ties, so the order is stable), default: by the
    first aggregate, largest first."""
    if spec.order_by:
        by = [o.column for o in spec.order_by]
        missing = [c for c in by if c not in result.columns]
        if missing:
            raise UsageError(f"--order-by: no result column {missing[0]!r}")
        ascending = [not o.descending for o in spec.order_by]
        # Group keys break ties, so equal values come out in the same order every run.
        ties = [k for k in keys if k not in by]
        by, ascending = [*by, *ties], [*ascending, *([True] * len(ties))]
    elif keys and (first := first_column(spec)) is not None:
        by = [first, *keys]
        ascending = [False] + [True] * len(keys)
    else:
        return result
    return result.sort_values(
        by, ascending=ascending, na_position="last", kind="stable"
    ).reset_index(drop=True)


def evaluate_condition(expr: Expr, result: pd.DataFrame, spec: QuerySpec | None = None) -> Series:
    """A ``--having`` condition over aggregated rows (null is not true). ``spec`` names
    the columns its aggregates are in (else each is found by its text)."""
    if isinstance(expr, And):
        mask = evaluate_condition(expr.items[0], result, spec)
        for item in expr.items[1:]:
            mask &= evaluate_condition(item, result, spec)
        return mask
    if isinstance(expr, Or):
        mask = evaluate_condition(expr.items[0], result, spec)
        for item in expr.items[1:]:
            mask |= evaluate_condition(item, result, spec)
        return mask
    if isinstance(expr, Not):
        return ~evaluate_condition(expr.item, result, spec)
    if isinstance(expr, Compare):
        left, right = _value(expr.left, result, spec), _value(expr.right, result, spec)
        op = {
            CompareOp.EQ: "eq", CompareOp.NE: "ne", CompareOp.LT: "lt",
            CompareOp.LE: "le", CompareOp.GT: "gt", CompareOp.GE: "ge",
        }[expr.op]  # fmt: skip
        compared = getattr(pd.Series(left, index=result.index), op)(right)
        valid = pd.Series(left, index=result.index).notna()
        return cast(Series, compared.fillna(False).astype(bool) & valid)
    raise UsageError("--having takes comparisons of aggregates and group-by fields")


def _value(operand: object, result: pd.DataFrame, spec: QuerySpec | None = None) -> object:
    if isinstance(operand, Arith | Call):
        aggregates = spec.aggregates if spec is not None else ()
        named = tuple(
            NamedAggregate(aggregate=a, name=str(c))
            for a in aggregates_in(operand)
            for c in result.columns
            if str(c) == to_text(a)
        )
        context = QuerySpec(aggregates=(*aggregates, *named))
        return frame_values(result, operand, context)
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Field):
        if operand.name not in result.columns:
            raise UsageError(f"--having: {operand.name!r} is not a group-by field")
        return result[operand.name]
    if isinstance(operand, Aggregate):
        text = to_text(operand)
        for column in result.columns:
            if column == hidden_name(operand):
                return result[column]
        for column in result.columns:
            if str(column) == text:
                return result[column]
        return result[hidden_name(operand)]
    raise UsageError("--having: unsupported operand")


# -- time series ----------------------------------------------------------------------------


def _timeseries(store: EventSource, spec: QuerySpec) -> pd.DataFrame:
    plan = AggregatePlan(spec, having_aggregates(spec))
    keys = list(spec.group_by)
    table = scan(
        store,
        plan.columns(),
        spec.where,
        spec.time,
        dictionary=dictionary_fields(plan),
        derived=spec.derived,
    ).table
    start, end = _series_span(spec, table)
    if start is None or end is None:
        return pd.DataFrame(columns=output_columns(spec, [BUCKET, *keys]))
    width = spec.every or auto_width(end - start)
    groups = series_groups(table, plan, spec, width)
    result = None if groups is None else cast(pd.DataFrame, groups.to_pandas())
    if result is None:
        frame = _frame(table, plan)
        frame[BUCKET] = floor_times(frame["timestamp"], width, spec.bucket_tz)
        if keys and spec.top is not None:
            frame = _fold_small_series(frame, keys, spec.top)
        result = _aggregate_groups(frame, [BUCKET, *keys], plan, width.total_seconds())
    result = fill_gaps(result, keys, plan, start, end, width, spec.bucket_tz)
    result = result.sort_values([BUCKET, *keys], na_position="last", kind="stable").reset_index(
        drop=True
    )
    return finish_series(result, spec, keys)


def finish_series(result: pd.DataFrame, spec: QuerySpec, keys: list[str]) -> pd.DataFrame:
    """A time series' computed columns, hidden columns dropped, ``--agg`` order."""
    if not spec.computed:
        return result
    return add_computed_frame(result, spec)[output_columns(spec, [BUCKET, *keys])]


def _series_span(
    spec: QuerySpec, table: pa.Table
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    import pyarrow.compute as pc

    start = pd.Timestamp(spec.time.since) if spec.time.since is not None else None
    end = pd.Timestamp(spec.time.until) if spec.time.until is not None else None
    if not table.num_rows:
        return start, end
    bounds = pc.min_max(table.column("timestamp")).as_py()
    if start is None:
        start = pd.Timestamp(bounds["min"])
    if end is None:
        end = pd.Timestamp(bounds["max"]) + pd.Timedelta(1, "ns")
    return start, end


def floor_times(times: Series, width: timedelta, tz: str | None) -> Series:
    """Each time's bucket start: aligned to the UTC epoch, or in zone ``tz`` (day buckets
    on local midnight)."""
    step = pd.Timedelta(width)
    accessor: Any = times.dt
    if tz is None:
        return cast(Series, accessor.floor(step))
    local: Any = accessor.tz_convert(tz).dt
    if width % timedelta(days=1):
        # Within a day, keep each instant's own UTC offset: an hour repeated by a
        # daylight-saving change is two buckets, not one.
        naive: Any = local.tz_localize(None)
        into_bucket = naive - naive.dt.floor(step)
        return cast(Series, times - into_bucket)
    floored: Any = local.floor(step, ambiguous=False, nonexistent="shift_backward")
    return cast(Series, floored.dt.tz_convert("UTC"))


def _fold_small_series(frame: pd.DataFrame, keys: list[str], top: int) -> pd.DataFrame:
    sizes = frame.groupby(keys, dropna=False, sort=True)[WEIGHT].sum()
    # Largest first; ties keep key order (the groupby sorted by key), as in pyarrow.
    sizes = sizes.sort_values(ascending=False, kind="stable")
    if len(sizes) <= top:
        return frame
    kept = sizes.index[:top]
    key_frame = frame[keys]
    member = pd.MultiIndex.from_frame(key_frame).isin(
        kept if isinstance(kept, pd.MultiIndex) else pd.MultiIndex.from_arrays([kept])
    )
    folded = frame.copy()
    folded[keys[0]] = folded[keys[0]].astype(object).where(member, OTHER)
    for key in keys[1:]:
        folded[key] = folded[key].astype(object).where(member, None)
    return folded


def fill_gaps(
    result: pd.DataFrame,
    keys: list[str],
    plan: AggregatePlan,
    start: pd.Timestamp,
    end: pd.Timestamp,
    width: timedelta,
    tz: str | None,
) -> pd.DataFrame:
    """Every bucket from ``start`` to ``end`` for every series, counts 0 where empty."""
    first = floor_times(pd.Series([start]), width, tz).iloc[0]
    last = end - pd.Timedelta(1, "ns")
    series = result[keys].drop_duplicates() if keys else None
    # Sized before anything is built (a day more or less at a daylight-saving change).
    check_grid(int((last - first) // pd.Timedelta(width)) + 1, 1 if series is None else len(series))
    if tz is None or width % timedelta(days=1):
        buckets = pd.date_range(first, last, freq=pd.Timedelta(width), tz="UTC")
    else:
        # Days step in local wall-clock time, so they stay on local midnight across a
        # daylight-saving change (a fixed UTC step would drift by an hour).
        wall = pd.date_range(
            first.tz_convert(tz).tz_localize(None),
            last.tz_convert(tz).tz_localize(None),
            freq=pd.Timedelta(width),
        )
        local = wall.tz_localize(tz, ambiguous=False, nonexistent="shift_backward")
        buckets = local.tz_convert("UTC").unique()
    buckets = buckets[buckets >= first]
    if series is not None:
        grid = series.merge(pd.DataFrame({BUCKET: buckets}), how="cross")
    else:
        grid = pd.DataFrame({BUCKET: buckets})
    filled = grid.merge(result, on=[BUCKET, *keys], how="left")
    for name, aggregate in plan.aggregates:
        if aggregate.func in COUNTING:
            filled[name] = filled[name].fillna(0).astype("int64")
        elif aggregate.func in ZERO_WHEN_EMPTY:
            filled[name] = filled[name].fillna(0.0)
    return filled[[BUCKET, *keys, *(n for n, _ in plan.aggregates)]]
