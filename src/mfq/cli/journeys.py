"""``mfq sessions``, ``mfq funnel`` and ``mfq paths``: journeys by a key."""

from __future__ import annotations

from collections.abc import Callable
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
    engine_option,
    format_option,
    scheduler_option,
    store_option,
    tz_option,
)
from mfq.cli.query import query_options, store_for
from mfq.env import Env
from mfq.render import OutputFormat, print_message, render

F = TypeVar("F", bound=Callable[..., Any])

#: Operations a sessions table shows unless --limit says otherwise (machine formats: all).
TABLE_LIMIT = 50


def _by_option(func: F) -> F:
    return click.option(
        "--by", required=True, metavar="KEY", help="The journey key, e.g. correlation_id."
    )(func)


@command()
@query_options
@_by_option
@click.option("--start", default=None, metavar="STEP", help="An operation starts here.")
@click.option("--end", default=None, metavar="STEP", help="An operation ends here (completed).")
@click.option("--fail", default=None, metavar="STEP", help="An operation ends here (failed).")
@click.option("--gap", default=None, help="Or: an operation ends after this long without events.")
@click.option(
    "--open-longer-than",
    "open_longer_than",
    default=None,
    metavar="DURATION",
    help="Only open operations started at least this long before the data's end (stuck).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help=f"At most N operations (default {TABLE_LIMIT} in tables).",
)
def sessions(
    source: Source,
    selection: Selection,
    output: Output,
    by: str,
    start: str | None,
    end: str | None,
    fail: str | None,
    gap: str | None,
    open_longer_than: str | None,
    limit: int | None,
) -> None:
    """One row per operation of a key (an order, a workflow, a visit): start, duration,
    events, errors, first and last type, outcome (completed, failed, open).

    STEP is a type name or an expression. Without --end/--fail or --gap, the types that
    end their key's events are inferred. --where tests events, or the operation's own
    columns (outcome, events, errors, first_type, last_type, services, start, end).
    """
    env = output.env()
    fmt = output.format
    limit = limit or (TABLE_LIMIT if fmt is OutputFormat.TABLE else None)
    with store_for(source) as store:
        result = store.sessions(
            selection,
            by=by,
            start=start,
            end=end,
            fail=fail,
            gap=gap,
            open_longer_than=open_longer_than,
            limit=limit,
        )
    from mfq.render.journeys import render_sessions

    render_sessions(result, fmt, env, key=by)


@command()
@click.argument("steps", nargs=-1, required=True, metavar="STEP...")
@store_option
@_by_option
@click.option("--within", required=True, metavar="DURATION", help="Window from the first step.")
@click.option("--breakdown", default=None, metavar="FIELD", help="Per value at the first step.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N groups.")
@click.option("--total", is_flag=True, help="Count every attempt, not every key.")
@click.option(
    "--dropped-at",
    "dropped_at",
    type=int,
    default=None,
    metavar="N",
    help="List the keys that reached step N-1 and not step N.",
)
@click.option(
    "--why",
    type=int,
    default=None,
    metavar="N",
    help="What distinguishes the keys that dropped at step N (correlate).",
)
@click.option("--since", default=None, help="Start (inclusive): ISO time or age like 24h.")
@click.option("--until", default=None, help="End (exclusive): ISO time or age.")
@click.option("--last", default=None, help="The last DURATION (e.g. 7d) before --now.")
@click.option("--now", default=None, help="Fixed 'now' for relative times (ISO).")
@click.option("--where", "where", multiple=True, help="Filter expression (repeatable, ANDed).")
@format_option
@tz_option
@engine_option
@scheduler_option
@as_source
@as_selection
@as_output
def funnel(
    source: Source,
    selection: Selection,
    output: Output,
    steps: tuple[str, ...],
    by: str,
    within: str,
    breakdown: str | None,
    limit: int | None,
    total: bool,
    dropped_at: int | None,
    why: int | None,
) -> None:
    """How many keys take STEP... in order within --within of the first: entities,
    conversion from the previous step and from the start, median and p95 time between
    steps. STEP is a type name or an expression."""
    env = output.env()
    fmt = output.format
    step_list = list(steps)
    if dropped_at is not None and why is not None:
        raise click.UsageError("--dropped-at and --why: one at a time")
    with store_for(source) as store:
        if dropped_at is not None or why is not None:
            from mfq.analysis.funnel import FunnelRequest

            asked = FunnelRequest(
                selection=selection, steps=step_list, by=by, within=within, limit=limit or 20
            )
            if dropped_at is not None:
                dropped = store.funnel_dropped(asked, dropped_at)
                render(dropped, fmt, env, title="dropped", empty_message="no keys dropped there")
            else:
                assert why is not None
                _render_why(store.funnel_why(asked, why), fmt, env)
            return
        if limit is None and breakdown and fmt is OutputFormat.TABLE:
            limit = 10
        result = store.funnel(
            step_list,
            selection,
            breakdown=breakdown,
            total=total,
            limit=limit,
            by=by,
            within=within,
        )
    from mfq.render.journeys import render_funnel

    render_funnel(result, fmt, env)


def _render_why(ranked: Any, fmt: OutputFormat, env: Env) -> None:
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import correlate_view

        render(correlate_view(ranked), fmt, env, title="why", empty_message="nothing stands out")
        for note in ranked.notes:
            print_message(env, f"note: {note}")
    else:
        render(ranked, fmt, env, title="why", empty_message="nothing stands out")


@command()
@query_options
@_by_option
@click.option("--after", default=None, metavar="STEP", help="Paths after a key's first STEP.")
@click.option("--before", default=None, metavar="STEP", help="Paths before a key's first STEP.")
@click.option(
    "--steps", type=click.IntRange(min=1), default=3, show_default=True, help="Events per path."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="At most N paths, then OTHER and TOTAL (default 10 in tables).",
)
def paths(
    source: Source,
    selection: Selection,
    output: Output,
    by: str,
    after: str | None,
    before: str | None,
    steps: int,
    limit: int | None,
) -> None:
    """The most common sequences of types after (or before) a step, each with its count
    and its share of the keys that took the step; (end) where a journey stops."""
    env = output.env()
    fmt = output.format
    limit = limit or (10 if fmt is OutputFormat.TABLE else None)
    with store_for(source) as store:
        result = store.paths(
            selection,
            by=by,
            after=after,
            before=before,
            steps=steps,
            limit=limit,
        )
    from mfq.render.journeys import render_paths

    render_paths(result, fmt, env)
