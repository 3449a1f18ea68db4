"""A trace as a terminal waterfall: one line per span or event, indented by depth, with
its offset and duration and a bar placed on the trace's time span.

Fits ``env.width`` (80 columns by default): the bar takes what the text columns leave,
and names and services are cut with an ellipsis first. Every piece of text from data
goes through :func:`~mfq.render.escape.escape_control` into a ``rich.text.Text``, so
it is never markup and never a terminal escape sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

from mfq.env import Env
from mfq.render.console import make_console, print_message
from mfq.render.display import MISSING_TEXT, format_duration_ms, format_local_time
from mfq.render.escape import escape_control
from mfq.render.values import normalise

if TYPE_CHECKING:
    import pandas as pd

    from mfq.render import OutputFormat

SPAN_GLYPH = "█"
EVENT_GLYPH = "•"  # a plain event: an instant, not an interval
HEADERS = ("span", "service", "offset", "duration", "status")
MIN_BAR = 10
MAX_NAME = 32
MAX_SERVICE = 14
MAX_STATUS = 8
MIN_NAME = 12
_GAP = " "


@dataclass(frozen=True)
class WaterfallLine:
    """One row of the waterfall, its text already made inert."""

    depth: int
    name: str
    service: str
    offset_ms: float
    duration_ms: float | None
    status: str
    failed: bool  # status "error", or severity error or fatal
    is_span: bool  # an interval (a span with a duration), not an instant


@dataclass(frozen=True)
class Layout:
    """Column widths (terminal cells) and the time span the bars are scaled to."""

    name: int
    service: int
    offset: int
    duration: int
    status: int
    bar: int
    total_ms: float


def waterfall_lines(frame: pd.DataFrame) -> list[WaterfallLine]:
    """The rows of a ``trace`` result as lines to draw."""
    columns = ("depth", "type", "note", "service", "offset_ms", "duration_ms", "status", "span_id")
    severities = frame["severity"].tolist() if "severity" in frame else [None] * len(frame)
    lines = []
    for values in zip(*(frame[name].tolist() for name in columns), severities, strict=True):
        depth, type_, note, service, offset, duration, status, span, severity = map(
            normalise, values
        )
        name = escape_control(str(type_)) if type_ is not None else MISSING_TEXT
        lines.append(
            WaterfallLine(
                depth=depth if isinstance(depth, int) else 0,
                name=name + (f" ({escape_control(str(note))})" if note else ""),
                service=escape_control(str(service)) if service is not None else MISSING_TEXT,
                offset_ms=float(offset) if isinstance(offset, int | float) else 0.0,
                duration_ms=float(duration) if isinstance(duration, int | float) else None,
                status=escape_control(str(status)) if status is not None else MISSING_TEXT,
                failed=status == "error" or severity in ("error", "fatal"),
                is_span=span is not None and isinstance(duration, int | float),
            )
        )
    return lines


def layout(lines: list[WaterfallLine], width: int) -> Layout:
    """Widths that fit ``width``: text columns as wide as their content (within limits),
    the bar the rest; names and services narrow first when the bar would be too short."""
    total = max((line.offset_ms + (line.duration_ms or 0.0) for line in lines), default=0.0)
    longest = max((2 * line.depth + cell_len(line.name) for line in lines), default=0)
    name = max(min(longest, MAX_NAME), len(HEADERS[0]))
    service = min(max(max((cell_len(line.service) for line in lines), default=1), 7), MAX_SERVICE)
    status = min(max(max((cell_len(line.status) for line in lines), default=1), 6), MAX_STATUS)
    offset = max(len(HEADERS[2]), *(len(format_duration_ms(line.offset_ms)) for line in lines))
    duration = max(len(HEADERS[3]), *(len(_duration_text(line.duration_ms)) for line in lines))
    fixed = offset + duration + status + 5 * len(_GAP)
    bar = width - fixed - name - service
    if bar < MIN_BAR:
        name = max(MIN_NAME, name - (MIN_BAR - bar))
        bar = width - fixed - name - service
    if bar < MIN_BAR:
        service = max(7, service - (MIN_BAR - bar))
        bar = max(width - fixed - name - service, 1)
    return Layout(name, service, offset, duration, status, bar, total)


def bar_cells(line: WaterfallLine, layout: Layout) -> tuple[int, int]:
    """First cell and number of cells of a line's bar (at least one cell)."""
    if layout.total_ms <= 0:
        return 0, 1
    scale = layout.bar / layout.total_ms
    start = min(math.floor(line.offset_ms * scale), layout.bar - 1)
    if not line.is_span or line.duration_ms is None:
        return start, 1  # an instant
    end = min(math.ceil((line.offset_ms + line.duration_ms) * scale), layout.bar)
    return start, max(end - start, 1)


