"""Streaming splitter for OTLP/JSON: resources, scopes and records, without parsing it all.

An OTLP/JSON document nests its records three arrays deep::

    {"resourceSpans": [{"resource": {...}, "scopeSpans": [{"scope": {...}, "spans": [...]}]}]}

(``resourceLogs`` / ``scopeLogs`` / ``logRecords`` for logs). A collector's file exporter
writes one such document per line; other tools write one pretty-printed document, which
can hold millions of spans. This scanner reads any of them block by block and hands out,
in document order, each ``resource`` and ``scope`` text and each record's text, so memory
holds one block and the record being cut, never the document.

Structural characters outside strings are found with numpy; Python looks only at those at
the six outer levels (about one per record), never inside a record. Keys are read just
before the bracket they open. Shapes that cannot hold records as OTLP says they should (a
``spans`` object, a string where a resource list belongs, a truncated document) come out
as ``MALFORMED`` pieces, which become rejects. A raw line break inside a string ends a
broken document (JSON strings cannot hold one); in a file written one document per line,
so does a line break inside a document, so one damaged line costs only itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import BinaryIO, NamedTuple

import numpy as np

from mfq.ingest.record import RejectCode

_QUOTE, _BACKSLASH, _NEWLINE, _COMMA, _COLON = 34, 92, 10, 44, 58
_SPACE = frozenset(b" \t\r\n")
_OPEN_OBJECT, _OPEN_ARRAY, _CLOSE_OBJECT, _CLOSE_ARRAY = 123, 91, 125, 93
#: Per byte value: +1 for an opening bracket, -1 for a closing one (a table beats np.isin).
_DELTA = np.zeros(256, dtype=np.int64)
_DELTA[[_OPEN_OBJECT, _OPEN_ARRAY]] = 1
_DELTA[[_CLOSE_OBJECT, _CLOSE_ARRAY]] = -1
_IS_STRUCTURAL = (_DELTA != 0) | (np.arange(256) == _COMMA)
#: Containers opened at these depths (and closed one deeper) are the OTLP skeleton.
_OPEN_DEPTH, _CLOSE_DEPTH = 5, 6
#: Bytes kept before the scan position: enough to read the key of the next bracket.
_LOOKBACK = 512
#: Bytes of a malformed value shown in its reject.
_PREVIEW = 1024
_MEMBER = re.compile(rb'\s*"((?:[^"\\]|\\.)*)"\s*:\s*(.*?)\s*\Z', re.DOTALL)
#: The first resource starts on the document's first line: a collector's one-per-line file.
#: (Read from the first ``MODE_PROBE`` bytes, which hold that much of any document.)
MODE_PROBE = 256
_ONE_PER_LINE = re.compile(rb'\A\s*\{[ \t]*"resource(?:Spans|Logs)"[ \t]*:[ \t]*\[[ \t\r]*[{\]]')


class Signal(StrEnum):
    """What the records of a document are."""

    SPANS = "spans"
    LOGS = "logs"


#: Per signal: the key of the resource list, of the scope list and of the record list.
KEYS: dict[Signal, tuple[str, str, str]] = {
    Signal.SPANS: ("resourceSpans", "scopeSpans", "spans"),
    Signal.LOGS: ("resourceLogs", "scopeLogs", "logRecords"),
}
_SIGNAL_OF = {keys[0]: signal for signal, keys in KEYS.items()}


class PieceKind(Enum):
    """What a piece of the document is."""

    RESOURCE = "resource"  # the text of a ``resource`` value
    SCOPE = "scope"  # the text of a ``scope`` value
    RECORD = "record"  # the text of one element of ``spans`` / ``logRecords``
    RESOURCE_END = "resource_end"  # a ``resourceSpans`` element closed
    SCOPE_END = "scope_end"  # a ``scopeSpans`` element closed
    MALFORMED = "malformed"  # a shape that holds no records as OTLP says it should


@dataclass(frozen=True, slots=True)
class Piece:
    """One thing found in the document, with the line it starts on."""

    kind: PieceKind
    text: bytes = b""
    line: int = 0
    signal: Signal | None = None
    code: RejectCode | None = None  # MALFORMED only
    reason: str = ""  # MALFORMED only


class _Role(Enum):
    DOCUMENT = "document"
    RESOURCE_LIST = "resource_list"
    RESOURCE_ITEM = "resource_item"
    SCOPE_LIST = "scope_list"
    SCOPE_ITEM = "scope_item"
    RECORD_LIST = "record_list"
    CAPTURE = "capture"  # a resource or scope value, handed out whole
    SKIP = "skip"  # anything else: its inside is not looked at


_OBJECTS = frozenset({_Role.DOCUMENT, _Role.RESOURCE_ITEM, _Role.SCOPE_ITEM})
_LISTS = frozenset({_Role.RESOURCE_LIST, _Role.SCOPE_LIST, _Role.RECORD_LIST})
#: Containers whose members or elements are judged one by one.
_TRACKED = _OBJECTS | _LISTS


class _Placement(NamedTuple):
    """What a container opened at some place of the skeleton is."""

    role: _Role
    signal: Signal | None = None
    capture: PieceKind | None = None  # CAPTURE: RESOURCE or SCOPE
    problem: str | None = None  # it cannot hold what its place says (then role is SKIP)


@dataclass(slots=True)
class _Frame:
    """An open container of the skeleton; positions are offsets in the scanner's buffer."""

    role: _Role
    signal: Signal | None
    start: int  # its opening bracket
    item: int | None  # where its current member or element began, until a container opens
    item_line: int
    capture: PieceKind | None = None  # CAPTURE: RESOURCE or SCOPE


