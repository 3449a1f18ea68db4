"""``anomalies``: the planted incident flagged and nothing else, quiet on steady data,
planted spikes and drops in hand-built series found, and the statistics pinned."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mfq.analysis import anomalies as anomalies_module
from mfq.analysis.anomalies import NEIGHBOURS, _median_polish, _neighbour_fit, _poisson_z
from mfq.api import Selection, Store
from mfq.cli.main import cli
from tests.analysis.conftest import DemoStore

INCIDENT_START = pd.Timestamp("2026-11-19T14:00Z")
INCIDENT_END = pd.Timestamp("2026-11-19T15:30Z")
INVOCATIONS: list[dict[str, object]] = [
    {"where": "status = 'error'"},
    {"by": "service"},
    {"by": "region", "where": "status = 'error'", "every": "1h"},
    {"by": "service", "every": "30m"},
]


def _anomalies(store: Store, options: dict[str, Any], *, include_all: bool = False) -> pd.DataFrame:
    """``store.anomalies`` with an invocation's ``where`` as its selection."""
    own = {k: v for k, v in options.items() if k != "where"}
    selection = Selection(where=options.get("where", ()))
    return store.anomalies(selection, include_all=include_all, **own)


@pytest.mark.parametrize("options", INVOCATIONS, ids=lambda o: ",".join(map(str, o.values())))
def test_incident_flagged_and_nothing_else(incident_store: DemoStore, options: dict) -> None:
    result = _anomalies(incident_store.store, options)
    assert len(result) >= 1
    width = pd.Timedelta(str(options.get("every", "3h")))
    for row in result.itertuples():
        # Every flagged bucket overlaps the incident window, and goes up.
        assert row.time < INCIDENT_END and row.time + width > INCIDENT_START, row
        assert row.direction == "up"
    if "by" in options:
        assert set(result[str(options["by"])]) <= {"checkout", "eu-west-1"}


def test_quiet_on_steady_data(quiet_store: DemoStore) -> None:
    flagged = tested = 0
    for options in [*INVOCATIONS, {"by": "type", "every": "1h"}, {"every": "5m"}]:
        everything = _anomalies(quiet_store.store, options, include_all=True)
        tested += int(everything["score"].notna().sum())
        flagged += len(_anomalies(quiet_store.store, options))
    assert tested > 10_000
    assert flagged / tested < 1e-4


def _cycle_events(day_count: int, spike: tuple[int, int], dip: tuple[int, int]) -> list[dict]:
    """Hourly counts following a daily cycle (40 at night to 120 at noon), with one hour
    tripled (``spike``: day, hour) and one hour empty (``dip``)."""
    start = datetime(2026, 11, 2, tzinfo=UTC)
    rows: list[dict] = []
    for day in range(day_count):
        for hour in range(24):
            count = round(80 - 40 * math.cos(2 * math.pi * hour / 24))
            if (day, hour) == spike:
                count *= 3
            if (day, hour) == dip:
                count = 0
            for i in range(count):
                moment = start + timedelta(days=day, hours=hour, seconds=i * 3600 / count)
                rows.append(
                    {
                        "id": f"{day}-{hour}-{i}",
                        "type": "page.viewed",
                        "timestamp": moment.isoformat().replace("+00:00", "Z"),
                    }
                )
    return rows


def test_planted_spike_and_dip(store: Store, write_ndjson: Callable[..., Path]) -> None:
    store.ingest([write_ndjson(_cycle_events(6, spike=(2, 3), dip=(4, 12)))])
    result = store.anomalies(Selection(since="2026-11-02", until="2026-11-08"), every="1h")
    assert [(str(r.time), r.direction) for r in result.itertuples()] == [
        ("2026-11-04 03:00:00+00:00", "up"),
        ("2026-11-06 12:00:00+00:00", "down"),
    ]
    spike = result.iloc[0]
    night = round(80 - 40 * math.cos(2 * math.pi * 3 / 24))
    assert spike["value"] == 3 * night
    assert spike["expected"] == pytest.approx(night, rel=0.02)
    # A perfectly regular cycle is never flagged: the same data without the planted hours.


