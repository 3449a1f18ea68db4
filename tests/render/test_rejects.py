"""``mfq rejects`` on a terminal: one entry per record (place, code, the whole reason,
the raw record cut to the width), inert whatever the data holds; rows elsewhere."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from rich.cells import cell_len

from mfq.render import OutputFormat
from mfq.render.rejects import render_rejects

from .support import Output, Terminal
from .test_untrusted import HOSTILE_VALUES, RAW_CONTROLS, RICH_SGR, VISIBLE

REJECTS = pd.DataFrame(
    {
        "source": ["/data/export.ndjson", "/data/export.ndjson"],
        "number": [2, 7],
        "code": ["not_json", "bad_field"],
        "reason": [
            "not JSON: Expecting value: line 1 column 1 (char 0) at the very start of the line",
            "invalid sample_rate: must be at least 1",
        ],
        "raw": [
            "not json",
            '{"type":"a.b","timestamp":"2026-11-20T00:00:00Z","id":"q","sample_rate":-3,"x":1}',
        ],
    }
)


def rendered(
    frame: pd.DataFrame,
    fmt: OutputFormat = OutputFormat.TABLE,
    *,
    width: int = 80,
    colour: bool = False,
) -> Output:
    terminal = Terminal.create(width=width, colour=colour)
    render_rejects(frame, fmt, terminal.env)
    return terminal.output()


def test_each_record_reads_as_place_code_reason_then_raw() -> None:
    output = rendered(REJECTS)
    assert output.stdout == (
        "/data/export.ndjson:2  not_json  not JSON: Expecting value: line 1 column 1\n"
        "    (char 0) at the very start of the line\n"
        "    raw: not json\n"
        "/data/export.ndjson:7  bad_field  invalid sample_rate: must be at least 1\n"
        '    raw: {"type":"a.b","timestamp":"2026-11-20T00:00:00Z","id":"q","sample_rate…\n'
    )
    assert output.stderr == (
        "raw records cut at the terminal's width; --format json has them whole\n"
    )


@pytest.mark.parametrize("width", [20, 40, 80, 120])
def test_no_line_is_wider_than_the_terminal(width: int) -> None:
    wide = REJECTS.assign(reason=["理由" * 30, "x" * 200], raw=["記録" * 50, "y" * 300])
    output = rendered(wide, width=width)
    lines = output.stdout.splitlines()
    assert len(lines) >= 6
    places = {"/data/export.ndjson:2", "/data/export.ndjson:7"}
    assert max(cell_len(line) for line in lines if line not in places) <= width
    if width < 40:  # a place that leaves no room for its code has a line of its own
        assert [line for line in lines if line in places] == sorted(places)


def test_a_long_path_is_never_cut() -> None:
    path = "/" + "/".join(["deeply-nested-directory"] * 5) + "/export.ndjson"
    output = rendered(REJECTS.assign(source=path))
    assert output.stdout.splitlines()[:3] == [
        f"{path}:2",
        "    not_json  not JSON: Expecting value: line 1 column 1 (char 0) at the very",
        "    start of the line",
    ]


def test_whole_raw_records_need_no_note() -> None:
    output = rendered(REJECTS.head(1))
    assert output.stdout.endswith("    raw: not json\n")
    assert output.stderr == ""


@pytest.mark.parametrize("colour", [False, True], ids=["plain", "colour"])
def test_data_is_shown_literally(colour: bool) -> None:
    count = len(HOSTILE_VALUES)
    hostile = pd.DataFrame(
        {
            "source": HOSTILE_VALUES,
            "number": range(count),
            "code": HOSTILE_VALUES,
            "reason": HOSTILE_VALUES,
            "raw": HOSTILE_VALUES,
        }
    )
    output = rendered(hostile, colour=colour, width=200)
    assert bool(RICH_SGR.findall(output.stdout)) == colour
    shown = RICH_SGR.sub("", output.stdout)
    for control in RAW_CONTROLS:
        assert control not in shown
    lines = shown.splitlines()
    assert len(lines) == 2 * count  # a newline in data never adds a line
    for index, value in enumerate(HOSTILE_VALUES):
        visible = VISIBLE[value]
        assert lines[2 * index] == f"{visible}:{index}  {visible}  {visible}"
        assert lines[2 * index + 1] == f"    raw: {visible}"


def test_machine_formats_get_the_rows() -> None:
    output = rendered(REJECTS, OutputFormat.JSON)
    assert json.loads(output.stdout) == REJECTS.to_dict("records")


def test_no_rejects_says_so() -> None:
    output = rendered(REJECTS.head(0))
    assert output.stdout == ""
    assert output.stderr == "no rejected records\n"
