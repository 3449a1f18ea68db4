"""``mfq trace`` and ``mfq timeline``: one request's span tree, one incident's story."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mfq.cli.options import format_option, make_env, store_option, tz_option
from mfq.cli.query import store_for
from mfq.errors import UsageError
from mfq.query.direct.fields import EVERY_FIELD
from mfq.render import OutputFormat
from mfq.render.timeline import render_timeline
from mfq.render.waterfall import render_trace

F = TypeVar("F", bound=Callable[..., Any])

#: Rows a timeline table shows unless --limit says otherwise (machine formats: all).
TABLE_LIMIT = 200


def _time_options(func: F) -> F:
    options = [
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


def _times(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs[name] for name in ("since", "until", "last", "now")}


@click.command()
@click.argument("trace_id", metavar="ID")
@click.argument("inputs", nargs=-1, type=click.Path(), metavar="[FILE]...")
@_time_options
def trace(**kwargs: Any) -> None:
    """One trace as a span tree (waterfall): every event whose trace_id is ID, in any
    letter case. Reads the store, or the export FILEs named after ID."""
    trace_id: str = kwargs["trace_id"]
    if Path(trace_id).exists() and not kwargs["inputs"]:
        raise UsageError(
            f"trace: {trace_id!r} is a file; the trace ID comes first: mfq trace ID [FILE]..."
        )
    env = make_env(kwargs["tz_name"])
    fmt = OutputFormat(kwargs["fmt"])
    with store_for(kwargs, EVERY_FIELD) as store:
        result = store.trace(trace_id, **_times(kwargs))
    render_trace(result, fmt, env, title=f"trace {trace_id.strip()}")


@click.command()
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
def timeline(**kwargs: Any) -> None:
    """Incident reconstruction: matching events in time order, bursts collapsed, with
    first error, peak, last error and recovery marked, and a summary."""
    env = make_env(kwargs["tz_name"])
    fmt = OutputFormat(kwargs["fmt"])
    limit = kwargs["limit"] or (TABLE_LIMIT if fmt is OutputFormat.TABLE else None)
    with store_for(kwargs, EVERY_FIELD) as store:
        result = store.timeline(
            where=list(kwargs["where"]), gap=kwargs["gap"], limit=limit, **_times(kwargs)
        )
    render_timeline(result, fmt, env, title="timeline")
