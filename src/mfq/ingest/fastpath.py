"""The vectorised path: pyarrow parses blocks of records, the model's rules run per column.

It accepts only rows it can prove valid and convert exactly as the record path would;
every other row (anything unusual, and every rejection) goes to the record path, which
names the reasons. A property test checks that both paths give identical results.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from mfq.ingest.absence import re2_literal
from mfq.ingest.batch import EventChunk
from mfq.ingest.canonicaltable import canonical_texts
from mfq.ingest.columns import (
    FLOAT,
    INTEGER,
    STANDARD_SCHEMA,
    FieldBudget,
    TypeCounts,
    arrow_class,
    drop_empty_attributes,
    unify,
)
from mfq.ingest.containers import ParsedRecords, RecordChunk
from mfq.ingest.counters import IngestCounters
from mfq.ingest.epochtext import epoch_ns_from_texts, key_finder, plain_epoch_ns
from mfq.ingest.floatrows import rows_with_floats
from mfq.ingest.kept import SourceRows, may_be_read_again
from mfq.ingest.keycount import KnownKeys, more_keys_than
from mfq.ingest.listtext import ListTexts
from mfq.ingest.mapped import Candidate, NotFollowed, pick_columns
from mfq.ingest.options import REDACTED, NormalizeOptions
from mfq.ingest.projection import Projection
from mfq.ingest.rawlists import list_texts
from mfq.ingest.record import (
    ACTOR_PREFIX,
    ACTOR_PROFILE,
    ATTRIBUTES_KEY,
    COLLECTOR_MESSAGE_TYPE,
    FLOAT_EXACT_EDGE,
    INT64_EDGE,
    STANDARD_NAMES,
    derive_id_from_text,
    derive_ids_from_texts,
    ids_of_canonical,
)
from mfq.ingest.validate import NormalisedRecords, normalise_records
from mfq.ingest.workers import WorkerThreads
from mfq.model.arrays import to_arrow
from mfq.model.fields import STANDARD_FIELDS, FieldKind, StandardField
from mfq.model.values import DURATION_UNITS, EPOCH_UNIT_LIMITS, SEVERITY_ALIASES

SUB_BLOCK_BYTES = 4 * 1024 * 1024
#: The first block of a source is parsed alone and small: a source whose records each
#: bring new keys is found there (pyarrow's cost is rows x distinct keys) before a big
#: block is handed to pyarrow.
PROBE_BLOCK_BYTES = 64 * 1024
_ROW_IN_ERROR = re.compile(r"in row (\d+)")
_ZONE = r"(Z|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)"
_CLOCK = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
_ZONED = f"^{_CLOCK}{_ZONE}$"
_NAIVE = f"^{_CLOCK}$"
_MANUFACTORY = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
_NS_BOUND = 9.2e18  # a little inside int64: values near the edge go row by row
_EXECUTOR = WorkerThreads(2, "mfq-parse")


@dataclass
class FastPathState:
    """Learned while reading one source: JSON paths pyarrow must not infer as timestamps."""

    string_paths: set[tuple[str, ...]] = field(default_factory=set)
    max_retries: int = 8
    #: Bytes of records parsed at once by one thread.
    sub_block_bytes: int = SUB_BLOCK_BYTES
    #: Column types seen so far: parsing with them skips most of pyarrow's inference.
    learned: pa.Schema | None = None
    #: The source's budget of attribute columns (None: unlimited).
    budget: FieldBudget | None = None
    #: Set (by the thread settling blocks in input order) at the first block with more
    #: fields than the budget: that block and every one after it go record by record,
    #: where fields past the budget are folded.
    wide: bool = False
    #: Set by a worker that found a block too wide: the blocks the workers take after it
    #: (later in the input, as they are taken in input order) are not parsed, since
    #: the settling will send them record by record anyway. Only saves time.
    wide_found: bool = False
    #: Whether the source's first (probe) block was parsed.
    probed: bool = False
    #: Parse only these keys once types are learned (``mfq query FILE``); None: all.
    projection: Projection | None = None
    #: Key names met in the source's blocks counted whole (``_keys_too_many``).
    known_keys: KnownKeys = field(default_factory=KnownKeys)


@dataclass
class _Rows:
    """Records of a chunk: the chunk's bytes and each record's [start, end) in them."""

    data: bytes
    starts: np.ndarray
    ends: np.ndarray
    parsed: ParsedRecords | None = None  # parsed by the reader: texts made on demand

    def text(self, row: int) -> bytes:
        if self.parsed is not None:
            return self.parsed.text(row)
        return self.data[int(self.starts[row]) : int(self.ends[row])]

    def texts(self, rows: np.ndarray) -> list[bytes]:
        """The texts of many rows (one slice each; no per-row lookups of the bounds)."""
        if self.parsed is not None:
            return [self.parsed.text(row) for row in rows.tolist()]
        data = self.data
        starts, ends = self.starts[rows].tolist(), self.ends[rows].tolist()
        return [data[a:b] for a, b in zip(starts, ends, strict=True)]

    def span(self, first: int, stop: int) -> pa.Buffer:
        return pa.py_buffer(
            memoryview(self.data)[int(self.starts[first]) : int(self.ends[stop - 1])]
        )


@dataclass(frozen=True)
class RowTexts:
    """The raw texts of rows of a parsed table (row numbers relative to the table)."""

    rows: _Rows
    first: int  # the table's first row in the chunk

    def __call__(self, wanted: np.ndarray) -> list[bytes]:
        return self.rows.texts(wanted + self.first)

    def bounds(self, wanted: np.ndarray) -> tuple[bytes, np.ndarray, np.ndarray]:
        """The chunk's bytes and each wanted row's [start, end) in them (no copies)."""
        index = wanted + self.first
        return self.rows.data, self.rows.starts[index], self.rows.ends[index]


@dataclass
class _Outcome:
    #: The accepted rows, one table per parse of the block, not yet unified: where their
    #: types differ (integers in one, floats in another), the chunk's other rows decide
    #: what they meet as (``_finish``), as they do record by record.
    tables: list[pa.Table]
    positions: np.ndarray  # int64: the chunk row of each accepted row (kept beside the
    # table, never as a column: any column name could also be a key of the data)
    slow_rows: np.ndarray  # chunk rows for the record path
    counts: TypeCounts
    counters: IngestCounters
    first: int = 0  # the block's chunk rows [first, stop)
    stop: int = 0
    #: The block holds more fields than the budget (``_too_wide``): it and the rest of
    #: the source go record by record, from this block on in input order.
    too_wide: bool = False
    #: Vectorised rows of the block bring more new fields than the budget had room for
    #: when parsed (less room is left when settled): the block goes record by record,
    #: as its settling would have decided from the rows had they been kept.
    past_budget: bool = False
    #: Rows the projection alone sent to the record path (``Projection.hazards``).
    projection_hazards: int = 0


def validate_chunk_fast(
    chunk: RecordChunk, options: NormalizeOptions, state: FastPathState
) -> EventChunk:
    """Validate a chunk: vectorised where possible, record by record elsewhere.

    The chunk must have been screened (``mfq.ingest.screen.screen_chunk``, as the
    pipeline does first): pyarrow's parser does not check UTF-8, so a record that is not
    UTF-8 is the screen's to reject, not this path's."""
    return submit_chunk(chunk, options, state).result()


@dataclass
class PendingChunk:
    """A chunk whose blocks are being validated by worker threads."""

    chunk: RecordChunk
    rows: _Rows
    futures: list[Future[_Outcome]]
    options: NormalizeOptions
    state: FastPathState
    #: The first row of the chunk's first block found too wide (``result``).
    wide_row: int | None = None

    def result(self, cut_at_wide: bool = False) -> EventChunk:
        """Settle the chunk's blocks in input order (each waited for in turn): claim the
        source's field budget, and validate the rows left to the record path. With
        ``cut_at_wide``, the blocks before its first block found too wide only (whose
        first row is then ``wide_row``, and the events are those of the rows before it).

        Called for one source's chunks in input order by one thread, so which fields
        become columns is the input's alone, never the parse workers' timing."""
        record = NormalisedRecords()
        tables: list[pa.Table] = []
        positions: list[np.ndarray] = []
        counts, counters = TypeCounts(), IngestCounters()
        for future in self.futures:
            outcome = future.result()
            if cut_at_wide and outcome.too_wide:
                self.wide_row = outcome.first
                break
            if not _settle_block(outcome, self, record):
                continue  # every row of the block went to the record path
            counts.merge(outcome.counts)
            counters.add(outcome.counters)
            if outcome.tables:
                tables += outcome.tables
                positions.append(outcome.positions)
        rows = len(self.chunk) if self.wide_row is None else self.wide_row
        events = _finish(rows, record, tables, positions, counts, counters)
        if may_be_read_again(events.table, counts):  # (else the chunk's bytes are let go now)
            vectorised = self.rows.parsed is None  # (another reader's records: record by record)
            events.source = SourceRows(
                self.rows.text,
                self.chunk.numbers,
                positions,
                self.options,
                self.state.budget,
                vectorised,
            )  # (``positions`` now holds the record-path rows' too, appended by ``_finish``)
        return events


def submit_chunk(
    chunk: RecordChunk, options: NormalizeOptions, state: FastPathState
) -> PendingChunk:
    """Start validating a chunk in the worker threads; the caller may read the next one."""
    rows = _rows(chunk)
    bounds = _sub_blocks(rows, state.sub_block_bytes)
    futures: list[Future[_Outcome]] = []
    if not state.probed and bounds:
        probe = _sub_blocks(rows, PROBE_BLOCK_BYTES)[0]
        done: Future[_Outcome] = Future()
        outcome = _run_block(rows, *probe, options, state)  # alone, before the rest
        state.known_keys.settle()  # (the probe's keys alone are known: no worker's timing)
        done.set_result(outcome)
        futures.append(done)
        state.probed = True
        if state.projection is not None and _projection_costs_more(outcome, probe[1] - probe[0]):
            state.projection = None  # (no block of the source is with the workers yet)
            state.sub_block_bytes = SUB_BLOCK_BYTES  # (parsed whole: cut as ingest cuts)
        bounds = _sub_blocks(rows, state.sub_block_bytes, probe[1])
    futures += [_EXECUTOR.submit(_run_block, rows, a, b, options, state) for a, b in bounds]
    return PendingChunk(chunk, rows, futures, options, state)


def _projection_costs_more(probe: _Outcome, rows: int) -> bool:
    """Whether a quarter or more of the probe block's rows had no id of their own, or
    went to the record path for the projection alone: the source is then parsed whole,
    as ingest parses it.

    A derived id hashes the whole record's canonical text. Parsed whole, a block's texts
    are written by Arrow, and only rows whose floats orjson may write unlike Python are
    looked at (``mfq.ingest.canonicaltable``, ``floatrows``); parsed with a projection,
    which leaves the other keys out, every row's text is orjson's, looked at for
    suspect numbers: 2-3x the CPU on Zeek's connection records, more than the
    projection saves. And a record whose dotted key may meet a key the projection reads
    (ECS's ``log.level`` beside its ``log`` object) goes record by record under a
    projection, 100 times the cost of the whole parse that reads it vectorised."""
    return (probe.counters.derived_ids + probe.projection_hazards) * 4 >= max(rows, 1)


def _settle_block(outcome: _Outcome, pending: PendingChunk, record: NormalisedRecords) -> bool:
    """Settle one parsed block, after every block before it in the source: its rows
    left to the record path are normalised into ``record``; returns whether its
    vectorised rows are kept.

    Reading the block's records one by one is the reference. Vectorised rows that bring
    no field not yet claimed are untouched by any order of claiming: they are kept, and
    the record-path rows claim (and fold) theirs in row order. Otherwise every field of
    the block (its vectorised rows' and its record-path rows') is claimed at once when
    they all fit, as one by one would claim each of them too. When they do not (or the
    block is too wide, or follows one that was, or its worker found that they could
    not), every row of the block goes record by record, claiming and folding in row
    order. Either way the columns and ``_overflow`` are what reading the source record
    by record gives, and which rows are kept vectorised is the input's alone too."""
    state = pending.state
    if outcome.too_wide:
        state.wide = True
    budget = state.budget
    rows = outcome.slow_rows
    keep = not state.wide and not outcome.past_budget
    new: set[str] = set()
    if keep and budget is not None and outcome.tables:
        names = {n for table in outcome.tables for n in table.column_names}
        new = budget.unclaimed(n for n in names if n not in STANDARD_NAMES)
        keep = not budget.cannot_fit(new)  # (known before its record-path rows are read)
    if keep:
        normalised = _normalised(pending, rows)
        if new and budget is not None:
            keep = budget.admit_all(new | normalised.field_names())
    if not keep:
        rows = np.arange(outcome.first, outcome.stop, dtype=np.int64)
        normalised = _normalised(pending, rows)
    if budget is not None:
        normalised.fold(budget)
    record.extend(normalised, rows.tolist())
    return keep


def _normalised(pending: PendingChunk, rows: np.ndarray) -> NormalisedRecords:
    """Chunk rows normalised record by record (no budget claimed yet)."""
    if not len(rows):
        return NormalisedRecords()
    numbers = [int(n) for n in pending.chunk.numbers[rows]]
    return normalise_records(pending.rows.texts(rows), numbers, pending.options)


def _finish(
    rows: int,
    record: NormalisedRecords,
    tables: list[pa.Table],
    positions: list[np.ndarray],
    counts: TypeCounts,
    counters: IngestCounters,
) -> EventChunk:
    """The chunk's event table in input order: its vectorised blocks' rows and its
    record-path rows, with their counts and rejects.

    The record-path rows' integers and floats of a field the blocks hold text or
    booleans of are written as text each from its own value, as the record path does for
    the whole chunk: made floats first, an integer past 2**53 would lose digits."""
    if record.accepted or record.rejects:
        slow = record.chunk(_not_numbers(counts))
        if slow.table.num_rows:
            tables.append(slow.table)
            positions.append(np.array(record.accepted, dtype=np.int64))
        counts.merge(slow.type_counts)
        counters.add(slow.counters)
    table = unify(tables) if tables else STANDARD_SCHEMA.empty_table()
    if record.accepted and len(positions) > 1:  # record-path rows were appended: input order
        table = table.take(to_arrow(np.argsort(np.concatenate(positions), kind="stable")))
    counters.read = rows
    counters.rejected = len(record.rejects)
    return EventChunk(table, counts, record.rejects, counters)


def _not_numbers(counts: TypeCounts) -> frozenset[str]:
    """The fields holding a value other than a number (text, a boolean)."""
    numbers = {INTEGER, FLOAT}
    return frozenset(
        name
        for name, classes in counts.counts.items()
        if any(n and c not in numbers for c, n in classes.items())
    )


def _rows(chunk: RecordChunk) -> _Rows:
    if chunk.bounds is not None:
        return _Rows(chunk.data, *chunk.bounds, chunk.parsed)
    view = np.frombuffer(chunk.data, dtype=np.uint8)
    newlines = np.flatnonzero(view == 10)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines, [len(view)])).astype(np.int64)
    return _Rows(chunk.data, starts, ends)