class _Restart(Exception):
    """The scan state was reset at a position: rescan from just after it."""

    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


def one_document_per_line(head: bytes) -> bool:
    """Whether an input starting with ``head`` (at least ``MODE_PROBE`` bytes of it, or all
    of it) is a collector's file: one compact document per line."""
    return _ONE_PER_LINE.match(head) is not None


def scan_otlp(
    stream: BinaryIO, read_size: int, *, one_per_line: bool | None = None, first_line: int = 1
) -> Iterator[Piece]:
    """Yield the pieces of the OTLP/JSON documents in ``stream``, in document order.

    ``one_per_line`` None: found from the first bytes; ``first_line``: the number of the
    stream's first line (a part of a bigger input)."""
    scanner = _Scanner()
    scanner.line = first_line
    buffer = b""
    scanned = 0  # bytes of ``buffer`` already scanned
    first = one_per_line is None
    if one_per_line is not None:
        scanner.one_per_line = one_per_line
    while True:
        block = stream.read(read_size)
        if not block:
            break
        if first:
            while len(block) < MODE_PROBE and (more := stream.read(read_size)):
                block += more
            scanner.one_per_line = one_document_per_line(block)
            first = False
        data = buffer + block
        # Never end a scan window inside a run of backslashes: the escape would be lost.
        cut = len(data)
        while cut > scanned and data[cut - 1] == _BACKSLASH:
            cut -= 1
        out: list[Piece] = []
        scanner.scan(data, scanned, cut, out)
        yield from out
        keep = scanner.keep_from(cut)
        buffer = data[keep:]
        scanned = cut - keep
    out = []
    scanner.finish(buffer, out)
    yield from out


