"""``mfq rejects`` for people: one entry per record, as a compiler reports an error.

A five-column table at 80 columns cut every reason and every raw record to a few
characters, and the reason is what a person came for. So the terminal gets::

    /data/export.ndjson:2  not_json  not JSON: Expecting value: line 1 column 1
        (char 0)
        raw: not json

the place (``source:number``, on a line of its own and never cut when the path is
long), the code and the whole reason (wrapped, indented), then the raw record on one
indented line, cut at the terminal's width (a note on stderr says so; ``--format json``
has it whole). Machine formats and markdown get the rows as they are. Text from data
is escaped, never markup.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

from mfq.env import Env
from mfq.render.console import make_console, print_message
from mfq.render.escape import escape_control
from mfq.render.values import normalise

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from mfq.render import OutputFormat

#: Continuation lines and the raw record are indented this much under their entry.
INDENT = 4
RAW_LABEL = "raw: "
#: Narrower than this, lines are not cut (a terminal this narrow wraps anyway).
_MIN_WIDTH = 20


def render_rejects(frame: pd.DataFrame, fmt: OutputFormat, env: Env) -> None:
    """Write a ``rejects`` result (``source``, ``number``, ``code``, ``reason``, ``raw``)."""
    from mfq.render import OutputFormat, render

    if fmt is not OutputFormat.TABLE or frame.empty:
        render(frame, fmt, env, title="rejects", empty_message="no rejected records")
        return
    console = make_console(env.stdout, colour=env.colour, width=env.width)
    width = max(env.width, _MIN_WIDTH)
    cut = False
    for record in frame.to_dict("records"):
        lines, raw_cut = reject_lines(record, console, width)
        cut = cut or raw_cut
        for line in lines:
            console.print(line, soft_wrap=True)
    if cut:
        print_message(env, "raw records cut at the terminal's width; --format json has them whole")


def reject_lines(
    record: Mapping[Hashable, object], console: Console, width: int
) -> tuple[list[Text], bool]:
    """The lines of one rejected record, and whether the raw record was cut to fit. No
    line is wider than ``width`` cells (``console`` measures them) but a place too long
    to share its line: it has one of its own, whole."""
    place = f"{_text(record.get('source'))}:{_text(record.get('number'))}"
    code, reason = _text(record.get("code")), _text(record.get("reason"))
    lines: list[Text] = []
    if cell_len(place) + cell_len(code) + 4 <= width - INDENT:
        heading = Text.assemble((place, "bold"), "  ", (code, "red"), "  ", reason)
        indent_from = 1
    else:  # a long path on its own line, whole, so it can be copied
        lines.append(Text(place, style="bold"))
        heading = Text.assemble((code, "red"), "  ", reason)
        indent_from = 0
    wrapped = list(heading.wrap(console, width - INDENT))
    for index, line in enumerate(wrapped):
        line.rstrip()
        lines.append(Text(" " * INDENT) + line if index >= indent_from else line)
    raw = Text(RAW_LABEL) + Text(_text(record.get("raw")), "dim")
    cut = raw.cell_len > width - INDENT
    raw.truncate(width - INDENT, overflow="ellipsis")
    lines.append(Text(" " * INDENT) + raw)
    return lines, cut


def _text(value: object) -> str:
    """A cell as one line of inert text (missing values as empty text)."""
    cell = normalise(value)
    return "" if cell is None else escape_control(str(cell))
