"""Properties over arbitrary text: nothing from data reaches a terminal raw, no data is lost."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.render import OutputFormat
from mfq.render.escape import escape_control
from mfq.render.markdown import escape_markdown

from .support import render_to_text

# Any text, with control characters and terminal-significant code points made likely.
hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x1b", "\x07", "\x9b", "\r", "\n", "\x7f", "\u202e", "[", "]", "|"]),
    )
)

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@given(hostile_text)
def test_escaped_text_has_no_control_characters(text: str) -> None:
    escaped = escape_control(text)
    assert UNSAFE.search(escaped) is None
    assert all(unicodedata.category(char) != "Cc" for char in escaped)


@given(hostile_text.filter(lambda text: UNSAFE.search(text) is None))
def test_text_without_control_characters_is_unchanged(text: str) -> None:
    assert escape_control(text) == text


@given(hostile_text)
def test_markdown_cell_never_holds_an_unescaped_pipe_or_newline(text: str) -> None:
    cell = escape_markdown(text)
    assert "\n" not in cell
    # Every backslash in the cell starts an escape, so removing escapes leaves no pipe.
    assert "|" not in re.sub(r"\\.", "", cell)
    assert "<" not in cell


@given(st.lists(hostile_text, min_size=1, max_size=5))
@settings(deadline=None)  # pandas and rich make the first example slow
def test_json_and_ndjson_round_trip_and_stay_inert(values: list[str]) -> None:
    frame = pd.DataFrame({"v": values})
    as_json = render_to_text(frame, OutputFormat.JSON).stdout
    as_ndjson = render_to_text(frame, OutputFormat.NDJSON).stdout
    expected = [{"v": value} for value in values]
    assert json.loads(as_json) == expected
    assert [json.loads(line) for line in as_ndjson.splitlines()] == expected
    for text in (as_json, as_ndjson):
        assert UNSAFE.search(text.replace("\n", "")) is None


@given(st.lists(hostile_text, min_size=1, max_size=5))
@settings(deadline=None)  # pandas and rich make the first example slow
def test_raw_csv_round_trips(values: list[str]) -> None:
    frame = pd.DataFrame({"v": values, "n": range(len(values))})
    output = render_to_text(frame, OutputFormat.CSV, raw=True).stdout
    rows = list(csv.reader(io.StringIO(output, newline="")))
    assert rows == [["v", "n"], *([value, str(i)] for i, value in enumerate(values))]


@given(st.lists(hostile_text, min_size=1, max_size=3))
@settings(deadline=None)  # pandas and rich make the first example slow
def test_table_output_is_inert(values: list[str]) -> None:
    output = render_to_text(pd.DataFrame({"v": values}), OutputFormat.TABLE).stdout
    assert UNSAFE.search(output.replace("\n", "")) is None
