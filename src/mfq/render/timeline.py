"""A ``timeline`` result for people: a compact table, what ``--limit`` cut, a summary.

Machine formats get the rows as they are (every column, times in UTC). ``table`` and
``markdown`` get a view that reads at 80 columns: the wall-clock time to the second in
the display zone (the zone goes into the title, the full times into the summary), how
long a burst lasted instead of its end, the service only when it varies (else it goes
into the title too), no column without a value, and text columns narrowed in order of
importance. Then a note on stderr when rows were cut, and the summary as a field/value
table with readable labels. Text from data is escaped, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from rich import box
from rich.table import Table
from rich.text import Text

from mfq.env import Env
from mfq.render.console import make_console, print_message
from mfq.render.display import MISSING_TEXT, display_cell, format_duration_ms
from mfq.render.escape import escape_control
from mfq.render.values import normalise

if TYPE_CHECKING:
    import pandas as pd

    from mfq.render import OutputFormat

#: Summary fields and the labels people read.
SUMMARY_LABELS = {
    "first_error": "first error",
    "peak": "peak minute",
    "peak_errors": "errors in peak minute",
    "last_error": "last error",
    "recovered": "recovered",
    "time_to_recover_ms": "time to recover",
    "events": "events",
    "errors": "errors",
    "incident_errors": "errors in incident",
    "incident_stands_out": "markers",
}
_STANDS_OUT = {
    True: "the incident: errors well above the rest's rate",
    False: "the first and last errors (no stretch stands out)",
}
#: Columns of the people's view.
VIEW_COLUMNS = ("time", "count", "lasted", "type", "service", "status", "message", "marker")
#: The widest a text column gets in the terminal.
_MAX_TEXT = {"type": 28, "service": 16, "status": 10, "message": 60, "marker": 40}
#: Left out of the view when no row has a value.
_OPTIONAL = ("lasted", "status", "message")
#: The order text columns narrow in when the table is too wide, and how far.
_SHRINK = (("message", 8), ("type", 12), ("service", 8), ("status", 5))


def render_timeline(
    frame: pd.DataFrame, fmt: OutputFormat, env: Env, *, title: str = "timeline"
) -> None:
    """Write a ``timeline`` result (see :mod:`mfq.analysis.timeline`) in format ``fmt``
    (a plain frame is a timeline without a summary)."""
    from mfq.model.answer import answer
    from mfq.render import OutputFormat, render

    frame = answer(frame)

    if fmt not in (OutputFormat.TABLE, OutputFormat.MARKDOWN) or frame.empty:
        render(frame, fmt, env, title=title)
        return
    view = timeline_view(frame, env.display_tz)
    heading = _heading(title, view, env.display_tz)
    # Width is scarce at 80 columns: a service every row shares is in the heading, and a
    # column without a single value (no burst lasted, no status, no message) says nothing.
    if view["service"].nunique(dropna=False) == 1:
        view = view.drop(columns="service")
    view = view.drop(columns=[c for c in _OPTIONAL if view[c].isna().all()])
    if fmt is OutputFormat.TABLE:
        _print_table(_rows_table(view, heading, env.width), env)
    else:
        render(view, fmt, env, title=heading)
    total = len(frame) if frame.total_rows is None else frame.total_rows
    summary = frame.summary
    if total > len(frame):
        which = "the markers and the rows nearest them" if summary.get("errors") else "the first"
        print_message(
            env,
            f"showing {len(frame):,} of {total:,} rows ({which}); "
            "--limit N for more, --format json for all",
        )
    if summary:
        render(summary_view(summary), fmt, env, title="summary")


def timeline_view(frame: pd.DataFrame, tz: tzinfo) -> pd.DataFrame:
    """The rows as a person reads them (:data:`VIEW_COLUMNS`), times as text in ``tz``."""
    import pandas as pd

    lasted = [
        format_duration_ms((until - time).total_seconds() * 1000) if count > 1 else None
        for time, until, count in zip(frame["time"], frame["until"], frame["count"], strict=True)
    ]
    return pd.DataFrame(
        {
            "time": [_wall_clock(moment, tz) for moment in frame["time"]],
            "count": frame["count"],
            "lasted": lasted,
            "type": frame["type"],
            "service": frame["service"],
            "status": frame["status"],
            "message": frame["message"],
            "marker": frame["marker"],
        }
    )


def summary_view(summary: Mapping[str, object]) -> dict[str, object]:
    """The summary with readable labels; the time to recover as a duration."""
    shown: dict[str, object] = {}
    for name, value in summary.items():
        label = SUMMARY_LABELS.get(name, name)
        if name == "time_to_recover_ms":
            cell = normalise(value)
            shown[label] = format_duration_ms(cell) if isinstance(cell, int | float) else None
        elif name == "incident_stands_out":
            shown[label] = _STANDS_OUT[bool(value)] if summary.get("errors") else None
        else:
            shown[label] = value
    return shown


def _heading(title: str, view: pd.DataFrame, tz: tzinfo) -> str:
    parts = [title]
    services = {normalise(value) for value in view["service"]}
    if len(services) == 1:
        service = next(iter(services))
        parts.append(f"service {MISSING_TEXT if service is None else service}")
    parts.append(f"times in {_zone_name(tz)}")
    return escape_control(", ".join(parts))


def _wall_clock(moment: object, tz: tzinfo) -> str | None:
    """``11-19 14:00:07`` in ``tz``: a timeline table needs the wall clock; the year and
    the sub-seconds are in the summary and in machine formats."""
    value = normalise(moment)
    if not isinstance(value, datetime):
        return None
    return value.astimezone(tz).strftime("%m-%d %H:%M:%S")


def _zone_name(tz: tzinfo) -> str:
    name = getattr(tz, "key", None) or tz.tzname(None) or "UTC"
    return "UTC" if name in {"UTC", "UTC+00:00"} else str(name)


def column_widths(view: pd.DataFrame, width: int) -> dict[str, int]:
    """Cells per column so the table fits ``width``: each as wide as its longest value
    (within a cap), then the message, type, service and status narrowed in that order
    down to a floor, and the message left out when that is not enough. The time, count,
    how long and the marker are not cut; on a terminal too narrow even for that, the
    table squeezes every column."""
    from rich.cells import cell_len

    widths = {}
    for column in view.columns:
        cells = [_cell_text(value, column) for value in view[column]]
        longest = max((cell_len(text) for text in [column, *cells]), default=0)
        widths[column] = min(longest, _MAX_TEXT.get(column, longest))
    for column, floor in _SHRINK:
        excess = sum(widths.values()) + 2 * (len(widths) - 1) - width
        if excess <= 0:
            break
        if column in widths:
            widths[column] = max(widths[column] - excess, min(floor, widths[column]))
    too_wide = sum(widths.values()) + 2 * (len(widths) - 1) > width
    if too_wide and "message" in widths:
        return column_widths(view.drop(columns="message"), width)
    return widths


def _cell_text(value: object, column: str) -> str:
    return display_cell(value, column, UTC).text  # times are text already


def _rows_table(view: pd.DataFrame, heading: str, width: int) -> Table:
    table = Table(
        title=Text(heading, no_wrap=True, overflow="ellipsis"),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
        pad_edge=False,
    )
    widths = column_widths(view, width)
    for column in widths:
        table.add_column(
            column, justify="right" if column == "count" else "left", width=widths[column]
        )
    for row in view[list(widths)].itertuples(index=False):
        cells = []
        for column, value in zip(widths, row, strict=True):
            cell = display_cell(value, column, UTC)
            style = "red" if column == "status" and normalise(value) == "error" else ""
            text = Text(cell.text, style="dim" if cell.missing else style)
            text.no_wrap, text.overflow = True, "ellipsis"
            cells.append(text)
        table.add_row(*cells)
    return table


def _print_table(table: Table, env: Env) -> None:
    console = make_console(env.stdout, colour=env.colour, width=env.width)
    with console.capture() as capture:
        console.print(table)
    env.stdout.write("\n".join(line.rstrip(" ") for line in capture.get().split("\n")))