def _sub_blocks(rows: _Rows, block_bytes: int, start: int = 0) -> list[tuple[int, int]]:
    """Rows from ``start`` on cut at row ends into blocks of about ``block_bytes``, as
    many as the bytes make (at least one) and of about one size: blocks of at most
    ``block_bytes`` each left a sliver of a few rows at every chunk's end (a 16 MiB chunk
    read as four blocks and two rows), which cost a block's fixed work (2-2.5 ms)."""
    total = len(rows.starts)
    if start >= total:
        return []
    first = int(rows.starts[start])
    span = int(rows.ends[-1]) - first
    count = max(1, round(span / block_bytes))
    targets = first + (span * np.arange(1, count, dtype=np.int64)) // count
    bounds = []
    for cut in [*np.searchsorted(rows.ends, targets, side="right").tolist(), total]:
        if cut < start:
            continue  # (a cut inside a row already taken, a huge one: no one-row sliver)
        stop = min(max(cut, start + 1), total)
        if stop > start:
            bounds.append((start, stop))
            start = stop
    return bounds


def _parseable(rows: _Rows, first: int, stop: int) -> np.ndarray:
    """Rows pyarrow may see: one object per line (pyarrow itself refuses lone surrogates,
    which then go row by row like any row it cannot parse)."""
    view = np.frombuffer(rows.data, dtype=np.uint8)
    starts, ends = rows.starts[first:stop], rows.ends[first:stop]
    if not len(view):  # one empty record (an array's stray comma)
        return np.zeros(len(starts), dtype=bool)
    safe_start = np.minimum(starts, max(len(view) - 1, 0))
    last = np.maximum(ends - 1, 0)
    ok: np.ndarray = ends - starts >= 2
    ok &= view[safe_start] == ord("{")
    ok &= (view[last] == ord("}")) | (
        (view[last] == 13) & (view[np.maximum(last - 1, 0)] == ord("}"))
    )
    return ok


