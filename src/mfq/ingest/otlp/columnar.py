"""Columnar OTLP spans: whole documents parsed by pyarrow, spans and attributes as columns.

:func:`spans_table` turns a table of parsed ``{"resourceSpans": [...]}`` documents (one row
per document) into one row per span, in exactly the shape pyarrow gives the record path's
converted records (``mfq.ingest.otlp.records``): the same names, values and types, the
attributes as one struct column. Spans, resources and scopes are unnested with
``list_flatten``; the ``{"key", "value": {"<kind>Value": ...}}`` lists become one column per
key with Arrow compute and numpy (ids and decimal times checked on the columns' bytes,
``mfq.ingest.otlp.texts``). Only the few values Arrow has no kernel for (``arrayValue``,
``kvlistValue``) and each distinct resource and scope of a block (``mfq.ingest.otlp.rows``
finds them) are decoded in Python, by the record path's own decoders.

It converts only what it can prove the record path converts the same way. A document
that breaks an OTLP rule (the record path rejects its span with a reason), or holds span
events or links, is marked for the record path; a shape it does not cover at all (a field
of an unexpected type, one key holding values of two types) raises :class:`Unsupported`,
and the reader reads the whole block record by record.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.ingest.otlp.records import (
    NS_PER_MS,
    SPAN_KIND_NAMES,
    SPAN_KINDS,
    STATUS_CODES,
    STATUS_NAMES,
    OtlpContext,
    resource_context,
    scope_context,
)
from mfq.ingest.otlp.rows import row_codes
from mfq.ingest.otlp.texts import fixed_width_hex, only_signed_digits, plain_digits
from mfq.ingest.otlp.values import (
    SMALLEST_EPOCH_NS,
    UINT32_MAX,
    Invalid,
    any_value,
    whole_number,
)
from mfq.ingest.record import ATTRIBUTES_KEY, INT64_MAX, INT64_MIN

#: The kinds of an ``AnyValue``, in the order the columns are tried.
VALUE_KINDS = (
    "stringValue",
    "bytesValue",
    "intValue",
    "doubleValue",
    "boolValue",
    "arrayValue",
    "kvlistValue",
)
_TEXT_KINDS = frozenset({"stringValue", "bytesValue", "arrayValue"})
_PYTHON_KINDS = frozenset({"arrayValue", "kvlistValue"})
_EMPTY, _SEVERAL = -1, 99  # kind codes besides the indexes of VALUE_KINDS
#: More distinct attribute keys than this in a block: the record path (and its field budget).
MAX_KEYS = 2000
#: Doubles are exact integers up to here: a larger whole ``doubleValue`` goes record by record.
_EXACT_DOUBLE = 2**53
_INT_TEXT = r"^-?[0-9]{1,18}$"  # decimal text that always fits int64
_COUNT_FIELDS = (
    ("droppedAttributesCount", "dropped_attributes_count"),
    ("droppedEventsCount", "dropped_events_count"),
    ("droppedLinksCount", "dropped_links_count"),
)


class Unsupported(Exception):
    """A block holds a shape this module does not convert: it is read record by record."""


@dataclass
class SpanRows:
    """Spans of a block of documents as converted records."""

    table: pa.Table  # one row per span, in document order
    documents: np.ndarray  # int64: the document (row of the parsed table) of each span
    bad_documents: np.ndarray  # bool per document: for the record path


def spans_table(documents: pa.Table) -> SpanRows:
    """The spans of parsed OTLP trace documents as converted records (see the module)."""
    n_docs = documents.num_rows
    names = set(documents.column_names)
    if "resourceLogs" in names or "resourceSpans" not in names:
        raise Unsupported("not a block of trace documents")
    resource_lists = _combined(documents.column("resourceSpans"))
    if resource_lists.null_count == n_docs:  # (learned from earlier blocks, in none of these)
        raise Unsupported("not a block of trace documents")
    resources = _list_items(resource_lists)
    resource_doc = _parents(resource_lists)
    scope_lists = _child(resources, "scopeSpans", _is_list_of_structs)
    scopes = _list_items(scope_lists) if scope_lists is not None else None
    if scopes is None or scope_lists is None:
        return _no_spans(n_docs)
    scope_resource = resource_doc[0:0] if not len(scopes) else _parents(scope_lists)
    span_lists = _child(scopes, "spans", _is_list_of_structs)
    if span_lists is None:
        return _no_spans(n_docs)
    spans = _list_items(span_lists)
    span_scope = _parents(span_lists)
    span_resource = scope_resource[span_scope]
    span_doc = resource_doc[span_resource]
    n = len(spans)
    bad = np.zeros(n, dtype=bool)

    resource_fields, resource_bad = _contexts(
        _child(resources, "resource", pa.types.is_struct), len(resources), resource_context
    )
    scope_fields, scope_bad = _contexts(
        _child(scopes, "scope", pa.types.is_struct), len(scopes), scope_context
    )
    bad |= resource_bad[span_resource] | scope_bad[span_scope]

    fields = _SpanFields(spans, bad)
    columns = fields.columns()
    for name in ("service", "environment", "version", "resource"):
        columns[name] = _python_column([f.get(name) for f in resource_fields]).take(
            pa.array(span_resource)
        )
    columns["scope"] = _python_column([f.get("scope") for f in scope_fields]).take(
        pa.array(span_scope)
    )
    for key, name in _COUNT_FIELDS:
        columns[name] = fields.count(key)
    columns[ATTRIBUTES_KEY] = _attributes(fields.child("attributes", _is_list), n, bad)
    # pyarrow orders the columns of JSON records as it first meets them, row by row.
    present = sorted(
        (int(_valid(column).argmax()), order, name, column)
        for order, (name, column) in enumerate(columns.items())
        if column.null_count < len(column)
    )
    table = pa.table([c for *_, c in present], names=[name for _, _, name, _ in present])
    bad_documents = np.zeros(n_docs, dtype=bool)
    bad_documents[span_doc[bad]] = True
    return SpanRows(table, span_doc, bad_documents)


def _no_spans(n_docs: int) -> SpanRows:
    return SpanRows(pa.table({}), np.empty(0, np.int64), np.zeros(n_docs, dtype=bool))


# -- structure --------------------------------------------------------------------------------


def _combined(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _is_list(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_list(data_type) or pa.types.is_large_list(data_type))


def _is_list_of_structs(data_type: pa.DataType) -> bool:
    return _is_list(data_type) and (
        pa.types.is_struct(data_type.value_type) or pa.types.is_null(data_type.value_type)
    )


def _list_items(lists: pa.Array) -> pa.Array:
    if not _is_list_of_structs(lists.type):
        raise Unsupported(f"a list of objects was expected, not {lists.type}")
    return pc.list_flatten(lists)


def _parents(lists: pa.Array) -> np.ndarray:
    return np.asarray(pc.list_parent_indices(lists).to_numpy(zero_copy_only=False), np.int64)


def _child(struct: pa.Array, name: str, expected: object) -> pa.Array | None:
    """A struct's field (nulls where the struct is null), None when no row has it (a field
    of types learned from earlier blocks may be null throughout); a field of another type
    than ``expected`` accepts raises :class:`Unsupported`."""
    if pa.types.is_null(struct.type):
        return None
    index = struct.type.get_field_index(name)
    if index < 0:
        return None
    child: pa.Array = pc.struct_field(struct, [index])
    if pa.types.is_null(child.type) or child.null_count == len(child):
        return None
    if not expected(child.type):  # type: ignore[operator]
        raise Unsupported(f"{name} is {child.type}")
    return child


def _valid(array: pa.Array) -> np.ndarray:
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _flags(array: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _matches(array: pa.Array, pattern: str) -> np.ndarray:
    return _flags(pc.match_substring_regex(array, pattern))


# -- resources and scopes ---------------------------------------------------------------------


def _contexts(
    values: pa.Array | None, count: int, build: Callable[[object], OtlpContext]
) -> tuple[list[dict[str, object]], np.ndarray]:
    """Each resource's (or scope's) fields by the record path's own code, and which failed.
    Documents repeat their resources and scopes: each distinct one is decoded once."""
    if values is None:
        values = pa.nulls(count)
    codes = row_codes(values)
    if codes is None:  # (a type row_codes does not compare: each is told apart by its repr)
        shown = [repr(value) for value in values.to_pylist()]
        codes = np.unique(np.array(shown, dtype=object), return_inverse=True)[1].reshape(-1)
    _, firsts, inverse = np.unique(codes, return_index=True, return_inverse=True)
    contexts: list[OtlpContext | None] = []
    for value in values.take(pa.array(firsts)).to_pylist():
        try:
            contexts.append(build(_present(value)))
        except RecursionError:
            contexts.append(None)
    failed = np.array([c is None or c.problem is not None for c in contexts], dtype=bool)
    fields = [{} if c is None else c.fields for c in contexts]
    return [fields[i] for i in inverse.reshape(-1).tolist()], failed[inverse.reshape(-1)]


def _present(value: object) -> object:
    """A value as JSON gave it: pyarrow fills the fields a row lacks with None (the reader
    sent every document with a ``null`` to the record path, so None means absent)."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value


