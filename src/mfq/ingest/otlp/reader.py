"""The OTLP/JSON reader: columnar where it can be, record by record elsewhere.

A collector's file (one compact document a line, the usual OTLP/JSON export) is read in
blocks of whole lines, planned on both cores. Lines of trace documents go to pyarrow's JSON
reader (``mfq.ingest.otlp.parse``: later blocks with the types learned from earlier ones)
and ``mfq.ingest.otlp.columnar``, whose records reach validation already parsed; every other
line (log documents, a document holding ``null`` or an escaped surrogate, one the columnar
converter marks or cannot read) goes through the record-by-record reader
(``mfq.ingest.otlp.stream``), in place, so records keep their order and numbers. Any other
layout (pretty-printed documents) is read record by record throughout.
"""

from __future__ import annotations

import io
import re
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, overload

import numpy as np
import pyarrow as pa

from mfq.ingest.containers import RecordChunk
from mfq.ingest.otlp.columnar import SpanRows, Unsupported, spans_table
from mfq.ingest.otlp.parse import DocumentParser, TooDeep
from mfq.ingest.otlp.scan import MODE_PROBE, one_document_per_line
from mfq.ingest.otlp.stream import ChunkBuilder, convert_records, record_chunks
from mfq.ingest.workers import WorkerThreads

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: Lines the columnar reader leaves to the record path: an explicit ``null`` (pyarrow reads
#: it as an absent value, the record path refuses it in some places) and escaped
#: surrogates (pyarrow and Python's json treat a lone one differently).
_RECORD_PATH_LINES = re.compile(rb"null|\\u[dD][89abAB]")
_N, _U, _L = b"nul"
_BLANK = re.compile(rb"\s*")
#: Blocks planned ahead of the one being emitted (each a ``chunk_bytes`` block of lines).
_PLANNED_AHEAD = 1
_PLANNERS = WorkerThreads(2, "mfq-otlp")
#: A line longer than this many blocks stops the block reading: the rest is streamed.
_MAX_LINE_BLOCKS = 4
#: Lines of a block found one by one before the rest are found at once.
_FEW_LINES = 1000
#: Reads that complete a block's last line.
_TAIL_BYTES = 64 * 1024


def otlp_chunks(stream: BinaryIO, chunk_bytes: int) -> Iterator[RecordChunk]:
    """The events of an OTLP/JSON input as record chunks of about ``chunk_bytes``."""
    head = stream.read(chunk_bytes)
    while len(head) < MODE_PROBE and (more := stream.read(chunk_bytes)):
        head += more
    if not one_document_per_line(head):
        return record_chunks(_rejoined(head, stream), chunk_bytes)
    return _line_chunks(head, stream, chunk_bytes)


def _rejoined(head: bytes, rest: BinaryIO) -> BinaryIO:
    return io.BufferedReader(_Rejoined(head, rest))


class _Rejoined(io.RawIOBase):
    """A stream whose first bytes were already read."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        if not self._head:
            self._head = self._rest.read(len(view))
        taken = self._head[: len(view)]
        self._head = self._head[len(taken) :]
        view[: len(taken)] = taken
        return len(taken)


def _line_chunks(head: bytes, stream: BinaryIO, chunk_bytes: int) -> Iterator[RecordChunk]:
    builder = ChunkBuilder(chunk_bytes)
    parser = DocumentParser()
    planned: deque[Future[_Plan]] = deque()
    line = 1  # the first line of the next block emitted

    def emitted() -> Iterator[RecordChunk]:
        nonlocal line
        plan = planned.popleft().result()
        yield from _emit(plan.runs, builder, line)
        line += plan.line_breaks

    try:
        carried: list[bytes] = [b""]
        for data in _line_blocks(head, stream, chunk_bytes, carried):
            if data is None:  # the rest was streamed record by record into the builder
                while planned:
                    yield from emitted()
                rest = _rejoined(carried[0], stream)
                yield from convert_records(rest, builder, one_per_line=True, first_line=line)
                break
            # Blocks are planned (parsed, converted) on both cores; emitted in order.
            planned.append(_PLANNERS.submit(_plan, data, parser))
            while len(planned) > _PLANNED_AHEAD:
                yield from emitted()
        while planned:
            yield from emitted()
    finally:
        for future in planned:
            future.cancel()
    last = builder.take(final=True)
    if last is not None:
        yield last


def _line_blocks(
    head: bytes, stream: BinaryIO, chunk_bytes: int, carried: list[bytes]
) -> Iterator[bytes | None]:
    """Blocks of whole lines; None when a line is too long for a block (``carried[0]``
    then holds its start, the stream the rest).

    A block's last line is completed by small reads rather than cut off and carried over:
    the block is then copied once (joined), not twice (joined to the carry, then cut)."""
    tail, block = b"", head
    tail_bytes = min(_TAIL_BYTES, chunk_bytes)
    while tail or block:
        pieces = [tail, block] if tail else [block]
        tail = b""
        if not pieces[-1].endswith(b"\n"):
            open_line = _open_line(pieces)
            while open_line <= _MAX_LINE_BLOCKS * chunk_bytes:
                more = stream.read(tail_bytes)
                if not more:
                    break
                end = more.find(b"\n") + 1
                if end:
                    pieces.append(more[:end])
                    tail = more[end:]
                    break
                pieces.append(more)
                open_line += len(more)
            else:  # a line too long for a block: the lines before it, then the rest streamed
                data = b"".join(pieces)
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield data[:cut]
                carried[0] = data[cut:]
                yield None
                return
        yield b"".join(pieces) if len(pieces) > 1 else pieces[0]
        block = stream.read(chunk_bytes)


def _open_line(pieces: list[bytes]) -> int:
    """How many bytes the pieces end with after their last line break."""
    size = 0
    for piece in reversed(pieces):
        newline = piece.rfind(b"\n")
        if newline >= 0:
            return size + len(piece) - newline - 1
        size += len(piece)
    return size


class _Lines(Sequence[bytes]):
    """Lines of a block, sliced from it when asked for."""

    def __init__(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> None:
        self.data = data
        self.starts = starts
        self.ends = ends

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> _Lines: ...
    def __getitem__(self, index: int | slice) -> bytes | _Lines:
        if isinstance(index, slice):
            return _Lines(self.data, self.starts[index], self.ends[index])
        return self.data[int(self.starts[index]) : int(self.ends[index])]

    def joined(self) -> memoryview:
        """The lines with the line breaks between them (they are contiguous in the block)."""
        return memoryview(self.data)[int(self.starts[0]) : int(self.ends[-1])]


@dataclass
class _Plan:
    """A block planned: its runs (lines numbered from the block's first) and line breaks."""

    runs: list[_Run]
    line_breaks: int


@dataclass
class _Run:
    """Consecutive lines of a block read one way: converted (``rows``) or record by record."""

    lines: _Lines
    first_line: int
    rows: SpanRows | None = None


def _plan(data: bytes, parser: DocumentParser) -> _Plan:
    """A block of whole lines as runs, the columnar ones converted (in a worker thread);
    their lines are numbered from 0, the block's first line being known when it is emitted."""
    starts, ends = _line_bounds(data)
    lines = _Lines(data, starts, ends)
    columnar = np.array(
        [
            _BLANK.fullmatch(data, a, b) is None
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
        ],
        dtype=bool,
    )
    found = _nulls(data)
    if b"\\" in data:
        found += [at for at in _find_all(data, b"\\u") if _RECORD_PATH_LINES.match(data, at)]
    columnar[np.searchsorted(starts, found, side="right") - 1] = False
    if not _utf8(data):
        columnar[:] = False
    runs: list[_Run] = []
    run_start = 0
    for index in range(1, len(lines) + 1):
        if index < len(lines) and columnar[index] == columnar[run_start]:
            continue
        run = lines[run_start:index]
        rows = _converted(run, parser) if columnar[run_start] else None
        if rows is None:
            runs.append(_Run(run, run_start))
        else:
            runs += _split(run, run_start, rows)
        run_start = index
    return _Plan(runs, len(starts) - 1)


def _line_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Each line's [start, end): found with memchr while lines are long (a collector's
    documents), with numpy once they turn out to be many."""
    newlines: list[int] = []
    at = data.find(b"\n")
    while at >= 0 and len(newlines) < _FEW_LINES:
        newlines.append(at)
        at = data.find(b"\n", at + 1)
    found = np.array(newlines, dtype=np.int64)
    if at >= 0:
        rest = np.flatnonzero(np.frombuffer(data, dtype=np.uint8)[at:] == 10) + at
        found = np.concatenate((found, rest))
    starts = np.concatenate(([0], found + 1)).astype(np.int64)
    ends = np.concatenate((found, [len(data)])).astype(np.int64)
    return starts, ends


def _emit(runs: list[_Run], builder: ChunkBuilder, first_line: int) -> Iterator[RecordChunk]:
    """The records of a planned block whose first line is ``first_line``, in order."""
    for run in runs:
        run.first_line += first_line
        if run.rows is None:
            yield from _record_run(run.lines, run.first_line, builder)
        else:
            yield from _parsed_chunk(run, builder)


def _nulls(data: bytes) -> list[int]:
    """Where ``null`` occurs, found with numpy (as fast as ``bytes.find``, and other
    threads run meanwhile: numpy lets go of the interpreter's lock)."""
    view = np.frombuffer(data, dtype=np.uint8)
    ells = view == _L
    pairs = np.flatnonzero(ells[3:] & ells[2:-1])  # "ll" at pair + 2
    pairs = pairs[(view[pairs + 1] == _U) & (view[pairs] == _N)]
    return list(pairs.tolist())


def _find_all(data: bytes, needle: bytes) -> Iterator[int]:
    at = data.find(needle)
    while at >= 0:
        yield at
        at = data.find(needle, at + 1)


def _utf8(data: bytes) -> bool:
    """Whether the block is UTF-8 (pyarrow does not check it)."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _record_run(lines: _Lines, first_line: int, builder: ChunkBuilder) -> Iterator[RecordChunk]:
    text = lines.joined()
    if text.tobytes().strip():
        stream = io.BytesIO(text)
        yield from convert_records(stream, builder, one_per_line=True, first_line=first_line)


def _converted(lines: _Lines, parser: DocumentParser) -> SpanRows | None:
    """Lines of documents (no blank ones) converted; None when the block is not covered."""
    try:
        documents, inferred = parser.parse(lines.joined())
        if documents.num_rows != len(lines):
            raise Unsupported("a line holds more or less than one document")
        rows = spans_table(documents)
        if rows.bad_documents.any():
            good = np.flatnonzero(~rows.bad_documents)
            rows = spans_table(documents.take(pa.array(good)))
            rows.documents = good[rows.documents]
            bad_documents = np.ones(len(lines), dtype=bool)
            bad_documents[good] = False
            rows.bad_documents = bad_documents
    except (Unsupported, TooDeep, pa.ArrowException):
        return None
    if inferred:
        parser.learn(documents.schema)
    return rows


def _split(lines: _Lines, first_line: int, rows: SpanRows) -> list[_Run]:
    """Converted lines as runs: the documents the converter marked go record by record."""
    runs: list[_Run] = []
    first = 0
    while first < len(lines):
        stop = first + 1
        while stop < len(lines) and rows.bad_documents[stop] == rows.bad_documents[first]:
            stop += 1
        if rows.bad_documents[first]:
            runs.append(_Run(lines[first:stop], first_line + first))
        else:
            row_first, row_stop = np.searchsorted(rows.documents, [first, stop]).tolist()
            part = SpanRows(
                rows.table.slice(row_first, row_stop - row_first),
                rows.documents[row_first:row_stop] - first,
                rows.bad_documents[first:stop],
            )
            runs.append(_Run(lines[first:stop], first_line + first, part))
        first = stop
    return runs


def _parsed_chunk(run: _Run, builder: ChunkBuilder) -> Iterator[RecordChunk]:
    """A run of converted documents: one chunk of parsed records."""
    assert run.rows is not None
    count = run.rows.table.num_rows
    if not count:
        return
    waiting = builder.take(final=True)  # the record path's records before these
    if waiting is not None:
        yield waiting
    numbers = list(range(run.first_line, run.first_line + len(run.lines)))
    records = DocumentRecords(run.rows.table, run.lines, numbers, run.rows.documents)
    size = int(run.lines.ends[-1] - run.lines.starts[0])
    width = max(1, size // count)
    starts = np.arange(count, dtype=np.int64) * width
    chunk = RecordChunk(
        b"",
        np.arange(builder.number + 1, builder.number + 1 + count, dtype=np.int64),
        (starts, starts + width),
        originals=_Originals(records),
        parsed=records,
    )
    builder.number += count
    yield chunk


class DocumentRecords:
    """Records parsed by the columnar converter, with their texts made on demand: a record
    validation sends record by record (or rejects) is converted again, with its whole
    document, by the record path."""

    def __init__(
        self, table: pa.Table, lines: Sequence[bytes], numbers: list[int], documents: np.ndarray
    ) -> None:
        self.table = table
        self._lines = lines
        self._numbers = numbers
        self._documents = documents
        self._firsts: dict[int, int] | None = None  # each document's first row, when asked
        self._converted: dict[int, list[tuple[bytes, bytes, int]]] = {}

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def text(self, row: int) -> bytes:
        """The converted record's JSON text, as the record path writes it."""
        return self._record(row)[0]

    def original(self, row: int) -> tuple[bytes, int]:
        """The record's OTLP text and line."""
        _, text, line = self._record(row)
        return text, line

    def _record(self, row: int) -> tuple[bytes, bytes, int]:
        document = int(self._documents[row])
        if self._firsts is None:  # (documents in order: each one's rows are consecutive)
            firsts = np.flatnonzero(np.diff(self._documents, prepend=-1))
            self._firsts = dict(zip(self._documents[firsts].tolist(), firsts.tolist(), strict=True))
        if document not in self._converted:
            self._converted[document] = _convert_document(
                self._lines[document], self._numbers[document]
            )
        converted: tuple[bytes, bytes, int] = self._converted[document][
            row - self._firsts[document]
        ]
        return converted


def _convert_document(line: bytes, number: int) -> list[tuple[bytes, bytes, int]]:
    builder = ChunkBuilder(1 << 62)
    stream = io.BytesIO(line)
    for _ in convert_records(stream, builder, one_per_line=True, first_line=number):
        pass
    chunk = builder.take(final=True)
    if chunk is None or chunk.rejects or chunk.originals is None:
        raise RuntimeError(f"OTLP line {number}: the record path disagrees with the columnar one")
    return [
        (text, original, line)
        for text, (original, line) in zip(chunk.records(), chunk.originals, strict=True)
    ]


class _Originals(Sequence[tuple[bytes, int]]):
    """Each parsed record's OTLP text and line, found when asked for (a reject shows it)."""

    def __init__(self, records: DocumentRecords) -> None:
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> tuple[bytes, int]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[bytes, int]]: ...
    def __getitem__(self, index: int | slice) -> tuple[bytes, int] | Sequence[tuple[bytes, int]]:
        if isinstance(index, slice):
            return [self._records.original(i) for i in range(len(self))[index]]
        return self._records.original(index)
