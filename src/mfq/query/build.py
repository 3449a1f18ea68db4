"""Building a ``QuerySpec`` from plain options (strings, as the CLI and the API take them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mfq.errors import UsageError
from mfq.query.expr import NamedAggregate, parse_aggregate, parse_condition, parse_filter
from mfq.query.spec import OrderKey, QueryKind, QuerySpec
from mfq.query.timerange import parse_duration, parse_instant, resolve_range

if TYPE_CHECKING:
    from mfq.store.store import Store

DEFAULT_AGGREGATE = "count"


def _listed(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def split_fields(values: list[str] | tuple[str, ...]) -> list[str]:
    """Field names from ``--group-by a,b`` and repeated options alike."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _order(values: list[str]) -> tuple[OrderKey, ...]:
    keys = []
    for item in split_fields(values):
        descending = item.startswith("-")
        name = item[1:] if descending else item
        if name.lower().endswith(" desc"):
            name, descending = name[:-5].strip(), True
        elif name.lower().endswith(" asc"):
            name = name[:-4].strip()
        keys.append(OrderKey(column=name, descending=descending))
    return tuple(keys)


def build_spec(
    store: Store,
    kind: QueryKind,
    *,
    where: str | Sequence[str] | None = None,
    group_by: str | Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    aggs: str | Sequence[str] | None = None,
    having: str | None = None,
    order_by: str | Sequence[str] | None = None,
    sort: str | Sequence[str] | None = None,
    limit: int | None = None,
    totals: bool = True,
    since: str | None = None,
    until: str | None = None,
    last: str | None = None,
    now: datetime | str | None = None,
    every: str | None = None,
    top: int | None = None,
    tz: str | None = None,
    fields: str | Sequence[str] | None = None,
    unweighted: bool = False,
) -> QuerySpec:
    """Parse and check every option against the store's fields into one ``QuerySpec``."""
    types = store.field_types()
    clock = datetime.now(UTC)
    if isinstance(now, str):
        clock = parse_instant(now, clock, "--now")
    elif now is not None:
        clock = now
    time = resolve_range(since, until, last, clock)
    filters = tuple(parse_filter(text, types) for text in _listed(where))
    keys = tuple(split_fields(_listed(group_by) + _listed(by)))
    for key in keys:
        if key not in types:
            parse_filter(f"exists(`{key}`)", types)  # raises the "did you mean" error
    agg_texts = _listed(aggs) or ([DEFAULT_AGGREGATE] if kind is not QueryKind.EVENTS else [])
    aggregates: tuple[NamedAggregate, ...] = tuple(parse_aggregate(t, types) for t in agg_texts)
    names = [a.name for a in aggregates]
    if len(set(names)) != len(names):
        raise UsageError("two aggregates have the same name: use 'as NAME' to tell them apart")
    wanted = tuple(split_fields(_listed(fields)))
    for field in wanted:
        if field not in types:
            parse_filter(f"exists(`{field}`)", types)
    return QuerySpec(
        kind=kind,
        time=time,
        where=filters,
        group_by=keys,
        aggregates=aggregates,
        having=parse_condition(having, types) if having else None,
        order_by=_order(_listed(order_by) + _listed(sort)),
        limit=limit,
        totals=totals,
        every=None if every in (None, "auto") else parse_duration(every or "", "--every"),
        top=top,
        bucket_tz=tz,
        fields=wanted,
        unweighted=unweighted,
    )
