"""Rows of a pyarrow Table as the Python values its pandas DataFrame would hold.

A query result can reach :func:`mfq.render.render` as a ``pyarrow.Table`` in a process
where pandas is never imported (importing it costs half a command's time budget), and it
must render exactly as ``table.to_pandas()`` does. So this module reproduces, with Arrow
kernels alone, what pyarrow's pandas conversion and DataFrame iteration hand a renderer:

- except one thing: an integer column with nulls stays integer (pandas would turn it
  to floats, and ``200`` would print as ``200.0``);
- timestamps become µs datetimes in UTC, floored as ``Timestamp.to_pydatetime`` floors
  nanoseconds; nanosecond timestamps and durations in struct fields and map entries
  stay integers;
- durations in a column read as pandas' ``Timedelta`` text (``0 days 00:00:01.500000``);
  inside lists and structs as ``datetime.timedelta`` (integers at nanosecond precision);
- dictionary columns are decoded (a Categorical keeps integer values integers).

Each column is converted by casts once, then ``to_pylist`` runs once per batch and column,
never once per cell. Asking pyarrow for ``timestamp[ns]`` or ``duration[ns]`` values
directly would hand back pandas objects whenever pandas happens to be importable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC
from enum import Enum, auto
from functools import partial
from itertools import chain
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# Rows turned into Python objects at a time: large enough that per-batch overhead vanishes,
# small enough that streaming a 100k-row result never holds it all as Python objects.
BATCH_ROWS = 10_000

_UTC_MICROSECONDS = pa.timestamp("us", tz="UTC")
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_NS_PER_SECOND = 1_000_000_000
_SECONDS_PER_DAY = 86_400

Values = list[Any]

# By name: list views came with pyarrow 16, and mfq supports pyarrow 15.
_LIST_VIEW_TYPES = ("ListViewType", "LargeListViewType")


class _Place(Enum):
    """Where a value sits in the DataFrame, which decides how pandas converts it."""

    COLUMN = auto()  # a column's cell (a Series iterated to Python scalars)
    CATEGORY = auto()  # a Categorical's value (a dictionary column)
    ARRAY = auto()  # an item of a list cell (a numpy array)
    OBJECT = auto()  # a struct field or a map entry (plain Python objects)


def arrow_rows(table: pa.Table) -> Iterator[tuple[object, ...]]:
    """Every row of ``table`` as a tuple of Python values, converted a batch at a time."""
    # Each column is its own stream of values: struct and map columns are converted chunk
    # by chunk (as pyarrow converts them for pandas), so chunks of one column can end up
    # with different types and could not be put back together into one Table.
    return zip(*(_column_values(column) for column in table.columns), strict=True)


def _column_values(column: pa.ChunkedArray) -> Iterator[object]:
    return chain.from_iterable(_column_batches(column))


def _column_batches(column: pa.ChunkedArray) -> Iterator[Values]:
    for chunk in _prepare(column, _Place.COLUMN):
        plain = chunk
        finish: Callable[[Values], Values] = _as_they_are
        if pa.types.is_duration(chunk.type):
            plain = chunk.cast(pa.int64())
            finish = partial(_timedelta_texts, unit=chunk.type.unit)
        elif pa.types.is_timestamp(chunk.type):
            # pyarrow builds naive datetimes three times as fast as zone-aware ones; the
            # values are UTC already (see _utc_microseconds), so UTC is attached after.
            plain = chunk.cast(pa.timestamp("us"))
            finish = _attach_utc
        for start in range(0, len(plain), BATCH_ROWS):
            values = plain.slice(start, BATCH_ROWS).to_pylist()
            yield finish(values)


def _prepare(column: pa.ChunkedArray, place: _Place) -> list[pa.Array]:
    """``column``'s chunks cast for ``place``; a chunk needing no change is returned as is."""
    arrow_type = column.type
    chunks: list[pa.Array] = list(column.chunks)
    if pa.types.is_dictionary(arrow_type):
        decoded = pa.chunked_array(
            [chunk.dictionary_decode() for chunk in chunks], type=arrow_type.value_type
        )
        return _prepare(decoded, _Place.CATEGORY if place is _Place.COLUMN else place)
    if pa.types.is_integer(arrow_type):
        # Integers stay integers beside nulls (pandas would make the column float: 200.0).
        return chunks
    if pa.types.is_float16(arrow_type):
        return [chunk.cast(pa.float64()) for chunk in chunks]
    if pa.types.is_timestamp(arrow_type):
        if place is _Place.OBJECT and arrow_type.unit == "ns":
            return [chunk.cast(pa.int64()) for chunk in chunks]
        return [_utc_microseconds(chunk) for chunk in chunks]
    if pa.types.is_duration(arrow_type):
        return _prepare_durations(chunks, arrow_type.unit, place)
    if pa.types.is_map(arrow_type):
        return _prepare_maps(chunks, arrow_type)
    if _is_list_like(arrow_type):
        return _prepare_lists(chunks)
    if pa.types.is_struct(arrow_type):
        return [_prepare_struct(chunk) for chunk in chunks]
    return chunks


