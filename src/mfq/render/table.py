"""The ``table`` format: a rich Table on ``env.stdout``, readable at 80 columns.

Every cell is a ``rich.text.Text`` built from escaped text, so data is never markup and
never a terminal escape sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from mfq.env import Env
from mfq.render.console import make_console, print_message
from mfq.render.display import (
    RECORD_HEADER,
    DisplayCell,
    display_record,
    display_rows,
    is_compact_column,
    is_numeric_column,
)
from mfq.render.escape import escape_control
from mfq.render.options import RenderOptions
from mfq.render.result import Record, Result

MAX_COLUMN_WIDTH = 40
"""Widest a text column of a row table gets; longer values end in an ellipsis."""

# Far more than a cell ever shows (a row table's column is at most MAX_COLUMN_WIDTH, a
# single object's value wraps over a few lines); keeps rich from laying out huge values.
_MAX_CELL_CHARS = 4 * MAX_COLUMN_WIDTH
_MAX_RECORD_VALUE_CHARS = 1000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _one_line(text: str, *, style: str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def _cell(cell: DisplayCell) -> Text:
    return _one_line(_clip(cell.text, _MAX_CELL_CHARS), style="dim" if cell.missing else "")


def _new_table(title: str | None) -> Table:
    return Table(
        title=_one_line(escape_control(title)) if title else None,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        # Two spaces between columns and none at the edges: width goes to the data.
        collapse_padding=True,
        pad_edge=False,
    )


def _rows_table(columns: Sequence[str], grid: list[list[DisplayCell]], title: str | None) -> Table:
    table = _new_table(title)
    for index, column in enumerate(columns):
        cells = [row[index] for row in grid]
        # rich narrows the widest columns without no_wrap first, and only then all columns
        # evenly: text columns give way before numbers and times are cut. Cells stay on one
        # line (with an ellipsis) through their Text's own no_wrap.
        compact = is_compact_column(cells)
        table.add_column(
            _one_line(escape_control(column)),
            justify="right" if is_numeric_column(cells) else "left",
            max_width=None if compact else MAX_COLUMN_WIDTH,
            no_wrap=compact,
        )
    for row in grid:
        table.add_row(*(_cell(cell) for cell in row))
    return table


def _record_table(grid: list[list[DisplayCell]], title: str | None) -> Table:
    # A single object is read value by value: long values wrap rather than being cut.
    table = _new_table(title)
    table.add_column(RECORD_HEADER[0], no_wrap=True)
    table.add_column(RECORD_HEADER[1], overflow="fold")
    for field, value in grid:
        text = _clip(value.text, _MAX_RECORD_VALUE_CHARS)
        table.add_row(_cell(field), Text(text, style="dim" if value.missing else ""))
    return table


def _print(renderable: RenderableType, env: Env) -> None:
    console = make_console(env.stdout, colour=env.colour, width=env.width)
    with console.capture() as capture:
        console.print(renderable)
    # rich pads every line to the table's width; trailing blanks only get in the way of
    # diffs, `grep` and golden files.
    lines = capture.get().split("\n")
    env.stdout.write("\n".join(line.rstrip(" ") for line in lines))


def render_table(result: Result, env: Env, options: RenderOptions) -> None:
    """Print ``result`` as a rich table; an empty result prints the empty message on stderr."""
    if result.is_empty():
        print_message(env, options.empty_message)
        return
    if isinstance(result, Record):
        table = _record_table(display_record(result, env.display_tz), options.title)
    else:
        table = _rows_table(result.columns, display_rows(result, env.display_tz), options.title)
    _print(table, env)
