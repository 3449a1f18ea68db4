"""Columns numbered as small integers (:class:`Digits`: dictionary indices, time-bucket
numbers), and distinct rows found batch by batch on those numbers (before the
dictionaries are unified, without decoding a value).

Distinct counts, minima and maxima per group do not change when repeated rows are
dropped, and event logs repeat (project, actor) pairs over and over: 10M events of the
benchmark hold 14k distinct pairs. Hashing the 10M rows of text is what costs; marking
each batch's index tuples in a bitmap costs a few numpy passes over small integers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.model.arrays import to_arrow

#: A batch's tuples are marked in a bitmap when the index space is at most this many
#: times its rows (or this small anyway); batches of sparser spaces are kept whole.
_BITMAP_PER_ROW = 8
_SMALL_BITMAP = 1 << 20
#: Reducing stops once a batch of at least ``_JUDGED_ROWS`` keeps more than 1 row in
#: ``_WORTH_IT``.
_WORTH_IT = 2
_JUDGED_ROWS = 4096


def distinct_dictionary_rows(
    table: pa.Table, steps: Mapping[str, int] | None = None
) -> pa.Table | None:
    """``table`` with fewer repeated rows, in no defined order, or None when a column is
    neither dictionary-encoded nor a time named in ``steps`` (column -> bucket width in
    nanoseconds: its times become their buckets' starts, aligned to the UTC epoch).

    Each batch keeps its own dictionaries: a row is dropped only when an earlier row of
    its batch has the same indices, so rows may still repeat. Batches whose tuples are
    too many for a bitmap are kept whole (times not bucketed), and so is the rest once a
    batch shows repeats are rare (dropping them would cost more than it saves)."""
    steps = dict(steps or {})
    if table.num_columns == 0:
        return None
    for field in table.schema:
        if not (pa.types.is_dictionary(field.type) or field.name in steps):
            return None
    workspace = _Workspace([steps.get(name) for name in table.column_names])
    batches = table.to_batches()
    for index, batch in enumerate(batches):
        reduced = workspace.distinct(batch)
        if reduced is None:
            continue
        batches[index] = reduced
        if batch.num_rows >= _JUDGED_ROWS and reduced.num_rows * _WORTH_IT > batch.num_rows:
            break
    return pa.Table.from_batches(batches, schema=table.schema)


class _Workspace:
    """Buffers reused from batch to batch: fresh megabyte arrays for every batch cost
    more in page faults than the arithmetic on them."""

    def __init__(self, steps: list[int | None]) -> None:
        self.steps = steps
        self.packed = np.empty(0, np.intp)
        self.seen = np.zeros(0, np.bool_)

    def distinct(self, batch: pa.RecordBatch) -> pa.RecordBatch | None:
        """The batch's distinct rows, or None to keep it whole (empty, or too many tuples)."""
        rows = batch.num_rows
        if rows == 0:
            return None
        digits: list[Digits] = []
        for column, step in zip(batch.columns, self.steps, strict=True):
            digit = (
                Digits.of_dictionary(column) if step is None else Digits.of_buckets(column, step)
            )
            if digit is None:
                return None
            digits.append(digit)
        space = math.prod(digit.width for digit in digits)
        if space > max(_SMALL_BITMAP, _BITMAP_PER_ROW * rows):
            return None
        packed = self._buffer(rows)
        # numpy scatters with intp indices: narrower ones would be converted there
        np.copyto(packed, digits[0].numbers)
        for digit in digits[1:]:
            np.multiply(packed, digit.width, out=packed)
            np.add(packed, digit.numbers, out=packed)
        if len(self.seen) < space:
            self.seen = np.zeros(space, np.bool_)
        seen = self.seen[:space]
        seen[packed] = True
        tuples = np.flatnonzero(seen)
        seen[tuples] = False  # clean for the next batch
        arrays: list[pa.Array] = []
        for digit in reversed(digits):
            arrays.append(digit.values(tuples % digit.width))
            tuples //= digit.width
        arrays.reverse()
        return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)

    def _buffer(self, rows: int) -> np.ndarray:
        if len(self.packed) < rows:
            self.packed = np.empty(rows, np.intp)
        return self.packed[:rows]


@dataclass
class Digits:
    """A column as small numbers ``0..width-1`` and the way back to its values: the
    digits rows are numbered by, for their distinct tuples here and for groups of
    percentiles in :mod:`mfq.query.engines.grouping`."""

    numbers: np.ndarray
    width: int
    values: Callable[[np.ndarray], pa.Array]

    @classmethod
    def of_dictionary(cls, column: pa.DictionaryArray) -> Digits:
        """Dictionary indices; the extra last number stands for null."""
        width = len(column.dictionary) + 1
        return cls(_indices(column, width - 1), width, partial(_dictionary_values, column))

    @classmethod
    def of_buckets(cls, column: pa.Array, step: int) -> Digits | None:
        """Bucket numbers (``step`` nanoseconds wide, aligned to the UTC epoch) from the
        column's first bucket; None when a time is missing."""
        if column.null_count:
            return None
        if not len(column):
            return cls(np.zeros(0, np.int64), 1, partial(_bucket_values, 0, step, column.type))
        nanos = column.cast(pa.int64()).to_numpy(zero_copy_only=False)
        first = int(nanos.min())
        first -= first % step  # floored, also before 1970
        numbers = (nanos - first) // step
        width = int(numbers.max()) + 1
        return cls(numbers, width, partial(_bucket_values, first, step, column.type))

    def plain_values(self, numbers: np.ndarray) -> pa.Array:
        """The values of ``numbers``, dictionaries decoded."""
        values = self.values(numbers)
        return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values


def _dictionary_values(column: pa.DictionaryArray, digit: np.ndarray) -> pa.Array:
    missing = digit == len(column.dictionary)
    if missing.any():
        indices = to_arrow(np.where(missing, 0, digit), column.indices.type, mask=missing)
    else:
        indices = to_arrow(digit, column.indices.type)
    return pa.DictionaryArray.from_arrays(indices, column.dictionary)


def _bucket_values(first: int, step: int, kind: pa.DataType, digit: np.ndarray) -> pa.Array:
    return to_arrow(first + digit * step, pa.int64()).cast(kind)


def _indices(column: pa.DictionaryArray, null_index: int) -> np.ndarray:
    """The dictionary indices as numpy, ``null_index`` where a row is null."""
    indices = column.indices
    if indices.null_count:
        indices = pc.fill_null(indices, null_index)
    numbers: np.ndarray = indices.to_numpy(zero_copy_only=False)
    return numbers
