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
from mfq.query.expr.types import FieldType


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
