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
import pyarrow.dataset as ds

from mfq.errors import UnsupportedOperation, UsageError
from mfq.query.compile import compile_filter
from mfq.query.expr import (
    Aggregate,
    And,
    Compare,
    CompareOp,
    Expr,
    Field,
    Literal,
    Not,
    Or,
    aggregate_spec,
    referenced_fields,
    to_text,
)
from mfq.query.expr.ast import walk
from mfq.query.scan import file_schema, scan
from mfq.query.spec import QueryKind, QuerySpec
from mfq.query.timerange import auto_width

if TYPE_CHECKING:
    from mfq.store.store import Store

Series = pd.Series  # the engine's columns hold any dtype
WEIGHT = "__weight"
GROUP_ID = "__group"
BUCKET = "time"
OTHER, TOTAL = "OTHER", "TOTAL"
DEFAULT_EVENT_FIELDS = ("timestamp", "type", "service", "status")
_COUNTING = {"count"}


def execute(store: Store, spec: QuerySpec) -> pd.DataFrame:
    """Run ``spec`` against ``store``."""
    if spec.kind is QueryKind.EVENTS:
        return _events(store, spec)
    if spec.kind is QueryKind.TIMESERIES:
        return _timeseries(store, spec)
    return _aggregate(store, spec)


# -- events ---------------------------------------------------------------------------------


def _events(store: Store, spec: QuerySpec) -> pd.DataFrame:
    fields = list(spec.fields) or default_fields(store)
    order = spec.order_by or ()
    columns = list(dict.fromkeys([*fields, *(o.column for o in order), "timestamp"]))
    table = scan(store, columns, spec.where, spec.time).table
    keys = [(o.column, "descending" if o.descending else "ascending") for o in order]
    if not keys:
        keys = [("timestamp", "ascending")]
        if spec.limit is not None and table.num_rows > spec.limit:
            table = table.slice(table.num_rows - spec.limit)  # the tail, as `tail` shows it
    table = table.sort_by(keys)
    if spec.limit is not None:
        table = table.slice(0, spec.limit)
    return cast(pd.DataFrame, table.select(fields).to_pandas())


def default_fields(store: Store) -> list[str]:
    """The fields ``events`` shows by default: timestamp, type, service, status, then the
    rest in stored order."""
    names: dict[str, None] = dict.fromkeys(DEFAULT_EVENT_FIELDS)
    for record in store.catalog.files("events"):
        names.update(dict.fromkeys(file_schema(store, record).names))
    return list(names)


# -- aggregates -----------------------------------------------------------------------------


class AggregatePlan:
    """Columns to read and per-row helper columns for a set of aggregates."""

    def __init__(self, spec: QuerySpec, extra: list[Aggregate]) -> None:
        self.spec = spec
        self.aggregates: list[tuple[str, Aggregate]] = [
            (named.name, named.aggregate) for named in spec.aggregates
        ]
        self.aggregates += [(_hidden(a), a) for a in extra]
        self.weighted = not spec.unweighted

    def columns(self) -> list[str]:
        names: dict[str, None] = dict.fromkeys(self.spec.group_by)
        if self.spec.kind is QueryKind.TIMESERIES:
            names["timestamp"] = None  # bucketed; a plain query needs it only to filter
        if self.weighted:
            names["sample_rate"] = None
        for _name, aggregate in self.aggregates:
            names.update(dict.fromkeys(sorted(referenced_fields(aggregate))))
        return list(names)


def _hidden(aggregate: Aggregate) -> str:
    return f"__having {to_text(aggregate)}"


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns decoded (pandas would make them categorical)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            decoded = table.column(index).cast(field.type.value_type)
            table = table.set_column(index, field.name, decoded)
    return table


