"""``mfq ingest``: validate exports and store them."""

from __future__ import annotations

import click

from mfq.cli.options import format_option, make_env, parse_zone, store_option
from mfq.errors import ExitCode, UsageError
from mfq.ingest.options import NormalizeOptions
from mfq.render import OutputFormat, print_message, render
from mfq.render.progress import progress_bar
from mfq.store import open_store


@click.command()
@click.argument("paths", nargs=-1, required=True)
@store_option
@format_option
@click.option("--strict", is_flag=True, help="Commit nothing if any record is rejected (exit 1).")
@click.option(
    "--assume-tz",
    "assume_tz",
    metavar="ZONE",
    default=None,
    help="Zone of naive ISO times (default UTC; counted as warnings either way).",
)
@click.option(
    "--redact-key",
    "redact_keys",
    multiple=True,
    metavar="REGEX",
    help="Also redact values under keys matching REGEX (repeatable).",
)
@click.option("--keep-secrets", is_flag=True, help="Store secret-looking values as they are.")
@click.option("--compact", is_flag=True, help="Then compact the days this batch wrote to.")
def ingest(
    paths: tuple[str, ...],
    store_path: str | None,
    fmt: str,
    strict: bool,
    assume_tz: str | None,
    redact_keys: tuple[str, ...],
    keep_secrets: bool,
    compact: bool,
) -> int:
    """Validate PATHS (files, directories, globs, or - for stdin) and add them to the store.

    Prints a summary where read = ingested + duplicates + rejected. Rejected records are
    kept in the store with their reason.
    """
    import re

    for pattern in redact_keys:
        try:
            re.compile(pattern)
        except re.error as err:
            raise UsageError(f"--redact-key: bad regular expression {pattern!r}: {err}") from None
    env = make_env()
    options = NormalizeOptions(
        assume_tz=parse_zone(assume_tz, "--assume-tz"),
        redact=not keep_secrets,
        extra_secret_patterns=redact_keys,
    )
    with open_store(store_path) as store, progress_bar(env, "ingest") as progress:
        summary = store.ingest(
            list(paths), strict=strict, options=options, progress=progress, compact=compact
        )
    render(summary.as_dict(), OutputFormat(fmt), env, title="ingest")
    for rebuilt in summary.rebuilt_id_files:
        print_message(env, f"mfq: rebuilt the damaged id hashes {rebuilt} from the event files")
    for link in summary.dangling_links:
        print_message(env, f"mfq: skipped {link}: a symbolic link to nothing")
    if summary.rejected and summary.committed:
        print_message(env, f"{summary.rejected} records rejected: see them with 'mfq rejects'")
    if not summary.committed:
        print_message(env, f"mfq: --strict: {summary.rejected} records rejected, nothing committed")
        return ExitCode.FAILED
    return ExitCode.OK