class _Scanner:
    """The scan state carried from one window to the next."""

    def __init__(self) -> None:
        self.in_string = False
        self.depth = 0
        self.line = 1  # line number at the start of the part being scanned
        self.stack: list[_Frame] = []
        self.one_per_line = False
        self._newlines = np.empty(0, dtype=np.int64)  # of the part being scanned
        self._part_start = 0

    # -- the vectorised part --------------------------------------------------------------

    def scan(self, data: bytes, start: int, end: int, out: list[Piece]) -> None:
        """Scan ``data[start:end]``; ``data[:start]`` was scanned before."""
        while start < end:
            try:
                start = self._scan_part(data, start, end, out)
            except _Restart as restart:
                self._count_lines_to(restart.position + 1)
                self.depth, self.in_string = 0, False
                start = restart.position + 1

    def _scan_part(self, data: bytes, start: int, end: int, out: list[Piece]) -> int:
        view = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
        quotes = _unescaped_quotes(view)
        structural = np.flatnonzero(_IS_STRUCTURAL[view])
        outside = (np.searchsorted(quotes, structural) + int(self.in_string)) % 2 == 0
        structural = structural[outside]
        chars = view[structural]
        delta = _DELTA[chars]
        depth_after = self.depth + np.cumsum(delta)
        depth_before = depth_after - delta
        newlines = np.flatnonzero(view == _NEWLINE)
        self._newlines, self._part_start = newlines, start
        broken = (np.searchsorted(quotes, newlines) + int(self.in_string)) % 2 == 1
        if self.one_per_line and len(newlines):
            # Depth at each line break: the depth after the structural characters before it.
            depths = np.concatenate(([self.depth], depth_after))
            broken |= depths[np.searchsorted(structural, newlines)] > 0
        limit = int(newlines[np.argmax(broken)]) if broken.any() else len(view)
        opens = delta > 0
        mask = (structural < limit) & (
            (opens & (depth_before <= _OPEN_DEPTH)) | (~opens & (depth_before <= _CLOSE_DEPTH))
        )
        picked = np.flatnonzero(mask)
        positions = structural[picked]
        lines = self.line + np.searchsorted(newlines, positions)
        for position, char, line in zip(
            (positions + start).tolist(), chars[picked].tolist(), lines.tolist(), strict=True
        ):
            self._step(data, position, char, line, out)
        if limit < len(view):
            position = start + limit
            self._break(data, position, out)
            self._count_lines_to(position + 1)
            self.depth, self.in_string = 0, False
            return position + 1
        if len(structural):
            self.depth = int(depth_after[-1])
        self.in_string = (len(quotes) + int(self.in_string)) % 2 == 1
        self.line += len(newlines)
        return end

    def _line_at(self, position: int) -> int:
        return self.line + int(np.searchsorted(self._newlines, position - self._part_start))

    def _count_lines_to(self, position: int) -> None:
        self.line = self._line_at(position)

    def keep_from(self, end: int) -> int:
        """The first buffer offset still needed after scanning up to ``end``."""
        keep = max(end - _LOOKBACK, 0)
        for frame in self.stack:
            if frame.role is _Role.CAPTURE:
                keep = min(keep, frame.start)
            elif frame.item is not None:
                keep = min(keep, frame.item)
        for frame in self.stack:
            frame.start -= keep
            if frame.item is not None:
                frame.item -= keep
        return keep

    def finish(self, data: bytes, out: list[Piece]) -> None:
        """The input ended: an unfinished document is a truncated one."""
        if self.stack:
            self._newlines, self._part_start = np.empty(0, dtype=np.int64), len(data)
            self._break(data, len(data), out)

    # -- one structural character of the skeleton -------------------------------------------

    def _step(self, data: bytes, position: int, char: int, line: int, out: list[Piece]) -> None:
        if char in (_OPEN_OBJECT, _OPEN_ARRAY):
            self._open(data, position, char, line, out)
            return
        if not self.stack:
            if char == _COMMA:
                return  # between documents: not ours to judge
            reason = f"unexpected {chr(char)!r} outside a document"
            out.append(_malformed(data[position : position + 1], line, reason))
            raise _Restart(position)
        frame = self.stack[-1]
        self._end_item(data, position, frame, char == _COMMA, out)
        if char == _COMMA:
            if frame.role in _TRACKED:
                frame.item, frame.item_line = position + 1, line
            return
        self.stack.pop()
        if frame.role is _Role.CAPTURE and frame.capture is not None:
            text = data[frame.start : position + 1]
            out.append(Piece(frame.capture, text, frame.item_line, frame.signal))
        elif frame.role is _Role.RESOURCE_ITEM:
            out.append(Piece(PieceKind.RESOURCE_END))
        elif frame.role is _Role.SCOPE_ITEM:
            out.append(Piece(PieceKind.SCOPE_END))

    def _open(self, data: bytes, position: int, char: int, line: int, out: list[Piece]) -> None:
        parent = self.stack[-1] if self.stack else None
        key = None
        if parent is not None and parent.role in _OBJECTS:
            key = _key_before(data, position)
        if parent is not None:
            parent.item = None  # this member or element is a container, not a scalar
        place = _placement(parent, key, char == _OPEN_OBJECT)
        if place.problem is not None:
            out.append(_malformed(data[position : position + _PREVIEW], line, place.problem))
        item = position + 1 if place.role in _TRACKED else None
        frame = _Frame(place.role, place.signal, position, item, line)
        frame.capture = place.capture
        self.stack.append(frame)

    def _end_item(
        self, data: bytes, position: int, frame: _Frame, comma: bool, out: list[Piece]
    ) -> None:
        """The member or element that ends at ``position`` held no container: judge it."""
        if frame.item is None:
            return
        raw = data[frame.item : position]
        text = raw.strip()
        if frame.role is _Role.RECORD_LIST:
            if text or comma:  # an empty element (``[1,,2]``) is a record that is not JSON
                leading = raw[: len(raw) - len(raw.lstrip())].count(b"\n")
                out.append(Piece(PieceKind.RECORD, text, frame.item_line + leading, frame.signal))
        elif frame.role in _LISTS and text:
            reason = f"an element of {_list_key(frame)} is not an object"
            out.append(_malformed(text[:_PREVIEW], frame.item_line, reason))
        elif frame.role in _OBJECTS and text:
            self._scalar_member(text, frame, out)

    def _scalar_member(self, text: bytes, frame: _Frame, out: list[Piece]) -> None:
        match = _MEMBER.match(text)
        if match is None:
            return
        key, value = match.group(1).decode("utf-8", "replace"), match.group(2)
        signal = frame.signal
        if frame.role is _Role.DOCUMENT:
            lists = {keys[0] for keys in KEYS.values()}
        elif signal is not None and frame.role is _Role.RESOURCE_ITEM:
            if key == "resource":
                out.append(Piece(PieceKind.RESOURCE, value, frame.item_line, signal))
                return
            lists = {KEYS[signal][1]}
        elif signal is not None:
            if key == "scope":
                out.append(Piece(PieceKind.SCOPE, value, frame.item_line, signal))
                return
            lists = {KEYS[signal][2]}
        else:
            return
        if key in lists and value != b"null":  # null is an empty list in protobuf's JSON
            reason = f"{key} is {_json_kind(value)}, not an array"
            out.append(_malformed(text[:_PREVIEW], frame.item_line, reason))

    def _break(self, data: bytes, position: int, out: list[Piece]) -> None:
        """The document ends here, unfinished: reject what was being cut, close the rest."""
        top = self.stack[-1] if self.stack else None
        partial = b""
        if top is not None and top.role is _Role.RECORD_LIST and top.item is not None:
            partial = data[top.item : position].strip()
        if partial and top is not None:
            out.append(Piece(PieceKind.RECORD, partial, top.item_line, top.signal))
        elif self.stack or self.in_string:
            reason = "the document ends before it is complete (truncated?)"
            tail = data[max(0, position - _LOOKBACK) : position].strip()
            out.append(_malformed(tail, self._line_at(position), reason, RejectCode.NOT_JSON))
        for frame in reversed(self.stack):
            if frame.role is _Role.RESOURCE_ITEM:
                out.append(Piece(PieceKind.RESOURCE_END))
            elif frame.role is _Role.SCOPE_ITEM:
                out.append(Piece(PieceKind.SCOPE_END))
        self.stack.clear()


