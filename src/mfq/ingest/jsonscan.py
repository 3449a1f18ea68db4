"""Streaming splitter for JSON documents too big to parse at once.

Finds the elements of a top-level array, of an envelope's ``events`` array, or of a stream
of concatenated (pretty-printed) documents, without decoding them: structural characters
outside strings are located with numpy, so the cost per byte stays in C. Each element's
text becomes one record for the normal record pipeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

import numpy as np

_QUOTE, _BACKSLASH = 34, 92
_OPEN = (ord("{"), ord("["))
_CLOSE = (ord("}"), ord("]"))
_COMMA = ord(",")
_EVENTS_KEY = re.compile(rb'"events"\s*:\s*$')
#: Bytes of an overlong record kept to show in the rejects table.
RAW_PREFIX_BYTES = 64 * 1024
#: JSON's whitespace (Python's ``strip()`` would also take form feeds and vertical tabs).
JSON_SPACE = b" \t\r\n"


class ScanMode(StrEnum):
    """Which values of the document are records."""

    ARRAY = "array"  # elements of a top-level array
    ENVELOPE = "envelope"  # elements of the top-level object's "events" array
    DOCUMENTS = "documents"  # each top-level value


@dataclass(frozen=True)
class Oversized:
    """An element longer than the record limit: skipped, only its first bytes kept."""

    prefix: bytes


@dataclass(frozen=True)
class Unfinished:
    """Damage between elements: text after the top-level array's end, or an array that
    the input ends inside of (a cut download). ``prefix`` is the text, bounded."""

    reason: str
    prefix: bytes


@dataclass
class _State:
    in_string: bool = False
    depth: int = 0
    element_depth: int | None = None  # depth at which records live, once known
    element_start: int | None = None  # offset in the carried buffer
    done: bool = False
    #: The element being skipped because it is too long: its first bytes and its size so far.
    oversized: Oversized | None = None
    key_pattern: re.Pattern[bytes] = _EVENTS_KEY  # an envelope's array key, before its '['


def split_elements(
    stream: BinaryIO,
    mode: ScanMode,
    read_size: int,
    limit: int | None = None,
    envelope_key: str | None = None,
) -> Iterator[bytes | Oversized | Unfinished]:
    """Yield the raw text of each record-level element, in order (in an envelope, the
    elements of the top-level array under ``envelope_key``, default ``events``).

    An element longer than ``limit`` bytes is not kept: its place is marked by an
    ``Oversized`` and scanning goes on with the next one, so memory stays bounded.
    """
    state = _State(element_depth={ScanMode.ARRAY: 1, ScanMode.DOCUMENTS: 0}.get(mode))
    if envelope_key is not None:
        state.key_pattern = _key_pattern(envelope_key)
    buffer = b""
    scanned = 0  # bytes of ``buffer`` already scanned
    while not state.done:
        block = stream.read(read_size)
        if not block:
            break
        data = buffer + block
        # Never end a scan window inside a run of backslashes: the escape would be lost.
        cut = len(data)
        while cut > scanned and data[cut - 1] == _BACKSLASH:
            cut -= 1
        elements, keep_from = _scan(data, scanned, cut, state, mode)
        yield from elements
        buffer = data[keep_from:]
        scanned = cut - keep_from
        if state.element_start is not None:
            state.element_start -= keep_from
            if limit is not None and len(buffer) - state.element_start > limit:
                start = state.element_start
                state.oversized = Oversized(buffer[start : start + RAW_PREFIX_BYTES])
                state.element_start = None
                buffer, scanned = buffer[scanned:], 0  # keep only the unscanned backslashes
    if state.done:
        if mode is ScanMode.ARRAY:
            yield from _after_array(buffer[state.element_start or 0 :], stream, read_size)
    elif state.oversized is not None:
        yield state.oversized
    elif state.element_start is not None:
        tail = buffer[state.element_start :].strip(JSON_SPACE)
        if tail:
            yield tail  # an unterminated element: the record path will reject it
        else:
            yield Unfinished("the input ends before its array is closed (cut short?)", b"")


def _after_array(rest: bytes, stream: BinaryIO, read_size: int) -> Iterator[Unfinished]:
    """Text after the top-level array's closing bracket: only whitespace may follow."""
    while not rest.strip(JSON_SPACE):
        rest = stream.read(read_size)
        if not rest:
            return
    text = rest.lstrip(JSON_SPACE)[:RAW_PREFIX_BYTES]
    yield Unfinished("content after the end of the top-level array", text)


