"""``mfq events`` in a terminal: the columns worth showing, or one block per event.

A store of real logs has dozens to hundreds of fields, most of them empty in any one
event. Without ``--fields`` the table shows ``timestamp``, ``type``, then the fields the
shown events carry, the most often present first, as many as fit the width. When not even
three columns fit, or the fields asked for with ``--fields`` do not all fit (or with
``--expand``), each event is a block of ``field | value``
lines, as ``psql``'s ``\\x`` shows records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.cells import cell_len

from mfq.env import Env
from mfq.render.console import print_message
from mfq.render.display import DisplayCell, display_cell, is_compact_column
from mfq.render.options import RenderOptions
from mfq.render.result import rows_from_arrow
from mfq.render.table import render_table
from mfq.render.widths import GAP, cut_middle

if TYPE_CHECKING:
    import pyarrow as pa

#: Always first, when the events have them.
LEADING_FIELDS = ("timestamp", "type")
#: Fewer columns than this fitting the width means one block per event instead.
MIN_TABLE_COLUMNS = 3
#: The narrowest a text column is planned at when deciding how many fit.
MIN_EVENT_TEXT_WIDTH = 12
#: The widest the field-name column of a block gets.
MAX_BLOCK_NAME_WIDTH = 32
#: An integer column is an identifier with at least this many values, all different ...
MIN_IDENTIFIER_VALUES = 5
#: ... and some of them this many digits long.
IDENTIFIER_DIGITS = 10
#: A long value wraps over at most this many lines of a block.
MAX_BLOCK_VALUE_LINES = 4


def present_fields(table: pa.Table) -> list[str]:
    """``timestamp``, ``type``, then the fields with a value in some row, most present
    first (stored order breaks ties)."""
    counts = {
        name: table.num_rows - table.column(name).null_count
        for name in table.column_names
        if name not in LEADING_FIELDS
    }
    rest = sorted((n for n, c in counts.items() if c > 0), key=lambda n: -counts[n])
    return [n for n in LEADING_FIELDS if n in table.column_names] + rest


def _cells(table: pa.Table, name: str, env: Env, identifier: bool = False) -> list[DisplayCell]:
    values = table.column(name).to_pylist()
    return [display_cell(v, name, env.display_tz, identifier=identifier) for v in values]


def _least_width(name: str, cells: Sequence[DisplayCell]) -> int:
    widest = max((cell_len(c.text) for c in cells), default=0)
    if is_compact_column(cells):  # numbers and times are shown whole
        return max(widest, min(cell_len(name), MIN_EVENT_TEXT_WIDTH))
    return min(max(widest, cell_len(name)), MIN_EVENT_TEXT_WIDTH)


def fitting_columns(table: pa.Table, names: Sequence[str], env: Env) -> list[str]:
    """The leading ``names`` whose narrowest readable widths fit ``env.width``."""
    chosen: list[str] = []
    used = -GAP
    for name in names:
        need = _least_width(name, _cells(table, name, env)) + GAP
        if used + need > env.width:
            break
        chosen.append(name)
        used += need
    return chosen


def render_events(
    table: pa.Table,
    env: Env,
    options: RenderOptions,
    *,
    choose: bool,
    expand: bool = False,
) -> None:
    """Events as a table that fits, or as blocks (see the module docs). ``choose`` picks
    the columns (no ``--fields``); otherwise every column of ``table`` is shown."""
    if table.num_rows == 0:
        print_message(env, options.empty_message)
        return
    names = present_fields(table) if choose else list(table.column_names)
    fitting = fitting_columns(table, names, env)
    cramped = len(fitting) < MIN_TABLE_COLUMNS if choose else len(fitting) < len(names)
    if expand or (cramped and len(names) > len(fitting)):
        _render_blocks(table, names, env, skip_missing=choose)
        return
    shown = table.select(fitting)
    options = replace(options, identifiers=options.identifiers | identifier_columns(shown))
    render_table(rows_from_arrow(shown), env, options)


def identifier_columns(table: pa.Table) -> frozenset[str]:
    """Integer columns whose values look like identifiers, not quantities: at least
    ``MIN_IDENTIFIER_VALUES`` present, all different, some of them ``IDENTIFIER_DIGITS``
    digits long (flow ids, record numbers); shown as written, so they paste into --where."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = set()
    for name in table.column_names:
        column = table.column(name)
        if not pa.types.is_integer(column.type):
            continue
        present = column.drop_null()
        if len(present) < MIN_IDENTIFIER_VALUES or len(pc.unique(present)) != len(present):
            continue
        widest = pc.max(pc.abs(present)).as_py()
        if widest is not None and widest >= 10 ** (IDENTIFIER_DIGITS - 1):
            found.add(name)
    return frozenset(found)


def _render_blocks(table: pa.Table, names: Sequence[str], env: Env, *, skip_missing: bool) -> None:
    name_width = min(max(cell_len(n) for n in names), MAX_BLOCK_NAME_WIDTH, env.width // 3)
    value_width = max(env.width - name_width - 3, 8)
    identifiers = identifier_columns(table)
    columns = {name: _cells(table, name, env, name in identifiers) for name in names}
    lines: list[str] = []
    for row in range(table.num_rows):
        heading = f"-[ EVENT {row + 1} ]"
        lines.append(heading + "-" * max(env.width - cell_len(heading), 0))
        for name in names:
            cell = columns[name][row]
            if cell.missing and skip_missing:
                continue
            label = cut_middle(name, name_width)
            label += " " * (name_width - cell_len(label))
            for index, piece in enumerate(_wrapped(cell.text, value_width)):
                lines.append(f"{label if index == 0 else ' ' * name_width} | {piece}")
    env.stdout.write("\n".join(lines) + "\n")


def _wrapped(text: str, width: int) -> list[str]:
    """A value over at most ``MAX_BLOCK_VALUE_LINES`` lines of ``width`` characters."""
    text = text.replace("\n", " ")
    pieces = [text[i : i + width] for i in range(0, max(len(text), 1), width)]
    if len(pieces) > MAX_BLOCK_VALUE_LINES:
        pieces = pieces[:MAX_BLOCK_VALUE_LINES]
        pieces[-1] = pieces[-1][: width - 1] + "…"
    return pieces