def _run_block(
    rows: _Rows, first: int, stop: int, options: NormalizeOptions, state: FastPathState
) -> _Outcome:
    if state.wide_found:  # (at a block before this one: its settling goes record by record)
        return _all_slow(first, stop)
    if _keys_too_many(rows, first, stop, state):
        state.wide_found = True
        return _all_slow(first, stop, too_wide=True)
    slow = ~_parseable(rows, first, stop) if rows.parsed is None else np.zeros(stop - first, bool)
    hazards = 0
    if state.projection is not None and rows.parsed is None:
        bounds = rows.starts[first:stop], rows.ends[first:stop]
        flagged = state.projection.hazards(rows.data, *bounds)
        hazards = int(np.count_nonzero(flagged & ~slow))
        slow |= flagged
    parsed: list[tuple[int, pa.Table]] = []
    if rows.parsed is not None:  # parsed by the reader (OTLP): normalised as they are
        parsed.append((first, rows.parsed.table.slice(first, stop - first)))
    retries = 0
    for seg_first, seg_stop in _segments(~slow, first) if rows.parsed is None else ():
        start = seg_first
        while start < seg_stop:
            table, failed = _parse(rows, start, seg_stop, state)
            if table is not None and _too_wide(table, state):
                state.wide_found = True
                return _all_slow(first, stop, too_wide=True)
            if table is not None:
                parsed.append((start, table))
                break
            retries += 1
            # Row numbers are only trustworthy when each line held one object; anything
            # outside the segment means they were not, so the segment goes row by row.
            if failed is None or failed >= seg_stop - start or retries > state.max_retries:
                slow[start - first : seg_stop - first] = True
                break
            if failed > 0:
                head, _ = _parse(rows, start, start + failed, state)
                if head is None:
                    slow[start - first : start - first + failed] = True
                else:
                    parsed.append((start, head))
            slow[start - first + failed] = True
            start += failed + 1
    accepted: list[pa.Table] = []
    positions: list[np.ndarray] = []
    counts, counters = TypeCounts(), IngestCounters()
    parsed.reverse()  # (taken from the end: in input order)
    while parsed:
        start, table = parsed.pop()
        # A table parsed from the rows' own text holds every number they hold (no other
        # reader, no projection): it tells which rows' ids need a look at their floats.
        whole = rows.parsed is None and state.projection is None
        normalised = _normalise(table, rows, start, options, whole)
        block_rows = slice(start - first, start - first + table.num_rows)
        row_slow = normalised.slow | slow[block_rows]  # (rows left out of a parse again)
        slow[block_rows] = row_slow
        if normalised.table is None:
            continue
        keep = ~row_slow
        if not keep.any():
            continue
        left = _floats_of_rows_left(normalised.table, keep) if rows.parsed is None else []
        if left:
            integers = _kept_integers(normalised.table, left, keep, RowTexts(rows, start))
            if integers is not None:
                normalised.table = integers
            else:
                again = _kept_parsed_alone(rows, start, keep, state)
                if again is None:
                    slow[block_rows] = True
                else:
                    parsed.append((start, again))
                continue
        kept = normalised.table if keep.all() else normalised.table.filter(pa.array(keep))
        kept = drop_empty_attributes(kept)  # (the budget is claimed when settled)
        if state.budget is not None and state.budget.cannot_fit(
            n for n in kept.column_names if n not in STANDARD_NAMES
        ):  # the settling would send every row record by record: no more work here
            return _all_slow(first, stop, past_budget=True)
        _count_types(kept, counts)  # before unify, which may turn mixed columns to text
        positions.append(np.flatnonzero(keep) + start)
        accepted.append(kept)
        counters.naive_timestamps += int(normalised.naive[keep].sum())
        counters.unknown_severities += int(normalised.unknown_severity[keep].sum())
        counters.derived_ids += int(normalised.derived[keep].sum())
        counters.redacted += int(normalised.redacted[keep].sum())
    counters.warnings = counters.naive_timestamps + counters.unknown_severities
    joined = np.concatenate(positions) if positions else np.empty(0, dtype=np.int64)
    outcome = _Outcome(
        accepted, joined, np.flatnonzero(slow) + first, counts, counters, first, stop
    )
    outcome.projection_hazards = hazards
    return outcome


def _floats_of_rows_left(table: pa.Table, keep: np.ndarray) -> list[str]:
    """The attribute columns of a normalised block that are floats perhaps only because
    of rows the record path takes (a reject's ``1.7e+18``, or ``1.5``), every kept row's
    number in them whole: record by record, each integer stays an integer where no kept
    row writes a float."""
    found: list[str] = []
    if keep.all():
        return found
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name in STANDARD_NAMES or not pa.types.is_float64(column.type):
            continue
        valid = _valid(column.combine_chunks())
        if not (valid & ~keep).any() or not (valid & keep).any():
            continue
        kept = column.filter(pa.array(keep & valid))
        if pc.all(pc.equal(pc.floor(kept), kept)).as_py():
            found.append(name)
    return found


#: After a key's closing quote: its colon, then a number written with a fraction or an
#: exponent (RE2).
_FLOAT_AFTER_KEY = '"[ \t\r\n]*:[ \t\r\n]*-?[0-9]+[.eE]'


def _kept_integers(
    table: pa.Table, names: list[str], keep: np.ndarray, texts: RowTexts
) -> pa.Table | None:
    """The normalised block with the kept rows' numbers of ``names`` as integers, where
    no kept row holding one writes a number with a fraction or an exponent after a key
    ending in its name (each row's text searched): they were all written as integers,
    as the record path reads them. None where one may not have been, or a value does
    not fit. In a row holding a backslash (a key written with an escape, which a pattern
    led by the key cannot follow) a fraction or an exponent after any key counts: a
    Windows path in a value no longer makes every such block be parsed again (found in
    review: 1.4 times the CPU)."""
    for name in names:
        at = table.column_names.index(name)
        column = table.column(at).combine_chunks()
        held = keep & _valid(column)
        key = re2_literal(name.rsplit(".", 1)[-1])
        if _rows_matching(texts, held, key + _FLOAT_AFTER_KEY, _FLOAT_AFTER_KEY).any():
            return None
        try:
            whole = pc.cast(pc.if_else(pa.array(held), column, None), pa.int64())
        except pa.ArrowInvalid:
            return None
        table = table.set_column(at, name, whole)
    return table


def _kept_parsed_alone(
    rows: _Rows, start: int, keep: np.ndarray, state: FastPathState
) -> pa.Table | None:
    """A parsed table's rows (its first row ``start``) parsed again with those not kept
    written as ``{}`` (padded with blanks: every row keeps its place and its row number),
    so that pyarrow infers the kept rows' own types, as the record path reads them; one
    parse, however many rows are left out. None where the parse fails."""
    stop = start + len(keep)
    base = int(rows.starts[start])
    text = bytearray(memoryview(rows.data)[base : int(rows.ends[stop - 1])])
    for row in (np.flatnonzero(~keep) + start).tolist():
        left_first, left_stop = int(rows.starts[row]) - base, int(rows.ends[row]) - base
        text[left_first:left_stop] = b"{}".ljust(left_stop - left_first)
    starts, ends = rows.starts[start:stop] - base, rows.ends[start:stop] - base
    table, _failed = _parse(_Rows(bytes(text), starts, ends), 0, len(keep), state)
    return table


