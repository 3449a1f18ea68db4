"""Streaming splitter for JSON documents too big to parse at once.

Finds the elements of a top-level array, of an envelope's ``events`` array, or of a stream
of concatenated (pretty-printed) documents, without decoding them: structural characters
outside strings are located with numpy, so the cost per byte stays in C. Each element's
text becomes one record for the normal record pipeline.
"""

from __future__ import annotations

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


class ScanMode(StrEnum):
    """Which values of the document are records."""

    ARRAY = "array"  # elements of a top-level array
    ENVELOPE = "envelope"  # elements of the top-level object's "events" array
    DOCUMENTS = "documents"  # each top-level value


@dataclass
class _State:
    in_string: bool = False
    depth: int = 0
    element_depth: int | None = None  # depth at which records live, once known
    element_start: int | None = None  # offset in the carried buffer
    done: bool = False


def split_elements(stream: BinaryIO, mode: ScanMode, read_size: int) -> Iterator[bytes]:
    """Yield the raw text of each record-level element, in order."""
    state = _State(element_depth={ScanMode.ARRAY: 1, ScanMode.DOCUMENTS: 0}.get(mode))
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
    if not state.done and state.element_start is not None:
        tail = buffer[state.element_start :].strip()
        if tail:
            yield tail  # an unterminated element: the record path will reject it


def _scan(
    data: bytes, start: int, end: int, state: _State, mode: ScanMode
) -> tuple[list[bytes], int]:
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
    elements: list[bytes] = []
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
    data: bytes, pos: int, char: int, before: int, state: _State, mode: ScanMode, out: list[bytes]
) -> None:
    level = state.element_depth
    if level is None:
        # Envelope: is this '[' the value of the top-level "events" key?
        if _EVENTS_KEY.search(data, max(0, pos - 64), pos):
            state.element_depth = 2
            state.element_start = pos + 1
        return
    if level == 0:
        if char in _OPEN and before == 0:
            state.element_start = pos
        elif char in _CLOSE and before == 1 and state.element_start is not None:
            out.append(data[state.element_start : pos + 1])
            state.element_start = None
        return
    if before == level - 1 and char in _OPEN:
        state.element_start = pos + 1
    elif before == level and (char == _COMMA or char in _CLOSE):
        # A comma or the closing bracket at the array's own level ends an element.
        if char == _COMMA or (char in _CLOSE and state.element_start is not None):
            text = data[state.element_start or 0 : pos].strip()
            if text or char == _COMMA:
                out.append(text)
        if char in _CLOSE:
            state.element_start = None
            if mode is not ScanMode.DOCUMENTS:
                state.done = True
        else:
            state.element_start = pos + 1


def _backslash_run(view: np.ndarray, end: int) -> int:
    run = 0
    while end - run >= 0 and view[end - run] == _BACKSLASH:
        run += 1
    return run
