"""From a source to validated event chunks: open, detect, split, validate."""

from __future__ import annotations

import contextlib
import functools
import itertools
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from mfq.errors import InputUnreadable
from mfq.ingest import profiles
from mfq.ingest.batch import EventChunk, RejectedRecord
from mfq.ingest.columns import STANDARD_SCHEMA, FieldBudget, TypeCounts
from mfq.ingest.containers import ContainerKind, RecordChunk, read_chunks
from mfq.ingest.counters import IngestCounters
from mfq.ingest.fastpath import SUB_BLOCK_BYTES, FastPathState, PendingChunk, submit_chunk
from mfq.ingest.kept import may_be_read_again, record_path_rows
from mfq.ingest.mapped import vectorisable
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.profiles.model import Profile
from mfq.ingest.projection import Projection
from mfq.ingest.record import decode_json
from mfq.ingest.screen import screen_chunk
from mfq.ingest.sources import OpenedSource, Source, open_source
from mfq.ingest.validate import validate_chunk
from mfq.settings import Settings
from mfq.stopping import stopping

T = TypeVar("T")
#: Bytes of records one projected parse reads (``mfq query FILE``): twice a full parse's
#: blocks. A projected parse costs half a full one per byte, so the fixed work of each
#: block (about 4.5 ms of Python around some 60 Arrow and numpy calls, most of it holding
#: the interpreter's lock) weighs twice as much; a 16 MiB chunk is two blocks.
PROJECTED_BLOCK_BYTES = 2 * SUB_BLOCK_BYTES
#: Bytes of records read at once, record by record, once a source is found too wide
#: (records bringing keys of their own): the record path holds a chunk's records as
#: Python objects (some 25 times their text) and makes every field any of them holds a
#: column for all its rows; a 16 MiB chunk held 400 MB and more.
WIDE_CHUNK_BYTES = 1 << 20
#: The reject code of a compressed input that ends early or is damaged.
TRUNCATED = "truncated"


@dataclass
class SourceReading:
    """A source being read: its validated chunks (lazy) and what is known about it."""

    source: Source
    container: ContainerKind
    compression: str | None
    bytes_total: int | None
    chunks: Iterator[EventChunk]
    #: The format profile applied (``default`` when none fits; ``none`` when disabled).
    profile: str
    #: The field mapping applied (profile and --map), None for the default aliases.
    mapping: Profile | None
    _opened: OpenedSource
    _raw: BinaryIO | None

    def bytes_done(self) -> int | None:
        """Raw (compressed) bytes consumed so far, when the source is a file."""
        if self._raw is None:
            return None
        if self._raw.closed:  # read to its end (ahead of the chunks settled)
            return self.bytes_total
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return None

    def fingerprint(self) -> str | None:
        """The source's likeness key (taken while reading from a source readable once;
        None for stdin), known once the chunks are consumed."""
        if self.source.path is None:
            return None
        return self.source.fingerprint() or self._opened.hashing.fingerprint()

    def content_hash(self) -> str:
        """The content hash of the source's bytes (``blake3:<hex>``; known once the
        chunks are consumed)."""
        if self._opened.hashing.final is None:
            raise RuntimeError("content hash asked for before the source was read")
        return self._opened.hashing.final


def read_source(
    source: Source,
    options: NormalizeOptions,
    settings: Settings,
    projection: Projection | None = None,
    *,
    hash_content: bool = True,
) -> SourceReading:
    """Open ``source``, detect its container and profile, and prepare its validated chunks
    (read as they are consumed). Input that is not JSON raises ``InputUnreadable`` naming
    the source. With a ``projection``, the vectorised path parses only its keys (see
    ``mfq.ingest.projection``); other columns may still come from the record path.
    Without ``hash_content`` the source's content hash is not computed (``content_hash`` then
    fails): for a reader that can never meet the same content again."""
    opened = open_source(source, hash_content=hash_content)
    try:
        try:
            container, record_chunks = read_chunks(
                opened.stream, settings.chunk_bytes, settings.max_record_bytes
            )
        except InputUnreadable as err:
            if err.message.startswith(source.name):
                raise
            raise InputUnreadable(f"{source.name}: {err.message}", hint=err.hint) from None
        record_chunks, profile_name, options = _with_profile(container, record_chunks, options)
    except BaseException:
        opened.close()
        raise
    return SourceReading(
        source=source,
        container=container,
        compression=opened.compression,
        bytes_total=source.size(),  # None for a pipe
        chunks=prefetch(_validated(record_chunks, options, opened, settings, projection)),
        profile=profile_name,
        mapping=options.mapping,
        _opened=opened,
        _raw=opened.raw,
    )


