"""Blocks of OTLP/JSON documents parsed by pyarrow, with the types learned from earlier blocks.

pyarrow's JSON reader recurses once per nesting level while it builds a column, and too
deep a document crashes the process. A block whose types are not known yet is measured
first (its brackets counted, strings left out), and read with every type inferred only when
it nests no deeper than :data:`MAX_COLUMNAR_DEPTH`; the types of a block that converted are
learned. A later block is parsed with the learned types declared and any other field an
error: such a parse cannot go deeper than the learned types, so it needs no measuring (the
measure costs a fifth of the parse), and a block that brings a new field or a value of
another type fails it and is measured and inferred in turn.

Declared types read what inference would have read, save two things the converter allows
for: a field declared but in no document of the block comes back as a column of nulls
(the converter takes that as absent), and a whole number in a column learned as floating
point is read as a float (as pyarrow reads it in a block that mixes both).
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from mfq.ingest.jsonscan import depth_profile

#: Deeper documents are read record by record.
MAX_COLUMNAR_DEPTH = 64
_QUOTE = ord('"')
_NOT_MARKS = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


class TooDeep(Exception):
    """A block nests deeper than the columnar reader takes."""


class DocumentParser:
    """Parses the blocks of one source (from any thread), learning their types."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._learned: pa.Schema | None = None

    def parse(self, text: memoryview) -> tuple[pa.Table, bool]:
        """The documents of ``text`` (one a line) and whether their types were inferred
        (then :meth:`learn` may take them). Raises :class:`TooDeep` or ``pa.ArrowInvalid``."""
        data = pa.py_buffer(text)
        read_options = pj.ReadOptions(block_size=data.size + 1024, use_threads=True)
        learned = self._learned
        if learned is not None:
            declared = pj.ParseOptions(explicit_schema=learned, unexpected_field_behavior="error")
            try:
                return _sound(pj.read_json(pa.BufferReader(data), read_options, declared)), False
            except pa.ArrowInvalid:
                pass  # a new field or type: measured and inferred below
        if not shallow(text):
            raise TooDeep(f"nested deeper than {MAX_COLUMNAR_DEPTH} levels")
        return _sound(pj.read_json(pa.BufferReader(data), read_options)), True

    def learn(self, schema: pa.Schema) -> None:
        """Take the types of a block that converted (merged with those known)."""
        with self._lock:
            known = self._learned
            self._learned = schema if known is None else _merged_schema(known, schema)


def _sound(table: pa.Table) -> pa.Table:
    """The table, if its arrays are sound (else ``pa.ArrowInvalid``): pyarrow's reader
    builds a list whose first elements are null short of values (``[null, {...}]``, see
    ``mfq.ingest.fastpath.read_block``), which the converter must not read."""
    table.validate()
    return table


def shallow(text: memoryview | bytes) -> bool:
    """Whether the JSON text nests no deeper than :data:`MAX_COLUMNAR_DEPTH`."""
    data = bytes(text)
    if b"\\" in data:  # escaped quotes: measured exactly
        _, depths = depth_profile(data)
        return not len(depths) or int(depths.max()) <= MAX_COLUMNAR_DEPTH
    # No escapes: every quote opens or closes a string, and only quotes and brackets
    # matter. Two adjacent quotes can go without changing which brackets are inside a
    # string (the quotes before each bracket change by an even number): that leaves the
    # brackets, and the quotes of the few strings holding one.
    marks = data.translate(None, _NOT_MARKS).replace(b'""', b"")
    view = np.frombuffer(marks, dtype=np.uint8)
    steps = _STEP[view]
    if b'"' in marks:
        inside = (np.cumsum(view == _QUOTE, dtype=np.uint8) & 1).astype(bool)
        steps[inside] = 0
    return not len(steps) or int(np.cumsum(steps, dtype=np.int32).max()) <= MAX_COLUMNAR_DEPTH


def _merged_schema(known: pa.Schema, new: pa.Schema) -> pa.Schema:
    fields = _merged_fields(list(known), list(new))
    return pa.schema(fields)


def _merged_fields(known: list[pa.Field], new: list[pa.Field]) -> list[pa.Field]:
    """Both blocks' fields: the known ones first, each merged with its namesake."""
    by_name = {f.name: f for f in new}
    merged = [
        f if f.name not in by_name else f.with_type(_merged_type(f.type, by_name[f.name].type))
        for f in known
    ]
    names = {f.name for f in known}
    return merged + [f for f in new if f.name not in names]


def _merged_type(known: pa.DataType, new: pa.DataType) -> pa.DataType:
    """A type that reads both blocks; a conflict takes the newer type (a block of the
    older kind then fails the declared parse and is inferred again)."""
    if known == new or pa.types.is_null(new):
        return known
    if pa.types.is_null(known):
        return new
    if pa.types.is_struct(known) and pa.types.is_struct(new):
        return pa.struct(_merged_fields(list(known), list(new)))
    if pa.types.is_list(known) and pa.types.is_list(new):
        return pa.list_(_merged_type(known.value_type, new.value_type))
    return new
