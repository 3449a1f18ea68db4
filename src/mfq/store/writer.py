"""Writing one batch: dedupe, partition by UTC date, sort, write Parquet to a private tmp
directory, then publish by renaming. The catalog commit that follows makes it visible."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mfq.ingest.batch import EventChunk, RejectedRecord
from mfq.ingest.columns import STANDARD_NAMES, TypeCounts, unify
from mfq.ingest.kept import kept_events
from mfq.settings import Settings
from mfq.store import ids
from mfq.store.catalog import FileRecord
from mfq.store.fieldstats import FieldStats, table_stats
from mfq.store.layout import StoreLayout
from mfq.store.summary import summarise

NS_PER_DAY = 86_400 * 1_000_000_000
_EPOCH_DAY = date(1970, 1, 1)
_UNIQUE_COLUMNS = frozenset({"id", "span_id", "parent_span_id", "trace_id", "client_uuid"})
REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("number", pa.int64()),
        ("code", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)
_REJECT_FLUSH = 50_000
#: The file a batch's id hashes are appended to while it is read (in its tmp directory).
_ID_SPILL = "ids.spill"
#: A column gets a dictionary when it has at most one distinct value per this many rows.
_DICTIONARY_SHARE = 10


@dataclass
class _Pending:
    tmp: Path
    final: Path
    record: FileRecord


@dataclass
class _Write:
    """One flush being written: its files, and whether they have their numbers yet."""

    future: Future[list[_Pending]]
    named: threading.Event


@dataclass
class BatchWriter:
    """Accumulates validated chunks of one ingest and writes them as one batch."""

    layout: StoreLayout
    settings: Settings
    index: ids.IdIndex
    token: str
    type_counts: TypeCounts = field(default_factory=TypeCounts)
    _buffer: list[pa.Table] = field(default_factory=list)
    _buffered_rows: int = 0
    _buffered_bytes: int = 0
    #: The buffered tables' columns, each with the bytes a row without it takes once the
    #: buffer is unified into one table (``_absent_bytes``).
    _buffered_columns: dict[str, int] = field(default_factory=dict)
    _rejects: list[tuple[str, RejectedRecord]] = field(default_factory=list)
    _pending: list[_Pending] = field(default_factory=list)
    #: The batch's id hashes, appended as they come (kept on disk, not in memory: at 10M
    #: events they would be 160 MB beside the index), made the ids file by ``finish``.
    _id_spill: BinaryIO | None = None
    _id_count: int = 0
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _writes: ThreadPoolExecutor | None = None
    #: The thread that takes part of each events file's work (statistics, trace index).
    #: The batch's own, like the write threads: a process-wide pool would be inherited
    #: without its thread by a forked child, whose next ingest would wait for it forever.
    _stats: ThreadPoolExecutor | None = None
    _in_flight: _Write | None = None

    @property
    def tmp_dir(self) -> Path:
        return self.layout.tmp / self.token

    def add(self, chunk: EventChunk, source_name: str) -> tuple[int, int]:
        """Queue a chunk's new events and rejects; returns (ingested, duplicates).

        The chunk is left holding the events stored, with their types and value classes
        (its duplicates taken out as if they had never been read)."""
        for reject in chunk.rejects:
            self._rejects.append((source_name, reject))
        if len(self._rejects) >= _REJECT_FLUSH:
            self._flush_rejects()
        table = chunk.table
        if not table.num_rows:
            return 0, 0
        keep, pairs = ids.keep_new(self.index, table.column("id"))
        kept = int(keep.sum())
        if kept < table.num_rows:
            # No type, class or column of the stored events may come from a duplicate.
            chunk.table, chunk.type_counts = kept_events(chunk, keep)
        chunk.source = None  # (its records' text, needed no more: let go now)
        self._spill_ids(pairs)
        self.type_counts.merge(chunk.type_counts)
        table = chunk.table
        if kept:
            self._buffer.append(table)
            self._buffered_bytes += table.nbytes + self._absent_bytes(table)
            self._buffered_rows += kept
            if (
                self._buffered_rows >= self.settings.flush_rows
                or self._buffered_bytes >= self.settings.flush_bytes
            ):
                self.flush()
        return kept, len(keep) - kept

    def _absent_bytes(self, table: pa.Table) -> int:
        """The bytes the buffer's unified table will hold for columns of ``table`` absent
        from the rows buffered before it, and for columns of those absent from ``table``:
        null, but a value's width each (an offset for a text). Where every chunk holds the
        same columns, none; where records bring keys of their own, up to the field budget's
        1,000 columns made for every buffered row (a flush of 131,072 rows of small records
        each bringing its own key: 1,000 columns of 1 MB each, twice over with the sort,
        where the chunks themselves held 30 MB)."""
        columns = self._buffered_columns
        absent = 0
        for name, data_type in zip(table.column_names, table.schema.types, strict=True):
            if name not in columns:
                columns[name] = width = _row_width(data_type)
                absent += width * self._buffered_rows
        if len(columns) > table.num_columns:
            held = set(table.column_names)
            absent += table.num_rows * sum(w for n, w in columns.items() if n not in held)
        return absent

    def flush(self) -> None:
        """Write buffered events as one sorted file per UTC date (in a background thread,
        so writing overlaps with validating the next chunks)."""
        # The buffered events are handed to a write at once, beside the write in flight
        # (numbered after it), and only then is the write in flight waited for: the
        # events held are the same as when the wait came first (the buffer, then the
        # write in flight), and no more are read until it ends, so memory stays bounded;
        # but where writing is the slow side, the next write no longer waits for a core.
        in_flight, self._in_flight = self._in_flight, None
        self._in_flight = self._submit_buffer(None if in_flight is None else in_flight.named)
        if in_flight is not None:
            self._pending.extend(in_flight.future.result())

    def _submit_buffer(self, named_before: threading.Event | None) -> _Write | None:
        """Start writing the buffered events; None when nothing is buffered."""
        if not self._buffer:
            return None
        buffered, self._buffer = self._buffer, []
        self._buffered_rows = self._buffered_bytes = 0
        self._buffered_columns = {}
        if self._writes is None:
            self._writes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mfq-write")
            self._stats = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mfq-stats")
        named = threading.Event()
        # The value classes as of this flush, taken here: the write's threads read them
        # while ``add`` merges the next chunks' into the batch's (a dict changing size
        # under their iteration, and classes that depended on the threads' timing).
        classes = {n: set(c) for n, c in self.type_counts.counts.items() if len(c) > 1}
        future = self._writes.submit(
            self._write_partitioned, buffered, named_before, named, classes
        )
        return _Write(future, named)

    def _write_partitioned(
        self,
        buffered: list[pa.Table],
        named_before: threading.Event | None,
        named: threading.Event,
        classes: dict[str, set[str]],
    ) -> list[_Pending]:
        """One sorted file per UTC date of ``buffered``, written at once, each in a thread
        of its own; the files are numbered once the write before (``named_before``) has
        numbered its own, then ``named`` is set."""
        try:
            days = list(_day_slices(unify(buffered)))
            del buffered
            if named_before is not None:
                named_before.wait()
            numbered = [(table, day, next(self._numbers)) for table, day in days]
        finally:
            named.set()  # (also on failure: a write waiting for the numbers goes on)
        if len(numbered) < 2:
            return [
                self._write_events(table, day, number, classes) for table, day, number in numbered
            ]
        # Files written one after another left a core idle at the end of the batch (its
        # last flush, whether from ``add`` or ``finish``, spans two days as often as not,
        # and no chunk is left to overlap with). They are shared out, by rows, between
        # this thread and one more: two at a time, however many days the flush spans (an
        # unsorted export's flush can span hundreds, and a thread each would hold that
        # many files' buffers at once). Either lane stops at its next file once the other
        # has failed, and leaving the pool waits for the other lane, so no write goes on
        # after the batch is discarded.
        lanes = _two_lanes([table.num_rows for table, _, _ in numbered])
        failed = threading.Event()

        def lane(indices: list[int]) -> dict[int, _Pending]:
            written: dict[int, _Pending] = {}
            try:
                for i in indices:
                    if failed.is_set():
                        break
                    written[i] = self._write_events(*numbered[i], classes)
            except BaseException:
                failed.set()
                raise
            return written

        with ThreadPoolExecutor(1, thread_name_prefix="mfq-write") as pool:
            other = pool.submit(lane, lanes[1])
            written = lane(lanes[0])
            written.update(other.result())
        return [written[i] for i in range(len(numbered))]

    def _write_events(
        self, table: pa.Table, day: date, number: int, classes: dict[str, set[str]]
    ) -> _Pending:
        name = f"part-{self.token}-{number:05d}.parquet"
        tmp = self.tmp_dir / name
        final = self.layout.partition(day) / name
        record = write_events_file(
            table, tmp, self.layout.relative(final), day, self.settings, classes, self._stats
        )
        return _Pending(tmp, final, record)

    def _flush_rejects(self) -> None:
        # Numbered after the files of the write in flight (as ``finish`` numbers the last
        # rejects), not whenever that write's thread happens to number them: the store's
        # file names follow the data alone. (Written every 50,000 rejects: the wait is
        # for a write's unify, rare.)
        if self._in_flight is not None:
            self._in_flight.named.wait()
        pending = self._rejects_file()
        if pending is not None:
            self._pending.append(pending)

    def _rejects_file(self) -> _Pending | None:
        """The rejects kept so far written to a tmp file (None when there are none)."""
        if not self._rejects:
            return None
        name = f"rejects-{self.token}-{next(self._numbers):05d}.parquet"
        table = pa.table(
            [
                pa.array([s for s, _ in self._rejects], pa.string()),
                pa.array([r.number for _, r in self._rejects], pa.int64()),
                pa.array([r.code for _, r in self._rejects], pa.string()),
                pa.array([r.reason for _, r in self._rejects], pa.string()),
                pa.array([r.raw for _, r in self._rejects], pa.string()),
            ],
            schema=REJECT_SCHEMA,
        )
        tmp = self.tmp_dir / name
        tmp.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp, compression="zstd")
        final = self.layout.rejects / name
        record = FileRecord(self.layout.relative(final), "rejects", None, len(table), 0, None, None)
        self._rejects = []
        return _Pending(tmp, final, record)

    def finish(self) -> list[FileRecord]:
        """Write everything still buffered (events, rejects, id hashes) to tmp files."""
        # No chunk follows, so the bound of one write in flight holds nothing back: the
        # last events are written beside the write in flight, and the rejects and id
        # hashes meanwhile (the ingest's tail is the longest of these, not their sum).
        in_flight, self._in_flight = self._in_flight, None
        last = self._submit_buffer(None if in_flight is None else in_flight.named)
        newest = last or in_flight
        if newest is not None and self._rejects:
            newest.named.wait()  # the rejects file is numbered after every events file
        tail = [self._rejects_file(), self._ids_file()]
        for write in (in_flight, last):
            if write is not None:
                self._pending.extend(write.future.result())
        self._pending.extend(pending for pending in tail if pending is not None)
        return [p.record for p in self._pending]

    def _ids_file(self) -> _Pending | None:
        """The batch's id hashes as its ids file (None when it stored no event)."""
        if not self._id_count:
            return None
        name = f"ids-{self.token}.npy"
        tmp = self.tmp_dir / name
        self._write_ids(tmp)
        final = self.layout.ids / name
        record = FileRecord(self.layout.relative(final), "ids", None, self._id_count, 0, None, None)
        return _Pending(tmp, final, record)

    def _spill_ids(self, pairs: np.ndarray) -> None:
        if not len(pairs):
            return
        if self._id_spill is None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            self._id_spill = (self.tmp_dir / _ID_SPILL).open("w+b")
        self._id_spill.write(np.ascontiguousarray(pairs, dtype=np.uint64).tobytes())
        self._id_count += len(pairs)

    def _write_ids(self, path: Path) -> None:
        """The spilled id hashes as the batch's ids file."""
        spill = self._id_spill
        if spill is None:
            raise RuntimeError("id hashes counted but never spilled")
        spill.flush()
        spill.seek(0)
        ids.save_spilled(path, spill, self._id_count)
        spill.close()
        self._id_spill = None
        (self.tmp_dir / _ID_SPILL).unlink()

    def publish(self) -> None:
        """Move every tmp file to its final place (before the catalog commit)."""
        for pending in self._pending:
            pending.final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(pending.tmp, pending.final)

    def discard(self) -> None:
        """Forget the batch: remove its tmp directory."""
        if self._id_spill is not None:
            self._id_spill.close()
            self._id_spill = None
        for pool in (self._writes, self._stats):  # (the writes first: they use the other)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._writes = self._stats = None
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.layout.tmp.rmdir()  # only when no other batch's files are in it
        self._pending.clear()


