"""Searches over records held back to back (``mfq.ingest.rowbytes``) against Python's
``in`` and ``find`` on each record alone."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from mfq.ingest.rowbytes import occurrences, record_of, records_holding

_records = st.lists(st.binary(max_size=12), min_size=1, max_size=8)
_needles = st.sampled_from([b"\\", b"null", b'"ts"', b"aa", b"\n"])


def _layout(records: list[bytes], gap: bytes) -> tuple[bytes, np.ndarray, np.ndarray]:
    lengths = np.array([len(r) for r in records], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths + len(gap))[:-1])).astype(np.int64)
    return gap.join(records), starts, starts + lengths


@given(_records, _needles, st.sampled_from([b"\n", b"\r\n", b"null"]))
@example([b"nu", b"ll"], b"null", b"\n")  # across a record's end: in neither
@example([b"aaa", b"a"], b"aa", b"a")
def test_records_holding_a_needle(records: list[bytes], needle: bytes, gap: bytes) -> None:
    data, starts, ends = _layout(records, gap)
    assert records_holding(data, starts, ends, needle).tolist() == [needle in r for r in records]


@given(_records, _needles)
def test_each_occurrence_in_its_record(records: list[bytes], needle: bytes) -> None:
    data, starts, ends = _layout(records, b"\n")
    found = occurrences(data, 0, len(data), needle)
    rows = record_of(found, len(needle), starts, ends)
    counts = np.bincount(rows[rows >= 0], minlength=len(records)).tolist()
    expected = []
    for record in records:  # overlapping occurrences count too
        expected.append(sum(record.startswith(needle, i) for i in range(len(record))))
    assert counts == expected


@given(st.binary(max_size=40), _needles | st.binary(min_size=1, max_size=3), st.data())
@example(b'x"ts"ts"', b'"ts"', None)
def test_occurrences_are_every_start_of_the_needle(
    data: bytes, needle: bytes, bounds: st.DataObject | None
) -> None:
    """Every place where ``needle`` starts inside ``data[low:high]``, overlapping ones
    too, as ``startswith`` at each place says."""
    low, high = 0, len(data)
    if bounds is not None:
        low = bounds.draw(st.integers(0, len(data)))
        high = bounds.draw(st.integers(low, len(data)))
    expected = [i for i in range(low, high) if data[i:high].startswith(needle)]
    assert occurrences(data, low, high, needle).tolist() == expected
