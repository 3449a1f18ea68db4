"""Where a byte string occurs in records held back to back in one buffer, per record.

The vectorised path keeps a chunk's records as one ``bytes`` and each record's
[start, end) in it. Looking for a rare string (a backslash, ``null``, a key) record by
record costs a Python call per record; ``bytes.find`` over the whole span costs one per
occurrence, at memchr's speed.
"""

from __future__ import annotations

import numpy as np


def occurrences(data: bytes, low: int, high: int, needle: bytes) -> np.ndarray:
    """Start positions of ``needle`` in ``data[low:high]`` (overlapping ones too)."""
    found: list[int] = []
    find, add = data.find, found.append
    at = find(needle, low, high)
    while at >= 0:
        add(at)
        at = find(needle, at + 1, high)
    return np.array(found, dtype=np.int64)


def record_of(found: np.ndarray, length: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The record (index into ``starts``, which must increase) holding each occurrence of
    ``length`` bytes at ``found``; -1 where it lies in no record whole."""
    row = np.searchsorted(starts, found, side="right") - 1
    inside = (row >= 0) & (found + length <= ends[np.maximum(row, 0)])
    return np.where(inside, row, -1)


def counts_per_record(
    data: bytes, starts: np.ndarray, ends: np.ndarray, needle: bytes
) -> np.ndarray:
    """How many times ``needle`` occurs in each record ``data[starts:ends]``."""
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    found = occurrences(data, int(starts.min()), int(ends.max()), needle)
    rows = record_of(found, len(needle), starts, ends)
    return np.bincount(rows[rows >= 0], minlength=len(starts))
