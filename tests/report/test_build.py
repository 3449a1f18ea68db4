"""``Store.report`` on fifteen hand-made events: every number worked out by hand (see
``conftest.HAND_EVENTS``), the same numbers from DuckDB over the same Parquet files, and
the report's own list of commands, run through the CLI, giving them back."""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.api import Selection, Store
from mfq.cli.main import cli
from mfq.errors import UsageError
from mfq.report import ReportFormat, render_report
from mfq.report.format import table_cells
from mfq.report.model import Report
from tests.report.conftest import duckdb_events, hand_records, write_store
from tests.selection import selected
from tests.stationary import one_second_burst

W47 = ("2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z")
W46 = ("2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z")


def test_the_period_is_the_iso_week_and_the_previous_one_the_week_before(
    hand_report: Report,
) -> None:
    assert hand_report.period.start == datetime(2026, 11, 16, tzinfo=UTC)
    assert hand_report.period.end == datetime(2026, 11, 23, tzinfo=UTC)
    assert hand_report.previous.start == datetime(2026, 11, 9, tzinfo=UTC)
    assert hand_report.previous.end == hand_report.period.start
    assert hand_report.title == "Event report 2026-W47"
    assert hand_report.period.label == "2026-W47 (2026-11-16 to 2026-11-22)"


def test_headline_numbers_by_hand(hand_report: Report) -> None:
    # W47: 9 events (the one at 2026-11-23 00:00 is outside), errors #9 and #13; sorted
    # durations 5 10 15 20 25 30 40 50 60: p95 at rank 0.95 * 8 = 7.6 -> 50 + 0.6 * 10.
    # W46: 6 events, 2 errors; durations 10 20 30 40 100 200: rank 4.75 -> 175.
    events = hand_report.metric("events")
    assert (events.current, events.previous, events.change) == (9, 6, 0.5)
    ratio = hand_report.metric("error_ratio")
    assert ratio.current == pytest.approx(2 / 9)
    assert ratio.previous == pytest.approx(2 / 6)
    assert ratio.change == pytest.approx(2 / 9 - 2 / 6)
    p95 = hand_report.metric("p95_ms")
    assert (p95.current, p95.previous) == (pytest.approx(56.0), pytest.approx(175.0))
    assert p95.change == pytest.approx((56 - 175) / 175)
    actors = hand_report.metric("active_actors")
    assert (actors.current, actors.previous, actors.change) == (4, 2, 1.0)


def test_headline_as_text_in_both_renderers(hand_report: Report) -> None:
    from mfq.report.format import metric_texts

    texts = [metric_texts(m) for m in hand_report.headline]
    assert texts == [
        ("9", "6", "+50.0%"),
        ("22.22%", "33.33%", "-11.11 pp"),
        ("56 ms", "175 ms", "-68.0%"),
        ("4", "2", "+100.0%"),
    ]


def test_volume_by_type_and_new_and_vanished_types(hand_report: Report) -> None:
    volume = hand_report.section("volume")
    assert table_cells(volume.table("types"), UTC) == [
        ["order.created", "6", "66.67%", "4", "+50.0%"],
        ["cart.updated", "3", "33.33%", "0", "new"],
        ["legacy.ping", "0", "0.00%", "2", "-100.0%"],
    ]
    assert table_cells(volume.table("new_types"), UTC) == [
        ["cart.updated", "new", "3", "0"],
        ["legacy.ping", "vanished", "0", "2"],
    ]


def test_error_breakdowns_by_hand(hand_report: Report) -> None:
    errors = hand_report.section("errors")
    # api: 1 error in 6 (W46: 2 in 6); web: 1 in 3 (no web events in W46).
    assert table_cells(errors.table("errors_by_service"), UTC) == [
        ["api", "1", "6", "16.67%", "33.33%", "-16.67 pp", "50.00%"],
        ["web", "1", "3", "33.33%", "—", "—", "50.00%"],
    ]
    # eu: errors #9 and #13 of 4 events (W46: 1 of 3); us had no error in W47.
    assert table_cells(errors.table("errors_by_region"), UTC) == [
        ["eu", "2", "4", "50.00%", "33.33%", "+16.67 pp", "100.00%"],
    ]
    assert table_cells(errors.table("errors_by_service_version"), UTC) == [
        ["api", "1.1", "1", "6", "16.67%", "—", "—", "50.00%"],
        ["web", "2.0", "1", "3", "33.33%", "—", "—", "50.00%"],
    ]


def test_latency_percentiles_by_hand(hand_report: Report) -> None:
    # api 10..60: p50 35, p90 rank 4.5 -> 55, p95 4.75 -> 57.5, p99 4.95 -> 59.5;
    # web 5 15 25: p50 15, p90 rank 1.8 -> 23, p95 1.9 -> 24, p99 1.98 -> 24.8.
    latency = hand_report.section("latency").table("latency")
    assert table_cells(latency, UTC) == [
        ["api", "6", "35 ms", "55 ms", "57.5 ms", "59.5 ms", "60 ms", "175 ms", "-67.1%"],
        ["web", "3", "15 ms", "23 ms", "24 ms", "24.8 ms", "25 ms", "—", "—"],
    ]


