"""``mfq ingest``: validate exports and store them."""

from __future__ import annotations

import click

from mfq.cli.files import keep_freed_memory
from mfq.cli.options import format_option, make_env, parse_zone, store_option
from mfq.cli.pandas_deferral import pandas_deferred
from mfq.errors import ExitCode, UsageError
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.profiles import NONE, load_profile
from mfq.ingest.profiles.model import TARGETS
from mfq.query.arrow_import import import_pyarrow_compute
from mfq.render import OutputFormat, print_message, render
from mfq.render.progress import progress_bar
from mfq.store import open_storage


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
@click.option(
    "--keep-key",
    "keep_keys",
    multiple=True,
    metavar="REGEX",
    help="Never redact values under keys matching REGEX (repeatable).",
)
@click.option("--keep-secrets", is_flag=True, help="Store secret-looking values as they are.")
@click.option("--compact", is_flag=True, help="Then compact the days this batch wrote to.")
@click.option(
    "--profile",
    "profile",
    default=None,
    metavar="NAME|none|FILE.toml",
    help="Read every source with this format profile (default: detected per source).",
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=KEY",
    help="Read standard FIELD from KEY (a dotted path; repeatable), e.g. --map type=verb.",
)
def ingest(
    paths: tuple[str, ...],
    store_path: str | None,
    fmt: str,
    strict: bool,
    assume_tz: str | None,
    redact_keys: tuple[str, ...],
    keep_keys: tuple[str, ...],
    keep_secrets: bool,
    compact: bool,
    profile: str | None,
    maps: tuple[str, ...],
) -> int:
    """Validate PATHS (files, directories, globs, or - for stdin) and add them to the store.

    Prints a summary where read = ingested + duplicates + rejected. Rejected records are
    kept in the store with their reason. A run that stores nothing while rejecting
    records says why on stderr and exits 3.
    """
    import_pyarrow_compute()  # before the library imports it (see mfq.query.arrow_import)
    env = make_env()
    options = NormalizeOptions(
        assume_tz=parse_zone(assume_tz, "--assume-tz"),
        redact=not keep_secrets,
        extra_secret_patterns=_patterns(redact_keys, "--redact-key"),
        keep_key_patterns=_patterns(keep_keys, "--keep-key"),
        profile=None if profile in (None, NONE) else load_profile(profile),
        detect_profile=profile is None,
        maps=parse_maps(maps),
    )
    # Freed chunks' memory reused, not unmapped and faulted in again (less system time).
    keep_freed_memory()
    # Ingest needs no pandas: without the deferral pyarrow would import it (0.2-0.3 s)
    # at its first conversion of a Python value.
    with (
        pandas_deferred(),
        open_storage(store_path) as store,
        progress_bar(env, "ingest") as progress,
    ):
        summary = store.ingest(
            list(paths), strict=strict, options=options, progress=progress, compact=compact
        )
    render(summary.as_dict(), OutputFormat(fmt), env, title="ingest")
    for rebuilt in summary.rebuilt_id_files:
        print_message(env, f"mfq: rebuilt the damaged id hashes {rebuilt} from the event files")
    for link in summary.dangling_links:
        print_message(env, f"mfq: skipped {link}: a symbolic link to nothing")
    for note in summary.notes:
        print_message(env, f"mfq: {note}")
    for refusal in summary.refusals:
        print_message(env, f"mfq: {refusal}")
    if not summary.committed:
        print_message(env, f"mfq: --strict: {summary.rejected} records rejected, nothing committed")
        return ExitCode.FAILED
    if summary.refused_all:
        return ExitCode.DATA
    if summary.rejected:
        print_message(env, f"{summary.rejected} records rejected: see them with 'mfq rejects'")
    return ExitCode.OK


def _patterns(patterns: tuple[str, ...], option: str) -> tuple[str, ...]:
    import re

    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as err:
            raise UsageError(f"{option}: bad regular expression {pattern!r}: {err}") from None
    return patterns


def parse_maps(maps: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``FIELD=KEY`` pairs; a bad one is a usage error naming what is allowed."""
    pairs: list[tuple[str, str]] = []
    for text in maps:
        target, sep, key = text.partition("=")
        target, key = target.strip(), key.strip()
        if not sep or not target or not key:
            raise UsageError(f"--map: expected FIELD=KEY, got {text!r}")
        if target not in TARGETS:
            raise UsageError(
                f"--map: {target!r} is not a standard field "
                "(nor duration_s, duration_us, duration_ns or actor)"
            )
        pairs.append((target, key))
    return tuple(pairs)
