"""Which rows of a parsed block hold a number orjson may write unlike Python's ``json``.

A record's canonical JSON needs a closer look only where it holds a float orjson writes
in another form (from 1e-9 to 1e-5: ``0.00001`` against ``1e-05``), or an integer beyond
64 bits, which orjson reads as a float (``mfq.ingest.canonical``). pyarrow reads both as
doubles, so a row none of whose double columns holds such a value (at any depth, lists
included) has neither. Doubles from 1e-4 to 1e15 (and zero) are written alike by both, in
plain decimals with the same shortest digits: Zeek's times and durations, every row, need
no look (``tests/ingest/test_floatrows.py`` checks the range against both writers).
pyarrow refuses a float where it was told to expect anything else (an integer, text, an
object), so no float hides in a column of another type. Types this module does not know
count as holding one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_NO_FLOATS = (pa.types.is_integer, pa.types.is_boolean, pa.types.is_string, pa.types.is_null)
#: Doubles orjson and Python both write in plain decimals (a margin inside the range
#: where either switches to an exponent: below 1e-4 and from 1e16).
PLAIN_LOW, PLAIN_HIGH = 1e-4, 1e15


def rows_with_floats(table: pa.Table) -> np.ndarray:
    """Per row: whether it may hold a float outside the plain range, or an integer beyond
    64 bits (True wherever unsure)."""
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
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_float64(data_type):
        magnitude = np.abs(np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64))
        plain = (magnitude == 0) | ((magnitude >= PLAIN_LOW) & (magnitude < PLAIN_HIGH))
        unplain: np.ndarray = valid & ~plain
        return unplain
    return valid  # any type not known to hold no float