#: How far the profile's sample may look ahead for records that parse: until the peeked
#: chunks hold this many bytes of records and rejects' texts (about one whole chunk)...
_SAMPLE_LOOKAHEAD_BYTES = 16 << 20
#: ...or this many chunks (a line too long for a record is a chunk holding only a reject).
_SAMPLE_LOOKAHEAD_CHUNKS = 16


def _with_profile(
    container: ContainerKind, chunks: Iterator[RecordChunk], options: NormalizeOptions
) -> tuple[Iterator[RecordChunk], str, NormalizeOptions]:
    """The source's profile (forced, or detected from its first records) and the options
    that apply it; the chunks are handed back whole."""
    if container is ContainerKind.OTLP:
        return chunks, profiles.OTLP, options
    if not options.detect_profile:
        name = profiles.NONE if options.profile is None else options.profile.name
        return chunks, name, options
    first = next(chunks, None)
    if first is None:
        return iter(()), profiles.DEFAULT, options
    # The sample is the first SAMPLE_RECORDS records that parse, wherever the chunks
    # happen to end (the first read is small, and its lines may be long or not JSON); the
    # look ahead is bounded, so a file of no JSON is neither held nor read up front.
    peeked, sample, held = [first], _sample(first, profiles.SAMPLE_RECORDS), _held(first)
    while (
        len(sample) < profiles.SAMPLE_RECORDS
        and held < _SAMPLE_LOOKAHEAD_BYTES
        and len(peeked) < _SAMPLE_LOOKAHEAD_CHUNKS
    ):
        more = next(chunks, None)
        if more is None:
            break
        peeked.append(more)
        held += _held(more)
        sample += _sample(more, profiles.SAMPLE_RECORDS - len(sample))
    detected = profiles.detect(sample, profiles.builtin_profiles())
    name = profiles.DEFAULT if detected is None else detected.name
    return itertools.chain(peeked, chunks), name, options.for_source(detected)


def _held(chunk: RecordChunk) -> int:
    """The bytes a peeked chunk holds: its records and its rejects' texts."""
    return len(chunk.data) + sum(len(reject.raw) for reject in chunk.rejects)


def _sample(chunk: RecordChunk, wanted: int) -> list[object]:
    """Up to ``wanted`` first records of a chunk, decoded (records that are not JSON are
    left out)."""
    records: list[object] = []
    data, start = chunk.data, 0
    while start <= len(data) and len(records) < wanted:
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
            records.append(decode_json(data[start:end]))
        start = end + 1
    return records


