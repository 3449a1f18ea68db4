"""``mfq demo``: write a realistic sample export, ingest it, and show what mfq sees."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mfq.api import FunnelRequest, Selection, Store, open_store
from mfq.cli.options import make_env, store_option
from mfq.env import Env
from mfq.render import OutputFormat, print_message, render

if TYPE_CHECKING:
    from mfq.demo import JourneyTruth

DEFAULT_EXPORT = "mfq-demo-export.ndjson.gz"
#: Orders open this long before the export's end are stuck: every other order has ended by
#: then (mfq.demo.journeys.LONGEST_JOURNEY is under 12 hours).
STUCK_AGE = timedelta(hours=12)


@click.command()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=DEFAULT_EXPORT,
    show_default=True,
    help="Where to write the sample export (.gz, .zst, .bz2 or plain).",
)
@click.option("--events", type=click.IntRange(min=1), default=50_000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same export.")
@store_option
def demo(out_path: str, events: int, seed: int, store_path: str | None) -> None:
    """Write a sample export with a planted incident, ingest it, and show info and schema."""
    from mfq.demo import DemoConfig, write_export

    env = make_env()
    config = DemoConfig(events=events, seed=seed)
    truth = write_export(Path(out_path), config)
    incident = truth.incident.spec if truth.incident is not None else None
    planted = truth.journeys
    journeys = f" and {planted.events:,} of order journeys" if planted is not None else ""
    print_message(env, f"wrote {config.events:,} events{journeys} to {out_path}")
    if incident is not None:
        print_message(
            env,
            f"planted incident: {incident.service} {incident.version} in {incident.region}, "
            f"{incident.start:%Y-%m-%d %H:%M}Z for {incident.duration}",
        )
    with open_store(store_path) as store:
        summary = store.ingest([out_path])
        render(summary.as_dict(), OutputFormat.TABLE, env, title="mfq ingest")
        render(store.info(), OutputFormat.TABLE, env, title="mfq info")
        render(store.schema(), OutputFormat.TABLE, env, title="mfq schema")
        top_types = store.query(group_by="type", limit=5, totals=False)
        print_message(env, "$ mfq query --group-by type --limit 5 --no-totals")
        render(top_types, OutputFormat.TABLE, env)
        if incident is not None:
            window = {
                "since": incident.start.isoformat(),
                "until": (incident.start + incident.duration).isoformat(),
            }
            where = f"service = '{incident.service}' and status = 'error'"
            during = Selection(where=where, since=window["since"], until=window["until"])
            found = store.query(during, group_by=["version", "region"], limit=3)
            print_message(
                env,
                f'$ mfq query --where "{where}" --group-by version,region --limit 3'
                f" --since {window['since']} --until {window['until']}",
            )
            render(found, OutputFormat.TABLE, env)
            # The SLO window ends where the sample export does (its events are in the past).
            _show_analyses(store, env, incident.service, where, window, config.end.isoformat())
        if planted is not None:
            assert truth.last_timestamp is not None
            _show_journeys(store, env, planted, truth.last_timestamp)


def _show_analyses(
    store: Store, env: Env, service: str, where: str, window: dict[str, str], end: str
) -> None:
    """The commands that find the incident without knowing it: anomalies, correlate, slo."""
    from mfq.render.views import correlate_view, incidents_view

    print_message(env, "$ mfq anomalies --where \"status = 'error'\" --by region --every 1h")
    errors = Selection(where="status = 'error'")
    found = store.anomalies(errors, by="region", every="1h")
    render(found, OutputFormat.TABLE, env, empty_message="no anomalies")
    print_message(
        env,
        f'$ mfq correlate --where "{where}" --since {window["since"]} '
        f"--until {window['until']} --limit 5",
    )
    during = Selection(where=where, since=window["since"], until=window["until"])
    ranked = store.correlate(during, limit=5)
    render(correlate_view(ranked), OutputFormat.TABLE, env, empty_message="nothing stands out")
    scope = f"service = '{service}'"
    print_message(env, f'$ mfq slo --where "{scope}" --bad "status = \'error\'" --incidents')
    objective = Selection(where=scope, until=end)
    incidents = store.slo(objective, bad="status = 'error'", incidents=True)
    render(incidents_view(incidents), OutputFormat.TABLE, env, empty_message="no incidents")


def _show_journeys(store: Store, env: Env, planted: JourneyTruth, end: datetime) -> None:
    """The planted order journeys: the funnel, why orders drop at payment, the stuck ones."""
    from mfq.demo.journeys import STEP_TYPES
    from mfq.render.journeys import render_funnel, render_sessions
    from mfq.render.views import correlate_view

    spec = planted.spec
    stuck = planted.stuck_before(end - STUCK_AGE)
    print_message(
        env,
        f"planted journeys: {planted.orders:,} orders; payment declined for "
        f"{planted.drop_declined} of {planted.drop_orders} on orders {spec.drop_version} in "
        f"{spec.drop_region}; {len(stuck)} stuck after packing",
    )
    steps = list(STEP_TYPES)
    print_message(env, f"$ mfq funnel {' '.join(steps)} --by correlation_id --within 1d")
    render_funnel(store.funnel(steps, by="correlation_id", within="1d"), OutputFormat.TABLE, env)
    print_message(
        env, f"$ mfq funnel {' '.join(steps)} --by correlation_id --within 1d --why 2 --limit 3"
    )
    orders = FunnelRequest(steps=steps, by="correlation_id", within="1d", limit=3)
    ranked = store.funnel_why(orders, 2)
    render(correlate_view(ranked), OutputFormat.TABLE, env, empty_message="nothing stands out")
    print_message(env, "$ mfq sessions --by correlation_id --open-longer-than 12h")
    found = store.sessions(by="correlation_id", open_longer_than=STUCK_AGE)
    render_sessions(found, OutputFormat.TABLE, env, key="correlation_id")
