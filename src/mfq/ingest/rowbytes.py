"""Where a byte string occurs in records held back to back in one buffer, per record.

The vectorised path keeps a chunk's records as one ``bytes`` and each record's
[start, end) in it. Looking for a rare string (a backslash, ``null``, a key) record by
record costs a Python call per record; ``bytes.find`` over the whole span costs one per
occurrence, at memchr's speed (``records_holding``, which skips the rest of a record
once found), and numpy over the bytes none (``occurrences``, every place, where each
record holds one: an epoch time's key).
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np


def occurrences(data: bytes, low: int, high: int, needle: bytes) -> np.ndarray:
    """Start positions of ``needle`` in ``data[low:high]`` (overlapping ones too).

    With numpy over the bytes, not a ``find`` per occurrence: the places of one of the
    needle's bytes (one not among JSON's commonest) are kept where the others follow.
    A key found once per record (an epoch time's) took a Python call per record."""
    width = len(needle)
    if not width or high - low < width:
        return np.zeros(0, dtype=np.int64)
    view = np.frombuffer(data, dtype=np.uint8)[low:high]
    wanted = np.frombuffer(needle, dtype=np.uint8)
    lead = _rarest_place(needle)
    found = np.flatnonzero(view[lead : len(view) - (width - 1 - lead)] == wanted[lead])
    for place in range(width):
        if place != lead and len(found):
            found = found[view[found + place] == wanted[place]]
    return found.astype(np.int64) + low


#: Bytes frequent in any JSON text: a needle's other bytes narrow a search sooner.
_COMMON = frozenset(b'":, {}[]')


def _rarest_place(needle: bytes) -> int:
    """The place of the needle's last byte that is not one of JSON's commonest."""
    for place in range(len(needle) - 1, -1, -1):
        if needle[place] not in _COMMON:
            return place
    return 0


def record_of(found: np.ndarray, length: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The record (index into ``starts``, which must increase) holding each occurrence of
    ``length`` bytes at ``found``; -1 where it lies in no record whole."""
    row = np.searchsorted(starts, found, side="right") - 1
    inside = (row >= 0) & (found + length <= ends[np.maximum(row, 0)])
    return np.where(inside, row, -1)


def records_holding(data: bytes, starts: np.ndarray, ends: np.ndarray, needle: bytes) -> np.ndarray:
    """Which records ``data[starts:ends]`` (``starts`` increasing) hold ``needle``: one
    search per record holding it, the rest of that record skipped."""
    holding = np.zeros(len(starts), dtype=bool)
    if not len(starts):
        return holding
    begins, stops = starts.tolist(), ends.tolist()
    find, high = data.find, stops[-1]
    at = find(needle, begins[0], high)
    while at >= 0:
        row = bisect_right(begins, at) - 1
        if at + len(needle) <= stops[row]:
            holding[row] = True
            at = find(needle, stops[row], high)
        else:  # (across a record's end: look on from the next byte)
            at = find(needle, at + 1, high)
    return holding
