"""The machine formats: JSON, NDJSON and CSV, streamed to ``env.stdout`` row by row.

Shapes follow SPEC "Output shapes": a single object is one JSON object (one NDJSON line,
one CSV row); rows are a JSON array written a row at a time. Timestamps are ISO-8601 UTC
with ``Z``, missing and non-finite values are ``null`` (an empty CSV cell).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import TextIO

from mfq.env import Env
from mfq.render.escape import escape_control, escape_json_text
from mfq.render.options import RenderOptions
from mfq.render.result import Record, Result
from mfq.render.values import JsonValue, json_text, normalise, to_json

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection,
# OWASP). Tab and CR are on the list because some spreadsheets skip them first.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _header_and_rows(result: Result) -> tuple[list[str], Iterable[Sequence[object]]]:
    if isinstance(result, Record):
        return list(result.fields), [list(result.fields.values())]
    return list(result.columns), result


def _json_object(columns: Sequence[str], values: Iterable[object]) -> dict[str, JsonValue]:
    return {
        column: to_json(normalise(value)) for column, value in zip(columns, values, strict=True)
    }


def _dumps(data: JsonValue, *, compact: bool = False, indent: int | None = None) -> str:
    separators = (",", ":") if compact else None
    text = json.dumps(
        data, ensure_ascii=False, allow_nan=False, indent=indent, separators=separators
    )
    return escape_json_text(text)


def render_json(result: Result, env: Env, options: RenderOptions) -> None:
    """A single object as one (indented) JSON object; rows as an array, a row per line."""
    out = env.stdout
    if isinstance(result, Record):
        record = _json_object(list(result.fields), result.fields.values())
        out.write(_dumps(record, indent=2) + "\n")
        return
    if result.is_empty():
        out.write("[]\n")
        return
    separator = "[\n  "
    for row in result:
        out.write(separator + _dumps(_json_object(result.columns, row)))
        separator = ",\n  "
    out.write("\n]\n")


def render_ndjson(result: Result, env: Env, options: RenderOptions) -> None:
    """One compact JSON object per line; nothing at all for no rows."""
    columns, rows = _header_and_rows(result)
    for row in rows:
        env.stdout.write(_dumps(_json_object(columns, row), compact=True) + "\n")


def neutralise_formula(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``)."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def csv_cell(value: object, *, raw: bool) -> str:
    """The CSV text of one value; strings are neutralised unless ``raw`` (numbers never)."""
    cell = normalise(value)
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, str):
        return cell if raw else neutralise_formula(cell)
    if isinstance(cell, list | dict):
        return json_text(cell, compact=True)
    # int, float (repr: shortest round-trip; non-finite → empty), datetime, date
    json_value = to_json(cell)
    return "" if json_value is None else str(json_value)


class _CsvWriter:
    """``csv.writer`` with ``\n`` line ends that also quotes a bare carriage return.

    The csv module quotes a field holding a character of the line terminator, so with
    ``\n`` a field holding only ``\r`` goes out unquoted and readers take it for a line
    break; such rows are written with every field quoted instead.
    """

    def __init__(self, stream: TextIO, *, terminal: bool = False) -> None:
        self._minimal = csv.writer(stream, lineterminator="\n")
        self._all = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_ALL)
        self._terminal = terminal

    def writerow(self, cells: list[str]) -> None:
        """Write one row of text cells (control characters escaped on a terminal)."""
        if self._terminal:
            cells = [escape_control(cell) for cell in cells]
        writer = self._all if any("\r" in cell for cell in cells) else self._minimal
        writer.writerow(cells)


def render_csv(result: Result, env: Env, options: RenderOptions) -> None:
    """A header and rows via the csv module; no output at all (an empty file) for no rows.

    Header cells are neutralised like data cells: column names can come from event keys.
    On a terminal, control characters in cells are shown escaped (as in every human
    format), so data cannot retitle, clear or write the clipboard of the terminal; into a
    pipe or a file the cells are written exactly.
    """
    if result.is_empty():
        return
    columns, rows = _header_and_rows(result)
    writer = _CsvWriter(env.stdout, terminal=env.stdout_isatty)
    writer.writerow([column if options.raw else neutralise_formula(column) for column in columns])
    for row in rows:
        writer.writerow([csv_cell(value, raw=options.raw) for value in row])
