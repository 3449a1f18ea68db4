"""The examples in examples/ do what examples/README.md says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mfq
from tests.conftest import REPO

EXPORTS = REPO / "examples" / "exports"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("collector-messages.ndjson", (3, 3, 0, 0)),
        ("rest-bodies.json", (2, 2, 0, 0)),
        ("wide-events.ndjson", (3, 3, 0, 0)),
        ("envelope.json", (3, 3, 0, 0)),
        ("messy.ndjson", (10, 3, 1, 6)),
        ("otlp-traces.json", (5, 5, 0, 0)),
    ],
)
def test_each_example_export_ingests_as_documented(
    tmp_path: Path, name: str, expected: tuple[int, int, int, int]
) -> None:
    summary = mfq.open_store(tmp_path / "s").ingest([EXPORTS / name])
    assert (summary.read, summary.ingested, summary.duplicates, summary.rejected) == expected


def test_messy_example_has_every_reject_reason_and_keeps_secrets_out(tmp_path: Path) -> None:
    store = mfq.open_store(tmp_path / "s")
    summary = store.ingest([EXPORTS / "messy.ndjson"])
    assert set(summary.rejects_by_reason) == {
        "not_json",
        "not_object",
        "missing_type",
        "missing_timestamp",
        "bad_timestamp",
        "bad_field",
    }
    assert (summary.redacted, summary.naive_timestamps) == (1, 2)
    schema = store.schema().set_index("field")
    assert schema.loc["api_key", "top_values"] == ["[redacted] (1)"]
    assert bool(schema.loc["order_id", "mixed"])


def test_wide_events_convert_units_and_times(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    store = mfq.open_store(tmp_path / "s")
    store.ingest([EXPORTS / "wide-events.ndjson"])
    rows = {}
    for f in store.catalog.files("events"):
        for row in pq.read_table(store.root / f.path).to_pylist():
            rows[row["id"]] = row
    assert [rows[i]["duration_ms"] for i in ("w-1", "w-2", "w-3")] == [812.5, 3200.0, 45.0]
    assert rows["w-1"]["timestamp"].isoformat() == "2023-02-08T17:13:26.123000+00:00"
    assert rows["w-2"]["severity"] == "error" and rows["w-2"]["error.code"] == "db_pool_exhausted"
    assert rows["w-1"]["feature_flags"] == '["fast-pay","new-cart"]'


def test_api_example_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "api.py"), str(tmp_path / "s")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "read 26: 19 ingested, 1 duplicates, 6 rejected"
    assert "mixed-type fields: order_id" in result.stdout


def test_the_example_project_file_answers_on_the_demo_store(tmp_path: Path) -> None:
    """Every saved question of examples/mfq.toml runs on a demo store, and the report adds
    its two sections."""
    from click.testing import CliRunner

    from mfq.cli.main import cli
    from mfq.demo import DemoConfig, write_export
    from mfq.project import load_project

    config = REPO / "examples" / "mfq.toml"
    export = tmp_path / "demo.ndjson"
    write_export(export, DemoConfig(events=3000, seed=3))
    store = str(tmp_path / "s")
    with mfq.open_store(store) as opened:
        opened.ingest([export])
    project = load_project(config)
    assert list(project.questions) == ["errors-by-hour", "slow-families", "latency-bands", "gate"]
    for name in project.questions:
        args = ["--config", str(config), "run", name, "--store", store, "--now", "2026-11-20"]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, (name, result.stderr)
        assert result.stdout.strip(), name
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "--store", store])
    assert result.exit_code == 0, result.stderr
    assert "## Failed requests by hour of day" in result.stdout
    assert "## Slow events by event family" in result.stdout
