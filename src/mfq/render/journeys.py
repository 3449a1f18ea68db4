"""``sessions``, ``funnel`` and ``paths`` results for people.

Machine formats get the rows as they are. Tables get: durations as ``2m 05s``, shares as
percentages, and for sessions on a terminal a bar per row scaled to the longest duration
shown; then one summary line (sessions), what ``--limit`` left out and the notes, on
stderr, so the table on stdout stays the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mfq.env import Env
from mfq.render.console import print_message
from mfq.render.display import format_duration_ms

if TYPE_CHECKING:
    import pandas as pd

    from mfq.model.answer import Answer
    from mfq.render import OutputFormat

#: Width of a duration bar, in cells.
BAR_WIDTH = 12
_BLOCKS = " ▏▎▍▌▋▊▉█"


def duration_bar(value: float, longest: float, width: int = BAR_WIDTH) -> str:
    """A bar of ``width`` cells, full for ``longest``, in eighths of a cell."""
    if longest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(min(value / longest, 1.0) * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "")


def summary_line(summary: Mapping[str, object]) -> str:
    """``operations 120: completed 100, failed 8, open 12 (stuck 3); p50 2m 05s, p95 ...``"""
    parts = [f"{name} {_count(summary.get(name)):,}" for name in ("completed", "failed", "open")]
    stuck = summary.get("stuck")
    if stuck is not None:
        parts[-1] += f" (stuck {_count(stuck):,})"
    line = f"operations {_count(summary.get('operations')):,}: " + ", ".join(parts)
    for label, name in (("p50", "p50_ms"), ("p95", "p95_ms")):
        value = summary.get(name)
        if isinstance(value, int | float):
            line += f"; {label} {format_duration_ms(value)}"
    rate = summary.get("completion_rate")
    if isinstance(rate, int | float):
        line += f"; completion {rate:.1%}"
    return line


def render_sessions(frame: pd.DataFrame, fmt: OutputFormat, env: Env, *, key: str) -> None:
    """Write a ``sessions`` result; tables get the view, the summary line and the notes."""
    from mfq.model.answer import answer
    from mfq.render import OutputFormat, render

    frame = answer(frame)

    if fmt not in (OutputFormat.TABLE, OutputFormat.MARKDOWN):
        render(frame, fmt, env, title="sessions", empty_message="no operations")
        return
    view = sessions_view(frame, key, bars=fmt is OutputFormat.TABLE and env.stdout_isatty)
    render(view, fmt, env, title=f"sessions by {key}", empty_message="no operations")
    _footer(frame, env, "operations")
    if frame.summary:
        print_message(env, summary_line(frame.summary))


def sessions_view(frame: pd.DataFrame, key: str, *, bars: bool) -> pd.DataFrame:
    """Rows as people read them: durations as text, a bar when ``bars``."""
    view = frame.copy()
    durations = view["duration_ms"].astype(float)
    view["duration"] = [format_duration_ms(value) for value in durations]
    if bars:
        longest = float(durations.max()) if len(durations) else 0.0
        view["bar"] = [duration_bar(value, longest) for value in durations]
    # Read at 80 columns: the first type is in json, errors only when there are some.
    columns = [key, "start", "duration"]
    columns += ["bar"] if bars else []
    columns += ["events", "errors", "last_type", "outcome"]
    if not view["errors"].any():
        columns.remove("errors")
    return view[columns]


def render_funnel(frame: pd.DataFrame, fmt: OutputFormat, env: Env) -> None:
    """Write a ``funnel`` result; tables show shares as percentages, times as durations."""
    from mfq.render import OutputFormat, render

    if fmt not in (OutputFormat.TABLE, OutputFormat.MARKDOWN):
        render(frame, fmt, env, title="funnel", empty_message="no journeys")
        return
    render(funnel_view(frame), fmt, env, title="funnel", empty_message="no journeys")


def funnel_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Percentages and durations as text; the first step has no time from a previous one."""
    view = frame.copy()
    for name in ("conversion", "from_start"):
        view[name] = [_percent(value) for value in view[name]]
    for name in ("median_ms", "p95_ms"):
        view[name] = [_duration(value) for value in view[name]]
    return view.rename(columns={"median_ms": "median", "p95_ms": "p95"})


def render_paths(frame: Answer, fmt: OutputFormat, env: Env) -> None:
    """Write a ``paths`` result; tables show the share as a percentage."""
    from mfq.render import OutputFormat, render

    if fmt not in (OutputFormat.TABLE, OutputFormat.MARKDOWN):
        render(frame, fmt, env, title="paths", empty_message="no journeys take the step")
        return
    view = frame.copy()
    view["share"] = [_percent(value) for value in view["share"]]
    title = f"paths of {frame.key_count or 0:,} keys"
    render(view, fmt, env, title=title, empty_message="no journeys take the step")


def _footer(frame: Answer, env: Env, what: str) -> None:
    total = len(frame) if frame.total_rows is None else frame.total_rows
    if total > len(frame):
        print_message(
            env,
            f"showing {len(frame):,} of {total:,} {what}; "
            "--limit N for more, --format json for all",
        )
    for note in frame.notes:
        print_message(env, f"note: {note}")


def _percent(value: object) -> str | None:
    if isinstance(value, int | float) and not math.isnan(value):
        return f"{value:.1%}"
    return None


def _duration(value: object) -> str | None:
    if isinstance(value, int | float) and not math.isnan(value):
        return format_duration_ms(value)
    return None


def _count(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0
