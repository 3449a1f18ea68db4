"""The fields an expression may name: stored fields' types and derived fields.

A derived field (``--let slow = duration_ms > 800``, ``[fields]`` in ``mfq.toml``) is a
name for an expression over stored fields. The parser puts the expression where the name
is written, so a filter on a derived field is a filter on stored fields (pushed into the
scan like any other); a group key or an aggregate's field that names one is computed from
the rows read.
"""

from __future__ import annotations

from collections.abc import Mapping

from mfq.query.expr.ast import Expr
from mfq.query.expr.types import STANDARD_FIELD_TYPES, FieldType


class FieldSchema(dict[str, FieldType]):
    """Every field's type (derived fields' too, when known), and each derived field's
    expression over stored fields."""

    def __init__(
        self,
        types: Mapping[str, FieldType] | None = None,
        derived: Mapping[str, Expr] | None = None,
    ) -> None:
        super().__init__(types or {})
        self.derived: dict[str, Expr] = dict(derived or {})

    def with_derived(self, name: str, expr: Expr, field_type: FieldType | None) -> FieldSchema:
        """A copy that also knows the derived field ``name``."""
        copy = FieldSchema(self, {**self.derived, name: expr})
        if field_type is not None:
            copy[name] = field_type
        return copy


def derived_of(fields: Mapping[str, FieldType] | None) -> Mapping[str, Expr]:
    """The derived fields a schema carries (none for a plain mapping)."""
    return fields.derived if isinstance(fields, FieldSchema) else {}


def stored_field_types(classes: Mapping[str, Mapping[str, int]]) -> dict[str, FieldType]:
    """Every field's type from the value classes stored per field (the standard fields
    keep theirs; a field holding more than one kind of value is text)."""
    types: dict[str, FieldType] = dict(STANDARD_FIELD_TYPES)
    for name, counts in classes.items():
        if name in types:
            continue
        kinds = {c for c, n in counts.items() if n}
        if kinds == {"integer"}:
            types[name] = FieldType.INTEGER
        elif kinds and kinds <= {"integer", "float"}:
            types[name] = FieldType.FLOAT
        elif kinds == {"boolean"}:
            types[name] = FieldType.BOOLEAN
        elif kinds == {"timestamp"}:
            types[name] = FieldType.TIMESTAMP
        else:
            types[name] = FieldType.STRING
    return types
