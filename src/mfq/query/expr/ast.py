"""The expression tree: frozen pydantic nodes, a union discriminated by ``kind``.

Nodes are plain data, so a query description can embed them and serialise them to JSON
and back. Every node carries ``span``: the ``(start, end)`` character offsets of its text
in the source (``(0, 0)`` for nodes built by hand); equality includes spans, so compare
through :func:`without_spans` when only the meaning matters.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, TypeAlias, TypeVar

import pydantic

from mfq.query.expr.registry import AGGREGATES, ArgKind
from mfq.query.expr.types import ValueType

Span: TypeAlias = tuple[int, int]
#: A literal's Python value (``datetime`` for time literals, always aware UTC).
LiteralValue: TypeAlias = bool | int | float | str | datetime | None


class CompareOp(StrEnum):
    """Comparison operators."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class ArithOp(StrEnum):
    """Arithmetic operators (SQL's: a null operand gives null; ``/`` always divides
    exactly, as floats, and a division by zero is null)."""

    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"


class MatchOp(StrEnum):
    """String tests: substring, prefix, regular expression (``re.search``: matches anywhere)."""

    CONTAINS = "contains"
    STARTSWITH = "startswith"
    REGEX = "~"


_ARGUMENTS: dict[ArgKind, str] = {
    ArgKind.NONE: "no argument",
    ArgKind.OPTIONAL_FILTER: "no argument or a filter (arg)",
    ArgKind.FILTER: "a filter (arg)",
    ArgKind.ANY_FIELD: "a field",
    ArgKind.NUMERIC_FIELD: "a field",
    ArgKind.ORDERED_FIELD: "a field",
}


class Node(pydantic.BaseModel):
    """Base of every node: frozen, no extra keys, a source span.

    Each node's validator is built when a node is first validated (made by hand, or read
    from JSON), not at import: the parser makes its nodes without validation (see
    :mod:`mfq.query.expr.parser`), so a command builds none of them.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", defer_build=True)

    span: Span = (0, 0)


#: Python types whose values are literals as they are.
_PLAIN = frozenset({bool, int, float, str, type(None)})

_LITERAL_TYPES: dict[ValueType, tuple[type, ...]] = {
    ValueType.STRING: (str,),
    ValueType.INTEGER: (int,),
    ValueType.FLOAT: (float,),
    ValueType.BOOLEAN: (bool,),
    ValueType.TIMESTAMP: (datetime,),
    ValueType.NULL: (type(None),),
}


class Literal(Node):
    """A constant: string, integer, float, boolean, null or (aware UTC) time.

    ``type`` says which, so a time survives a trip through JSON (where it is a string).
    Build one with :meth:`of`, which works the type out from the value.
    """

    kind: typing.Literal["literal"] = "literal"
    type: ValueType
    value: LiteralValue

    @classmethod
    def of(cls, value: LiteralValue, span: Span = (0, 0)) -> Literal:
        """A literal of ``value``, typed by its Python type."""
        # The parser makes its literals here: one typed by its own value needs no validation
        # (and builds no validator); anything else is validated, and refused as before.
        if isinstance(value, datetime) and value.utcoffset() is not None:
            value = value.astimezone(UTC)  # as validation keeps every time
        elif type(value) not in _PLAIN or (isinstance(value, float) and not math.isfinite(value)):
            return cls(type=_type_of(value), value=value, span=span)
        return cls.model_construct(type=_type_of(value), value=value, span=span)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _time_in_utc(cls, data: object) -> object:
        # JSON carries a time as text; read it back, and keep every time in UTC.
        if isinstance(data, dict) and data.get("type") == ValueType.TIMESTAMP:
            value = data.get("value")
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            if isinstance(value, datetime) and value.utcoffset() is not None:
                return {**data, "value": value.astimezone(UTC)}
        return data

    @pydantic.model_validator(mode="after")
    def _value_fits_type(self) -> Literal:
        wanted = _LITERAL_TYPES[self.type]
        if not isinstance(self.value, wanted) or (
            isinstance(self.value, bool) and self.type is not ValueType.BOOLEAN
        ):
            raise ValueError(f"a {self.type} literal cannot hold {self.value!r}")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError("a float literal must be finite")
        if isinstance(self.value, datetime) and self.value.utcoffset() is None:
            raise ValueError("a time literal must be timezone-aware")
        return self


def _type_of(value: LiteralValue) -> ValueType:
    if value is None:
        return ValueType.NULL
    if isinstance(value, bool):
        return ValueType.BOOLEAN
    if isinstance(value, int):
        return ValueType.INTEGER
    if isinstance(value, float):
        return ValueType.FLOAT
    if isinstance(value, datetime):
        return ValueType.TIMESTAMP
    return ValueType.STRING


class Field(Node):
    """A reference to an event field by name (dots are part of the name: ``http.route``)."""

    kind: typing.Literal["field"] = "field"
    name: str = pydantic.Field(min_length=1)


class Aggregate(Node):
    """An aggregate over a group's events: ``count``, ``count(EXPR)``, ``p95(duration_ms)``.

    ``func`` is the registry name (lower case). ``arg`` is the filter of ``count(EXPR)`` and
    ``ratio(EXPR)``; ``field`` the field of ``sum(F)``, ``p95(F)`` and the like.
    """

    kind: typing.Literal["aggregate"] = "aggregate"
    func: str
    arg: Expr | None = None
    field: str | None = pydantic.Field(default=None, min_length=1)

    @pydantic.model_validator(mode="after")
    def _fits_the_registry(self) -> Aggregate:
        spec = AGGREGATES.get(self.func)
        if spec is None:
            raise ValueError(f"unknown aggregate {self.func!r}")
        wants_arg = spec.args is ArgKind.FILTER or (
            spec.args is ArgKind.OPTIONAL_FILTER and self.arg is not None
        )
        if spec.takes_field != (self.field is not None) or wants_arg != (self.arg is not None):
            raise ValueError(f"{self.func} takes {_ARGUMENTS[spec.args]}")
        return self


class Compare(Node):
    """``left op right``."""

    kind: typing.Literal["compare"] = "compare"
    op: CompareOp
    left: Operand
    right: Operand


class InList(Node):
    """``operand in (v, ...)``, or ``not in`` when ``negated``."""

    kind: typing.Literal["in"] = "in"
    operand: Operand
    values: tuple[Literal, ...] = pydantic.Field(min_length=1)
    negated: bool = False


class Match(Node):
    """``operand contains 'x'``, ``operand startswith 'x'``, ``operand ~ 'regex'``."""

    kind: typing.Literal["match"] = "match"
    op: MatchOp
    operand: Operand
    pattern: str


class Exists(Node):
    """``exists(field)``: the event has the field (with a non-null value)."""

    kind: typing.Literal["exists"] = "exists"
    field: str = pydantic.Field(min_length=1)


class IsNull(Node):
    """``operand is null``, or ``is not null`` when ``negated``."""

    kind: typing.Literal["is_null"] = "is_null"
    operand: Operand
    negated: bool = False


class Call(Node):
    """A row function: ``lower(service)``, ``bucket(duration_ms, 100)``, ``if(c, a, b)``.

    ``func`` is the registry name (lower case); the arguments are any expressions.
    """

    kind: typing.Literal["call"] = "call"
    func: str
    args: tuple[Expr, ...] = pydantic.Field(min_length=1)


class Arith(Node):
    """``left op right``: ``+``, ``-``, ``*`` or ``/``."""

    kind: typing.Literal["arith"] = "arith"
    op: ArithOp
    left: Expr
    right: Expr


class And(Node):
    """Every item holds. A parenthesised ``and`` inside stays a nested node, as written."""

    kind: typing.Literal["and"] = "and"
    items: tuple[Expr, ...] = pydantic.Field(min_length=2)


class Or(Node):
    """Some item holds."""

    kind: typing.Literal["or"] = "or"
    items: tuple[Expr, ...] = pydantic.Field(min_length=2)


class Not(Node):
    """The item does not hold."""

    kind: typing.Literal["not"] = "not"
    item: Expr


#: Any expression node.
Expr: TypeAlias = Annotated[
    Literal
    | Field
    | Aggregate
    | Call
    | Arith
    | Compare
    | InList
    | Match
    | Exists
    | IsNull
    | And
    | Or
    | Not,
    pydantic.Field(discriminator="kind"),
]
#: What a comparison or test applies to: any value (a condition is a boolean value).
Operand: TypeAlias = Expr


class NamedAggregate(pydantic.BaseModel):
    """An aggregate and its column name (``p95(duration_ms) as p95``, or the text as written)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", defer_build=True)

    aggregate: Aggregate
    name: str = pydantic.Field(min_length=1)


