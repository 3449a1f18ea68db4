"""Answering counts from the file summaries recorded at ingest (``mfq.store.summary``).

A count, ``count(EXPR)``, ``ratio(EXPR)`` or ``rate`` grouped by and filtered on summarised
fields only needs each combination's weight: the summary rows stand in for the events,
their weight as ``sample_rate``, and the engine aggregates them as it would the events.
Files wholly inside the time range are answered from their summaries; files the range
cuts, and files without a summary, are scanned and summarised on the spot. With no
summarised file inside the range, the events are scanned as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from mfq.query.compile import compile_filter
from mfq.query.derive import computes
from mfq.query.expr import aggregate_spec, referenced_fields
from mfq.query.scan import prune, scan, within
from mfq.query.spec import QueryKind, QuerySpec
from mfq.store.summary import EVENTS, SUMMARY_FIELDS, WEIGHT, read_summary, summary_table

if TYPE_CHECKING:
    from mfq.query.engines.plan import AggregatePlan
    from mfq.query.source import EventSource
    from mfq.store.catalog import FileRecord

#: Aggregates a summary answers: sums of weights.
_FROM_WEIGHTS = {"count", "ratio", "rate"}


def summary_rows(store: EventSource, spec: QuerySpec, plan: AggregatePlan) -> pa.Table | None:
    """Rows standing for ``spec``'s events (``sample_rate``: how many each stands for),
    with ``plan``'s columns; None when the summaries cannot answer it. When they can,
    ``plan`` is set to weigh rows by ``sample_rate`` whatever the query says (an
    unweighted query's rows carry their event counts there)."""
    if spec.kind is not QueryKind.AGGREGATE or not _answerable(spec, plan):
        return None
    files = prune(store.files("events"), spec.time)
    inside = [record.path for record in files if within(record, spec.time)]
    if not inside:
        return None  # (events held in memory have no files, nor a catalog to ask)
    blobs = store.catalog.summaries(inside)
    if not blobs:
        return None
    summaries = [read_summary(blobs[record.path]) for record in files if record.path in blobs]
    # Files the range cuts (or that have no summary) are scanned and summarised here.
    edges = [record for record in files if record.path not in blobs]
    if edges:
        summaries.append(_edge_summary(store, spec, plan, edges))
    weight = EVENTS if spec.unweighted else WEIGHT
    text = pa.string()
    parts = []
    for summary in summaries:
        columns = {
            name: summary.column(name) if name in summary.column_names else pa.nulls(len(summary))
            for name in SUMMARY_FIELDS
        }
        columns = {name: column.cast(text) for name, column in columns.items()}
        columns["sample_rate"] = summary.column(weight).cast(pa.int64())
        parts.append(pa.table(columns))
    rows = pa.concat_tables(parts)
    for expr in spec.where:
        rows = rows.filter(compile_filter(expr, rows.schema))
    plan.weighted = True
    return rows.select(plan.columns())


def _edge_summary(
    store: EventSource, spec: QuerySpec, plan: AggregatePlan, files: list[FileRecord]
) -> pa.Table:
    """The summary of the events of ``files`` that ``spec``'s range and filters keep."""
    used = _used_fields(spec, plan)
    fields = [name for name in SUMMARY_FIELDS if name in used]
    scanned = scan(
        store,
        [*fields, "sample_rate"],
        spec.where,
        spec.time,
        dictionary=tuple(fields),
        files=files,
    )
    return summary_table(scanned.table)


def _used_fields(spec: QuerySpec, plan: AggregatePlan) -> set[str]:
    """The fields the filters, groups and aggregates read (``sample_rate`` aside where
    only the weights read it: a summary's ``sample_rate`` is its rows' weight, never
    null, so a question naming the field itself needs the events)."""
    fields = {name for expr in spec.where for name in referenced_fields(expr)}
    fields |= set(spec.group_by)
    fields |= {name for _n, aggregate in plan.aggregates for name in referenced_fields(aggregate)}
    return fields | (set(plan.columns()) - {"sample_rate"})


def _answerable(spec: QuerySpec, plan: AggregatePlan) -> bool:
    if not _used_fields(spec, plan) <= set(SUMMARY_FIELDS):
        return False
    # Summaries hold their fields as text: functions and arithmetic need the events.
    tests = [*spec.where, *(a.arg for _n, a in plan.aggregates if a.arg is not None)]
    if spec.derived or any(computes(expr) for expr in tests):
        return False
    for _name, aggregate in plan.aggregates:
        found = aggregate_spec(aggregate.func)
        if found is None or found.name not in _FROM_WEIGHTS or aggregate.field is not None:
            return False
    return True
