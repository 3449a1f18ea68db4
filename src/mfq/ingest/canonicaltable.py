"""Records' canonical JSON (``mfq.ingest.canonical``) built column by column from a parsed block.

A record without an id gets one from the BLAKE2b of its canonical JSON (``json.dumps``
with sorted keys and no spaces). Made record by record through orjson this is most of the
vectorised path's time on exports whose records carry no id (Kubernetes audit events,
Zeek logs). Here Arrow writes it for a whole block from the columns pyarrow parsed: at
each level the keys in sorted order, ``"key":value`` for every value present, joined by
commas; objects recursively; text escaped as ``json.dumps(ensure_ascii=False)`` does;
integers and booleans as written; floats through Python's own ``repr``; lists of text,
whole numbers and booleans by ``mfq.ingest.listtext``.

A parsed column cannot tell a key holding ``null`` from an absent key, nor an integer
from a whole-number float (pyarrow reads ``5`` beside ``5.5`` as ``5.0``). So a row is
left to the record-by-record canonical text (``ok`` False) wherever its text holds
``null`` at all, a float column holds a whole number, infinity or NaN (pyarrow accepts
them, JSON does not), a text holds a control character (``json`` escapes it with
``\\u00XX``), a key is spelt with one, or a value is of a kind not written here (lists of
objects, floats or lists; types pyarrow infers other than these). Duplicate keys never get
here: pyarrow refuses the record. ``tests/ingest/test_canonical_table.py`` compares every
row written here with the definition on arbitrary records.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.ingest.listtext import list_text

#: Characters ``json.dumps`` writes as ``\\u00XX`` (or ``\\n`` ...): rows holding one go
#: record by record.
_CONTROL = "[\\x00-\\x1f]"
_SIMPLE_LISTS = (pa.types.is_string, pa.types.is_int64, pa.types.is_boolean)


def canonical_texts(table: pa.Table, raw: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(each row's canonical JSON as UTF-8 binary, rows it is exactly that for);
    ``raw``: the rows' own texts (binary or large binary), looked at for ``null``."""
    n = table.num_rows
    columns = [_combined(table.column(i)) for i in range(table.num_columns)]
    text, bad = _object_text(table.column_names, columns, pa.array(np.ones(n, bool)), n)
    bad |= _flags(pc.match_substring(raw, "null"))
    return text.cast(pa.binary()), ~bad


def _combined(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _object_text(
    names: list[str], children: list[pa.Array], valid: pa.Array, n: int
) -> tuple[pa.Array, np.ndarray]:
    """``{"k":v,...}`` over the rows where ``valid``, keys sorted, absent values left out."""
    bad = np.zeros(n, dtype=bool)
    members: list[pa.Array] = []
    for name, child in sorted(zip(names, children, strict=True), key=lambda pair: pair[0]):
        key = json.dumps(name, ensure_ascii=False)
        if any(ord(c) < 0x20 for c in name):  # (pyarrow may accept what JSON refuses)
            bad |= _flags(child.is_valid())
            continue
        value, value_bad = _value_text(child)
        bad |= value_bad
        if value is not None:
            members.append(pc.binary_join_element_wise(f",{key}:", value, ""))
    # Each member present as ``,"k":v``, absent as nothing; the first comma cut off.
    # (``null_handling="skip"`` would do it in one, but pyarrow 26 drops rows whose
    # values are all null from its result.)
    if members:
        joined = pc.binary_join_element_wise(
            *members, "", null_handling="replace", null_replacement=""
        )
        joined = pc.utf8_slice_codeunits(joined, 1)
    else:
        joined = pa.array([""] * n, pa.string())
    whole = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.if_else(valid, whole, pa.nulls(n, pa.string())), bad


def _value_text(column: pa.Array) -> tuple[pa.Array | None, np.ndarray]:
    """(each value's JSON text, null where absent; rows not written exactly here).
    None: no row holds a value."""
    n = len(column)
    data_type = column.type
    if pa.types.is_null(data_type):
        return None, np.zeros(n, dtype=bool)  # a null's key: ``null`` in the row's text
    valid = _flags(column.is_valid())
    if pa.types.is_struct(data_type):
        names = [f.name for f in data_type]
        return _object_text(names, column.flatten(), column.is_valid(), n)
    if pa.types.is_string(data_type):
        escaped = pc.replace_substring(column, "\\", "\\\\")
        escaped = pc.replace_substring(escaped, '"', '\\"')
        bad = valid & _flags(pc.match_substring_regex(column, _CONTROL))
        return pc.binary_join_element_wise('"', escaped, '"', ""), bad
    if pa.types.is_int64(data_type):
        return pc.cast(column, pa.string()), np.zeros(n, dtype=bool)
    if pa.types.is_boolean(data_type):
        return pc.if_else(column, "true", "false"), np.zeros(n, dtype=bool)
    if pa.types.is_float64(data_type):
        return _float_text(column, valid)
    if pa.types.is_list(data_type):
        return _list_text(column, valid)
    return None, valid


def _float_text(column: pa.Array, valid: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Python's ``repr`` of each double (as ``json.dumps`` writes a float); whole numbers
    may have been integers in the text, so their rows go record by record."""
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        written = valid & np.isfinite(values) & (np.floor(values) != values)
    texts = [repr(v) if w else None for v, w in zip(values.tolist(), written.tolist(), strict=True)]
    return pa.array(texts, pa.string()), valid & ~written


def _list_text(column: pa.Array, valid: np.ndarray) -> tuple[pa.Array | None, np.ndarray]:
    value_type = column.type.value_type
    if any(is_kind(value_type) for is_kind in _SIMPLE_LISTS):
        text, bad = list_text(column)
        return text, bad | (valid & _flags(pc.is_null(text)))
    if pa.types.is_null(value_type):  # only empty lists are written here; pyarrow's
        # offsets of such arrays are right, their child values may not be
        offsets = np.asarray(column.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        empty = valid & (np.diff(offsets) == 0)
        text = pc.if_else(pa.array(empty), "[]", pa.nulls(len(column), pa.string()))
        return text, valid & ~empty
    return None, valid


def _flags(array: pa.Array) -> np.ndarray:
    filled = pc.fill_null(array, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
