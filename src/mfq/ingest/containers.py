"""Containers: what a source's bytes hold, detected from content, turned into record chunks.

Every container becomes the same thing: ``RecordChunk``s of newline-separated record texts
with their line or record numbers, the form both validation paths consume. OTLP/JSON
(``mfq.ingest.otlp``) yields chunks of converted records the same way, plus the records it
rejected itself and the OTLP text each converted record came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO, Protocol

import numpy as np

from mfq.errors import InputUnreadable
from mfq.ingest.batch import EventChunk, RejectedRecord
from mfq.ingest.envelope import envelope_key, head_envelope_key
from mfq.ingest.jsonscan import (
    JSON_SPACE,
    RAW_PREFIX_BYTES,
    Oversized,
    ScanMode,
    Unfinished,
    first_value_end,
    nesting_depth,
    split_elements,
    top_level_events_array,
)
from mfq.settings import DEFAULT_SETTINGS

if TYPE_CHECKING:
    import pyarrow as pa

#: The reject code of a record longer than ``Settings.max_record_bytes``.
TOO_LONG = "too_long"
NOT_JSON = "not_json"  # (mfq.ingest.record.RejectCode.NOT_JSON: record imports pydantic)
_BOM = b"\xef\xbb\xbf"
_HEAD_BYTES = 64 * 1024
_NEWLINE = 10
#: The first read of an NDJSON source, growing fourfold to the chunk size: the parse
#: workers wait for the first chunk, read, split and screened alone (100 ms for 16 MiB,
#: its memory touched the first time), so it is small. (However few records it holds,
#: the profile is detected from the first that parse: ``mfq.ingest.pipeline`` looks
#: ahead through the chunks for them.)
_FIRST_READ_BYTES = 1 << 20
_OTLP_HEAD = re.compile(rb'^\s*\{\s*"resource(Spans|Logs)"')


class ContainerKind(StrEnum):
    """The shapes of input mfq reads."""

    NDJSON = "ndjson"
    JSON_ARRAY = "json-array"
    ENVELOPE = "envelope"
    DOCUMENTS = "json-documents"
    OTLP = "otlp"


class ParsedRecords(Protocol):
    """Records a reader parsed itself: a table in the shape pyarrow's JSON reader gives
    their texts, one row per record, and each record's text on demand."""

    table: pa.Table

    def text(self, row: int) -> bytes:
        """The record's JSON text (for the record path)."""
        ...


