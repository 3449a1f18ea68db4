"""Containers: what a source's bytes hold, detected from content, turned into record chunks.

Every container becomes the same thing: ``RecordChunk``s of newline-separated record texts
with their line or record numbers, the form both validation paths consume. OTLP/JSON
(``mfq.ingest.otlp``) yields chunks of converted records the same way, plus the records it
rejected itself and the OTLP text each converted record came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import BinaryIO

import numpy as np

from mfq.errors import InputUnreadable
from mfq.ingest.batch import EventChunk, RejectedRecord
from mfq.ingest.jsonscan import ScanMode, split_elements

_BOM = b"\xef\xbb\xbf"
_HEAD_BYTES = 64 * 1024
_NEWLINE = 10
_ENVELOPE_HEAD = re.compile(rb'^\s*\{.{0,65536}?"events"\s*:\s*\[', re.DOTALL)
_OTLP_HEAD = re.compile(rb'^\s*\{\s*"resource(Spans|Logs)"')


class ContainerKind(StrEnum):
    """The shapes of input mfq reads."""

    NDJSON = "ndjson"
    JSON_ARRAY = "json-array"
    ENVELOPE = "envelope"
    DOCUMENTS = "json-documents"
    OTLP = "otlp"


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
    originals: list[tuple[bytes, int]] | None = None

    def __len__(self) -> int:
        return len(self.numbers)

    def records(self) -> list[bytes]:
        """Each record's text (splitting ``data`` on newlines)."""
        return self.data.split(b"\n") if self.data else []

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
    """A stream with its first bytes already read, for detection."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.head = stream.read(_HEAD_BYTES)
        if self.head.startswith(_BOM):
            self.head = self.head[len(_BOM) :]
        self._served = False

    def read(self, size: int = -1) -> bytes:
        if not self._served:
            self._served = True
            return self.head + (self._stream.read(size) if size != 0 else b"")
        return self._stream.read(size)


def detect_container(head: bytes) -> ContainerKind:
    """Which container the first bytes of a decompressed input belong to."""
    text = head.lstrip()
    if not text:
        return ContainerKind.NDJSON
    if text.startswith(b"["):
        return ContainerKind.JSON_ARRAY
    if _OTLP_HEAD.match(text):
        return ContainerKind.OTLP
    if text.startswith(b"{"):
        first_line = text.split(b"\n", 1)[0]
        try:
            first = json.loads(first_line)
        except ValueError:
            first = None
        if isinstance(first, dict):
            if isinstance(first.get("events"), list) and "type" not in first:
                return ContainerKind.ENVELOPE
            return ContainerKind.NDJSON
        if _ENVELOPE_HEAD.match(text):
            return ContainerKind.ENVELOPE
        return ContainerKind.DOCUMENTS
    if any(line.lstrip().startswith((b"{", b"[")) for line in text.split(b"\n")[:100]):
        return ContainerKind.NDJSON  # a damaged first line: the rest may be good NDJSON
    raise InputUnreadable("does not look like JSON or NDJSON")


def read_chunks(stream: BinaryIO, chunk_bytes: int) -> tuple[ContainerKind, Iterator[RecordChunk]]:
    """Detect the container and return its record chunks, streamed."""
    headed = _Head(stream)
    kind = detect_container(headed.head)
    if kind is ContainerKind.NDJSON:
        return kind, _ndjson_chunks(headed, chunk_bytes)  # type: ignore[arg-type]
    if kind is ContainerKind.OTLP:
        from mfq.ingest.otlp import otlp_chunks  # it builds on this module's RecordChunk

        return kind, otlp_chunks(headed, chunk_bytes)  # type: ignore[arg-type]
    mode = {
        ContainerKind.JSON_ARRAY: ScanMode.ARRAY,
        ContainerKind.ENVELOPE: ScanMode.ENVELOPE,
        ContainerKind.DOCUMENTS: ScanMode.DOCUMENTS,
    }[kind]
    elements = split_elements(headed, mode, chunk_bytes)  # type: ignore[arg-type]
    return kind, _element_chunks(elements, chunk_bytes)


def _ndjson_chunks(stream: BinaryIO, chunk_bytes: int) -> Iterator[RecordChunk]:
    carry = b""
    line_base = 1
    while True:
        block = stream.read(chunk_bytes)
        if not block:
            break
        data = carry + block
        end = data.rfind(b"\n")
        if end < 0:
            carry = data
            continue
        carry = data[end + 1 :]
        chunk, lines = _lines_chunk(data[:end], line_base)
        line_base += lines
        if len(chunk):
            yield chunk
    if carry:
        chunk, _ = _lines_chunk(carry, line_base)
        if len(chunk):
            yield chunk


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
        blank[index] = not data[starts[index] : ends[index]].strip()
    numbers = np.arange(line_base, line_base + len(starts), dtype=np.int64)
    if not blank.any():
        return RecordChunk(data, numbers, (starts, ends)), len(starts)
    keep = ~blank
    text = b"\n".join(data[s:e] for s, e in zip(starts[keep], ends[keep], strict=True))
    return RecordChunk(text, numbers[keep]), len(starts)


def _element_chunks(elements: Iterator[bytes], chunk_bytes: int) -> Iterator[RecordChunk]:
    texts: list[bytes] = []
    size = 0
    number = 1
    first_number = 1
    for element in elements:
        # JSON forbids raw newlines inside strings, so every newline here is whitespace.
        texts.append(element.replace(b"\r", b" ").replace(b"\n", b" "))
        size += len(element)
        number += 1
        if size >= chunk_bytes:
            yield _texts_chunk(texts, first_number)
            texts, size, first_number = [], 0, number
    if texts:
        yield _texts_chunk(texts, first_number)


def _texts_chunk(texts: list[bytes], first_number: int) -> RecordChunk:
    numbers = np.arange(first_number, first_number + len(texts), dtype=np.int64)
    return RecordChunk(b"\n".join(texts), numbers)
