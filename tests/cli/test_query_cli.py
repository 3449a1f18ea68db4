"""mfq events / query / timeseries from the command line."""

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
def export(write_ndjson: Callable[..., Path]) -> Path:
    records = [
        event(
            i,
            service=["checkout", "search"][i % 2],
            status="error" if i % 5 == 0 else "ok",
            duration_ms=float(i),
            attributes={"region": ["eu", "us", "ap"][i % 3]},
        )
        for i in range(30)
    ]
    return write_ndjson(records)


def test_query_groups_counts_and_percentiles(tmp_path: Path, export: Path) -> None:
    store = str(tmp_path / "s")
    assert invoke("ingest", str(export), "--store", store)[0] == 0
    code, out, err = invoke(
        "query",
        "--store",
        store,
        "--group-by",
        "service",
        "--agg",
        "count",
        "--agg",
        "p50(duration_ms) as p50",
        "--agg",
        "ratio(status = 'error')",
        "--format",
        "json",
    )
    assert code == 0, err
    rows = {r["service"]: r for r in json.loads(out)}
    assert rows["checkout"] == {
        "service": "checkout",
        "count": 15,
        "p50": 14.0,
        "ratio(status = 'error')": pytest.approx(3 / 15),
    }
    assert rows["search"]["p50"] == 15.0


def test_query_reads_files_named_directly(export: Path) -> None:
    code, out, _ = invoke("query", str(export), "--where", "region = 'eu'", "--format", "json")
    assert code == 0
    assert json.loads(out) == [{"count": 10}]


def test_limit_adds_other_and_total_rows_in_tables_only_unless_asked(export: Path) -> None:
    args = ["query", str(export), "--group-by", "region", "--limit", "1"]
    code, out, _ = invoke(*args, "--format", "json")
    assert code == 0 and len(json.loads(out)) == 1
    code, out, _ = invoke(*args, "--format", "json", "--totals")
    rows = json.loads(out)
    assert [r["region"] for r in rows][1:] == ["OTHER", "TOTAL"]
    assert [r["count"] for r in rows] == [10, 20, 30]


def test_timeseries_fills_empty_buckets_with_zero(export: Path) -> None:
    code, out, err = invoke(
        "timeseries",
        str(export),
        "--every",
        "10s",
        "--where",
        "status = 'error'",
        "--since",
        "2026-11-03T10:00:00Z",
        "--until",
        "2026-11-03T10:01:00Z",
        "--format",
        "json",
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [r["time"] for r in rows][:2] == ["2026-11-03T10:00:00Z", "2026-11-03T10:00:10Z"]
    assert [r["count"] for r in rows] == [2, 2, 2, 0, 0, 0]


def test_events_shows_the_tail_oldest_first(export: Path) -> None:
    code, out, _ = invoke(
        "events", str(export), "--limit", "2", "--fields", "id,service", "--format", "csv"
    )
    assert code == 0
    assert out.splitlines() == ["id,service", "ev-28,checkout", "ev-29,search"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--where", "stauts = 'error'"], "unknown field 'stauts' — did you mean 'status'?"),
        (
            ["--where", "duration_ms > 'abc'"],
            "cannot compare float field 'duration_ms' with string 'abc'",
        ),
        (["--agg", "p955(duration_ms)"], "unknown function 'p955' — did you mean 'p95'?"),
        (["--where", "(status = 'ok'"], "missing ')'"),
        (["--since", "yesterday-ish"], "--since: bad time"),
        (["--group-by", "regoin"], "did you mean 'region'?"),
    ],
)
def test_bad_questions_exit_2_in_one_line(export: Path, args: list[str], message: str) -> None:
    code, _out, err = invoke("query", str(export), *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
