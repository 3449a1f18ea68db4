"""Expressions back to text, in canonical form.

The output parses back to the same tree (spans aside): strings in single quotes, names
backquoted when they would not read back as one plain identifier, parentheses exactly
where a nested ``and``/``or`` needs them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import singledispatch

from mfq.query.expr.ast import (
    Aggregate,
    And,
    Arith,
    ArithOp,
    Call,
    Compare,
    Exists,
    Field,
    InList,
    IsNull,
    Literal,
    Match,
    NamedAggregate,
    NamedValue,
    Node,
    Not,
    Or,
)
from mfq.query.expr.registry import BARE_AGGREGATES
from mfq.query.expr.tokens import is_keyword, is_plain_name


def to_text(node: Node | NamedAggregate | NamedValue) -> str:
    """The canonical text of an expression, or of an aggregate with its name."""
    if isinstance(node, NamedAggregate):
        return f"{to_text(node.aggregate)} as {name_text(node.name)}"
    if isinstance(node, NamedValue):
        return f"{to_text(node.expr)} as {name_text(node.name)}"
    return _text(node)


_PRECEDENCE = {ArithOp.ADD: 1, ArithOp.SUB: 1, ArithOp.MUL: 2, ArithOp.DIV: 2}
_VALUES = (Literal, Field, Aggregate, Call)


def _operand(node: Node, *, above: int = 0, right: bool = False) -> str:
    """An operand's text, in parentheses when it would not read back as one operand: a
    condition always, arithmetic that binds less tightly (or as tightly, on the right)."""
    text = to_text(node)
    if isinstance(node, _VALUES):
        return text
    if isinstance(node, Arith):
        own = _PRECEDENCE[node.op]
        return f"({text})" if own < above or (right and own == above) else text
    return f"({text})"


def name_text(name: str) -> str:
    """A field name as written in an expression: bare when it can be, else backquoted."""
    reserved = is_keyword(name) or (name.isascii() and name.lower() in BARE_AGGREGATES)
    if is_plain_name(name) and not reserved:
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def string_text(value: str) -> str:
    """A string literal: single quotes, backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def time_text(value: datetime) -> str:
    """A time as ISO-8601 UTC with ``Z`` (microseconds only when there are some)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


@singledispatch
def _text(node: Node) -> str:
    raise TypeError(f"not an expression node: {type(node).__name__}")


@_text.register
def _literal(node: Literal) -> str:
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return string_text(time_text(value))
    return string_text(value)


@_text.register
def _field(node: Field) -> str:
    return name_text(node.name)


@_text.register
def _aggregate(node: Aggregate) -> str:
    if node.field is not None:
        return f"{node.func}({name_text(node.field)})"
    if node.arg is not None:
        return f"{node.func}({to_text(node.arg)})"
    return node.func


@_text.register
def _call(node: Call) -> str:
    return f"{node.func}({', '.join(to_text(arg) for arg in node.args)})"


@_text.register
def _arith(node: Arith) -> str:
    own = _PRECEDENCE[node.op]
    left = _operand(node.left, above=own)
    return f"{left} {node.op.value} {_operand(node.right, above=own, right=True)}"


@_text.register
def _compare(node: Compare) -> str:
    return f"{_operand(node.left)} {node.op.value} {_operand(node.right)}"


@_text.register
def _in_list(node: InList) -> str:
    values = ", ".join(to_text(value) for value in node.values)
    keyword = "not in" if node.negated else "in"
    return f"{_operand(node.operand)} {keyword} ({values})"


@_text.register
def _match(node: Match) -> str:
    return f"{_operand(node.operand)} {node.op.value} {string_text(node.pattern)}"


@_text.register
def _exists(node: Exists) -> str:
    return f"exists({name_text(node.field)})"


@_text.register
def _is_null(node: IsNull) -> str:
    return f"{_operand(node.operand)} is {'not null' if node.negated else 'null'}"


def _grouped(node: Node) -> str:
    text = to_text(node)
    return f"({text})" if isinstance(node, And | Or) else text


@_text.register
def _and(node: And) -> str:
    return " and ".join(_grouped(item) for item in node.items)


@_text.register
def _or(node: Or) -> str:
    return " or ".join(f"({to_text(i)})" if isinstance(i, Or) else to_text(i) for i in node.items)


@_text.register
def _not(node: Not) -> str:
    return f"not {_grouped(node.item)}"
