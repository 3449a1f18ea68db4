"""``mfq events``, ``mfq query`` and ``mfq timeseries``: questions about events."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mfq.cli.command import command
from mfq.cli.options import (
    Output,
    Selection,
    Source,
    as_output,
    as_selection,
    as_source,
    engine_option,
    format_option,
    make_env,
    scheduler_option,
    store_option,
    tz_option,
)
from mfq.cli.pandas_deferral import pandas_deferred
from mfq.errors import UsageError
from mfq.query.arrow_import import import_pyarrow_compute
from mfq.render import OutputFormat, print_message, render

if TYPE_CHECKING:
    from mfq.api import Store
    from mfq.query.direct.fields import Question
    from mfq.query.direct.texts import QuestionTexts

# The library (the expression parser and its pydantic models, the store, pyarrow) is
# imported when a command runs, not when this module is: `mfq query --help` and a usage
# error need none of it.

F = TypeVar("F", bound=Callable[..., Any])

#: Groups a ``query`` table (or Markdown) shows unless ``--limit`` or ``--all`` says.
TABLE_GROUPS = 100


def query_options(func: F) -> F:
    """Inputs, time range, filters and engine shared by every query command, handed to the
    command function as ``source``, ``selection`` and ``output``."""
    options = [
        as_source,
        as_selection,
        as_output,
        click.argument("inputs", nargs=-1, type=click.Path()),
        store_option,
        click.option("--since", default=None, help="Start (inclusive): ISO time or age like 24h."),
        click.option("--until", default=None, help="End (exclusive): ISO time or age."),
        click.option("--last", default=None, help="The last DURATION (e.g. 7d) before --now."),
        click.option("--now", default=None, help="Fixed 'now' for relative times (ISO)."),
        click.option(
            "--where", "where", multiple=True, help="Filter expression (repeatable, ANDed)."
        ),
        click.option(
            "--let",
            "let",
            multiple=True,
            metavar="NAME=EXPR",
            help="Derived field the other options may name (repeatable), e.g. "
            "--let 'slow = duration_ms > 800'.",
        ),
        click.option("--unweighted", is_flag=True, help="Ignore sample_rate."),
        format_option,
        tz_option,
        engine_option,
        scheduler_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


@contextlib.contextmanager
def store_for(source: Source, question: Question | QuestionTexts | None = None) -> Iterator[Store]:
    """The store to ask: ``--store``, or the input files named; queried with
    ``--engine``/``--scheduler`` (the Dask cluster it starts or joins is released on the
    way out). Files are read directly, holding only the fields of ``question`` (its
    texts are parsed while the files are read: see ``mfq.cli.files``); without one, or
    with another engine, they are ingested to a temporary store."""
    import_pyarrow_compute()  # before the library imports it (see mfq.query.arrow_import)
    from mfq.cli.files import direct_enabled, held_store, refuse_if_nothing_stored, report_rejects
    from mfq.query.engines import DEFAULT_ENGINE, engine_name

    lets = source.let
    if not source.inputs:
        from mfq.api import open_store

        with open_store(
            source.store_path, engine=source.engine, scheduler=source.scheduler
        ) as store:
            _define_fields(store, lets)
            yield store
        return
    env = make_env()
    plain = engine_name(source.engine) == DEFAULT_ENGINE and source.scheduler is None
    held = None
    if question is not None and plain and direct_enabled():
        with pandas_deferred():  # reading and validating the files needs no pandas
            held = held_store(source.inputs, question, lets)
    if held is not None:
        store, summary = held
        _define_fields(store, lets)
        report_rejects(env, summary)
        yield store
        return
    import tempfile

    from mfq.api import open_store

    with (
        tempfile.TemporaryDirectory(prefix="mfq-") as scratch,
        open_store(scratch, engine=source.engine, scheduler=source.scheduler) as store,
    ):
        with pandas_deferred():  # nor does ingest (a no-op once an engine loaded pandas)
            summary = store.ingest(list(source.inputs))
        refuse_if_nothing_stored(summary)
        _define_fields(store, lets)
        report_rejects(env, summary)
        yield store


def _define_fields(store: Store, lets: tuple[str, ...]) -> None:
    """The project file's ``[fields]``, then ``--let`` (which may use them)."""
    from mfq.cli.project import current_project

    project = current_project()
    for name, text, _line in project.fields if project is not None else ():
        try:
            store.define_fields([(name, text)])
        except UsageError as err:
            raise project.fail(f"fields.{name}", str(err)) from None  # type: ignore[union-attr]
    store.define_fields(lets)


