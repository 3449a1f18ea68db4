"""The report's "Changes and new error patterns" section and its highlights, on the demo
week: the 2.4.1 rollback in eu-west-1 with its error ratios, the change the incident began
after, and correlate's top combination."""

from __future__ import annotations

import re

import pandas as pd

from mfq.report.markdown import render_markdown
from tests.report.conftest import DemoWeek


def test_the_rollback_leads_the_changes(demo_week: DemoWeek) -> None:
    section = demo_week.report.section("changes")
    changes = section.table("changes").frame
    first = changes.iloc[0]
    assert (first["where"], first["value"], first["kind"]) == (
        "checkout eu-west-1",
        "2.4.1",
        "rollback",
    )
    assert first["first_seen"].floor("h") == pd.Timestamp("2026-11-19T12:00Z")
    assert first["last_seen"].floor("h") == pd.Timestamp("2026-11-19T16:00Z")
    assert first["bad_ratio_after"] > 0.2
    assert first["bad_ratio_before"] < 0.05
    assert first["shift"] == "worse"


def test_the_incident_is_said_to_follow_the_rollout(demo_week: DemoWeek) -> None:
    document = render_markdown(demo_week.report)
    sections = dict(re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", document, re.M | re.S))
    text = sections["Changes and new error patterns"]
    [sentence] = [line for line in text.splitlines() if " began " in line]  # one change
    assert sentence.startswith("The anomaly of ")
    assert "the incident of service = 'checkout'" in sentence
    assert re.search(
        r" began 1h \d\dm after version 2\.4\.1 arrived in checkout eu-west-1 "
        r"\(rolled back at 2026-11-19 16:\d\d UTC\)\.$",
        sentence,
    )
    assert "`2.4.1` in `checkout eu-west-1` arrived at 2026-11-19 12:" in sections["Highlights"]
    assert "Correlate's top combination: the errors come with `" in sections["Highlights"]


def test_no_previous_events_means_no_new_patterns(demo_week: DemoWeek) -> None:
    # The demo week is the store's first: nothing before it to call a pattern new against.
    section = demo_week.report.section("changes")
    assert [table.key for table in section.tables] == ["changes"]
    document = render_markdown(demo_week.report)
    assert "No error message template is new against the previous period." in document


def test_the_errors_chart_marks_the_rollout_and_the_rollback(demo_week: DemoWeek) -> None:
    from mfq.report.charts import _errors

    figure = _errors(demo_week.report)
    assert figure is not None
    rollback = demo_week.report.section("changes").table("changes").frame.iloc[0]
    marks = {
        line.get_linestyle(): pd.Timestamp(line.get_xdata()[0])
        for line in figure.axes[0].lines
        if line.get_linestyle() in {"--", ":"}
    }
    # Times are drawn in the report's zone (UTC here), without a zone.
    assert marks == {
        "--": rollback["first_seen"].tz_convert(None),
        ":": rollback["last_seen"].tz_convert(None),
    }
