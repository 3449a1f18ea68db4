"""Lists as the record path stores them: their JSON text, over a whole column at once.

The record path writes a list attribute as ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))``. For lists of text, whole numbers and booleans the same text is
built here with Arrow; rows this cannot write exactly (null elements, floats, nested
values, text holding control characters, which ``json`` escapes) are left to the
record path.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Characters ``json.dumps`` escapes besides the quote and the backslash.
_CONTROL = "[\\x00-\\x1f]"


def list_text(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(the JSON text of each list, null where the list is; rows to send row by row)."""
    n = len(column)
    valid = _flags(column.is_valid())
    lengths = np.asarray(pc.fill_null(pc.list_value_length(column), 0).to_numpy(), np.int64)
    values = pc.list_flatten(column)
    parents = np.asarray(pc.list_parent_indices(column).to_numpy(), np.int64)
    if len(parents) != len(values) or len(values) != int(lengths.sum()):
        return pa.nulls(n, pa.string()), valid  # (not seen: then row by row, all of it)
    elements, bad_elements = _element_text(values)
    bad = np.zeros(n, dtype=bool)
    if bad_elements.any():
        bad[parents[bad_elements]] = True
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    rebuilt = pa.ListArray.from_arrays(
        pa.array(offsets), elements, mask=pa.array(~valid, pa.bool_())
    )
    joined = pc.binary_join(rebuilt, ",")
    return pc.binary_join_element_wise("[", joined, "]", ""), bad & valid


def _element_text(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Each element's JSON text and the elements this module cannot write."""
    count = len(values)
    data_type = values.type
    missing = ~_flags(values.is_valid())
    if pa.types.is_string(data_type):
        bad = missing | _flags(pc.match_substring_regex(values, _CONTROL))
        escaped = pc.replace_substring(values, "\\", "\\\\")
        escaped = pc.replace_substring(escaped, '"', '\\"')
        return pc.binary_join_element_wise('"', escaped, '"', ""), bad
    if pa.types.is_int64(data_type):
        return pc.cast(values, pa.string()), missing
    if pa.types.is_boolean(data_type):
        return pc.if_else(values, "true", "false"), missing
    return pa.nulls(count, pa.string()), np.ones(count, dtype=bool)


def _flags(array: pa.Array) -> np.ndarray:
    filled = pc.fill_null(array, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
