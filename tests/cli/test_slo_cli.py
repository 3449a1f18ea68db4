"""``mfq slo`` from the command line: exact output in every format, exit codes, one-line
errors.

The data: two hours, 2026-11-03 10:00-12:00 UTC, two events a minute. Every event fails
10:30-10:50 (an outage of 20 minutes); two more fail at 11:10 and 11:40. At target 99
(a 1% budget) the 6h/30m alert fires at 10:35 (the window's 10 failures of 70 and the half
hour's 10 of 60 are over 6% with confidence); the lone failures page nothing (1 of 60 in
the half hour is 1.7%).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.cli.main import cli

START = datetime(2026, 11, 3, 10, tzinfo=UTC)
WINDOW = ["--until", "2026-11-03T12:00Z", "--window", "2h", "--target", "99"]
BAD = ["--bad", "status = 'error'"]


def _status(minute: int, k: int) -> str:
    if 30 <= minute < 50 or (minute in (70, 100) and k == 0):
        return "error"
    return "ok"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slo-cli") / "two-hours.ndjson"
    lines = []
    for minute in range(120):
        for k in range(2):
            moment = START + timedelta(minutes=minute, seconds=30 * k)
            record = {
                "id": f"e-{minute}-{k}",
                "type": "request",
                "timestamp": moment.isoformat().replace("+00:00", "Z"),
                "service": "api",
                "status": _status(minute, k),
            }
            lines.append(json.dumps(record) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(export: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("slo-cli-store") / "store")
    assert invoke("ingest", str(export), "--store", root)[0] == 0
    return root


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_is_the_summary_row_with_hand_computed_numbers(store: str) -> None:
    code, out, err = invoke("slo", "--store", store, *BAD, *WINDOW, "--format", "json")
    assert code == 0, err
    [row] = json.loads(out)
    assert row == {
        "objective": "bad: status = 'error'",
        "target": 99.0,
        "compliance": pytest.approx(100 * 198 / 240),  # 42 of 240 events failed
        "budget_remaining": pytest.approx(1 - (42 / 240) / 0.01),
        "burn_rate": pytest.approx((2 / 120) / 0.01),  # the last hour: 2 of 120
        "incidents": 1,
        "mttr_minutes": 20.0,
        "burn_rate_1d": pytest.approx((42 / 240) / 0.01),  # the window is shorter than a day
        "events": 240,
        "bad": 42,
        "window_start": "2026-11-03T10:00:00Z",
        "window_end": "2026-11-03T12:00:00Z",
        "mttd_minutes": 5.0,
    }


def test_incidents_flag_gives_the_episodes_as_rows(store: str) -> None:
    code, out, _ = invoke("slo", "--store", store, *BAD, *WINDOW, "--incidents", "--format", "csv")
    assert code == 0
    assert out == (
        "start,end,minutes,events,bad,peak_bad_ratio,detected,detect_minutes\n"
        "2026-11-03T10:30:00Z,2026-11-03T10:50:00Z,20.0,40,40,1.0,2026-11-03T10:35:00Z,5.0\n"
    )


INCIDENT_TABLE = [
    "                                incidents",
    "start                minutes  detect_minutes  events  bad  peak_bad_ratio",
    "─" * 73,
    "2026-11-03 10:30:00       20               5      40   40               1",
]


def test_budget_exhausted_fails_only_when_asked(store: str) -> None:
    code, out, err = invoke("slo", "--store", store, *BAD, *WINDOW, "--fail-on-exhausted")
    assert (code, err.splitlines()[-1]) == (1, "error budget exhausted: -16.5 left")
    code, out, err = invoke(
        "slo", "--store", store, *BAD, *WINDOW, "--fail-on-exhausted", "--format", "json"
    )
    assert (code, json.loads(out)[0]["budget_remaining"] < 0, err) == (1, True, "")
    code, out, _ = invoke(
        "slo", "--store", store, *BAD, *WINDOW, "--incidents", "--fail-on-exhausted",
        "--format", "csv",
    )  # fmt: skip
    assert (code, len(out.splitlines())) == (1, 2)  # the incidents, and the gate
    # Within budget (the last hour: 2 failures of 120 at target 95), and with no events.
    for window in (["--target", "95", "--last", "1h"], ["--until", "2026-10-01T00:00Z"]):
        code, _, err = invoke(
            "slo", "--store", store, *BAD, *window, "--now", "2026-11-03T12:00Z",
            "--fail-on-exhausted", "--format", "json",
        )  # fmt: skip
        assert code == 0, err


def test_the_terminal_shows_the_summary_then_the_incidents(store: str) -> None:
    code, out, err = invoke("slo", "--store", store, *BAD, *WINDOW, "--name", "api errors")
    assert code == 0, err
    assert out.splitlines() == [
        "           slo: api errors",
        "field             value",
        "─" * 37,
        "objective         api errors",
        "target            99",
        "compliance        82.5",
        "budget_remaining  -16.5",
        "burn_rate         1.66667",
        "incidents         1",
        "mttr_minutes      20",
        "burn_rate_1d      17.5",
        "events            240",
        "bad               42",
        "window_start      2026-11-03 10:00:00",
        "window_end        2026-11-03 12:00:00",
        "mttd_minutes      5",
        *INCIDENT_TABLE,
    ]


def test_the_terminal_says_so_when_nothing_burned(store: str) -> None:
    quiet = ["--until", "2026-11-03T10:30Z", "--window", "30m"]
    code, out, err = invoke("slo", "--store", store, *BAD, *quiet)
    assert code == 0
    assert "incidents         0" in out
    assert err == "no incidents: no burn-rate alert would have fired\n"
    code, out, err = invoke(
        "slo", "--store", store, *BAD, *quiet, "--incidents", "--format", "json"
    )
    assert (code, out.strip(), err) == (0, "[]", "")


def test_tz_changes_how_times_are_shown_not_what_is_found(store: str) -> None:
    args = ["slo", "--store", store, *BAD, *WINDOW, "--incidents"]
    code, out, _ = invoke(*args, "--tz", "Asia/Kolkata", "--format", "markdown")
    assert code == 0
    assert "| 2026-11-03 16:00:00+05:30 | 2026-11-03 16:20:00+05:30 |" in out
    code, out, _ = invoke(*args, "--tz", "Asia/Kolkata", "--format", "ndjson")
    assert json.loads(out)["start"] == "2026-11-03T10:30:00Z"


def test_good_with_the_where_filter_and_input_files_named_directly(export: Path) -> None:
    code, out, err = invoke(
        "slo",
        str(export),
        "--good",
        "status = 'ok'",
        "--where",
        "service = 'api'",
        *WINDOW,
        "--format",
        "ndjson",
    )
    assert code == 0, err
    row = json.loads(out)
    assert (row["objective"], row["events"], row["bad"], row["incidents"]) == (
        "good: status = 'ok'",
        240,
        42,
        1,
    )


def test_now_and_last_choose_the_window(store: str) -> None:
    code, out, _ = invoke(
        "slo",
        "--store",
        store,
        *BAD,
        "--now",
        "2026-11-03T12:00Z",
        "--last",
        "1h",
        "--format",
        "json",
    )
    assert code == 0
    [row] = json.loads(out)
    assert (row["window_start"], row["events"], row["bad"], row["incidents"]) == (
        "2026-11-03T11:00:00Z",
        120,
        2,
        0,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --good EXPR or --bad EXPR"),
        ([*BAD, "--good", "status = 'ok'"], "give exactly one of --good EXPR or --bad EXPR"),
        ([*BAD, "--target", "100"], "--target: 100 is not a percentage between 0 and 100"),
        ([*BAD, "--target", "-1"], "--target: -1 is not a percentage between 0 and 100"),
        (
            [*BAD, "--alert", "1h/5m@-2"],
            "--alert 1h/5m@-2: the burn rate must be a positive number",
        ),
        ([*BAD, "--every", "soon"], "--every: bad duration 'soon' (use e.g. 15m, 24h, 7d)"),
        (
            ["--bad", "stauts = 'error'"],
            "--bad: bad expression at column 1: unknown field 'stauts' — did you mean 'status'?",
        ),
        (
            [*BAD, "--where", "sevice = 'api'"],
            "bad expression at column 1: unknown field 'sevice' — did you mean 'service'?",
        ),
    ],
)
def test_each_mistake_exits_2_with_one_line(store: str, args: list[str], message: str) -> None:
    code, out, err = invoke("slo", "--store", store, *args)
    assert (code, out, err) == (2, "", f"mfq: error: {message}\n")


def test_a_target_that_is_not_a_number_is_a_usage_error(store: str) -> None:
    code, _, err = invoke("slo", "--store", store, *BAD, "--target", "high")
    assert code == 2
    assert err.startswith("mfq: error: Invalid value for '--target': 'high' is not a valid float")
    assert len(err.splitlines()) == 1


def test_no_store_is_a_data_error(tmp_path: Path) -> None:
    code, _, err = invoke("slo", "--store", str(tmp_path / "none"), *BAD)
    assert code == 3
    assert err.startswith(f"mfq: error: no store at {tmp_path / 'none'}")


def test_help_names_every_option_and_default() -> None:
    code, out, _ = invoke("slo", "--help")
    assert code == 0
    out = " ".join(out.split())  # click wraps help text to the terminal's width
    for option in ("--good", "--bad", "--target", "--window", "--every", "--alert"):
        assert option in out
    for default in (
        "[default: 99.5]",
        "[default: 28d]",
        "[default: 5m]",
        "[default: 1h/5m@14.4, 6h/30m@6]",
    ):
        assert default in out
