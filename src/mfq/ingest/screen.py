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
#: Bytes whose brackets are counted together before any row is looked at (a multiple of
#: 8, at most 8 * 255: see ``_bracket_bounds``).
_WINDOW_BYTES = 1024


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

    Brackets are counted per window of bytes first (``_bracket_bounds``), all at once: a
    row whose windows hold no more than ``max_depth`` of them (nearly every row) is not
    looked at. Only when some row's windows hold more are the rows' own counts taken."""
    if len(data) <= max_depth:
        return []
    view = np.frombuffer(data, dtype=np.uint8)
    opening = (view | 0x20) == _OPEN_BRACE
    if not bool(np.any(_bracket_bounds(opening, starts, ends) > max_depth)):
        return []
    opens = np.flatnonzero(opening)
    rows = np.searchsorted(starts, opens, side="right") - 1
    inside = (rows >= 0) & (opens < ends[np.maximum(rows, 0)])
    counts = np.bincount(rows[inside], minlength=len(starts))
    return [
        row
        for row in np.flatnonzero(counts > max_depth).tolist()
        if nesting_depth(data[int(starts[row]) : int(ends[row])]) > max_depth
    ]


def _bracket_bounds(opening: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each row ``[start, end)``, a count no smaller than its opening brackets': the
    brackets of the windows of ``_WINDOW_BYTES`` its bytes touch.

    The windows are counted eight bytes at a time: the mask's bytes (0 or 1) summed as
    64-bit words, each byte lane counting one position of the word, then the lanes added
    (a lane holds at most ``_WINDOW_BYTES / 8``, so none carries into the next): about a
    tenth of a loop over groups of rows, which held the interpreter's lock."""
    whole = len(opening) // _WINDOW_BYTES
    full = whole * _WINDOW_BYTES
    lanes = opening[:full].view(np.uint64).reshape(whole, _WINDOW_BYTES // 8).sum(axis=1)
    per_window = lanes.view(np.uint8).reshape(whole, 8).sum(axis=1, dtype=np.int64)
    running = np.zeros(whole + 2, dtype=np.int64)
    np.cumsum(per_window, out=running[1 : whole + 1])
    running[whole + 1] = running[whole] + np.count_nonzero(opening[full:])
    first = starts // _WINDOW_BYTES
    last = np.maximum(ends - 1, starts) // _WINDOW_BYTES
    bounds: np.ndarray = running[last + 1] - running[first]
    return bounds


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