def _python_column(values: Sequence[object]) -> pa.Array:
    """A column of plain values as pyarrow's JSON reader types it (objects as structs); one
    key with values of two types raises :class:`Unsupported`."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.nulls(len(values))
    if len(kinds) > 1:
        raise Unsupported("values of several types under one name")
    kind = kinds.pop()
    if kind is dict:
        keys: dict[str, None] = {}
        for value in values:
            if value is not None:
                if not value:
                    raise Unsupported("an empty object")
                keys.update(dict.fromkeys(value))  # type: ignore[call-overload]
        children = [
            _python_column([None if v is None else v.get(k) for v in values])  # type: ignore[attr-defined]
            for k in keys
        ]
        mask = pa.array([v is None for v in values])
        return pa.StructArray.from_arrays(children, names=list(keys), mask=mask)
    arrow_type = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}.get(
        kind
    )
    if arrow_type is None:
        raise Unsupported(f"a value of type {kind.__name__}")
    return pa.array(values, arrow_type)


# -- the span's own fields --------------------------------------------------------------------


class _SpanFields:
    """The span's own fields as the record path's columns; rows it would reject (or that
    hold span events or links) are marked in ``bad``."""

    def __init__(self, spans: pa.Array, bad: np.ndarray) -> None:
        self.spans = spans
        self.bad = bad
        self.n = len(spans)

    def child(self, name: str, expected: object) -> pa.Array | None:
        return _child(self.spans, name, expected)

    def columns(self) -> dict[str, pa.Array]:
        trace_id = self._hex_id("traceId", 32, required=True)
        span_id = self._hex_id("spanId", 16, required=True)
        parent = self._parent_id()
        name = self._text("name")
        self.bad |= ~_matches(name, "[A-Za-z0-9]")  # no name (or an odd one): record path
        start, end = self._nanos("startTimeUnixNano"), self._nanos("endTimeUnixNano")
        self.bad |= (start < SMALLEST_EPOCH_NS) | (end < start)  # (0: unset)
        starts = pa.array(np.where(self.bad, 0, start), pa.int64())
        status = self.child("status", pa.types.is_struct)
        code = None if status is None else _child(status, "code", _is_whole_or_text)
        message = None if status is None else _child(status, "message", pa.types.is_string)
        for lists in (self.child("events", _is_list), self.child("links", _is_list)):
            if lists is not None:  # span events and links: the record path converts them
                self.bad |= _flags(pc.greater(pc.list_value_length(lists), 0))
        return {
            "id": pc.binary_join_element_wise(trace_id, span_id, "-"),
            "type": name,
            "timestamp": starts,
            "duration_ms": pa.array((end - start) / NS_PER_MS, pa.float64()),
            "trace_id": trace_id,
            "span_id": span_id,
            "parent_span_id": parent,
            "kind": self._enum(self.child("kind", _is_whole_or_text), SPAN_KIND_NAMES, SPAN_KINDS),
            "status": self._enum(code, STATUS_NAMES, STATUS_CODES),
            "status_message": _non_empty(message, self.n),
            "trace_state": _non_empty(self.child("traceState", pa.types.is_string), self.n),
            "flags": self.count("flags"),
        }

    def _text(self, name: str) -> pa.Array:
        column = self.child(name, pa.types.is_string)
        return _non_empty(column, self.n)

    def _hex_id(self, name: str, digits: int, *, required: bool) -> pa.Array:
        column = self.child(name, pa.types.is_string)
        ids = None if column is None else fixed_width_hex(column, digits)
        if column is None or ids is None:  # (not all of one width: the general checks)
            column = _non_empty(column, self.n)
            ok = _matches(column, f"^[0-9a-fA-F]{{{digits}}}$")
            ok &= ~_matches(column, f"^0{{{digits}}}$")
            self.bad |= ~ok if required else ~ok & _valid(column)
            return pc.ascii_lower(column)
        ok = ids.hexadecimal & ~ids.zero
        self.bad |= ~ok if required else ~ok & _valid(column)
        return pc.ascii_lower(column) if ids.upper_case else column

    def _parent_id(self) -> pa.Array:
        column = self.child("parentSpanId", pa.types.is_string)
        if column is None:
            return pa.nulls(self.n, pa.string())
        ids = fixed_width_hex(column, 16)
        if ids is None:  # (not all of one width: the general checks)
            column = _non_empty(column, self.n)
            root = _matches(column, "^0{16}$")  # an all-zero parent is written for a root
            column = pc.if_else(pa.array(root), pa.nulls(self.n, pa.string()), column)
            ok = _matches(column, "^[0-9a-fA-F]{16}$")
            self.bad |= ~ok & _valid(column)
            return pc.ascii_lower(column)
        if ids.zero.any():
            column = pc.if_else(pa.array(ids.zero), pa.nulls(self.n, pa.string()), column)
        self.bad |= ~ids.hexadecimal & _valid(column)
        return pc.ascii_lower(column) if ids.upper_case else column

    def _nanos(self, name: str) -> np.ndarray:
        """A time as int64 nanoseconds (0 where absent or unusable: those rows are bad)."""
        column = self.child(name, _is_whole_or_text)
        if column is None:
            self.bad[:] = True
            return np.zeros(self.n, np.int64)
        if pa.types.is_string(column.type) and plain_digits(column, 19):
            # Up to 19 digits fit uint64; the record path refuses more than int64 holds.
            wide = np.asarray(pc.fill_null(column.cast(pa.uint64()), 0).to_numpy(), np.uint64)
            fits = wide <= INT64_MAX
            self.bad |= ~fits
            column = pa.array(np.where(fits, wide, 0).astype(np.int64))
        elif pa.types.is_string(column.type):
            digits = _matches(column, r"^[0-9]{1,19}$")
            wide = pc.if_else(pa.array(digits), column, "0").cast(pa.uint64())
            fits = _flags(pc.less_equal(wide, INT64_MAX))
            self.bad |= ~(digits & fits)
            column = pc.if_else(pa.array(fits), wide, 0).cast(pa.int64())
        values = np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False), np.int64)
        self.bad |= values <= 0
        return np.where(values > 0, values, 0)

    def count(self, name: str) -> pa.Array:
        """A uint32 count or flags field; 0 is absent."""
        column = self.child(name, pa.types.is_int64)
        if column is None:
            return pa.nulls(self.n, pa.int64())
        values = np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False), np.int64)
        self.bad |= (values < 0) | (values > UINT32_MAX)
        return pa.array(values, pa.int64(), mask=values == 0)

    def _enum(
        self, column: pa.Array | None, names: dict[str, int], texts: dict[int, str]
    ) -> pa.Array:
        """An enum as its lower-case name (a number OTLP does not define as its text)."""
        if column is None:
            return pa.nulls(self.n, pa.string())
        if pa.types.is_string(column.type):
            numbers = pc.index_in(column, value_set=pa.array(list(names)))
            self.bad |= ~_valid(numbers) & _valid(column)
            column = pc.take(pa.array(list(names.values()), pa.int64()), numbers)
        values = np.asarray(pc.fill_null(column, 0).to_numpy(zero_copy_only=False), np.int64)
        known = {number: texts.get(number, str(number)) for number in np.unique(values).tolist()}
        table = pa.array([known[v] if v else None for v in known], pa.string())
        return table.take(pa.array(np.searchsorted(list(known), values)))


def _is_whole_or_text(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_int64(data_type) or pa.types.is_string(data_type))


def _non_empty(column: pa.Array | None, n: int) -> pa.Array:
    if column is None:
        return pa.nulls(n, pa.string())
    return pc.if_else(pc.equal(column, ""), pa.nulls(n, pa.string()), column)


# -- attributes -------------------------------------------------------------------------------


def _attributes(lists: pa.Array | None, n: int, bad: np.ndarray) -> pa.Array:
    """The spans' attribute lists as one struct column (a field per key, in order of first
    appearance, as pyarrow infers a struct); rows the record path rejects marked in ``bad``."""
    if lists is None:
        return pa.nulls(n)
    entries = _list_items(lists)
    if not len(entries):
        return pa.nulls(n)
    owner = _parents(lists)
    keys = _child(entries, "key", pa.types.is_string)
    if keys is None:
        bad[owner] = True
        return pa.nulls(n)
    no_key = ~_valid(keys) | _flags(pc.equal(keys, ""))
    bad[owner[no_key]] = True
    value = _child(entries, "value", pa.types.is_struct)
    kinds = _kind_codes(value, len(entries))
    bad[owner[kinds == _SEVERAL]] = True
    encoded = pc.dictionary_encode(keys)
    names = encoded.dictionary.to_pylist()
    if len(names) > MAX_KEYS:
        raise Unsupported("too many attribute keys")
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), np.int16)
    # Entries grouped by key (a stable radix sort keeps each key's entries in span order).
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1)).tolist()
    sorted_kinds, sorted_owner = kinds[order], owner[order]
    kind_columns = _KindColumns(value)
    built: list[tuple[int, str, pa.Array]] = []
    for code, key in enumerate(names):
        first, stop = bounds[code], bounds[code + 1]
        owners = sorted_owner[first:stop]
        repeated = np.flatnonzero(np.diff(owners) == 0)
        bad[owners[repeated]] = True  # a key twice in one list: the record path rejects it
        filled = np.flatnonzero(sorted_kinds[first:stop] >= 0)
        if not len(filled):
            continue  # only empty values: absent
        group = _KeyGroup(order[first:stop], owners, sorted_kinds[first:stop], not len(repeated))
        column = _key_column(kind_columns, group, n, bad)
        built.append((int(order[first + filled[0]]), key, column))
    if not built:
        return pa.nulls(n)
    built.sort(key=lambda item: item[0])
    columns = [column for _, _, column in built]
    present = np.zeros(n, dtype=bool)
    for column in columns:
        present |= _valid(column)
    return pa.StructArray.from_arrays(
        columns, names=[key for _, key, _ in built], mask=pa.array(~present)
    )


def _kind_codes(value: pa.Array | None, count: int) -> np.ndarray:
    """Per entry: the index of its value's kind in VALUE_KINDS, _EMPTY, or _SEVERAL (two
    kinds, or one OTLP does not define: the record path rejects those)."""
    codes = np.full(count, _EMPTY, dtype=np.int64)
    if value is None:
        return codes
    several = np.zeros(count, dtype=bool)
    for index, child in enumerate(value.type):
        column = pc.struct_field(value, [index])
        if not column.null_count and child.name in VALUE_KINDS:
            several |= codes != _EMPTY  # (the usual case: every entry of one kind)
            codes[:] = VALUE_KINDS.index(child.name)
            continue
        present = _valid(column)
        if child.name not in VALUE_KINDS:
            several |= present
            continue
        several |= present & (codes != _EMPTY)
        codes[present] = VALUE_KINDS.index(child.name)
    codes[several] = _SEVERAL
    return codes


class _KindColumns:
    """The entries' values of each kind (taken from the value struct once)."""

    def __init__(self, value: pa.Array | None) -> None:
        self._value = value
        self._columns: dict[str, pa.Array] = {}

    def __getitem__(self, name: str) -> pa.Array:
        if name not in self._columns:
            assert self._value is not None
            index = self._value.type.get_field_index(name)
            self._columns[name] = pc.struct_field(self._value, [index])
        return self._columns[name]