def _prepare_durations(chunks: list[pa.Array], unit: str, place: _Place) -> list[pa.Array]:
    if place in (_Place.COLUMN, _Place.CATEGORY):
        return chunks  # formatted as pandas' Timedelta text once in Python (_timedelta_texts)
    # numpy's tolist() and pyarrow's object conversion both give integers at ns precision.
    if unit == "ns":
        return [chunk.cast(pa.int64()) for chunk in chunks]
    return [chunk.cast(pa.duration("us")) for chunk in chunks]


def _utc_microseconds(chunk: pa.Array) -> pa.Array:
    """Timestamps as µs in UTC, floored (Arrow's cast truncates towards zero before 1970)."""
    if chunk.type.unit != "ns":
        return chunk.cast(_UTC_MICROSECONDS)  # s, ms and µs convert exactly
    ticks = chunk.cast(pa.int64())
    floored = pc.if_else(pc.less(ticks, 0), pc.subtract(ticks, 999), ticks)
    return pc.divide(floored, 1000).cast(_UTC_MICROSECONDS)


def _is_list_like(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
        or type(arrow_type).__name__ in _LIST_VIEW_TYPES
    )


def _as_offset_list(chunk: pa.Array) -> pa.Array:
    """A fixed-size list or list view as an offset list (Arrow's cast from a list view
    gives an invalid array, so it is rebuilt from the flattened items)."""
    arrow_type = chunk.type
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return chunk
    large = type(arrow_type).__name__ == "LargeListViewType"
    lengths = pc.fill_null(pc.list_value_length(chunk), 0).cast(pa.int64())
    ends = pc.cumulative_sum(lengths)
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), ends])
    array_class = pa.LargeListArray if large else pa.ListArray
    offsets = offsets if large else offsets.cast(pa.int32())
    return array_class.from_arrays(offsets, chunk.flatten(), mask=_null_mask(chunk))


def _prepare_lists(chunks: list[pa.Array]) -> list[pa.Array]:
    """Lists rebuilt over their cast items; the items of every chunk are converted together.

    pyarrow converts a list column's items as one array, so an integer null in any list
    makes the integers of every list floats; the items between the first and last offset
    count, as there.
    """
    lists = [_as_offset_list(chunk) for chunk in chunks]
    if not lists:
        return chunks
    spans = [(chunk.offsets[0].as_py(), chunk.offsets[-1].as_py()) for chunk in lists]
    pairs = zip(lists, spans, strict=True)
    items = [chunk.values.slice(start, end - start) for chunk, (start, end) in pairs]
    item_type = lists[0].type.value_type
    cast_items = _prepare(pa.chunked_array(items, type=item_type), _Place.ARRAY)
    if _unchanged(cast_items, items) and _unchanged(lists, chunks):
        return chunks
    rebuilt = []
    for chunk, (start, _), new_items in zip(lists, spans, cast_items, strict=True):
        offsets = pc.subtract(chunk.offsets, pa.scalar(start, chunk.offsets.type))
        array_class = pa.LargeListArray if pa.types.is_large_list(chunk.type) else pa.ListArray
        rebuilt.append(array_class.from_arrays(offsets, new_items, mask=_null_mask(chunk)))
    return rebuilt


