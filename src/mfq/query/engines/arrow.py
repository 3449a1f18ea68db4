"""The Arrow path of the in-process engine: a description answered as a pyarrow Table,
with pyarrow and numpy only (no pandas, so a command line query need not import it).

The pandas engine groups with these same functions and converts to pandas; what is only
pandas' (``--having``, OTHER/TOTAL rows when ``--limit`` cuts groups, local-time buckets)
falls back to it. Results keep Arrow's types: an integer column with nulls stays integer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from mfq.errors import UsageError
from mfq.query.compile import compile_filter
from mfq.query.engines.computed import (
    HIDDEN,
    add_computed,
    first_column,
    hidden_name,
    output_columns,
)
from mfq.query.engines.distinct import Digits, distinct_dictionary_rows
from mfq.query.expr import Aggregate, And, Expr, Or, aggregate_spec, referenced_fields, to_text
from mfq.query.expr.ast import walk
from mfq.query.grid import check_grid
from mfq.query.scan import file_schema, scan
from mfq.query.spec import QueryKind, QuerySpec
from mfq.query.summaries import summary_rows
from mfq.query.timerange import auto_width

if TYPE_CHECKING:
    import pandas as pd

    from mfq.query.source import EventSource

WEIGHT = "__weight"
GROUP_ID = "__group"
BUCKET = "time"
OTHER, TOTAL = "OTHER", "TOTAL"
DEFAULT_EVENT_FIELDS = ("timestamp", "type", "service", "status")
#: Aggregates that are 0, not missing, over no events (an empty bucket, say): counts
#: (integers) and the rate of events (a float).
COUNTING = {"count", "count_distinct"}
ZERO_WHEN_EMPTY = COUNTING | {"rate"}
_WEIGHED = {"count", "ratio", "rate", "sum", "avg"}
#: Aggregates a repeated row leaves unchanged.
_REPEAT_BLIND = {"count_distinct", "min", "max"}
#: More groups than this send percentiles to pandas (one numpy call per group here).
MAX_PERCENTILE_GROUPS = 50_000
_TIME_TYPE = pa.timestamp("ns", tz="UTC")


# -- plans ----------------------------------------------------------------------------------


class AggregatePlan:
    """Columns to read and per-row helper columns for a set of aggregates."""

    def __init__(self, spec: QuerySpec, extra: list[Aggregate]) -> None:
        self.spec = spec
        self.aggregates: list[tuple[str, Aggregate]] = [
            (named.name, named.aggregate) for named in spec.aggregates
        ]
        self.aggregates += [(hidden_name(a), a) for a in extra]
        self.weighted = not spec.unweighted

    def uses_weights(self) -> bool:
        """Whether ``sample_rate`` matters: counts, ratios, rates, sums and averages weigh
        each event by it, and so does the ranking of ``--top`` series; distinct counts,
        minima, maxima and percentiles do not."""
        if not self.weighted:
            return False
        return self.spec.top is not None or any(_weighs(a) for _n, a in self.aggregates)

    def columns(self) -> list[str]:
        names: dict[str, None] = dict.fromkeys(self.spec.group_by)
        if self.spec.kind is QueryKind.TIMESERIES:
            names["timestamp"] = None  # bucketed; a plain query needs it only to filter
        if self.uses_weights():
            names["sample_rate"] = None
        for _name, aggregate in self.aggregates:
            names.update(dict.fromkeys(sorted(referenced_fields(aggregate))))
        return list(names)


def _weighs(aggregate: Aggregate) -> bool:
    spec = aggregate_spec(aggregate.func)
    return spec is None or spec.name in _WEIGHED


def having_aggregates(spec: QuerySpec) -> list[Aggregate]:
    """Aggregates ``--having`` and computed columns use that the query does not compute
    already (as hidden columns)."""
    named = {to_text(n.aggregate) for n in spec.aggregates}
    found: dict[str, Aggregate] = {}
    roots = [item.expr for item in spec.computed]
    if spec.having is not None:
        roots.append(spec.having)
    for root in roots:
        for node in walk(root):
            if isinstance(node, Aggregate) and to_text(node) not in named:
                found[to_text(node)] = node
    return list(found.values())


def distinct_only_fields(plan: AggregatePlan) -> list[str]:
    """Fields only counted distinct: read as dictionaries, they hash as small integers."""
    distinct: set[str] = set()
    other: set[str] = set()
    for _name, aggregate in plan.aggregates:
        spec = aggregate_spec(aggregate.func)
        target = distinct if spec is not None and spec.name == "count_distinct" else other
        target.update(referenced_fields(aggregate))
    return sorted(distinct - other)


def default_fields(store: EventSource) -> list[str]:
    """The fields ``events`` shows by default: timestamp, type, service, status, then the
    rest in stored order."""
    names: dict[str, None] = dict.fromkeys(DEFAULT_EVENT_FIELDS)
    for record in store.files("events"):
        names.update(dict.fromkeys(file_schema(store, record).names))
    return list(names)


def seconds_of(spec: QuerySpec) -> float | None:
    """The length of the query's time range (for ``rate``), when it is bounded."""
    start, end = spec.time.since, spec.time.until
    if start is not None and end is not None:
        return (end - start).total_seconds()
    return None


