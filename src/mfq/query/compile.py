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
    And,
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
from mfq.query.expr.ast import Operand

_NULL_BOOL = pc.scalar(pa.scalar(None, type=pa.bool_()))
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
            left, right = self._operand(expr.left), self._operand(expr.right)
            return pc.Expression._call(_COMPARE[expr.op], [left, right])
        if isinstance(expr, InList | Match) and self._missing(expr.operand):
            return _NULL_BOOL
        if isinstance(expr, InList):
            return self._in_list(expr)
        if isinstance(expr, Match):
            return self._match(expr)
        if isinstance(expr, Exists):
            if self._missing(Field(name=expr.field)):
                return pc.scalar(False)
            return pc.field(expr.field).is_valid()
        if isinstance(expr, IsNull):
            if self._missing(expr.operand):
                return pc.scalar(not expr.negated)
            operand = self._operand(expr.operand)
            return operand.is_valid() if expr.negated else operand.is_null()
        raise UsageError(f"an aggregate cannot be used in a filter: {type(expr).__name__}")

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
        raise UsageError("an aggregate cannot be used in a filter")

    def _in_list(self, expr: InList) -> pc.Expression:
        operand = self._operand(expr.operand)
        values = [_scalar(v).as_py() for v in expr.values if v.value is not None]
        target = self._type_of(expr.operand)
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


def _scalar(literal: Literal) -> pa.Scalar:
    value = literal.value
    if isinstance(value, datetime):
        return pa.scalar(value, type=pa.timestamp("ns", tz="UTC"))
    return pa.scalar(value)
