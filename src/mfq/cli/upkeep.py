"""``mfq compact`` and ``mfq prune``: store upkeep."""

from __future__ import annotations

from datetime import datetime

import click

from mfq.cli.options import format_option, make_env, store_option
from mfq.render import OutputFormat, print_message, render
from mfq.store import open_storage


def _instant(text: str | None, now: datetime, option: str) -> datetime | None:
    from mfq.query.timerange import parse_instant

    return None if text is None else parse_instant(text, now, option)


@click.command()
@store_option
@format_option
@click.option("--since", default=None, help="Only days from this time on (ISO time or age).")
@click.option("--until", default=None, help="Only days before this time (ISO time or age).")
def compact(store_path: str | None, fmt: str, since: str | None, until: str | None) -> None:
    """Rewrite each day's small files as few large ones, sorted by time.

    One catalog transaction swaps the files: queries running meanwhile see the old files
    or the new ones. Prints the event files and their bytes before and after; a compact
    store is left as it is.
    """
    env = make_env()
    with open_storage(store_path) as store:
        result = store.compact(
            since=_instant(since, env.now, "--since"), until=_instant(until, env.now, "--until")
        )
    render(result.as_dict(), OutputFormat(fmt), env, title="compact")
    if not result.days:
        print_message(env, "the store is already compact")


@click.command()
@store_option
@format_option
@click.option(
    "--before",
    required=True,
    metavar="DATE",
    help="Remove events before this time: ISO date or time (UTC when naive), or an age (90d).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
def prune(store_path: str | None, fmt: str, before: str, dry_run: bool) -> None:
    """Remove every event before DATE, with its id hash (such an event ingested again
    counts as new): whole days are dropped, the day DATE cuts is rewritten."""
    env = make_env()
    from mfq.query.timerange import parse_instant

    moment = parse_instant(before, env.now, "--before")
    with open_storage(store_path) as store:
        result = store.prune(moment, dry_run=dry_run)
    render(
        result.as_dict(), OutputFormat(fmt), env, title="prune (dry run)" if dry_run else "prune"
    )
