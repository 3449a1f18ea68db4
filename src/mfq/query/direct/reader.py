"""Reading files for one question: validated as ``mfq ingest`` validates, nothing written.

Sources are expanded, skipped, repeated and refused exactly as an ingest into an empty
store would (``mfq.store.store.Storage.ingest``); each is read with a projection (only the
standard fields and the question's fields parsed), duplicates by id are kept once (and
decide no type of the events kept, ``mfq.ingest.kept``), and what is left is held in
memory, sorted by time as the writer sorts a store's files.

Of each chunk's accepted events only the question's columns are held (with the time and
the sample rate), beside the 16 bytes of their id's hashes: the standard fields are
parsed and validated as ingest validates them, then let go; repeated texts and integers
(a type, a status, the sample rate) are held as dictionaries with one-byte indices. A
question on the group of ``type`` holds about 26 bytes per event (16 of them the
hashes), not the 120 of every standard field.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.errors import InputUnreadable
from mfq.ingest.batch import EventChunk
from mfq.ingest.columns import TypeCounts, drop_empty_attributes, unify
from mfq.ingest.counters import IngestCounters
from mfq.ingest.kept import kept_counts, kept_events
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.pipeline import SourceReading, read_source
from mfq.ingest.projection import Projection
from mfq.ingest.refusal import RejectKeys, refusal_message
from mfq.ingest.sources import Source, expand_sources
from mfq.settings import DEFAULT_SETTINGS, Settings
from mfq.store import ids
from mfq.store.fieldstats import stored_classes
from mfq.store.store import IngestSummary

#: Columns held for every question: the time (ranges, series, the order of the events)
#: and the weight of each event.
_ALWAYS_HELD = ("timestamp", "sample_rate")


@dataclass
class FileEvents:
    """The events of some files, as a store would hold them, with only some columns."""

    #: The question's columns, first occurrence of each id, sorted by time.
    table: pa.Table
    #: Value classes per field, as the store's field statistics would record them.
    classes: dict[str, Counter[str]]
    #: What an ingest of the files would have reported.
    summary: IngestSummary

    def only(self, fields: Iterable[str]) -> FileEvents:
        """These events with the columns of ``fields`` only (and the time and the sample
        rate): what reading with ``fields`` alone holds, from a read of more fields."""
        keep = {*fields, *_ALWAYS_HELD}
        table = self.table.select([name for name in self.table.column_names if name in keep])
        classes = {name: found for name, found in self.classes.items() if name in keep}
        return FileEvents(table, classes, self.summary)


#: Accepted events (duplicates included) of a source's first chunks watched for a
#: repeated id whose leaving out would make the read start again (``_Batch.watched``).
WATCHED_EVENTS = 1 << 16


@dataclass
class _Batch:
    """The accepted events read so far, projected, duplicates still in (they are found
    once, over every id, when the reading ends: see ``events``), unless an ``index`` is
    given: then each chunk's duplicates are taken out as it comes, as ingest does."""

    #: The columns held (None: every column read).
    held: frozenset[str] | None = None
    index: ids.IdIndex | None = None
    #: Without an ``index``, how many more accepted events are watched: a chunk among
    #: them whose repeated ids, left out when the reading ends, would leave a kept
    #: column's type undecided (``kept_counts``: the files would be read again) makes the
    #: index now, as ingest's would be, and every chunk from it on is read as it comes.
    watched: int = 0
    tables: list[pa.Table] = field(default_factory=list)
    #: The value classes of each table's events.
    counts: list[TypeCounts] = field(default_factory=list)
    #: The hashes of each table's ids (``mfq.store.ids.hash_ids``), made as it comes.
    hashes: list[np.ndarray] = field(default_factory=list)
    #: Whether the reading parses only the question's keys (``Projection``): then a
    #: watched chunk whose repeats would leave a type undecided makes the files be read
    #: again, without the projection (``read_again``), since its parse declared the types
    #: the first full parse learned, the left-out duplicates' among them (a float where
    #: the kept events hold whole numbers: theirs read as floats, past 2**53 inexactly).
    projected: bool = False
    read_again: bool = False

    def add(self, chunk: EventChunk) -> int:
        """Keep a chunk's accepted events; how many there are (duplicates included)."""
        accepted = int(chunk.table.num_rows)
        if not accepted:
            return 0
        pairs = None
        if self.index is None:
            pairs = ids.hash_ids(chunk.table.column("id"))
            if self.watched > 0:
                self.watched -= accepted
                if self._read_again_for(chunk, pairs):
                    if self.projected:
                        self.read_again, self.watched = True, 0
                    else:
                        self.index, self.watched = self._index_of_the_read(), 0
        if self.index is not None:
            keep, pairs = ids.keep_new(self.index, chunk.table.column("id"))
            if len(pairs) < accepted:
                chunk.table, chunk.type_counts = kept_events(chunk, keep)
        assert pairs is not None
        chunk.source = None  # (its records' text, needed no more: let go now)
        table, counts = self._held_of(chunk.table, chunk.type_counts)
        if not table.num_rows:
            return accepted
        self.hashes.append(pairs)
        self.counts.append(counts)
        self.tables.append(table)
        return accepted

    def _held_of(self, table: pa.Table, counts: TypeCounts) -> tuple[pa.Table, TypeCounts]:
        """A chunk's events and value classes as held: the held columns only."""
        if self.held is None or not table.num_rows:
            return table, counts
        held = table.select([n for n in table.column_names if n in self.held])
        return _held_narrow(held), _held_counts(counts, self.held)

    def _read_again_for(self, chunk: EventChunk, pairs: np.ndarray) -> bool:
        """Whether this chunk's repeated ids (of it, or of the chunks before), left out
        when the reading ends, would leave a kept column's type undecided: as
        ``_first_of_each_id`` finds it then (the first of each id is decided by the
        chunks read so far alone)."""
        keep = first_of_each_id([*self.hashes, pairs])[-1]
        if keep is None:
            return False
        table, counts = self._held_of(chunk.table, chunk.type_counts)
        return kept_counts(table, counts, keep) is None

    def _index_of_the_read(self) -> ids.IdIndex:
        """The id index an ingest of the chunks read so far would hold: their ids found
        as they came, chunk by chunk (each chunk's first of each id kept)."""
        index = ids.IdIndex(np.empty((0, 2), dtype=np.uint64))
        for pairs in self.hashes:
            ids.keep_new_pairs(index, pairs)
        return index

    def events(self) -> tuple[pa.Table, dict[str, Counter[str]]] | None:
        """The first event of each id (as ingest keeps them, in reading order), sorted by
        time, and the value classes of their fields; None when a duplicate left out may
        have decided the type of a column of the events kept (the files must then be read
        again with an ``index``, which keeps the records' text of a chunk as it comes)."""
        if self.read_again:
            return None
        masks = first_of_each_id(self.hashes)
        self.hashes = []  # (let go before the tables' copies without the repeats are made)
        _give_back_freed_memory()
        found, self.tables = self.tables, []
        counts = _first_of_each_id(found, self.counts, masks)
        if counts is None:
            return None
        table = unify(_decoded_where_mixed(found), every_standard=False)
        del found
        holder = [table]
        del table  # (the holder's the one reference: see ``_sorted_by_time``)
        in_order = _in_time_order(holder[0])
        table = _in_one_chunk(holder) if in_order else _sorted_by_time(holder)
        mixed = {n: set(c) for n, c in counts.counts.items() if len(c) > 1}
        classes = {
            name: Counter(dict.fromkeys(found, 1))
            for name, found in stored_classes(table, mixed).items()
        }
        return table, classes