@dataclass
class RecordChunk:
    """Record texts (one per line of ``data``, no blank lines) and their positions."""

    data: bytes
    numbers: np.ndarray  # int64: line number (NDJSON) or record number (other containers)
    #: Each record's [start, end) in ``data``, when the reader already knows them.
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    #: Records the reader rejected itself (OTLP), numbered among the others, counted as read.
    rejects: list[RejectedRecord] = field(default_factory=list)
    #: Each record's source text and line when ``data`` holds a converted form (OTLP).
    originals: Sequence[tuple[bytes, int]] | None = None
    #: The records already parsed by their reader (OTLP's columnar one): ``data`` is empty
    #: and a record's text is made when asked for.
    parsed: ParsedRecords | None = None

    def __len__(self) -> int:
        return len(self.numbers)

    def records(self) -> list[bytes]:
        """Each record's text (splitting ``data`` on newlines)."""
        if self.parsed is not None:
            return [self.parsed.text(row) for row in range(len(self))]
        return self.data.split(b"\n") if self.data else []

    def pieces(self, size: int, first: int = 0) -> list[RecordChunk]:
        """The chunk's records from row ``first`` on, cut between records into pieces of
        about ``size`` bytes of text each, in order (the reader's rejects numbered past
        the row before ``first`` each with the piece its number falls in). A chunk of
        converted or parsed records (OTLP) is left whole (``first`` must then be 0)."""
        if self.parsed is not None or self.originals is not None:
            if first:
                raise ValueError("a chunk of converted records is not cut")
            return [self]
        view = np.frombuffer(self.data, dtype=np.uint8)
        starts = np.concatenate(([0], np.flatnonzero(view == _NEWLINE) + 1))
        if len(starts) != len(self):  # (a record holding a newline: never cut)
            raise ValueError("a chunk's records are its lines")
        offset = int(starts[first]) if first < len(self) else len(self.data)
        marks = np.arange(offset + size, len(self.data), size)
        cuts = np.unique(np.searchsorted(starts, marks))
        rows = [first, *(int(c) for c in cuts if first < c < len(self)), len(self)]
        ends = [*(int(starts[r]) - 1 for r in rows[1:-1]), len(self.data)]
        pieces = []
        for row, stop, end in zip(rows[:-1], rows[1:], ends, strict=True):
            data = self.data[int(starts[row]) : end]
            pieces.append(RecordChunk(data, self.numbers[row:stop]))
        after = int(self.numbers[first]) if first else None  # (those before: ``head``'s)
        piece_firsts = self.numbers[np.array(rows[1:-1], dtype=np.int64)]
        for reject in self.rejects:  # (past the last record's number: the last piece's)
            if after is None or reject.number > after:
                pieces[int(np.searchsorted(piece_firsts, reject.number))].rejects.append(reject)
        return pieces

    def head(self, stop: int) -> RecordChunk:
        """The chunk's first ``stop`` records (of a chunk ``pieces`` cuts), with the
        reader's rejects numbered before the record at ``stop``."""
        if stop >= len(self):
            return self
        view = np.frombuffer(self.data, dtype=np.uint8)
        end = int(np.flatnonzero(view == _NEWLINE)[stop - 1])
        last = int(self.numbers[stop])
        rejects = [r for r in self.rejects if r.number < last]
        return RecordChunk(self.data[:end], self.numbers[:stop], rejects=rejects)

    def settle(self, events: EventChunk) -> EventChunk:
        """The validated chunk completed with what the reader knows: its own rejects, and
        the source text of converted records (a reject shows what the user wrote)."""
        # validate imports this module.
        from mfq.ingest.validate import raw_text

        if self.originals is not None and events.rejects:
            rows = np.searchsorted(self.numbers, [r.number for r in events.rejects])
            sources = [self.originals[int(row)] for row in rows]
            events.rejects = [
                replace(r, reason=f"{r.reason} (line {line})", raw=raw_text(text))
                for r, (text, line) in zip(events.rejects, sources, strict=True)
            ]
        if self.rejects:
            events.rejects = sorted([*events.rejects, *self.rejects], key=lambda r: r.number)
            events.counters.read += len(self.rejects)
            events.counters.rejected += len(self.rejects)
        return events


class _Head:
    """A stream with its first bytes already read, for detection.

    When the input starts with an object, reading goes on until that first value ends (or
    ``limit`` bytes, the longest record allowed): its shape, not a fixed window, decides
    between NDJSON, an envelope and pretty-printed documents.
    """

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self.head = stream.read(_HEAD_BYTES)
        if self.head.startswith(_BOM):
            self.head = self.head[len(_BOM) :]
        self.first_end: int | None = None
        if self.head.lstrip().startswith(b"{"):
            self._read_first_value(limit)
        self._served = False

    def _read_first_value(self, limit: int) -> None:
        pieces = [self.head]
        size = len(self.head)
        while True:
            self.first_end = first_value_end(self.head)
            if self.first_end is not None or size >= limit:
                return
            more = self._stream.read(max(size, _HEAD_BYTES))
            if not more:
                return
            pieces.append(more)
            size += len(more)
            self.head = b"".join(pieces)
            pieces = [self.head]

    def read(self, size: int = -1) -> bytes:
        if not self._served:
            self._served = True
            return self.head + (self._stream.read(size) if size != 0 else b"")
        return self._stream.read(size)


def detect_container(head: bytes, first_end: int | None = None) -> ContainerKind:
    """Which container the first bytes of a decompressed input belong to.

    ``first_end`` is where the first top-level object ends in ``head`` (found here when
    not given); an input whose first object does not end there is judged by its structure.
    """
    text = head.lstrip()
    if not text:
        return ContainerKind.NDJSON
    if text.startswith(b"["):
        return ContainerKind.JSON_ARRAY
    if _OTLP_HEAD.match(text):
        return ContainerKind.OTLP
    if text.startswith(b"{"):
        end = first_value_end(text) if first_end is None else first_end - (len(head) - len(text))
        return _object_container(text, end)
    if any(line.lstrip().startswith((b"{", b"[")) for line in text.split(b"\n")[:100]):
        return ContainerKind.NDJSON  # a damaged first line: the rest may be good NDJSON
    raise InputUnreadable("does not look like JSON or NDJSON")