def test_slo_by_hand_no_incident_from_lone_failures(hand_report: Report) -> None:
    # Each failure is alone in its 5-minute bucket: one burning bucket is shorter than
    # the 10-minute minimum, so no incident.
    slo = hand_report.section("slo")
    rows = table_cells(slo.table("slo"), UTC)
    assert rows[0] == ["all events", "9", "2", "77.778%", "99.500%", "-4,344.44%", "0", "—"]
    assert [row[0] for row in rows] == ["all events", "service = 'api'", "service = 'web'"]
    assert rows[2][1:4] == ["3", "1", "66.667%"]
    assert [t.key for t in slo.tables] == ["slo"]


def test_numbers_match_duckdb_over_the_same_parquet(hand_store: Store, hand_report: Report) -> None:
    sql = duckdb_events(hand_store)

    def within(period: tuple[str, str]) -> str:
        return f"timestamp >= TIMESTAMPTZ '{period[0]}' AND timestamp < TIMESTAMPTZ '{period[1]}'"

    for period, side in ((W47, "current"), (W46, "previous")):
        [(events, errors, p95, actors)] = sql(
            "SELECT count(*), count(*) FILTER (WHERE status = 'error'), "
            "quantile_cont(duration_ms, 0.95), count(DISTINCT actor_profile_id) "
            f"FROM EVENTS WHERE {within(period)}"
        )
        assert getattr(hand_report.metric("events"), side) == events
        assert getattr(hand_report.metric("error_ratio"), side) == pytest.approx(
            errors / events  # type: ignore[operator]
        )
        assert getattr(hand_report.metric("p95_ms"), side) == pytest.approx(p95)
        assert getattr(hand_report.metric("active_actors"), side) == actors
    by_type = dict(sql(f"SELECT type, count(*) FROM EVENTS WHERE {within(W47)} GROUP BY 1"))
    types = hand_report.section("volume").table("types").frame
    assert {t: e for t, e in zip(types["type"], types["events"], strict=True) if e} == by_type
    latency = sql(
        "SELECT service, quantile_cont(duration_ms, 0.5), quantile_cont(duration_ms, 0.99) "
        f"FROM EVENTS WHERE {within(W47)} GROUP BY 1 ORDER BY 1"
    )
    frame = hand_report.section("latency").table("latency").frame.sort_values("service")
    assert list(zip(frame["service"], frame["p50_ms"], frame["p99_ms"], strict=True)) == [
        (s, pytest.approx(p50), pytest.approx(p99)) for s, p50, p99 in latency
    ]


