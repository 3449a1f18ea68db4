"""``timeseries --top`` folds the smaller series in a copy of their key: an aggregate or
the buckets reading that same field still see its own values (``--by x --agg
'sum(x)'`` and ``--by timestamp`` were internal errors: OTHER written into the column
the sum and the buckets read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import mfq
from mfq.cli.main import cli

_EVENTS = [
    {"id": "a", "timestamp": "2026-01-01T00:00:00Z", "type": "t", "x": 5},
    {"id": "b", "timestamp": "2026-01-01T00:10:00Z", "type": "t", "x": 5},
    {"id": "c", "timestamp": "2026-01-01T00:20:00Z", "type": "u", "x": 2},
    {"id": "d", "timestamp": "2026-01-01T00:20:00Z", "type": "u", "x": 3},
]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "e.ndjson"
    path.write_text("".join(json.dumps(event) + "\n" for event in _EVENTS))
    return path


@pytest.mark.parametrize("tz", [None, "UTC"])
def test_a_series_key_that_an_aggregate_sums_is_folded_apart(
    tmp_path: Path, export: Path, tz: str | None
) -> None:
    store = mfq.open_store(tmp_path / "s")
    store.ingest([export])
    frame = store.timeseries(every="10m", by="x", top=1, aggs=["sum(x)", "count"], tz=tz)
    rows = [
        (str(r["x"]), None if r["sum(x)"] != r["sum(x)"] else r["sum(x)"], r["count"])
        for r in frame.to_dict("records")
    ]
    # Series 5 (two events) is kept; 2 and 3 fold into OTHER, their sums their own x.
    assert rows == [
        ("5", 5, 1),
        ("OTHER", None, 0),
        ("5", 5, 1),
        ("OTHER", None, 0),
        ("5", None, 0),
        ("OTHER", 5, 2),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--by", "x", "--top", "1", "--agg", "sum(x)"],
        ["--by", "timestamp", "--top", "1"],
        ["--by", "x", "--by", "type", "--top", "1", "--agg", "max(x)"],
    ],
)
def test_a_folded_key_read_elsewhere_answers_alike_on_the_file_and_the_store(
    tmp_path: Path, export: Path, args: list[str]
) -> None:
    runner = CliRunner()
    store = str(tmp_path / "s")
    assert runner.invoke(cli, ["ingest", "--store", store, str(export)]).exit_code == 0
    common = ["timeseries", "--every", "10m", "--format", "json", *args]
    on_store = runner.invoke(cli, [*common, "--store", store])
    on_file = runner.invoke(cli, [*common, str(export)])
    assert on_store.exit_code == 0, on_store.output
    assert on_file.exit_code == 0, on_file.output
    rows = json.loads(on_store.stdout)
    assert rows == json.loads(on_file.stdout)
    key = args[1]
    assert {str(row[key]) for row in rows} >= {"OTHER"}
    assert len(rows) == 6  # three buckets, one kept series and OTHER
