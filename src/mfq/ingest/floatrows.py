"""Which rows of a parsed block hold a number pyarrow read as a float.

A record's canonical JSON needs a closer look only where it holds a float, or an
integer beyond 64 bits (``mfq.ingest.canonical``); pyarrow reads both as doubles, so
a row none of whose double columns holds a value (at any depth, lists included) has
neither. pyarrow refuses a float where it was told to expect anything else (an integer,
text, an object), so no float hides in a column of another type. Types this module does
not know count as holding one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_NO_FLOATS = (pa.types.is_integer, pa.types.is_boolean, pa.types.is_string, pa.types.is_null)


def rows_with_floats(table: pa.Table) -> np.ndarray:
    """Per row: whether it may hold a float (True wherever unsure)."""
    found = np.zeros(table.num_rows, dtype=bool)
    for column in table.columns:
        for chunk, offset in zip(column.chunks, _offsets(column), strict=True):
            found[offset : offset + len(chunk)] |= _float_rows(chunk)
    return found


def _offsets(column: pa.ChunkedArray) -> list[int]:
    lengths = [len(chunk) for chunk in column.chunks]
    return [int(v) for v in np.cumsum([0, *lengths[:-1]])]


def _float_rows(array: pa.Array) -> np.ndarray:
    data_type = array.type
    if any(is_kind(data_type) for is_kind in _NO_FLOATS):
        return np.zeros(len(array), dtype=bool)
    if pa.types.is_struct(data_type):
        found = np.zeros(len(array), dtype=bool)
        for index in range(data_type.num_fields):
            found |= _float_rows(array.field(index))  # (a parent's nulls: True is safe)
        return found
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        # Each row's span of the (unsliced) values, null rows' spans included: a value
        # there can only make the answer True, which is safe.
        values = array.values
        offsets = np.asarray(array.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        if len(offsets) and offsets[-1] > len(values):  # pyarrow builds some list<null> so
            return np.ones(len(array), dtype=bool)
        inner = np.concatenate(([0], np.cumsum(_float_rows(values))))
        spans: np.ndarray = inner[offsets[1:]] > inner[offsets[:-1]]
        return spans
    # doubles, and any type not known to hold none
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