def _give_back_freed_memory() -> None:
    """Have the C allocator give back the memory the reading freed (glibc's
    ``malloc_trim``; nothing elsewhere).

    The command keeps freed memory on the heap for the reading (``mfq.cli.files.
    keep_freed_memory``: its chunks would fault their pages in afresh), up to 128 MiB
    and every hole below the heap's top; what the end makes (the events without their
    repeats, sorted) is Arrow's, from an allocator of its own that cannot reuse it, so
    that memory came on top: at 1M shuffled events the end rose 35-40 MiB above the
    reading's peak, nothing with it given back."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # (here: a Python built without it still reads files)

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # no C library to ask, or not glibc's
        return
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)


def _first_of_each_id(
    tables: list[pa.Table], counts: Sequence[TypeCounts], masks: Sequence[np.ndarray | None]
) -> TypeCounts | None:
    """The value classes of the events kept by ``masks`` (``first_of_each_id``: the
    first of each id), ``tables`` made those events (in place, each table's original let
    go as its copy is made, in the types a chunk's columns had before ``_narrowed``);
    None when a dropped event may have decided a kept column's type."""
    merged = TypeCounts()
    for index, (found, keep) in enumerate(zip(counts, masks, strict=True)):
        if keep is None:
            merged.merge(found)
            tables[index] = _widened(tables[index])
            continue
        classes = kept_counts(tables[index], found, keep)
        if classes is None:
            return None
        merged.merge(classes)
        # A column only the duplicates held is no column of the kept events.
        tables[index] = _widened(drop_empty_attributes(tables[index].filter(pa.array(keep))))
    return merged


def _held_narrow(table: pa.Table) -> pa.Table:
    """``table`` with its text and integer columns of repeated values dictionary-encoded
    (a byte or two an event instead of the text or 8 bytes: an event type, a status, a
    sample rate), as a store's scan reads group keys, their indices as narrow as their
    dictionaries allow (``_widened`` makes them the store's types again when the reading
    ends). Columns of mostly distinct values stay as they are."""
    for index, column in enumerate(table.columns):
        kind = column.type
        if not (pa.types.is_string(kind) or pa.types.is_integer(kind)) or not len(column):
            continue
        encoded = column.dictionary_encode()
        if sum(len(chunk.dictionary) for chunk in encoded.chunks) * 2 <= len(column):
            table = table.set_column(index, table.field(index).name, _narrowed(encoded))
    return table


def _narrowed(encoded: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary column with indices of the narrowest type its dictionaries allow."""
    largest = max((len(chunk.dictionary) for chunk in encoded.chunks), default=0)
    narrow = pa.int8() if largest <= 1 << 7 else pa.int16() if largest <= 1 << 15 else None
    if narrow is None:
        return encoded
    chunks = [
        pa.DictionaryArray.from_arrays(chunk.indices.cast(narrow), chunk.dictionary)
        for chunk in encoded.chunks
    ]
    return pa.chunked_array(chunks, pa.dictionary(narrow, encoded.type.value_type))


def _widened(table: pa.Table) -> pa.Table:
    """``table`` with the columns ``_held_narrow`` encoded as a store holds them:
    texts as dictionaries with 32-bit indices (each chunk's dictionary as it was),
    integers decoded."""
    for index, f in enumerate(table.schema):
        kind = f.type
        if not pa.types.is_dictionary(kind):
            continue
        column = table.column(index)
        if pa.types.is_integer(kind.value_type):
            table = table.set_column(index, f.name, column.cast(kind.value_type))
        elif kind.index_type != pa.int32():
            chunks = [
                pa.DictionaryArray.from_arrays(chunk.indices.cast(pa.int32()), chunk.dictionary)
                for chunk in column.chunks
            ]
            wide = pa.dictionary(pa.int32(), kind.value_type)
            table = table.set_column(index, f.name, pa.chunked_array(chunks, wide))
    return table


def _decoded_where_mixed(tables: list[pa.Table]) -> list[pa.Table]:
    """``tables`` with the dictionaries of ``_held_narrow`` decoded in the columns
    whose type differs between tables (text in some, numbers in others, say), so that
    ``unify`` finds their common type as it finds a store's."""
    types: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for f in table.schema:
            types.setdefault(f.name, set()).add(f.type)
    mixed = {name for name, found in types.items() if len(found) > 1}
    decoded = []
    for table in tables:
        plain = table
        for index, f in enumerate(table.schema):
            if f.name in mixed and pa.types.is_dictionary(f.type):
                text = table.column(index).cast(f.type.value_type)
                plain = plain.set_column(index, f.name, text)
        decoded.append(plain)
    return decoded


def _sorted_by_time(holder: list[pa.Table]) -> pa.Table:
    """The one table ``holder`` holds (which it no longer does), its rows stably sorted
    by time.

    The columns are sorted one at a time, each let go as soon as its sorted copy is
    made: a sort of the whole table at once held every column twice, which at 10M events
    (about 33 bytes an event held for a question with a filter and a percentile) was
    the read's peak."""
    table = holder.pop()
    nanos = pc.cast(table.column("timestamp"), pa.int64()).to_numpy()
    order = pa.array(np.argsort(nanos, kind="stable"))
    del nanos
    schema, columns = table.schema, table.columns
    del table
    for index in range(len(columns)):
        columns[index] = _one_chunk(columns[index])  # (its chunks let go before the take)
        columns[index] = _taken(columns[index], order)
    return pa.Table.from_arrays(columns, schema=schema)


def _in_one_chunk(holder: list[pa.Table]) -> pa.Table:
    """The one table ``holder`` holds (which it no longer does), each column one chunk,
    made one column at a time, each column's chunks let go once it is made: a scan of
    held events without a filter then reads the columns where they lie (see
    ``mfq.query.direct.scan``), rather than a copy made one chunk beside them."""
    table = holder.pop()
    schema, columns = table.schema, table.columns
    del table
    for index in range(len(columns)):
        columns[index] = _one_chunk(columns[index])
    return pa.Table.from_arrays(columns, schema=schema)


#: The most bytes a column of texts, lists or dictionaries is made one chunk of: their
#: offsets are 32-bit, so a text column past 2 GiB cannot be one array of its type.
ONE_CHUNK_BYTES = 2**31 - 1


def _one_chunk(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``column`` as one chunk (itself when it is, and when its values would not fit
    one array of its type: kept in its chunks, as a column read from a store is)."""
    if column.num_chunks <= 1:
        return column
    if not pa.types.is_primitive(column.type) and column.nbytes > ONE_CHUNK_BYTES:
        return column
    return pa.chunked_array([pa.concat_arrays(column.chunks)], column.type)


def _taken(column: pa.ChunkedArray, order: pa.Array) -> pa.ChunkedArray:
    """``column``'s rows in ``order`` (a new column). ``column`` is one chunk, made of its
    chunks before, which were let go: a take of many chunks makes their concatenation
    itself, beside them (every column three times over at its turn: the chunks, their
    concatenation, the copy in order)."""
    return column.take(order)


def _in_time_order(table: pa.Table) -> bool:
    """Whether the events are in time order already (checked chunk by chunk: no copy of
    every time at once)."""
    last = None
    for chunk in table.column("timestamp").chunks:
        nanos = chunk.cast(pa.int64()).to_numpy(zero_copy_only=False)
        if not len(nanos):
            continue
        if (last is not None and nanos[0] < last) or not bool(np.all(nanos[1:] >= nanos[:-1])):
            return False
        last = nanos[-1]
    return True


def _held_counts(counts: TypeCounts, held: frozenset[str]) -> TypeCounts:
    """The value classes of the held columns only."""
    kept = TypeCounts()
    for name, classes in counts.counts.items():
        if name in held:
            for value_class, n in classes.items():
                kept.add(name, value_class, n)
    return kept


def first_of_each_id(hashes: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """For each table's id hashes (in reading order), which of its events are the first
    of their id (None: all of them): what ingest's id index keeps
    (``mfq.store.ids.keep_new``), found in one pass.

    Only the first hashes are brought together (8 bytes an event, sorted in place); the
    rows whose first hash repeats are the candidates, and ``ids.first_occurrences``
    tells their repeats by both hashes, so memory grows with the candidates, not with
    every event's pair."""
    if not hashes:
        return []
    first = np.concatenate([pairs[:, 0] for pairs in hashes])
    first.sort()
    repeated = first[1:] == first[:-1]
    if not bool(np.any(repeated)):
        return [None] * len(hashes)  # the usual export: no id repeats
    shared = np.unique(first[1:][repeated])
    del first, repeated
    candidates = [_among(pairs[:, 0], shared) for pairs in hashes]
    keep = ids.first_occurrences(
        np.concatenate([pairs[rows] for pairs, rows in zip(hashes, candidates, strict=True)])
    )
    masks: list[np.ndarray | None] = []
    start = 0
    for pairs, rows in zip(hashes, candidates, strict=True):
        dropped = rows[~keep[start : start + len(rows)]]
        start += len(rows)
        mask = None
        if len(dropped):
            mask = np.ones(len(pairs), dtype=bool)
            mask[dropped] = False
        masks.append(mask)
    return masks


def _among(values: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """The positions of ``values`` found in ``sorted_values`` (sorted, not empty)."""
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    return np.flatnonzero(sorted_values[at] == values)


def read_files(
    paths: Sequence[str],
    fields: Iterable[str] | None,
    *,
    options: NormalizeOptions | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    meanwhile: Callable[[], object] | None = None,
) -> FileEvents:
    """The events of ``paths`` (files, folders, globs, ``-``) with the columns ``fields``
    (and ``timestamp`` and ``sample_rate``; every column: None), as ingesting them into
    an empty store then reading them would give.

    ``meanwhile`` runs once, in a thread of its own from the reading's start, while
    this thread takes the chunks: were it to run here, the reading, at most two chunks
    ahead, would stop for it. What it raises ends the reading and is raised here, at
    the next chunk taken or at the reading's end."""
    options = options or NormalizeOptions()
    sources = expand_sources(list(paths))
    wanted = None if fields is None else frozenset(fields)
    # Standard input, a named pipe, a process substitution are read once: their
    # duplicates are found as they come (see ``_Batch``).
    once = any(not source.rereadable() for source in sources)
    read = _read_sources(sources, wanted, options, settings, meanwhile, once)
    if read is None:  # a left-out duplicate may have decided a type: the rare case
        read = _read_sources(sources, wanted, options, settings, None, True, project=False)
    if read is None:
        raise RuntimeError("events read with their duplicates found as they came, found later")
    return read


def _read_sources(
    sources: list[Source],
    wanted: frozenset[str] | None,
    options: NormalizeOptions,
    settings: Settings,
    meanwhile: Callable[[], object] | None,
    as_they_come: bool,
    watched: int | None = None,
    *,
    project: bool = True,
) -> FileEvents | None:
    """``read_files`` of the expanded sources; with ``as_they_come``, each chunk's
    duplicates are found when it comes (as ingest finds them), as they are from the
    chunk on where the first ``watched`` events (``WATCHED_EVENTS``: None) show a
    duplicate that may decide a type (see ``_Batch.watched``). None when they were not,
    and a duplicate may have decided a type of the events kept."""
    summary = IngestSummary(sources=len(sources))
    index = ids.IdIndex(np.empty((0, 2), dtype=np.uint64)) if as_they_come else None
    held = None if wanted is None else wanted | set(_ALWAYS_HELD)
    if as_they_come:
        watched = 0
    projection = None if wanted is None or not project else Projection.of(wanted)
    batch = _Batch(
        held,
        index,
        WATCHED_EVENTS if watched is None else watched,
        projected=projection is not None,
    )
    totals, reasons, profiles = IngestCounters(), Counter[str](), Counter[str]()
    seen: dict[str, str | None] = {}  # fingerprint -> content hash, as ingest keeps them
    # Repeated content is recognised by its content hash (as ingest does); one source can
    # repeat nothing, so its bytes are not hashed.
    hash_content = len(sources) > 1
    with _Beside(meanwhile) as beside:
        for source in sources:
            if source.path is not None and source.path.is_symlink() and not source.path.exists():
                summary.dangling_links.append(source.name)
                continue
            if _read_before(source, seen):
                summary.skipped_sources += 1
                continue
            try:
                fresh = None if projection is None else projection.fresh()
                reading = read_source(source, options, settings, fresh, hash_content=hash_content)
            except InputUnreadable as err:
                if source.named:
                    raise
                summary.skipped_files += 1
                summary.notes.append(f"skipped {err.message}")
                continue
            counters = _read_one(reading, batch, reasons, summary, beside)
            if batch.read_again:
                break  # (read again whole: what is left of this read counts for nothing)
            profiles[reading.profile] += 1
            fingerprint = reading.fingerprint() if hash_content else None
            if fingerprint is not None:
                seen[fingerprint] = reading.content_hash()
            totals.add(counters)
    events = batch.events()
    if events is None:
        return None
    table, classes = events
    summary.read, summary.ingested = totals.read, table.num_rows
    summary.duplicates, summary.rejected = totals.ingested - table.num_rows, totals.rejected
    summary.warnings, summary.derived_ids = totals.warnings, totals.derived_ids
    summary.redacted, summary.naive_timestamps = totals.redacted, totals.naive_timestamps
    summary.rejects_by_reason = dict(sorted(reasons.items()))
    summary.profiles = dict(sorted(profiles.items()))
    return FileEvents(table, classes, summary)


class _Beside:
    """A task run once in a thread of its own, from the reading's start, beside it;
    what it raises is raised in the reading's thread (``check``, and at the end)."""

    def __init__(self, task: Callable[[], object] | None) -> None:
        self._task = task
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> _Beside:
        if self._task is not None:
            self._thread = threading.Thread(target=self._run, name="mfq-meanwhile", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        if self._thread is not None:
            self._thread.join()  # (a failed reading too: nothing left importing at exit)
        if kind is None:
            self.check()

    def check(self) -> None:
        """Raise what the task raised, if it is done and did."""
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        assert self._task is not None
        try:
            self._task()
        except BaseException as err:  # raised in the reading's thread
            self._error = err


def _read_before(source: Source, seen: dict[str, str | None]) -> bool:
    """The same content was read earlier in this run (an ingest skips it)."""
    fingerprint = source.fingerprint()
    if fingerprint is None or fingerprint not in seen:
        return False
    content_hash = source.content_hash()
    return content_hash is not None and content_hash in seen.values()


def _read_one(
    reading: SourceReading,
    batch: _Batch,
    reasons: Counter[str],
    summary: IngestSummary,
    beside: _Beside,
) -> IngestCounters:
    counters = IngestCounters()
    rejected = RejectKeys()
    try:
        for chunk in reading.chunks:
            beside.check()
            # Every accepted event counts as ingested here; the duplicates among them are
            # told apart once the reading ends (``read_files``).
            chunk.counters.ingested, chunk.counters.duplicates = batch.add(chunk), 0
            if batch.read_again:
                break  # the files are read again without the projection: stop reading now
            counters.add(chunk.counters)
            reasons.update(r.code for r in chunk.rejects)
            for reject in chunk.rejects:
                rejected.add(reject.code, reject.raw)
    finally:
        # What ``meanwhile`` raised ends the reading: its threads stop now, not when the
        # chunks' generator is collected.
        close = getattr(reading.chunks, "close", None)
        if close is not None:
            close()
    if counters.rejected and not counters.ingested and not counters.duplicates:
        name = reading.source.name
        summary.refusals.append(refusal_message(name, counters.read, rejected, reading.mapping))
    return counters
