"""A chunk's events with some left out (duplicates by id), as if those had never been read.

A chunk's column types are settled over all its events: a field holding numbers in some
and text in others becomes text, integers beside floats become floats, and the chunk's
value classes count every event. When the duplicates among them are let go afterwards,
the events kept must not keep a type only a dropped one decided, nor its count.

Most often nothing has to be redone: a column holding one class of value keeps its type
whatever is left out, and only its count goes down. Where a dropped event may have decided
a kept column's type (a mixed column turned to text, or whole numbers read as floats
beside a dropped float), the kept events are validated again from their records' text,
the way the chunk was (vectorised, or record by record), which gives what the chunk would
have given without the dropped ones. That is the rare case: a repeated id, in a field of
mixed types; it costs about the chunk's validation again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.ingest.batch import EventChunk
from mfq.ingest.columns import (
    STANDARD_NAMES,
    FieldBudget,
    TypeCounts,
    drop_empty_attributes,
)
from mfq.ingest.containers import RecordChunk
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.validate import validate_records


@dataclass(frozen=True)
class SourceRows:
    """Where a chunk's events came from, to validate some of them again from their text."""

    #: The text of a record of the chunk, by its row in the chunk.
    text: Callable[[int], bytes]
    #: The record number of each row of the chunk.
    numbers: np.ndarray
    #: Per piece of the table (fast path blocks, record path rows): the chunk rows of its
    #: events. Sorted together they are the chunk row of each event of the table, which
    #: is in input order (kept as pieces: the sort is made only when it is needed).
    pieces: Sequence[np.ndarray]
    options: NormalizeOptions
    budget: FieldBudget | None = None
    #: Whether the chunk's text was validated by the vectorised path: its events are then
    #: validated again so (record by record only where they were before), else record by
    #: record, as they were.
    vectorised: bool = False

    def validate(self, events: np.ndarray) -> EventChunk:
        """The events at these rows of the chunk's table, validated again from their text."""
        rows = np.sort(np.concatenate(self.pieces))[events] if self.pieces else events
        texts = [self.text(row) for row in rows.tolist()]
        numbers = self.numbers[rows]
        if not self.vectorised:
            return validate_records(texts, numbers.tolist(), self.options, self.budget)
        # (not at the top: the vectorised path makes these for its chunks)
        from mfq.ingest.fastpath import FastPathState, validate_chunk_fast

        chunk = RecordChunk(b"\n".join(texts), numbers)
        return validate_chunk_fast(chunk, self.options, FastPathState(budget=self.budget))


def may_be_read_again(table: pa.Table, counts: TypeCounts) -> bool:
    """Whether leaving some of these events out could ever need the others validated
    again (``kept_counts`` can say None): a field of mixed classes, or an attribute of
    floats. Other chunks let their records' text go at once."""
    if any(sum(1 for n in classes.values() if n) > 1 for classes in counts.counts.values()):
        return True
    return any(pa.types.is_floating(f.type) and f.name not in STANDARD_NAMES for f in table.schema)


def record_path_rows(
    chunk: RecordChunk,
    events: EventChunk,
    options: NormalizeOptions,
    budget: FieldBudget | None = None,
) -> SourceRows:
    """The source rows of a chunk validated record by record (``events``: its outcome,
    before the reader's own rejects are added): its records less those rejected."""
    rejected = np.array([r.number for r in events.rejects], dtype=np.int64)
    accepted = np.flatnonzero(~np.isin(chunk.numbers, rejected))
    return SourceRows(_RecordTexts(chunk), chunk.numbers, [accepted], options, budget)


class _RecordTexts:
    """A chunk's record texts by row, split once when first asked for."""

    def __init__(self, chunk: RecordChunk) -> None:
        self._chunk = chunk
        self._records: list[bytes] | None = None

    def __call__(self, row: int) -> bytes:
        if self._records is None:
            self._records = self._chunk.records()
        return self._records[row]


def kept_events(chunk: EventChunk, keep: np.ndarray) -> tuple[pa.Table, TypeCounts]:
    """The chunk's events where ``keep`` is set, with their columns' types and value
    classes as if the others had never been in the input."""
    table = chunk.table
    kept = drop_empty_attributes(table.filter(pa.array(keep)))
    if not kept.num_rows:
        return kept, TypeCounts()
    counts = kept_counts(table, chunk.type_counts, keep)
    if counts is not None:
        return kept, counts
    if chunk.source is None:  # (``may_be_read_again`` said so of every such chunk)
        raise RuntimeError("a chunk's events cannot be validated again: no source rows")
    again = chunk.source.validate(np.flatnonzero(keep))
    if again.rejects or not again.table.column("id").equals(kept.column("id")):
        # The two paths agree on every record (a property test checks it): never here.
        raise RuntimeError("events validated again do not match those validated first")
    return drop_empty_attributes(again.table), again.type_counts


def kept_counts(table: pa.Table, counts: TypeCounts, keep: np.ndarray) -> TypeCounts | None:
    """The value classes of ``table``'s events where ``keep`` is set (``counts`` are those
    of every event); None when a dropped event may have decided the type of a column kept
    events hold (then only their text tells it)."""
    names = set(table.column_names)
    dropped_rows = pa.array(~keep)
    result = TypeCounts()
    for name, classes in counts.counts.items():
        if name not in names:
            continue
        column = table.column(name)
        gone = _present(pc.filter(column, dropped_rows))
        if not gone:
            result.counts[name] = Counter(classes)
            continue
        if gone == _present(column):
            continue  # only dropped events held it: no column of the kept ones
        held = [c for c, n in classes.items() if n]
        if len(held) > 1:
            return None  # mixed: which events held which class is no longer known
        if name not in STANDARD_NAMES and pa.types.is_floating(column.type):
            kept_column = pc.filter(column, pa.array(keep))
            if _present(kept_column) and _all_whole(kept_column):
                return None  # whole numbers: integers read as floats beside a dropped one?
        left = classes[held[0]] - gone
        if left > 0:
            result.counts[name] = Counter({held[0]: left})
    return result


def _present(column: pa.Array | pa.ChunkedArray) -> int:
    return int(len(column) - column.null_count)


def _all_whole(column: pa.Array | pa.ChunkedArray) -> bool:
    whole = pc.equal(pc.floor(column), column)
    return bool(pc.all(whole).as_py())
