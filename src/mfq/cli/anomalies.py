"""``mfq anomalies``: time buckets that depart from the expected level."""

from __future__ import annotations

from typing import Any

import click

from mfq.cli.options import make_env
from mfq.cli.query import common_options, query_options, store_for
from mfq.query.build import split_fields
from mfq.query.direct.fields import EVERY_FIELD
from mfq.render import OutputFormat, print_message, render


@click.command()
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
def anomalies(**kwargs: Any) -> None:
    """Buckets (per --by group) whose value departs from the expected level.

    The expected level is a robust fit of the series' daily cycle and day-to-day level
    (median polish); counts must also be improbable as Poisson noise.
    """
    env = make_env(kwargs["tz_name"])
    with store_for(kwargs, EVERY_FIELD) as store:
        result = store.anomalies(
            every=kwargs["every"],
            by=list(kwargs["by"]),
            top=kwargs["top"],
            agg=kwargs["agg"],
            threshold=kwargs["threshold"],
            min_change=kwargs["min_change"],
            tz=kwargs["tz_name"],
            **common_options(kwargs),
        )
        if kwargs["changes"]:
            from mfq.analysis.change_notes import with_changes

            result = with_changes(
                store,
                result,
                split_fields(kwargs["by"]),
                since=kwargs["since"],
                until=kwargs["until"],
                last=kwargs["last"],
                now=kwargs["now"],
            )
    fmt = OutputFormat(kwargs["fmt"])
    notes: list[str] = []
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import anomalies_view

        result, notes = anomalies_view(result)
    render(result, fmt, env, title="anomalies", empty_message="no anomalies")
    for note in notes:
        print_message(env, f"note: {note}")