def _frame(table: pa.Table, plan: AggregatePlan) -> pd.DataFrame:
    """The scanned rows as pandas, with weights and one mask column per filtered aggregate."""
    frame = cast(pd.DataFrame, _plain(table).to_pandas())
    if plan.weighted and "sample_rate" in frame:
        frame[WEIGHT] = frame["sample_rate"].fillna(1).astype("int64")
    else:
        frame[WEIGHT] = np.ones(len(frame), dtype="int64")
    for name, aggregate in plan.aggregates:
        if aggregate.arg is not None:
            mask = _evaluate_mask(table, aggregate.arg)
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
            result = pd.DataFrame(
                {name: [0 if a.func in _COUNTING else np.nan] for name, a in plan.aggregates}
            )
    return result


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


def _seconds(spec: QuerySpec, table: pa.Table) -> float | None:
    start, end = spec.time.since, spec.time.until
    if start is not None and end is not None:
        return (end - start).total_seconds()
    return None


def execute_many(store: Store, specs: Sequence[QuerySpec]) -> list[pd.DataFrame]:
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
            for name in (*plan.spec.group_by, *_distinct_only_fields(plan))
            if name not in used_in_conditions
        }
        first = group[0]
        table = scan(
            store, list(columns), first.where, first.time, dictionary=tuple(sorted(as_dictionary))
        ).table
        masks = _SharedMasks(table)
        for index, plan in zip(indices, plans, strict=True):
            results[index] = _aggregate_table(table.select(plan.columns()), plan.spec, plan, masks)
    return [results[index] for index in range(len(specs))]


def _aggregate(store: Store, spec: QuerySpec) -> pd.DataFrame:
    extra = having_aggregates(spec)
    plan = AggregatePlan(spec, extra)
    keys = list(spec.group_by)
    as_dictionary = (*keys, *_distinct_only_fields(plan))
    table = scan(store, plan.columns(), spec.where, spec.time, dictionary=as_dictionary).table
    return _aggregate_table(table, spec, plan)


