"""``mfq report``: a period's event-pattern report as Markdown or self-contained HTML."""

from __future__ import annotations

from pathlib import Path

import click

from mfq.cli.command import command
from mfq.cli.options import (
    Selection,
    Source,
    as_selection,
    as_source,
    engine_option,
    make_env,
    scheduler_option,
    store_option,
)
from mfq.cli.project import report_questions
from mfq.cli.query import store_for
from mfq.env import Env
from mfq.errors import UsageError
from mfq.render import OutputFormat, print_message, render

FORMATS = ("markdown", "html")


@command()
@click.argument("inputs", nargs=-1, type=click.Path())
@store_option
@click.option("--week", default=None, metavar="YYYY-Www", help="An ISO week, e.g. 2026-W47.")
@click.option("--since", default=None, help="Start (inclusive) instead of --week: ISO time or age.")
@click.option("--until", default=None, help="End (exclusive) with --since (default: now).")
@click.option("--now", default=None, help="Fixed 'now' for relative times (ISO).")
@click.option("--where", "where", multiple=True, help="Only these events (repeatable, ANDed).")
@click.option(
    "--bad",
    "--errors",
    "errors",
    default=None,
    metavar="EXPR",
    help="Which events are bad (errors) [default: status = 'error' when there is a status].",
)
@click.option(
    "--by",
    "by",
    default=None,
    metavar="FIELDS",
    help="Fields to break the errors down by, comma-separated [default: service, "
    "service+version, region when present, else the two most useful low-cardinality fields].",
)
@click.option(
    "--latency",
    default=None,
    metavar="FIELD",
    help="The duration field, in milliseconds [default: duration_ms].",
)
@click.option(
    "--slo-bad",
    default=None,
    metavar="EXPR",
    help="Events the SLO counts as bad [default: --bad].",
)
@click.option(
    "--target",
    "--slo-target",
    "slo_target",
    default=None,
    metavar="PERCENT",
    help="SLO target in percent [default: 99.5].",
)
@click.option(
    "--slo-alert",
    "slo_alerts",
    multiple=True,
    metavar="LONG/SHORT@RATE",
    help="The SLO's burn-rate alerts, as mfq slo --alert [default: 1h/5m@14.4, 6h/30m@6].",
)
@click.option(
    "--slo-by",
    default=None,
    metavar="FIELD",
    help="One objective per value of FIELD besides the overall one ('' for none) "
    "[default: service].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="markdown",
    show_default=True,
    help="Markdown (for GitHub) or one self-contained HTML file with charts.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the report to FILE and print a short summary (default: stdout).",
)
@click.option("--unweighted", is_flag=True, help="Ignore sample_rate.")
@click.option(
    "--tz",
    "tz_name",
    default=None,
    metavar="ZONE",
    help="Time zone of the week's days and of the times shown, e.g. Europe/Paris [default: UTC].",
)
@engine_option
@scheduler_option
@as_source
@as_selection
def report(
    source: Source,
    selection: Selection,
    week: str | None,
    errors: str | None,
    by: str | None,
    latency: str | None,
    slo_bad: str | None,
    slo_target: str | None,
    slo_alerts: tuple[str, ...],
    slo_by: str | None,
    fmt: str,
    out: str | None,
    tz_name: str | None,
) -> None:
    """A period's report: headline numbers against the previous period, volume by type,
    errors by service, version and region (or --by), latency percentiles, anomalies, SLO
    compliance and incidents with MTTR, and what correlate says about the errors. A
    section whose fields the data lacks says which option supplies them.

    The period is --week (an ISO week, in UTC or --tz) or --since/--until; with neither,
    the last complete ISO week. It is compared with the period of the same length right
    before. Every command behind the numbers is listed at the end of the report.
    """
    from mfq.report import ReportFormat, render_report, report_summary

    env = make_env(tz_name)
    report_format = ReportFormat(fmt)
    if out is not None and not Path(out).resolve().parent.is_dir():
        # Said before the report is built, not after.
        raise UsageError(f"--out: cannot write {out}: no such directory")
    with store_for(source) as store:
        result = store.report(
            selection,
            week=week,
            errors=errors,
            by=by,
            latency=latency,
            slo_bad=slo_bad,
            slo_target=slo_target,
            slo_alerts=list(slo_alerts) or None,
            slo_by=slo_by,
            tz=tz_name,
            questions=report_questions(click.get_current_context()),
        )
    document = render_report(result, report_format)
    if result.notice is not None:
        # A scheduled report of an empty week must not read as a calm one, on the terminal too.
        print_message(env, result.notice)
    if report_format is ReportFormat.HTML:
        _note_missing_charts(env)
    if out is None:
        env.stdout.write(document)
        return
    _write(Path(out), document)
    summary = {**report_summary(result), "written to": out}
    render(summary, OutputFormat.TABLE, env, title=f"report {result.period.name}")


def _write(path: Path, document: str) -> None:
    try:
        path.write_text(document, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"--out: cannot write {path}: {err.strerror or err}") from None


def _note_missing_charts(env: Env) -> None:
    from mfq.report.charts import INSTALL_HINT, charts_available

    if not charts_available():
        message = f"note: the report has no charts: matplotlib is missing ({INSTALL_HINT})"
        print_message(env, message)
