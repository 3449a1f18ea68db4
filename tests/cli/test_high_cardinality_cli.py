"""Many groups: a query table shows the largest groups with OTHER and TOTAL rows unless
--all; a time series too large to fill with zeros is refused with what to do instead."""

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
def many_groups(write_ndjson: Callable[..., Path]) -> Path:
    # 150 users, user-i with i + 1 events (so the order by count is user-149 first).
    return write_ndjson(
        [event(1000 * i + j, user=f"user-{i:03d}") for i in range(150) for j in range(i + 1)]
    )


def _markdown_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_a_query_table_shows_100_groups_then_other_and_total(many_groups: Path) -> None:
    code, out, err = invoke("query", str(many_groups), "--group-by", "user", "--format", "markdown")
    assert (code, err) == (0, "")
    rows = _markdown_rows(out)
    assert len(rows) == 102
    assert rows[0] == ["user-149", "150"]
    assert rows[99] == ["user-050", "51"]
    assert rows[100] == ["OTHER", f"{sum(range(1, 51)):,}"]
    assert rows[101] == ["TOTAL", f"{sum(range(1, 151)):,}"]


def test_all_shows_every_group_and_machine_formats_are_not_cut(many_groups: Path) -> None:
    args = ["query", str(many_groups), "--group-by", "user"]
    assert len(_markdown_rows(invoke(*args, "--format", "markdown", "--all")[1])) == 150
    assert len(json.loads(invoke(*args, "--format", "json")[1])) == 150
    assert invoke(*args, "--all", "--limit", "5") == (
        2,
        "",
        "mfq: error: --all and --limit contradict each other: give one\n",
    )


@pytest.mark.parametrize("zone", [[], ["--tz", "Europe/Paris"]], ids=["utc", "local-buckets"])
def test_a_time_series_too_large_to_fill_is_refused(
    write_ndjson: Callable[..., Path], zone: list[str]
) -> None:
    # 2,500 events a second apart, each its own id: 2,500 buckets x 2,500 series.
    export = write_ndjson([event(i) for i in range(2500)])
    args = ["timeseries", str(export), "--by", "id", "--every", "1s", *zone]
    assert invoke(*args, "--format", "json") == (
        2,
        "",
        "mfq: error: the time series would have 6,250,000 rows (2,500 buckets × 2,500"
        " series), more than 5,000,000: keep the largest series with --top N, or use wider"
        " buckets with --every\n",
    )
    code, out, _err = invoke(*args, "--top", "3", "--format", "json")
    rows = json.loads(out)
    assert (code, len(rows)) == (0, 2500 * 4)
    assert sum(row["count"] for row in rows) == 2500
