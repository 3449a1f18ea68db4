"""The ``markdown`` format: a GitHub-flavoured pipe table, columns padded for reading.

Cells use the table's display text (display timezone, thousands separators, durations),
then are escaped for Markdown: a value can neither break out of its cell (``|``, a
newline) nor become formatting, a link, math or inline HTML when GitHub renders it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from rich.cells import cell_len

from mfq.env import Env
from mfq.render.console import print_message
from mfq.render.display import (
    RECORD_HEADER,
    DisplayCell,
    display_record,
    display_rows,
    is_numeric_column,
)
from mfq.render.escape import escape_control
from mfq.render.options import RenderOptions
from mfq.render.result import Record, Result

# One pass, so backslashes added here are never escaped again. | ends a cell; * ~ `
# emphasis, strikethrough and code; [ ] links; $ math on GitHub; \ escapes itself.
# Underscores come in runs, handled by _escape_special.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]|~$]|_+")


def _escape_special(match: re.Match[str]) -> str:
    token, text = match.group(), match.string
    if not token.startswith("_"):
        return "\\" + token
    start, end = match.span()
    # GFM never reads an underscore between two letters or digits as emphasis, so names
    # like duration_ms stay as written; anywhere else it could open or close emphasis.
    intraword = start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
    return token if intraword else token.replace("_", "\\_")


def escape_markdown(text: str) -> str:
    """``text`` made inert inside a GFM table cell (control characters, HTML, markup)."""
    inert = html.escape(escape_control(text), quote=False)
    return _MARKDOWN_SPECIAL.sub(_escape_special, inert)


def _pad(text: str, width: int, *, right: bool) -> str:
    padding = " " * (width - cell_len(text))
    return padding + text if right else text + padding


def _write_table(
    env: Env, header: Sequence[str], grid: list[list[DisplayCell]], right: Sequence[bool]
) -> None:
    head = [escape_markdown(name) for name in header]
    body = [[escape_markdown(cell.text) for cell in row] for row in grid]
    widths = [
        max([3, cell_len(name), *(cell_len(row[index]) for row in body)])
        for index, name in enumerate(head)
    ]
    rule = [
        "-" * (width - 1) + ":" if align_right else "-" * width
        for width, align_right in zip(widths, right, strict=True)
    ]

    def line(cells: Sequence[str]) -> str:
        padded = (
            _pad(cell, width, right=align_right)
            for cell, width, align_right in zip(cells, widths, right, strict=True)
        )
        return "| " + " | ".join(padded) + " |\n"

    env.stdout.write(line(head) + line(rule))
    for row in body:
        env.stdout.write(line(row))


def render_markdown(result: Result, env: Env, options: RenderOptions) -> None:
    """Write ``result`` as a pipe table (a single object as ``field | value``).

    The title is not written: a Markdown document places its own headings. An empty
    result prints the empty message on stderr and nothing on stdout.
    """
    if result.is_empty():
        print_message(env, options.empty_message)
        return
    if isinstance(result, Record):
        _write_table(env, RECORD_HEADER, display_record(result, env.display_tz), (False, False))
        return
    grid = display_rows(result, env.display_tz)
    right = [is_numeric_column(row[i] for row in grid) for i in range(len(result.columns))]
    _write_table(env, result.columns, grid, right)
