"""CSV: the csv module's quoting, and formula cells neutralised unless raw (CSV injection)."""

from __future__ import annotations

import csv
import io

import pandas as pd

from mfq.render import OutputFormat

from .support import render_to_text

FORMULAS = ["=cmd|' /C calc'!A0", "+1", "-x", "@SUM(1)", "\tTAB", "\rCR", "plain", "a=b"]


def formula_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": FORMULAS,
            "number": [-5, 5, -1, 0, 1, 2, 3, 4],
            "real": [-1.5, 0.25, -0.0, 1e20, -3.0, 2.5, 1.0, 0.1],
        }
    )


def test_formula_cells_are_neutralised_with_a_quote() -> None:
    output = render_to_text(formula_frame(), OutputFormat.CSV)
    assert output.stdout == (
        "text,number,real\n"
        "'=cmd|' /C calc'!A0,-5,-1.5\n"
        "'+1,5,0.25\n"
        "'-x,-1,-0.0\n"
        "'@SUM(1),0,1e+20\n"
        "'\tTAB,1,-3.0\n"
        '"\'\rCR","2","2.5"\n'
        "plain,3,1.0\n"
        "a=b,4,0.1\n"
    )


def test_raw_leaves_formula_cells_as_they_are() -> None:
    output = render_to_text(formula_frame(), OutputFormat.CSV, raw=True)
    assert output.stdout.splitlines()[1:5] == [
        "=cmd|' /C calc'!A0,-5,-1.5",
        "+1,5,0.25",
        "-x,-1,-0.0",
        "@SUM(1),0,1e+20",
    ]


def test_numbers_are_never_neutralised_even_in_a_single_object() -> None:
    output = render_to_text({"delta": -5, "ratio": -0.5, "label": "-5"}, OutputFormat.CSV)
    assert output.stdout == "delta,ratio,label\n-5,-0.5,'-5\n"


def test_header_cells_from_event_keys_are_neutralised_too() -> None:
    frame = pd.DataFrame({'=HYPERLINK("http://evil")': ["x"], "ok": ["y"]})
    assert render_to_text(frame, OutputFormat.CSV).stdout == (
        '"\'=HYPERLINK(""http://evil"")",ok\nx,y\n'
    )
    assert render_to_text(frame, OutputFormat.CSV, raw=True).stdout == (
        '"=HYPERLINK(""http://evil"")",ok\nx,y\n'
    )


def test_quotes_commas_and_newlines_are_quoted_by_the_csv_module() -> None:
    frame = pd.DataFrame({"v": ['say "hi"', "a,b", "two\nlines"]})
    assert render_to_text(frame, OutputFormat.CSV).stdout == (
        'v\n"say ""hi"""\n"a,b"\n"two\nlines"\n'
    )


def test_missing_values_are_empty_cells_and_lists_are_json() -> None:
    frame = pd.DataFrame(
        {"a": [None, "x"], "b": [float("nan"), 1.0], "c": [[1, "two"], {"k": None}]}
    )
    assert render_to_text(frame, OutputFormat.CSV).stdout == (
        'a,b,c\n,,"[1,""two""]"\nx,1.0,"{""k"":null}"\n'
    )


def test_raw_output_reads_back_to_the_same_cells() -> None:
    frame = pd.DataFrame({"v": ["\rCR", "a\r\nb", "=1+1", ""], "n": [1, 2, 3, 4]})
    output = render_to_text(frame, OutputFormat.CSV, raw=True)
    rows = list(csv.reader(io.StringIO(output.stdout, newline="")))
    assert rows == [["v", "n"], ["\rCR", "1"], ["a\r\nb", "2"], ["=1+1", "3"], ["", "4"]]


HOSTILE = [
    "\x1b]52;c;ZWNobyBwd25lZA==\x07",  # OSC 52: write the clipboard
    "\x1b]0;owned\x07",  # retitle the window
    "\x1b[2J\x1b[H",  # clear the screen
    "abc\u202edcba",  # bidi override
]


def test_csv_on_a_terminal_shows_escape_sequences_from_data_inert() -> None:
    output = render_to_text(pd.DataFrame({"v": HOSTILE}), OutputFormat.CSV, colour=True)
    assert output.stdout == (
        "v\n\\x1b]52;c;ZWNobyBwd25lZA==\\x07\n\\x1b]0;owned\\x07\n\\x1b[2J\\x1b[H\nabc\\u202edcba\n"
    )


def test_csv_into_a_pipe_keeps_the_data_exact() -> None:
    output = render_to_text(pd.DataFrame({"v": HOSTILE}), OutputFormat.CSV)
    assert list(csv.reader(io.StringIO(output.stdout))) == [["v"], *([value] for value in HOSTILE)]