class NamedValue(pydantic.BaseModel):
    """A result column computed from aggregates (``sum(amount) / count as mean``)."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", defer_build=True)

    expr: Expr
    name: str = pydantic.Field(min_length=1)


#: Validates and serialises any expression (``EXPR_ADAPTER.validate_json(...)``).
EXPR_ADAPTER: pydantic.TypeAdapter[Expr] = pydantic.TypeAdapter(
    Expr, config=pydantic.ConfigDict(defer_build=True)
)


def children(node: Node) -> Iterator[Node]:
    """The nodes directly inside ``node``, in source order."""
    for name in type(node).model_fields:
        value = getattr(node, name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from (item for item in value if isinstance(item, Node))


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node inside it, depth first, in source order."""
    yield node
    for child in children(node):
        # Leaves are yielded here, not walked: an id list (a funnel's ``--why``) holds
        # thousands of literals, and a generator each made a walk 15 times slower.
        if type(child) in _LEAVES:
            yield child
        else:
            yield from walk(child)


#: Nodes with no nodes inside them.
_LEAVES: frozenset[type[Node]] = frozenset({Literal, Field})

_NodeT = TypeVar("_NodeT", bound=Node)


def with_children(node: _NodeT, change: Callable[[Node], Node], **update: object) -> _NodeT:
    """A copy of ``node`` with ``change`` applied to each node directly inside it (and
    the other fields in ``update`` set); ``node`` itself when nothing is to change."""
    for name in type(node).model_fields:
        value = getattr(node, name)
        if isinstance(value, Node):
            update[name] = change(value)
        elif isinstance(value, tuple) and value and isinstance(value[0], Node):
            update[name] = tuple(change(item) for item in value)
    return node.model_copy(update=update) if update else node


def without_spans(node: Node) -> Node:
    """A copy of ``node`` with every span set to ``(0, 0)``: equal iff the meaning is equal."""
    return with_children(node, without_spans, span=(0, 0))


def respanned(node: Node, span: Span) -> Node:
    """A copy of ``node`` with every span set to ``span`` (a derived field's expression
    put where its name was written: mistakes found later point at the name)."""
    return with_children(node, lambda child: respanned(child, span), span=span)