def test_regular_cycle_is_quiet(store: Store, write_ndjson: Callable[..., Path]) -> None:
    store.ingest([write_ndjson(_cycle_events(5, spike=(-1, -1), dip=(-1, -1)))])
    assert store.anomalies(Selection(since="2026-11-02", until="2026-11-07"), every="1h").empty


def test_poisson_score_is_the_exact_tail() -> None:
    # P(X <= 0 | 6.765) = exp(-6.765): its normal score.
    assert _poisson_z(0, 6.765) == pytest.approx(NormalDist().inv_cdf(math.exp(-6.765)))
    # P(X >= 3 | 1) = 1 - e^-1 (1 + 1 + 1/2).
    upper = 1 - math.exp(-1) * 2.5
    assert _poisson_z(3, 1.0) == pytest.approx(-NormalDist().inv_cdf(upper))
    assert _poisson_z(5, 5.0) == 0.0  # the middle is not a tail
    assert _poisson_z(900, 50.0) > 30  # far tails do not round to nothing


def test_median_polish_recovers_an_additive_grid() -> None:
    rows, cols = np.array([0.0, 1.0, -2.0, 0.5]), np.array([3.0, -1.0, 0.0, 2.0, 1.0])
    grid = 10.0 + rows[:, None] + cols[None, :]
    level, row_effect, col_effect = _median_polish(grid)
    fitted = level + row_effect[:, None] + col_effect[None, :]
    assert np.allclose(fitted, grid)
    grid[1, 2] += 50.0  # one outlier moves no effect
    level2, row2, col2 = _median_polish(grid)
    assert np.allclose(level2 + row2[:, None] + col2[None, :], fitted)


def _neighbour_fit_by_bucket(scaled: np.ndarray) -> np.ndarray:
    """The neighbour fit as it was first written: one median per bucket."""
    fit = np.full_like(scaled, np.nan)
    for index in range(len(scaled)):
        low, high = max(0, index - NEIGHBOURS), min(len(scaled), index + NEIGHBOURS + 1)
        around = np.concatenate([scaled[low:index], scaled[index + 1 : high]])
        around = around[np.isfinite(around)]
        if len(around):
            fit[index] = float(np.median(around))
    return fit


def test_neighbour_fit_is_the_per_bucket_median_to_the_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(17)
    choices = [0.0, 1.0, math.log1p(3.0), 2.5, -0.75, math.nan, math.inf, -math.inf]
    series = [rng.choice(choices, size=int(rng.integers(0, 40))) for _ in range(300)]
    series += [rng.normal(size=100), np.full(5, math.nan)]
    expected = [_neighbour_fit_by_bucket(values) for values in series]
    monkeypatch.setattr(anomalies_module, "_FIT_BLOCK", 7)  # blocks end mid-series
    for values, want in zip(series, expected, strict=True):
        assert _neighbour_fit(values).tobytes() == want.tobytes()


def test_neighbour_fit_of_a_wide_window_takes_no_median_per_bucket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 30 years of weekly buckets around one week of data (a report over a wide window):
    # the fit worked one numpy.median call per bucket, 1,565 of them per series.
    values = np.zeros(1565)
    values[1400] = math.log1p(12.0)
    calls = []
    real_median = np.median

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real_median(*args, **kwargs)

    monkeypatch.setattr(np, "median", counted)
    fit = _neighbour_fit(values)
    assert calls == []
    assert fit[1400] == 0.0 and fit[1401] == 0.0 and not fit.any()


def test_cli(incident_store: DemoStore) -> None:
    runner = CliRunner()
    base = ["anomalies", "--store", str(incident_store.store.root)]
    result = runner.invoke(
        cli, [*base, "--where", "status = 'error'", "--by", "region", "--every", "1h"]
    )
    assert result.exit_code == 0, result.output
    assert "eu-west-1" in result.stdout and "up" in result.stdout
    as_json = runner.invoke(cli, [*base, "--where", "status = 'error'", "--format", "json"])
    assert as_json.stdout.startswith('[\n  {"time": "2026-11-19T12:00:00Z"')
    bad = runner.invoke(cli, [*base, "--threshold", "0"])
    assert bad.exit_code == 2 and "--threshold" in bad.stderr
    two = runner.invoke(cli, [*base, "--agg", "count as a, p95(duration_ms)"])
    assert two.exit_code == 2
