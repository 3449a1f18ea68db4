"""The screen's depth check counts brackets per window of bytes before it looks at one
row: deep rows are found wherever they sit, and bracket-heavy rows that are not deep
pass, whether a row's windows hold more brackets than the limit or not."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.ingest.containers import _lines_chunk
from mfq.ingest.jsonscan import nesting_depth
from mfq.ingest.screen import _WINDOW_BYTES, screen_chunk

LIMIT = 4


def _deep(levels: int) -> str:
    return '{"type":"t","v":' + "[" * levels + "1" + "]" * levels + "}"


def _flat(brackets: int) -> str:
    """A record with many brackets side by side, each one level deep."""
    return '{"type":"t","v":[' + ",".join(["[1]"] * brackets) + "]}"


def _expect_deep_rows_rejected(rows: list[str], limit: int) -> None:
    chunk, _lines = _lines_chunk("\n".join(rows).encode(), 1)
    screened = screen_chunk(chunk, 1 << 20, limit)
    expected = [n for n, row in enumerate(rows, start=1) if nesting_depth(row.encode()) > limit]
    assert [r.number for r in screened.rejects] == expected
    assert {r.code for r in screened.rejects} <= {"too_deep"}
    assert screened.numbers.tolist() == [
        n for n in range(1, len(rows) + 1) if n not in set(expected)
    ]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.one_of(
            st.integers(0, 8).map(_deep),
            st.integers(0, 12).map(_flat),
            st.just(json.dumps({"type": "t", "n": 1})),
        ),
        min_size=1,
        max_size=_WINDOW_BYTES // 8,
    )
)
def test_exactly_the_rows_nested_too_deep_are_rejected(rows: list[str]) -> None:
    _expect_deep_rows_rejected(rows, LIMIT)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.one_of(
            st.integers(30, 50).map(_deep),
            st.integers(0, 60).map(_flat),
            st.just(json.dumps({"type": "t", "n": 1})),
            st.integers(0, 3000).map(lambda n: json.dumps({"type": "t", "pad": "x" * n})),
        ),
        min_size=1,
        max_size=200,
    )
)
def test_rows_under_a_window_past_the_limit_are_measured(rows: list[str]) -> None:
    """A limit near a window's count of brackets: some rows' windows hold more than the
    limit and some do not, and rows longer than a window span several."""
    _expect_deep_rows_rejected(rows, 40)


def test_a_chunk_of_few_brackets_rejects_nothing() -> None:
    rows = [json.dumps({"type": "t", "n": n}) for n in range(500)]
    _expect_deep_rows_rejected(rows, 256)
    rows[321] = _deep(300)
    _expect_deep_rows_rejected(rows, 256)
