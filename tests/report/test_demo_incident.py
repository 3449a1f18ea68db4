"""A week of demo data: the planted incident (checkout 2.4.1 failing in eu-west-1 on
2026-11-19 from 14:00 to 15:30 UTC) shows in the anomalies, the SLO and correlate, and
the headline numbers agree with DuckDB over the same Parquet files."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from mfq.report.markdown import render_markdown
from tests.report.conftest import DemoWeek, duckdb_events

START = pd.Timestamp("2026-11-19T14:00:00Z")
END = pd.Timestamp("2026-11-19T15:30:00Z")


def test_anomalies_are_the_incident_hours(demo_week: DemoWeek) -> None:
    table = demo_week.report.section("anomalies").table("anomalies").frame
    assert set(table["time"]) == {START, pd.Timestamp("2026-11-19T15:00:00Z")}
    flagged = set(zip(table["signal"], table["group"], table["time"], strict=True))
    assert ("errors by service", "checkout", START) in flagged
    assert ("errors by region", "eu-west-1", START) in flagged
    assert set(table["direction"]) == {"up"}


def test_the_slo_finds_the_incident_to_the_bucket(demo_week: DemoWeek) -> None:
    incidents = demo_week.report.section("slo").table("incidents").frame
    checkout = incidents[incidents["scope"] == "service = 'checkout'"]
    assert len(checkout) == 1
    row = checkout.iloc[0]
    assert (row["start"], row["end"], row["minutes"]) == (START, END, 90.0)
    # Every incident found is inside the planted window.
    assert (incidents["start"] >= START).all() and (incidents["end"] <= END).all()
    compliance = demo_week.report.section("slo").table("slo").frame
    assert compliance.set_index("scope").loc["service = 'checkout'", "incidents"] == 1


def test_correlate_names_the_version_and_the_region(demo_week: DemoWeek) -> None:
    section = demo_week.report.section("correlate")
    incident = section.table("correlate_incident_1")
    assert "service = 'checkout', 2026-11-19 14:00 to 15:30" in incident.title
    explains = incident.frame[incident.frame["kind"] == "explains"]
    assert list(zip(explains["field"], explains["value"], strict=True))[:2] == [
        ("version", "2.4.1"),
        ("region", "eu-west-1"),
    ]
    period = section.table("correlate").frame
    assert ("version", "2.4.1") in set(zip(period["field"], period["value"], strict=True))


def test_the_highlights_and_sections_say_so_in_words(demo_week: DemoWeek) -> None:
    document = render_markdown(demo_week.report)
    sections = dict(re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", document, re.M | re.S))
    assert (
        "`service = 'checkout'` from 2026-11-19 14:00 to 2026-11-19 15:30 (1h 30m)"
        in (sections["Highlights"])
    )
    assert "`version = 2.4.1`" in sections["Highlights"]
    assert "| 2026-11-19 14:00 | errors by service | checkout |" in sections["Anomalies"]
    assert (
        "| service = 'checkout' | 2026-11-19 14:00 | 2026-11-19 15:30 | 1h 30m |"
        in (sections["SLO compliance and incidents"])
    )
    assert "| version | 2.4.1 |" in sections["What correlate says about the errors"]


def test_headline_and_breakdowns_match_duckdb(demo_week: DemoWeek) -> None:
    sql = duckdb_events(demo_week.store)
    within = (
        "timestamp >= TIMESTAMPTZ '2026-11-16T00:00:00Z' "
        "AND timestamp < TIMESTAMPTZ '2026-11-23T00:00:00Z'"
    )
    [(events, errors, p95, actors)] = sql(
        "SELECT count(*), count(*) FILTER (WHERE status = 'error'), "
        f"quantile_cont(duration_ms, 0.95), count(DISTINCT actor_profile_id) FROM EVENTS "
        f"WHERE {within}"
    )
    report = demo_week.report
    assert report.metric("events").current == events == 211_631  # 200,000 + journeys
    assert report.metric("error_ratio").current == pytest.approx(errors / events)  # type: ignore[operator]
    assert report.metric("p95_ms").current == pytest.approx(p95)
    assert report.metric("active_actors").current == actors
    by_version = {
        (service, version): (e, n)
        for service, version, e, n in sql(
            "SELECT service, version, count(*) FILTER (WHERE status = 'error'), count(*) "
            f"FROM EVENTS WHERE {within} GROUP BY 1, 2"
        )
    }
    table = report.section("errors").table("errors_by_service_version").frame
    for row in table.itertuples(index=False):
        assert by_version[(row.service, row.version)] == (row.errors, row.events)
    assert (
        table.iloc[:2]["errors"].tolist()
        == sorted((e for e, _n in by_version.values()), reverse=True)[:2]
    )
