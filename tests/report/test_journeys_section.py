"""The report's Journeys section: present when the data has a journey key, with the numbers
``mfq sessions`` gives, absent otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import mfq
from mfq.api import Selection
from mfq.report.markdown import render_markdown
from mfq.report.settings import ReportSettings
from tests.report.conftest import DemoWeek


def test_the_demo_week_has_a_journeys_section(demo_week: DemoWeek) -> None:
    section = demo_week.report.section("journeys")
    summary = demo_week.store.sessions(
        Selection(since="2026-11-16T00:00:00Z", until="2026-11-23T00:00:00Z"),
        by="correlation_id",
        open_longer_than="12h",
    )
    expected = summary.summary
    table = section.table("journeys").frame.set_index("metric")
    assert table.loc["operations", "this period"] == f"{expected['operations']:,}"
    assert table.loc["stuck", "this period"] == f"{expected['stuck']:,}"
    assert table.loc["operations", "previous"] == "0"
    stuck = section.table("journeys_stuck").frame
    assert stuck["correlation_id"].tolist() == summary["correlation_id"].tolist()[:10]
    assert set(stuck["last_type"]) == {"order.packed"}
    document = render_markdown(demo_week.report)
    assert "## Journeys" in document
    assert (
        "mfq sessions --by correlation_id --open-longer-than 12h "
        "--since 2026-11-16T00:00:00Z --until 2026-11-23T00:00:00Z"
    ) in document


def test_no_journey_key_no_section(tmp_path: Path) -> None:
    export = tmp_path / "plain.ndjson"
    records = [
        {"id": f"e{i}", "type": "page.view", "timestamp": f"2026-11-17T10:0{i}:00Z"}
        for i in range(5)
    ]
    export.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with mfq.open_store(tmp_path / "store") as store:
        store.ingest([export])
        report = store.report(week="2026-W47")
        assert "journeys" not in [section.key for section in report.sections]


def test_a_configured_key_is_used(tmp_path: Path) -> None:
    export = tmp_path / "jobs.ndjson"
    records = [
        {"id": f"e{i}", "type": "job.step", "timestamp": f"2026-11-17T10:0{i}:00Z", "job": "j1"}
        for i in range(3)
    ]
    export.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with mfq.open_store(tmp_path / "store") as store:
        store.ingest([export])
        from mfq.report.build import ReportRequest, build_report

        asked = ReportRequest(week="2026-W47", settings=ReportSettings(journey_key="job"))
        report = build_report(store, asked)
        frame = report.section("journeys").table("journeys").frame.set_index("metric")
        assert frame.loc["operations", "this period"] == "1"
