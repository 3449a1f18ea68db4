"""The screen's depth check counts brackets per group of rows before it looks at one row:
deep rows are found wherever they sit, and bracket-heavy rows that are not deep pass."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.ingest.containers import _lines_chunk
from mfq.ingest.jsonscan import nesting_depth
from mfq.ingest.screen import _GROUP_ROWS, screen_chunk

LIMIT = 4


def _deep(levels: int) -> str:
    return '{"type":"t","v":' + "[" * levels + "1" + "]" * levels + "}"


def _flat(brackets: int) -> str:
    """A record with many brackets side by side, each one level deep."""
    return '{"type":"t","v":[' + ",".join(["[1]"] * brackets) + "]}"


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.one_of(
            st.integers(0, 8).map(_deep),
            st.integers(0, 12).map(_flat),
            st.just(json.dumps({"type": "t", "n": 1})),
        ),
        min_size=1,
        max_size=3 * _GROUP_ROWS,
    )
)
def test_exactly_the_rows_nested_too_deep_are_rejected(rows: list[str]) -> None:
    chunk, _lines = _lines_chunk("\n".join(rows).encode(), 1)
    screened = screen_chunk(chunk, 1 << 20, LIMIT)
    expected = [n for n, row in enumerate(rows, start=1) if nesting_depth(row.encode()) > LIMIT]
    assert [r.number for r in screened.rejects] == expected
    assert {r.code for r in screened.rejects} <= {"too_deep"}
    assert screened.numbers.tolist() == [
        n for n in range(1, len(rows) + 1) if n not in set(expected)
    ]
