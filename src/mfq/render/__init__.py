"""Every output format, behind one dispatch: ``render(result, fmt, env)``.

Commands return data (a mapping for a single object, a DataFrame for rows), never strings;
this package turns it into ``table``, ``json``, ``ndjson``, ``csv`` or ``markdown`` on
``env.stdout``, treating every value as untrusted (SPEC, "Untrusted data"). pandas and
pyarrow are imported only when a DataFrame is rendered, so importing this is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from mfq.env import Env
from mfq.render.console import print_message
from mfq.render.escape import escape_control
from mfq.render.machine import render_csv, render_json, render_ndjson
from mfq.render.markdown import render_markdown
from mfq.render.options import RenderOptions
from mfq.render.result import Record, Result, rows_from_dataframe
from mfq.render.table import render_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["OutputFormat", "escape_control", "print_message", "render"]


class OutputFormat(StrEnum):
    """The ``--format`` choices."""

    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    MARKDOWN = "markdown"


_RENDERERS: dict[OutputFormat, Callable[[Result, Env, RenderOptions], None]] = {
    OutputFormat.TABLE: render_table,
    OutputFormat.JSON: render_json,
    OutputFormat.NDJSON: render_ndjson,
    OutputFormat.CSV: render_csv,
    OutputFormat.MARKDOWN: render_markdown,
}


def _as_result(result: Mapping[str, object] | pd.DataFrame) -> Result:
    if isinstance(result, Mapping):
        return Record({str(field): value for field, value in result.items()})
    import pandas as pd  # a DataFrame exists, so pandas is loaded already

    if isinstance(result, pd.DataFrame):
        return rows_from_dataframe(result)
    raise TypeError(f"cannot render a {type(result).__name__}: expected a mapping or a DataFrame")


def render(
    result: Mapping[str, object] | pd.DataFrame,
    fmt: OutputFormat,
    env: Env,
    *,
    title: str | None = None,
    raw: bool = False,
    empty_message: str = "no events match",
) -> None:
    """Write ``result`` to ``env.stdout`` in format ``fmt``.

    A mapping is a single object (one JSON object, one CSV row, a ``field``/``value``
    table); a DataFrame is rows (its index is not shown). ``title`` heads a ``table``;
    ``raw`` turns off CSV formula neutralisation; ``empty_message`` goes to stderr when
    a ``table`` or ``markdown`` result has no rows (machine formats print ``[]`` or
    nothing). Machine formats show times in UTC, ``table``/``markdown`` in
    ``env.display_tz``.
    """
    options = RenderOptions(title=title, raw=raw, empty_message=empty_message)
    _RENDERERS[OutputFormat(fmt)](_as_result(result), env, options)
