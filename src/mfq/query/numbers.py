"""Numbers compared as what they are: an integer column with an integer literal exactly
(as int64, so beyond 2^53 too), with a fractional literal by the integer bound that means
the same (``n > 1.5`` is ``n > 1``), a float column as float64.

pyarrow left alone casts an integer column to float32 to meet a float literal, which
fails (``Integer value 62330315 not in range``) or rounds; DuckDB compares exactly, and
so do these rewrites.
"""

from __future__ import annotations

import math
from typing import TypeGuard

import pyarrow as pa
import pyarrow.compute as pc

from mfq.query.expr import CompareOp

#: ``literal op field`` read as ``field FLIPPED[op] literal``.
FLIPPED = {
    CompareOp.EQ: CompareOp.EQ,
    CompareOp.NE: CompareOp.NE,
    CompareOp.LT: CompareOp.GT,
    CompareOp.LE: CompareOp.GE,
    CompareOp.GT: CompareOp.LT,
    CompareOp.GE: CompareOp.LE,
}

# What ``field op bound`` is for every value when the bound is above (or below) all values.
_ABOVE_ALL = {
    CompareOp.EQ: False,
    CompareOp.NE: True,
    CompareOp.LT: True,
    CompareOp.LE: True,
    CompareOp.GT: False,
    CompareOp.GE: False,
}
_BELOW_ALL = {op: not answer if op not in (CompareOp.EQ, CompareOp.NE) else answer
              for op, answer in _ABOVE_ALL.items()}  # fmt: skip


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or float literal (booleans are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_numeric_type(kind: pa.DataType) -> bool:
    """An integer or floating-point Arrow type."""
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _integer_range(kind: pa.DataType) -> tuple[int, int]:
    info = {
        pa.int8(): (-(2**7), 2**7 - 1),
        pa.int16(): (-(2**15), 2**15 - 1),
        pa.int32(): (-(2**31), 2**31 - 1),
        pa.int64(): (-(2**63), 2**63 - 1),
        pa.uint8(): (0, 2**8 - 1),
        pa.uint16(): (0, 2**16 - 1),
        pa.uint32(): (0, 2**32 - 1),
        pa.uint64(): (0, 2**64 - 1),
    }
    return info[kind]


def _integer_bound(op: CompareOp, value: float) -> bool | tuple[CompareOp, int]:
    """``n op value`` for integers n, as ``n op' whole`` (or a constant)."""
    if value.is_integer():
        return op, int(value)
    if op is CompareOp.EQ:
        return False
    if op is CompareOp.NE:
        return True
    rounded = math.floor(value) if op in (CompareOp.GT, CompareOp.LE) else math.ceil(value)
    return op, rounded


def numeric_bound(
    op: CompareOp, value: int | float, kind: pa.DataType
) -> bool | tuple[CompareOp, pa.Scalar]:
    """``field op value`` for a field of Arrow type ``kind``: a literal of the field's own
    type to compare with, or ``True``/``False`` when every (non-null) value answers alike.
    """
    if pa.types.is_floating(kind):
        return op, pa.scalar(float(value), type=pa.float64())
    if not pa.types.is_integer(kind):
        return op, pa.scalar(value)
    bound: int
    if isinstance(value, float):
        rewritten = _integer_bound(op, value)
        if isinstance(rewritten, bool):
            return rewritten
        op, bound = rewritten
    else:
        bound = value
    low, high = _integer_range(kind)
    if bound > high:
        return _ABOVE_ALL[op]
    if bound < low:
        return _BELOW_ALL[op]
    return op, pa.scalar(bound, type=kind)


def members_of(values: list[object], kind: pa.DataType) -> list[object]:
    """The ``in (...)`` values a numeric column can equal, in its own terms."""
    if pa.types.is_floating(kind):
        return [float(v) if is_number(v) else v for v in values]
    low, high = _integer_range(kind)
    kept: list[object] = []
    for value in values:
        member = value
        if isinstance(value, float):
            if not value.is_integer():
                continue  # no integer equals 1.5
            member = int(value)
        if isinstance(member, int) and not isinstance(member, bool) and not low <= member <= high:
            continue
        kept.append(member)
    return kept


def mixed_numbers(operands: list[pc.Expression], kinds: list[pa.DataType]) -> list[pc.Expression]:
    """Two fields, one integer and one float: both as float64 (as DuckDB compares them)."""
    if any(pa.types.is_floating(k) for k in kinds) and any(pa.types.is_integer(k) for k in kinds):
        return [o.cast(pa.float64(), safe=False) for o in operands]
    return operands
