"""mfq sessions, funnel and paths from the command line, and check's journey assertions:
exit codes, exact messages, machine formats, the summary line and the duration bar.

The data: three orders keyed by correlation_id from 2026-11-03 10:00 UTC. o1 goes placed →
paid (1 min) → shipped (10 min); o2 is placed, paid (2 min) and stuck; o3 is placed and its
payment fails (an error). A heartbeat without a key ends the data at 12:00.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.analysis.journey_check import parse_journey_assertion
from mfq.cli.main import cli
from mfq.env import Env
from mfq.errors import UsageError
from mfq.render.journeys import duration_bar, render_sessions, summary_line

EVENTS = [
    ("o1", "order.placed", "10:00", "ok"),
    ("o1", "order.paid", "10:01", "ok"),
    ("o1", "order.shipped", "10:11", "ok"),
    ("o2", "order.placed", "10:05", "ok"),
    ("o2", "order.paid", "10:07", "ok"),
    ("o3", "order.placed", "10:20", "ok"),
    ("o3", "payment.failed", "10:21", "error"),
    (None, "heartbeat", "12:00", "ok"),
]
STEPS = ["order.placed", "order.paid", "order.shipped"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("journeys-cli")
    export = folder / "orders.ndjson"
    lines = []
    for number, (key, type_, at, status) in enumerate(EVENTS):
        record = {"id": f"e{number}", "type": type_, "timestamp": f"2026-11-03T{at}:00Z"}
        record.update({"status": status, "service": "shop"})
        if key is not None:
            record["correlation_id"] = key
        lines.append(json.dumps(record))
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    root = str(folder / "store")
    assert invoke("ingest", str(export), "--store", root)[0] == 0
    return root


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_sessions_table_with_summary_line_and_notes(store: str) -> None:
    code, out, err = invoke(
        "sessions", "--store", store, "--by", "correlation_id", "--end", "order.shipped"
    )
    assert code == 0, err
    assert out.splitlines()[3:] == [
        "o1          2026-11-03 10:00:00  11m 00s        3       0  order.shi…  completed",
        "o2          2026-11-03 10:05:00  2m 00s         2       0  order.paid  open",
        "o3          2026-11-03 10:20:00  1m 00s         2       1  payment.f…  open",
    ]
    assert err == (
        "operations 3: completed 1, failed 0, open 2; p50 11m 00s; p95 11m 00s; completion 33.3%\n"
    )


def test_sessions_open_longer_than_in_json(store: str) -> None:
    code, out, err = invoke(
        "sessions",
        *("--store", store, "--by", "correlation_id", "--end", "order.shipped"),
        *("--fail", "status = 'error'", "--open-longer-than", "1h", "--format", "json"),
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [row["correlation_id"] for row in rows] == ["o2"]
    assert list(rows[0]) == [
        "correlation_id",
        "start",
        "end",
        "duration_ms",
        "events",
        "errors",
        "first_type",
        "last_type",
        "services",
        "outcome",
    ]
    assert rows[0]["start"] == "2026-11-03T10:05:00Z"
    assert rows[0]["duration_ms"] == 120_000.0


def test_funnel_table_and_dropped_at(store: str) -> None:
    code, out, _err = invoke(
        "funnel", *STEPS, "--store", store, "--by", "correlation_id", "--within", "1h"
    )
    assert code == 0
    assert [line.split()[:3] for line in out.splitlines()[3:]] == [
        ["1", "order.placed", "3"],
        ["2", "order.paid", "2"],
        ["3", "order.shipped", "1"],
    ]
    code, out, _err = invoke(
        "funnel",
        *STEPS,
        *("--store", store, "--by", "correlation_id", "--within", "1h"),
        *("--dropped-at", "2", "--format", "csv"),
    )
    assert code == 0
    assert out.splitlines() == [
        "correlation_id,started,last_step,reached",
        "o3,2026-11-03T10:20:00Z,order.placed,2026-11-03T10:20:00Z",
    ]


def test_paths_after_a_step(store: str) -> None:
    code, out, _err = invoke(
        "paths",
        *("--store", store, "--by", "correlation_id", "--after", "order.placed"),
        *("--steps", "2", "--format", "csv"),
    )
    assert code == 0
    assert out.splitlines() == [
        "path,count,share",
        "order.paid → (end),1,0.3333333333333333",
        "order.paid → order.shipped,1,0.3333333333333333",
        "payment.failed → (end),1,0.3333333333333333",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["funnel", "order.placed", "--by", "correlation_id", "--within", "1h"],
            "mfq: error: funnel needs at least two steps, e.g. order.created order.paid\n",
        ),
        (
            ["sessions", "--by", "corelation_id"],
            "mfq: error: --by: unknown field 'corelation_id' — did you mean 'correlation_id'?\n",
        ),
        (
            ["paths", "--by", "correlation_id"],
            "mfq: error: paths needs one of --after STEP or --before STEP\n",
        ),
        (
            [*["funnel", *STEPS, "--by", "correlation_id", "--within", "1h"], "--why", "1"],
            "mfq: error: --why: a step number from 2 to 3\n",
        ),
    ],
)
def test_mistakes_exit_2_with_one_line(store: str, args: list[str], message: str) -> None:
    code, out, err = invoke(*args, "--store", store)
    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_check_journey_assertions_pass_fail_and_keep_their_places(store: str) -> None:
    code, out, err = invoke(
        "check",
        "count >= 1",
        "open(correlation_id, 1h, order.shipped) == 0",
        "conversion(correlation_id, 1h, order.placed, order.shipped) >= 0.3",
        "--store",
        store,
        "--format",
        "json",
    )
    assert code == 1, err
    rows = json.loads(out)
    assert [(row["assertion"], row["value"], row["passed"]) for row in rows] == [
        ("count >= 1", 8, True),
        ("open(correlation_id, 1h, order.shipped) == 0", 2.0, False),
        ("conversion(correlation_id, 1h, order.placed, order.shipped) >= 0.3", 1 / 3, True),
    ]
    assert rows[1]["detail"] == "2 open longer than 1h (expected == 0)"
    assert rows[2]["detail"] == "1 of 3 correlation_id (33.3%) (expected >= 0.3)"


def test_check_open_infers_ends_without_an_end(store: str) -> None:
    code, out, _err = invoke(
        "check", "open(correlation_id, 1h) <= 3", "--store", store, "--format", "json"
    )
    assert code == 0
    assert json.loads(out)[0]["passed"] is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("open(correlation_id) == 0", "assertion 1: open(KEY, AGE[, END])"),
        (
            "conversion(correlation_id, 1h, a) > 0.5",
            "assertion 1: conversion(KEY, WITHIN, STEP, STEP...)",
        ),
        ("open(correlation_id, 1h) is null", "assertion 1: write open(KEY, AGE[, END]) or"),
    ],
)
def test_malformed_journey_assertions_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_journey_assertion(text, 1)


def test_a_quoted_step_may_hold_a_comma() -> None:
    parsed = parse_journey_assertion("conversion(k, 1d, 'type in (''a'', ''b'')', done) >= 0.9", 1)
    assert parsed.arguments == ("k", "1d", "type in ('a', 'b')", "done")


def test_duration_bars_scale_to_the_longest() -> None:
    assert duration_bar(100, 100) == "█" * 12
    assert duration_bar(50, 100) == "█" * 6
    assert duration_bar(1, 100) == "▏"
    assert duration_bar(0, 100) == ""


def test_a_terminal_shows_the_bar(store: str, tmp_path: Path) -> None:
    import io

    import mfq

    frame = mfq.open_store(store).sessions(by="correlation_id", end="order.shipped")
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Env(stdout=stdout, stderr=stderr, stdout_isatty=True, width=100)
    from mfq.render import OutputFormat

    render_sessions(frame, OutputFormat.TABLE, env, key="correlation_id")
    first = stdout.getvalue().splitlines()[3]
    assert "█" * 12 in first
    assert summary_line(frame.summary) in stderr.getvalue()
