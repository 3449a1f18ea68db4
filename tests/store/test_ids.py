"""The id index: hash pairs found exactly, whatever order they were added in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mfq.store import ids

PAIRS = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), min_size=0, max_size=60).map(
    lambda rows: np.array(rows, dtype=np.uint64).reshape(-1, 2)
)


#: Pairs as ids give them: the second hash follows from the first (two ids never share
#: both), few first hashes so that parts overlap.
ID_PAIRS = st.lists(st.integers(0, 40), max_size=60).map(
    lambda firsts: np.array([(f, f * 7 + 1) for f in firsts], dtype=np.uint64).reshape(-1, 2)
)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(ID_PAIRS, min_size=1, max_size=8), probe=ID_PAIRS)
def test_index_finds_exactly_the_pairs_added(parts: list[np.ndarray], probe: np.ndarray) -> None:
    """Parts merge as they are added (linearly, never sorted whole); a pair is found when
    it was added, in any part, and only then."""
    index = ids.IdIndex(parts[0])
    for part in parts[1:]:
        index.add(part)
    added = {(int(a), int(b)) for part in parts for a, b in part}
    expected = [(int(a), int(b)) in added for a, b in probe]
    assert index.contains(probe).tolist() == expected


@settings(max_examples=200, deadline=None)
@given(left=PAIRS, right=PAIRS)
def test_merged_parts_stay_sorted_and_keep_every_pair(left: np.ndarray, right: np.ndarray) -> None:
    a = ids._SortedPairs(left[:, 0].copy(), left[:, 1].copy())
    b = ids._SortedPairs(right[:, 0].copy(), right[:, 1].copy())
    merged = a.merged(b)
    assert bool(np.all(merged.first[1:] >= merged.first[:-1]))
    pairs = sorted(zip(merged.first.tolist(), merged.second.tolist(), strict=True))
    both = sorted(
        [
            *zip(left[:, 0].tolist(), left[:, 1].tolist(), strict=True),
            *zip(right[:, 0].tolist(), right[:, 1].tolist(), strict=True),
        ]
    )
    assert pairs == both


def test_spilled_hashes_make_the_file_save_writes(tmp_path: Path) -> None:
    pairs = np.arange(20, dtype=np.uint64).reshape(10, 2) * np.uint64(2**61 + 3)
    ids.save(tmp_path / "saved.npy", pairs)
    with (tmp_path / "spill").open("w+b") as spill:
        spill.write(pairs[:4].tobytes())
        spill.write(pairs[4:].tobytes())
        spill.seek(0)
        ids.save_spilled(tmp_path / "spilled.npy", spill, len(pairs))
    assert (tmp_path / "spilled.npy").read_bytes() == (tmp_path / "saved.npy").read_bytes()
    assert np.array_equal(np.load(tmp_path / "spilled.npy"), pairs)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.text(max_size=200) | st.none(), max_size=40))
def test_first_hashes_are_the_first_of_the_pairs(values: list[str | None]) -> None:
    """Short, long (hashed by blake2b), empty and equal-length ids alike."""
    array = pa.array([v for v in values if v is not None], pa.string())
    assert ids.first_hashes(array).tolist() == ids.hash_ids(array)[:, 0].tolist()


_MASK = (1 << 64) - 1


def _mix_reference(value: int) -> int:
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & _MASK
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _pair_reference(text: bytes) -> tuple[int, int]:
    """The two hashes by their definition, one id at a time: FNV-1a (each step mixed)
    and a polynomial hash over the bytes as zero-padded little-endian 64-bit words, then
    the length; ids over 128 bytes by BLAKE2b-128."""
    if len(text) > 128:
        import hashlib

        digest = hashlib.blake2b(text, digest_size=16).digest()
        return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")
    first, second = 0xCBF29CE484222325, 0x9E3779B97F4A7C15
    for at in range(0, len(text), 8):
        word = int.from_bytes(text[at : at + 8].ljust(8, b"\0"), "little")
        first = _mix_reference(((first ^ word) * 0x100000001B3) & _MASK)
        second = (second * 0xD6E8FEB86659FD93 + (word ^ 0x9E3779B97F4A7C15)) & _MASK
    size = len(text)
    return _mix_reference(first ^ size), _mix_reference((second + size * 0x100000001B3) & _MASK)


def test_hashes_are_the_ones_stored_by_earlier_versions() -> None:
    """The id files and sketches of every store hold these: they never change."""
    values = ["", "a", "evt_00000001", "é€😀", "x" * 8, "y" * 129]
    expected = [
        (0xF52A15E9A9B5E89B, 0xE220A8397B1DCDAF),
        (0x0ADDCFAB72E610C8, 0x49C368275DDD35AB),
        (0xD138EC82B11D40D7, 0x0B60E871F98E59A6),
        (0x7955B9CE163F51ED, 0x3FF72C1A03D48878),
        (0x3C7B2C0100CA069F, 0x7CA5CAC4F69E1C8C),
        (0x8BA79BB22EA78713, 0x1B6154BA163C69F6),
    ]
    assert [tuple(pair) for pair in ids.hash_ids(pa.array(values)).tolist()] == expected
    assert [_pair_reference(v.encode()) for v in values] == expected


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.text(max_size=140)
        | st.sampled_from(["", "a" * 7, "b" * 8, "c" * 9, "d" * 16, "e" * 128, "f" * 129]),
        max_size=40,
    ),
    kind=st.sampled_from([pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]),
    cut=st.integers(0, 3),
    chunked=st.booleans(),
)
def test_hashes_follow_their_definition(
    values: list[str], kind: pa.DataType, cut: int, chunked: bool
) -> None:
    """Any texts (lengths across word ends, one length or many, long ones, empty ones),
    as any string or binary type, sliced or in chunks: each id's pair by the definition."""
    raw = [v.encode("utf-8", "surrogatepass") for v in values]
    array = pa.array(
        raw
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
        else [r.decode("utf-8", "surrogatepass") for r in raw],
        kind,
    )
    array = array.slice(min(cut, len(array)))
    column = pa.chunked_array([array.slice(0, len(array) // 2), array.slice(len(array) // 2)], kind)
    given_ids = column if chunked else array
    expected = [_pair_reference(r) for r in raw[min(cut, len(raw)) :]]
    assert [tuple(pair) for pair in ids.hash_ids(given_ids).tolist()] == expected
    assert ids.first_hashes(given_ids).tolist() == [first for first, _ in expected]


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(1, 140),
    seeds=st.lists(st.integers(0, 10**6), min_size=1, max_size=30),
    odd=st.text(min_size=0, max_size=3),
    offset=st.integers(0, 3),
)
def test_ids_of_one_length_hash_as_any_ids(
    length: int, seeds: list[int], odd: str, offset: int
) -> None:
    """Ids of one length (hashed from their bytes back to back) get the hashes they get
    beside an id of another length (gathered one by one), sliced arrays too."""
    same = [str(seed).rjust(length, "x")[:length] for seed in seeds]
    mixed = pa.array(["y" * (length + 1) + odd, *same])
    alone = pa.array(["z" * length] * offset + same).slice(offset)
    assert ids.hash_ids(alone).tolist() == ids.hash_ids(mixed)[1:].tolist()


@settings(max_examples=200, deadline=None)
@given(
    stored=st.lists(st.integers(0, 30), max_size=20),
    chunks=st.lists(st.lists(st.integers(0, 30), max_size=25), max_size=6),
)
def test_keep_new_keeps_the_first_of_each_id_not_stored(
    stored: list[int], chunks: list[list[int]]
) -> None:
    """Chunk by chunk, an id is kept the first time it is seen and only when not stored;
    the hashes returned are the kept ids', in input order (the batch's ids file)."""
    index = ids.IdIndex(ids.hash_ids(pa.array([f"ev_{n}" for n in stored], pa.string())))
    seen = {f"ev_{n}" for n in stored}
    for chunk in chunks:
        names = [f"ev_{n}" for n in chunk]
        keep, pairs = ids.keep_new(index, pa.array(names, pa.string()))
        expected = []
        for name in names:
            expected.append(name not in seen)
            seen.add(name)
        assert keep.tolist() == expected
        kept = [name for name, fresh in zip(names, expected, strict=True) if fresh]
        assert pairs.tolist() == ids.hash_ids(pa.array(kept, pa.string())).tolist()


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=60))
def test_sorted_distinct_is_np_unique(values: list[int]) -> None:
    array = np.array(values, dtype=np.int64)
    assert np.array_equal(ids.sorted_distinct(array), np.unique(array))
    assert ids.sorted_distinct(array).dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(
        st.none() | st.text(alphabet="abcdefABCDEF0123456789-ÄäÖσΣİ", max_size=12), max_size=300
    ),
    split=st.integers(0, 300),
)
@example(texts=["ABC", "abc", "ÄB", "äb", "İd", None], split=2)
def test_trace_keys_lower_letters_as_unicode_does(texts: list[str | None], split: int) -> None:
    """ASCII trace ids are lowered by ``ascii_lower``, others by Unicode's rules: the same
    keys as lowering every id by ``utf8_lower``, in one chunk or two (one all ASCII)."""
    import pyarrow.compute as pc

    column = pa.chunked_array(
        [pa.array(texts[:split], pa.string()), pa.array(texts[split:], pa.string())]
    )
    lowered = pc.utf8_lower(column.drop_null())
    expected = ids.sorted_distinct(ids.first_hashes(lowered).astype(np.uint32))
    assert ids.trace_keys(column).tolist() == expected.tolist()
    # Sliced large text and binary (found in review: cast to text, their offsets start
    # past 0, which ascii_lower read as other ids).
    for kind in (pa.large_string(), pa.large_binary()):
        whole = pa.array([None if t is None else t.encode() for t in ["pad", *texts]], kind)
        sliced = pa.chunked_array([whole.slice(1, split), whole.slice(1 + split)])
        assert ids.trace_keys(sliced).tolist() == expected.tolist()


def test_trace_keys_of_sliced_large_text() -> None:
    text = pa.array(["AB12", "cd34", "EF56", "ab78", "CD90"], pa.large_string())
    lowered = pa.array(["ef56", "ab78", "cd90"])
    expected = ids.sorted_distinct(ids.first_hashes(lowered).astype(np.uint32))
    assert ids.trace_keys(text.slice(2)).tolist() == expected.tolist()