class _SharedMasks:
    """Filter results of ``count(EXPR)``-like aggregates over one shared table, each
    evaluated once however many queries use it. ``and``/``or`` are split into their items
    (exact on null-filled masks: null and false are both "not true" there), so
    ``count(S and bin)`` for many bins evaluates ``S`` once."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._masks: dict[str, pa.Array] = {}

    def mask(self, expr: Expr) -> pa.Array:
        import pyarrow.compute as pc

        key = expr.model_dump_json()
        if key not in self._masks:
            if isinstance(expr, And | Or):
                parts = [self.mask(item) for item in expr.items]
                combine = pc.and_ if isinstance(expr, And) else pc.or_
                result = parts[0]
                for part in parts[1:]:
                    result = combine(result, part)
                self._masks[key] = result
            else:
                self._masks[key] = _evaluate_mask(self._table, expr)
        return self._masks[key]


def _evaluate_mask(table: pa.Table, expr: Expr) -> pa.Array:
    """Where ``expr`` is true (null is not)."""
    import pyarrow.compute as pc

    # Group keys may be read as dictionaries; pyarrow's text matching has no kernels for those.
    used = _plain(table.select([n for n in table.column_names if n in referenced_fields(expr)]))
    compiled = compile_filter(expr, used.schema)
    if used.num_columns == 0:
        used = pa.table({"__rows": pa.nulls(table.num_rows, pa.int8())})
    column = ds.dataset(used).to_table(columns={"m": compiled})["m"]
    return pc.fill_null(column, False)


def _aggregate_table(
    table: pa.Table, spec: QuerySpec, plan: AggregatePlan, masks: _SharedMasks | None = None
) -> pd.DataFrame:
    """Aggregate rows already read (the scan of ``spec``'s events)."""
    keys = list(spec.group_by)
    seconds = _seconds(spec, table)
    arrow_result = _arrow_groups(table, keys, plan, seconds, masks=masks)
    if arrow_result is not None:
        return _finish_aggregate(arrow_result, spec, keys, plan, seconds, table=table)
    frame = _frame(table, plan)
    result = _aggregate_groups(frame, keys, plan, seconds)
    return _finish_aggregate(result, spec, keys, plan, seconds, frame=frame)


def _distinct_only_fields(plan: AggregatePlan) -> list[str]:
    """Fields only counted distinct: read as dictionaries, they hash as small integers."""
    distinct: set[str] = set()
    other: set[str] = set()
    for _name, aggregate in plan.aggregates:
        spec = aggregate_spec(aggregate.func)
        target = distinct if spec is not None and spec.name == "count_distinct" else other
        target.update(referenced_fields(aggregate))
    return sorted(distinct - other)


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
    if spec.having is not None:
        result = result[evaluate_condition(spec.having, result)].reset_index(drop=True)
    result = order_result(result, spec, keys)
    if spec.limit is not None and keys and len(result) > spec.limit:
        kept, rest = result.iloc[: spec.limit], result.iloc[spec.limit :]
        result = kept
        if spec.totals:
            result = pd.concat([result, *other_and_total(rest)], ignore_index=True)
    elif spec.limit is not None:
        result = result.iloc[: spec.limit]
    hidden = [c for c in result.columns if str(c).startswith(hidden_prefixes)]
    return result.drop(columns=hidden).reset_index(drop=True)


def _arrow_groups(
    table: pa.Table,
    keys: list[str],
    plan: AggregatePlan,
    seconds: float | None,
    steps: dict[str, int] | None = None,
    masks: _SharedMasks | None = None,
) -> pd.DataFrame | None:
    """Group and aggregate inside pyarrow and numpy (no per-row pandas); None when the
    groups are too many for the percentile path (pandas then does it). ``masks`` holds
    filter results shared with other queries over the same rows."""
    import pyarrow.compute as pc

    specs = {name: aggregate_spec(a.func) for name, a in plan.aggregates}
    if any(s is None for s in specs.values()):
        return None
    quantile_of = {
        name: spec.quantile
        for name, spec in specs.items()
        if spec is not None and spec.quantile is not None
    }
    rows = table.num_rows
    weight = _weights(table, plan)
    work: dict[str, object] = {key: table.column(key) for key in keys}
    work[WEIGHT] = weight
    wanted: list[tuple[str, str, object]] = [(WEIGHT, "sum", None)]
    for index, (name, aggregate) in enumerate(plan.aggregates):
        func = specs[name].name  # type: ignore[union-attr]
        column = f"__a{index}"
        if aggregate.arg is not None:
            if masks is not None:
                mask = masks.mask(aggregate.arg)
            else:
                mask = _evaluate_mask(table, aggregate.arg)
            work[column] = pc.if_else(mask, weight, 0)
            wanted.append((column, "sum", None))
            continue
        field = aggregate.field
        if field is None:
            continue  # count, rate: from the weight sum
        values = table.column(field) if field in table.column_names else pa.nulls(rows)
        if func in ("sum", "avg"):
            work[column] = pc.multiply(values, weight)
            work[column + "v"] = pc.if_else(pc.is_valid(values), weight, 0)
            wanted += [(column, "sum", None), (column + "v", "sum", None)]
        elif func == "count_distinct":
            if not keys and pa.types.is_dictionary(values.type):
                values = values.cast(values.type.value_type)  # no ungrouped dictionary kernel
            work[column] = values
            wanted.append((column, "count_distinct", pc.CountOptions(mode="only_valid")))
        elif func in ("min", "max"):
            work[column] = values
            wanted.append((column, func, None))
        elif func == "stddev":
            work[column] = pc.cast(values, pa.float64())
            wanted.append((column, "stddev", pc.VarianceOptions(ddof=1)))
        elif specs[name].quantile is None:  # type: ignore[union-attr]
            return None
    work_table = pa.table(work).unify_dictionaries()  # each file's dictionary differs
    group_ids: tuple[np.ndarray, int] | None = None
    if quantile_of:
        group_ids = _group_ids(work_table, keys, steps or {})
        if group_ids is None:
            return None
        work_table = work_table.append_column(GROUP_ID, pa.array(group_ids[0]))
        wanted.append((GROUP_ID, "min", None))
    grouped = work_table.group_by(keys, use_threads=True).aggregate(
        [(c, f) if o is None else (c, f, o) for c, f, o in wanted]
    )
    total = grouped.column(f"{WEIGHT}_sum")
    computed: dict[str, dict[float, np.ndarray]] = {}
    result = (
        cast(pd.DataFrame, _plain(grouped.select(keys)).to_pandas())
        if keys
        else pd.DataFrame(index=range(grouped.num_rows))
    )
    for index, (name, aggregate) in enumerate(plan.aggregates):
        func = specs[name].name  # type: ignore[union-attr]
        column = f"__a{index}"
        if func == "count" and aggregate.arg is None:
            values = pc.fill_null(total, 0)
        elif func == "count":
            values = pc.fill_null(grouped.column(f"{column}_sum"), 0)
        elif func == "ratio":
            values = pc.divide(pc.cast(grouped.column(f"{column}_sum"), pa.float64()), total)
        elif func == "rate":
            if not seconds:
                raise UsageError("rate needs a time range (--since/--until or --last)")
            values = pc.divide(pc.cast(total, pa.float64()), seconds)
        elif aggregate.field is None or aggregate.field not in table.column_names:
            values = pa.nulls(grouped.num_rows, pa.float64())
        elif func == "sum":
            values = grouped.column(f"{column}_sum")
        elif func == "avg":
            values = pc.divide(
                pc.cast(grouped.column(f"{column}_sum"), pa.float64()),
                grouped.column(f"{column}v_sum"),
            )
        elif quantile_of.get(name) is not None and group_ids is not None:
            field_quantiles = sorted(
                {
                    quantile_of[n]
                    for n, a in plan.aggregates
                    if n in quantile_of and a.field == aggregate.field
                }
            )
            if aggregate.field not in computed:
                computed[aggregate.field] = grouped_quantiles(
                    table.column(aggregate.field), group_ids, field_quantiles
                )
            per_group = computed[aggregate.field][quantile_of[name]]
            if not len(per_group):  # no events at all: one row, no value
                result[name] = np.full(grouped.num_rows, np.nan)
                continue
            order = pc.fill_null(grouped.column(f"{GROUP_ID}_min"), 0).to_numpy()
            result[name] = per_group[order.astype(np.int64)]
            continue
        else:
            values = grouped.column(f"{column}_{func}")
        result[name] = values.to_pandas()
    return result


#: More groups than this send percentiles to pandas (one numpy call per group here).
MAX_PERCENTILE_GROUPS = 50_000


def _group_ids(
    table: pa.Table, keys: list[str], steps: dict[str, int]
) -> tuple[np.ndarray, int] | None:
    """A dense group number per row (nulls are a group of their own), and the count.
    Time buckets (``steps``: key -> width in ns) are numbered arithmetically, not hashed."""
    import pyarrow.compute as pc

    rows = table.num_rows
    ids = np.zeros(rows, dtype=np.int64)
    size = 1
    for key in keys:
        column = table.column(key).combine_chunks()
        if key in steps and rows:
            nanos = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
            first = int(nanos.min())
            indices = (nanos - first) // steps[key]
            width = int(indices.max()) + 1
            ids = ids * width + indices
            size *= width
            continue
        encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
        width = len(encoded.dictionary) + 1  # one more for null
        indices = pc.fill_null(encoded.indices, width - 1).to_numpy(zero_copy_only=False)
        ids = ids * width + indices.astype(np.int64)
        size *= width
        if size > 2**40:
            return None
    if size <= 4 * max(rows, 1):
        present = np.bincount(ids, minlength=size) > 0
        dense = np.cumsum(present) - 1
        ids, count = dense[ids], int(present.sum())
    else:
        unique, ids = np.unique(ids, return_inverse=True)
        count = len(unique)
    return (ids, count) if count <= MAX_PERCENTILE_GROUPS else None


def grouped_quantiles(
    column: pa.ChunkedArray, group_ids: tuple[np.ndarray, int], quantiles: list[float]
) -> dict[float, np.ndarray]:
    """Exact percentiles per group, linear between closest ranks (numpy's default, as
    DuckDB's quantile_cont); NaN for a group without values. One sort for all of them."""
    ids, count = group_ids
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    valid = ~np.isnan(values)
    ids, values = ids[valid], values[valid]
    # A stable sort by group (radix for small ids) keeps each group's values together.
    kind_ids = ids.astype(np.uint16) if count < 2**16 else ids
    order = np.argsort(kind_ids, kind="stable")
    values = values[order]
    counts = np.bincount(ids, minlength=count)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    result = np.full((len(quantiles), count), np.nan)
    for group in np.flatnonzero(counts):
        start = starts[group]
        result[:, group] = np.quantile(values[start : start + counts[group]], quantiles)
    return {q: result[i] for i, q in enumerate(quantiles)}


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
    elif keys and spec.aggregates:
        by = [spec.aggregates[0].name, *keys]
        ascending = [False] + [True] * len(keys)
    else:
        return result
    return result.sort_values(
        by, ascending=ascending, na_position="last", kind="stable"
    ).reset_index(drop=True)


def having_aggregates(spec: QuerySpec) -> list[Aggregate]:
    """Aggregates ``--having`` uses that the query does not compute already."""
    if spec.having is None:
        return []
    named = {to_text(n.aggregate) for n in spec.aggregates}
    found: dict[str, Aggregate] = {}
    for node in walk(spec.having):
        if isinstance(node, Aggregate) and to_text(node) not in named:
            found[to_text(node)] = node
    return list(found.values())


def evaluate_condition(expr: Expr, result: pd.DataFrame) -> Series:
    """A ``--having`` condition over aggregated rows (null is not true)."""
    if isinstance(expr, And):
        mask = evaluate_condition(expr.items[0], result)
        for item in expr.items[1:]:
            mask &= evaluate_condition(item, result)
        return mask
    if isinstance(expr, Or):
        mask = evaluate_condition(expr.items[0], result)
        for item in expr.items[1:]:
            mask |= evaluate_condition(item, result)
        return mask
    if isinstance(expr, Not):
        return ~evaluate_condition(expr.item, result)
    if isinstance(expr, Compare):
        left, right = _value(expr.left, result), _value(expr.right, result)
        op = {
            CompareOp.EQ: "eq", CompareOp.NE: "ne", CompareOp.LT: "lt",
            CompareOp.LE: "le", CompareOp.GT: "gt", CompareOp.GE: "ge",
        }[expr.op]  # fmt: skip
        compared = getattr(pd.Series(left, index=result.index), op)(right)
        valid = pd.Series(left, index=result.index).notna()
        return cast(Series, compared.fillna(False).astype(bool) & valid)
    raise UsageError("--having takes comparisons of aggregates and group-by fields")


def _value(operand: object, result: pd.DataFrame) -> object:
    if isinstance(operand, Literal):
        return operand.value
    if isinstance(operand, Field):
        if operand.name not in result.columns:
            raise UsageError(f"--having: {operand.name!r} is not a group-by field")
        return result[operand.name]
    if isinstance(operand, Aggregate):
        text = to_text(operand)
        for column in result.columns:
            if column == _hidden(operand):
                return result[column]
        for column in result.columns:
            if str(column) == text:
                return result[column]
        return result[_hidden(operand)]
    raise UsageError("--having: unsupported operand")


# -- time series ----------------------------------------------------------------------------


def _timeseries(store: Store, spec: QuerySpec) -> pd.DataFrame:
    plan = AggregatePlan(spec, [])
    table = scan(store, plan.columns(), spec.where, spec.time).table
    keys = list(spec.group_by)
    start, end = _series_span(spec, table)
    if start is None or end is None:
        columns = [BUCKET, *keys, *(n for n, _ in plan.aggregates)]
        return pd.DataFrame(columns=columns)
    width = spec.every or auto_width(end - start)
    result = _arrow_series(table, keys, plan, spec, width)
    if result is None:
        frame = _frame(table, plan)
        frame[BUCKET] = floor_times(frame["timestamp"], width, spec.bucket_tz)
        if keys and spec.top is not None:
            frame = _fold_small_series(frame, keys, spec.top)
        result = _aggregate_groups(frame, [BUCKET, *keys], plan, width.total_seconds())
    result = fill_gaps(result, keys, plan, start, end, width, spec.bucket_tz)
    return result.sort_values([BUCKET, *keys], na_position="last", kind="stable").reset_index(
        drop=True
    )


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


def _arrow_series(
    table: pa.Table, keys: list[str], plan: AggregatePlan, spec: QuerySpec, width: timedelta
) -> pd.DataFrame | None:
    """Buckets (UTC-aligned) and top-N folding inside pyarrow; None for the pandas path
    (local-time buckets, --top over several keys, percentiles)."""
    import pyarrow.compute as pc

    if spec.bucket_tz is not None or (spec.top is not None and len(keys) > 1):
        return None
    step = pd.Timedelta(width).value
    nanos = pc.cast(table.column("timestamp"), pa.int64())
    # Floor division in integers (exact to the nanosecond; negative times round down).
    shifted = pc.subtract(nanos, pc.if_else(pc.less(nanos, 0), step - 1, 0))
    buckets = pc.multiply(pc.divide(shifted, step), step)
    table = table.append_column(BUCKET, buckets.cast(table.schema.field("timestamp").type))
    if keys and spec.top is not None:
        table = _fold_small_series_arrow(table, keys[0], spec.top, plan)
    return _arrow_groups(table, [BUCKET, *keys], plan, width.total_seconds(), {BUCKET: step})


def _weights(table: pa.Table, plan: AggregatePlan) -> pa.Array | pa.ChunkedArray:
    """How many events each stored event stands for (``sample_rate``, else 1)."""
    import pyarrow.compute as pc

    if plan.weighted and "sample_rate" in table.column_names:
        return pc.fill_null(table.column("sample_rate"), 1)
    return pa.array(np.ones(table.num_rows, dtype=np.int64))


def _fold_small_series_arrow(table: pa.Table, key: str, top: int, plan: AggregatePlan) -> pa.Table:
    import pyarrow.compute as pc

    weight = _weights(table, plan)
    values = pc.cast(table.column(key), pa.string())
    sizes = pa.table({key: values, WEIGHT: weight}).group_by([key]).aggregate([(WEIGHT, "sum")])
    if sizes.num_rows <= top:
        return table
    # Ties broken by the key, as the pandas path does, so both keep the same series.
    ranked = sizes.sort_by([(f"{WEIGHT}_sum", "descending"), (key, "ascending")]).slice(0, top)
    kept = ranked.column(key)
    member = pc.fill_null(pc.is_in(values, value_set=kept.combine_chunks().drop_null()), False)
    if kept.null_count:
        member = pc.or_(member, pc.is_null(values))
    folded = pc.if_else(member, values, OTHER)
    return table.set_column(table.schema.get_field_index(key), key, folded)


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
    if keys:
        series = result[keys].drop_duplicates()
        grid = series.merge(pd.DataFrame({BUCKET: buckets}), how="cross")
    else:
        grid = pd.DataFrame({BUCKET: buckets})
    filled = grid.merge(result, on=[BUCKET, *keys], how="left")
    for name, aggregate in plan.aggregates:
        if aggregate.func in _COUNTING:
            filled[name] = filled[name].fillna(0).astype("int64")
    return filled[[BUCKET, *keys, *(n for n, _ in plan.aggregates)]]