def _malformed(
    text: bytes, line: int, reason: str, code: RejectCode = RejectCode.BAD_VALUE
) -> Piece:
    return Piece(PieceKind.MALFORMED, text, line, None, code, reason)


def _placement(parent: _Frame | None, key: str | None, is_object: bool) -> _Placement:
    """What a container opened in ``parent`` (under ``key`` when it is an object) is."""
    if parent is None:
        if is_object:
            return _Placement(_Role.DOCUMENT)
        return _Placement(_Role.SKIP, problem="a JSON array where an OTLP document belongs")
    role, signal = parent.role, parent.signal
    if role is _Role.DOCUMENT and key in _SIGNAL_OF:
        if is_object:
            return _Placement(_Role.SKIP, problem=f"{key} is an object, not an array")
        return _Placement(_Role.RESOURCE_LIST, _SIGNAL_OF[key])
    if role is _Role.RESOURCE_LIST or role is _Role.SCOPE_LIST:
        if not is_object:
            return _Placement(
                _Role.SKIP, problem=f"an element of {_list_key(parent)} is not an object"
            )
        item = _Role.RESOURCE_ITEM if role is _Role.RESOURCE_LIST else _Role.SCOPE_ITEM
        return _Placement(item, signal)
    if signal is not None and role in (_Role.RESOURCE_ITEM, _Role.SCOPE_ITEM):
        in_resource = role is _Role.RESOURCE_ITEM
        if key == ("resource" if in_resource else "scope"):
            kind = PieceKind.RESOURCE if in_resource else PieceKind.SCOPE
            return _Placement(_Role.CAPTURE, signal, kind)
        if key == KEYS[signal][1 if in_resource else 2]:
            if is_object:
                return _Placement(_Role.SKIP, problem=f"{key} is an object, not an array")
            return _Placement(_Role.SCOPE_LIST if in_resource else _Role.RECORD_LIST, signal)
    return _Placement(_Role.SKIP)