def _scan(
    data: bytes, start: int, end: int, state: _State, mode: ScanMode
) -> tuple[list[bytes | Oversized | Unfinished], int]:
    """Scan ``data[start:end]`` (``data[:start]`` was scanned before); return elements found."""
    view = np.frombuffer(data, dtype=np.uint8)[start:end]
    quotes = np.flatnonzero(view == _QUOTE)
    if len(quotes):
        escaped = [q for q in np.flatnonzero(view[quotes - 1] == _BACKSLASH) if quotes[q] > 0]
        if escaped:
            keep = np.ones(len(quotes), dtype=bool)
            for position in escaped:
                keep[position] = _backslash_run(view, int(quotes[position]) - 1) % 2 == 0
            quotes = quotes[keep]
    structural = np.flatnonzero(
        (view == _OPEN[0])
        | (view == _OPEN[1])
        | (view == _CLOSE[0])
        | (view == _CLOSE[1])
        | (view == _COMMA)
    )
    quotes_before = np.searchsorted(quotes, structural)
    outside = (quotes_before + int(state.in_string)) % 2 == 0
    structural = structural[outside]
    chars = view[structural]
    delta = np.where(np.isin(chars, _OPEN), 1, np.where(np.isin(chars, _CLOSE), -1, 0))
    depth_before = state.depth + np.cumsum(delta) - delta
    elements: list[bytes | Oversized | Unfinished] = []
    first = 0
    while first < len(structural) and not state.done:
        searching = state.element_depth is None
        for index, char, before in _interesting(chars, depth_before, state, first):
            _step(data, start + int(structural[index]), char, before, state, mode, elements)
            if state.done or (searching and state.element_depth is not None):
                first = index + 1  # the envelope's events array starts: rescan the rest
                break
        else:
            break
    state.depth += int(delta.sum())
    state.in_string = (len(quotes) + int(state.in_string)) % 2 == 1
    keep_from = state.element_start if state.element_start is not None else end
    if state.element_depth is None and mode is ScanMode.ENVELOPE:
        keep_from = max(end - 64, 0)  # enough to see a split '"events":' key
        if state.element_start is not None:
            keep_from = min(keep_from, state.element_start)
    return elements, keep_from


def _interesting(
    chars: np.ndarray, depth_before: np.ndarray, state: _State, first: int
) -> Iterator[tuple[int, int, int]]:
    """Indexes (from ``first``) of the structural characters that matter in this state."""
    chars, depth_before = chars[first:], depth_before[first:]
    level = state.element_depth
    if level is None:
        mask = (depth_before == 1) & (chars == ord("["))
    elif level == 0:
        mask = ((depth_before == 0) & np.isin(chars, _OPEN)) | (
            (depth_before == 1) & np.isin(chars, _CLOSE)
        )
    else:
        mask = ((depth_before == level - 1) & np.isin(chars, _OPEN)) | (
            (depth_before == level) & ((chars == _COMMA) | np.isin(chars, _CLOSE))
        )
    for index in np.flatnonzero(mask):
        yield first + int(index), int(chars[index]), int(depth_before[index])


