"""Type checking against a field schema, node by node as the parser builds them.

With a schema, an unknown field is an error (with the nearest name as a suggestion);
without one, only the standard fields have known types. A quoted string compared with a
timestamp becomes a time literal here, so the tree holds an aware UTC datetime.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from mfq.query.expr.ast import (
    Aggregate,
    Arith,
    ArithOp,
    Call,
    Compare,
    CompareOp,
    Field,
    InList,
    Literal,
    Match,
    MatchOp,
    Node,
    Operand,
)
from mfq.query.expr.errors import ExpressionError, UnknownField, shown
from mfq.query.expr.registry import (
    AggregateSpec,
    ArgKind,
    FunctionSpec,
    Param,
    aggregate_spec,
    result_type,
)
from mfq.query.expr.schema import derived_of
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

    @property
    def strict(self) -> bool:
        """Whether names are checked against a schema."""
        return self._strict

    def known(self, name: str) -> bool:
        """Whether ``name`` is a field of the schema (always true without a schema)."""
        return not self._strict or name in self._types or name in derived_of(self._types)

    def field(self, name: str, position: int, also: Iterable[str] = ()) -> FieldType | None:
        """The type of field ``name``; UnknownField if the schema lacks it.

        ``also`` adds names to suggest besides the fields (``count`` in a condition).
        """
        if self.known(name):
            return self._types.get(name)
        candidates = [*self._types, *(other for other in also if other != name)]
        import difflib  # (a mistake's suggestion only)

        close = difflib.get_close_matches(name, candidates, n=1)
        suggestion = close[0] if close else None
        message = f"unknown field {shown(name)}"
        if suggestion is not None:
            message += f" — did you mean {shown(suggestion)}?"
        raise UnknownField(message, self._text, position, name=name, suggestion=suggestion)

    def value_type(self, node: Node) -> ValueType | None:
        """The type of an expression's values, None when unknown (conditions are boolean)."""
        if isinstance(node, Literal):
            return node.type
        if isinstance(node, Field | Aggregate):
            found = (
                self._types.get(node.name) if isinstance(node, Field) else self.aggregate_type(node)
            )
            return None if found is None else ValueType.of_field(found)
        if isinstance(node, Arith):
            return _arith_type(node.op, self.value_type(node.left), self.value_type(node.right))
        if isinstance(node, Call):
            return self._call_type(node)
        return ValueType.BOOLEAN

    def _call_type(self, node: Call) -> ValueType | None:
        func = node.func
        if func in ("len", "hour", "weekday"):
            return ValueType.INTEGER
        if func in ("lower", "upper", "regex", "date", "pattern"):
            return ValueType.STRING
        if func == "new_pattern":
            return ValueType.BOOLEAN
        if func == "bucket":
            kinds = {self.value_type(arg) for arg in node.args}
            return ValueType.FLOAT if ValueType.FLOAT in kinds else ValueType.INTEGER
        values = node.args[1:] if func == "if" else node.args
        return common_type([self.value_type(arg) for arg in values])

    def arith(self, node: Arith, op_position: int) -> Arith:
        """Check arithmetic: numbers with numbers, or a time minus a time."""
        left, right = self.value_type(node.left), self.value_type(node.right)
        if _arith_type(node.op, left, right) is not None or None in (left, right):
            return node
        if ValueType.NULL in (left, right) and ({left, right} - {ValueType.NULL}) <= NUMERIC_TYPES:
            return node
        message = (
            f"cannot apply {shown(node.op.value)} to {self._describe(node.left, left)}"
            f" and {self._describe(node.right, right)}"
        )
        raise self._fail(message, op_position)

    def call(self, spec: FunctionSpec, node: Call, name_position: int) -> Call:
        """Check a row function's arguments: their number and types; a regular expression
        that compiles; a width that is a positive number."""
        count, fixed = len(node.args), len(spec.params)
        params = [*spec.params, *([spec.params[-1]] * (count - fixed))]
        for param, arg in zip(params, node.args, strict=True):
            self._argument(spec, param, arg)
        if spec.name in ("coalesce", "if"):
            values = node.args[1:] if spec.name == "if" else node.args
            types = [self.value_type(arg) for arg in values]
            if common_type(types) is None and None not in types:
                described = " and ".join(
                    self._describe(arg, t) for arg, t in zip(values, types, strict=True)
                )
                raise self._fail(f"{shown(spec.name)} cannot mix {described}", name_position)
        return node

    def arity(self, spec: FunctionSpec, count: int, position: int) -> None:
        """Check the number of arguments a row function is given."""
        fixed = len(spec.params)
        if count < fixed or (count > fixed and not spec.variadic):
            wanted = f"at least {fixed}" if spec.variadic else str(fixed)
            noun = "argument" if fixed == 1 and not spec.variadic else "arguments"
            message = f"{shown(spec.name)} takes {wanted} {noun}: {spec.signature}"
            raise self._fail(message, position)

    def _argument(self, spec: FunctionSpec, param: Param, arg: Node) -> None:
        found = self.value_type(arg)
        if param is Param.PATTERN:
            if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
                raise self._fail(f"{shown(spec.name)} needs a quoted pattern", arg.span[0])
            self._regex(arg.value, arg.span[0])
            return
        if param is Param.WIDTH:
            value = arg.value if isinstance(arg, Literal) else None
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and value > 0):  # type: ignore[operator]
                message = f"{shown(spec.name)} needs a positive number as its width"
                raise self._fail(message, arg.span[0])
            return
        wanted = _PARAM_TYPES.get(param)
        if wanted is None or found in (None, ValueType.NULL):
            return
        accepted, label = wanted
        if found not in accepted:
            described = self._describe(arg, found)
            raise self._fail(f"{shown(spec.name)} needs {label}, not {described}", arg.span[0])

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

    def _describe(self, node: Node, value_type: ValueType | None) -> str:
        prefix = "" if value_type is None else f"{value_type} "
        if isinstance(node, Field):
            return f"{prefix}field {shown(node.name)}"
        if isinstance(node, Aggregate):
            return f"{prefix}aggregate {shown(to_text(node))}"
        if not isinstance(node, Literal):
            return f"{prefix}{shown(to_text(node))}"
        if isinstance(node.value, str):
            return f"{prefix}{shown(node.value)}"
        if isinstance(node.value, datetime):
            return f"{prefix}{shown(time_text(node.value))}"
        return f"{prefix}{to_text(node)}"


