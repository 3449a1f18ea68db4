"""``mfq correlate``: what distinguishes a selection of events from a baseline."""

from __future__ import annotations

import click

from mfq.cli.command import command
from mfq.cli.options import Output, Selection, Source
from mfq.cli.query import query_options, store_for
from mfq.render import OutputFormat, empty_message, print_message, render


@command()
@query_options
@click.option("--baseline", default=None, help="Compare with these events (default: the rest).")
@click.option(
    "--metric", default=None, help="Rank values by their part in this numeric field's shift."
)
@click.option(
    "--combine",
    type=click.IntRange(min=2, max=3),
    default=None,
    help="Also rank combinations of 2 (or 3) values; interactions are marked.",
)
@click.option("--fields", default=None, help="Only compare these fields (comma-separated).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="At most N values (default 20 in tables).",
)
def correlate(
    source: Source,
    selection: Selection,
    output: Output,
    baseline: str | None,
    metric: str | None,
    combine: int | None,
    fields: str | None,
    limit: int | None,
) -> None:
    """Field values over-represented in the selection (--where) against a baseline.

    The baseline is --baseline, else the selection's scope without its outcome
    (for "service = 'checkout' and status = 'error'": checkout's events that did not
    fail), else everything else in the time range. Values that restate the outcome
    (severity beside status) are listed last as symptoms.
    """
    env = output.env()
    fmt = output.format
    limit = limit or (20 if fmt is OutputFormat.TABLE else None)
    with store_for(source) as store:
        result = store.correlate(
            selection,
            baseline=baseline,
            metric=metric,
            fields=fields,
            limit=limit,
            combine=combine,
        )
    nothing = empty_message(result, "nothing stands out")
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import correlate_view

        shown = correlate_view(result)
        render(shown, fmt, env, title="correlate", empty_message=nothing)
        for note in result.notes:
            print_message(env, f"note: {note}")
    else:
        render(result, fmt, env, title="correlate", empty_message=nothing)