def prefetch(items: Iterator[T], depth: int = 1) -> Generator[T]:
    """Produce the next items in a background thread while the caller uses this one.

    Validation of chunk k+1 then overlaps with writing chunk k; ``depth`` bounds how many
    finished items wait, so memory stays bounded.
    """
    ready: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                ready.put((True, item))
        except BaseException as err:  # handed to the consumer, re-raised there
            ready.put((False, err))
            return
        finally:
            # Stopped early, or failed: what ``items`` holds open (files, threads of its
            # own) is let go now, not when the last reference to it goes.
            close = getattr(items, "close", None)
            if close is not None:
                close()
        ready.put((False, None))

    worker = threading.Thread(target=produce, name="mfq-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            ok, value = ready.get()
            if ok:
                yield value  # type: ignore[misc]
            elif value is None:
                return
            else:
                raise value  # type: ignore[misc]
    finally:
        stop.set()
        # (Not when the process is stopping: the worker may be blocked on a silent pipe.)
        while worker.is_alive() and not stopping():
            try:
                ready.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def _validated(
    record_chunks: Iterator[RecordChunk],
    options: NormalizeOptions,
    opened: OpenedSource,
    settings: Settings,
    projection: Projection | None = None,
) -> Iterator[EventChunk]:
    """The source's validated chunks, in order.

    Two threads besides the caller's: one reads, screens and hands each chunk's blocks to
    the parse workers (``_submitted``), running ahead of the other, which waits for each
    chunk's blocks in turn and validates what they left to the record path. The reading
    never waits for a parse, so the workers always have the next chunk's blocks queued."""
    return _settled(prefetch(_submitted(record_chunks, options, opened, settings, projection)))


def _settled(steps: Generator[Callable[[], Iterator[EventChunk]]]) -> Iterator[EventChunk]:
    """Each step's chunks, in order: a chunk's blocks are waited for (and the record path
    run) only after every chunk before it was settled, as a single thread would."""
    try:
        for settle in steps:
            yield from settle()
    finally:
        steps.close()  # (a failed step: the reading thread stops now, not when collected)


def _submitted(
    record_chunks: Iterator[RecordChunk],
    options: NormalizeOptions,
    opened: OpenedSource,
    settings: Settings,
    projection: Projection | None = None,
) -> Iterator[Callable[[], Iterator[EventChunk]]]:
    """For each chunk read, the step that settles it: its blocks are already with the
    parse workers when the step is produced; the record path runs when it is called
    (after the chunks before it, whose records may claim the source's field budget).
    Once a block of the source was found too wide, every later chunk goes record by
    record in pieces of ``WIDE_CHUNK_BYTES`` (the settling would send its every block
    record by record: the same rows, the same fields claimed in the same order)."""
    mapping = options.mapping
    vectorised = mapping is None or vectorisable(mapping)
    if projection is not None and mapping is not None and vectorised:
        # A projected parse reads the question's keys; the mapping picks the standard
        # fields from its own keys, so those are read too (else every record of a
        # profiled source, Kubernetes, Zeek, Windows, CloudTrail, went record by record).
        projection = projection.reading(mapping.keys_read)
    budget = FieldBudget(settings.max_fields)
    state = FastPathState(
        max_retries=settings.fast_path_max_retries,
        budget=budget,
        projection=projection,
        sub_block_bytes=SUB_BLOCK_BYTES if projection is None else PROJECTED_BLOCK_BYTES,
    )
    last_number = 0
    try:
        for read in record_chunks:
            chunk = screen_chunk(read, settings.max_record_bytes, settings.max_depth)
            last_number = max(last_number, _last_number(chunk))
            # A profile's mapping (or --map) is vectorised where ``mapped`` follows it
            # exactly, else applied record by record.
            if not settings.fast_path or not vectorised or not len(chunk):
                # (A chunk can hold only what its reader rejected: nothing to vectorise.)
                yield functools.partial(_record_path, chunk, options, budget)
                continue
            if state.wide_found:
                for piece in chunk.pieces(WIDE_CHUNK_BYTES):
                    yield functools.partial(_record_path, piece, options, budget)
                continue
            yield functools.partial(_settle, submit_chunk(chunk, options, state), budget)
        if opened.cut is not None:
            cut = _cut_reject(opened, last_number + 1)
            yield lambda: iter((cut,))
        opened.hashing.finish()
    finally:
        opened.close()


def _record_path(
    chunk: RecordChunk, options: NormalizeOptions, budget: FieldBudget
) -> Iterator[EventChunk]:
    events = validate_chunk(chunk, options, budget)
    if may_be_read_again(events.table, events.type_counts):
        events.source = record_path_rows(chunk, events, options, budget)
    yield chunk.settle(events)


def _settle(pending: PendingChunk, budget: FieldBudget) -> Iterator[EventChunk]:
    """A chunk's events. Where a chunk before it was found too wide, or from a block of
    it found so, its rows go record by record (as its blocks' settling would send them)
    in pieces of ``WIDE_CHUNK_BYTES``: the same rows, claiming the same fields in the
    same order."""
    chunk = pending.chunk
    cut = chunk.parsed is None and chunk.originals is None  # (OTLP's: settled whole)
    if cut and pending.state.wide:
        first = 0
    else:
        events = pending.result(cut_at_wide=cut)
        if pending.wide_row is None:
            yield chunk.settle(events)
            return
        first = pending.wide_row
        if first:
            yield chunk.head(first).settle(events)
    pending.state.wide = True  # (as the block found too wide would set it)
    for piece in chunk.pieces(WIDE_CHUNK_BYTES, first):
        yield from _record_path(piece, pending.options, budget)


def _last_number(chunk: RecordChunk) -> int:
    numbers = [int(chunk.numbers[-1])] if len(chunk) else []
    return max([*numbers, *(r.number for r in chunk.rejects)], default=0)


def _cut_reject(opened: OpenedSource, number: int) -> EventChunk:
    """The end of a damaged compressed input, counted as one rejected record: the records
    read before the damage are kept, and the rejects table names the file and the cause."""
    reason = (
        f"{opened.source_name}: {opened.compression} input cut short or damaged "
        f"({opened.cut}); the records before the damage were read"
    )
    reject = RejectedRecord(number, TRUNCATED, reason, "")
    empty = STANDARD_SCHEMA.empty_table()
    return EventChunk(empty, TypeCounts(), [reject], IngestCounters(read=1, rejected=1))
