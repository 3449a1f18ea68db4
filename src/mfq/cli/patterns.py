"""``mfq patterns`` and ``mfq changes``: message templates, and releases inferred from the
data."""

from __future__ import annotations

from typing import Any

import click

from mfq.cli.options import make_env
from mfq.cli.query import common_options, query_options, store_for
from mfq.query.build import split_fields
from mfq.render import OutputFormat, render


@click.command()
@query_options
@click.option(
    "--field", default="message", show_default=True, help="The text field to find templates in."
)
@click.option(
    "--baseline-since", default=None, help="Compare with the period from here (ISO or age)."
)
@click.option(
    "--baseline-until", default=None, help="End of the baseline period (default: --since)."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="At most N templates (default 30 in tables).",
)
def patterns(**kwargs: Any) -> None:
    """Messages grouped into templates: count, share, first/last seen, services.

    Numbers, hex, UUIDs, IP addresses, times, paths and quoted values become typed
    placeholders (<num>, <hex>, <uuid>, <ip>, <time>, <path>, <quoted>); <*> marks
    other words that vary. With --baseline-since, each template is marked new, gone,
    grown, shrunk or steady against that period. Template ids stay the same across
    runs (they are kept in the store).
    """
    env = make_env(kwargs["tz_name"])
    fmt = OutputFormat(kwargs["fmt"])
    limit = kwargs["limit"] or (30 if fmt is OutputFormat.TABLE else None)
    with store_for(kwargs) as store:
        result = store.patterns(
            field=kwargs["field"],
            baseline_since=kwargs["baseline_since"],
            baseline_until=kwargs["baseline_until"],
            limit=limit,
            **common_options(kwargs),
        )
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import patterns_view

        result = patterns_view(result)
    render(result, fmt, env, title="patterns", empty_message="no events match")


@click.command()
@query_options
@click.option("--field", default="version", show_default=True, help="The field that changes.")
@click.option(
    "--by",
    "by",
    multiple=True,
    help="Groups to follow separately (default: service,region where present).",
)
@click.option("--bad", default=None, help="What a bad event is (default: status = 'error').")
@click.option(
    "--markers", default=None, help="Events that mark a change, e.g. \"type = 'deploy'\"."
)
@click.option("--all", "show_all", is_flag=True, help="Also list steady and retired values.")
def changes(**kwargs: Any) -> None:
    """Releases inferred from --field per group: rollouts, rollbacks, markers.

    For each value: first and last seen, events, and the bad ratio before it arrived
    (the group's other values, over as long a stretch right before it) and after (its
    own events), with the two-proportion test correlate uses (shift: worse/better).
    A value that arrived and gave way again to an older one was rolled back.
    """
    env = make_env(kwargs["tz_name"])
    fmt = OutputFormat(kwargs["fmt"])
    by = split_fields(kwargs["by"])
    with store_for(kwargs) as store:
        result = store.changes(
            field=kwargs["field"],
            by=by or None,
            bad=kwargs["bad"],
            markers=kwargs["markers"],
            **common_options(kwargs),
        )
    if not kwargs["show_all"] and len(result):
        result = result[result["kind"].isin(["rollout", "rollback", "marker"])]
        result = result.reset_index(drop=True)
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import changes_view

        result = changes_view(result, kwargs["field"], env.display_tz)
    render(result, fmt, env, title="changes", empty_message="no changes")
