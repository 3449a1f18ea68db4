"""``mfq check ASSERTION...``: the CI gate. Exit 0 when every assertion holds, 1 when any
fails; ``--junit FILE`` writes the results as JUnit XML for the CI system to display."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

import click

from mfq.cli.command import command
from mfq.cli.options import Output, Selection, Source
from mfq.cli.query import query_options, store_for
from mfq.errors import ExitCode, MfqError
from mfq.render import OutputFormat, print_message, render
from mfq.render.junit import DEFAULT_SUITE, JUnitRun, check_junit, error_junit, write_junit

if TYPE_CHECKING:
    from mfq.model.answer import CheckScope

# `mfq check` takes assertions as its arguments, so the input files `query_options` takes
# as arguments come with --input here (two variadic arguments cannot be told apart).
_INPUT_HELP = "Export to check instead of a store (repeatable; files, directories, globs, -)."


@command()
@query_options
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Also write JUnit XML to FILE (written when assertions fail and on errors too).",
)
@click.option(
    "--suite",
    default=DEFAULT_SUITE,
    show_default=True,
    help="JUnit testsuite name (tells several gates of one pipeline apart).",
)
def check(
    source: Source,
    selection: Selection,
    output: Output,
    assertions: tuple[str, ...],
    junit_path: str | None,
    suite: str,
) -> int:
    """Assertions over aggregates for CI, e.g. "ratio(status = 'error') < 0.02".

    Every ASSERTION is a comparison of aggregates (count, count(EXPR), ratio(EXPR), avg,
    p95, ...) over the events in the time range matching --where. Exit 0 when all hold,
    1 when any fails (an aggregate without a value, such as the p95 of no events, fails),
    2 for a malformed assertion, 3 when there is no store.
    """
    env = output.env()
    fmt = output.format
    asserted = list(assertions)
    started = time.perf_counter()
    try:
        from mfq.query.direct.fields import EVERY_FIELD

        with store_for(source, EVERY_FIELD) as store:
            result = store.check(asserted, selection)
    except MfqError as err:
        if junit_path is not None:
            run = _junit_run(source, selection, suite, env.now, time.perf_counter() - started, None)
            write_junit(junit_path, error_junit(asserted, str(err), type(err).__name__, run))
        raise
    if junit_path is not None:
        elapsed = time.perf_counter() - started
        run = _junit_run(source, selection, suite, env.now, elapsed, result.scope)
        write_junit(junit_path, check_junit(result, run))
    from mfq.render.views import check_failures, check_view

    failures = check_failures(result)
    code = int(ExitCode.FAILED if failures else ExitCode.OK)
    if fmt is not OutputFormat.TABLE:
        render(result, fmt, env, title="check")
        return code
    # The terminal (a CI log): the table without the long detail column, then one line per
    # failure saying what was measured and expected, then the tally.
    render(check_view(result), fmt, env, title="check")
    for line in failures:
        print_message(env, line)
    total = len(result)
    outcome = f"failed: {len(failures)}" if failures else f"passed: {total}"
    print_message(env, f"{outcome} of {total} assertions")
    return code


def _junit_run(
    source: Source,
    selection: Selection,
    suite: str,
    now: datetime,
    seconds: float,
    scope: CheckScope | None,
) -> JUnitRun:
    """The report's suite, timing and properties: where the events came from, and the
    time range and filters (as resolved when the check ran, else as given)."""
    from mfq.render.values import iso_utc
    from mfq.store.store import resolve_store_path

    properties: dict[str, str] = {}
    if source.inputs:
        properties["inputs"] = " ".join(source.inputs)
    else:
        properties["store"] = str(resolve_store_path(source.store_path))
    properties["engine"] = source.engine
    if scope is not None:
        for bound, moment in (("since", scope.since), ("until", scope.until)):
            if moment is not None:
                properties[bound] = iso_utc(moment)
        _add_where(properties, scope.where)
        properties["events"] = str(scope.events)
    else:
        given = {"since": selection.since, "until": selection.until, "last": selection.last}
        for option, value in {**given, "now": selection.now}.items():
            if value is not None:
                properties[option] = str(value)
        _add_where(properties, selection.filters)
    return JUnitRun(suite=suite, seconds=seconds, timestamp=now, properties=properties)


def _add_where(properties: dict[str, str], filters: list[str] | tuple[str, ...]) -> None:
    if len(filters) == 1:
        properties["where"] = filters[0]
    elif filters:
        properties["where"] = " and ".join(f"({text})" for text in filters)


def _assertions_as_arguments(command: click.Command) -> click.Command:
    """Swap ``query_options``' INPUTS argument for ASSERTION... (and --input)."""
    for position, param in enumerate(command.params):
        if isinstance(param, click.Argument) and param.name == "inputs":
            command.params[position] = click.Argument(
                ["assertions"], nargs=-1, required=True, metavar="ASSERTION..."
            )
            command.params.insert(
                position + 1,
                click.Option(
                    ["--input", "-i", "inputs"],
                    multiple=True,
                    type=click.Path(),
                    metavar="PATH",
                    help=_INPUT_HELP,
                ),
            )
            break
    return command


_assertions_as_arguments(check)