def _envelope_key(head: bytes) -> str | None:
    """The key of an envelope's records array (None: ``events``)."""
    text = head.lstrip(JSON_SPACE)
    if text.startswith(_BOM):
        text = text[len(_BOM) :].lstrip(JSON_SPACE)
    end = first_value_end(text)
    if end is not None and nesting_depth(text[:end]) <= DEFAULT_SETTINGS.max_depth:
        try:
            first = json.loads(text[:end])
        except ValueError:
            first = None
        if isinstance(first, dict):
            return envelope_key(first, alone=not text[end:].strip(JSON_SPACE))
    return head_envelope_key(text)


def _object_container(text: bytes, end: int | None) -> ContainerKind:
    """An input starting with an object: NDJSON when that object fits on its first line."""
    if end is None:
        # The first object does not end within the longest record allowed.
        if top_level_events_array(text) or head_envelope_key(text) is not None:
            return ContainerKind.ENVELOPE
        if b"\n{" in text:
            return ContainerKind.NDJSON  # a cut or damaged first line
        return ContainerKind.DOCUMENTS
    first_text = text[:end]
    first: object = None
    if nesting_depth(first_text) <= DEFAULT_SETTINGS.max_depth:
        try:
            first = json.loads(first_text)
        except ValueError:
            first = None
    if (
        isinstance(first, dict)
        and (b"\n" in first_text or b"\n" not in text[end:].strip(JSON_SPACE))
        and envelope_key(first, alone=not text[end:].strip(JSON_SPACE)) is not None
    ):
        return ContainerKind.ENVELOPE
    return ContainerKind.DOCUMENTS if b"\n" in first_text else ContainerKind.NDJSON


def read_chunks(
    stream: BinaryIO, chunk_bytes: int, max_record_bytes: int = DEFAULT_SETTINGS.max_record_bytes
) -> tuple[ContainerKind, Iterator[RecordChunk]]:
    """Detect the container and return its record chunks, streamed.

    No more than about ``max_record_bytes`` of one record is ever held: a longer record
    becomes a reject of the chunk (its first bytes kept), and reading resumes after it.
    """
    headed = _Head(stream, max_record_bytes)
    kind = detect_container(headed.head, headed.first_end)
    if kind is ContainerKind.NDJSON:
        return kind, _ndjson_chunks(headed, chunk_bytes, max_record_bytes)  # type: ignore[arg-type]
    if kind is ContainerKind.OTLP:
        from mfq.ingest.otlp import otlp_chunks  # it builds on this module's RecordChunk

        return kind, otlp_chunks(headed, chunk_bytes)  # type: ignore[arg-type]
    mode = {
        ContainerKind.JSON_ARRAY: ScanMode.ARRAY,
        ContainerKind.ENVELOPE: ScanMode.ENVELOPE,
        ContainerKind.DOCUMENTS: ScanMode.DOCUMENTS,
    }[kind]
    key = _envelope_key(headed.head) if kind is ContainerKind.ENVELOPE else None
    elements = split_elements(headed, mode, chunk_bytes, max_record_bytes, key)  # type: ignore[arg-type]
    return kind, _element_chunks(elements, chunk_bytes, max_record_bytes)


@dataclass
class _OpenLine:
    """The line being read across blocks: its pieces (joined once, when it ends), or only
    its length and first bytes once it is longer than any record may be."""

    pieces: list[bytes | memoryview] = field(default_factory=list)
    size: int = 0
    too_long: bool = False
    prefix: bytes = b""
    blank: bool = True

    def add(self, piece: bytes | memoryview, limit: int) -> None:
        self.size += len(piece)
        if self.too_long:
            self.blank = self.blank and not bytes(piece).strip(JSON_SPACE)
            return
        self.pieces.append(piece)
        if self.size > limit:
            joined = b"".join(self.pieces)
            self.prefix, self.blank = joined[:RAW_PREFIX_BYTES], not joined.strip(JSON_SPACE)
            self.pieces, self.too_long = [], True


