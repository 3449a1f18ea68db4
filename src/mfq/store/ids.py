"""Event-id index: two independent 64-bit hashes per stored id, for duplicate detection.

Each batch writes its ids' hashes next to its Parquet files, so checking a new batch
against millions of stored ids reads 16 bytes per event instead of every id. A false
duplicate would need both 64-bit hashes of two different ids to collide.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

_KEY_1 = "mfq-event-ids-01"
_KEY_2 = "mfq-event-ids-02"


def hash_ids(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An (n, 2) uint64 array of the two hashes of each id."""
    from pandas.util import hash_array

    values = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    if not len(values):
        return np.empty((0, 2), dtype=np.uint64)
    first = hash_array(values, hash_key=_KEY_1, categorize=False)
    second = hash_array(values, hash_key=_KEY_2, categorize=False)
    return np.column_stack((first, second))


class _SortedPairs:
    """Hash pairs sorted by the first hash (first and second kept as separate arrays)."""

    def __init__(self, first: np.ndarray, second: np.ndarray, presorted: bool = False) -> None:
        if not presorted:
            order = np.argsort(first, kind="stable")  # runs of sorted input merge in linear time
            first, second = first[order], second[order]
        self.first = first
        self.second = second

    def __len__(self) -> int:
        return len(self.first)

    def contains(self, pairs: np.ndarray) -> np.ndarray:
        if not len(self.first):
            return np.zeros(len(pairs), dtype=bool)
        pos = np.minimum(np.searchsorted(self.first, pairs[:, 0]), len(self.first) - 1)
        found: np.ndarray = (self.first[pos] == pairs[:, 0]) & (self.second[pos] == pairs[:, 1])
        return found

    def merged(self, other: _SortedPairs) -> _SortedPairs:
        return _SortedPairs(
            np.concatenate((self.first, other.first)), np.concatenate((self.second, other.second))
        )


class IdIndex:
    """A set of id hashes: those stored, plus those added during the current ingest."""

    def __init__(self, stored: np.ndarray) -> None:
        self._parts: list[_SortedPairs] = []
        if len(stored):
            self._parts.append(_SortedPairs(stored[:, 0].copy(), stored[:, 1].copy()))

    @classmethod
    def load(cls, paths: list[Path]) -> IdIndex:
        """The index of every committed batch's id file."""
        arrays = [np.load(p) for p in paths]
        return cls(np.concatenate(arrays) if arrays else np.empty((0, 2), dtype=np.uint64))

    def contains(self, pairs: np.ndarray) -> np.ndarray:
        """Boolean mask: which of these id hashes are already in the index."""
        found = np.zeros(len(pairs), dtype=bool)
        for part in self._parts:
            found |= part.contains(pairs)
        return found

    def add(self, pairs: np.ndarray) -> None:
        """Add hashes of ids just accepted; parts merge like a log-structured tree."""
        if not len(pairs):
            return
        self._parts.append(_SortedPairs(pairs[:, 0].copy(), pairs[:, 1].copy()))
        while len(self._parts) > 1 and len(self._parts[-1]) * 4 >= len(self._parts[-2]):
            newest = self._parts.pop()
            self._parts.append(self._parts.pop().merged(newest))


def first_occurrences(pairs: np.ndarray) -> np.ndarray:
    """Boolean mask keeping the first of every repeated id hash within one array."""
    if not len(pairs):
        return np.zeros(0, dtype=bool)
    order = np.lexsort((np.arange(len(pairs)), pairs[:, 1], pairs[:, 0]))
    ordered = pairs[order]
    repeat = np.zeros(len(pairs), dtype=bool)
    repeat[1:] = (ordered[1:, 0] == ordered[:-1, 0]) & (ordered[1:, 1] == ordered[:-1, 1])
    mask = np.ones(len(pairs), dtype=bool)
    mask[order[repeat]] = False
    return mask


def save(path: Path, pairs: np.ndarray) -> None:
    """Write a batch's id hashes."""
    with path.open("wb") as handle:
        np.save(handle, pairs)
