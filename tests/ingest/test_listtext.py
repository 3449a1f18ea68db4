"""Texts and lists written as ``json`` writes them (``mfq.ingest.listtext``), against
``json.dumps`` itself."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import example, given
from hypothesis import strategies as st

from mfq.ingest.listtext import ListTexts, json_string_bodies, list_text

#: Any text Arrow holds (UTF-8: no lone surrogates), control characters and the
#: characters ``json`` escapes often.
_texts = st.text(
    st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "\x7f", "\u2028", "/", "é"]),
    ),
    max_size=8,
)


@given(st.lists(st.one_of(st.none(), _texts), max_size=12), st.integers(0, 3))
@example(['a"b\\c\n\x00\x1f\x7f\u2028é', None, "", "\t\r\b\f"], 1)
def test_string_bodies_are_json_escapes(texts: list[str | None], skip: int) -> None:
    """Each text as ``json.dumps(ensure_ascii=False)`` writes it, less its quotes, in a
    sliced column too."""
    column = pa.array(texts, pa.string()).slice(min(skip, len(texts)))
    expected = [
        None if t is None else json.dumps(t, ensure_ascii=False)[1:-1]
        for t in texts[min(skip, len(texts)) :]
    ]
    assert json_string_bodies(column).to_pylist() == expected


@given(st.lists(st.one_of(st.none(), st.lists(_texts, max_size=3)), max_size=8))
def test_lists_of_any_text_are_json_text(lists: list[list[str] | None]) -> None:
    text, bad = list_text(pa.array(lists, pa.list_(pa.string())))
    assert not bad.any()
    expected = [
        None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        for v in lists
    ]
    assert text.to_pylist() == expected


def test_a_column_is_written_once_and_anew_when_made_anew() -> None:
    """``ListTexts`` gives a column's texts again (its rows to send row by row a copy
    each time); a column with the same values in other buffers is written anew."""
    column = pa.array([["a"], None, ["b", "c"], [None]], pa.list_(pa.string()))
    lists = ListTexts()
    text, bad = lists(column)
    assert text.to_pylist() == ['["a"]', None, '["b","c"]', None]
    assert bad.tolist() == [False, False, False, True]
    bad[:] = True  # the caller's to change
    again, bad_again = lists(column)
    assert again is text and bad_again.tolist() == [False, False, False, True]
    nulled = pc.if_else(pa.array([True, True, False, True]), column, pa.nulls(4, column.type))
    remade, _ = lists(nulled)
    assert remade.to_pylist() == ['["a"]', None, None, None]
    sliced, _ = lists(column.slice(2))
    assert sliced.to_pylist() == ['["b","c"]', None]
    assert np.array_equal(lists(column.slice(2))[1], [False, True])


def test_a_column_written_stays_held_so_its_addresses_name_no_other() -> None:
    """The memo knows a column by its buffers' addresses: it holds each column it wrote,
    so a column made after the first is freed never lands at the same addresses."""
    memo = ListTexts()
    first = pa.array([["a", "b"], ["c"]] * 64)
    addresses = {b.address for b in first.buffers() if b is not None}
    text, _bad = memo(first)
    del first
    for n in range(200):
        other = pa.array([[f"x{n}", "y"], ["z"]] * 64)
        assert not addresses & {b.address for b in other.buffers() if b is not None}
        assert memo(other)[0].to_pylist()[0] == f'["x{n}","y"]'
    assert text.to_pylist()[:2] == ['["a","b"]', '["c"]']
