"""Lists as the record path stores them: their JSON text, over a whole column at once.

The record path writes a list attribute as ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))``. For lists of text, whole numbers and booleans the same text is
built here with Arrow, texts escaped as ``json`` escapes them (:func:`json_string_bodies`);
rows this cannot write exactly (null elements, floats, nested values) are left to the
record path.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: ``json.dumps``'s escapes with ``ensure_ascii=False``: the quote, the backslash and
#: the control characters, five by name, the others as ``\\u00xx``; nothing else.
_ESCAPES = {
    **{code: f"\\u{code:04x}" for code in range(0x20)},
    **{ord(c): e for c, e in zip("\b\t\n\f\r", ("\\b", "\\t", "\\n", "\\f", "\\r"), strict=True)},
    ord('"'): '\\"',
}
_BACKSLASH = 0x5C


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


class ListTexts:
    """:func:`list_text`, each column made once: a block's list columns are written both
    as attributes and inside the records' canonical texts (``mfq.ingest.canonicaltable``).

    A column is known again by its type, offset, length and buffers (Arrow's buffers never
    change, and the memo keeps each column it made, so its buffers' addresses cannot be
    reused by another while this lives), so any column made anew (a struct's nulls pushed
    down, values nulled where a mapping took them) is written anew."""

    def __init__(self) -> None:
        self._made: dict[tuple[object, ...], tuple[pa.Array, pa.Array, np.ndarray]] = {}

    def __call__(self, column: pa.Array) -> tuple[pa.Array, np.ndarray]:
        """``list_text(column)`` (its rows to send row by row a copy of its own)."""
        key = (
            column.type,
            column.offset,
            len(column),
            *(None if b is None else b.address for b in column.buffers()),
        )
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = (column, *list_text(column))
        _column, text, bad = made
        return text, bad.copy()


def _element_text(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Each element's JSON text and the elements this module cannot write."""
    count = len(values)
    data_type = values.type
    missing = ~_flags(values.is_valid())
    if pa.types.is_string(data_type):
        return pc.binary_join_element_wise('"', json_string_bodies(values), '"', ""), missing
    if pa.types.is_int64(data_type):
        return pc.cast(values, pa.string()), missing
    if pa.types.is_boolean(data_type):
        return pc.if_else(values, "true", "false"), missing
    return pa.nulls(count, pa.string()), np.ones(count, dtype=bool)


def json_string_bodies(column: pa.Array) -> pa.Array:
    """Each text of a string column as ``json.dumps(text, ensure_ascii=False)`` writes
    it, less its quotes. Only the characters the column's bytes hold are replaced (one
    look at the bytes; most columns hold none): UTF-8 never uses an ASCII byte inside a
    longer character, so a byte below 0x80 is that character."""
    data = _value_bytes(column)
    if not len(data):
        return column
    special = data[(data < 0x20) | (data == 0x22)]
    wanted = sorted(int(b) for b in np.unique(special)) if len(special) else []
    if (data == _BACKSLASH).any():
        wanted.insert(0, _BACKSLASH)  # first: the escapes written after it hold one
    for code in wanted:
        escape = "\\\\" if code == _BACKSLASH else _ESCAPES[code]
        column = pc.replace_substring(column, chr(code), escape)
    return column


def _value_bytes(column: pa.Array) -> np.ndarray:
    """The bytes of a string column's values (its slice of the data buffer)."""
    _validity, offsets_buffer, data_buffer = column.buffers()
    if data_buffer is None or not len(column):
        return np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)
    first, last = int(offsets[column.offset]), int(offsets[column.offset + len(column)])
    return np.frombuffer(data_buffer, dtype=np.uint8)[first:last]


def _flags(array: pa.Array) -> np.ndarray:
    filled = pc.fill_null(array, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