def test_the_listed_commands_give_the_same_numbers(hand_store: Store, hand_report: Report) -> None:
    commands = hand_report.commands()
    headline = next(c for c in commands if c.startswith("mfq query") and "active_actors" in c)
    assert W47[0] in headline
    args = [*shlex.split(headline)[1:], "--store", str(hand_store.root), "--format", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["events"] == hand_report.metric("events").current
    assert row["error_ratio"] == pytest.approx(hand_report.metric("error_ratio").current)
    assert row["p95_ms"] == pytest.approx(hand_report.metric("p95_ms").current)
    methods = {query.method for query in hand_report.queries}
    assert methods == {
        "run_many",
        "correlate",
        "timeseries",
        "anomalies",
        "slo",
        "changes",
    }  # slo_incidents only runs for objectives with incidents (none here); no sessions:
    # the hand-built events carry no journey key (correlation_id is never set)


def test_every_command_listed_runs(hand_store: Store, hand_report: Report) -> None:
    for command in hand_report.commands():
        args = [*shlex.split(command)[1:], "--store", str(hand_store.root), "--format", "json"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, (command, result.stderr)


def test_correlate_section_is_the_correlate_call(hand_store: Store, hand_report: Report) -> None:
    expected = hand_store.correlate(
        Selection(where="status = 'error'", since=W47[0], until=W47[1]), limit=10, combine=2
    )
    table = hand_report.section("correlate").table("correlate").frame
    assert list(table["field"]) == list(expected["field"])
    assert list(table["selection_count"]) == list(expected["selection_count"])
    # Both failures of W47 are in eu; 2 of the 7 other events are.
    region = table[table["field"] == "region"].iloc[0]
    assert (region["value"], region["selection_count"], region["baseline_count"]) == ("eu", 2, 2)


def test_where_restricts_every_section(hand_store: Store) -> None:
    report = hand_store.report(Selection(where="service = 'web'"), week="2026-W47")
    assert report.metric("events").current == 3
    assert report.metric("events").previous == 0
    assert math.isinf(report.metric("events").change or 0)
    assert all("service = 'web'" in query.options["where"] for query in report.queries)  # type: ignore[operator]


def test_since_until_compares_with_the_same_length_before(hand_store: Store) -> None:
    report = hand_store.report(Selection(since="2026-11-20T00:00Z", until="2026-11-23T00:00Z"))
    assert report.previous.start == datetime(2026, 11, 17, tzinfo=UTC)
    assert report.metric("events").current == 4  # #12..#15
    assert report.metric("events").previous == 3  # #9..#11
    assert report.series.every == "30m"  # the narrowest width giving at most 200 buckets


def test_errors_and_slo_options(hand_store: Store) -> None:
    report = hand_store.report(
        week="2026-W47",
        errors="duration_ms >= 50",
        slo_target=90,
        slo_alerts=["1h/5m@5"],
        slo_by="",
    )
    assert report.metric("error_ratio").current == pytest.approx(2 / 9)  # 50 and 60 ms
    rows = table_cells(report.section("slo").table("slo"), UTC)
    assert [row[0] for row in rows] == ["all events"]
    assert rows[0][4] == "90.000%"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"week": "2026-47"}, "--week: '2026-47' is not an ISO week like 2026-W47"),
        ({"week": "2026-W54"}, "--week: 2026 has no ISO week 54"),
        (
            {"week": "2026-W47", "since": "2026-11-01"},
            "--week cannot be combined with --since/--until",
        ),
        ({"until": "2026-11-01"}, "--until needs --since (or use --week)"),
        (
            {"since": "2026-11-20", "until": "2026-11-19"},
            "the time range is empty: --since must be before --until",
        ),
        ({"week": "2026-W47", "slo_target": 100}, "--target: 100 is not a percentage"),
        ({"week": "2026-W47", "slo_target": "x"}, "--target: 'x' is not a number"),
        (
            {"week": "2026-W47", "slo_target": 90, "slo_alerts": ["1h/5m@10"]},
            "--slo-alert 1h/5m@10: 10 times the error budget (10%) is 100% or more",
        ),
        (
            {"week": "2026-W47", "slo_alerts": ["1h/5m@0"]},
            "--slo-alert 1h/5m@0: the burn rate must be a positive number",
        ),
        (
            {"week": "2026-W47", "slo_target": 50},
            "--slo-alert: no default alert can fire with an error budget of 50%",
        ),
        ({"week": "2026-W47", "by": "regoin"}, "--by: bad expression"),
        ({"week": "2026-W47", "latency": "durration_ms"}, "did you mean 'duration_ms'"),
        ({"week": "2026-W47", "tz": "Mars/Base"}, "--tz: unknown time zone 'Mars/Base'"),
        ({"week": "2026-W47", "errors": "stauts = 'error'"}, "--bad: bad expression"),
        ({"week": "2026-W47", "slo_bad": "status = "}, "--slo-bad: bad expression"),
        ({"week": "2026-W47", "slo_by": "regoin"}, "did you mean 'region'"),
    ],
)
def test_mistakes_are_usage_errors(
    hand_store: Store, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        hand_store.report(**selected(options))
    assert message in str(caught.value)


def test_sample_rate_weights_counts_unless_unweighted(tmp_path: Path) -> None:
    records = hand_records()
    records[6]["sample_rate"] = 10  # 2026-11-16 00:00, ok: stands for ten events
    store = write_store(tmp_path, records)
    weighted = store.report(week="2026-W47")
    assert weighted.metric("events").current == 18
    assert weighted.metric("error_ratio").current == pytest.approx(2 / 18)
    assert weighted.metric("p95_ms").current == pytest.approx(56.0)  # percentiles: unweighted
    assert table_cells(weighted.section("slo").table("slo"), UTC)[0][1:4] == [
        "18",
        "2",
        "88.889%",
    ]
    unweighted = store.report(Selection(unweighted=True), week="2026-W47")
    assert unweighted.metric("events").current == 9
    # Journeys count stored events, never weighted: their sessions calls have no such option.
    weighed = [query for query in unweighted.queries if query.method != "sessions"]
    assert all(query.options.get("unweighted") is True for query in weighed)
    commands = [c for c in unweighted.commands() if not c.startswith("mfq sessions")]
    assert all("--unweighted" in command for command in commands)


def test_a_wide_period_scores_only_what_the_data_covers(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # A one-second export in a 30-year report: the services with two events were flagged
    # (2 against 0 expected, 4.79) from the empty years around them.
    store.ingest([write_ndjson(one_second_burst("service"))])
    report = store.report(Selection(since="2000-01-01", until="2030-01-01"))
    section = report.section("anomalies")
    assert section.tables == ()
    note = (
        "events were recorded only from 2024-01-01 15:00:00 to 2024-01-01 15:00:00.130 (UTC)"
        " in the period asked for: the time before and after was not checked for anomalies,"
        " so a stop of the data after the last event is not reported"
    )
    assert section.notes == (note,)
    assert f"_{note}_" in render_report(report, ReportFormat.MARKDOWN)
    assert note in render_report(report, ReportFormat.HTML)
    # A period the data fills says nothing.
    filled = store.report(Selection(since="2024-01-01T15:00Z", until="2024-01-01T15:00:01Z"))
    assert filled.section("anomalies").notes == ()
