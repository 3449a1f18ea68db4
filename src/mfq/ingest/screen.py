"""Limits checked on every record before a parser sees it: length, nesting depth, UTF-8.

pyarrow's JSON reader and Python's ``json`` recurse once per nesting level (100,000 levels
crash the process), and a byte that is not UTF-8 would pass pyarrow and poison the Parquet
files. So every chunk is screened first, with numpy and C-level checks, and a record that
breaks a limit leaves the chunk as a reject with its reason; the others go on untouched.
"""

from __future__ import annotations

import numpy as np

from mfq.ingest.batch import RejectedRecord
from mfq.ingest.containers import TOO_LONG, RecordChunk, too_long_reason
from mfq.ingest.jsonscan import nesting_depth
from mfq.ingest.record import RejectCode
from mfq.ingest.validate import raw_text

#: The reject code of a record nested deeper than ``Settings.max_depth``.
TOO_DEEP = "too_deep"
_OPEN_BRACE = ord("{")  # '[' | 0x20 is '{' too, and no other byte is: one test finds both
#: Rows whose brackets are counted together before any row is looked at alone.
_GROUP_ROWS = 64


def screen_chunk(chunk: RecordChunk, max_record_bytes: int, max_depth: int) -> RecordChunk:
    """The chunk without its records that are too long, too deep or not UTF-8 (those
    become rejects of the chunk, numbered as they were)."""
    if not len(chunk) or chunk.originals is not None:
        return chunk  # (converted OTLP records: their reader checked the source text)
    starts, ends = _bounds(chunk)
    reasons: dict[int, tuple[str, str]] = {}
    for row in np.flatnonzero(ends - starts > max_record_bytes).tolist():
        reasons[row] = (TOO_LONG, too_long_reason(max_record_bytes))
    for row in _deep_rows(chunk.data, starts, ends, max_depth):
        reasons.setdefault(row, (TOO_DEEP, f"nested deeper than {max_depth} levels (max_depth)"))
    for row, reason in _non_utf8_rows(chunk.data, starts, ends):
        reasons.setdefault(row, (RejectCode.NOT_JSON, reason))
    if not reasons:
        return chunk
    return _without(chunk, starts, ends, reasons)


def _bounds(chunk: RecordChunk) -> tuple[np.ndarray, np.ndarray]:
    if chunk.bounds is not None:
        return chunk.bounds
    view = np.frombuffer(chunk.data, dtype=np.uint8)
    newlines = np.flatnonzero(view == 10)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines, [len(view)])).astype(np.int64)
    return starts, ends


def _deep_rows(data: bytes, starts: np.ndarray, ends: np.ndarray, max_depth: int) -> list[int]:
    """Rows nested deeper than ``max_depth``: only rows with that many opening brackets
    are measured (a record cannot nest deeper than its count of ``{`` and ``[``).

    Brackets are counted per group of rows first: a group holding no more than
    ``max_depth`` of them (nearly every group) has no row to look at."""
    if len(data) <= max_depth:
        return []
    view = np.frombuffer(data, dtype=np.uint8)
    opening = (view | 0x20) == _OPEN_BRACE
    found: list[int] = []
    for first in range(0, len(starts), _GROUP_ROWS):
        stop = min(first + _GROUP_ROWS, len(starts))
        low, high = int(starts[first]), int(ends[stop - 1])
        if np.count_nonzero(opening[low:high]) <= max_depth:
            continue
        opens = np.flatnonzero(opening[low:high]) + low
        rows = np.searchsorted(starts[first:stop], opens, side="right") - 1
        counts = np.bincount(rows, minlength=stop - first)
        found += [
            row
            for row in (np.flatnonzero(counts > max_depth) + first).tolist()
            if nesting_depth(data[int(starts[row]) : int(ends[row])]) > max_depth
        ]
    return found


def _non_utf8_rows(data: bytes, starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, str]]:
    """Rows holding bytes that are not UTF-8, with the decoder's reason (as the record
    path words it). Pure ASCII, the usual case, is settled by one C-level test."""
    if data.isascii():
        return []
    found: list[tuple[int, str]] = []
    view = memoryview(data)
    position = 0
    while position < len(data):
        try:
            str(view[position:], "utf-8")
            break
        except UnicodeDecodeError as err:
            row = int(np.searchsorted(starts, position + err.start, side="right")) - 1
            record = data[int(starts[row]) : int(ends[row])]
            try:
                record.decode("utf-8")
            except UnicodeDecodeError as own:
                found.append((row, f"not JSON: {own}"))
            position = int(ends[row]) + 1
    return found


def _without(
    chunk: RecordChunk,
    starts: np.ndarray,
    ends: np.ndarray,
    reasons: dict[int, tuple[str, str]],
) -> RecordChunk:
    keep = np.ones(len(starts), dtype=bool)
    keep[list(reasons)] = False
    rejects = [
        RejectedRecord(
            int(chunk.numbers[row]),
            code,
            reason,
            raw_text(chunk.data[int(starts[row]) : int(ends[row])]),
        )
        for row, (code, reason) in sorted(reasons.items())
    ]
    kept = np.flatnonzero(keep).tolist()
    data = b"\n".join(chunk.data[int(starts[r]) : int(ends[r])] for r in kept)
    return RecordChunk(
        data,
        chunk.numbers[keep],
        rejects=sorted([*chunk.rejects, *rejects], key=lambda r: r.number),
    )
