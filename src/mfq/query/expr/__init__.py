"""The expression language of ``--where``, ``--having``, ``--agg`` and ``check``.

Parse text into a checked, frozen tree (:mod:`mfq.query.expr.ast`)::

    parse_filter("status = 'error' and duration_ms > 800", fields)
    parse_aggregate("p95(duration_ms) as p95", fields)
    parse_condition("ratio(status = 'error') < 0.02", fields)
    parse_value("bucket(duration_ms, 100)", fields)
    parse_column("sum(amount) / count as mean", fields)

Every mistake raises :class:`ExpressionError` (exit code 2) with a one-line message that
names the column, and nothing else escapes the parser, whatever the input.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from mfq.query.expr.ast import (
    EXPR_ADAPTER,
    Aggregate,
    And,
    Arith,
    ArithOp,
    Call,
    Compare,
    CompareOp,
    Exists,
    Expr,
    Field,
    InList,
    IsNull,
    Literal,
    Match,
    MatchOp,
    NamedAggregate,
    NamedValue,
    Node,
    Not,
    Operand,
    Or,
    walk,
    without_spans,
)
from mfq.query.expr.errors import ExpressionError, UnknownField
from mfq.query.expr.parser import Parser
from mfq.query.expr.registry import (
    AGGREGATES,
    FUNCTIONS,
    AggregateSpec,
    ArgKind,
    FunctionSpec,
    aggregate_spec,
    function_spec,
)
from mfq.query.expr.schema import FieldSchema, derived_of
from mfq.query.expr.text import to_text
from mfq.query.expr.types import STANDARD_FIELD_TYPES, FieldType, ValueType

__all__ = [
    "AGGREGATES",
    "EXPR_ADAPTER",
    "FUNCTIONS",
    "STANDARD_FIELD_TYPES",
    "Aggregate",
    "AggregateSpec",
    "And",
    "ArgKind",
    "Arith",
    "ArithOp",
    "Call",
    "Compare",
    "CompareOp",
    "Exists",
    "Expr",
    "ExpressionError",
    "Field",
    "FieldSchema",
    "FieldType",
    "FunctionSpec",
    "InList",
    "IsNull",
    "Literal",
    "Match",
    "MatchOp",
    "NamedAggregate",
    "NamedValue",
    "Node",
    "Not",
    "Operand",
    "Or",
    "UnknownField",
    "ValueType",
    "aggregate_spec",
    "aggregates_in",
    "derived_of",
    "function_spec",
    "parse_aggregate",
    "parse_column",
    "parse_condition",
    "parse_filter",
    "parse_value",
    "referenced_fields",
    "to_text",
    "value_type",
    "without_spans",
]


def parse_filter(text: str, fields: Mapping[str, FieldType] | None = None) -> Expr:
    """Parse a filter (``--where``): tests on event fields, no aggregates.

    ``fields`` is the schema to check names and types against; without it any name is
    accepted and only the standard fields' types are checked. Raises ExpressionError.
    """
    return Parser(text, fields).filter()


def parse_aggregate(text: str, fields: Mapping[str, FieldType] | None = None) -> NamedAggregate:
    """Parse one aggregate, optionally ``as NAME`` (no arithmetic: see :func:`parse_column`).

    Without an alias the name is the aggregate's text as written (outer spaces stripped).
    Raises ExpressionError.
    """
    column = Parser(text, fields).aggregate()
    if isinstance(column, NamedValue):
        raise ExpressionError("expected one aggregate, not arithmetic", text, 0)
    return column


def parse_column(
    text: str, fields: Mapping[str, FieldType] | None = None
) -> NamedAggregate | NamedValue:
    """Parse one ``--agg``: an aggregate, or arithmetic over aggregates
    (``max(timestamp) - min(timestamp) as span``), optionally ``as NAME``. Raises
    ExpressionError."""
    return Parser(text, fields).aggregate()


def parse_value(text: str, fields: Mapping[str, FieldType] | None = None) -> Expr:
    """Parse a value over event fields (``--let``, ``--group-by EXPR``): functions,
    arithmetic, conditions; no aggregates. Raises ExpressionError."""
    return Parser(text, fields).value()


def parse_condition(text: str, fields: Mapping[str, FieldType] | None = None) -> Expr:
    """Parse a condition (``--having``, ``check``): tests whose sides may be aggregates.

    Bare ``count`` and ``rate`` are aggregates here; a field with such a name needs
    backquotes. Raises ExpressionError.
    """
    return Parser(text, fields).condition()


def referenced_fields(expr: Node | NamedAggregate) -> set[str]:
    """The names of every field an expression reads, inside aggregates too."""
    root = expr.aggregate if isinstance(expr, NamedAggregate) else expr
    return set(_fields_read(root))


@functools.lru_cache(maxsize=4096)
def _fields_read(root: Node) -> frozenset[str]:
    """:func:`referenced_fields`, remembered per node (nodes are frozen, so hashable): a
    batch of per-field queries asks for the same aggregates' fields thousands of times
    (``correlate`` on a wide log)."""
    names: set[str] = set()
    for node in walk(root):
        if isinstance(node, Field):
            names.add(node.name)
        elif isinstance(node, Exists | Aggregate) and node.field is not None:
            names.add(node.field)
    return frozenset(names)


def aggregates_in(expr: Node) -> list[Aggregate]:
    """The aggregates a condition computes, outermost first, in source order."""
    return [node for node in walk(expr) if isinstance(node, Aggregate)]


def value_type(expr: Node, fields: Mapping[str, FieldType] | None = None) -> ValueType | None:
    """The type of an expression's values over ``fields`` (None when unknown)."""
    from mfq.query.expr.check import Checker

    return Checker("", fields).value_type(expr)