@command()
@query_options
@click.option(
    "--fields",
    default=None,
    help="Comma-separated fields to show; globs too ('userIdentity.*').",
)
@click.option("--sort", "sort", multiple=True, help="Sort by FIELD (prefix - for descending).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="At most N events (default 50 in tables).",
)
@click.option(
    "--expand",
    is_flag=True,
    help="One block of 'field | value' lines per event (automatic when a table cannot fit).",
)
def events(
    source: Source,
    selection: Selection,
    output: Output,
    fields: str | None,
    sort: tuple[str, ...],
    limit: int | None,
    expand: bool,
) -> None:
    """Raw matching events (the newest --limit, oldest first, unless --sort says otherwise)."""
    env = output.env()
    fmt = output.format
    limit = limit or (50 if fmt is OutputFormat.TABLE else None)
    question: QuestionTexts | None = None  # every field shown: the files are ingested whole
    if fields and source.inputs:
        from mfq.query.direct.texts import QuestionTexts

        question = QuestionTexts(
            where=tuple(selection.where), fields=(fields,), order_by=sort, lets=source.let
        )
    with store_for(source, question) as store, pandas_deferred():
        result = store.events(
            selection,
            as_arrow=True,
            fields=fields,
            sort=list(sort),
            limit=limit,
        )
    if fmt is OutputFormat.TABLE:
        from mfq.render.events import render_events
        from mfq.render.options import RenderOptions

        choose = not fields
        options = RenderOptions(title="events")
        render_events(result, env, options, choose=choose, expand=expand)
        return
    render(result, fmt, env, title="events")


@command()
@query_options
@click.option("--group-by", "group_by", multiple=True, help="Fields to group by (a,b or repeated).")
@click.option("--agg", "aggs", multiple=True, help="Aggregate, e.g. 'p95(duration_ms) as p95'.")
@click.option("--having", default=None, help="Condition on aggregates, e.g. 'count > 10'.")
@click.option("--order-by", "order_by", multiple=True, help="Result column (prefix - to reverse).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help=f"At most N groups (default {TABLE_GROUPS} in table and markdown output).",
)
@click.option("--all", "all_groups", is_flag=True, help="Every group, in tables too.")
@click.option("--no-totals", is_flag=True, help="No OTHER/TOTAL rows when --limit cuts groups.")
@click.option("--totals", "force_totals", is_flag=True, help="OTHER/TOTAL rows in machine formats.")
def query(
    source: Source,
    selection: Selection,
    output: Output,
    group_by: tuple[str, ...],
    aggs: tuple[str, ...],
    having: str | None,
    order_by: tuple[str, ...],
    limit: int | None,
    all_groups: bool,
    no_totals: bool,
    force_totals: bool,
) -> None:
    """Aggregate matching events by group (count by default)."""
    env = output.env()
    fmt = output.format
    machine = fmt in (OutputFormat.JSON, OutputFormat.NDJSON, OutputFormat.CSV)
    totals = not no_totals and (force_totals or not machine)
    if all_groups and limit is not None:
        raise UsageError("--all and --limit contradict each other: give one")
    if limit is None and not machine and not all_groups:
        # A table of a million groups is unreadable and takes minutes to draw: the
        # largest groups, then OTHER and TOTAL rows that keep the table honest.
        limit = TABLE_GROUPS
    question: QuestionTexts | None = None  # only files are read by the fields a question names
    if source.inputs:
        from mfq.query.direct.texts import QuestionTexts

        question = QuestionTexts(
            where=tuple(selection.where),
            keys=group_by,
            aggs=aggs,
            having=having,
            order_by=order_by,
            lets=source.let,
        )
    with store_for(source, question) as store, pandas_deferred():
        result = store.query(
            selection,
            as_arrow=True,
            group_by=list(group_by),
            aggs=list(aggs),
            having=having,
            order_by=list(order_by),
            limit=limit,
            totals=totals,
        )
    render(result, fmt, env, title="query")


@command()
@query_options
@click.option("--every", default="auto", show_default=True, help="Bucket width: 5m, 1h, 1d, auto.")
@click.option("--by", "by", multiple=True, help="One series per value of these fields.")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Keep the N largest series.")
@click.option("--agg", "aggs", multiple=True, help="Aggregate per bucket (count by default).")
def timeseries(
    source: Source,
    selection: Selection,
    output: Output,
    every: str,
    by: tuple[str, ...],
    top: int | None,
    aggs: tuple[str, ...],
) -> None:
    """Aggregates per time bucket, empty buckets included (count by default)."""
    env = output.env()
    fmt = output.format
    charted = fmt is OutputFormat.TABLE and env.stdout_isatty
    changes: list[str] = []
    question: QuestionTexts | None = (
        None  # a chart names the releases of its range: the files are ingested whole
    )
    if not charted and source.inputs:
        from mfq.query.direct.texts import QuestionTexts

        question = QuestionTexts(where=tuple(selection.where), keys=by, aggs=aggs, lets=source.let)
    with store_for(source, question) as store:
        with pandas_deferred():
            result = store.timeseries(
                selection,
                as_arrow=True,
                every=every,
                by=list(by),
                top=top,
                aggs=list(aggs),
                tz=output.tz_name,
            )
        if charted and len(result):  # the chart names the releases of its range
            from mfq.analysis.change_notes import notable_changes

            changes = notable_changes(store, selection)
    render(result, fmt, env, title="timeseries")
    if charted and len(result):
        from mfq.query.build import split_keys
        from mfq.render.chart import render_series_chart

        # The series' columns as the result names them (an expression key by its text).
        series = result.column_names[1 : 1 + len(split_keys(by))]
        first_aggregate = result.column_names[1 + len(series)]
        render_series_chart(result, "time", series, first_aggregate, env)
        for line in changes:
            print_message(env, f"change: {line}")
