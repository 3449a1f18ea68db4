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
