"""``mfq trace`` and ``mfq timeline``: one request's span tree, one incident's story."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mfq.cli.command import command
from mfq.cli.options import (
    Output,
    Selection,
    Source,
    as_output,
    as_selection,
    as_source,
    format_option,
    store_option,
    tz_option,
)
from mfq.cli.query import store_for
from mfq.errors import UsageError
from mfq.render import OutputFormat

F = TypeVar("F", bound=Callable[..., Any])

#: Rows a timeline table shows unless --limit says otherwise (machine formats: all).
TABLE_LIMIT = 200


def _time_options(func: F) -> F:
    """The store, the time range and the output, as ``source``, ``selection``, ``output``."""
    options = [
        as_source,
        as_selection,
        as_output,
        store_option,
        click.option("--since", default=None, help="Start (inclusive): ISO time or age like 24h."),
        click.option("--until", default=None, help="End (exclusive): ISO time or age."),
        click.option("--last", default=None, help="The last DURATION (e.g. 7d) before --now."),
        click.option("--now", default=None, help="Fixed 'now' for relative times (ISO)."),
        format_option,
        tz_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


@command()
@click.argument("trace_id", metavar="ID")
@click.argument("inputs", nargs=-1, type=click.Path(), metavar="[FILE]...")
@_time_options
def trace(source: Source, selection: Selection, output: Output, trace_id: str) -> None:
    """One trace as a span tree (waterfall): every event whose trace_id is ID, in any
    letter case. Reads the store, or the export FILEs named after ID."""
    if Path(trace_id).exists() and not source.inputs:
        raise UsageError(
            f"trace: {trace_id!r} is a file; the trace ID comes first: mfq trace ID [FILE]..."
        )
    env = output.env()
    fmt = output.format
    from mfq.query.direct.fields import EVERY_FIELD

    with store_for(source, EVERY_FIELD) as store:
        result = store.trace(trace_id, selection)
    from mfq.render.waterfall import render_trace

    render_trace(result, fmt, env, title=f"trace {trace_id.strip()}")


@command()
@click.argument("inputs", nargs=-1, type=click.Path(), metavar="[FILE]...")
@_time_options
@click.option("--where", "where", multiple=True, help="Filter expression (repeatable, ANDed).")
@click.option(
    "--gap",
    default="1m",
    show_default=True,
    help="Like events closer than this collapse into one row.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help=f"At most N rows, those around the markers (default {TABLE_LIMIT} in tables).",
)
def timeline(
    source: Source, selection: Selection, output: Output, gap: str, limit: int | None
) -> None:
    """Incident reconstruction: matching events in time order, bursts collapsed, with
    first error, peak, last error and recovery marked, and a summary."""
    env = output.env()
    fmt = output.format
    limit = limit or (TABLE_LIMIT if fmt is OutputFormat.TABLE else None)
    from mfq.query.direct.fields import EVERY_FIELD

    with store_for(source, EVERY_FIELD) as store:
        result = store.timeline(selection, gap=gap, limit=limit)
    from mfq.render.timeline import render_timeline

    render_timeline(result, fmt, env, title="timeline")
