"""``changes``: exact first/last seen and bad ratios before and after on generated
rollouts and rollbacks, per group; markers; the demo's checkout 2.4.1 rollout and
rollback; anomalies that say which change they began after; the command's output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from mfq.analysis.change_notes import preceding_change, with_changes
from mfq.analysis.changes import change_columns
from mfq.api import Selection, Store
from mfq.cli.main import cli
from tests.analysis.conftest import DemoStore


def _at(minute: int) -> str:
    return f"2026-11-03T10:{minute:02d}:00Z"


def _events() -> list[dict[str, object]]:
    """Service a in eu: version 1 for minutes 0-19 (errors at 5 and 15), then version 2
    for minutes 20-39 (errors at every even minute), announced by a deploy event at 20.
    Service a in us: version 1 for minutes 0-9 and 20-29, version 2 for 10-19 (errors at
    10-14): rolled back. Service b in eu: version 7 throughout."""
    rows: list[dict[str, object]] = []

    def add(minute: int, service: str, region: str, version: str, error: bool) -> None:
        rows.append(
            {
                "id": f"e{len(rows)}",
                "type": "request",
                "timestamp": _at(minute),
                "service": service,
                "region": region,
                "version": version,
                "status": "error" if error else "ok",
            }
        )

    for minute in range(20):
        add(minute, "a", "eu", "1", minute in (5, 15))
    for minute in range(20, 40):
        add(minute, "a", "eu", "2", minute % 2 == 0)
    for minute in range(30):
        version = "2" if 10 <= minute < 20 else "1"
        add(minute, "a", "us", version, 10 <= minute < 15)
    for minute in range(40):
        add(minute, "b", "eu", "7", False)
    rows.append(
        {
            "id": "deploy-1",
            "type": "deploy",
            "timestamp": _at(20),
            "service": "a",
            "region": "eu",
            "version": "2",
        }
    )
    return rows


@pytest.fixture
def release_store(store: Store, write_ndjson: Callable[..., Path]) -> Store:
    store.ingest([write_ndjson(_events())])
    return store


def _rows(frame: pd.DataFrame) -> dict[tuple[str, str, str, str], dict[str, object]]:
    return {
        (row["service"], row["region"], row["version"], row["kind"]): row
        for row in frame.to_dict("records")
    }


def test_rollout_rollback_retired_and_steady_exactly(release_store: Store) -> None:
    result = release_store.changes(markers="type = 'deploy'")
    assert list(result.columns) == change_columns("version", ["service", "region"])
    rows = _rows(result)
    assert set(rows) == {
        ("a", "eu", "1", "retired"),
        ("a", "eu", "2", "rollout"),
        ("a", "eu", "2", "marker"),
        ("a", "us", "1", "steady"),
        ("a", "us", "2", "rollback"),
        ("b", "eu", "7", "steady"),
    }
    rollout = rows["a", "eu", "2", "rollout"]
    assert (rollout["first_seen"], rollout["last_seen"]) == (
        pd.Timestamp(_at(20)),
        pd.Timestamp(_at(39)),
    )
    assert rollout["previous"] == "1"
    # Before: version 1's events in the 19 minutes before 10:20 (minutes 1-19, errors at
    # 5 and 15); after: version 2's 20 events, 10 of them errors.
    assert (rollout["events_before"], rollout["bad_before"]) == (19, 2)
    assert rollout["bad_ratio_before"] == pytest.approx(2 / 19, abs=1e-6)
    assert (rollout["events_after"], rollout["bad_after"]) == (20, 10)
    assert rollout["bad_ratio_after"] == 0.5
    assert rollout["shift"] == "worse"
    rollback = rows["a", "us", "2", "rollback"]
    assert (rollback["first_seen"], rollback["last_seen"]) == (
        pd.Timestamp(_at(10)),
        pd.Timestamp(_at(19)),
    )
    assert (rollback["events_before"], rollback["bad_before"]) == (9, 0)  # minutes 1-9
    assert (rollback["events_after"], rollback["bad_after"]) == (10, 5)
    marker = rows["a", "eu", "2", "marker"]
    assert marker["first_seen"] == pd.Timestamp(_at(20))
    # The hour either side: version 1's 20 events (2 errors), version 2's 20 (10).
    assert (marker["events_before"], marker["bad_before"]) == (20, 2)
    assert (marker["events_after"], marker["bad_after"]) == (20, 10)
    steady = rows["b", "eu", "7", "steady"]
    assert steady["events"] == 40 and pd.isna(steady["previous"])


def test_the_deploy_event_is_not_counted_as_a_version_event(release_store: Store) -> None:
    rows = _rows(release_store.changes(markers="type = 'deploy'"))
    assert rows["a", "eu", "2", "rollout"]["events"] == 20
    without = _rows(release_store.changes())
    assert without["a", "eu", "2", "rollout"]["events"] == 21  # the deploy event itself


def test_by_one_field_and_a_custom_bad(release_store: Store) -> None:
    result = release_store.changes(
        Selection(where="type = 'request'"), by=["service"], bad="status = 'ok'"
    )
    assert list(result.columns)[:2] == ["service", "version"]
    a = result[(result["service"] == "a") & (result["version"] == "2")].iloc[0]
    # Version 2 of a arrives at 10:10 in us; version 1 stays in eu all along: no vanishing.
    assert a["kind"] == "rollout"
    assert a["first_seen"] == pd.Timestamp(_at(10))


def test_preceding_change_and_its_words(release_store: Store) -> None:
    found = release_store.changes()
    at = pd.Timestamp("2026-11-03T11:05:00Z")
    change = preceding_change(found, "version", at, ["us"])
    assert change is not None and change["kind"] == "rollback"
    assert preceding_change(found, "version", at, ["nowhere"]) is None
    anomalies = pd.DataFrame({"time": [at], "region": ["eu"]})
    annotated = with_changes(
        release_store, anomalies, ["region"], Selection(since="2026-11-03T10:00Z")
    )
    assert list(annotated["after_change"]) == ["45m after version 2 arrived in a eu"]


def test_unknown_field_and_field_among_by(release_store: Store) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["changes", "--store", str(release_store.root), "--field", "verison"]
    )
    assert result.exit_code == 2
    assert "did you mean 'version'" in result.stderr
    result = runner.invoke(cli, ["changes", "--store", str(release_store.root), "--by", "version"])
    assert result.exit_code == 2
    assert result.stderr == "mfq: error: --by: 'version' is the field whose changes are listed\n"


def test_the_command(release_store: Store) -> None:
    runner = CliRunner()
    args = ["changes", "--store", str(release_store.root)]
    result = runner.invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["service"], r["region"], r["version"], r["kind"]) for r in rows] == [
        ("a", "us", "2", "rollback"),
        ("a", "eu", "2", "rollout"),
    ]
    assert rows[0]["first_seen"] == "2026-11-03T10:10:00Z"
    table = runner.invoke(cli, args)
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split() == [
        "where",
        "version",
        "kind",
        "arrived",
        "left",
        "before",
        "after",
        "shift",
    ]
    assert lines[3].split() == [
        "a",
        "us",
        "2",
        "rollback",
        "11-03",
        "10:10",
        "10:19",
        "0.0%",
        "50.0%",
        "—",
    ]  # 0 of 9 against 5 of 10: not at 99%
    everything = runner.invoke(cli, [*args, "--all", "--format", "json"])
    assert len(json.loads(everything.stdout)) == 5


def test_the_demo_rollout_and_rollback_are_found(incident_store: DemoStore) -> None:
    store = incident_store.store
    result = store.changes()
    checkout = result[(result["service"] == "checkout") & (result["version"] == "2.4.1")]
    kinds = dict(zip(checkout["region"], checkout["kind"], strict=True))
    assert kinds["eu-west-1"] == "rollback"
    assert kinds["us-east-1"] == "rollout"
    row = checkout[checkout["region"] == "eu-west-1"].iloc[0]
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    [(first, last, events, errors)] = duckdb.sql(
        f"SELECT min(timestamp), max(timestamp), count(*), count(*) FILTER (status = 'error') "
        f"FROM read_parquet({files!r}, union_by_name=true) WHERE service = 'checkout' "
        "AND region = 'eu-west-1' AND version = '2.4.1'"
    ).fetchall()[0:1]
    assert row["first_seen"] == pd.Timestamp(first)
    assert row["last_seen"] == pd.Timestamp(last)
    assert (row["events_after"], row["bad_after"]) == (events, errors)
    # Arrived about 12:14 on 11-19 and gone about 16:59, with far more errors after.
    assert row["first_seen"].floor("h") == pd.Timestamp("2026-11-19T12:00Z")
    assert row["last_seen"].floor("h") == pd.Timestamp("2026-11-19T16:00Z")
    assert row["shift"] == "worse" and row["bad_ratio_after"] > 10 * row["bad_ratio_before"]


def test_demo_anomalies_name_the_rollout(incident_store: DemoStore) -> None:
    args = ["anomalies", "--store", str(incident_store.store.root), "--format", "json"]
    args += ["--where", "status = 'error'", "--by", "region", "--every", "1h"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    eu = [row for row in rows if row["region"] == "eu-west-1"]
    assert eu and all(
        "version 2.4.1 arrived in checkout eu-west-1" in r["after_change"] for r in eu
    )
    plain = CliRunner().invoke(cli, [*args, "--no-changes"])
    assert "after_change" not in json.loads(plain.stdout)[0]


def test_the_changes_a_chart_names(release_store: Store) -> None:
    from mfq.analysis.change_notes import notable_changes

    assert notable_changes(release_store, Selection(where="type = 'request'")) == [
        "version 2 arrived in a us at 2026-11-03 10:10 UTC, rolled back at 2026-11-03 10:19 UTC",
        "version 2 arrived in a eu at 2026-11-03 10:20 UTC, errors 10.5% before, 50.0% after",
    ]
    assert notable_changes(release_store, Selection(where="service = 'b'")) == []
