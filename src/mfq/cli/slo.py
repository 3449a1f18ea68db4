"""``mfq slo``: an objective's compliance, error budget, burn rates and incidents."""

from __future__ import annotations

from functools import partial
from typing import Any

import click

from mfq.analysis.defaults import SLO_DEFAULTS as DEFAULTS
from mfq.cli.command import command
from mfq.cli.options import Output, Selection, Source
from mfq.cli.query import query_options, store_for
from mfq.env import Env
from mfq.errors import ExitCode
from mfq.render import OutputFormat, empty_message, print_message, render

NO_INCIDENTS = "no incidents: no burn-rate alert would have fired"


@command()
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
    "--alert",
    "alerts",
    multiple=True,
    default=DEFAULTS.alerts,
    show_default=True,
    metavar="LONG/SHORT@RATE",
    help="A multiwindow burn-rate alert: both windows over RATE times the budget (repeat).",
)
@click.option("--name", default=None, help="Objective label (default: the expression).")
@click.option("--incidents", "incidents", is_flag=True, help="Output the incidents, one a row.")
@click.option(
    "--fail-on-exhausted",
    "fail_on_exhausted",
    is_flag=True,
    help="Exit 1 when the error budget is spent (budget_remaining < 0).",
)
def slo(
    source: Source,
    selection: Selection,
    output: Output,
    good: str | None,
    bad: str | None,
    target: float,
    window: str,
    every: str,
    alerts: tuple[str, ...],
    name: str | None,
    incidents: bool,
    fail_on_exhausted: bool,
) -> int:
    """Compliance, error budget left and burn rate of an objective, and its incidents
    (when a multiwindow burn-rate alert would have fired) with time to detect, time to
    recover and MTTR."""
    env = output.env()
    fmt = output.format
    from mfq.query.direct.fields import EVERY_FIELD

    with store_for(source, EVERY_FIELD) as store:
        objective = partial(
            store.slo,
            selection,
            good=good,
            bad=bad,
            target=target,
            window=window,
            every=every,
            alerts=list(alerts),
            name=name,
        )
        if incidents:
            episodes = objective(incidents=True)
            _render_incidents(episodes, fmt, env)
            if not fail_on_exhausted:
                return int(ExitCode.OK)
            remaining = objective().iloc[0]["budget_remaining"]
            return _exit_code(remaining, fail_on_exhausted=True)
        summary = objective()
        code = _exit_code(summary.iloc[0]["budget_remaining"], fail_on_exhausted)
        if fmt is not OutputFormat.TABLE:
            render(summary, fmt, env, title="slo")
            return code
        # The terminal shows the incidents behind the summary's count too.
        episodes = objective(incidents=True)
    row = {str(column): value for column, value in summary.iloc[0].items()}
    render(row, fmt, env, title=f"slo: {row['objective']}")
    _render_incidents(episodes, fmt, env)
    if code != ExitCode.OK:
        print_message(env, f"error budget exhausted: {row['budget_remaining']:.3g} left")
    return code


def _render_incidents(episodes: Any, fmt: OutputFormat, env: Env) -> None:
    nothing = empty_message(episodes, NO_INCIDENTS)
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import incidents_view

        episodes = incidents_view(episodes)
    render(episodes, fmt, env, title="incidents", empty_message=nothing)


def _exit_code(budget_remaining: float, fail_on_exhausted: bool) -> int:
    """1 with ``--fail-on-exhausted`` when the budget is overspent (null is not)."""
    spent = bool(budget_remaining < 0)  # NaN (no events) compares false
    return int(ExitCode.FAILED if fail_on_exhausted and spent else ExitCode.OK)
