"""Value types: the field schema an expression is checked against, and literal types.

Without a schema, the standard fields still have the types the event model fixes for them
(:data:`STANDARD_FIELD_TYPES`), so ``timestamp >= '2026-11-03'`` is a time comparison and
``duration_ms > 'abc'`` an error whether or not the caller knows the store's schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from mfq.model.fields import STANDARD_FIELDS, FieldKind
from mfq.model.values import parse_timestamp_text


class FieldType(StrEnum):
    """The type of a field's values, as a schema reports it."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"


class ValueType(StrEnum):
    """The type of any value in an expression: a field's type, or null for the null literal."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    NULL = "null"

    @classmethod
    def of_field(cls, field_type: FieldType) -> ValueType:
        """The value type of a field type (same name)."""
        return cls(field_type.value)


NUMERIC_TYPES = frozenset({ValueType.INTEGER, ValueType.FLOAT})

_KIND_TYPES: dict[FieldKind, FieldType] = {
    FieldKind.TEXT: FieldType.STRING,
    FieldKind.TIME: FieldType.TIMESTAMP,
    FieldKind.SEVERITY: FieldType.STRING,
    FieldKind.DURATION: FieldType.FLOAT,
    FieldKind.SAMPLE_RATE: FieldType.INTEGER,
    FieldKind.HTTP_STATUS: FieldType.INTEGER,
}

#: The standard fields' types, derived from the event model.
STANDARD_FIELD_TYPES: Mapping[str, FieldType] = {
    field.name: _KIND_TYPES[field.kind] for field in STANDARD_FIELDS
}


def comparable(left: ValueType | None, right: ValueType | None) -> bool:
    """Whether values of these types can be compared (None: unknown, so anything goes)."""
    if left is None or right is None or left == right:
        return True
    return left in NUMERIC_TYPES and right in NUMERIC_TYPES


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_time(text: str) -> datetime | None:
    """A time literal as an aware UTC datetime, or None when it is not a time.

    Accepts what ingest accepts for ISO text (``2026-11-03T10:00Z``, an offset, a space for
    the ``T``, up to nine fraction digits), plus a bare date meaning its midnight. A time
    without a zone is UTC. Digits beyond microseconds are dropped (datetime's resolution).
    """
    candidate = f"{text}T00:00" if _DATE_ONLY.fullmatch(text) else text
    try:
        ns, _naive = parse_timestamp_text(candidate, None)
    except ValueError:
        return None
    return _EPOCH + timedelta(microseconds=ns // 1000)
