"""Type checking against a field schema, node by node as the parser builds them.

With a schema, an unknown field is an error (with the nearest name as a suggestion);
without one, only the standard fields have known types. A quoted string compared with a
timestamp becomes a time literal here, so the tree holds an aware UTC datetime.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from mfq.query.expr.ast import (
    Aggregate,
    Compare,
    CompareOp,
    Field,
    InList,
    Literal,
    Match,
    MatchOp,
    Operand,
)
from mfq.query.expr.errors import ExpressionError, UnknownField, shown
from mfq.query.expr.registry import AggregateSpec, ArgKind, aggregate_spec, result_type
from mfq.query.expr.text import time_text, to_text
from mfq.query.expr.types import (
    NUMERIC_TYPES,
    STANDARD_FIELD_TYPES,
    FieldType,
    ValueType,
    comparable,
    parse_time,
)

_FIELD_ARG_TYPES: dict[ArgKind, tuple[frozenset[ValueType], str]] = {
    ArgKind.NUMERIC_FIELD: (NUMERIC_TYPES, "a numeric field"),
    ArgKind.ORDERED_FIELD: (NUMERIC_TYPES | {ValueType.TIMESTAMP}, "a numeric or timestamp field"),
}


class Checker:
    """Checks nodes of one expression against ``fields`` (None: no schema)."""

    def __init__(self, text: str, fields: Mapping[str, FieldType] | None) -> None:
        self._text = text
        self._strict = fields is not None
        self._types: Mapping[str, FieldType] = (
            fields if fields is not None else STANDARD_FIELD_TYPES
        )

    def _fail(self, message: str, position: int) -> ExpressionError:
        return ExpressionError(message, self._text, position)

    def known(self, name: str) -> bool:
        """Whether ``name`` is a field of the schema (always true without a schema)."""
        return not self._strict or name in self._types

    def field(self, name: str, position: int, also: Iterable[str] = ()) -> FieldType | None:
        """The type of field ``name``; UnknownField if the schema lacks it.

        ``also`` adds names to suggest besides the fields (``count`` in a condition).
        """
        if self.known(name):
            return self._types.get(name)
        candidates = [*self._types, *(other for other in also if other != name)]
        close = difflib.get_close_matches(name, candidates, n=1)
        suggestion = close[0] if close else None
        message = f"unknown field {shown(name)}"
        if suggestion is not None:
            message += f" — did you mean {shown(suggestion)}?"
        raise UnknownField(message, self._text, position, name=name, suggestion=suggestion)

    def value_type(self, node: Operand) -> ValueType | None:
        """The type of an operand's values, None when unknown."""
        if isinstance(node, Literal):
            return node.type
        found = self._types.get(node.name) if isinstance(node, Field) else self.aggregate_type(node)
        return None if found is None else ValueType.of_field(found)

    def aggregate_type(self, node: Aggregate) -> FieldType | None:
        """The type an aggregate produces (None when its field's type is unknown)."""
        spec = aggregate_spec(node.func)
        if spec is None:
            return None
        field_type = None if node.field is None else self._types.get(node.field)
        return result_type(spec, field_type)

    def aggregate_field(self, spec: AggregateSpec, name: str, position: int) -> None:
        """Check the field an aggregate is given: known, and of a type it accepts."""
        field_type = self.field(name, position)
        wanted = _FIELD_ARG_TYPES.get(spec.args)
        if field_type is None or wanted is None:
            return
        accepted, label = wanted
        if ValueType.of_field(field_type) not in accepted:
            described = f"{field_type} field {shown(name)}"
            raise self._fail(f"{shown(spec.name)} needs {label}, not {described}", position)

    def compare(self, node: Compare) -> Compare:
        """Check a comparison; a string compared with a timestamp becomes a time."""
        left, right = node.left, node.right
        if self.value_type(left) is ValueType.TIMESTAMP and isinstance(right, Literal):
            right = self._as_time(right)
        if self.value_type(right) is ValueType.TIMESTAMP and isinstance(left, Literal):
            left = self._as_time(left)
        for side in (left, right):
            self._not_null(side, node.op)
        self._comparable(left, right)
        return node.model_copy(update={"left": left, "right": right})

    def in_list(self, node: InList) -> InList:
        """Check each listed value against the operand, as ``=`` would."""
        values = node.values
        if self.value_type(node.operand) is ValueType.TIMESTAMP:
            values = tuple(self._as_time(value) for value in values)
        for value in values:
            self._not_null(value, CompareOp.EQ)
            self._comparable(node.operand, value)
        return node.model_copy(update={"values": values})

    def match(self, node: Match, pattern_position: int) -> Match:
        """Check a string test: a string operand, and a regular expression that compiles."""
        operand_type = self.value_type(node.operand)
        if operand_type not in (None, ValueType.STRING):
            described = self._describe(node.operand, operand_type)
            message = f"{shown(node.op.value)} needs a string operand, not {described}"
            raise self._fail(message, node.operand.span[0])
        if node.op is MatchOp.REGEX:
            self._regex(node.pattern, pattern_position)
        return node

    def _regex(self, pattern: str, position: int) -> None:
        try:
            re.compile(pattern)
        except (re.error, OverflowError) as err:  # OverflowError: a huge repeat count
            reason = str(err)
        except RecursionError:  # thousands of nested groups
            reason = "nested too deeply"
        else:
            return
        raise self._fail(f"bad regular expression {shown(pattern)}: {reason}", position)

    def _as_time(self, node: Literal) -> Literal:
        if not isinstance(node.value, str):
            return node
        value = parse_time(node.value)
        if value is None:
            raise self._fail(f"bad time {shown(node.value)}", node.span[0])
        return Literal.of(value, node.span)

    def _not_null(self, node: Operand, op: CompareOp) -> None:
        if not (isinstance(node, Literal) and node.type is ValueType.NULL):
            return
        if op is CompareOp.EQ:
            message = "use 'is null' to test for null"
        elif op is CompareOp.NE:
            message = "use 'is not null' to test for null"
        else:
            message = f"cannot compare with null using {shown(op.value)}"
        raise self._fail(message, node.span[0])

    def _comparable(self, left: Operand, right: Operand) -> None:
        left_type, right_type = self.value_type(left), self.value_type(right)
        if comparable(left_type, right_type):
            return
        # Point at the literal when there is one: it is usually what the user got wrong.
        blame = left if isinstance(left, Literal) and not isinstance(right, Literal) else right
        message = (
            f"cannot compare {self._describe(left, left_type)}"
            f" with {self._describe(right, right_type)}"
        )
        raise self._fail(message, blame.span[0])

    def _describe(self, node: Operand, value_type: ValueType | None) -> str:
        prefix = "" if value_type is None else f"{value_type} "
        if isinstance(node, Field):
            return f"{prefix}field {shown(node.name)}"
        if isinstance(node, Aggregate):
            return f"{prefix}aggregate {shown(to_text(node))}"
        if isinstance(node.value, str):
            return f"{prefix}{shown(node.value)}"
        if isinstance(node.value, datetime):
            return f"{prefix}{shown(time_text(node.value))}"
        return f"{prefix}{to_text(node)}"