# -- per-row helpers ------------------------------------------------------------------------


def plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns decoded (pandas would make them categorical)."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            decoded = table.column(index).cast(field.type.value_type)
            table = table.set_column(index, field.name, decoded)
    return table


def weights(table: pa.Table, plan: AggregatePlan) -> pa.Array | pa.ChunkedArray:
    """How many events each stored event stands for (``sample_rate``, else 1)."""
    if plan.weighted and "sample_rate" in table.column_names:
        return pc.fill_null(table.column("sample_rate"), 1)
    return pa.array(np.ones(table.num_rows, dtype=np.int64))


def evaluate_mask(table: pa.Table, expr: Expr) -> pa.Array:
    """Where ``expr`` is true (null is not)."""
    # Group keys may be read as dictionaries; pyarrow's text matching has no kernels for those.
    used = plain(table.select([n for n in table.column_names if n in referenced_fields(expr)]))
    compiled = compile_filter(expr, used.schema)
    if used.num_columns == 0:
        used = pa.table({"__rows": pa.nulls(table.num_rows, pa.int8())})
    column = ds.dataset(used).to_table(columns={"m": compiled})["m"]
    return pc.fill_null(column, False)


class SharedMasks:
    """Filter results of ``count(EXPR)``-like aggregates over one shared table, each
    evaluated once however many queries use it. ``and``/``or`` are split into their items
    (exact on null-filled masks: null and false are both "not true" there), so
    ``count(S and bin)`` for many bins evaluates ``S`` once."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._masks: dict[str, pa.Array] = {}

    def mask(self, expr: Expr) -> pa.Array:
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
                self._masks[key] = evaluate_mask(self._table, expr)
        return self._masks[key]


def bucket_starts(times: pa.ChunkedArray | pa.Array, step: int) -> pa.Array | pa.ChunkedArray:
    """Each time's bucket start, ``step`` nanoseconds wide, aligned to the UTC epoch."""
    nanos = pc.cast(times, pa.int64())
    # Floor division in integers (exact to the nanosecond; negative times round down).
    shifted = pc.subtract(nanos, pc.if_else(pc.less(nanos, 0), step - 1, 0))
    return pc.multiply(pc.divide(shifted, step), step).cast(times.type)


def fold_small_series(table: pa.Table, key: str, top: int, plan: AggregatePlan) -> pa.Table:
    """``--top``: values of ``key`` outside the ``top`` largest series become OTHER."""
    weight = weights(table, plan)
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


# -- grouping -------------------------------------------------------------------------------