def _ndjson_chunks(stream: BinaryIO, chunk_bytes: int, limit: int) -> Iterator[RecordChunk]:
    line = _OpenLine()
    line_base = 1
    size = min(chunk_bytes, _FIRST_READ_BYTES)
    while block := stream.read(size):
        size = min(size * 4, chunk_bytes)
        view = memoryview(block)
        end = block.rfind(b"\n")
        if end < 0:
            line.add(view, limit)
            continue
        start = 0
        if line.too_long:
            first = block.find(b"\n")
            line.add(view[:first], limit)
            if not line.blank:
                yield _too_long_chunk(line.prefix, line_base, limit)
            line_base += 1
            start = first + 1
            line = _OpenLine()
        if start <= end:
            data = b"".join([*line.pieces, view[start:end]])
            chunk, lines = _lines_chunk(data, line_base)
            line_base += lines
            if len(chunk):
                yield chunk
        line = _OpenLine()
        line.add(view[end + 1 :], limit)
    if line.too_long:
        if not line.blank:
            yield _too_long_chunk(line.prefix, line_base, limit)
    elif line.size:
        chunk, _ = _lines_chunk(b"".join(line.pieces), line_base)
        if len(chunk):
            yield chunk


def too_long_reason(limit: int) -> str:
    """The reject reason of a record longer than ``limit`` bytes."""
    return f"record longer than the {limit:,}-byte limit (max_record_bytes)"


def _too_long_chunk(prefix: bytes, number: int, limit: int) -> RecordChunk:
    raw = prefix.decode("utf-8", "replace")
    reject = RejectedRecord(number, TOO_LONG, too_long_reason(limit), raw)
    return RecordChunk(b"", np.empty(0, dtype=np.int64), rejects=[reject])


def _lines_chunk(data: bytes, line_base: int) -> tuple[RecordChunk, int]:
    """Newline-separated text to a chunk without blank lines; returns (chunk, lines seen)."""
    view = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(view == _NEWLINE)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines, [len(data)])).astype(np.int64)
    lengths = ends - starts
    candidates = lengths <= 1
    if len(view):
        first_bytes = view[np.minimum(starts, len(view) - 1)]
        candidates |= np.isin(first_bytes, (32, 9, 13))
    else:
        candidates[:] = True
    blank = np.zeros(len(starts), dtype=bool)
    for index in np.flatnonzero(candidates):
        blank[index] = not data[starts[index] : ends[index]].strip(JSON_SPACE)
    numbers = np.arange(line_base, line_base + len(starts), dtype=np.int64)
    if not blank.any():
        return RecordChunk(data, numbers, (starts, ends)), len(starts)
    keep = ~blank
    text = b"\n".join(data[s:e] for s, e in zip(starts[keep], ends[keep], strict=True))
    return RecordChunk(text, numbers[keep]), len(starts)


def _element_chunks(
    elements: Iterator[bytes | Oversized | Unfinished], chunk_bytes: int, limit: int
) -> Iterator[RecordChunk]:
    texts: list[bytes] = []
    numbers: list[int] = []
    rejects: list[RejectedRecord] = []
    size = 0
    for number, element in enumerate(elements, start=1):
        if isinstance(element, Oversized):
            text = element.prefix.decode("utf-8", "replace")
            rejects.append(RejectedRecord(number, TOO_LONG, too_long_reason(limit), text))
            continue
        if isinstance(element, Unfinished):
            text = element.prefix.decode("utf-8", "replace")
            rejects.append(RejectedRecord(number, NOT_JSON, f"not JSON: {element.reason}", text))
            continue
        # JSON forbids raw newlines inside strings, so every newline here is whitespace.
        texts.append(element.replace(b"\r", b" ").replace(b"\n", b" "))
        numbers.append(number)
        size += len(element)
        if size >= chunk_bytes:
            yield _texts_chunk(texts, numbers, rejects)
            texts, numbers, rejects, size = [], [], [], 0
    if texts or rejects:
        yield _texts_chunk(texts, numbers, rejects)


def _texts_chunk(
    texts: list[bytes], numbers: list[int], rejects: list[RejectedRecord]
) -> RecordChunk:
    return RecordChunk(b"\n".join(texts), np.array(numbers, dtype=np.int64), rejects=rejects)
