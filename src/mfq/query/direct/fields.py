"""The fields a question reads, found from its texts before any event is read."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mfq.errors import MfqError
from mfq.query.build import let_definition, split_fields, split_keys
from mfq.query.expr import (
    NamedAggregate,
    parse_column,
    parse_condition,
    parse_filter,
    parse_value,
    referenced_fields,
)
from mfq.query.expr.tokens import is_plain_name


class EveryField:
    """A question that may read any field (the analysis commands): the files are read and
    validated whole, and still not written."""


#: The one ``EveryField``.
EVERY_FIELD = EveryField()
#: What a question reads: some fields, or every field.
Question = frozenset[str] | EveryField

#: Expressions that need more than the rows' own fields (a store's learned templates).
_NEEDS_STORE = re.compile(r"\b(new_)?pattern\s*\(", re.IGNORECASE)
_GLOB = re.compile(r"[*?\[]")
_DIRECTION = re.compile(r"\s+(asc|desc)$", re.IGNORECASE)


def question_fields(
    *,
    where: Sequence[str] = (),
    keys: Sequence[str] = (),
    aggs: Sequence[str] = (),
    having: str | None = None,
    order_by: Sequence[str] = (),
    fields: Sequence[str] = (),
    lets: Sequence[str | tuple[str, str]] = (),
) -> frozenset[str] | None:
    """Every field name the question's texts mention (derived names too: a stored field of
    that name must be seen to be refused); None when that cannot be known from the texts
    alone (globs, pattern fields, texts that do not parse: the store path answers them)."""
    texts = [*where, *keys, *aggs, *order_by, *fields, having or ""]
    texts += [d if isinstance(d, str) else d[1] for d in lets]
    if any(_NEEDS_STORE.search(text) for text in texts):
        return None
    names: set[str] = set()
    try:
        for definition in lets:
            name, text = let_definition(definition) if isinstance(definition, str) else definition
            names.add(name)
            names |= referenced_fields(parse_value(text))
        for text in where:
            names |= referenced_fields(parse_filter(text))
        for key in split_keys(keys):
            names |= _key_fields(key)
        for text in aggs:
            column = parse_column(text)
            names |= referenced_fields(
                column if isinstance(column, NamedAggregate) else column.expr
            )
        if having:
            names |= referenced_fields(parse_condition(having))
        listed = split_fields(list(fields))
        for item in split_keys(order_by):
            name = _DIRECTION.sub("", item.removeprefix("-")).strip()
            if name.startswith("`") or is_plain_name(name):
                listed += split_fields([name]) if name.startswith("`") else [name]
            else:  # an expression, or a column of aggregates: the fields it reads
                names |= _order_fields(name)
    except MfqError:
        return None
    if any(_GLOB.search(name) for name in listed):
        return None
    return frozenset(names | set(listed))


def _key_fields(key: str) -> set[str]:
    """The fields of one group key: a name (backquoted or plain) or an expression."""
    if len(key) > 1 and key[0] == key[-1] == "`":
        return {key[1:-1]}
    if is_plain_name(key):
        return {key}
    return referenced_fields(parse_value(key))


def _order_fields(text: str) -> set[str]:
    """The fields an ``--order-by`` expression reads: a value over the events' fields
    (``coalesce(a, b)``) or a column of the answer (``p95(duration_ms)``, ``count()``)."""
    try:
        return referenced_fields(parse_value(text))
    except MfqError:
        column = parse_column(text)  # (an error here is the question's: it does not parse)
        return referenced_fields(column if isinstance(column, NamedAggregate) else column.expr)
