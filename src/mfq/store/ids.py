"""Event-id index: two independent 64-bit hashes per stored id, for duplicate detection.

Each batch writes its ids' hashes next to its Parquet files, so checking a new batch
against millions of stored ids reads 16 bytes per event instead of every id. A false
duplicate would need both 64-bit hashes of two different ids to collide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_POLY_SEED = np.uint64(0x9E3779B97F4A7C15)
_POLY_MULT = np.uint64(0xD6E8FEB86659FD93)
#: Ids longer than this are hashed one by one (rare; keeps the vectorised loop short).
_LONG_ID = 128
_COPY_BYTES = 16 * 1024 * 1024
#: Trace ids looked at first for a repeat (see ``trace_keys``).
_TRACE_PROBE = 2048


_MIX_FIRST = np.uint64(0xBF58476D1CE4E5B9)
_MIX_SECOND = np.uint64(0x94D049BB133111EB)
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))
#: The bits of a word that hold a text's last ``r`` bytes (``r`` < 8), little-endian; 8
#: and more: the whole word.
_BYTE_MASKS = np.array([(1 << (8 * r)) - 1 for r in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the whole word."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))  # type: ignore[no-any-return]


def _mix_in_place(values: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """``_mix`` written over ``values`` (``scratch``: as long, its contents lost): no new
    array per step, which on 100,000s of words cost more than the arithmetic."""
    np.right_shift(values, _SHIFTS[0], out=scratch)
    values ^= scratch
    values *= _MIX_FIRST
    np.right_shift(values, _SHIFTS[1], out=scratch)
    values ^= scratch
    values *= _MIX_SECOND
    np.right_shift(values, _SHIFTS[2], out=scratch)
    values ^= scratch
    return values


def mix64(values: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each 64-bit word (splitmix64's finaliser)."""
    return _mix(values)


def hash_ids(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An (n, 2) uint64 array of two independent hashes of each id (a pure function of it).

    FNV-1a and a polynomial hash run over the UTF-8 bytes of all ids at once, one byte
    position per numpy step.
    """
    return _hashes(ids, both=True)


def first_hashes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``hash_ids(values)[:, 0]`` without computing the second hash (for sketches and
    trace keys, which use one)."""
    return _hashes(values, both=False)[:, 0]


def _hashes(ids: pa.Array | pa.ChunkedArray, both: bool) -> np.ndarray:
    array = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    wide_offsets = pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type)
    if not (wide_offsets or pa.types.is_string(array.type) or pa.types.is_binary(array.type)):
        array = array.cast(pa.large_string())
        wide_offsets = True
    count = len(array)
    if not count:
        return np.empty((0, 2 if both else 1), dtype=np.uint64)
    # (Text read where it lies: a cast to 64-bit offsets would copy every byte.)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if wide_offsets else np.int32)[
        array.offset : array.offset + count + 1
    ].astype(np.int64)
    data = np.frombuffer(array.buffers()[2] or b"", dtype=np.uint8)
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    first = np.full(count, _FNV_OFFSET, dtype=np.uint64)
    second = np.full(count, _POLY_SEED, dtype=np.uint64)
    scratch = np.empty(count, dtype=np.uint64)
    short = np.where(lengths <= _LONG_ID, lengths, 0)
    for rows, word in _words(data, starts, short):
        # A row's hash covers its own words only (``rows``: those that have this one).
        if rows is None:
            first ^= word
            first *= _FNV_PRIME
            _mix_in_place(first, scratch)
            if both:
                second *= _POLY_MULT
                np.bitwise_xor(word, _POLY_SEED, out=word)
                second += word
            continue
        some = first[rows]
        some ^= word
        some *= _FNV_PRIME
        first[rows] = _mix_in_place(some, np.empty_like(some))
        if both:
            others = second[rows]
            others *= _POLY_MULT
            np.bitwise_xor(word, _POLY_SEED, out=word)
            others += word
            second[rows] = others
    size = lengths.astype(np.uint64)
    first ^= size
    _mix_in_place(first, scratch)
    if both:
        size *= _FNV_PRIME
        second += size
        pairs = np.column_stack((first, _mix_in_place(second, scratch)))
    else:
        pairs = first[:, None]
    for row in np.flatnonzero(lengths > _LONG_ID).tolist():
        digest = hashlib.blake2b(
            data[starts[row] : starts[row] + lengths[row]].tobytes(), digest_size=16
        ).digest()
        pairs[row] = np.frombuffer(digest, dtype=np.uint64)[: pairs.shape[1]]
    return pairs


