"""The HTML report's charts: small SVG images drawn with matplotlib (the ``report`` extra).

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``, no pyplot),
so no global backend or figure registry is touched: a notebook that builds a report keeps
its own backend. Output is reproducible: ``svg.hashsalt`` fixes the ids matplotlib would
otherwise draw at random, the ``Date`` metadata is left out, and text is drawn as paths
(the same glyphs on every viewer). The HTML embeds each chart as an ``<img>`` with a
``data:`` URI, where no script inside an image can ever run.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from datetime import tzinfo
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from mfq.render.escape import escape_control
from mfq.report.format import zone_of

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

    from mfq.report.model import Report, Table

#: What to install for charts.
INSTALL_HINT = "a dependency of mfq: reinstall mfq"
WIDTH_INCHES = 7.2
LABEL_CHARS = 32
_STYLE: dict[Any, Any] = {
    "svg.hashsalt": "mfq-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8c959f",
    "axes.grid": True,
    "grid.color": "#d0d7de",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "xtick.color": "#57606a",
    "ytick.color": "#57606a",
}
_NOW, _BEFORE, _ERROR, _INCIDENT = "#0969da", "#8c959f", "#cf222e", "#ffcecb"
_CHANGE = "#8250df"
_PERCENTILE_COLOURS = {"p50_ms": "#54aeff", "p95_ms": "#0969da", "p99_ms": "#0a3069"}


def charts_available() -> bool:
    """True when matplotlib is installed."""
    return find_spec("matplotlib") is not None


def draw_charts(report: Report) -> dict[str, str]:
    """Every chart of the report as a ``data:image/svg+xml`` URI, by chart key (charts
    without data to show are left out)."""
    import matplotlib

    drawn: dict[str, str] = {}
    with matplotlib.rc_context(_STYLE):
        for section in report.sections:
            for chart in section.charts:
                draw = _DRAWERS.get(chart.key)
                figure = draw(report) if draw is not None else None
                if figure is not None:
                    drawn[chart.key] = _data_uri(figure)
    return drawn


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(height: float) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=100)
    return figure, figure.add_subplot()


def _local(times: pd.Series, zone: tzinfo) -> pd.Series:
    """Aware times as naive wall-clock times of ``zone`` (what the axis shows)."""
    local: pd.Series = times.dt.tz_convert(zone).dt.tz_localize(None)
    return local


def _time_axis(axes: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)


def _legend_above(axes: Axes) -> None:
    """The legend in one row above the plot, where it never hides data."""
    _handles, labels = axes.get_legend_handles_labels()
    axes.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=max(1, len(labels)))


def _thousands(axis: Axis) -> None:
    from matplotlib.ticker import StrMethodFormatter

    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _label(value: object) -> str:
    text = escape_control(str(value))
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _events(report: Report) -> Figure | None:
    """Events per bucket, this period and the previous one laid over it."""
    current, previous = report.series.current, report.series.previous
    if current.empty:
        return None
    zone = zone_of(report.tz)
    figure, axes = _figure(2.3)
    times = _local(current["time"], zone)
    axes.plot(times, current["events"], color=_NOW, linewidth=1.2, label="this period")
    if not previous.empty and previous["events"].sum() > 0:
        shift = report.period.start - report.previous.start
        axes.plot(
            _local(previous["time"] + shift, zone),
            previous["events"],
            color=_BEFORE,
            linewidth=1,
            linestyle="--",
            label="previous period",
        )
    axes.set_ylim(bottom=0)
    axes.set_ylabel(f"events per {report.series.every}")
    _thousands(axes.yaxis)
    _time_axis(axes)
    _legend_above(axes)
    return figure


def _errors(report: Report) -> Figure | None:
    """Errors per bucket, SLO incidents shaded, anomalous error buckets marked."""
    current = report.series.current
    if current.empty:
        return None
    zone = zone_of(report.tz)
    figure, axes = _figure(2.3)
    times = _local(current["time"], zone)
    axes.plot(times, current["errors"], color=_ERROR, linewidth=1.1, label="errors")
    incidents = _table(report, "slo", "incidents")
    if incidents is not None:
        for index, row in enumerate(incidents.frame.itertuples(index=False)):
            axes.axvspan(
                _local_one(row.start, zone),
                _local_one(row.end, zone),
                color=_INCIDENT,
                zorder=0,
                label="SLO incident" if index == 0 else None,
            )
    _mark_anomalies(axes, report, current, zone)
    _mark_changes(axes, report, zone)
    axes.set_ylim(bottom=0)
    axes.set_ylabel(f"errors per {report.series.every}")
    _thousands(axes.yaxis)
    _time_axis(axes)
    _legend_above(axes)
    return figure


def _mark_changes(axes: Axes, report: Report, zone: tzinfo) -> None:
    """A dashed line where a version arrived after which errors rose, a dotted one where
    a version was rolled back (from the "Changes" table)."""
    changes = _table(report, "changes", "changes")
    if changes is None:
        return
    import pandas as pd

    start, end = pd.Timestamp(report.period.start), pd.Timestamp(report.period.end)
    drawn: set[str] = set()
    rows: list[dict[str, Any]] = changes.frame.to_dict("records")  # type: ignore[assignment]
    for row in rows:
        marks: list[tuple[pd.Timestamp, str, str]] = []
        if row["kind"] == "rollback" or row["shift"] == "worse":
            marks.append((pd.Timestamp(row["first_seen"]), "--", "version arrived"))
        if row["kind"] == "rollback":
            marks.append((pd.Timestamp(row["last_seen"]), ":", "version rolled back"))
        for moment, style, label in marks:
            if not start <= moment < end:
                continue
            axes.axvline(
                _local_one(moment, zone),
                color=_CHANGE,
                linestyle=style,
                linewidth=1.0,
                zorder=2,
                label=None if label in drawn else label,
            )
            drawn.add(label)


def _table(report: Report, section: str, key: str) -> Table | None:
    """A table of the report, or None when the section shows none by that name (it had
    no rows)."""
    try:
        return report.section(section).table(key)
    except KeyError:
        return None


def _local_one(moment: Any, zone: tzinfo) -> Any:
    import pandas as pd

    return pd.Timestamp(moment).tz_convert(zone).tz_localize(None)


def _mark_anomalies(axes: Axes, report: Report, current: pd.DataFrame, zone: tzinfo) -> None:
    """A dot on the errors line at each bucket an error signal flagged."""
    anomalies = _table(report, "anomalies", "anomalies")
    if anomalies is None:
        return
    flagged = [
        row.time
        for row in anomalies.frame.itertuples(index=False)
        if str(row.signal).startswith("errors")
    ]
    if not flagged:
        return
    marked = current[current["time"].isin(flagged)]
    axes.scatter(
        _local(marked["time"], zone),
        marked["errors"],
        s=18,
        color=_ERROR,
        edgecolors="white",
        zorder=3,
        label="anomalous bucket",
    )


def _types(report: Report) -> Figure | None:
    """The largest types: events this period beside the previous period's."""
    table = _table(report, "volume", "types")
    if table is None:
        return None
    frame = table.frame.iloc[: len(table.frame) - table.totals].head(10)
    figure, axes = _figure(0.6 + 0.24 * len(frame))
    positions = list(range(len(frame)))[::-1]
    labels = [_label(value) for value in frame["type"]]
    compare = float(frame["previous_events"].sum()) > 0
    height = 0.4 if compare else 0.7
    axes.barh(
        [p + (height / 2 if compare else 0) for p in positions],
        frame["events"],
        height=height,
        color=_NOW,
        label="this period",
    )
    if compare:
        axes.barh(
            [p - height / 2 for p in positions],
            frame["previous_events"],
            height=height,
            color=_BEFORE,
            label="previous period",
        )
        _legend_above(axes)
    axes.set_yticks(positions, labels)
    axes.grid(axis="y", visible=False)
    axes.set_xlabel("events")
    _thousands(axes.xaxis)
    return figure