@dataclass
class _KeyGroup:
    """One key's entries (in span order), their spans and kinds."""

    entries: np.ndarray
    owners: np.ndarray
    kinds: np.ndarray
    unique: bool  # no span holds the key twice


def _key_column(value: _KindColumns, group: _KeyGroup, n: int, bad: np.ndarray) -> pa.Array:
    """One key's values as a column over the spans: each kind's values taken straight to
    their spans (one take a kind), then decoded there."""
    counts = np.bincount(group.kinds[group.kinds >= 0], minlength=len(VALUE_KINDS))
    names = [VALUE_KINDS[k] for k in np.flatnonzero(counts[: len(VALUE_KINDS)]).tolist()]
    text = all(name in _TEXT_KINDS for name in names)
    if not names or (len(names) > 1 and not text):
        raise Unsupported("one attribute key with values of several types")
    if group.unique and len(group.owners) == n:
        slots = pa.array(group.entries)  # the key in every span, once: in span order
    else:  # (a span holding the key twice is rejected: whichever value it gets is dropped)
        positions = np.full(n, -1, dtype=np.int64)
        positions[group.owners] = group.entries
        slots = pa.array(positions, mask=positions < 0)
    spans = np.arange(n)
    pieces = [_decoded(name, value[name].take(slots), spans, bad) for name in names]
    return pieces[0] if len(pieces) == 1 else pc.coalesce(*pieces)


