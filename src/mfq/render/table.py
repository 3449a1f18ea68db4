"""The ``table`` format: a rich Table on ``env.stdout``, readable at 80 columns.

Every cell is a ``rich.text.Text`` built from escaped text, so data is never markup and
never a terminal escape sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.cells import cell_len
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
from mfq.render.widths import MIN_TEXT_WIDTH, cut_middle, plan_widths

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


def _cell(cell: DisplayCell, *, cut: int | None = None) -> Text:
    text = _clip(cell.text, _MAX_CELL_CHARS) if cut is None else cut_middle(cell.text, cut)
    return _one_line(text, style="dim" if cell.missing else "")


def _new_table(title: str | None) -> Table:
    return Table(
        title=_one_line(escape_control(title)) if title else None,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        # Two spaces between columns and none at the edges: width goes to the data.
        collapse_padding=True,
        pad_edge=False,
    )


#: Columns whose values are field names (correlate, schema): cut in the middle, like headers.
NAME_COLUMNS = frozenset({"field"})
#: Narrowest a column of names gets: they are what such a table is about.
MIN_NAME_WIDTH = 16


def _natural_width(column: str, cells: Sequence[DisplayCell], compact: bool) -> int:
    widest = max((cell_len(_clip(c.text, _MAX_CELL_CHARS)) for c in cells), default=0)
    width = max(widest, cell_len(column))
    return width if compact else min(width, MAX_COLUMN_WIDTH)


def _minimum_width(column: str, cells: Sequence[DisplayCell], compact: bool, natural: int) -> int:
    if compact:  # numbers and times are never cut (a long header may be)
        widest = max((cell_len(c.text) for c in cells), default=1)
        return max(widest, min(cell_len(column), MIN_TEXT_WIDTH))
    return min(natural, MIN_NAME_WIDTH if column in NAME_COLUMNS else MIN_TEXT_WIDTH)


def plan_columns(
    columns: Sequence[str], grid: list[list[DisplayCell]], available: int
) -> list[int] | None:
    """Each column's width when the table must be narrowed to ``available`` cells."""
    natural, minimum = [], []
    for index, column in enumerate(columns):
        cells = [row[index] for row in grid]
        compact = is_compact_column(cells)
        natural.append(_natural_width(column, cells, compact))
        minimum.append(_minimum_width(column, cells, compact, natural[-1]))
    return plan_widths(natural, minimum, available)


def _rows_table(
    columns: Sequence[str], grid: list[list[DisplayCell]], title: str | None, available: int
) -> Table:
    table = _new_table(title)
    widths = plan_columns(columns, grid, available)
    for index, column in enumerate(columns):
        cells = [row[index] for row in grid]
        # rich narrows the widest columns without no_wrap first, and only then all columns
        # evenly: text columns give way before numbers and times are cut. Cells stay on one
        # line (with an ellipsis) through their Text's own no_wrap.
        compact = is_compact_column(cells)
        width = None if widths is None else widths[index]
        header = escape_control(column)
        header = header if width is None else cut_middle(header, width)
        table.add_column(
            _one_line(header),
            justify="right" if is_numeric_column(cells) else "left",
            max_width=None if compact else MAX_COLUMN_WIDTH,
            width=width,
            no_wrap=compact,
        )
    names = [i for i, c in enumerate(columns) if c in NAME_COLUMNS]
    for row in grid:
        shown = [_cell(cell) for cell in row]
        for index in names:
            limit = MAX_COLUMN_WIDTH if widths is None else widths[index]
            shown[index] = _cell(row[index], cut=limit)
        table.add_row(*shown)
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
        grid = display_rows(result, env.display_tz, options.identifiers)
        table = _rows_table(result.columns, grid, options.title, env.width)
    _print(table, env)