def _row_width(data_type: pa.DataType) -> int:
    """The bytes a null row of a column of ``data_type`` takes (at least one)."""
    try:
        width: int = data_type.bit_width
        return max(width // 8, 1)
    except ValueError:  # (not of fixed width: a text's offset, a list's)
        return 8 if pa.types.is_large_string(data_type) else 4


def _day_slices(table: pa.Table) -> Iterator[tuple[pa.Table, date]]:
    """The events of each UTC date, sorted by time (one sort when they are not)."""
    nanos = pc.cast(table.column("timestamp"), pa.int64()).to_numpy()
    if len(nanos) > 1 and not bool(np.all(nanos[1:] >= nanos[:-1])):
        # One sort by time makes every UTC date a contiguous slice.
        order = np.argsort(nanos, kind="stable")
        table = table.take(pa.array(order))
        nanos = nanos[order]
    days = np.floor_divide(nanos, NS_PER_DAY)
    edges = np.flatnonzero(np.diff(days)) + 1
    for start, stop in zip(np.r_[0, edges], np.r_[edges, len(days)], strict=True):
        day = _EPOCH_DAY + timedelta(days=int(days[start]))
        yield table.slice(int(start), int(stop - start)), day


def write_events_file(
    table: pa.Table,
    tmp: Path,
    path: str,
    day: date,
    settings: Settings,
    classes: dict[str, set[str]] | None = None,
    helper: Executor | None = None,
) -> FileRecord:
    """Write one day's events (sorted by time) to ``tmp``; the record the catalog keeps
    for it once it is moved to ``path``: time span, schema, trace index, summary and field
    statistics. ``classes`` are the value classes of fields mixed in their source. A
    ``helper`` thread takes half the statistics, then the summary and trace index while
    the Parquet file is written (the file is written sooner where a core is free)."""
    tmp.parent.mkdir(parents=True, exist_ok=True)
    field_stats = table_stats(table, classes, helper)
    if helper is None:
        extras: Future[tuple[bytes, bytes | None]] = Future()
        extras.set_result(_extras(table))
    else:
        extras = helper.submit(_extras, table)
    pq.write_table(
        table,
        tmp,
        compression="zstd",
        compression_level=settings.zstd_level,
        row_group_size=settings.row_group_rows,
        use_dictionary=dictionary_columns(table, field_stats),
        # Min/max statistics prune row groups by time and by the standard fields that
        # filters name; on free-form attributes they cost more than they save.
        write_statistics=[n for n in table.column_names if n in STANDARD_NAMES],
    )
    nanos = pc.cast(table.column("timestamp"), pa.int64())
    bounds = pc.min_max(nanos).as_py()
    trace_keys, summary = extras.result()
    return FileRecord(
        path=path,
        kind="events",
        day=day.isoformat(),
        rows=table.num_rows,
        bytes=tmp.stat().st_size,
        min_ns=bounds["min"],
        max_ns=bounds["max"],
        schema=table.schema.remove_metadata().serialize().to_pybytes(),
        trace_keys=trace_keys,
        summary=summary,
        field_stats=field_stats,
    )


def _extras(table: pa.Table) -> tuple[bytes, bytes | None]:
    """The file's trace index and summary."""
    return _trace_keys(table), summarise(table)


def dictionary_columns(table: pa.Table, field_stats: list[FieldStats]) -> list[str]:
    """The columns worth a dictionary: those whose values repeat (a tenth as many distinct
    values as rows at most). For the others, ids and measurements, pyarrow would build a
    dictionary, find it too big and fall back to plain: slower, and a bigger file."""
    distinct = {s.field: s.distinct for s in field_stats}
    limit = table.num_rows // _DICTIONARY_SHARE
    return [
        n for n in table.column_names if n not in _UNIQUE_COLUMNS and distinct.get(n, 0) <= limit
    ]


def _trace_keys(table: pa.Table) -> bytes:
    """The file's trace index (empty when no event has a trace id)."""
    if "trace_id" not in table.column_names:
        return b""
    return ids.trace_keys(table.column("trace_id")).tobytes()


def _two_lanes(rows: list[int]) -> tuple[list[int], list[int]]:
    """The indices of ``rows`` shared between two lanes so that their sums of rows are
    close (the largest first, each to the lighter lane); each lane in index order."""
    lanes: tuple[list[int], list[int]] = ([], [])
    loads = [0, 0]
    for i in sorted(range(len(rows)), key=lambda i: -rows[i]):
        lighter = 0 if loads[0] <= loads[1] else 1
        lanes[lighter].append(i)
        loads[lighter] += rows[i]
    return sorted(lanes[0]), sorted(lanes[1])