def _decoded(name: str, child: pa.Array, owners: np.ndarray, bad: np.ndarray) -> pa.Array:
    """The values of one kind (nulls where an entry holds another kind)."""
    data_type = child.type
    if name in _PYTHON_KINDS:
        values = _python_values(name, child, owners, bad)
        return pa.nulls(len(child), pa.string()) if pa.types.is_null(values.type) else values
    if name in ("stringValue", "bytesValue"):
        if not pa.types.is_string(data_type):
            raise Unsupported(f"{name} of type {data_type}")
        return child
    if name == "boolValue":
        if not pa.types.is_boolean(data_type):
            raise Unsupported(f"{name} of type {data_type}")
        return child
    if name == "intValue":
        if pa.types.is_int64(data_type):
            return child.cast(pa.int64())
        if not pa.types.is_string(data_type):
            raise Unsupported(f"{name} of type {data_type}")
        return _int_texts(child, owners, bad)
    if pa.types.is_floating(data_type):  # doubleValue
        finite = _flags(pc.is_finite(child)) | ~_valid(child)
        bad[owners[~finite]] = True
        return child.cast(pa.float64())
    if pa.types.is_int64(data_type):
        exact = _flags(pc.less_equal(pc.abs(child), _EXACT_DOUBLE)) | ~_valid(child)
        bad[owners[~exact]] = True
        return child.cast(pa.float64(), safe=False)
    raise Unsupported(f"{name} of type {data_type}")


