"""Data is never markup and never a terminal escape sequence (SPEC, "Untrusted data")."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from mfq.render import OutputFormat, print_message

from .support import Terminal, assert_matches_golden, render_to_text

MARKUP = "[bold red]boom[/]"
LINK_MARKUP = "[link=http://x]y[/link]"
SGR = "\x1b[31mred\x1b[0m"
OSC8 = "\x1b]8;;http://evil\x07click\x1b]8;;\x07"
BELL = "ding\x07"
CARRIAGE_RETURN = "fake\rline"
C1_CSI = "csi\x9b31m"

HOSTILE_VALUES = [MARKUP, LINK_MARKUP, SGR, OSC8, BELL, CARRIAGE_RETURN, C1_CSI]

# What each hostile value looks like once made inert.
VISIBLE = {
    MARKUP: "[bold red]boom[/]",
    LINK_MARKUP: "[link=http://x]y[/link]",
    SGR: "\\x1b[31mred\\x1b[0m",
    OSC8: "\\x1b]8;;http://evil\\x07click\\x1b]8;;\\x07",
    BELL: "ding\\x07",
    CARRIAGE_RETURN: "fake\\rline",
    C1_CSI: "csi\\x9b31m",
}

RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\r")

# Rich's own styling: Select Graphic Rendition sequences only (no OSC 8 links, no cursor
# movement). Whatever is left after removing them must be free of raw controls.
RICH_SGR = re.compile("\x1b\\[[0-9;]*m")


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "value": HOSTILE_VALUES,
            f"col {SGR}": range(len(HOSTILE_VALUES)),
            f"{MARKUP} {OSC8}": ["x"] * len(HOSTILE_VALUES),
        }
    )


def assert_inert(text: str) -> None:
    for control in RAW_CONTROLS:
        assert control not in text, f"raw {control!r} reached the output"


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_table_shows_markup_and_escape_sequences_literally(colour: bool) -> None:
    output = render_to_text(hostile_frame(), OutputFormat.TABLE, colour=colour, width=240)
    styling = RICH_SGR.findall(output.stdout)
    assert bool(styling) == colour  # colour really is on, or really off
    shown = RICH_SGR.sub("", output.stdout)
    assert_inert(shown)
    for visible in VISIBLE.values():
        assert visible in shown
    assert "col \\x1b[31mred\\x1b[0m" in shown  # column names too
    assert "[bold red]boom[/] \\x1b]8;;http://evil" in shown
    assert "\x1b]" not in output.stdout  # and rich never adds a hyperlink of its own


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_table_title_and_single_object_are_escaped(colour: bool) -> None:
    record = {f"key{SGR}": OSC8, "markup": MARKUP}
    output = render_to_text(record, OutputFormat.TABLE, colour=colour, title=f"T {BELL}")
    shown = RICH_SGR.sub("", output.stdout)
    assert_inert(shown)
    assert "T ding\\x07" in shown
    assert "key\\x1b[31mred\\x1b[0m" in shown
    assert "[bold red]boom[/]" in shown


def test_long_hostile_value_cut_by_the_table_stays_inert() -> None:
    output = render_to_text(pd.DataFrame({"v": [SGR * 50, "\x1b" * 500]}), OutputFormat.TABLE)
    assert_inert(output.stdout)
    assert "\\x1b[31mred" in output.stdout
    assert "…" in output.stdout


def test_markdown_shows_markup_and_escape_sequences_literally() -> None:
    output = render_to_text(hostile_frame(), OutputFormat.MARKDOWN)
    assert_inert(output.stdout)
    assert_matches_golden("hostile.md", output.stdout)


def test_plain_table_of_hostile_data_matches_golden() -> None:
    output = render_to_text(hostile_frame(), OutputFormat.TABLE, width=120)
    assert_inert(output.stdout)
    assert_matches_golden("hostile.table.txt", output.stdout)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("a | b", "a \\| b"),
        ("line\nbreak", "line\\\\nbreak"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("back\\slash", "back\\\\slash"),
        ("*bold* _em_ `code` ~~del~~", "\\*bold\\* \\_em\\_ \\`code\\` \\~\\~del\\~\\~"),
        ("[click](http://evil)", "\\[click\\](http://evil)"),
        ("$x^2$", "\\$x^2\\$"),
        ("snake_case_name", "snake_case_name"),
    ],
)
def test_markdown_cell_cannot_break_the_table_or_become_markup(value: str, cell: str) -> None:
    output = render_to_text(pd.DataFrame({"v": [value]}), OutputFormat.MARKDOWN)
    assert output.stdout.splitlines()[2] == f"| {cell.ljust(3)} |"


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_messages_on_stderr_show_data_literally(colour: bool) -> None:
    terminal = Terminal.create(colour=colour)
    text = " ".join(HOSTILE_VALUES)
    print_message(terminal.env, text, style="bold red")
    stderr = terminal.output().stderr
    expected = " ".join(VISIBLE[value] for value in HOSTILE_VALUES)
    if colour:
        assert stderr == f"\x1b[1;31m{expected}\x1b[0m\n"
    else:
        assert stderr == f"{expected}\n"
    assert terminal.output().stdout == ""


def test_message_is_one_line_however_long() -> None:
    terminal = Terminal.create(width=20)
    print_message(terminal.env, "x" * 50 + "\nsecond")
    assert terminal.output().stderr == "x" * 50 + "\\nsecond\n"


def test_message_colour_needs_a_terminal_on_stderr() -> None:
    terminal = Terminal.create()
    terminal.env.colour = True  # stdout is a colour terminal, stderr is redirected
    print_message(terminal.env, "plain", style="bold red")
    assert terminal.output().stderr == "plain\n"


def test_empty_message_is_escaped_too() -> None:
    output = render_to_text(
        pd.DataFrame({"a": []}), OutputFormat.TABLE, empty_message=f"no match for {SGR}"
    )
    assert output.stderr == "no match for \\x1b[31mred\\x1b[0m\n"


@pytest.mark.parametrize("fmt", [OutputFormat.JSON, OutputFormat.NDJSON])
def test_json_escapes_every_control_character_and_keeps_the_data(fmt: OutputFormat) -> None:
    values = [*HOSTILE_VALUES, "del\x7f", "bidi\u202eevil", "sep\u2028x"]
    output = render_to_text(pd.DataFrame({SGR: values}), fmt)
    assert_inert(output.stdout)
    for char in ("\x7f", "\u202e", "\u2028"):
        assert char not in output.stdout
    if fmt is OutputFormat.JSON:
        parsed = json.loads(output.stdout)
    else:
        parsed = [json.loads(line) for line in output.stdout.splitlines()]
    assert parsed == [{SGR: value} for value in values]
    assert '"csi\\u009b31m"' in output.stdout
