"""Filter expressions to pyarrow compute expressions, so filters run inside the Parquet
scan (row-group pruning by statistics, no Python per row).

Semantics are SQL's (as DuckDB's): comparisons with null are null, a null filter result
keeps nothing, ``and``/``or``/``not`` use three-valued logic.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from mfq.errors import UsageError
from mfq.query.expr import (
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
    Not,
    Or,
)
from mfq.query.expr.ast import Node, Operand
from mfq.query.expr.regex import first_group_pattern
from mfq.query.numbers import FLIPPED as _FLIPPED
from mfq.query.numbers import (
    is_number,
    is_numeric_type,
    members_of,
    mixed_numbers,
    numeric_bound,
)

#: (Made from an array: ``pa.scalar`` imports pandas, at this module's import, to ask
#: whether None is a pandas value.)
_NULL_BOOL = pc.scalar(pa.nulls(1, pa.bool_())[0])
_TIME = pa.timestamp("ns", tz="UTC")
_ARITH = {
    ArithOp.ADD: "add_checked",
    ArithOp.SUB: "subtract_checked",
    ArithOp.MUL: "multiply_checked",
}
#: What a missing field is inside a function wanting a value of this kind.
_NULL_OF = {"number": pa.float64(), "text": pa.string(), "time": _TIME}
#: The regular expression's first group, as ``extract_regex`` names it.
GROUP = "g"
_COMPARE = {
    CompareOp.EQ: "equal",
    CompareOp.NE: "not_equal",
    CompareOp.LT: "less",
    CompareOp.LE: "less_equal",
    CompareOp.GT: "greater",
    CompareOp.GE: "greater_equal",
}


def compile_filter(expr: Expr, schema: pa.Schema) -> pc.Expression:
    """A pyarrow expression for ``expr`` over tables of ``schema``.

    A field the schema does not have is null in every row (so ``exists(f)`` is false).
    """
    return _Compiler(schema).compile(expr)


def compile_value(expr: Expr, schema: pa.Schema) -> pc.Expression:
    """A pyarrow expression computing the value ``expr`` (a derived field, a group key)
    over tables of ``schema``: SQL's null rules, a division by zero is null."""
    return _Compiler(schema).value(expr)