def _latency(report: Report) -> Figure | None:
    """p50, p95 and p99 per service or other group (log scale when they span orders of
    magnitude)."""
    table = _table(report, "latency", "latency")
    if table is None:
        return None
    frame = table.frame.head(12)
    present = [c for c in _PERCENTILE_COLOURS if c in frame]
    if not present or frame[present].isna().all().all():
        return None
    figure, axes = _figure(0.6 + 0.3 * len(frame))
    positions = list(range(len(frame)))[::-1]
    height = 0.8 / len(present)
    for offset, column in enumerate(present):
        axes.barh(
            [p + (1 - offset) * height for p in positions],
            frame[column].fillna(0),
            height=height,
            color=_PERCENTILE_COLOURS[column],
            label=column.removesuffix("_ms"),
        )
    values = frame[present].to_numpy(dtype="float64")
    positive = values[values > 0]
    if len(positive) and positive.max() / positive.min() > 50:
        axes.set_xscale("log")
    key = table.columns[0].name  # service, or the field latency is broken down by
    axes.set_yticks(positions, [_label(v) for v in frame[key]])
    axes.grid(axis="y", visible=False)
    axes.set_xlabel("milliseconds")
    _legend_above(axes)
    return figure


_DRAWERS: dict[str, Callable[[Report], Figure | None]] = {
    "events": _events,
    "errors": _errors,
    "types": _types,
    "latency": _latency,
}
