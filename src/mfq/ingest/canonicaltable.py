"""Records' canonical JSON (``mfq.ingest.canonical``) written by Arrow for a parsed block.

A record without an id gets one from the BLAKE2b of its canonical JSON (``json.dumps``
with sorted keys, no spaces). Made record by record through orjson, that was most of the
vectorised path's time on exports whose records carry no id (Kubernetes audit events,
Zeek logs), and held the GIL. Here the rows of a block are grouped by which keys they
hold (at every depth); for each group the text is one Arrow join of the keys, in sorted
order, with the value columns: text in quotes, escaped as ``json`` escapes it (keys by
``json.dumps``, values by ``mfq.ingest.listtext.json_string_bodies``: what pyarrow
decoded, whichever escapes the record used), integers and booleans as written, floats
as Python's ``repr`` (as ``json`` writes them), lists of text, whole numbers and
booleans by ``mfq.ingest.listtext``, objects recursively.

Only rows whose text is certainly that are written here (the others keep orjson's):

- no ``null`` anywhere in the record: a key holding null is absent to Arrow;
- no whole-number, infinite or NaN float (pyarrow reads ``5`` beside ``5.5`` as ``5.0``,
  and accepts ``NaN``); no list of objects, floats, nulls or lists; no other type;
- a group of at least :data:`MIN_GROUP` rows (a join per handful of rows costs more).

Duplicate keys never get here, nor lone surrogates: pyarrow refuses the record (keys
compared as decoded: ``"a"`` and ``"\\u0061"`` are one key twice). ``tests/ingest/
test_canonical_table.py`` compares every row written here with the definition.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.ingest.listtext import json_string_bodies, list_text
from mfq.ingest.rowbytes import records_holding

#: Rows of one key pattern worth a join of their own.
MIN_GROUP = 16
#: Doubles whose ``repr`` is a plain decimal (Python writes an exponent below 1e-4 and
#: from 1e16).
REPR_LOW, REPR_HIGH = 1e-4, 1e16
_SIMPLE_LISTS = (pa.types.is_string, pa.types.is_int64, pa.types.is_boolean)


@dataclass
class _Node:
    """A key's values: a leaf's JSON text (``quoted``: text, written in quotes) or an
    object's members, sorted."""

    name: str  # the key (members sort by it, as ``sort_keys`` does: not by its JSON text,
    # where ``"a"`` would follow ``"a!"``)
    valid: np.ndarray
    text: pa.Array | None = None
    quoted: bool = False
    members: list[_Node] = field(default_factory=list)


def canonical_texts(
    table: pa.Table,
    data: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    min_group: int = MIN_GROUP,
    lists: Callable[[pa.Array], tuple[pa.Array, np.ndarray]] = list_text,
) -> tuple[np.ndarray, list[bytes]]:
    """(the rows written here, their canonical JSON texts). The rows are the records
    ``data[starts:ends]`` as pyarrow parsed them into ``table``; ``lists`` writes list
    columns (``mfq.ingest.listtext.ListTexts``: made once for the attributes too)."""
    n = table.num_rows
    bad = records_holding(data, starts, ends, b"null")
    root = _Node("", np.ones(n, dtype=bool))
    nodes: list[_Node] = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        combined = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        member = _node(name, combined, bad, nodes, lists)
        if member is not None:
            root.members.append(member)
    root.members.sort(key=lambda m: m.name)
    nothing: tuple[np.ndarray, list[bytes]] = (np.zeros(0, dtype=np.int64), [])
    eligible = np.flatnonzero(~bad)
    if not len(eligible):
        return nothing
    patterns = np.stack([node.valid[eligible] for node in nodes], axis=1) if nodes else None
    groups = [g for g in _groups(patterns, len(eligible)) if len(g) >= min_group]
    if not groups:
        return nothing
    # Every value column put in group order once; each group joins its slices.
    order = eligible[np.concatenate(groups)]
    taken = pa.array(order)
    for node in nodes:
        if node.text is not None:
            node.text = node.text.take(taken)
    texts: list[bytes] = []
    offset = 0
    for group in groups:
        present = {id(node) for node in nodes if node.valid[order[offset]]}
        pieces: list[str | pa.Array] = []
        _pieces(root, present, offset, len(group), pieces)
        texts += _joined(pieces, len(group))
        offset += len(group)
    return order, texts