class _Compiler:
    def __init__(self, schema: pa.Schema) -> None:
        self._schema = schema

    def compile(self, expr: Expr) -> pc.Expression:
        if isinstance(expr, And):
            result = self.compile(expr.items[0])
            for item in expr.items[1:]:
                result = result & self.compile(item)
            return result
        if isinstance(expr, Or):
            result = self.compile(expr.items[0])
            for item in expr.items[1:]:
                result = result | self.compile(item)
            return result
        if isinstance(expr, Not):
            return ~self.compile(expr.item)
        if isinstance(expr, Compare):
            if self._missing(expr.left) or self._missing(expr.right):
                return _NULL_BOOL  # a comparison with an absent field is null
            return self._compare(expr)
        if isinstance(expr, InList | Match) and self._missing(expr.operand):
            return _NULL_BOOL
        if isinstance(expr, InList):
            return self._in_list(expr)
        if isinstance(expr, Match):
            return self._match(expr)
        if isinstance(expr, Exists):
            if self._missing(Field.model_construct(name=expr.field)):
                return pc.scalar(False)
            return pc.field(expr.field).is_valid()
        if isinstance(expr, IsNull):
            if self._missing(expr.operand):
                return pc.scalar(not expr.negated)
            operand = self._operand(expr.operand)
            return operand.is_valid() if expr.negated else operand.is_null()
        if isinstance(expr, Field) and self._missing(expr):
            return _NULL_BOOL
        if isinstance(expr, Field | Literal | Call):  # a boolean value
            return self._operand(expr)
        raise UsageError(f"an aggregate cannot be used in a filter: {type(expr).__name__}")

    def value(self, expr: Node, want: str | None = None) -> pc.Expression:
        """Any value: a field, a literal, a function, arithmetic or a condition."""
        if isinstance(expr, Field) and self._missing(expr):
            return pc.scalar(pa.scalar(None, type=_NULL_OF.get(want or "", pa.null())))
        if isinstance(expr, Field):
            found = self._schema.field(expr.name).type
            if pa.types.is_dictionary(found):  # text kernels have no dictionary version
                return pc.field(expr.name).cast(found.value_type)
            return pc.field(expr.name)
        if isinstance(expr, Literal) and expr.value is None:
            return pc.scalar(pa.scalar(None, type=_NULL_OF.get(want or "", pa.null())))
        if isinstance(expr, Literal):
            return pc.scalar(_scalar(expr))
        if isinstance(expr, Arith):
            return self._arith(expr)
        if isinstance(expr, Call):
            return self._call(expr)
        return self.compile(expr)  # type: ignore[arg-type]

    def _arith(self, expr: Arith) -> pc.Expression:
        left, right = self.value(expr.left, "number"), self.value(expr.right, "number")
        if self._is_time(expr.left) and self._is_time(expr.right):
            # A time minus a time: milliseconds, as a float.
            nanos = pc.Expression._call(
                "subtract_checked", [left.cast(pa.int64()), right.cast(pa.int64())]
            )
            return pc.Expression._call(
                "divide", [nanos.cast(pa.float64(), safe=False), pc.scalar(1e6)]
            )
        if expr.op is ArithOp.DIV:
            # (integers past 2^53 as the nearest double, as DuckDB takes them)
            left, right = left.cast(pa.float64(), safe=False), right.cast(pa.float64(), safe=False)
            zero = pc.Expression._call("equal", [right, pc.scalar(0.0)])
            quotient = pc.Expression._call("divide", [left, right])
            null = pc.scalar(pa.scalar(None, pa.float64()))
            return pc.Expression._call("if_else", [zero, null, quotient])
        if self._is_float(expr.left) or self._is_float(expr.right):
            # (integers past 2^53 as the nearest double, as DuckDB takes them)
            left, right = left.cast(pa.float64(), safe=False), right.cast(pa.float64(), safe=False)
        else:
            left, right = left.cast(pa.int64()), right.cast(pa.int64())
        return pc.Expression._call(_ARITH[expr.op], [left, right])

    def _call(self, expr: Call) -> pc.Expression:
        func, args = expr.func, expr.args
        if func in ("lower", "upper", "len", "regex"):
            text = self.value(args[0], "text")
            if func == "len":
                return pc.Expression._call("utf8_length", [text]).cast(pa.int64())
            if func == "regex":
                assert isinstance(args[1], Literal) and isinstance(args[1].value, str)
                options = pc.ExtractRegexOptions(first_group_pattern(args[1].value, GROUP))
                found = pc.Expression._call("extract_regex", [text], options)
                return pc.Expression._call("struct_field", [found], pc.StructFieldOptions([0]))
            return pc.Expression._call(f"utf8_{func}", [text])
        if func in ("hour", "weekday", "date"):
            time = self.value(args[0], "time")
            if func == "hour":
                return pc.Expression._call("hour", [time])
            if func == "weekday":
                options = pc.DayOfWeekOptions(count_from_zero=False, week_start=1)
                return pc.Expression._call("day_of_week", [time], options)
            return time.cast(pa.date32()).cast(pa.string())
        if func == "bucket":
            return self._bucket(expr)
        if func in ("pattern", "new_pattern"):
            from mfq.query.pattern_field import compile_pattern

            return compile_pattern(self.value(args[0], "text"), expr)
        values = list(args[1:] if func == "if" else args)
        common = self._arrow_type(expr)
        compiled = [self._typed(v, common) for v in values]
        if func == "if":
            condition = pc.Expression._call("coalesce", [self.compile(args[0]), pc.scalar(False)])
            return pc.Expression._call("if_else", [condition, *compiled])
        return pc.Expression._call("coalesce", compiled)

    def _typed(self, node: Node, common: pa.DataType | None) -> pc.Expression:
        """A value cast to the type its function's values share (integer with float:
        float; a null or a missing field: that type)."""
        compiled = self.value(node)
        own = self._arrow_type(node)
        if common is None or own == common:
            return compiled
        return compiled.cast(common)

    def _bucket(self, expr: Call) -> pc.Expression:
        width = expr.args[1]
        assert isinstance(width, Literal) and isinstance(width.value, int | float)
        values = self.value(expr.args[0], "number")
        if isinstance(width.value, int) and not self._is_float(expr.args[0]):
            # Floor division in integers (exact; negative values round down).
            step = pc.scalar(width.value)
            values = values.cast(pa.int64())
            below = pc.Expression._call("less", [values, pc.scalar(0)])
            shift = pc.Expression._call(
                "if_else", [below, pc.scalar(width.value - 1), pc.scalar(0)]
            )
            shifted = pc.Expression._call("subtract_checked", [values, shift])
            floored = pc.Expression._call("divide", [shifted, step])
            return pc.Expression._call("multiply_checked", [floored, step])
        step = pc.scalar(float(width.value))
        ratio = pc.Expression._call("divide", [values.cast(pa.float64(), safe=False), step])
        return pc.Expression._call("multiply", [pc.Expression._call("floor", [ratio]), step])

    def _arrow_type(self, node: Node) -> pa.DataType | None:
        if isinstance(node, Field):
            index = self._schema.get_field_index(node.name)
            found = self._schema.field(index).type if index >= 0 else pa.null()
            if pa.types.is_null(found):
                return None
            return found.value_type if pa.types.is_dictionary(found) else found
        if isinstance(node, Literal):
            return None if node.value is None else _scalar(node).type
        if isinstance(node, Arith):
            if self._is_time(node.left) and self._is_time(node.right):
                return pa.float64()
            if node.op is ArithOp.DIV or self._is_float(node.left) or self._is_float(node.right):
                return pa.float64()
            return pa.int64()
        if isinstance(node, Call):
            if node.func in ("len", "hour", "weekday"):
                return pa.int64()
            if node.func in ("lower", "upper", "regex", "date", "pattern"):
                return pa.string()
            if node.func == "new_pattern":
                return pa.bool_()
            if node.func == "bucket":
                width = node.args[1]
                integer = isinstance(width, Literal) and isinstance(width.value, int)
                return pa.int64() if integer and not self._is_float(node.args[0]) else pa.float64()
            values = node.args[1:] if node.func == "if" else node.args
            types = [self._arrow_type(v) for v in values]
            if any(t is not None and pa.types.is_floating(t) for t in types):
                return pa.float64()
            return next((t for t in types if t is not None), None)
        return pa.bool_()

    def _is_float(self, node: Node) -> bool:
        found = self._arrow_type(node)
        return found is not None and pa.types.is_floating(found)

    def _is_time(self, node: Node) -> bool:
        found = self._arrow_type(node)
        return found is not None and pa.types.is_timestamp(found)

    def _missing(self, operand: Operand) -> bool:
        """A field no file has (or only ever null): every value is null."""
        if not isinstance(operand, Field):
            return False
        index: int = self._schema.get_field_index(operand.name)
        return index < 0 or bool(pa.types.is_null(self._schema.field(index).type))

    def _operand(self, operand: Operand) -> pc.Expression:
        if isinstance(operand, Field):
            return pc.field(operand.name)
        if isinstance(operand, Literal):
            return pc.scalar(_scalar(operand))
        if isinstance(operand, Arith | Call):
            return self.value(operand)
        if not isinstance(operand, Aggregate):
            return self.compile(operand)
        raise UsageError("an aggregate cannot be used in a filter")

    def _compare(self, expr: Compare) -> pc.Expression:
        """A comparison, numbers compared as what they are (see ``numbers``)."""
        left, right, op = expr.left, expr.right, expr.op
        if isinstance(left, Literal) and not isinstance(right, Literal):
            left, right, op = right, left, _FLIPPED[op]
        # Fields, arithmetic and functions alike: the type the value has when computed.
        left_type, right_type = self._arrow_type(left), self._arrow_type(right)
        if isinstance(right, Literal) and left_type is not None and is_number(right.value):
            bound = numeric_bound(op, right.value, left_type)
            if isinstance(bound, bool):  # every value compares the same way
                return pc.Expression._call(
                    "if_else", [self._operand(left).is_valid(), pc.scalar(bound), _NULL_BOOL]
                )
            op, literal = bound
            return pc.Expression._call(_COMPARE[op], [self._operand(left), pc.scalar(literal)])
        operands = [self._operand(left), self._operand(right)]
        if left_type is not None and right_type is not None:
            operands = mixed_numbers(operands, [left_type, right_type])
        return pc.Expression._call(_COMPARE[op], operands)

    def _in_list(self, expr: InList) -> pc.Expression:
        operand = self._operand(expr.operand)
        target = self._type_of(expr.operand)
        values = [_plain(v) for v in expr.values if v.value is not None]
        if target is not None and is_numeric_type(target):
            values = members_of(values, target)
        value_set = pa.array(values, type=target) if target is not None else pa.array(values)
        member = pc.Expression._call("is_in", [operand], pc.SetLookupOptions(value_set))
        if expr.negated:
            member = ~member
        # SQL: NULL IN (...) and NULL NOT IN (...) are NULL (so `not` keeps them out too).
        return pc.Expression._call("if_else", [operand.is_valid(), member, _NULL_BOOL])

    def _match(self, expr: Match) -> pc.Expression:
        operand = self._operand(expr.operand)
        if expr.op is MatchOp.CONTAINS:
            return pc.Expression._call(
                "match_substring", [operand], pc.MatchSubstringOptions(expr.pattern)
            )
        if expr.op is MatchOp.STARTSWITH:
            return pc.Expression._call(
                "starts_with", [operand], pc.MatchSubstringOptions(expr.pattern)
            )
        return pc.Expression._call(
            "match_substring_regex", [operand], pc.MatchSubstringOptions(expr.pattern)
        )

    def _type_of(self, operand: Operand) -> pa.DataType | None:
        if isinstance(operand, Field) and operand.name in self._schema.names:
            return self._schema.field(operand.name).type
        return None


def _plain(literal: Literal) -> object:
    """The literal's value as Arrow reads it back: a time at nanoseconds in UTC, anything
    else as it is (a scalar per value costs about 13 microseconds, and an id list of a
    funnel's ``--why`` holds thousands, compiled for every file and field)."""
    if isinstance(literal.value, datetime):
        return _scalar(literal).as_py()
    return literal.value


def _scalar(literal: Literal) -> pa.Scalar:
    value = literal.value
    if isinstance(value, datetime):
        return pa.scalar(value, type=pa.timestamp("ns", tz="UTC"))
    return pa.scalar(value)
