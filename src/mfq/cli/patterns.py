"""``mfq patterns`` and ``mfq changes``: message templates, and releases inferred from the
data."""

from __future__ import annotations

import click

from mfq.cli.command import command
from mfq.cli.options import Output, Selection, Source
from mfq.cli.query import query_options, store_for
from mfq.render import OutputFormat, empty_message, render


@command()
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
def patterns(
    source: Source,
    selection: Selection,
    output: Output,
    field: str,
    baseline_since: str | None,
    baseline_until: str | None,
    limit: int | None,
) -> None:
    """Messages grouped into templates: count, share, first/last seen, services.

    Numbers, hex, UUIDs, IP addresses, times, paths and quoted values become typed
    placeholders (<num>, <hex>, <uuid>, <ip>, <time>, <path>, <quoted>); <*> marks
    other words that vary. With --baseline-since, each template is marked new, gone,
    grown, shrunk or steady against that period. Template ids stay the same across
    runs (they are kept in the store).
    """
    env = output.env()
    fmt = output.format
    limit = limit or (30 if fmt is OutputFormat.TABLE else None)
    with store_for(source) as store:
        result = store.patterns(
            selection,
            field=field,
            baseline_since=baseline_since,
            baseline_until=baseline_until,
            limit=limit,
        )
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import patterns_view

        result = patterns_view(result)
    render(result, fmt, env, title="patterns", empty_message="no events match")


@command()
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
def changes(
    source: Source,
    selection: Selection,
    output: Output,
    field: str,
    by: tuple[str, ...],
    bad: str | None,
    markers: str | None,
    show_all: bool,
) -> None:
    """Releases inferred from --field per group: rollouts, rollbacks, markers.

    For each value: first and last seen, events, and the bad ratio before it arrived
    (the group's other values, over as long a stretch right before it) and after (its
    own events), with the two-proportion test correlate uses (shift: worse/better).
    A value that arrived and gave way again to an older one was rolled back.
    """
    env = output.env()
    fmt = output.format
    from mfq.query.build import split_fields

    groups = split_fields(by)
    with store_for(source) as store:
        found = store.changes(
            selection,
            field=field,
            by=groups or None,
            bad=bad,
            markers=markers,
        )
    nothing = empty_message(found, "no changes")
    if not show_all and len(found):
        arrivals = found["kind"].isin(["rollout", "rollback", "marker"])
        result = found[arrivals].reset_index(drop=True)
    else:
        result = found
    if fmt is OutputFormat.TABLE:
        from mfq.render.views import changes_view

        shown = changes_view(result, field, env.display_tz)
        render(shown, fmt, env, title="changes", empty_message=nothing)
    else:
        render(result, fmt, env, title="changes", empty_message=nothing)