def _int_texts(child: pa.Array, owners: np.ndarray, bad: np.ndarray) -> pa.Array:
    """intValue as decimal text (protobuf's JSON for 64-bit integers) as int64."""
    if only_signed_digits(child):
        try:
            return child.cast(pa.int64())
        except pa.ArrowInvalid:
            pass  # a number past int64, or a stray minus sign: checked one by one below
    short = _matches(child, _INT_TEXT)
    valid = _valid(child)
    result = pc.if_else(pa.array(short), child, pa.nulls(len(child), pa.string()))
    numbers = result.cast(pa.int64())
    long_rows = np.flatnonzero(valid & ~short)
    if not len(long_rows):
        return numbers
    values: list[int | None] = numbers.to_pylist()
    texts = child.take(pa.array(long_rows)).to_pylist()
    for row, text in zip(long_rows.tolist(), texts, strict=True):
        number = whole_number(text)
        if number is None or not INT64_MIN <= number <= INT64_MAX:
            bad[owners[row]] = True
        else:
            values[row] = number
    return pa.array(values, pa.int64())


def _python_values(name: str, child: pa.Array, owners: np.ndarray, bad: np.ndarray) -> pa.Array:
    """arrayValue / kvlistValue decoded by the record path's decoder, one value at a time."""
    decoded: list[object] = []
    for row, inner in enumerate(child.to_pylist()):
        if inner is None:
            decoded.append(None)
            continue
        try:
            value = any_value({name: _present(inner)}, stored=True)
        except (Invalid, RecursionError):
            bad[owners[row]] = True
            value = None
        if isinstance(value, float) and not math.isfinite(value):
            bad[owners[row]] = True
            value = None
        decoded.append(value)
    return _python_column(decoded)