def _key_before(data: bytes, position: int) -> str | None:
    """The object key whose value opens at ``position`` (``"key": [``), read backwards."""
    at = _skip_space_back(data, position - 1)
    if at < 0 or data[at] != _COLON:
        return None
    close = _skip_space_back(data, at - 1)
    if close < 0 or data[close] != _QUOTE:
        return None
    lower = max(0, position - _LOOKBACK)
    open_ = data.rfind(b'"', lower, close)
    # A quote after an odd run of backslashes is inside the key: keep looking left.
    while open_ > 0 and _backslashes_before(data, open_) % 2 == 1:
        open_ = data.rfind(b'"', lower, open_)
    if open_ < 0:
        return None
    return data[open_ + 1 : close].decode("utf-8", "replace")


def _skip_space_back(data: bytes, at: int) -> int:
    while at >= 0 and data[at] in _SPACE:
        at -= 1
    return at


def _backslashes_before(data: bytes, at: int) -> int:
    run = 0
    while at - run - 1 >= 0 and data[at - run - 1] == _BACKSLASH:
        run += 1
    return run


def _list_key(frame: _Frame) -> str:
    if frame.signal is None:
        return "the list"
    index = {_Role.RESOURCE_LIST: 0, _Role.SCOPE_LIST: 1, _Role.RECORD_LIST: 2}[frame.role]
    return KEYS[frame.signal][index]


def _json_kind(value: bytes) -> str:
    if value.startswith(b'"'):
        return "a string"
    if value in (b"true", b"false"):
        return "a boolean"
    return "a number" if value[:1].isdigit() or value[:1] == b"-" else "not valid JSON"


def _unescaped_quotes(view: np.ndarray) -> np.ndarray:
    """Positions of the quotes that open or close strings (not ``\\"`` inside one)."""
    quotes = np.flatnonzero(view == _QUOTE)
    after_backslash = quotes[(quotes > 0) & (view[np.maximum(quotes - 1, 0)] == _BACKSLASH)]
    if not len(after_backslash):
        return quotes
    # A quote is escaped when an odd run of backslashes precedes it: measure each run back
    # to the last other character (JSON text embedded in strings has thousands of these).
    others = np.flatnonzero(view != _BACKSLASH)
    before = np.searchsorted(others, after_backslash) - 1
    last_other = np.where(before >= 0, others[np.maximum(before, 0)], -1)
    escaped = after_backslash[(after_backslash - last_other - 1) % 2 == 1]
    return np.setdiff1d(quotes, escaped, assume_unique=True)