def group_table(
    table: pa.Table,
    keys: list[str],
    plan: AggregatePlan,
    seconds: float | None,
    steps: dict[str, int] | None = None,
    masks: SharedMasks | None = None,
) -> pa.Table | None:
    """One row per distinct key tuple (nulls are a group), one column per aggregate,
    grouped inside pyarrow and numpy; None when the groups are too many for the percentile
    path (pandas then does it). ``steps`` names keys holding times, grouped into buckets of
    that many nanoseconds (aligned to the UTC epoch). ``masks`` holds filter results
    shared with other queries."""
    specs = {name: aggregate_spec(a.func) for name, a in plan.aggregates}
    if any(s is None for s in specs.values()):
        return None
    quantile_of = {
        name: spec.quantile
        for name, spec in specs.items()
        if spec is not None and spec.quantile is not None
    }
    if quantile_of:
        numbered = _numpy_groups(table, keys, plan, seconds, steps or {}, masks)
        if numbered is not None:
            return numbered
    if not quantile_of:
        table = _without_repeats(table, keys, plan, steps or {})
    for key, step in (steps or {}).items():
        index = table.schema.get_field_index(key)
        table = table.set_column(index, key, bucket_starts(table.column(key), step))
    rows = table.num_rows
    # Distinct counts, extremes and percentiles alone need no weights (nor their sums);
    # without group keys the weights still give the work table its rows.
    weighed = not keys or any(_weighs(a) for _n, a in plan.aggregates)
    weight = weights(table, plan) if weighed else pa.nulls(0, pa.int64())
    work: dict[str, object] = {key: table.column(key) for key in keys}
    wanted: list[tuple[str, str, object]] = []
    if weighed:
        work[WEIGHT] = weight
        wanted.append((WEIGHT, "sum", None))
    for index, (name, aggregate) in enumerate(plan.aggregates):
        func = specs[name].name  # type: ignore[union-attr]
        column = f"__a{index}"
        if aggregate.arg is not None:
            mask = masks.mask(aggregate.arg) if masks else evaluate_mask(table, aggregate.arg)
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
    total = grouped.column(f"{WEIGHT}_sum") if weighed else pa.nulls(grouped.num_rows)
    computed: dict[str, dict[float, np.ndarray]] = {}
    result = plain(grouped.select(keys))
    for index, (name, aggregate) in enumerate(plan.aggregates):
        func = specs[name].name  # type: ignore[union-attr]
        column = f"__a{index}"
        output: pa.Array | pa.ChunkedArray
        if func == "count" and aggregate.arg is None:
            output = pc.fill_null(total, 0)
        elif func == "count":
            output = pc.fill_null(grouped.column(f"{column}_sum"), 0)
        elif func == "ratio":
            output = pc.divide(pc.cast(grouped.column(f"{column}_sum"), pa.float64()), total)
        elif func == "rate":
            if not seconds:
                raise UsageError("rate needs a time range (--since/--until or --last)")
            output = pc.divide(pc.cast(pc.fill_null(total, 0), pa.float64()), seconds)
        elif aggregate.field is None or aggregate.field not in table.column_names:
            output = pa.nulls(grouped.num_rows, pa.float64())
        elif func == "sum":
            output = grouped.column(f"{column}_sum")
        elif func == "avg":
            output = pc.divide(
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
                output = pa.array(np.full(grouped.num_rows, np.nan))
            else:
                order = pc.fill_null(grouped.column(f"{GROUP_ID}_min"), 0).to_numpy()
                output = pa.array(per_group[order.astype(np.int64)])
        else:
            output = grouped.column(f"{column}_{func}")
        result = result.append_column(name, output)
    return result


def _without_repeats(
    table: pa.Table, keys: list[str], plan: AggregatePlan, steps: dict[str, int]
) -> pa.Table:
    """The rows ``keys`` and the aggregated fields hold, each once (mostly), when every
    aggregate is a distinct count, minimum or maximum of a field and every column is a
    dictionary or a bucketed time (repeats change none of those); else ``table`` itself."""
    fields: dict[str, None] = {}
    for _name, aggregate in plan.aggregates:
        spec = aggregate_spec(aggregate.func)
        if spec is None or spec.name not in _REPEAT_BLIND or aggregate.arg is not None:
            return table
        if aggregate.field is not None and aggregate.field in table.column_names:
            fields[aggregate.field] = None
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


def _group_ids(
    table: pa.Table, keys: list[str], steps: dict[str, int]
) -> tuple[np.ndarray, int] | None:
    """A dense group number per row (nulls are a group of their own), and the count."""
    groups = _number_groups(table, keys, steps)
    return None if groups is None else (groups.ids, groups.count)


def _number_groups(table: pa.Table, keys: list[str], steps: dict[str, int]) -> _Groups | None:
    """Number the groups of ``keys``. Time buckets (``steps``: key -> width in ns) are
    numbered arithmetically, not hashed; text keys by their dictionary index."""
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
    if len(codes) > MAX_PERCENTILE_GROUPS:
        return None
    values: list[pa.Array] = []
    for digit in reversed(digits):
        codes, numbers = np.divmod(codes, digit.width)
        values.append(digit.plain_values(numbers))
    return _Groups(ids, len(values[0]) if values else int(rows > 0), values[::-1])


def _lerp(low: np.ndarray, high: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Linear interpolation written as numpy's quantile writes it (from the nearer end),
    so the results are the same to the last bit."""
    step = high - low
    return np.asarray(
        np.where(fraction >= 0.5, high - step * (1 - fraction), low + step * fraction)
    )


#: What :func:`_numpy_groups` computes: weighted counts and ratios, rates, percentiles.
_BY_BINCOUNT = {"count", "ratio", "rate"}


def _numpy_groups(
    table: pa.Table,
    keys: list[str],
    plan: AggregatePlan,
    seconds: float | None,
    steps: dict[str, int],
    masks: SharedMasks | None,
) -> pa.Table | None:
    """Percentiles with counts and ratios, grouped by numbering the groups in numpy (one
    pass, no hash table); None when other aggregates need pyarrow's grouping."""
    specs = [(name, a, aggregate_spec(a.func)) for name, a in plan.aggregates]
    if not table.num_rows or any(
        s is None or (s.name not in _BY_BINCOUNT and s.quantile is None) for _n, _a, s in specs
    ):
        return None
    groups = _number_groups(table, keys, steps)
    if groups is None:
        return None
    result = pa.table(dict(zip(keys, groups.keys, strict=True)))
    if not keys:
        result = pa.table({"__rows": pa.nulls(groups.count)})
    weight: np.ndarray | None = None
    total: np.ndarray | None = None
    quantiles: dict[str, dict[float, np.ndarray]] = {}
    for name, aggregate, spec in specs:
        assert spec is not None
        if spec.quantile is not None:
            field = aggregate.field or ""
            if field not in table.column_names:
                output = pa.nulls(groups.count, pa.float64())
            else:
                if field not in quantiles:
                    wanted = sorted(
                        {
                            s.quantile
                            for _n, a, s in specs
                            if s is not None and s.quantile is not None and a.field == field
                        }
                    )
                    quantiles[field] = grouped_quantiles(
                        table.column(field), (groups.ids, groups.count), wanted
                    )
                output = pa.array(quantiles[field][spec.quantile])
            result = result.append_column(name, output)
            continue
        if weight is None:
            weight = np.asarray(weights(table, plan).to_numpy(), dtype=np.float64)
            total = np.bincount(groups.ids, weights=weight, minlength=groups.count)
        assert total is not None
        if aggregate.arg is not None:
            mask = masks.mask(aggregate.arg) if masks else evaluate_mask(table, aggregate.arg)
            held = mask.to_numpy(zero_copy_only=False).astype(np.float64) * weight
            matched = np.bincount(groups.ids, weights=held, minlength=groups.count)
        else:
            matched = total
        if spec.name == "count":
            output = pa.array(np.rint(matched).astype(np.int64))
        elif spec.name == "ratio":
            with np.errstate(divide="ignore", invalid="ignore"):  # a sample_rate of 0
                output = pa.array(matched / total)
        else:
            if not seconds:
                raise UsageError("rate needs a time range (--since/--until or --last)")
            output = pa.array(total / seconds)
        result = result.append_column(name, output)
    return result.drop_columns(["__rows"]) if not keys else result


def grouped_quantiles(
    column: pa.ChunkedArray, group_ids: tuple[np.ndarray, int], quantiles: list[float]
) -> dict[float, np.ndarray]:
    """Exact percentiles per group, linear between closest ranks (numpy's default, as
    DuckDB's quantile_cont); NaN for a group without values. One sort for all of them."""
    ids, count = group_ids
    values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    missing = np.isnan(values)
    if missing.any():
        ids, values = ids[~missing], values[~missing]
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
        ranked = np.partition(part, np.unique(np.concatenate([below, above])))
        low, high = ranked[below], ranked[above]
        result[:, group] = _lerp(low, high, position - below)
    return {q: result[i] for i, q in enumerate(quantiles)}


# -- executing a description ----------------------------------------------------------------


def execute_table(store: EventSource, spec: QuerySpec) -> pa.Table:
    """The answer to ``spec`` as a pyarrow Table. What the Arrow path cannot finish is
    finished by the pandas engine (pandas is imported then) and converted."""
    if spec.kind is QueryKind.EVENTS:
        return events_table(store, spec)
    if spec.kind is QueryKind.TIMESERIES:
        series = _timeseries_table(store, spec)
        if series is not None:
            return series
        from mfq.query.pandas_deferral import allow_pandas

        allow_pandas()
        from mfq.query.engines.pandas import execute

        return from_frame(execute(store, spec), store, spec)
    return _aggregate_table(store, spec)


def from_frame(frame: pd.DataFrame, store: EventSource, spec: QuerySpec) -> pa.Table:
    """A pandas answer as the Arrow path gives it: integer fields (and their min, max and
    sum) back to integers where pandas made them floats for a null; a column mixing
    numbers with the OTHER/TOTAL labels as text."""
    import pandas as pd

    integers = integer_columns(store, spec)
    frame = frame.copy()
    for name in frame.columns:
        column = frame[name]
        if name in integers and pd.api.types.is_float_dtype(column.dtype):
            frame[name] = column.astype("Int64")
        elif column.dtype == object and _mixes_text_and_numbers(column):
            frame[name] = [_label(value, name in integers) for value in column]
    return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)


def integer_columns(store: EventSource, spec: QuerySpec) -> set[str]:
    """Result columns of ``spec`` that hold integers: integer fields, and the min, max and
    sum of integer fields."""
    from mfq.query.expr import FieldType

    integer = {name for name, kind in store.field_types().items() if kind is FieldType.INTEGER}
    columns = {*spec.fields, *spec.group_by} & integer
    if spec.kind is QueryKind.EVENTS and not spec.fields:
        columns = integer
    for named in spec.aggregates:
        aggregate = named.aggregate
        if aggregate.func in ("min", "max", "sum") and aggregate.field in integer:
            columns.add(named.name)
    return columns


def _mixes_text_and_numbers(column: pd.Series) -> bool:
    kinds = {type(value) for value in column if not _missing(value)}
    return str in kinds and len(kinds) > 1


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _label(value: object, integer: bool) -> str | None:
    if _missing(value):
        return None
    if integer and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def events_table(store: EventSource, spec: QuerySpec) -> pa.Table:
    """Matching events, sorted and limited (the newest ``limit`` without a sort)."""
    fields = list(spec.fields) or default_fields(store)
    order = spec.order_by or ()
    columns = list(dict.fromkeys([*fields, *(o.column for o in order), "timestamp"]))
    table = scan(store, columns, spec.where, spec.time, derived=spec.derived).table
    keys = [(o.column, "descending" if o.descending else "ascending") for o in order]
    if not keys:
        keys = [("timestamp", "ascending")]
        if spec.limit is not None and table.num_rows > spec.limit:
            table = table.slice(table.num_rows - spec.limit)  # the tail, as `tail` shows it
    table = table.sort_by(keys)
    if spec.limit is not None:
        table = table.slice(0, spec.limit)
    return table.select(fields)


def _aggregate_table(store: EventSource, spec: QuerySpec) -> pa.Table:
    plan = AggregatePlan(spec, having_aggregates(spec))
    keys = list(spec.group_by)
    table = aggregate_rows(store, spec, plan)
    groups = group_table(table, keys, plan, seconds_of(spec))
    cuts = spec.limit is not None and bool(keys) and groups is not None
    cuts = cuts and spec.totals and groups.num_rows > (spec.limit or 0)  # type: ignore[union-attr]
    if groups is None or spec.having is not None or cuts:
        # --having, OTHER/TOTAL rows and very many percentile groups are pandas' to finish.
        from mfq.query.pandas_deferral import allow_pandas

        allow_pandas()
        from mfq.query.engines.pandas import aggregate_scanned

        return from_frame(aggregate_scanned(table, spec, plan, groups), store, spec)
    groups = order_table(_nan_as_null(add_computed(groups, spec)), spec, keys)
    if spec.computed or any(name.startswith(HIDDEN) for name in groups.column_names):
        groups = groups.select(output_columns(spec, keys))
    return groups if spec.limit is None else groups.slice(0, spec.limit)


def aggregate_rows(store: EventSource, spec: QuerySpec, plan: AggregatePlan) -> pa.Table:
    """The rows an aggregate groups: the file summaries' when they can answer (``plan``
    then weighs by their counts), else the events, keys read as dictionaries."""
    summarised = summary_rows(store, spec, plan)
    if summarised is not None:
        return summarised
    return scan(
        store,
        plan.columns(),
        spec.where,
        spec.time,
        dictionary=dictionary_fields(plan),
        derived=spec.derived,
    ).table


def dictionary_fields(plan: AggregatePlan) -> tuple[str, ...]:
    """The fields an aggregate reads dictionary-encoded: group keys and fields only
    counted distinct (they hash as small integers, and repeats are found on indices)."""
    return (*plan.spec.group_by, *distinct_only_fields(plan))


def order_table(result: pa.Table, spec: QuerySpec, keys: list[str]) -> pa.Table:
    """``--order-by`` (group keys break ties, so the order is stable), default: by the
    first aggregate, largest first; missing values last either way."""
    if spec.order_by:
        missing = [o.column for o in spec.order_by if o.column not in result.column_names]
        if missing:
            raise UsageError(f"--order-by: no result column {missing[0]!r}")
        by = [
            (o.column, "descending" if o.descending else "ascending", "at_end")
            for o in spec.order_by
        ]
        named = {o.column for o in spec.order_by}
        by += [(k, "ascending", "at_end") for k in keys if k not in named]
    elif keys and (leading := first_column(spec)) is not None:
        first = (leading, "descending", "at_end")
        by = [first, *((k, "ascending", "at_end") for k in keys)]
    else:
        return result
    return result.sort_by(by)


def _nan_as_null(table: pa.Table) -> pa.Table:
    """NaN (0/0, a percentile of nothing) as null: one kind of missing value, sorted last."""
    for index, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            column = table.column(index)
            nan = pc.is_nan(column)
            if pc.any(nan).as_py():
                cleaned = pc.if_else(nan, pa.scalar(None, field.type), column)
                table = table.set_column(index, field.name, cleaned)
    return table


def _timeseries_table(store: EventSource, spec: QuerySpec) -> pa.Table | None:
    """Buckets aligned to the UTC epoch, every bucket of every series; None for what the
    pandas engine does (local-time buckets, ``--top`` over several keys)."""
    if not _buckets_in_arrow(spec):
        return None
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
    span = _series_span(spec, table)
    if span is None:
        names = output_columns(spec, [BUCKET, *keys])
        return pa.table({name: pa.array([], pa.null()) for name in names})
    start, end = span
    width = spec.every or auto_width(timedelta(microseconds=-(-(end - start) // 1000)))
    step = (width // timedelta(microseconds=1)) * 1000
    groups = series_groups(table, plan, spec, width)
    if groups is None:
        return None
    filled = _fill_buckets(groups, keys, plan, start, end, step)
    if not spec.computed:
        return filled
    return add_computed(filled, spec).select(output_columns(spec, [BUCKET, *keys]))


def _buckets_in_arrow(spec: QuerySpec) -> bool:
    """Local-time buckets and ``--top`` over several keys are pandas' to compute."""
    return spec.bucket_tz is None and (spec.top is None or len(spec.group_by) <= 1)


def series_groups(
    table: pa.Table, plan: AggregatePlan, spec: QuerySpec, width: timedelta
) -> pa.Table | None:
    """One row per bucket (aligned to the UTC epoch) and series present, with ``--top``
    folding; None for what pandas does (local-time buckets, ``--top`` over several keys,
    very many percentile groups)."""
    keys = list(spec.group_by)
    if not _buckets_in_arrow(spec):
        return None
    step = (width // timedelta(microseconds=1)) * 1000
    table = table.append_column(BUCKET, table.column("timestamp"))  # floored when grouped
    masks = SharedMasks(table)  # conditions see the values before --top folds them
    if keys and spec.top is not None:
        table = fold_small_series(table, keys[0], spec.top, plan)
    seconds = width.total_seconds()
    return group_table(table, [BUCKET, *keys], plan, seconds, {BUCKET: step}, masks)


def _series_span(spec: QuerySpec, table: pa.Table) -> tuple[int, int] | None:
    """First and past-the-last nanosecond of the series: the range, else the data's."""
    start, end = spec.time.since_ns(), spec.time.until_ns()
    if table.num_rows and (start is None or end is None):
        bounds = pc.min_max(pc.cast(table.column("timestamp"), pa.int64())).as_py()
        start = bounds["min"] if start is None else start
        end = bounds["max"] + 1 if end is None else end
    if start is None or end is None:
        return None
    return start, end


def _fill_buckets(
    groups: pa.Table, keys: list[str], plan: AggregatePlan, start: int, end: int, step: int
) -> pa.Table:
    """Every bucket from ``start`` to ``end`` for every series, counts 0 where empty, in
    bucket order then series order (keys ascending, missing last)."""
    first = start - start % step  # floor, also for times before 1970
    series = groups.select(keys).group_by(keys).aggregate([]) if keys else pa.table({})
    count = series.num_rows if keys else 1
    check_grid(-(-(end - first) // step), count)  # before anything is built
    buckets = np.arange(first, end, step, dtype=np.int64)
    if keys:
        series = series.sort_by([(k, "ascending", "at_end") for k in keys])
    bucket_of = (pc.cast(groups.column(BUCKET), pa.int64()).to_numpy() - first) // step
    position = bucket_of * count + _series_index(groups, series, keys)
    source = np.full(len(buckets) * count, -1, dtype=np.int64)
    source[position] = np.arange(groups.num_rows)
    take = pa.array(source, mask=source < 0)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        BUCKET: pa.array(np.repeat(buckets, count)).cast(_TIME_TYPE)
    }
    if keys:
        tiled = series.take(pa.array(np.tile(np.arange(count), len(buckets))))
        columns.update({key: tiled.column(key) for key in keys})
    for name, aggregate in plan.aggregates:
        values = groups.column(name).take(take)
        columns[name] = pc.fill_null(values, 0) if aggregate.func in ZERO_WHEN_EMPTY else values
    return _nan_as_null(pa.table(columns))


def _series_index(groups: pa.Table, series: pa.Table, keys: list[str]) -> np.ndarray:
    """For each group row, the position of its key tuple in ``series``."""
    if not keys:
        return np.zeros(groups.num_rows, dtype=np.int64)
    code = np.zeros(groups.num_rows, dtype=np.int64)
    series_code = np.zeros(series.num_rows, dtype=np.int64)
    for key in keys:
        distinct = pc.unique(series.column(key).combine_chunks())
        width = len(distinct)
        options = pc.SetLookupOptions(value_set=distinct, skip_nulls=False)
        code = code * width + pc.index_in(groups.column(key), options=options).to_numpy()
        series_code = series_code * width + pc.index_in(
            series.column(key), options=options
        ).to_numpy(zero_copy_only=False)
    order = np.argsort(series_code)
    return np.asarray(order[np.searchsorted(series_code, code, sorter=order)], dtype=np.int64)
