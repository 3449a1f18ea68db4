"""``mfq doctor``: check a store end to end; ``--repair`` drops what is damaged."""

from __future__ import annotations

import click

from mfq.cli.options import format_option, make_env, store_option, tz_option
from mfq.errors import ExitCode, StoreCorrupt
from mfq.render import OutputFormat, print_message, render
from mfq.store import open_storage


@click.command()
@store_option
@click.option(
    "--repair",
    is_flag=True,
    help="Drop damaged files from the catalog (one transaction), rebuild id hashes, "
    "remove leftovers; lists the events lost and the sources that restore them.",
)
@format_option
@tz_option
def doctor(store_path: str | None, repair: bool, fmt: str, tz_name: str | None) -> int:
    """Check the catalog, every listed file against its recorded size and rows, the id
    hashes and leftovers. Exit 1 when something is wrong (and --repair not given)."""
    env = make_env(tz_name)
    with open_storage(store_path) as store:
        checkup = store.doctor(repair=repair)
    healthy = f"the store is sound: {checkup.files_checked} files checked"
    render(checkup.table(), OutputFormat(fmt), env, title="doctor", empty_message=healthy)
    if not checkup.findings:
        return ExitCode.OK
    if checkup.repaired:
        lost = checkup.events_lost
        restore = "; ingest the sources listed again to restore them" if lost else ""
        print_message(env, f"mfq: repaired: {lost} events lost{restore}")
        return ExitCode.OK
    if repair:  # found, and nothing safe to do about it
        raise StoreCorrupt(f"the store catalog {store.layout.catalog} is damaged")
    print_message(
        env,
        f"mfq: {len(checkup.findings)} problems, {checkup.events_lost} events in damaged"
        " files: 'mfq doctor --repair' drops them",
    )
    return ExitCode.FAILED
