"""A terminal chart for time series: one sparkline per series (at most eight), drawn
under the table when the output is a terminal.

It reads rows (a DataFrame, a pyarrow Table or :class:`~mfq.render.result.Rows`) in plain
Python, so a Table is charted without pandas; a time series has at most a few thousand
rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from mfq.env import Env
from mfq.render.console import make_console
from mfq.render.display import MISSING_TEXT
from mfq.render.escape import escape_control
from mfq.render.result import Rows, as_rows
from mfq.render.values import normalise

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

BLOCKS = " ▁▂▃▄▅▆▇█"
MAX_SERIES = 8
_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")

_Point = tuple[datetime | None, float]


def sparkline(values: list[float], width: int) -> str:
    """Values as block characters scaled to the largest; squeezed to ``width`` by max."""
    if not values or width <= 0:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [
            max(values[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)])
            for i in range(width)
        ]
    top = max(values)
    if top <= 0 or math.isnan(top):
        return BLOCKS[1] * len(values)
    return "".join(
        BLOCKS[0] if math.isnan(v) or v <= 0 else BLOCKS[max(1, round(v / top * 8))] for v in values
    )


def _number(value: object) -> float:
    cell = normalise(value)
    return float(cell) if isinstance(cell, int | float) else math.nan


def _moment(value: object) -> datetime | None:
    cell = normalise(value)
    return cell if isinstance(cell, datetime) else None


def _label_part(value: object) -> str:
    cell = normalise(value)
    return MISSING_TEXT if cell is None else str(cell)


def _series_points(
    rows: Rows, time_column: str, series_columns: Sequence[str], value_column: str
) -> dict[str, list[_Point]]:
    """Each series' (time, value) points, series in order of first appearance."""
    position = {column: index for index, column in enumerate(rows.columns)}
    at_time, at_value = position[time_column], position[value_column]
    at_labels = [position[column] for column in series_columns]
    series: dict[str, list[_Point]] = {}
    for row in rows:
        label = " ".join(_label_part(row[i]) for i in at_labels) if at_labels else value_column
        series.setdefault(label, []).append((_moment(row[at_time]), _number(row[at_value])))
    return series


def _by_time(point: _Point) -> tuple[bool, datetime | float]:
    moment = point[0]
    return (moment is None, moment if moment is not None else 0.0)  # missing times last


def render_series_chart(
    result: Rows | pd.DataFrame | pa.Table,
    time_column: str,
    series_columns: list[str],
    value_column: str,
    env: Env,
) -> None:
    """Draw ``value_column`` over ``time_column``, one line per series, on ``env.stdout``.

    ``result`` is a DataFrame, a pyarrow Table or :class:`~mfq.render.result.Rows`; a
    series is a distinct combination of ``series_columns`` values (all rows are one
    series when there are none). The largest :data:`MAX_SERIES` series by total are drawn.
    """
    rows = as_rows(result)
    if rows.is_empty() or value_column not in rows.columns:
        return
    series = _series_points(rows, time_column, series_columns, value_column)
    totals = {
        label: sum(v for _, v in points if not math.isnan(v)) for label, points in series.items()
    }
    chosen = sorted(totals, key=lambda label: -totals[label])[:MAX_SERIES]  # stable on ties
    names = {label: escape_control(label) for label in chosen}
    label_width = min(max((len(n) for n in names.values()), default=0), 24)
    width = max(env.width - label_width - 14, 10)
    console = make_console(env.stdout, colour=env.colour, width=env.width)
    moments = [moment for points in series.values() for moment, _ in points if moment]
    if moments:
        span = f"{min(moments):%Y-%m-%d %H:%M} to {max(moments):%Y-%m-%d %H:%M} (UTC)"
        heading = f"{value_column}, {span}"
    else:
        heading = value_column
    console.print(Text(heading, style="dim"), no_wrap=True, overflow="ellipsis")
    for index, label in enumerate(chosen):
        values = [value for _, value in sorted(series[label], key=_by_time)]
        name = names[label][:label_width].ljust(label_width)
        peak = max((v for v in values if not math.isnan(v)), default=0.0)
        line = Text(f"{name} ")
        line.append(sparkline(values, width), style=_STYLES[index % len(_STYLES)])
        line.append(f" max {peak:,.4g}")
        console.print(line, no_wrap=True, overflow="ellipsis")
