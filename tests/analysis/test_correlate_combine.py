"""``correlate --combine``: a planted interaction ranks first with its exact score; with
none planted, no combination outranks the single values; the demo's version and region."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.analysis.correlate import COLUMNS
from mfq.api import Selection, Store
from mfq.cli.main import cli
from tests.analysis.conftest import DemoStore


def _cells(cells: list[tuple[str, str, int, int]]) -> list[dict[str, object]]:
    """``(version, region, events, failures)`` cells, each spread over three tiers."""
    rows: list[dict[str, object]] = []
    for version, region, events, failures in cells:
        for index in range(events):
            rows.append(
                {
                    "id": f"e{len(rows)}",
                    "type": "request",
                    "timestamp": f"2026-11-03T{len(rows) // 3600 % 24:02d}:"
                    f"{len(rows) // 60 % 60:02d}:{len(rows) % 60:02d}Z",
                    "version": version,
                    "region": region,
                    "tier": "abc"[index % 3],
                    "status": "error" if index < failures else "ok",
                }
            )
    return rows


#: Version 2 fails 30% in eu and 2% elsewhere; everything else fails 2%.
PLANTED = [("2", "eu", 200, 60), ("2", "us", 800, 16), ("1", "eu", 800, 16), ("1", "us", 800, 16)]
#: Version 2 fails 20% in both regions; version 1 2%.
SINGLE = [("2", "eu", 500, 100), ("2", "us", 500, 100), ("1", "eu", 500, 10), ("1", "us", 500, 10)]


@pytest.fixture
def make_store(store: Store, write_ndjson: Callable[..., Path]) -> Callable[..., Store]:
    def make(cells: list[tuple[str, str, int, int]]) -> Store:
        store.ingest([write_ndjson(_cells(cells))])
        return store

    return make


def _score(sel: int, n_sel: int, base: int, n_base: int) -> float:
    p_s, p_b = sel / n_sel, base / n_base
    return p_s - p_b - 2.5758 * math.sqrt(p_s * (1 - p_s) / n_sel + p_b * (1 - p_b) / n_base)


def test_a_planted_interaction_ranks_first(make_store: Callable[..., Store]) -> None:
    store = make_store(PLANTED)
    result = store.correlate(Selection(where="status = 'error'"), combine=2)
    assert list(result.columns) == COLUMNS
    top = result.iloc[0]
    assert (top["field"], top["value"], top["kind"]) == ("region, version", "eu, 2", "interaction")
    # 108 failures (60 of them version 2 in eu) against 2,492 other events (140 of them).
    assert (top["selection_count"], top["baseline_count"]) == (60, 140)
    assert top["score"] == pytest.approx(_score(60, 108, 140, 2492), abs=1e-6)
    singles = result[result["kind"] == "explains"]
    assert list(zip(singles["field"], singles["value"], strict=True))[:2] == [
        ("region", "eu"),
        ("version", "2"),
    ]


def test_without_a_planted_interaction_no_combination_outranks_the_singles(
    make_store: Callable[..., Store],
) -> None:
    store = make_store(SINGLE)
    result = store.correlate(Selection(where="status = 'error'"), combine=3)
    assert set(result["kind"]) <= {"explains", "symptom"}
    assert (result.iloc[0]["field"], result.iloc[0]["value"]) == ("version", "2")
    assert result.equals(store.correlate(Selection(where="status = 'error'")))


def test_combine_needs_2_or_3_and_no_metric(make_store: Callable[..., Store]) -> None:
    store = make_store(SINGLE)
    runner = CliRunner()
    base = ["correlate", "--store", str(store.root), "--where", "status = 'error'"]
    result = runner.invoke(cli, [*base, "--combine", "4"])
    assert result.exit_code == 2
    assert "--combine" in result.stderr
    result = runner.invoke(cli, [*base, "--combine", "2", "--metric", "tier"])
    assert result.exit_code == 2
    assert result.stderr == (
        "mfq: error: --combine ranks values by over-representation: drop --metric\n"
    )


def test_the_command_lists_the_interaction(make_store: Callable[..., Store]) -> None:
    store = make_store(PLANTED)
    args = ["correlate", "--store", str(store.root), "--where", "status = 'error'"]
    result = CliRunner().invoke(cli, [*args, "--combine", "2", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout)[0]
    assert (first["field"], first["value"], first["kind"]) == (
        "region, version",
        "eu, 2",
        "interaction",
    )


def test_the_demo_errors_come_from_version_and_region_together(incident_store: DemoStore) -> None:
    result = incident_store.store.correlate(
        Selection(where="service = 'checkout' and status = 'error'"), combine=2
    )
    top = result.iloc[0]
    assert (top["field"], top["value"], top["kind"]) == (
        "version, region",
        "2.4.1, eu-west-1",
        "interaction",
    )