def _all_slow(
    first: int, stop: int, *, too_wide: bool = False, past_budget: bool = False
) -> _Outcome:
    """A block whose every row goes to the record path."""
    rows = np.arange(first, stop, dtype=np.int64)
    counts, counters = TypeCounts(), IngestCounters()
    return _Outcome(
        [], np.empty(0, np.int64), rows, counts, counters, first, stop, too_wide, past_budget
    )


def _keys_too_many(rows: _Rows, first: int, stop: int, state: FastPathState) -> bool:
    """Whether the block's text holds more key paths (pyarrow's columns) than the budget,
    estimated from its bytes before pyarrow parses it (``mfq.ingest.keycount``): it is
    then too wide, as
    ``_too_wide`` would find it after a parse into as many columns (some 20 KB each, for
    nothing: records each bringing keys of their own made 22,000 columns, 528 MB, of one
    4 MiB block). Not asked where pyarrow reads declared keys only (a projection, once
    types are learned), as their parse holds no others."""
    if state.budget is None or rows.parsed is not None:
        return False
    if state.projection is not None and state.learned is not None:
        return False
    start, end = int(rows.starts[first]), int(rows.ends[stop - 1])
    bounds = rows.starts[first:stop], rows.ends[first:stop]
    return more_keys_than(rows.data, start, end, state.budget.limit, state.known_keys, bounds)