def _groups(patterns: np.ndarray | None, count: int) -> list[np.ndarray]:
    """Row positions grouped by identical presence patterns."""
    if patterns is None or not patterns.shape[1]:
        return [np.arange(count)]
    packed = np.packbits(patterns, axis=1)
    if packed.shape[1] <= 8:  # (up to 64 columns: each pattern one integer, sorted six
        # times faster; big-endian, so in the same order as the bytes)
        padded = np.zeros((len(packed), 8), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        keys = padded.view(">u8").ravel()
    else:
        keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    return np.split(order, bounds)


def _node(
    name: str,
    column: pa.Array,
    bad: np.ndarray,
    nodes: list[_Node],
    lists: Callable[[pa.Array], tuple[pa.Array, np.ndarray]] = list_text,
) -> _Node | None:
    """The node of one key's column (None: no row holds a value), its rows that cannot
    be written here marked in ``bad``; every node is added to ``nodes``."""
    data_type = column.type
    if pa.types.is_null(data_type):
        return None  # a key holding null: ``null`` in its rows' text
    # (most columns hold a value in every row: no mask to build and unpack)
    valid = np.ones(len(column), dtype=bool) if not column.null_count else _flags(column.is_valid())
    node = _Node(name, valid)
    if pa.types.is_struct(data_type):
        for child_field, child in zip(data_type, column.flatten(), strict=True):
            member = _node(child_field.name, child, bad, nodes, lists)
            if member is not None:
                node.members.append(member)
        node.members.sort(key=lambda m: m.name)
    elif pa.types.is_string(data_type):
        node.text, node.quoted = json_string_bodies(column), True
    elif pa.types.is_int64(data_type):
        node.text = pc.cast(column, pa.string())
    elif pa.types.is_boolean(data_type):
        node.text = pc.if_else(column, "true", "false")
    elif pa.types.is_float64(data_type):
        node.text = _float_text(column, valid, bad)
    elif pa.types.is_list(data_type) and any(k(data_type.value_type) for k in _SIMPLE_LISTS):
        text, list_bad = lists(column)
        node.text = text
        bad |= list_bad
    elif pa.types.is_list(data_type) and pa.types.is_null(data_type.value_type):
        # Only empty lists (pyarrow's offsets of such arrays are right, their values not).
        offsets = np.asarray(column.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        bad |= valid & (np.diff(offsets) > 0)
        node.text = pc.if_else(column.is_valid(), "[]", pa.nulls(len(column), pa.string()))
    else:
        bad |= valid
        return None
    nodes.append(node)
    return node


def _float_text(column: pa.Array, valid: np.ndarray, bad: np.ndarray) -> pa.Array:
    """Python's ``repr`` of each double; whole numbers may have been integers in the
    text, and JSON has no infinity or NaN: those rows are marked ``bad``."""
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        written = valid & np.isfinite(values) & (np.floor(values) != values)
    bad |= valid & ~written
    return float_reprs(values, written)


def float_reprs(values: np.ndarray, wanted: np.ndarray) -> pa.Array:
    """``repr`` of each wanted double (null elsewhere), without a Python call per value.

    Arrow's cast writes the same shortest digits as ``repr``, as the same plain decimal,
    for doubles from :data:`REPR_LOW` up to :data:`REPR_HIGH` (whole numbers aside:
    ``1`` for ``1.0``) wherever it writes no exponent; it writes one for some that
    ``repr`` does not (``1.2345678901234567e+14``), and those go through ``repr``.
    ``tests/ingest/test_canonical_table.py`` holds every text to ``repr``."""
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        plain = wanted & (magnitude >= REPR_LOW) & (magnitude < REPR_HIGH)
        plain &= np.floor(values) != values  # (Arrow writes 1.0 as 1)
    text = pc.cast(pa.array(values, mask=~plain), pa.string())
    plain &= ~_flags(pc.match_substring(text, "e"))
    rest = np.flatnonzero(wanted & ~plain)
    if not len(rest):
        return text
    written = [repr(v) for v in values[rest].tolist()]
    mask = np.zeros(len(values), dtype=bool)
    mask[rest] = True
    return pc.replace_with_mask(text, pa.array(mask), pa.array(written, pa.string()))


def _pieces(
    node: _Node, present: set[int], offset: int, count: int, out: list[str | pa.Array]
) -> None:
    """The texts joined for one object, ``{"k":v,...}``, into ``out`` (the values of
    rows [offset, offset + count) of the columns in group order)."""
    out.append("{")
    first = True
    for member in node.members:
        if id(member) not in present:
            continue
        key = json.dumps(member.name, ensure_ascii=False)
        out.append(("" if first else ",") + key + ":")
        first = False
        if member.text is None:
            _pieces(member, present, offset, count, out)
        elif member.quoted:
            out += ['"', member.text.slice(offset, count), '"']
        else:
            out.append(member.text.slice(offset, count))
    out.append("}")


def _joined(pieces: list[str | pa.Array], count: int) -> list[bytes]:
    """The pieces joined row by row (adjacent literal texts merged first)."""
    merged: list[str | pa.Array] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    if all(isinstance(piece, str) for piece in merged):
        return [str(merged[0]).encode()] * count
    joined = pc.binary_join_element_wise(*merged, "")
    result: list[bytes] = joined.cast(pa.binary()).to_pylist()
    return result


def _flags(array: pa.Array) -> np.ndarray:
    filled = pc.fill_null(array, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
