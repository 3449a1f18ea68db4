"""The store's Arrow schema for standard fields, derived from the standard-field table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mfq.model.fields import STANDARD_FIELDS, FieldKind

if TYPE_CHECKING:
    import pyarrow as pa

TIMESTAMP_UNIT = "ns"


def arrow_type(kind: FieldKind) -> pa.DataType:
    """The Arrow type a standard field of this kind is stored as."""
    import pyarrow as pa

    return {
        FieldKind.TEXT: pa.string(),
        FieldKind.SEVERITY: pa.string(),
        FieldKind.TIME: pa.timestamp(TIMESTAMP_UNIT, tz="UTC"),
        FieldKind.DURATION: pa.float64(),
        FieldKind.SAMPLE_RATE: pa.int64(),
        FieldKind.HTTP_STATUS: pa.int64(),
    }[kind]


def standard_schema() -> pa.Schema:
    """Arrow schema of the standard columns, in model order."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(f.name, arrow_type(f.kind), nullable=not f.required) for f in STANDARD_FIELDS]
    )
