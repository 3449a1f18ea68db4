"""An analysis that had no events to judge says ``no events match``, never what it says
when it judged events and found nothing ("no anomalies", "nothing stands out", "no
incidents", "no changes"): over a time range the data does not reach, and with filters
that match nothing where events are. The answers carry it as ``Answer.judged``."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.api import Store
from mfq.cli.main import cli
from tests.report.conftest import write_store

# Three days (2026-11-02 to 11-04), an event every 10 minutes, one service, one version,
# one failure in 50: nothing departs, nothing is over-represented, nothing is rolled out.
EVENTS = [
    {
        "id": f"e{i}",
        "type": "order.created",
        "timestamp": f"2026-11-{2 + i // 144:02d}T{i % 144 // 6:02d}:{i % 6 * 10:02d}:00Z",
        "service": "api",
        "status": "error" if i % 50 == 0 else "ok",
        "version": "1.0",
        "duration_ms": 100,
    }
    for i in range(3 * 144)
]
EMPTY_RANGE = ("--since", "2026-12-01", "--until", "2026-12-02")
CALM_RANGE = ("--since", "2026-11-02", "--until", "2026-11-05")
NO_MATCH = ("--where", "type = 'nope'", *CALM_RANGE)

QUESTIONS = {
    "anomalies": (["anomalies", "--every", "1h"], "no anomalies"),
    "anomalies by": (["anomalies", "--every", "1h", "--by", "service"], "no anomalies"),
    "anomalies p95": (["anomalies", "--every", "1h", "--agg", "p95(duration_ms)"], "no anomalies"),
    # A condition's count, or distinct values, at zero still judged the events; with no
    # event matched (a bounded range ignores the filters) they judged none.
    "anomalies count(EXPR)": (
        ["anomalies", "--every", "1h", "--agg", "count(status = 'error')"],
        "no anomalies",
    ),
    "anomalies distinct": (
        ["anomalies", "--every", "1h", "--agg", "count_distinct(service)"],
        "no anomalies",
    ),
    "correlate metric": (
        ["correlate", "--where", "status = 'error'", "--metric", "duration_ms"],
        "nothing stands out",
    ),
    "slo good": (
        ["slo", "--good", "status = 'ok'", "--target", "99", "--incidents"],
        "no incidents: no burn-rate alert would have fired",
    ),
    "changes markers": (["changes", "--markers", "type = 'deploy'"], "no changes"),
    "correlate": (
        ["correlate", "--where", "status = 'error'", "--fields", "service"],
        "nothing stands out",
    ),
    "slo incidents": (
        ["slo", "--bad", "status = 'error'", "--target", "99", "--incidents"],
        "no incidents: no burn-rate alert would have fired",
    ),
    "changes": (["changes"], "no changes"),
}


@pytest.fixture(scope="module")
def calm_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return write_store(tmp_path_factory.mktemp("calm"), EVENTS)


def _run(store: Store, args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--store", str(store.root)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", QUESTIONS)
def test_events_judged_and_nothing_found_say_so(calm_store: Store, name: str) -> None:
    args, found_nothing = QUESTIONS[name]
    code, out, err = _run(calm_store, [*args, *CALM_RANGE])
    assert (code, out) == (0, "")
    assert err.splitlines()[0] == found_nothing


@pytest.mark.parametrize("name", QUESTIONS)
@pytest.mark.parametrize("selection", [EMPTY_RANGE, NO_MATCH], ids=["range", "filters"])
def test_no_events_to_judge_say_no_events_match(
    calm_store: Store, name: str, selection: tuple[str, ...]
) -> None:
    args, _ = QUESTIONS[name]
    if args[0] == "correlate" and selection is NO_MATCH:
        args = ["correlate", "--where", "status = 'error' and type = 'nope'", *args[3:]]
        selection = CALM_RANGE
    code, out, err = _run(calm_store, [*args, *selection])
    assert (code, out) == (0, "")
    assert err.splitlines()[0] == "no events match"


def test_the_slo_summary_of_no_events_says_no_events_match(calm_store: Store) -> None:
    code, out, err = _run(calm_store, ["slo", "--bad", "status = 'error'", *EMPTY_RANGE])
    assert code == 0
    assert out.split("events", 1)[1].split()[0] == "0"  # the summary row is still shown
    assert err == "no events match\n"


def test_changes_over_no_events_on_the_terminal_is_not_an_internal_error(
    calm_store: Store,
) -> None:
    # The table view once joined no groups' texts into a frame and failed (exit 4).
    code, out, err = _run(calm_store, ["changes", "--by", "service", *EMPTY_RANGE])
    assert (code, out, err) == (0, "", "no events match\n")


def test_answers_carry_whether_anything_was_judged(calm_store: Store) -> None:
    from mfq.query.requests import Selection

    empty = Selection(since="2026-12-01", until="2026-12-02")
    calm = Selection(since="2026-11-02", until="2026-11-05")
    errors = "status = 'error'"
    for selection, judged in ((empty, False), (calm, True)):
        answers = [
            calm_store.anomalies(selection, every="1h"),
            calm_store.correlate(selection.narrowed(errors), fields=["service"]),
            calm_store.slo(selection, bad=errors, target=99, incidents=True),
            calm_store.changes(selection),
        ]
        # The calm days' one version is listed as the initial one (the CLI shows changes).
        assert [len(a) for a in answers] == [0, 0, 0, int(judged)]
        assert [a.judged for a in answers] == [judged] * 4
        summary = calm_store.slo(selection, bad=errors, target=99)
        assert (int(summary["events"].iloc[0]) > 0, summary.judged) == (judged, judged)


def test_machine_formats_stay_an_empty_array(calm_store: Store, tmp_path: Path) -> None:
    code, out, err = _run(calm_store, ["anomalies", "--format", "json", *EMPTY_RANGE])
    assert (code, out, err) == (0, "[]\n", "")


def test_the_report_of_a_week_with_no_events_judges_no_changes(calm_store: Store) -> None:
    from mfq.report.markdown import render_markdown

    document = render_markdown(calm_store.report(week="2026-W49"))
    changes = document.split("## Changes and new error patterns\n\n", 1)[1].split("\n\n")[0]
    assert changes == "Not judged: the period has no events."
    assert "No version arrived" not in document and "is new against" not in document
