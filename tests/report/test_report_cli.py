"""``mfq report`` from the command line: where the document goes, the terminal summary,
exit codes and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.api import Store
from mfq.cli.main import cli
from mfq.report.markdown import render_markdown
from mfq.report.model import Report
from tests.report.conftest import HAND_EVENTS


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_markdown_goes_to_stdout(hand_store: Store, hand_report: Report) -> None:
    code, out, err = invoke("report", "--store", str(hand_store.root), "--week", "2026-W47")
    assert (code, err) == (0, "")
    assert out == render_markdown(hand_report)
    assert out.startswith("# Event report 2026-W47\n")


def test_out_writes_the_file_and_prints_a_summary(
    hand_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "week.html"
    code, out, err = invoke(
        "report", "--store", str(hand_store.root), "--week", "2026-W47", "--format", "html",
        "--out", "week.html",
    )  # fmt: skip
    assert (code, err) == (0, "")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    lines = out.splitlines()
    assert lines[0].strip() == "report 2026-W47"
    assert [line.split(None, 1)[0] for line in lines[3:]] == [
        "period", "events", "error", "p95", "active", "anomalies", "slo", "written",
    ]  # fmt: skip
    assert "9 (change: +50.0%)" in out
    assert "22.22% (change: -11.11 pp)" in out
    assert lines[-1].split() == ["written", "to", "week.html"]


def test_input_files_instead_of_a_store(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    from tests.report.conftest import hand_records

    export.write_text("".join(f"{__import__('json').dumps(r)}\n" for r in hand_records()))
    code, out, _ = invoke("report", str(export), "--week", "2026-W47")
    assert code == 0
    assert "| Events | 9 | 6 | +50.0% |" in out


def test_tz_moves_the_week_and_the_times(hand_store: Store) -> None:
    code, out, _ = invoke(
        "report", "--store", str(hand_store.root), "--week", "2026-W47", "--tz", "Asia/Tokyo"
    )
    assert code == 0
    # Monday 00:00 in Tokyo is Sunday 15:00 UTC: W46's last event (Sunday 23:59:59 UTC)
    # is in, the one at Sunday 2026-11-22 15:00 UTC is the next week's.
    assert "| Events | 9 | 5 | +80.0% |" in out
    assert "--since 2026-11-15T15:00:00Z --until 2026-11-22T15:00:00Z" in out
    assert "Times in Asia/Tokyo." in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-47"], "mfq: error: --week: '2026-47' is not an ISO week like 2026-W47"),
        (["--week", "2026-W47", "--since", "7d"], "--week cannot be combined with --since"),
        (["--week", "2026-W47", "--errors", "stauts = 'x'"], "did you mean 'status'?"),
        (["--week", "2026-W47", "--slo-target", "101"], "--target: 101 is not a percentage"),
        (["--week", "2026-W47", "--target", "101"], "--target: 101 is not a percentage"),
        (["--week", "2026-W47", "--by", "regoin"], "did you mean 'region'?"),
        (["--week", "2026-W47", "--slo-by", "regoin"], "did you mean 'region'?"),
        (["--week", "2026-W47", "--where", "servcie = 'x'"], "did you mean 'service'?"),
        (["--week", "2026-W47", "--tz", "Nowhere/City"], "unknown time zone 'Nowhere/City'"),
        (["--week", "2026-W47", "--format", "pdf"], "Invalid value for '--format'"),
    ],
)
def test_mistakes_exit_2_with_one_line(hand_store: Store, args: list[str], message: str) -> None:
    code, out, err = invoke("report", "--store", str(hand_store.root), *args)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and message in err


def test_an_unwritable_out_is_one_line(hand_store: Store, tmp_path: Path) -> None:
    target = tmp_path / "missing-directory" / "report.md"
    code, _, err = invoke(
        "report", "--store", str(hand_store.root), "--week", "2026-W47", "--out", str(target)
    )
    assert code == 2
    assert err.startswith(f"mfq: error: --out: cannot write {target}")
    assert len(err.splitlines()) == 1


def test_no_store_is_a_data_error(tmp_path: Path) -> None:
    code, _, err = invoke("report", "--store", str(tmp_path / "none"), "--week", "2026-W47")
    assert code == 3
    assert "no store at" in err


def test_the_hand_data_has_a_boundary_event_on_each_side() -> None:
    # The fixtures rely on events exactly at the period's ends (inclusive start,
    # exclusive end); keep them if the data is edited.
    stamps = [row[0] for row in HAND_EVENTS]
    assert "2026-11-16T00:00:00Z" in stamps and "2026-11-23T00:00:00Z" in stamps


def test_html_without_matplotlib_says_so_and_still_writes_the_report(
    hand_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if matplotlib were not installed (the report extra): both places that ask.
    monkeypatch.setattr("mfq.report.charts.charts_available", lambda: False)
    monkeypatch.setattr("mfq.report.html.charts_available", lambda: False)
    code, out, err = invoke(
        "report", "--store", str(hand_store.root), "--week", "2026-W47", "--format", "html"
    )
    assert code == 0
    assert err == (
        "note: the report has no charts: matplotlib is missing "
        "(a dependency of mfq: reinstall mfq)\n"
    )
    assert out.startswith("<!DOCTYPE html>") and "<img" not in out
    assert "Charts are not shown: matplotlib is not installed" in out


def _highlights(document: str) -> list[str]:
    section = document.split("## Highlights\n\n", 1)[1].split("\n\n", 1)[0]
    return section.splitlines()


def test_a_week_with_no_events_says_so_and_where_the_events_are(hand_store: Store) -> None:
    # The hand events run from 2026-11-09 10:00 to 2026-11-23 00:00 (W46 to W48): a
    # scheduled report of W49 must not read "no anomalies, no incidents" as a calm week.
    code, out, err = invoke("report", "--store", str(hand_store.root), "--week", "2026-W49")
    assert code == 0
    assert _highlights(out) == [
        "- Against the previous period: 0 events (-100.0%), error ratio —, p95 latency —, "
        "0 active actors (-100.0%).",
        "- No events in 2026-W49 (2026-11-30 to 2026-12-06): nothing was judged, so the empty "
        "anomaly and SLO sections below do not mean a calm period. The events run from "
        "2026-11-09 10:00 to 2026-11-23 00:00 (UTC); for the week of the last of them, give "
        "`--week 2026-W48`.",
    ]
    assert out.count("Not judged: the period has no events.") == 3  # anomalies, SLO, changes
    assert "No anomalies" not in out and "No incidents" not in out
    assert err == (
        "note: No events in 2026-W49 (2026-11-30 to 2026-12-06): the report judged nothing."
        " The events run from 2026-11-09 10:00 to 2026-11-23 00:00 (UTC); for the week of"
        " the last of them, give --week 2026-W48.\n"
    )
    # The question behind the sentence is listed with the others, and answers it.
    assert '\nmfq query --agg "min(timestamp) as first" --agg "max(timestamp) as last"\n' in out


def test_no_matching_events_name_the_filters_and_their_zone(hand_store: Store) -> None:
    root = str(hand_store.root)
    # legacy.ping: 2026-11-13 10:00 and 2026-11-15 23:59:59 UTC, which is Monday
    # 2026-11-16 08:59:59 in Tokyo: week 47 there, week 46 in UTC.
    where = ("--where", "type = 'legacy.ping'", "--week", "2026-W49")
    _, _, err = invoke("report", "--store", root, *where)
    assert err.endswith(
        "The events matching the filters run from 2026-11-13 10:00 to 2026-11-15 23:59:59"
        " (UTC); for the week of the last of them, give --week 2026-W46.\n"
    )
    _, _, err = invoke("report", "--store", root, *where, "--tz", "Asia/Tokyo")
    assert err.endswith(
        "run from 2026-11-13 19:00 to 2026-11-16 08:59:59 (Asia/Tokyo); for the week of"
        " the last of them, give --week 2026-W47.\n"
    )
    code, out, err = invoke(
        "report", "--store", root, "--where", "type = 'nope'", "--week", "2026-W47"
    )
    assert code == 0
    assert err == (
        "note: No events matching the filters in 2026-W47 (2026-11-16 to 2026-11-22): the"
        " report judged nothing. The filters (--where) match no event at any time.\n"
    )
    assert _highlights(out)[1].endswith("The filters (--where) match no event at any time.")


def test_a_week_with_events_has_no_notice(hand_store: Store, hand_report: Report) -> None:
    assert hand_report.notice is None and hand_report.no_events is None
    highlights = [
        "".join(span.text for span in item) for item in hand_report.section("highlights").items
    ]
    assert not any(item.startswith("No events") for item in highlights)


def test_the_summary_of_a_week_with_no_events_judges_nothing(
    hand_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(
        "report", "--store", str(hand_store.root), "--week", "2026-W49", "--out", "week.md"
    )
    assert code == 0 and err.startswith("note: No events in 2026-W49")
    rows = {line.split("  ", 1)[0]: line.split("  ", 1)[1].strip() for line in out.splitlines()[3:]}
    assert rows["anomalies"] == rows["slo incidents"] == "not judged (no events)"
    assert rows["events"] == "0 (change: -100.0%)"