def _too_wide(table: pa.Table, state: FastPathState) -> bool:
    """Whether a parsed block has more fields than the budget, or so many for its rows
    (records each bringing new keys) that the next, bigger blocks could be quadratic.

    Only fields holding a value count: a table parsed with the types learned so far has
    a column for each learned field, whichever block taught it, so counting columns
    would make the answer depend on which block a worker happened to parse first. The
    budget counts stored columns (a list is stored as one); the parse's width, its
    columns through lists of structs too (each field a column of pyarrow's, as
    ``keycount`` counts them): records each bringing a key of their own inside a list
    are one stored column and thousands of parsed ones."""
    if state.budget is None:
        return False
    # (At least the stored columns: a list counts its elements' leaves, one at least.)
    leaves = _held_leaves(table.columns, through_lists=True)
    if leaves > state.budget.limit:
        return True
    rows = table.num_rows
    if leaves <= 256 or leaves * 2 <= rows:
        return False
    if rows < _FEWEST_ROWS_TO_TELL:
        return True
    # Many keys for the rows: records each bringing keys of their own (pyarrow's cost is
    # rows x keys, so the next, bigger blocks would be quadratic), or wide records that
    # share theirs (GitHub's events: 490 keys in the first 12, 7% of them first met in
    # the second 6). Told apart by the keys the block's later half of rows brings: about
    # half of them where each record brings its own.
    earlier = _held_leaves(table.slice(0, rows // 2).columns, through_lists=True)
    return (leaves - earlier) * _NEW_KEYS_SHARE > leaves


#: Fewer rows than these with many keys are too few to tell records bringing keys of
#: their own from wide ones sharing them: read record by record.
_FEWEST_ROWS_TO_TELL = 4
#: A block's later half of rows bringing more than a third of its keys: records bring
#: keys of their own (wide records sharing theirs, seen: 0-7% past 12 rows; 34% for 12 of
#: Windows' records, which hold 65 keys, under the 256 that ask).
_NEW_KEYS_SHARE = 3


def _held_leaves(columns: Iterable[pa.ChunkedArray], *, through_lists: bool = False) -> int:
    """How many leaf columns (nested keys counted) hold a value in some row; with
    ``through_lists``, a list's elements' leaves too (one at least for a list)."""
    held = 0
    for column in columns:
        if column.null_count == len(column):
            continue
        kind = column.type
        if pa.types.is_struct(kind):
            held += _held_leaves(column.flatten(), through_lists=through_lists)
        elif through_lists and (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
            elements = pc.list_flatten(column)
            held += max(_held_leaves([elements], through_lists=True), 1)
        else:
            held += 1
    return held


def _segments(mask: np.ndarray, offset: int) -> list[tuple[int, int]]:
    """Runs of True in ``mask`` as absolute [first, stop) row ranges."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [
        (int(a) + offset, int(b) + offset) for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


def _parse(
    rows: _Rows, first: int, stop: int, state: FastPathState
) -> tuple[pa.Table | None, int | None]:
    """Parse rows [first, stop); on failure return the failing row (relative) if known."""
    buffer = rows.span(first, stop)
    span = (rows.data, int(rows.starts[first]), int(rows.ends[stop - 1]))
    learned = state.learned
    for _attempt in range(3):
        try:
            table = read_block(buffer, _parse_options(state, learned, span))
        except pa.ArrowInvalid as err:
            if learned is not None:
                learned = state.learned = None  # types drifted: infer again
                continue
            match = _ROW_IN_ERROR.search(str(err))
            return None, int(match.group(1)) if match else None
        inferred = _timestamp_paths(table.schema)
        if not inferred:
            if table.num_rows != stop - first:
                return None, None
            if learned is not None and state.projection is not None:
                table = _integers_parsed_again(table, rows, first, stop, state.projection)
            if learned is None:
                state.learned = _learnable(table.schema)
                if state.projection is not None:
                    state.projection.learn(table.schema)
            return table, None
        # Rebind, never mutate: the other worker may be reading the set right now.
        state.string_paths = state.string_paths | inferred
        learned = state.learned = None
    return None, None


def _integers_parsed_again(
    table: pa.Table, rows: _Rows, first: int, stop: int, projection: Projection
) -> pa.Table:
    """A projected parse with the floats it declared where the block holds whole numbers
    only parsed again as integers, as a full parse of the block would infer them
    (``Projection.integral``); as it is where they do not fit (beyond int64). A path
    that only may be integral is tried alone beside the certain ones: a parse fails
    where any path declared whole holds a value a full parse reads as a float."""
    start, end = int(rows.starts[first]), int(rows.ends[stop - 1])
    certain, possible = projection.integral(table, rows.data, start, end)
    if not certain and not possible:
        return table
    buffer = rows.span(first, stop)
    parsed = _parsed_with_integers(buffer, projection, certain | possible)
    if parsed is not None or not possible:
        return table if parsed is None else parsed
    integers: frozenset[tuple[str, ...]] = frozenset()
    for path in sorted(possible):
        wanted = certain | integers | {path}
        if wanted == certain | possible:
            continue  # (the parse that failed above)
        tried = _parsed_with_integers(buffer, projection, wanted)
        if tried is not None:
            parsed, integers = tried, integers | {path}
    if parsed is None and certain:
        parsed = _parsed_with_integers(buffer, projection, certain)
    return table if parsed is None else parsed


def _parsed_with_integers(
    buffer: pa.Buffer, projection: Projection, integers: frozenset[tuple[str, ...]]
) -> pa.Table | None:
    """The projected parse with whole numbers (``int64``) declared at ``integers``; None
    where a value there is not one (a fraction, an exponent, an integer beyond int64)."""
    options = pj.ParseOptions(
        explicit_schema=projection.schema(integers), unexpected_field_behavior="ignore"
    )
    try:
        return read_block(buffer, options)
    except pa.ArrowInvalid:
        return None


def read_block(buffer: pa.Buffer, parse_options: pj.ParseOptions) -> pa.Table:
    """One block read by pyarrow, every array of it sound (else ``pa.ArrowInvalid``).

    Where a list's element type is inferred from a later element of that same list
    (``[null, "a"]``: null first, then text), pyarrow's reader drops the leading nulls from
    the list's values but counts them in its offsets (apache/arrow#51305): every list of
    the column after it reads shifted values, and kernels read past the values' end (a
    rare segfault in ``pc.if_else``). Declared, the same types read correctly; ``validate``
    (not ``full``) checks the offsets' ends, at no cost proportional to the rows. Lists
    of nulls alone (``[null, null]``) come out short even declared: they are declared
    lists of text, all of whose elements are null (the record path writes them).
    """
    read_options = pj.ReadOptions(block_size=buffer.size + 1024, use_threads=False)
    table = pj.read_json(pa.BufferReader(buffer), read_options, parse_options)
    try:
        table.validate()
    except pa.ArrowInvalid:
        schema = pa.schema([f.with_type(_declarable(f.type)) for f in table.schema])
        declared = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        table = pj.read_json(pa.BufferReader(buffer), read_options, declared)
        table.validate()
    return table


def _declarable(data_type: pa.DataType) -> pa.DataType:
    """An inferred type to declare, lists of nulls as lists of text (see ``read_block``)."""
    if pa.types.is_struct(data_type):
        return pa.struct([f.with_type(_declarable(f.type)) for f in data_type])
    if pa.types.is_list(data_type):
        value = data_type.value_field
        inner = pa.string() if pa.types.is_null(value.type) else _declarable(value.type)
        return pa.list_(value.with_type(inner))
    return data_type


def _learnable(schema: pa.Schema) -> pa.Schema | None:
    """The scalar and struct columns of a parsed schema (lists and nulls stay inferred)."""

    def keep(data_type: pa.DataType) -> pa.DataType | None:
        if pa.types.is_struct(data_type):
            children = [(f.name, keep(f.type)) for f in data_type]
            kept = [pa.field(name, t) for name, t in children if t is not None]
            return pa.struct(kept) if kept else None
        # Floats stay inferred: a block of whole numbers must come out as integers, as it
        # would record by record.
        if pa.types.is_null(data_type) or pa.types.is_list(data_type):
            return None
        return None if pa.types.is_floating(data_type) else data_type

    fields = [(f.name, keep(f.type)) for f in schema]
    kept = [pa.field(name, t) for name, t in fields if t is not None]
    return pa.schema(kept) if kept else None


def _parse_options(
    state: FastPathState, learned: pa.Schema | None, span: tuple[bytes, int, int] | None = None
) -> pj.ParseOptions:
    """How pyarrow parses ``span`` (the bytes and the block's [first, stop) in them; None:
    a block not yet known, parsed with every projected key declared)."""
    if learned is not None and state.projection is not None:
        projection = state.projection
        schema = projection.schema() if span is None else projection.declared(*span)
        return pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    if learned is not None:
        return pj.ParseOptions(explicit_schema=learned, unexpected_field_behavior="infer")
    if not state.string_paths:
        return pj.ParseOptions(newlines_in_values=False)
    tree: dict[str, object] = {}
    for path in sorted(state.string_paths):  # a snapshot: the set is only ever replaced
        parent = _branch(tree, path[:-1])
        if parent is not None:
            parent[path[-1]] = None
    return pj.ParseOptions(
        explicit_schema=pa.schema(_schema_fields(tree)), unexpected_field_behavior="infer"
    )


def _branch(tree: dict[str, object], parts: tuple[str, ...]) -> dict[str, object] | None:
    """The struct node at ``parts`` (made as needed); None where a key on the way is text.

    A key learned as text in some records and as an object in others stays text (sorted,
    the shorter path comes first); rows that disagree take the record-by-record path.
    """
    node = tree
    for part in parts:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return None
        node = child
    return node


def _schema_fields(tree: dict[str, object]) -> list[pa.Field]:
    return [
        pa.field(name, pa.string() if child is None else pa.struct(_schema_fields(child)))  # type: ignore[arg-type]
        for name, child in tree.items()
    ]


def _timestamp_paths(schema: pa.Schema) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()

    def visit(data_type: pa.DataType, path: tuple[str, ...]) -> None:
        if pa.types.is_timestamp(data_type) or pa.types.is_date(data_type):
            found.add(path)
        elif pa.types.is_struct(data_type):
            for child in data_type:
                visit(child.type, (*path, child.name))

    for f in schema:
        visit(f.type, (f.name,))
    return found


# -- normalisation of one parsed table ----------------------------------------------------------


@dataclass
class _Normalised:
    table: pa.Table | None  # None: nothing in this table can be accepted here
    slow: np.ndarray
    naive: np.ndarray
    unknown_severity: np.ndarray
    derived: np.ndarray
    redacted: np.ndarray


class _BlockGoesSlow(Exception):
    """A shape the vectorised rules do not cover: every row goes to the record path."""


def _valid(array: pa.Array) -> np.ndarray:
    # A column with no null (most of a block's) needs no mask built in Arrow and
    # unpacked: 17 standard fields, and their aliases, ask per block.
    if not array.null_count and not pa.types.is_null(array.type):
        return np.ones(len(array), dtype=bool)
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _normalise(
    table: pa.Table, rows: _Rows, first: int, options: NormalizeOptions, whole: bool = False
) -> _Normalised:
    n = table.num_rows
    flags = {k: np.zeros(n, dtype=bool) for k in ("slow", "naive", "unknown", "derived")}
    redacted = np.zeros(n, dtype=np.int64)
    mapping = options.mapping
    not_standard = frozenset() if mapping is None else mapping.not_standard
    # (another reader's records: their text is made, not read)
    texts = RowTexts(rows, first) if rows.parsed is None else None
    lists = ListTexts()  # (a list column is written as an attribute and in derived ids)

    try:
        structs: set[str] = set()
        top, attrs, attrs_valid = _split(table, flags["slow"], structs, not_standard, texts)
        picks: dict[str, list[Candidate]] = {}
        if mapping is not None:
            if ACTOR_PROFILE in structs or f"{ATTRIBUTES_KEY}.{ACTOR_PROFILE}" in structs:
                raise _BlockGoesSlow  # renamed actor.* here, not where the mapping reads
            picks = pick_columns(mapping, top, attrs, structs, flags["slow"], n)
        collector = np.zeros(n, dtype=bool)
        type_column = top.get("type")
        if type_column is not None and pa.types.is_string(type_column.type):
            is_event = pc.fill_null(pc.equal(type_column, COLLECTOR_MESSAGE_TYPE), False)
            collector = np.asarray(is_event.to_numpy(zero_copy_only=False), bool) & attrs_valid
            if collector.any():  # the collector's message kind, not the event's name: dropped
                top["type"] = pc.if_else(
                    pa.array(collector), pa.nulls(n, type_column.type), type_column
                )
        standard = {
            spec.name: _resolve(
                spec,
                top,
                attrs,
                collector,
                flags,
                options,
                n,
                picks.get(spec.name, []),
                not_standard,
                texts,
            )
            for spec in STANDARD_FIELDS
        }
        attributes = _attributes(top, attrs, flags["slow"], texts, lists)
    except (_BlockGoesSlow, NotFollowed):
        nothing = np.zeros(n, dtype=bool)
        return _Normalised(None, np.ones(n, dtype=bool), nothing, nothing, nothing, redacted)
    for name, column in list(attributes.items()):
        if options.is_secret_key(name):
            valid = _valid(column)
            redacted += valid
            attributes[name] = pc.if_else(pa.array(valid), REDACTED, pa.nulls(n, pa.string()))
    _derive_missing_ids(standard, rows, first, flags, table if whole else None, lists)
    columns = {**standard, **attributes}
    out = pa.table(list(columns.values()), names=list(columns))
    return _Normalised(
        out, flags["slow"], flags["naive"], flags["unknown"], flags["derived"], redacted
    )


def _split(
    table: pa.Table,
    slow: np.ndarray,
    structs: set[str] | None = None,
    not_standard: frozenset[str] = frozenset(),
    texts: RowTexts | None = None,
) -> tuple[dict[str, pa.Array], dict[str, pa.Array], np.ndarray]:
    """The top-level and ``attributes`` leaf columns (dotted names), and which rows hold
    an attributes object; ``structs`` collects the dotted names of objects (those under
    ``attributes`` named with its prefix); ``texts``: the rows' raw text, where a float
    column's numbers may need a look at how they were written."""
    top: dict[str, pa.Array] = {}
    attrs: dict[str, pa.Array] = {}
    attrs_valid = np.zeros(table.num_rows, dtype=bool)
    for f in table.schema:
        chunked = table.column(f.name)
        try:
            column = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
        except pa.ArrowException as err:  # pyarrow cannot concatenate some list<null> arrays
            raise _BlockGoesSlow from err
        if f.name == ATTRIBUTES_KEY and pa.types.is_struct(f.type):
            attrs_valid = _valid(column)
            for child_field, child in zip(f.type, column.flatten(), strict=True):
                _wrong_kind_rows(child_field.name, child, slow)
            inner: set[str] = set()
            _flatten(None, column, attrs, slow, inner, not_standard, texts)
            if structs is not None:
                structs.update(f"{ATTRIBUTES_KEY}.{name}" for name in inner)
        elif f.name == ACTOR_PROFILE and pa.types.is_struct(f.type):
            if structs is not None:
                structs.add(ACTOR_PROFILE)
            _flatten(ACTOR_PREFIX, column, top, slow, structs, not_standard, texts)
        else:
            _wrong_kind_rows(f.name, column, slow)
            _flatten(f.name, column, top, slow, structs, not_standard, texts)
    if any(name.startswith(ATTRIBUTES_KEY + ".") for name in top):
        raise _BlockGoesSlow
    return top, attrs, attrs_valid


def _wrong_kind_rows(name: str, column: pa.Array, slow: np.ndarray) -> None:
    """An object under a standard field's own name is rejected by the record path
    (``service`` holding ``name`` aside): those rows go there.

    Whether a ``service`` object holds ``name`` is each row's own: the struct type has a
    ``name`` child when any row of the block (or of an earlier block whose types were
    learned, or the projection's declared schema) holds one, and that child is null where
    a row holds none, or holds ``"name": null`` (which the record path accepts). Either
    way the row goes to the record path, which tells them apart, so the outcome never
    depends on the other records parsed with it."""
    if name not in STANDARD_NAMES or not pa.types.is_struct(column.type):
        return
    present = _valid(column)
    at = column.type.get_field_index("name") if name == "service" else -1
    if at >= 0:
        present &= ~_valid(column.field(at))  # (a struct's child: its own nulls only)
    slow |= present


def _flatten(
    name: str | None,
    column: pa.Array,
    out: dict[str, pa.Array],
    slow: np.ndarray,
    structs: set[str] | None = None,
    not_standard: frozenset[str] = frozenset(),
    texts: RowTexts | None = None,
) -> None:
    """Leaf columns of a (nested) column, named with dots; ``name`` None is the root.
    The names of the objects on the way are added to ``structs`` when given; a list
    under a standard name is refused unless the profile says it is not that field."""
    data_type = column.type
    if pa.types.is_struct(data_type):
        if structs is not None and name is not None:
            structs.add(name)
        prefix = "" if name is None else f"{name}."
        for child_field, child in zip(data_type, column.flatten(), strict=True):
            child_name = prefix + child_field.name
            if name is None and child_name == ACTOR_PROFILE and pa.types.is_struct(child.type):
                child_name = ACTOR_PREFIX  # as at the top level: actor_profile.x -> actor.x
            if child_name == ACTOR_PREFIX and structs is not None:
                structs.add(ACTOR_PROFILE)
            _flatten(child_name, child, out, slow, structs, not_standard, texts)
        return
    if pa.types.is_null(data_type) or name is None:
        return
    if pa.types.is_list(data_type) and (name not in STANDARD_NAMES or name in not_standard):
        if pa.types.is_null(data_type.value_type):
            column = _valid_null_lists(column)
        # kept as JSON text if it stays an attribute (see ``_attributes``)
    elif not (
        pa.types.is_string(data_type)
        or pa.types.is_int64(data_type)
        or pa.types.is_float64(data_type)
        or pa.types.is_boolean(data_type)
    ):
        slow |= _valid(column)  # a list under a standard name (refused), anything unexpected
        return
    if pa.types.is_float64(data_type):
        _inexact_number_rows(column, slow, texts, name.rsplit(".", 1)[-1])
        column = _unsigned_zeros(column)
    if name in out:
        raise _BlockGoesSlow  # "a.b" and {"a": {"b": ...}} in one record is ambiguous
    out[name] = column


def _inexact_number_rows(
    column: pa.Array, slow: np.ndarray, texts: RowTexts | None = None, key: str = ""
) -> None:
    """Rows of a float column whose value may not be the record's own: they go row by
    row, where the record path reads the number from its text.

    A whole number from 2**53 on may be an integer of the record that a float cannot
    hold (9007199254740993 beside a fraction is read 9007199254740992): the record path
    keeps it an integer, which stays exact where the field is mixed (text where it meets
    text or booleans) and is made the same float where it is not. Beyond int64, pyarrow
    reads an integer as a float (its digits lost), and the record path keeps it exactly,
    as its decimal text; such an integer also makes pyarrow read every number of the
    column in the block as a float, so where a block holds one, every whole number goes
    row by row (the record path keeps them integers: the field is mixed). Below 2**53 a
    whole number in a float column sits beside a fraction, and its float is the integer's
    exactly: integers beside fractions are floats on every path.

    With no fraction beside them, whole floats from 2**53 on (epoch nanoseconds written
    as floats) are read as written, and stay here; but the column is floats because one
    of its numbers was written as a float (``-0.0``, ``1e20``), so a row writing its
    number as an integer (of 16 digits or more: 2**53 has 16) goes row by row, found in
    ``texts`` after a key ending in ``key`` (every row where ``texts`` is None)."""
    finite = np.asarray(pc.fill_null(pc.is_finite(column), True).to_numpy(zero_copy_only=False))
    slow |= ~finite.astype(bool)
    magnitude = pc.abs(column)
    big = pc.fill_null(pc.greater_equal(magnitude, FLOAT_EXACT_EDGE), False)
    if not pc.any(big).as_py():
        return
    is_whole = pc.equal(pc.floor(column), column)
    if not pc.any(pc.greater_equal(magnitude, INT64_EDGE)).as_py():
        if pc.all(is_whole).as_py() is not False:
            # No fraction beside them: whole floats as written (epoch nanoseconds, byte
            # counts), which pyarrow reads as the record path does. Sending every such row
            # row by row made those files 11 times slower (found in review).
            big_rows = np.asarray(big.to_numpy(zero_copy_only=False), bool)
            slow |= big_rows & _long_integer_rows(texts, key, big_rows)
            return
        is_whole = pc.and_(is_whole, big)
    whole = pc.fill_null(is_whole, False)
    slow |= np.asarray(whole.to_numpy(zero_copy_only=False), bool)


#: After a key's closing quote: its colon, then an integer of 16 digits or more (RE2).
_LONG_INTEGER_AFTER_KEY = '"[ \t\r\n]*:[ \t\r\n]*-?[0-9]{16,}([^0-9.eE]|$)'
#: An integer of 16 digits or more after any key, or in a list (RE2).
_LONG_INTEGER = "(^|[^0-9.])[0-9]{16,}([^0-9.eE]|$)"


def _long_integer_rows(texts: RowTexts | None, key: str, wanted: np.ndarray) -> np.ndarray:
    """Which rows of the ``wanted`` ones may hold an integer of 16 digits or more (2**53
    has 16) after a key ending in ``key`` (True wherever unsure): ``"a.b": 1`` is found
    as ``b"``; in a row holding a key written with an escape, any such integer counts."""
    if texts is None:
        return wanted.copy()
    return _rows_matching(texts, wanted, re2_literal(key) + _LONG_INTEGER_AFTER_KEY, _LONG_INTEGER)


def _rows_matching(texts: RowTexts, wanted: np.ndarray, pattern: str, escaped: str) -> np.ndarray:
    """Which of the ``wanted`` rows RE2 finds ``pattern`` in, one search per row over its
    own text (to the next row's start); in a row holding a backslash (a key written with
    an escape, which a pattern led by a key cannot follow), ``escaped`` instead."""
    if not wanted.any():
        return wanted.copy()
    at = np.flatnonzero(wanted)
    lo, hi = int(at[0]), int(at[-1]) + 1
    data, starts, ends = texts.bounds(np.arange(lo, hi))
    base, end = int(starts[0]), int(ends[-1])
    offsets = np.append(starts - base, end - base).astype(np.int64)
    view = memoryview(data)[base:end]
    rows = pa.Array.from_buffers(
        pa.large_binary(), hi - lo, [None, pa.py_buffer(offsets), pa.py_buffer(view)]
    )
    found = _as_bool(pc.match_substring_regex(rows, pattern))
    if data.find(b"\\", base, end) >= 0:
        backslash = _as_bool(pc.match_substring(rows, "\\"))
        found = np.where(backslash, _as_bool(pc.match_substring_regex(rows, escaped)), found)
    out = np.zeros(len(wanted), dtype=bool)
    out[lo:hi] = found
    out &= wanted
    return out


def _unsigned_zeros(column: pa.Array) -> pa.Array:
    """A float column with its negative zeros made zeros (``-0``, ``-0.0``, ``-1e-400``):
    a zero is stored as 0 whatever its sign, as the record path stores it (an integer
    ``-0`` has none), so that grouping, ``distinct`` and the text of a value never tell
    two zeros apart."""
    if not pc.any(pc.equal(column, 0.0)).as_py():
        return column
    return pc.add(column, 0.0)  # (-0.0 + 0.0 is 0.0; every other value is itself)


def _valid_null_lists(column: pa.Array) -> pa.Array:
    """Empty lists and lists of nulls, rebuilt: pyarrow's JSON reader gives some such
    arrays fewer child values than their offsets count, which compute functions may
    read past (the lists' presence and lengths are right)."""
    offsets = np.asarray(column.offsets.to_numpy(zero_copy_only=False), dtype=np.int32)
    offsets = offsets - offsets[0]  # (a slice's offsets start past zero)
    values = pa.nulls(int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets), values, mask=column.is_null())


def _resolve(
    spec: StandardField,
    top: dict[str, pa.Array],
    attrs: dict[str, pa.Array],
    collector: np.ndarray,
    flags: dict[str, np.ndarray],
    options: NormalizeOptions,
    n: int,
    picks: list[Candidate] | None = None,
    not_standard: frozenset[str] = frozenset(),
    texts: RowTexts | None = None,
) -> pa.Array:
    """One standard field's column: a profile's picks first (``mfq.ingest.mapped``), then
    the default aliases (those the profile says are not standard left out). ``texts``
    gives rows' raw text, where numbers are read exactly (``mfq.ingest.epochtext``)."""
    target = STANDARD_SCHEMA.field(spec.name).type
    result = pa.nulls(n, target)
    remaining = np.ones(n, dtype=bool)
    for pick in picks or ():
        chosen = remaining & _valid(pick.column)
        numbers = None if pick.key is None or texts is None else (texts, pick.key)
        converted, bad = _convert(spec, pick.unit, pick.column, flags, options, numbers)
        flags["slow"] |= chosen & bad
        result = pc.if_else(to_arrow(chosen), converted, result)
        remaining &= ~chosen
    aliases = [a for a in spec.aliases if a not in not_standard]
    for source in (top, attrs):
        for alias in aliases:
            column = source.get(alias)
            if column is None:
                continue
            present = _valid(column)
            # (A collector's own ``type`` is nulled above; its other aliases count, as
            # the record path takes them.)
            chosen = remaining & present
            if not chosen.any():
                continue
            numbers = (texts, alias) if source is top and texts is not None else None
            converted, bad = _convert(spec, alias, column, flags, options, numbers)
            flags["slow"] |= chosen & bad
            # The usual case, every value of the column taken, needs no selection: the
            # converted column is null where the column is.
            taken_all = bool(np.array_equal(chosen, present))
            if taken_all and remaining.all() and converted.type == target:
                result = converted
            else:
                result = pc.if_else(to_arrow(chosen), converted, result)
            remaining &= ~chosen
            source[alias] = (
                pa.nulls(n, column.type)
                if taken_all
                else pc.if_else(to_arrow(chosen), pa.nulls(n, column.type), column)
            )
    if spec.name == "type":
        result = pc.if_else(to_arrow(remaining & collector), COLLECTOR_MESSAGE_TYPE, result)
        flags["slow"] |= remaining & ~collector
    elif spec.required:
        flags["slow"] |= remaining
    return result


def _as_bool(array: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


@functools.cache
def _severity_arrays() -> tuple[pa.Array, pa.Array]:
    """The severity aliases and the levels they name, as Arrow arrays (made on first use:
    ``pa.array`` of Python values imports pandas to ask whether they are pandas values)."""
    return pa.array(list(SEVERITY_ALIASES)), pa.array(list(SEVERITY_ALIASES.values()))


def _convert(
    spec: StandardField,
    alias: str,
    column: pa.Array,
    flags: dict[str, np.ndarray],
    options: NormalizeOptions,
    numbers: tuple[RowTexts, str] | None = None,
) -> tuple[pa.Array, np.ndarray]:
    """(converted values, rows that must go row by row) for one candidate column;
    ``numbers``: the rows' texts and the top-level key the column was read from."""
    n = len(column)
    target = STANDARD_SCHEMA.field(spec.name).type
    everything = np.ones(n, dtype=bool)
    data_type = column.type
    kind = spec.kind
    if kind is FieldKind.TEXT:
        if pa.types.is_string(data_type):
            bad = np.zeros(n, dtype=bool)
            if spec.name == "type":
                bad = ~_as_bool(pc.match_substring_regex(column, "[A-Za-z0-9]"))
            return column, bad
        if pa.types.is_int64(data_type):
            return pc.cast(column, pa.string()), np.zeros(n, dtype=bool)
        return pa.nulls(n, target), everything
    if kind is FieldKind.TIME:
        naive, bad = _convert_time(column, target, options, numbers)
        converted, naive_rows = naive
        if spec.name == "timestamp":  # only the event time's form is a warning
            flags["naive"] |= naive_rows
        return converted, bad
    if kind is FieldKind.SEVERITY:
        if not pa.types.is_string(data_type):
            return pa.nulls(n, target), everything
        bad = ~_as_bool(pc.match_substring_regex(column, r"^[\x20-\x7e]*$"))
        lowered = pc.ascii_lower(pc.ascii_trim_whitespace(column))
        aliases, levels = _severity_arrays()
        position = pc.index_in(lowered, value_set=aliases)
        known = _as_bool(pc.is_valid(position))
        flags["unknown"] |= ~known & _valid(column)
        mapped = pc.take(levels, position)
        return pc.if_else(to_arrow(known), mapped, lowered), bad
    if kind is FieldKind.DURATION:
        if not (pa.types.is_int64(data_type) or pa.types.is_float64(data_type)):
            return pa.nulls(n, target), everything
        operator, factor = DURATION_UNITS[alias]
        values = pc.cast(column, pa.float64(), safe=False)
        ms = pc.multiply(values, factor) if operator == "*" else pc.divide(values, factor)
        return _unsigned_zeros(ms), _as_bool(pc.less(ms, 0.0))
    # whole numbers: sample_rate (>= 1) and http_status (100..599)
    if not pa.types.is_int64(data_type):
        return pa.nulls(n, target), everything
    low, high = (1, None) if kind is FieldKind.SAMPLE_RATE else (100, 599)
    bad = _as_bool(pc.less(column, low))
    if high is not None:
        bad |= _as_bool(pc.greater(column, high))
    return column, bad


def _convert_time(
    column: pa.Array,
    target: pa.DataType,
    options: NormalizeOptions,
    numbers: tuple[RowTexts, str] | None = None,
) -> tuple[tuple[pa.Array, np.ndarray], np.ndarray]:
    """((times, naive rows), rows that must go row by row)."""
    n = len(column)
    data_type = column.type
    if pa.types.is_string(data_type):
        zoned = _as_bool(pc.match_substring_regex(column, _ZONED))
        if zoned.sum() == len(column) - column.null_count:
            # Every time names its zone (the usual export): no naive form to look for.
            naive = manufactory = np.zeros(n, dtype=bool)
        else:
            naive = _as_bool(pc.match_substring_regex(column, _NAIVE))
            manufactory = _as_bool(pc.match_substring_regex(column, _MANUFACTORY))
        iso_naive = naive & ~manufactory
        bad = ~(zoned | naive)
        if options.assume_tz is not None:
            bad |= naive  # every naive form, Manufactory's own included, takes the zone
        result = pa.nulls(n, target)
        for mask, unit_type in ((zoned, target), (naive & ~bad, pa.timestamp("ns"))):
            if not mask.any():
                continue
            picked = to_arrow(mask)
            try:
                parsed = pc.cast(pc.filter(column, picked), unit_type)
            except pa.ArrowInvalid:
                bad |= mask
                continue
            parsed = parsed.cast(target) if unit_type != target else parsed
            result = pc.replace_with_mask(result, picked, parsed)
        return (result, iso_naive & ~bad), bad
    no_naive = np.zeros(n, dtype=bool)
    if pa.types.is_int64(data_type):
        times, bad = _epoch(column, target)
        return (times, no_naive), bad
    # Numbers with a fraction: the record path converts their decimal text exactly, which
    # a double cannot (1588205198.89971 s is .899710 s, not .899709), so the text is read.
    if pa.types.is_float64(data_type) and numbers is not None:
        times, bad = _fractional_epoch(column, target, *numbers)
        return (times, no_naive), bad
    return (pa.nulls(n, target), no_naive), np.ones(n, dtype=bool)


def _fractional_epoch(
    column: pa.Array, target: pa.DataType, texts: RowTexts, key: str
) -> tuple[pa.Array, np.ndarray]:
    """Epoch numbers read as doubles, converted from their text where it is found."""
    n = len(column)
    bad = np.ones(n, dtype=bool)
    finder = key_finder(key)
    wanted = np.flatnonzero(_valid(column))
    if finder is None or not len(wanted):
        return pa.nulls(n, target), bad
    values = np.asarray(column.take(pa.array(wanted)).to_numpy(zero_copy_only=False))
    ns = np.zeros(n, dtype=np.int64)
    read, done = plain_epoch_ns(*texts.bounds(wanted), finder, values)
    ns[wanted[done]] = read[done]
    bad[wanted[done]] = False
    rest = np.flatnonzero(~done)  # other forms: one by one
    found = epoch_ns_from_texts(texts(wanted[rest]), finder, values[rest].tolist())
    for row, value in zip(wanted[rest].tolist(), found, strict=True):
        ns[row] = 0 if value is None else value
        bad[row] = value is None
    times = to_arrow(ns, pa.int64(), mask=bad).cast(target)
    return times, bad


def _epoch(column: pa.Array, target: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """Integer epoch numbers by magnitude, exactly as ``mfq.model.values.epoch_to_ns``."""
    filled = pc.fill_null(column, 0)
    values = np.asarray(filled.to_numpy(zero_copy_only=False))
    as_float = values.astype(np.float64)
    # Banded by the integer itself: as a double, 99_999_999_999_999_999 is 1e17 (the
    # minimum stays negative here, and is refused below).
    magnitude = np.abs(values)
    factor = np.ones(len(values), dtype=np.int64)
    assigned = np.zeros(len(values), dtype=bool)
    for limit, unit in EPOCH_UNIT_LIMITS:
        band = ~assigned & (magnitude < int(limit))
        factor[band] = unit
        assigned |= band
    bad = np.abs(as_float * factor) > _NS_BOUND
    bad |= values == np.iinfo(np.int64).min
    ns = np.where(bad, 0, values) * np.where(bad, 1, factor)
    result = to_arrow(ns, pa.int64()).cast(target)
    return pc.if_else(column.is_valid(), result, pa.nulls(len(values), target)), bad


def _attributes(
    top: dict[str, pa.Array],
    attrs: dict[str, pa.Array],
    slow: np.ndarray,
    texts: RowTexts | None = None,
    lists: ListTexts | None = None,
) -> dict[str, pa.Array]:
    final: dict[str, pa.Array] = {}
    for name, column in top.items():
        if column.null_count == len(column):
            continue  # consumed by a standard field, or never present
        # (``actor.x`` may be ``actor_profile``'s x: no one path to read it again)
        path = None if name.startswith(ACTOR_PREFIX + ".") else name.split(".")
        # A standard name left here is a key the profile says is not that field.
        final[f"{ATTRIBUTES_KEY}.{name}" if name in STANDARD_NAMES else name] = _scalars(
            column, slow, texts, path, lists
        )
    for name, found in attrs.items():
        if found.null_count == len(found):
            continue
        column = _scalars(found, slow, texts, [ATTRIBUTES_KEY, *name.split(".")], lists)
        if name in STANDARD_NAMES:
            target = f"{ATTRIBUTES_KEY}.{name}"
            if target in final:
                raise _BlockGoesSlow
            final[target] = column
        elif name in final:
            top_column = final[name]
            attr_valid = _valid(column)
            slow |= attr_valid & _valid(top_column)
            if top_column.type != column.type:
                slow |= attr_valid
            else:
                final[name] = pc.coalesce(top_column, column)
        else:
            final[name] = column
    return final


def _scalars(
    column: pa.Array,
    slow: np.ndarray,
    texts: RowTexts | None = None,
    path: list[str] | None = None,
    lists: ListTexts | None = None,
) -> pa.Array:
    """An attribute column as stored: lists as their JSON text (``mfq.ingest.listtext``);
    those Arrow cannot write read again from the rows' text at ``path`` where given
    (``mfq.ingest.rawlists``)."""
    if not pa.types.is_list(column.type):
        return column
    if pa.types.is_null(column.type.value_type):  # empty lists, lists of nulls: pyarrow
        # builds some such arrays inconsistently, so only which rows hold one is used
        text, bad = pa.nulls(len(column), pa.string()), _valid(column)
    else:
        text, bad = (lists or ListTexts())(column)
    redo = np.flatnonzero(bad & ~slow)
    if texts is not None and path is not None and len(redo):
        found = list_texts(texts(redo), path)
        done = np.array([t is not None for t in found], dtype=bool)
        if done.any():
            mask = np.zeros(len(column), dtype=bool)
            mask[redo[done]] = True
            values = pa.array([t for t in found if t is not None], pa.string())
            text = pc.replace_with_mask(text, pa.array(mask), values)
            bad[redo[done]] = False
    slow |= bad
    return text


def _derive_missing_ids(
    standard: dict[str, pa.Array],
    rows: _Rows,
    first: int,
    flags: dict[str, np.ndarray],
    parsed: pa.Table | None,
    lists: ListTexts | None = None,
) -> None:
    """Ids for the rows with none, from their text; ``parsed``, the rows as parsed from
    that text, writes most canonical texts and tells which hold no float (None: any may)."""
    ids = standard["id"]
    missing = ~_valid(ids) & ~flags["slow"]
    if not missing.any():
        return
    derived = np.full(len(ids), None, dtype=object)
    rest = missing
    if parsed is not None and rows.parsed is None:
        rest = missing & ~_ids_from_columns(parsed, rows, first, missing, derived, lists)
    wanted = np.flatnonzero(rest)
    if len(wanted):  # orjson's canonical text, record by record
        floats = np.ones(len(ids), dtype=bool) if parsed is None else rows_with_floats(parsed)
        texts = rows.texts(wanted + first)
        try:
            found: Sequence[str | None] = derive_ids_from_texts(texts, floats[wanted].tolist())
        except (ValueError, UnicodeDecodeError, RecursionError):  # one by one, to find which
            found = [_derived_or_none(text) for text in texts]
        for row, one in zip(wanted.tolist(), found, strict=True):
            derived[row] = one
            if one is None:
                flags["slow"][row] = True
    flags["derived"] |= missing & ~flags["slow"]
    standard["id"] = pc.coalesce(ids, pa.array(derived, pa.string()))


def _ids_from_columns(
    parsed: pa.Table,
    rows: _Rows,
    first: int,
    missing: np.ndarray,
    derived: np.ndarray,
    lists: ListTexts | None = None,
) -> np.ndarray:
    """Ids of the missing rows whose canonical text Arrow writes (``canonicaltable``),
    into ``derived`` (objects); returns which rows it wrote."""
    index = np.arange(first, first + parsed.num_rows)
    bounds = rows.data, rows.starts[index], rows.ends[index]
    written, texts = canonical_texts(parsed, *bounds, lists=lists or ListTexts())
    wanted = missing[written]
    if not wanted.all():  # (rows holding an id of their own: no hash)
        texts = [text for text, want in zip(texts, wanted.tolist(), strict=True) if want]
    found = np.empty(len(texts), dtype=object)
    found[:] = ids_of_canonical(texts)
    derived[written[wanted]] = found
    exact = np.zeros(len(missing), dtype=bool)
    exact[written] = True
    return exact


def _derived_or_none(text: bytes) -> str | None:
    try:
        return derive_id_from_text(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None  # the record path names the reason


def _count_types(table: pa.Table, counts: TypeCounts) -> None:
    for name, column in zip(table.column_names, table.columns, strict=True):
        counts.add(name, arrow_class(column.type), len(column) - column.null_count)
