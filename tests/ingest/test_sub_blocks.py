"""How a chunk's rows are cut into the blocks the parse workers take (``_sub_blocks``)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mfq.ingest.fastpath import _Rows, _sub_blocks


def _rows(sizes: list[int]) -> _Rows:
    """Rows of the given byte sizes, each followed by a newline (their text is not read)."""
    starts = np.cumsum([0] + [size + 1 for size in sizes[:-1]]).astype(np.int64)
    ends = starts + np.asarray(sizes, dtype=np.int64)
    return _Rows(b"", starts, ends)


def test_rows_are_cut_into_blocks_of_about_one_size() -> None:
    rows = _rows([99] * 1000)  # 100,000 bytes
    bounds = _sub_blocks(rows, 25_000)
    assert bounds == [(0, 250), (250, 500), (500, 750), (750, 1000)]


def test_a_huge_row_is_a_block_of_its_own_and_leaves_no_slivers_after_it() -> None:
    """Cuts falling inside a row already taken are skipped: a 20,000-byte row among
    100-byte rows, with blocks of 4,000 bytes, is one block, not one followed by blocks
    of a single row each (each costs a block's fixed work)."""
    rows = _rows([99] * 10 + [20_000] + [99] * 200)
    bounds = _sub_blocks(rows, 4_000)
    assert bounds == [(0, 10), (10, 11), (11, 47), (47, 88), (88, 129), (129, 170), (170, 211)]


@given(
    sizes=st.lists(st.integers(0, 5_000), min_size=1, max_size=60),
    block=st.integers(1, 20_000),
    start=st.integers(0, 70),
)
def test_blocks_cover_the_rows_from_start_in_order_none_empty(
    sizes: list[int], block: int, start: int
) -> None:
    rows = _rows(sizes)
    bounds = _sub_blocks(rows, block, start)
    if start >= len(sizes):
        assert bounds == []
        return
    assert bounds[0][0] == start and bounds[-1][1] == len(sizes)
    assert all(a < b for a, b in bounds)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(bounds))
    span = int(rows.ends[-1]) - int(rows.starts[start])
    assert len(bounds) <= max(1, round(span / block))