def _prepare_struct(chunk: pa.Array) -> pa.Array:
    """Each field converted as its own column, chunk by chunk (as pyarrow converts structs)."""
    fields = [chunk.type.field(index) for index in range(chunk.type.num_fields)]
    children = [chunk.field(index) for index in range(len(fields))]
    cast = [_prepare_object(child) for child in children]
    if _unchanged(cast, children):
        return chunk
    return pa.StructArray.from_arrays(
        cast,
        fields=[field.with_type(child.type) for field, child in zip(fields, cast, strict=True)],
        mask=_null_mask(chunk),
    )


def _prepare_maps(chunks: list[pa.Array], arrow_type: pa.DataType) -> list[pa.Array]:
    """Maps rebuilt over their cast keys and items, each converted across the whole column
    (as lists are), with a struct field's rules (``[("k", 1.0)]`` when an item is null)."""
    spans = [(chunk.offsets[0].as_py(), chunk.offsets[-1].as_py()) for chunk in chunks]
    pairs = list(zip(chunks, spans, strict=True))
    keys = [chunk.keys.slice(start, end - start) for chunk, (start, end) in pairs]
    items = [chunk.items.slice(start, end - start) for chunk, (start, end) in pairs]
    cast_keys = _prepare(pa.chunked_array(keys, type=arrow_type.key_type), _Place.OBJECT)
    cast_items = _prepare(pa.chunked_array(items, type=arrow_type.item_type), _Place.OBJECT)
    if _unchanged(cast_keys, keys) and _unchanged(cast_items, items):
        return chunks
    rebuilt = []
    for (chunk, (start, _)), new_keys, new_items in zip(pairs, cast_keys, cast_items, strict=True):
        offsets = pc.subtract(chunk.offsets, pa.scalar(start, chunk.offsets.type))
        mask = _null_mask(chunk)
        rebuilt.append(pa.MapArray.from_arrays(offsets, new_keys, new_items, mask=mask))
    return rebuilt


def _unchanged(cast: list[pa.Array], original: list[pa.Array]) -> bool:
    return all(new is old for new, old in zip(cast, original, strict=True))


def _prepare_object(array: pa.Array) -> pa.Array:
    (cast,) = _prepare(pa.chunked_array([array]), _Place.OBJECT)
    return cast


def _null_mask(chunk: pa.Array) -> pa.Array | None:
    return chunk.is_null() if chunk.null_count else None


def _as_they_are(values: Values) -> Values:
    return values


def _attach_utc(moments: Values) -> Values:
    return [None if moment is None else moment.replace(tzinfo=UTC) for moment in moments]


def _timedelta_texts(ticks: Values, unit: str) -> Values:
    scale = _NS_PER_UNIT[unit]
    return [None if tick is None else timedelta_text(tick * scale) for tick in ticks]


def timedelta_text(nanoseconds: int) -> str:
    """pandas' text for a ``Timedelta``: ``0 days 00:00:01.500000``, ``-1 days +23:59:59``.

    Days are floored, the clock part is never negative; sub-seconds show six digits, or
    nine when there are nanoseconds.
    """
    days, rest = divmod(nanoseconds, _SECONDS_PER_DAY * _NS_PER_SECOND)
    seconds, fraction = divmod(rest, _NS_PER_SECOND)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = f"{hours:02}:{minutes:02}:{seconds:02}"
    if fraction % 1000:
        clock += f".{fraction:09}"
    elif fraction:
        clock += f".{fraction // 1000:06}"
    return f"{days} days {'+' if days < 0 else ''}{clock}"
