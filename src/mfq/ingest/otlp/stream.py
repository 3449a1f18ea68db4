"""The record-by-record OTLP reader: every resource, scope and record decoded in Python.

It reads any OTLP/JSON layout (pretty-printed documents of millions of spans, keys in any
order, broken documents) and is the reference the columnar reader
(``mfq.ingest.otlp.columnar``) is tested against; that one hands it whatever it does not
cover.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from mfq.errors import InputUnreadable
from mfq.ingest.batch import RejectedRecord
from mfq.ingest.containers import RecordChunk
from mfq.ingest.otlp.records import (
    EMPTY_CONTEXT,
    MAPPERS,
    EventRecord,
    OtlpContext,
    resource_context,
    scope_context,
)
from mfq.ingest.otlp.scan import Piece, PieceKind, scan_otlp
from mfq.ingest.otlp.values import Invalid, decode_otlp
from mfq.ingest.record import RejectCode, Rejection
from mfq.ingest.validate import raw_text

#: Bytes the scanner reads at a time (chunks of converted records are still chunk_bytes).
SCAN_READ_BYTES = 1 << 20


def record_chunks(stream: BinaryIO, chunk_bytes: int) -> Iterator[RecordChunk]:
    """The events of an OTLP/JSON input as record chunks of about ``chunk_bytes``, record by
    record."""
    builder = ChunkBuilder(chunk_bytes)
    yield from convert_records(stream, builder)
    last = builder.take(final=True)
    if last is not None:
        yield last


def convert_records(
    stream: BinaryIO,
    builder: ChunkBuilder,
    *,
    one_per_line: bool | None = None,
    first_line: int = 1,
) -> Iterator[RecordChunk]:
    """Convert the records of ``stream`` into ``builder``, yielding each chunk it fills (the
    last, partly filled one stays in it). ``one_per_line`` and ``first_line`` as
    :func:`~mfq.ingest.otlp.scan.scan_otlp` takes them."""
    assembler = _Assembler(builder, hold_bytes=builder.chunk_bytes)
    # Small reads: the scanner's index arrays and the pieces of one read stay a few MiB.
    read_size = min(builder.chunk_bytes, SCAN_READ_BYTES)
    for piece in scan_otlp(stream, read_size, one_per_line=one_per_line, first_line=first_line):
        assembler.add(piece)
        ready = builder.take()
        if ready is not None:
            yield ready
    assembler.finish()


class ChunkBuilder:
    """Collects converted records (one JSON text each) and reader rejects into chunks."""

    def __init__(self, chunk_bytes: int) -> None:
        self.chunk_bytes = chunk_bytes
        self.number = 0
        self._reset()

    def _reset(self) -> None:
        self.texts: list[bytes] = []
        self.numbers: list[int] = []
        self.originals: list[tuple[bytes, int]] = []
        self.rejects: list[RejectedRecord] = []
        self.size = 0

    def event(self, record: EventRecord, original: bytes, line: int) -> None:
        """One converted record (``original`` is the OTLP text it came from)."""
        try:
            text = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:
            # The same reason the record path gives for a lone surrogate.
            self.reject(RejectCode.NOT_JSON, "not JSON: invalid unicode escape", original, line)
            return
        self.number += 1
        self.texts.append(text)
        self.numbers.append(self.number)
        self.originals.append((original, line))
        self.size += len(text) + len(original)

    def reject(self, code: RejectCode, reason: str, original: bytes, line: int) -> None:
        """One record rejected by the reader itself."""
        self.number += 1
        raw = raw_text(original)
        self.rejects.append(RejectedRecord(self.number, code, f"{reason} (line {line})", raw))
        self.size += len(raw)

    def take(self, *, final: bool = False) -> RecordChunk | None:
        """The chunk collected so far, once it is big enough (or at the end)."""
        if not (self.texts or self.rejects) or (self.size < self.chunk_bytes and not final):
            return None
        lengths = np.fromiter((len(t) for t in self.texts), np.int64, len(self.texts))
        ends = np.cumsum(lengths + 1) - 1
        chunk = RecordChunk(
            b"\n".join(self.texts),
            np.array(self.numbers, dtype=np.int64),
            (ends - lengths, ends),
            rejects=self.rejects,
            originals=self.originals,
        )
        self._reset()
        return chunk


@dataclass
class _ScopeSlot:
    """The scope of one ``scopeSpans`` element, known once its ``scope`` was read or the
    element closed without one."""

    context: OtlpContext | None = None
    done: bool = False
    forced: bool = False  # its records were released before it was known

    @property
    def known(self) -> bool:
        return self.context is not None or self.done or self.forced


class _Assembler:
    """Pairs records with their resource and scope, in document order.

    Every OTLP encoder writes a resource before its scopes and a scope before its records,
    so records are released at once. When a document puts them after (JSON key order is
    free: ``jq -S`` sorts ``logRecords`` before ``scope``), records wait, up to
    ``hold_bytes``; past that they are released without it, and a resource or scope that
    still arrives later stops the ingest with a clear message.
    """

    def __init__(self, out: ChunkBuilder, hold_bytes: int) -> None:
        self.out = out
        self.hold_bytes = hold_bytes
        self.resource: OtlpContext | None = None
        self.resource_done = False
        self.resource_forced = False
        self.slot = _ScopeSlot()
        self.pending: deque[tuple[Piece, _ScopeSlot]] = deque()
        self.pending_bytes = 0

    def add(self, piece: Piece) -> None:
        kind = piece.kind
        if kind is PieceKind.RECORD or kind is PieceKind.MALFORMED:
            self.pending.append((piece, self.slot))
            self.pending_bytes += len(piece.text)
        elif kind is PieceKind.RESOURCE:
            if self.resource_forced:
                raise _late("resource", piece.line, self.hold_bytes)
            self.resource = _context(piece.text, resource_context)
        elif kind is PieceKind.SCOPE:
            if self.slot.forced:
                raise _late("scope", piece.line, self.hold_bytes)
            self.slot.context = _context(piece.text, scope_context)
        elif kind is PieceKind.SCOPE_END:
            self.slot.done = True
            self.slot = _ScopeSlot()
        elif kind is PieceKind.RESOURCE_END:
            self.resource_done = True
            self.slot.done = True  # records after the last scope element (malformed input)
            self._release()
            self.resource, self.resource_done, self.resource_forced = None, False, False
            self.slot = _ScopeSlot()
            return
        if self.pending_bytes > self.hold_bytes:
            if self.resource is None and not self.resource_done:
                self.resource_forced = True
            if not self.slot.known:
                self.slot.forced = True
        self._release()

    def finish(self) -> None:
        """The input ended: whatever waits is released with what is known."""
        self.resource_done = True
        self.slot.done = True
        self._release()

    def _release(self) -> None:
        resource_known = self.resource is not None or self.resource_done or self.resource_forced
        while self.pending:
            piece, slot = self.pending[0]
            if piece.kind is PieceKind.RECORD and not (resource_known and slot.known):
                return
            self.pending.popleft()
            self.pending_bytes -= len(piece.text)
            self._emit(piece, slot)

    def _emit(self, piece: Piece, slot: _ScopeSlot) -> None:
        if piece.kind is PieceKind.MALFORMED:
            code = piece.code or RejectCode.BAD_VALUE
            self.out.reject(code, piece.reason, piece.text, piece.line)
            return
        resource = self.resource or EMPTY_CONTEXT
        scope = slot.context or EMPTY_CONTEXT
        for context, what in ((resource, "its resource"), (scope, "its scope")):
            if context.problem is not None:
                reason = f"{what}: {context.problem.reason}"
                self.out.reject(context.problem.code, reason, piece.text, piece.line)
                return
        try:
            obj = decode_otlp(piece.text)
        except (ValueError, UnicodeDecodeError, RecursionError) as err:
            reason = f"not JSON: {_short(str(err))}"
            self.out.reject(RejectCode.NOT_JSON, reason, piece.text, piece.line)
            return
        assert piece.signal is not None
        try:
            mapped = MAPPERS[piece.signal](obj, {**resource.fields, **scope.fields})
        except RecursionError:
            mapped = [Rejection(RejectCode.BAD_VALUE, "values nested too deeply")]
        for item in mapped:
            if isinstance(item, Rejection):
                self.out.reject(item.code, item.reason, piece.text, piece.line)
            else:
                self.out.event(item, piece.text, piece.line)


def _context(text: bytes, build: Callable[[object], OtlpContext]) -> OtlpContext:
    """A resource's or scope's context; text that is not JSON is a problem of its records."""
    try:
        value = decode_otlp(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        return OtlpContext({}, Invalid(RejectCode.NOT_JSON, f"not JSON: {_short(str(err))}"))
    try:
        return build(value)
    except RecursionError:
        return OtlpContext({}, Invalid(RejectCode.BAD_VALUE, "values nested too deeply"))


def _short(text: str) -> str:
    return " ".join(text.split())[:160]


def _late(what: str, line: int, hold_bytes: int) -> InputUnreadable:
    return InputUnreadable(
        f"OTLP: a {what} on line {line} comes after more than {hold_bytes:,} bytes of its"
        f" records; mfq streams OTLP documents and needs the {what} first, as OTLP encoders"
        " write it"
    )
