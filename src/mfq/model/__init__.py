"""Pydantic models: the event (fields, aliases, normalisation) and its Arrow schema."""

from mfq.model.event import (
    STANDARD_FIELDS,
    Event,
    FieldKind,
    StandardField,
    standard_field,
)

__all__ = ["STANDARD_FIELDS", "Event", "FieldKind", "StandardField", "standard_field"]
