"""``--let NAME=EXPR`` on the query-like commands, group-by expressions and arithmetic
over aggregates through the CLI: exact answers on hand-built events, exact errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from tests.conftest import event


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store(tmp_path: Path, write_ndjson: Callable[..., Path]) -> str:
    """Twelve events: durations 0, 100 … 1100 ms; every third one an error."""
    records = [
        event(
            i,
            service=["Checkout", "search"][i % 2],
            status="error" if i % 3 == 0 else "ok",
            duration_ms=100.0 * i,
        )
        for i in range(12)
    ]
    path = str(tmp_path / "s")
    assert invoke("ingest", str(write_ndjson(records)), "--store", path)[0] == 0
    return path


def test_let_in_where_group_by_and_agg(store: str) -> None:
    code, out, err = invoke(
        "query",
        "--store",
        store,
        "--let",
        "slow = duration_ms >= 600",
        "--let",
        "svc=lower(service)",
        "--where",
        "slow",
        "--group-by",
        "svc",
        "--agg",
        "count",
        "--agg",
        "max(duration_ms) - min(duration_ms) as spread",
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out) == [
        {"svc": "checkout", "count": 3, "spread": 400.0},
        {"svc": "search", "count": 3, "spread": 400.0},
    ]


def test_group_by_an_expression_directly(store: str) -> None:
    code, out, err = invoke(
        "query",
        "--store",
        store,
        "--group-by",
        "bucket(duration_ms, 500)",
        "--order-by",
        "bucket(duration_ms, 500)",
        "--agg",
        "sum(duration_ms) / count as mean",
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out) == [
        {"bucket(duration_ms, 500)": 0.0, "mean": 200.0},
        {"bucket(duration_ms, 500)": 500.0, "mean": 700.0},
        {"bucket(duration_ms, 500)": 1000.0, "mean": 1050.0},
    ]


def test_let_in_timeseries_by_and_events_fields(store: str) -> None:
    code, out, err = invoke(
        "timeseries",
        "--store",
        store,
        "--let",
        "kind = if(status = 'error', 'bad', 'good')",
        "--by",
        "kind",
        "--every",
        "1d",
        "--format",
        "json",
    )
    assert code == 0, err
    assert {r["kind"]: r["count"] for r in json.loads(out)} == {"bad": 4, "good": 8}
    code, out, err = invoke(
        "events",
        "--store",
        store,
        "--let",
        "tenths = duration_ms / 100",
        "--where",
        "tenths > 9",
        "--fields",
        "service,tenths",
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out) == [
        {"service": "Checkout", "tenths": 10.0},
        {"service": "search", "tenths": 11.0},
    ]


def test_let_in_check_assertions(store: str) -> None:
    code, out, err = invoke(
        "check",
        "--store",
        store,
        "--let",
        "seconds = duration_ms / 1000",
        "--let",
        "slow = seconds > 0.5",
        "max(seconds) <= 1.1",
        "count(slow) = 6",
        "--format",
        "json",
    )
    assert code == 0, (out, err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--let", "slow"],
            'mfq: error: --let takes NAME=EXPR, e.g. --let "slow = duration_ms > 800", '
            "not 'slow'",
        ),
        (
            ["--let", "status = 1"],
            "mfq: error: --let status: there is a stored field of that name; pick another",
        ),
        (
            ["--let", "x = lower(duration_ms)"],
            "mfq: error: bad expression at column 7: 'lower' needs a string, not float field "
            "'duration_ms'",
        ),
        (
            ["--group-by", "bucket(duration_ms, 0)"],
            "mfq: error: bad expression at column 21: 'bucket' needs a positive number as "
            "its width",
        ),
        (
            ["--agg", "count / duration_ms"],
            "mfq: error: bad expression at column 9: expected an aggregate such as count or "
            "p95(duration_ms), found 'duration_ms'",
        ),
    ],
)
def test_mistakes_are_one_line_with_exit_2(store: str, args: list[str], message: str) -> None:
    code, _out, err = invoke("query", "--store", store, *args)
    assert code == 2
    assert err.splitlines()[0] == message
