"""A terminal chart for time series: one sparkline per series (at most eight), drawn
under the table when the output is a terminal."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.text import Text

from mfq.env import Env
from mfq.render.console import make_console
from mfq.render.escape import escape_control

if TYPE_CHECKING:
    import pandas as pd

BLOCKS = " ▁▂▃▄▅▆▇█"
MAX_SERIES = 8
_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


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


def render_series_chart(
    frame: pd.DataFrame, time_column: str, series_columns: list[str], value_column: str, env: Env
) -> None:
    """Draw ``value_column`` over ``time_column``, one line per series, on ``env.stdout``."""
    if frame.empty or value_column not in frame:
        return
    values = frame[value_column].astype("float64")
    if series_columns:
        labels = frame[series_columns].astype(str).agg(" ".join, axis=1)
    else:
        labels = frame[time_column].map(lambda _: value_column)
    data = frame.assign(__label=labels, __value=values)
    totals = data.groupby("__label", sort=False)["__value"].sum().sort_values(ascending=False)
    chosen = list(totals.index[:MAX_SERIES])
    names = {label: escape_control(str(label)) for label in chosen}
    label_width = min(max((len(n) for n in names.values()), default=0), 24)
    width = max(env.width - label_width - 14, 10)
    console = make_console(env.stdout, colour=env.colour, width=env.width)
    first, last = frame[time_column].min(), frame[time_column].max()
    span = f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} (UTC)"
    console.print(Text(f"{value_column}, {span}", style="dim"), no_wrap=True, overflow="ellipsis")
    for position, label in enumerate(chosen):
        series = data[data["__label"] == label].sort_values(time_column)["__value"].tolist()
        name = names[label][:label_width].ljust(label_width)
        peak = max((v for v in series if not math.isnan(v)), default=0.0)
        line = Text(f"{name} ")
        line.append(sparkline(series, width), style=_STYLES[position % len(_STYLES)])
        line.append(f" max {peak:,.4g}")
        console.print(line, no_wrap=True, overflow="ellipsis")
