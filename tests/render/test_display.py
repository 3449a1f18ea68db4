"""How table and Markdown cells show numbers, durations, booleans and nested values."""

from __future__ import annotations

from datetime import UTC

import pandas as pd
import pytest

from mfq.render import OutputFormat
from mfq.render.display import display_cell, format_duration_ms, format_number

from .support import render_to_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1234, "1,234"),
        (1_234_567, "1,234,567"),
        (-1_234_567, "-1,234,567"),
        (0.5, "0.5"),
        (3.0, "3"),
        (2 / 3, "0.666667"),
        (99.94999, "99.95"),
        (12_345.678, "12,345.7"),
        (1_234_567.891, "1,234,568"),
        (0.00012345, "0.00012345"),
        (0.000012345, "1.2345e-05"),
        (1e20, "1e+20"),
        (-0.0, "0"),
        (float("inf"), "inf"),
        (-float("inf"), "-inf"),
    ],
)
def test_numbers(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 ms"),
        (0.25, "0.25 ms"),
        (1e-300, "0 ms"),
        (12.345, "12.3 ms"),
        (850, "850 ms"),
        (999.4, "999 ms"),
        (999.7, "1.00 s"),
        (1250, "1.25 s"),
        (59_994, "59.99 s"),
        (59_996, "1m 00s"),
        (125_000, "2m 05s"),
        (3_725_000, "1h 02m"),
        (90_000_000, "1d 01h"),
        (-1250, "-1.25 s"),
        (float("inf"), "inf"),
    ],
)
def test_durations(ms: float, text: str) -> None:
    assert format_duration_ms(ms) == text


@pytest.mark.parametrize(
    ("value", "field", "text", "numeric"),
    [
        (850, "duration_ms", "850 ms", True),
        (850, "offset_ms", "850 ms", True),
        (850, "duration", "850", True),
        (True, "ok", "true", False),
        (False, "duration_ms", "false", False),
        (None, "x", "—", False),
        (float("nan"), "x", "—", False),
        ("", "x", "", False),
        ("tab\there", "x", "tab\\there", False),
        (["a", 1, None], "x", '["a", 1, null]', False),
        ({"k": "\x1b"}, "x", '{"k": "\\u001b"}', False),
    ],
)
def test_display_cell(value: object, field: str, text: str, numeric: bool) -> None:
    cell = display_cell(value, field, UTC)
    assert (cell.text, cell.numeric) == (text, numeric)


def test_numbers_are_right_aligned_and_text_left_aligned_in_the_table() -> None:
    frame = pd.DataFrame({"name": ["a", "bbbbbbbb"], "n": [5, 1_000_000]})
    assert render_to_text(frame, OutputFormat.TABLE).stdout.splitlines() == [
        "name              n",
        "───────────────────",
        "a                 5",
        "bbbbbbbb  1,000,000",
    ]


def test_long_text_is_cut_with_an_ellipsis_at_40_columns() -> None:
    frame = pd.DataFrame({"message": ["x" * 100], "n": [1]})
    lines = render_to_text(frame, OutputFormat.TABLE).stdout.splitlines()
    assert lines[2] == "x" * 39 + "…  1"


def test_single_object_table_wraps_long_values_instead_of_cutting_them() -> None:
    record = {"types": "y" * 100}
    output = render_to_text(record, OutputFormat.TABLE, width=40)
    shown = "".join(line.removeprefix("types  ").strip() for line in output.stdout.splitlines())
    assert "y" * 100 in shown
