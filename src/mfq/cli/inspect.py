"""``mfq info`` and ``mfq schema``: what is in a store."""

from __future__ import annotations

import click

from mfq.cli.options import format_option, make_env, store_option, tz_option
from mfq.render import OutputFormat, render
from mfq.render.result import rows_from_records
from mfq.store import open_storage


@click.command()
@store_option
@format_option
@tz_option
def info(store_path: str | None, fmt: str, tz_name: str | None) -> None:
    """Events, time range, sources, size on disk, projects and types in the store."""
    env = make_env(tz_name)
    with open_storage(store_path) as store:
        result = store.info()
    render(result, OutputFormat(fmt), env, title="store")


@click.command()
@store_option
@format_option
@click.option(
    "--exact", is_flag=True, help="Read every event for exact distinct counts and top values."
)
@click.option(
    "--drift",
    is_flag=True,
    help="Per day: fields that appeared, vanished or changed type, and in which sources.",
)
def schema(store_path: str | None, fmt: str, exact: bool, drift: bool) -> None:
    """Every field: type, % present, distinct values, top values, mixed-type flag.

    Answered from statistics kept at ingest: a distinct count or top value count marked
    ~ is an estimate (--exact reads every event instead). --drift shows, per day, the
    fields that appeared, vanished or changed type."""
    from mfq.store.stats import SCHEMA_COLUMNS

    env = make_env()
    with open_storage(store_path) as store:
        if drift:
            changes = store.schema_drift()
            render(changes, OutputFormat(fmt), env, title="drift", empty_message="no drift")
            return
        records = store.schema_records(exact=exact)
    result = rows_from_records(SCHEMA_COLUMNS, records)  # no pandas: schema answers at once
    render(result, OutputFormat(fmt), env, title="schema", empty_message="the store is empty")


@click.command()
@store_option
@format_option
@click.option("--code", default=None, help="Only this reason code (e.g. not_json, missing_type).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@click.option(
    "--summary",
    is_flag=True,
    help="Counts by source and reason, with the keys the rejected records have.",
)
def rejects(
    store_path: str | None, fmt: str, code: str | None, limit: int | None, summary: bool
) -> None:
    """Records that ingest rejected: source, line or record number, code, reason, raw text."""
    env = make_env()
    with open_storage(store_path) as store:
        if summary:
            counts = store.rejects_summary()
            render(
                counts, OutputFormat(fmt), env, title="rejects", empty_message="no rejected records"
            )
            return
        result = store.rejects(code=code, limit=limit)
    from mfq.render.rejects import render_rejects

    render_rejects(result, OutputFormat(fmt), env)
