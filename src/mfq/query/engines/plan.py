"""What a grouped query reads and computes: its aggregates (those asked for, then the
hidden ones ``--having`` and computed columns use), the columns to read, and the fields
read as dictionaries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mfq.model.fields import field_order
from mfq.query.engines.algebra import algebra_of
from mfq.query.engines.computed import hidden_name
from mfq.query.expr import Aggregate, aggregate_spec, referenced_fields, to_text
from mfq.query.expr.ast import walk
from mfq.query.scan import file_schema
from mfq.query.spec import QueryKind, QuerySpec

if TYPE_CHECKING:
    from mfq.query.source import EventSource

#: The fields ``events`` shows first by default.
DEFAULT_EVENT_FIELDS = ("timestamp", "type", "service", "status")


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
        return self.spec.top is not None or any(algebra_of(a).weighs for _n, a in self.aggregates)

    def columns(self) -> list[str]:
        """The stored (or derived) columns the aggregates read."""
        names: dict[str, None] = dict.fromkeys(self.spec.group_by)
        if self.spec.kind is QueryKind.TIMESERIES:
            names["timestamp"] = None  # bucketed; a plain query needs it only to filter
        if self.uses_weights():
            names["sample_rate"] = None
        for _name, aggregate in self.aggregates:
            names.update(dict.fromkeys(sorted(referenced_fields(aggregate))))
        return list(names)


def plan_of(spec: QuerySpec) -> AggregatePlan:
    """The plan of ``spec``: its aggregates and the hidden ones it needs."""
    return AggregatePlan(spec, having_aggregates(spec))


def having_aggregates(spec: QuerySpec) -> list[Aggregate]:
    """Aggregates ``--having`` and computed columns use that the query does not compute
    already (as hidden columns)."""
    roots = [item.expr for item in spec.computed]
    if spec.having is not None:
        roots.append(spec.having)
    if not roots:  # the aggregates' texts cost: correlate's hold thousands of ids
        return []
    named = {to_text(n.aggregate) for n in spec.aggregates}
    found: dict[str, Aggregate] = {}
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


def dictionary_fields(plan: AggregatePlan) -> tuple[str, ...]:
    """The fields an aggregate reads dictionary-encoded: group keys and fields only
    counted distinct (they hash as small integers, and repeats are found on indices)."""
    return (*plan.spec.group_by, *distinct_only_fields(plan))


def default_fields(store: EventSource) -> list[str]:
    """The fields ``events`` shows by default: timestamp, type, service, status, the other
    standard fields in the model's order, then the rest by name (``field_order``: not the
    files' column order, which follows the ingest's cuts)."""
    names: dict[str, None] = {}
    held = store.held_events
    if held is not None:
        names.update(dict.fromkeys(held.column_names))
    for record in store.files("events"):
        names.update(dict.fromkeys(file_schema(store, record).names))
    return display_order(names)


def display_order(names: Iterable[str]) -> list[str]:
    """``names`` in the order ``events`` shows them (see ``default_fields``)."""
    rest = [name for name in field_order(names) if name not in DEFAULT_EVENT_FIELDS]
    return [*DEFAULT_EVENT_FIELDS, *rest]


def seconds_of(spec: QuerySpec) -> float | None:
    """The length of the query's time range (for ``rate``), when it is bounded."""
    start, end = spec.time.since, spec.time.until
    if start is not None and end is not None:
        return (end - start).total_seconds()
    return None
