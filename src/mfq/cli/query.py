"""``mfq events``, ``mfq query`` and ``mfq timeseries``: questions about events."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from mfq.api import Store, open_store
from mfq.cli.options import (
    engine_option,
    format_option,
    make_env,
    scheduler_option,
    store_option,
    tz_option,
)
from mfq.errors import UsageError
from mfq.query.build import split_keys
from mfq.query.direct.fields import Question, question_fields
from mfq.query.engines import DEFAULT_ENGINE
from mfq.query.pandas_deferral import pandas_deferred
from mfq.render import OutputFormat, print_message, render

F = TypeVar("F", bound=Callable[..., Any])

#: Groups a ``query`` table (or Markdown) shows unless ``--limit`` or ``--all`` says.
TABLE_GROUPS = 100


def query_options(func: F) -> F:
    """Inputs, time range, filters and engine shared by every query command."""
    options = [
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
def store_for(kwargs: dict[str, Any], question: Question | None = None) -> Iterator[Store]:
    """The store to ask (from the options of ``query_options``): ``--store``, or the input
    files named; queried with ``--engine``/``--scheduler`` (the Dask cluster it starts or
    joins is released on the way out). Files are read directly, holding only the fields
    of ``question`` (see ``mfq.cli.files``); without one, or with another engine, they
    are ingested to a temporary store."""
    from mfq.cli.files import direct_enabled, held_store, refuse_if_nothing_stored, report_rejects

    inputs: tuple[str, ...] = kwargs["inputs"]
    store_path: str | None = kwargs["store_path"]
    engine = {"engine": kwargs.get("engine", DEFAULT_ENGINE), "scheduler": kwargs.get("scheduler")}
    lets: tuple[str, ...] = kwargs.get("let", ())
    if not inputs:
        with open_store(store_path, **engine) as store:
            _define_fields(store, lets)
            yield store
        return
    env = make_env(kwargs.get("tz_name"))
    plain = engine == {"engine": DEFAULT_ENGINE, "scheduler": None}
    held = None
    if question is not None and plain and direct_enabled():
        held = held_store(inputs, question, lets)
    if held is not None:
        store, summary = held
        _define_fields(store, lets)
        report_rejects(env, summary)
        yield store
        return
    with (
        tempfile.TemporaryDirectory(prefix="mfq-") as scratch,
        open_store(scratch, **engine) as store,
    ):
        summary = store.ingest(list(inputs))
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


def common_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "since": kwargs["since"],
        "until": kwargs["until"],
        "last": kwargs["last"],
        "now": kwargs["now"],
        "where": list(kwargs["where"]),
        "unweighted": kwargs["unweighted"],
    }


@click.command()
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
def events(**kwargs: Any) -> None:
    """Raw matching events (the newest --limit, oldest first, unless --sort says otherwise)."""
    env = make_env(kwargs["tz_name"])
    fmt = OutputFormat(kwargs["fmt"])
    limit = kwargs["limit"] or (50 if fmt is OutputFormat.TABLE else None)
    question = None  # every field shown: the files are ingested whole
    if kwargs["fields"]:
        question = question_fields(
            where=kwargs["where"],
            fields=[kwargs["fields"]],
            order_by=kwargs["sort"],
            lets=kwargs["let"],
        )
    with store_for(kwargs, question) as store, pandas_deferred():
        result = store.events(
            as_arrow=True,
            fields=kwargs["fields"],
            sort=list(kwargs["sort"]),
            limit=limit,
            **common_options(kwargs),
        )
    if fmt is OutputFormat.TABLE:
        from mfq.render.events import render_events
        from mfq.render.options import RenderOptions

        choose = not kwargs["fields"]
        options = RenderOptions(title="events")
        render_events(result, env, options, choose=choose, expand=kwargs["expand"])
        return
    render(result, fmt, env, title="events")


@click.command()
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
def query(**kwargs: Any) -> None:
    """Aggregate matching events by group (count by default)."""
    env = make_env(kwargs["tz_name"])
    fmt = OutputFormat(kwargs["fmt"])
    machine = fmt in (OutputFormat.JSON, OutputFormat.NDJSON, OutputFormat.CSV)
    totals = not kwargs["no_totals"] and (kwargs["force_totals"] or not machine)
    if kwargs["all_groups"] and kwargs["limit"] is not None:
        raise UsageError("--all and --limit contradict each other: give one")
    limit = kwargs["limit"]
    if limit is None and not machine and not kwargs["all_groups"]:
        # A table of a million groups is unreadable and takes minutes to draw: the
        # largest groups, then OTHER and TOTAL rows that keep the table honest.
        limit = TABLE_GROUPS
    question = question_fields(
        where=kwargs["where"],
        keys=kwargs["group_by"],
        aggs=kwargs["aggs"],
        having=kwargs["having"],
        order_by=kwargs["order_by"],
        lets=kwargs["let"],
    )
    with store_for(kwargs, question) as store, pandas_deferred():
        result = store.query(
            as_arrow=True,
            group_by=list(kwargs["group_by"]),
            aggs=list(kwargs["aggs"]),
            having=kwargs["having"],
            order_by=list(kwargs["order_by"]),
            limit=limit,
            totals=totals,
            **common_options(kwargs),
        )
    render(result, fmt, env, title="query")


@click.command()
@query_options
@click.option("--every", default="auto", show_default=True, help="Bucket width: 5m, 1h, 1d, auto.")
@click.option("--by", "by", multiple=True, help="One series per value of these fields.")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Keep the N largest series.")
@click.option("--agg", "aggs", multiple=True, help="Aggregate per bucket (count by default).")
def timeseries(**kwargs: Any) -> None:
    """Aggregates per time bucket, empty buckets included (count by default)."""
    env = make_env(kwargs["tz_name"])
    fmt = OutputFormat(kwargs["fmt"])
    charted = fmt is OutputFormat.TABLE and env.stdout_isatty
    changes: list[str] = []
    question = None  # a chart names the releases of its range: the files are ingested whole
    if not charted:
        question = question_fields(
            where=kwargs["where"], keys=kwargs["by"], aggs=kwargs["aggs"], lets=kwargs["let"]
        )
    with store_for(kwargs, question) as store:
        with pandas_deferred():
            result = store.timeseries(
                as_arrow=True,
                every=kwargs["every"],
                by=list(kwargs["by"]),
                top=kwargs["top"],
                aggs=list(kwargs["aggs"]),
                tz=kwargs["tz_name"],
                **common_options(kwargs),
            )
        if charted and len(result):  # the chart names the releases of its range
            from mfq.analysis.change_notes import notable_changes

            options = common_options(kwargs)
            del options["unweighted"]
            changes = notable_changes(store, **options)
    render(result, fmt, env, title="timeseries")
    if charted and len(result):
        from mfq.render.chart import render_series_chart

        # The series' columns as the result names them (an expression key by its text).
        series = result.column_names[1 : 1 + len(split_keys(kwargs["by"]))]
        first_aggregate = result.column_names[1 + len(series)]
        render_series_chart(result, "time", series, first_aggregate, env)
        for line in changes:
            print_message(env, f"change: {line}")