def render_trace(
    frame: pd.DataFrame, fmt: OutputFormat, env: Env, *, title: str | None = None
) -> None:
    """A ``trace`` result in format ``fmt``: the waterfall for ``table``, else the rows."""
    from mfq.render import OutputFormat, render

    if fmt is OutputFormat.TABLE:
        render_waterfall(frame, env, title=title)
    else:
        render(frame, fmt, env, title=title)


def render_waterfall(frame: pd.DataFrame, env: Env, *, title: str | None = None) -> None:
    """Draw a ``trace`` result on ``env.stdout``; an empty one prints the empty message."""
    if frame.empty:
        print_message(env, "no events match")
        return
    lines = waterfall_lines(frame)
    shape = layout(lines, env.width)
    console = make_console(env.stdout, colour=env.colour, width=env.width)
    output = [Text(escape_control(title), style="bold")] if title else []
    output += [_summary(frame, lines, shape, env), _header(shape)]
    output.extend(_line(line, shape) for line in lines)
    with console.capture() as capture:
        for text in output:
            console.print(text, no_wrap=True, overflow="ellipsis", crop=True)
    env.stdout.write("\n".join(row.rstrip(" ") for row in capture.get().split("\n")))


def _duration_text(duration_ms: float | None) -> str:
    return MISSING_TEXT if duration_ms is None else format_duration_ms(duration_ms)


def _cell(text: str, width: int, *, style: str = "") -> Text:
    cell = Text(text, style=style)
    cell.truncate(width, overflow="ellipsis", pad=True)
    return cell


def _summary(frame: pd.DataFrame, lines: list[WaterfallLine], shape: Layout, env: Env) -> Text:
    spans = sum(line.is_span for line in lines)
    events = len(lines) - spans
    services = len({line.service for line in lines if line.service != MISSING_TEXT})
    failed = sum(line.failed for line in lines)
    parts = [_plural(spans, "span")]
    if events:
        parts.append(_plural(events, "event"))
    parts += [_plural(services, "service"), format_duration_ms(shape.total_ms)]
    parts.append(_plural(failed, "error"))
    started = normalise(frame["timestamp"].min())
    if isinstance(started, datetime):
        parts.append(f"from {format_local_time(started, env.display_tz)}")
    return Text(", ".join(parts), style="dim")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _header(shape: Layout) -> Text:
    scale_end = format_duration_ms(shape.total_ms)
    scale = "0" + scale_end.rjust(max(shape.bar - 1, 0)) if shape.bar > len(scale_end) + 1 else ""
    return Text.assemble(
        _cell(HEADERS[0], shape.name),
        _GAP,
        _cell(HEADERS[1], shape.service),
        _GAP,
        HEADERS[2].rjust(shape.offset),
        _GAP,
        HEADERS[3].rjust(shape.duration),
        _GAP,
        _cell(HEADERS[4], shape.status),
        _GAP,
        scale,
        style="dim",
    )


def _line(line: WaterfallLine, shape: Layout) -> Text:
    indent = " " * min(2 * line.depth, shape.name // 2)
    start, cells = bar_cells(line, shape)
    glyph = SPAN_GLYPH if line.is_span else EVENT_GLYPH
    style = "red" if line.failed else "cyan"
    return Text.assemble(
        _cell(indent + line.name, shape.name, style="red" if line.failed else ""),
        _GAP,
        _cell(line.service, shape.service),
        _GAP,
        format_duration_ms(line.offset_ms).rjust(shape.offset),
        _GAP,
        _duration_text(line.duration_ms).rjust(shape.duration),
        _GAP,
        _cell(line.status, shape.status, style="red" if line.failed else ""),
        _GAP,
        " " * start,
        (glyph * cells, style),
    )