def _words(
    data: np.ndarray, starts: np.ndarray, short: np.ndarray
) -> Iterator[tuple[np.ndarray | None, np.ndarray]]:
    """Each text's bytes (``short`` of them from ``starts``; 0 for a long one) as 64-bit
    little-endian words, zeros after its end: for each word position, the rows that have
    a word there (None: every row) and their words, a new array each."""
    width = -(-int(short.max()) // 8) if len(short) else 0
    if not width:
        return
    low, high = int(starts[0]), int((starts + short).max())
    length = int(short[0])
    if bool(np.all(short == length)):
        # Texts of one length (the usual ids) lie back to back: one reshape, padded with
        # zeros to whole words in one copy (none when the length is whole words), read
        # as words; each word position is one strided copy (a copy per position of its
        # 8 bytes into a zeroed array took 5-10 times as long).
        texts = data[low : low + len(starts) * length].reshape(-1, length)
        whole = texts
        if length != 8 * width:
            whole = np.zeros((len(starts), 8 * width), dtype=np.uint8)
            whole[:, :length] = texts
        packed = np.ascontiguousarray(whole).view(np.uint64)
        for column in range(width):
            yield None, packed[:, column].copy()
        return
    padded = np.zeros(high - low + 8, dtype=np.uint8)
    padded[: high - low] = data[low:high]
    # Every byte position's next 8 bytes as one (unaligned) word: a word is one gather.
    words = np.lib.stride_tricks.as_strided(
        np.frombuffer(padded.data, dtype=np.uint64, count=len(padded) // 8),
        shape=(high - low + 1,),
        strides=(1,),
        writeable=False,
    )
    places = starts - low
    for column in range(width):
        left = short - 8 * column
        held = left > 0
        rows = None if bool(np.all(held)) else np.flatnonzero(held)
        here = places if rows is None else places[rows]
        word = words[here + 8 * column]
        word &= _BYTE_MASKS[np.minimum(left if rows is None else left[rows], 8)]
        yield rows, word


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

    def contains_sorted(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Which of these pairs (sorted by ``first``: looking up sorted keys walks the
        index once, cache-friendly) are held."""
        if not len(self.first):
            return np.zeros(len(first), dtype=bool)
        pos = np.minimum(np.searchsorted(self.first, first), len(self.first) - 1)
        return (self.first[pos] == first) & (self.second[pos] == second)  # type: ignore[no-any-return]

    def merged(self, other: _SortedPairs) -> _SortedPairs:
        """Both parts in one, merged in linear time (no sort of the whole)."""
        total = len(self) + len(other)
        places = np.searchsorted(self.first, other.first) + np.arange(len(other))
        from_other = np.zeros(total, dtype=bool)
        from_other[places] = True
        first = np.empty(total, dtype=self.first.dtype)
        second = np.empty(total, dtype=self.second.dtype)
        first[places], second[places] = other.first, other.second
        mine = ~from_other
        first[mine], second[mine] = self.first, self.second
        return _SortedPairs(first, second, presorted=True)


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
        order = np.argsort(pairs[:, 0])
        found = np.empty(len(pairs), dtype=bool)
        found[order] = self.contains_sorted(pairs[order, 0], pairs[order, 1])
        return found

    def contains_sorted(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """``contains`` of pairs given as their two hashes, sorted by the first."""
        found = np.zeros(len(first), dtype=bool)
        for part in self._parts:
            found |= part.contains_sorted(first, second)
        return found

    def add(self, pairs: np.ndarray) -> None:
        """Add hashes of ids just accepted; parts merge like a log-structured tree."""
        order = np.argsort(pairs[:, 0], kind="stable")
        self.add_sorted(pairs[order, 0], pairs[order, 1])

    def add_sorted(self, first: np.ndarray, second: np.ndarray) -> None:
        """``add`` of pairs given as their two hashes, sorted stably by the first."""
        if not len(first):
            return
        self._parts.append(_SortedPairs(first, second, presorted=True))
        while len(self._parts) > 1 and len(self._parts[-1]) * 4 >= len(self._parts[-2]):
            newest = self._parts.pop()
            self._parts.append(self._parts.pop().merged(newest))


def keep_new(index: IdIndex, ids: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``ids`` are new: seen neither earlier among them nor in ``index`` (the
    first of a repeated id counts); their hashes are added to ``index`` and returned."""
    return keep_new_pairs(index, hash_ids(ids))


def keep_new_pairs(index: IdIndex, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``keep_new`` of ids given as their hashes (``hash_ids``)."""
    # One stable sort by the first hash serves the three steps (repeats among the ids,
    # lookup in the index, the index's new part): a third of the work of sorting for each.
    order = np.argsort(pairs[:, 0], kind="stable")
    first, second = pairs[order, 0], pairs[order, 1]
    fresh = _first_in_sorted(first, second) & ~index.contains_sorted(first, second)
    index.add_sorted(first[fresh], second[fresh])
    keep = np.empty(len(pairs), dtype=bool)
    keep[order] = fresh
    return keep, pairs[keep]


def first_occurrences(pairs: np.ndarray) -> np.ndarray:
    """Boolean mask keeping the first of every repeated id hash within one array."""
    order = np.argsort(pairs[:, 0], kind="stable")  # stable: the first occurrence comes first
    mask = np.empty(len(pairs), dtype=bool)
    mask[order] = _first_in_sorted(pairs[order, 0], pairs[order, 1])
    return mask


def _first_in_sorted(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``first_occurrences`` of pairs already sorted stably by their first hash, in that
    order (the first occurrence of a repeated pair comes first)."""
    mask = np.ones(len(first), dtype=bool)
    candidates = np.flatnonzero(first[1:] == first[:-1])
    if not len(candidates):
        return mask  # the usual case: no repeated id at all
    seen: set[tuple[int, int]] = set()
    for position in np.unique(np.concatenate((candidates, candidates + 1))).tolist():
        key = (int(first[position]), int(second[position]))
        if key in seen:
            mask[position] = False
        seen.add(key)
    return mask


def save(path: Path, pairs: np.ndarray) -> None:
    """Write a batch's id hashes."""
    with path.open("wb") as handle:
        np.save(handle, pairs)


def save_spilled(path: Path, spill: BinaryIO, count: int) -> None:
    """Write ``count`` id hash pairs read from ``spill`` (raw little-endian uint64 pairs)
    as the same ``.npy`` file ``save`` writes, copied over in slices (never all in memory)."""
    with path.open("wb") as handle:
        header = {"descr": "<u8", "fortran_order": False, "shape": (count, 2)}
        np.lib.format.write_array_header_1_0(handle, header)
        import shutil  # (an ingest's spill only)

        shutil.copyfileobj(spill, handle, _COPY_BYTES)


def _offsets_from_zero(text: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every chunk's text offsets start at 0. A sliced large string cast to a
    string can start further on, and pyarrow 26's ``ascii_lower`` then copies those
    offsets with only the bytes in use: an invalid array, read as other ids (or an
    error). ``utf8_lower`` reads such text correctly."""
    chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
    return all(
        not len(chunk) or np.frombuffer(chunk.buffers()[1], np.int32)[chunk.offset] == 0
        for chunk in chunks
    )


def trace_keys(trace_ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Sorted distinct 32-bit keys of trace ids, in any letter case (a file's trace index).

    A lookup hashes the id it wants the same way and opens only the files whose keys hold
    it; with a few thousand traces per file, a wrong candidate is one in a million.
    """
    import pyarrow.compute as pc

    present = trace_ids.drop_null()
    if not len(present):
        return np.empty(0, dtype=np.uint32)
    text = present.cast(pa.string())
    # Letters outside ASCII are lowered by Unicode's rules; ASCII text (hex trace ids)
    # the same by ``ascii_lower``, a tenth of the cost.
    ascii = pc.all(pc.string_is_ascii(text)).as_py() is not False
    lowered = pc.ascii_lower(text) if ascii and _offsets_from_zero(text) else pc.utf8_lower(text)
    # Repeats hash alike, and the keys are made distinct anyway: Arrow's ``unique`` only
    # saves hashing the repeats. Ids that do not repeat within their first ones (a trace
    # a few events long) are hashed as they are: its hash table would cost more.
    head = lowered.slice(0, _TRACE_PROBE)
    repeats = pc.count_distinct(head).as_py() < len(head)
    distinct = pc.unique(lowered) if repeats else lowered
    return sorted_distinct(first_hashes(distinct).astype(np.uint32))


def sorted_distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for a one-dimensional array: sorted, then each value unlike
    the one before. (np.unique asks numpy.ma whether its argument is masked, importing
    numpy.ma: a few percent of a short command's whole process.)"""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