_PARAM_TYPES: dict[Param, tuple[frozenset[ValueType], str]] = {
    Param.NUMBER: (NUMERIC_TYPES, "a number"),
    Param.TEXT: (frozenset({ValueType.STRING}), "a string"),
    Param.TIME: (frozenset({ValueType.TIMESTAMP}), "a timestamp"),
    Param.CONDITION: (frozenset({ValueType.BOOLEAN}), "a condition"),
}


def _arith_type(op: ArithOp, left: ValueType | None, right: ValueType | None) -> ValueType | None:
    """The type of ``left op right``; None when unknown or not allowed. A time minus a time
    is a float (milliseconds); ``/`` always gives a float; null with a number is a number."""
    if left is ValueType.TIMESTAMP and right is ValueType.TIMESTAMP:
        return ValueType.FLOAT if op is ArithOp.SUB else None
    kinds = {left, right} - {ValueType.NULL}
    if not kinds:
        return ValueType.NULL
    if not kinds <= NUMERIC_TYPES:
        return None
    if op is ArithOp.DIV or ValueType.FLOAT in kinds:
        return ValueType.FLOAT
    return ValueType.INTEGER


def common_type(types: list[ValueType | None]) -> ValueType | None:
    """The type values of these types share (integer and float: float; null: any), None
    when unknown or when they cannot mix."""
    if None in types:
        return None
    kinds = {t for t in types if t is not ValueType.NULL}
    if not kinds:
        return ValueType.NULL
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= NUMERIC_TYPES:
        return ValueType.FLOAT
    return None
