"""``mfq anomalies``: time buckets that depart from the expected level."""

from __future__ import annotations

import click

from mfq.cli.command import command
from mfq.cli.options import Output, Selection, Source
from mfq.cli.query import query_options, store_for
from mfq.render import OutputFormat, empty_message, print_message, render


@command()
@query_options
@click.option("--every", default="auto", show_default=True, help="Bucket width: 5m, 1h, auto.")
@click.option("--by", "by", multiple=True, help="One series per value of these fields.")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Only the N largest series.")
@click.option("--agg", default=None, help="The value per bucket (default: count).")
@click.option(
    "--threshold",
    type=float,
    default=4.5,
    show_default=True,
    help="Robust score a bucket must reach to be flagged.",
)
@click.option(
    "--min-change",
    type=float,
    default=0.25,
    show_default=True,
    help="Smallest relative change flagged (0.25 = 25%).",
)
@click.option(
    "--changes/--no-changes",
    default=True,
    show_default=True,
    help="Say which version change each anomaly began after (stores with a version field).",
)
def anomalies(
    source: Source,
    selection: Selection,
    output: Output,
    every: str,
    by: tuple[str, ...],
    top: int | None,
    agg: str | None,
    threshold: float,
    min_change: float,
    changes: bool,
) -> None:
    """Buckets (per --by group) whose value departs from the expected level.

    The expected level is a robust fit of the series' daily cycle and day-to-day level
    (median polish); counts must also be improbable as Poisson noise.
    """
    env = output.env()
    from mfq.query.direct.fields import EVERY_FIELD

    with store_for(source, EVERY_FIELD) as store:
        found = store.anomalies(
            selection,
            every=every,
            by=list(by),
            top=top,
            agg=agg,
            threshold=threshold,
            min_change=min_change,
            tz=output.tz_name,
        )
        nothing = empty_message(found, "no anomalies")
        if changes:
            from mfq.analysis.change_notes import with_changes
            from mfq.query.build import split_fields

            result = with_changes(store, found, split_fields(by), selection)
        else:
            result = found
    fmt = output.format
    # What was observed goes to stderr in every format: stdout keeps its rows.
    notes: list[str] = list(getattr(result, "notes", ()))
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import anomalies_view

        shown, change_notes = anomalies_view(result)
        notes += change_notes
        render(shown, fmt, env, title="anomalies", empty_message=nothing)
    else:
        render(result, fmt, env, title="anomalies", empty_message=nothing)
    for note in notes:
        print_message(env, f"note: {note}")