def _step(
    data: bytes,
    pos: int,
    char: int,
    before: int,
    state: _State,
    mode: ScanMode,
    out: list[bytes | Oversized | Unfinished],
) -> None:
    level = state.element_depth
    if level is None:
        # Envelope: is this '[' the value of the top-level "events" key?
        if state.key_pattern.search(data, max(0, pos - 64), pos):
            state.element_depth = 2
            state.element_start = pos + 1
        return
    if level == 0:
        if char in _OPEN and before == 0:
            state.element_start = pos
        elif char in _CLOSE and before == 1 and state.oversized is not None:
            out.append(state.oversized)
            state.oversized = None
        elif char in _CLOSE and before == 1 and state.element_start is not None:
            out.append(data[state.element_start : pos + 1])
            state.element_start = None
        return
    if before == level - 1 and char in _OPEN:
        state.element_start = pos + 1
    elif before == level and (char == _COMMA or char in _CLOSE):
        # A comma or the closing bracket at the array's own level ends an element.
        if state.oversized is not None:
            out.append(state.oversized)
            state.oversized = None
        elif char == _COMMA or (char in _CLOSE and state.element_start is not None):
            text = data[state.element_start or 0 : pos].strip(JSON_SPACE)
            if text or char == _COMMA:
                out.append(text)
        if char in _CLOSE:
            state.element_start = None
            if mode is not ScanMode.DOCUMENTS:
                state.done = True
                state.element_start = pos + 1  # what follows is kept, to be checked
        else:
            state.element_start = pos + 1


# -- structure of one record, for limits checked before any parser sees it -----------------------

_DEPTH_STEP = np.zeros(256, dtype=np.int8)
_DEPTH_STEP[list(_OPEN)] = 1
_DEPTH_STEP[list(_CLOSE)] = -1


def string_quotes(view: np.ndarray) -> np.ndarray:
    """Positions of the quotes that open or close strings (escaped quotes left out).

    Backslash runs are measured with numpy, so a record made of escapes costs no Python loop.
    """
    quotes = np.flatnonzero(view == _QUOTE)
    candidates = quotes[(quotes > 0) & (view[np.maximum(quotes - 1, 0)] == _BACKSLASH)]
    if not len(candidates):
        return quotes
    slashes = np.flatnonzero(view == _BACKSLASH)
    run_first = np.ones(len(slashes), dtype=bool)
    run_first[1:] = slashes[1:] != slashes[:-1] + 1
    run_start = np.maximum.accumulate(np.where(run_first, slashes, 0))
    runs = candidates - run_start[np.searchsorted(slashes, candidates - 1)]
    escaped = candidates[runs % 2 == 1]
    return np.setdiff1d(quotes, escaped, assume_unique=True)


def depth_profile(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(positions, nesting depth after each) of the brackets outside strings of one text."""
    view = np.frombuffer(text, dtype=np.uint8)
    step = _DEPTH_STEP[view]
    brackets = np.flatnonzero(step)
    if not len(brackets):
        return brackets, brackets
    quotes = string_quotes(view)
    brackets = brackets[np.searchsorted(quotes, brackets) % 2 == 0]
    return brackets, np.cumsum(step[brackets], dtype=np.int64)


def nesting_depth(text: bytes) -> int:
    """How deeply arrays and objects nest in one JSON text (0 for a scalar).

    Counted without parsing, so a record nested 100,000 levels costs a numpy pass, never a
    recursion; a text with few brackets is answered without looking for strings.
    """
    if text.count(b"[") + text.count(b"{") == 0:
        return 0
    _, depths = depth_profile(text)
    return int(depths.max()) if len(depths) else 0


def first_value_end(text: bytes) -> int | None:
    """The offset just after the first top-level object or array of ``text`` (which starts
    with it, after whitespace), or None when it does not end within ``text``."""
    brackets, depths = depth_profile(text)
    closed = np.flatnonzero(depths == 0)
    return int(brackets[closed[0]]) + 1 if len(closed) else None


def top_level_events_array(text: bytes) -> bool:
    """Whether the top-level object of ``text`` has an ``"events"`` key holding an array,
    seen without the object having to end (an envelope too big to parse at once)."""
    brackets, depths = depth_profile(text)
    opens = brackets[(depths == 2) & (np.frombuffer(text, dtype=np.uint8)[brackets] == ord("["))]
    return any(_EVENTS_KEY.search(text, max(0, int(pos) - 64), int(pos)) for pos in opens[:1000])


def _key_pattern(key: str) -> re.Pattern[bytes]:
    quoted = json.dumps(key).encode()
    return re.compile(re.escape(quoted) + rb"\s*:\s*$")


def _backslash_run(view: np.ndarray, end: int) -> int:
    run = 0
    while end - run >= 0 and view[end - run] == _BACKSLASH:
        run += 1
    return run
