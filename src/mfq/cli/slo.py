"""``mfq slo``: an objective's compliance, error budget, burn rates and incidents."""

from __future__ import annotations

from typing import Any

import click

from mfq.analysis.slo import DEFAULTS
from mfq.cli.options import make_env
from mfq.cli.query import common_options, query_options, store_for
from mfq.render import OutputFormat, render

NO_INCIDENTS = "no incidents: no episode burned over the threshold"


@click.command()
@query_options
@click.option("--good", default=None, metavar="EXPR", help="Events that meet the objective.")
@click.option(
    "--bad", default=None, metavar="EXPR", help="Events that miss it (instead of --good)."
)
@click.option(
    "--target",
    default=DEFAULTS.target,
    show_default=True,
    metavar="PERCENT",
    help="Share of events that should be good, in percent.",
)
@click.option(
    "--window",
    default=DEFAULTS.window,
    show_default=True,
    metavar="DURATION",
    help="Length of the window ending at --until (else --now, else now).",
)
@click.option(
    "--every",
    default=DEFAULTS.every,
    show_default=True,
    metavar="DURATION",
    help="Bucket width for incidents.",
)
@click.option(
    "--threshold",
    default=DEFAULTS.threshold,
    show_default=True,
    metavar="BURN_RATE",
    help="A bucket burns when its bad ratio is over this many times the budget.",
)
@click.option(
    "--min-duration",
    "min_duration",
    default=DEFAULTS.min_duration,
    show_default=True,
    metavar="DURATION",
    help="Shortest incident, and shortest calm that separates two.",
)
@click.option("--name", default=None, help="Objective label (default: the expression).")
@click.option("--incidents", "incidents", is_flag=True, help="Output the incidents, one a row.")
def slo(**kwargs: Any) -> None:
    """Compliance, error budget left and burn rate of an objective, and its incidents
    (episodes of burning buckets) with time to recover and MTTR."""
    env = make_env(kwargs["tz_name"])
    fmt = OutputFormat(kwargs["fmt"])
    options = {
        "good": kwargs["good"],
        "bad": kwargs["bad"],
        "target": kwargs["target"],
        "window": kwargs["window"],
        "every": kwargs["every"],
        "threshold": kwargs["threshold"],
        "min_duration": kwargs["min_duration"],
        "name": kwargs["name"],
        **common_options(kwargs),
    }
    with store_for(kwargs) as store:
        if kwargs["incidents"]:
            episodes = store.slo_incidents(**options)
            render(episodes, fmt, env, title="incidents", empty_message=NO_INCIDENTS)
            return
        summary = store.slo(**options)
        if fmt is not OutputFormat.TABLE:
            render(summary, fmt, env, title="slo")
            return
        # The terminal shows the episodes behind the summary's incident count too.
        episodes = store.slo_incidents(**options)
    row = {str(column): value for column, value in summary.iloc[0].items()}
    render(row, fmt, env, title=f"slo: {row['objective']}")
    render(episodes, fmt, env, title="incidents", empty_message=NO_INCIDENTS)
