"""Every output format, behind one dispatch: ``render(result, fmt, env)``.

Commands return data (a mapping for a single object, a DataFrame or a pyarrow Table for
rows), never strings; this package turns it into ``table``, ``json``, ``ndjson``, ``csv``
or ``markdown`` on ``env.stdout``, treating every value as untrusted (SPEC, "Untrusted
data"). Importing it is cheap: each format's module (rich for ``table`` and ``markdown``)
is imported when that format is rendered, pandas and pyarrow never (a result of either
type means its library is loaded), and a Table renders without pandas at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

from mfq.env import Env
from mfq.render.escape import escape_control
from mfq.render.options import RenderOptions
from mfq.render.result import Record, Result, Rows, as_rows

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["OutputFormat", "escape_control", "print_message", "render"]

Renderer = Callable[[Result, Env, RenderOptions], None]


class OutputFormat(StrEnum):
    """The ``--format`` choices."""

    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    MARKDOWN = "markdown"


# Loaders rather than the renderers themselves: `mfq query --format json` never pays for
# importing rich, which only `table` and `markdown` use.
def _table_renderer() -> Renderer:
    from mfq.render.table import render_table

    return render_table


def _json_renderer() -> Renderer:
    from mfq.render.machine import render_json

    return render_json


def _ndjson_renderer() -> Renderer:
    from mfq.render.machine import render_ndjson

    return render_ndjson


def _csv_renderer() -> Renderer:
    from mfq.render.machine import render_csv

    return render_csv


def _markdown_renderer() -> Renderer:
    from mfq.render.markdown import render_markdown

    return render_markdown


_RENDERERS: dict[OutputFormat, Callable[[], Renderer]] = {
    OutputFormat.TABLE: _table_renderer,
    OutputFormat.JSON: _json_renderer,
    OutputFormat.NDJSON: _ndjson_renderer,
    OutputFormat.CSV: _csv_renderer,
    OutputFormat.MARKDOWN: _markdown_renderer,
}


def _as_result(result: Mapping[str, object] | pd.DataFrame | pa.Table | Rows) -> Result:
    if isinstance(result, Mapping):
        return Record({str(field): value for field, value in result.items()})
    return as_rows(result)


def render(
    result: Mapping[str, object] | pd.DataFrame | pa.Table | Rows,
    fmt: OutputFormat,
    env: Env,
    *,
    title: str | None = None,
    raw: bool = False,
    empty_message: str = "no events match",
) -> None:
    """Write ``result`` to ``env.stdout`` in format ``fmt``.

    A mapping is a single object (one JSON object, one CSV row, a ``field``/``value``
    table); a DataFrame (its index is not shown) or a pyarrow Table is rows, a Table
    rendering exactly as its ``to_pandas()`` would. ``title`` heads a ``table``; ``raw``
    (or ``env.raw``, set by ``--raw``) turns off CSV formula neutralisation;
    ``empty_message`` goes to stderr when a ``table`` or ``markdown`` result has no rows
    (machine formats print ``[]`` or nothing).
    Machine formats show times in UTC, ``table``/``markdown`` in ``env.display_tz``.
    """
    options = RenderOptions(title=title, raw=raw or env.raw, empty_message=empty_message)
    renderer = _RENDERERS[OutputFormat(fmt)]()
    renderer(_as_result(result), env, options)


def print_message(env: Env, text: str, *, style: str | None = None) -> None:
    r"""Print ``text`` as one line on ``env.stderr``; data in it is never interpreted.

    See :func:`mfq.render.console.print_message`, which this loads on first use (it needs
    rich, which commands writing machine formats never import otherwise).
    """
    from mfq.render.console import print_message as print_line

    print_line(env, text, style=style)


#: What an analysis's empty answer says when no event matched at all.
NO_EVENTS_MATCH = "no events match"


def empty_message(result: object, found_nothing: str) -> str:
    """The line for an empty answer: ``found_nothing`` (``no anomalies``) when the
    analysis judged events and found nothing, ``no events match`` when it had none to
    judge (:attr:`mfq.model.answer.Answer.judged`), so "nothing found" is never claimed of
    nothing."""
    return found_nothing if getattr(result, "judged", True) else NO_EVENTS_MATCH
