"""The local engine: a description answered in this process, as a pyarrow Table, with
pyarrow and numpy only (pandas only to hand a DataFrame over). Scans push filters into
the Parquet read; grouping, the aggregate algebra, finishing and time series are the
modules beside this one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from mfq.model.arrays import to_arrow
from mfq.query.engines.finish import finish_groups
from mfq.query.engines.grouping import group_table
from mfq.query.engines.keys import KeySet
from mfq.query.engines.plan import (
    AggregatePlan,
    default_fields,
    dictionary_fields,
    plan_of,
    seconds_of,
)
from mfq.query.engines.rows import SharedMasks, weights
from mfq.query.engines.series import (
    BUCKET,
    empty_series,
    finish_series,
    floor_times,
    kept_series,
    width_ns,
)
from mfq.query.expr import referenced_fields
from mfq.query.scan import scan
from mfq.query.spec import QueryKind, QuerySpec
from mfq.query.summaries import summary_rows
from mfq.query.timerange import auto_width

if TYPE_CHECKING:
    from mfq.query.source import EventSource


def execute_table(store: EventSource, spec: QuerySpec) -> pa.Table:
    """The answer to ``spec`` as a pyarrow Table."""
    if spec.kind is QueryKind.EVENTS:
        return events_table(store, spec)
    if spec.kind is QueryKind.TIMESERIES:
        return timeseries_table(store, spec)
    plan = plan_of(spec)
    return aggregate_scanned(aggregate_rows(store, spec, plan), spec, plan)


def execute_many_tables(store: EventSource, specs: Sequence[QuerySpec]) -> list[pa.Table]:
    """Several descriptions; aggregates over the same events (same time range, filters
    and weighting) share one scan of the union of their columns."""
    results: dict[int, pa.Table] = {}
    shared: dict[tuple[str, ...], list[int]] = {}
    for index, spec in enumerate(specs):
        if spec.kind is QueryKind.AGGREGATE:
            key = (spec.time.model_dump_json(), *(e.model_dump_json() for e in spec.where))
            shared.setdefault((str(spec.unweighted), *key), []).append(index)
        else:
            results[index] = execute_table(store, spec)
    for indices in shared.values():
        group = [specs[i] for i in indices]
        if len(group) == 1:
            results[indices[0]] = execute_table(store, group[0])
            continue
        plans = [plan_of(spec) for spec in group]
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
            for name in dictionary_fields(plan)
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
            rows = table.select(plan.columns())
            results[index] = aggregate_scanned(rows, plan.spec, plan, masks)
    return [results[index] for index in range(len(specs))]


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


# -- aggregates -------------------------------------------------------------------------------


def aggregate_rows(store: EventSource, spec: QuerySpec, plan: AggregatePlan) -> pa.Table:
    """The rows an aggregate groups: the file summaries' when they can answer (``plan``
    then weighs by their counts), else the events, keys read as dictionaries."""
    summarised = summary_rows(store, spec, plan)
    return summarised if summarised is not None else scanned_rows(store, spec, plan)


def scanned_rows(store: EventSource, spec: QuerySpec, plan: AggregatePlan) -> pa.Table:
    """The events of ``spec`` with ``plan``'s columns, keys read as dictionaries."""
    return scan(
        store,
        plan.columns(),
        spec.where,
        spec.time,
        dictionary=dictionary_fields(plan),
        derived=spec.derived,
    ).table


def aggregate_scanned(
    table: pa.Table, spec: QuerySpec, plan: AggregatePlan, masks: SharedMasks | None = None
) -> pa.Table:
    """Aggregate rows already read (the scan of ``spec``'s events), then finish."""
    keys = list(spec.group_by)
    seconds = seconds_of(spec)
    groups = group_table(table, keys, plan, seconds, masks=masks)

    def other_and_total(cut: pa.Table) -> tuple[pa.Table, pa.Table]:
        rest = table.filter(to_arrow(KeySet(cut).mask(table)))
        return group_table(rest, [], plan, seconds), group_table(table, [], plan, seconds)

    return finish_groups(groups, spec, keys, other_and_total)


# -- time series ------------------------------------------------------------------------------


def timeseries_table(store: EventSource, spec: QuerySpec) -> pa.Table:
    """Every bucket of every series (aligned to the UTC epoch, or local midnight)."""
    plan = plan_of(spec)
    table = scanned_rows(store, spec, plan)
    span = series_span(spec, table)
    if span is None:
        return empty_series(spec)
    start, end = span
    width = spec.every or auto_width(timedelta(microseconds=-(-(end - start) // 1000)))
    return finish_series(series_groups(table, plan, spec, width), spec, plan, span, width)


def series_groups(
    table: pa.Table, plan: AggregatePlan, spec: QuerySpec, width: timedelta
) -> pa.Table:
    """One row per bucket and series present, with ``--top`` folding."""
    keys = list(spec.group_by)
    masks = SharedMasks(table)  # conditions see the values before --top folds them
    series = keys
    if keys and spec.top is not None:
        # Folded in copies of the keys: the aggregates and the buckets read a key's own
        # values (``--by x --agg 'sum(x)'``, ``--by timestamp``), never OTHER.
        series = [_folded_name(index) for index in range(len(keys))]
        for name, key in zip(series, keys, strict=True):
            table = table.append_column(name, table.column(key))
        table = fold_small_series(table, series, spec.top, plan)
    seconds = width.total_seconds()
    if spec.bucket_tz is None:
        table = table.append_column(BUCKET, table.column("timestamp"))  # floored when grouped
        steps = {BUCKET: width_ns(width)}
        groups = group_table(table, [BUCKET, *series], plan, seconds, steps, masks)
    else:
        buckets = floor_times(table.column("timestamp"), width, spec.bucket_tz)
        table = table.append_column(BUCKET, buckets)
        groups = group_table(table, [BUCKET, *series], plan, seconds, masks=masks)
    renamed = dict(zip(series, keys, strict=True))
    return groups.rename_columns([renamed.get(name, name) for name in groups.column_names])


def _folded_name(index: int) -> str:
    """The column holding the ``index``-th series key as ``--top`` folds it."""
    return f"__folded_{index}"


def fold_small_series(table: pa.Table, keys: list[str], top: int, plan: AggregatePlan) -> pa.Table:
    """``--top``: rows of series outside the ``top`` largest become OTHER."""
    weight = weights(table, plan.weighted)
    # Grouped on the dictionaries as read (not decoded row by row); ranked decoded.
    sized = table.select(keys).append_column("__n", weight).unify_dictionaries()
    sizes = sized.group_by(keys).aggregate([("__n", "sum")])
    folding = kept_series(sizes, keys, "__n_sum", top)
    return table if folding is None else folding.apply(table)


def series_span(spec: QuerySpec, table: pa.Table) -> tuple[int, int] | None:
    """First and past-the-last nanosecond of the series: the range, else the data's."""
    start, end = spec.time.since_ns(), spec.time.until_ns()
    if table.num_rows and (start is None or end is None):
        bounds = pc.min_max(pc.cast(table.column("timestamp"), pa.int64())).as_py()
        start = bounds["min"] if start is None else start
        end = bounds["max"] + 1 if end is None else end
    if start is None or end is None:
        return None
    return start, end
