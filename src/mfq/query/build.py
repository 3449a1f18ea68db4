"""Building a ``QuerySpec`` from plain options (strings, as the CLI and the API take them)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypedDict

from mfq.errors import UsageError
from mfq.model.fields import field_order
from mfq.query.expr import (
    Field,
    FieldSchema,
    FieldType,
    NamedAggregate,
    NamedValue,
    ValueType,
    derived_of,
    parse_column,
    parse_condition,
    parse_filter,
    parse_value,
    value_type,
)
from mfq.query.expr.ast import Aggregate, walk
from mfq.query.expr.errors import UnknownField
from mfq.query.expr.tokens import is_plain_name
from mfq.query.requests import (
    EventsRequest,
    QueryQuestion,
    QueryRequest,
    Selection,
    TimeseriesRequest,
)
from mfq.query.spec import OrderKey, QueryKind, QuerySpec
from mfq.query.timerange import parse_duration, parse_instant, resolve_range

if TYPE_CHECKING:
    import pandas as pd

    from mfq.query.source import EventSource, QuerySource

DEFAULT_AGGREGATE = "count"


def _listed(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def split_fields(values: list[str] | tuple[str, ...]) -> list[str]:
    r"""Field names from ``--group-by a,b`` and repeated options alike.

    A name may be backquoted, as in expressions (`` `a, b` ``, `` `odd name` ``), to hold a
    comma or leading and trailing spaces; inside backquotes a backslash escapes the next
    character (`` \` `` or ``\\``).
    """
    return [name for value in values for name in _split_names(value)]


def _split_names(text: str) -> list[str]:
    names: list[str] = []
    current = ""
    quoted_end = -1  # where the last backquoted part of the name ends: spaces up to it stay
    position = 0
    while position < len(text):
        char = text[position]
        if char == ",":
            _end_name(names, current, quoted_end)
            current, quoted_end = "", -1
        elif char == "`":
            closing = _closing_backquote(text, position + 1)
            current = current.lstrip() if quoted_end < 0 else current
            current += re.sub(r"\\(.)", r"\1", text[position + 1 : closing])
            quoted_end = len(current)
            position = closing
        else:
            current += char
        position += 1
    _end_name(names, current, quoted_end)
    return names


def _end_name(names: list[str], current: str, quoted_end: int) -> None:
    if quoted_end >= 0:
        names.append(current[:quoted_end] + current[quoted_end:].rstrip())
    elif current.strip():
        names.append(current.strip())


def _closing_backquote(text: str, start: int) -> int:
    position = start
    while position < len(text):
        if text[position] == "\\":
            position += 2
            continue
        if text[position] == "`":
            return position
        position += 1
    raise UsageError(f"unclosed backquote in {text!r}")


def _backquoted(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace("`", "\\`")
    return f"`{escaped}`"


def split_keys(values: Sequence[str]) -> list[str]:
    """Group keys from ``--group-by a,b`` and repeated options: split at commas outside
    parentheses, quotes and backquotes, so an expression's own commas stay in it."""
    keys: list[str] = []
    for value in values:
        depth, quote, start = 0, "", 0
        position = 0
        while position < len(value):
            ch = value[position]
            if quote:
                if ch == "\\":
                    position += 1
                elif ch == quote:
                    quote = ""
            elif ch in "'\"`":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth = max(0, depth - 1)
            elif ch == "," and depth == 0:
                keys.append(value[start:position])
                start = position + 1
            position += 1
        keys.append(value[start:])
    return [key.strip() for key in keys if key.strip()]


def let_definition(text: str) -> tuple[str, str]:
    """``NAME=EXPR`` (spaces around the first ``=`` allowed) as its name and expression."""
    name, equals, expr = text.partition("=")
    name = name.strip().strip("`")
    if not equals or not name or not expr.strip():
        raise UsageError(
            f'--let takes NAME=EXPR, e.g. --let "slow = duration_ms > 800", not {text!r}'
        )
    return name, expr.strip()


def define_fields(
    types: Mapping[str, FieldType], definitions: Sequence[str | tuple[str, str]]
) -> FieldSchema:
    """``types`` with derived fields added, in order (a definition may use the ones before
    it): ``NAME=EXPR`` texts or (name, expression) pairs."""
    schema = types if isinstance(types, FieldSchema) else FieldSchema(types)
    for definition in definitions:
        name, text = let_definition(definition) if isinstance(definition, str) else definition
        if name in schema and name not in schema.derived:
            raise UsageError(f"--let {name}: there is a stored field of that name; pick another")
        expr = parse_value(text, schema)
        found = value_type(expr, schema)
        kind = None if found in (None, ValueType.NULL) else FieldType(str(found))
        schema = schema.with_derived(name, expr, kind)
    return schema


def derived_columns(
    types: Mapping[str, FieldType], names: Iterable[str | None]
) -> tuple[NamedValue, ...]:
    """The derived fields of ``types`` among ``names``, as the columns a query computes."""
    derived = derived_of(types)
    return tuple(
        NamedValue.model_construct(expr=derived[name], name=name)
        for name in dict.fromkeys(names)
        if name is not None and name in derived
    )


def group_keys(
    values: Sequence[str], schema: FieldSchema
) -> tuple[tuple[str, ...], list[NamedValue]]:
    """Group-key names, and the derived columns they need: a field, a derived field, or an
    expression (its column is named by its text as written)."""
    keys: list[str] = []
    derived: list[NamedValue] = []
    for key in split_keys(values):
        name = key[1:-1] if len(key) > 1 and key[0] == key[-1] == "`" else key
        if name in schema or is_plain_name(name) or name != key:
            if name not in schema:
                try:
                    parse_filter(f"exists(`{name}`)", schema)  # the "did you mean" error
                except UnknownField as err:  # pointing at the key as written, not at the
                    # expression it was checked as ("column 8" for a key of six letters)
                    raise UnknownField(
                        err.reason, key, 0, name=err.name, suggestion=err.suggestion
                    ) from None
            keys.append(name)
            continue
        expr = parse_value(key, schema)
        if isinstance(expr, Field):
            keys.append(expr.name)
        else:
            keys.append(key)
            derived.append(NamedValue.model_construct(expr=expr, name=key))
    return tuple(keys), derived


_GLOB = re.compile(r"[*?\[]")


def expand_globs(names: list[str], known: list[str]) -> tuple[str, ...]:
    """``--fields`` names with globs (``userIdentity.*``) replaced by the fields they
    match, in ``known``'s order (the standard fields in the model's order, the others by
    name, then the derived ones); a glob matching nothing is a usage error."""
    expanded: list[str] = []
    for name in names:
        if not _GLOB.search(name):
            expanded.append(name)
            continue
        matched = [field for field in known if fnmatch.fnmatchcase(field, name)]
        if not matched:
            raise UsageError(f"--fields: no field matches {name!r}")
        expanded.extend(matched)
    return tuple(dict.fromkeys(expanded))


def _order(values: list[str]) -> tuple[OrderKey, ...]:
    keys = []
    for item in split_keys(values):
        descending = item.startswith("-")
        name = item[1:] if descending else item
        if name.lower().endswith(" desc"):
            name, descending = name[:-5].strip(), True
        elif name.lower().endswith(" asc"):
            name = name[:-4].strip()
        if name.startswith("`"):
            name = (split_fields([name]) or [name])[0]  # a backquoted column name
        keys.append(OrderKey.model_construct(column=name, descending=descending))
    return tuple(keys)


def build_spec(
    store: EventSource,
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
    let: str | Sequence[str] | None = None,
) -> QuerySpec:
    """Parse and check every option against the store's fields into one ``QuerySpec``.

    ``let`` defines derived fields (``NAME=EXPR``) the other options may name, beside
    those the store knows (``mfq.toml``'s ``[fields]``)."""
    types = define_fields(store.field_types(), _listed(let))
    clock = datetime.now(UTC)
    if isinstance(now, str):
        clock = parse_instant(now, clock, "--now")
    elif now is not None:
        clock = now
    time = resolve_range(since, until, last, clock)
    filters = tuple(parse_filter(text, types) for text in _listed(where))
    keys, derived = group_keys(_listed(group_by) + _listed(by), types)
    agg_texts = _listed(aggs) or ([DEFAULT_AGGREGATE] if kind is not QueryKind.EVENTS else [])
    columns = [parse_column(t, types) for t in agg_texts]
    aggregates = tuple(c for c in columns if isinstance(c, NamedAggregate))
    computed = tuple(c for c in columns if isinstance(c, NamedValue))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise UsageError("two aggregates have the same name: use 'as NAME' to tell them apart")
    stored = [name for name in types if name not in types.derived]
    known = [*field_order(stored), *(name for name in types if name in types.derived)]
    wanted = expand_globs(split_fields(_listed(fields)), known)
    for field in wanted:
        if field not in types:
            parse_filter(f"exists({_backquoted(field)})", types)
    used = {*keys, *wanted, *(a.aggregate.field for a in aggregates)}
    used |= {n.field for c in computed for n in walk(c.expr) if isinstance(n, Aggregate)}
    named = {d.name for d in derived}
    derived += [d for d in derived_columns(types, used) if d.name not in named]
    return _query_spec(
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
        derived=tuple(derived),
        computed=computed,
        columns=tuple(names) if computed else (),
    )


#: The query description each query request becomes.
_KINDS: dict[type[QueryQuestion], QueryKind] = {
    QueryRequest: QueryKind.AGGREGATE,
    EventsRequest: QueryKind.EVENTS,
    TimeseriesRequest: QueryKind.TIMESERIES,
}


def request_spec(store: EventSource, request: QueryQuestion) -> QuerySpec:
    """The query description of a ``query``, ``events`` or ``timeseries`` request (each
    of its own options is the ``build_spec`` option of the same name)."""
    own = {item.name: getattr(request, item.name) for item in dataclass_fields(request)}
    del own["selection"]
    return build_spec(store, _KINDS[type(request)], **selection_options(request.selection), **own)


def answer_query(store: QuerySource, request: QueryQuestion) -> pd.DataFrame:
    """A ``query``, ``events`` or ``timeseries`` request's answer, run by the store's
    engine."""
    return store.run(request_spec(store, request))


class SelectionOptions(TypedDict):
    """A :class:`Selection` as ``build_spec``'s keyword options."""

    where: tuple[str, ...]
    since: str | None
    until: str | None
    last: str | None
    now: datetime | str | None
    unweighted: bool


def selection_options(selection: Selection) -> SelectionOptions:
    """``selection`` as ``build_spec``'s keyword options."""
    return {
        "where": selection.filters,
        "since": selection.since,
        "until": selection.until,
        "last": selection.last,
        "now": selection.now,
        "unweighted": selection.unweighted,
    }


def _query_spec(**fields: object) -> QuerySpec:
    """``QuerySpec(**fields)``, made without validation when the options a caller hands
    over as they are (``limit``, ``top``, ``totals``, ``tz``...) have their fields' types:
    every other part was parsed and checked above, and building the description's
    validator would cost a short command more than the parse. Anything else is validated
    (converted, or refused) as before."""
    counts = (fields["limit"], fields["top"])
    flags = (fields["totals"], fields["unweighted"])
    if (
        type(fields["kind"]) is QueryKind
        and all(n is None or (type(n) is int and n >= 1) for n in counts)
        and all(type(flag) is bool for flag in flags)
        and (fields["bucket_tz"] is None or type(fields["bucket_tz"]) is str)
    ):
        return QuerySpec.model_construct(None, **fields)
    return QuerySpec.model_validate(fields)
