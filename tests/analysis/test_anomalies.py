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
from mfq.analysis.anomalies import (
    NEIGHBOURS,
    _median_polish,
    _neighbour_fit,
    _normal_z,
    _poisson_z,
)
from mfq.api import Selection, Store
from mfq.cli.main import cli
from tests.analysis.conftest import DemoStore
from tests.stationary import one_second_burst

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


# -- the observed span: buckets the data never covered are not observations -----------------

#: A one-second export (like the 50 GitHub events of ``real/gharchive``): twelve
#: repositories, two of them with two events.
BURST = one_second_burst("repo")
BURST_NOTE = (
    "events were recorded only from 2024-01-01 15:00:00 to 2024-01-01 15:00:00.130 (UTC) in"
    " the period asked for: the time before and after was not checked for anomalies, so a"
    " stop of the data after the last event is not reported"
)
THIRTY_YEARS = Selection(since="2000-01-01", until="2030-01-01")


def test_a_wide_window_claims_nothing_from_the_years_around_the_data(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # The two repositories with two events scored 4.79 (2 against 0 expected) before:
    # 1,565 weeks of zeros made their mean rate tiny.
    store.ingest([write_ndjson(BURST)])
    result = store.anomalies(THIRTY_YEARS, by="repo", every="7d")
    assert result.empty
    assert result.notes == (BURST_NOTE,)
    first, last = result.summary["observed_first"], result.summary["observed_last"]
    assert (str(first), str(last)) == (
        "2024-01-01 15:00:00+00:00",
        "2024-01-01 15:00:00.130000+00:00",
    )
    # Only the week of the data is scored, and it is the edge of the observed span.
    everything = store.anomalies(THIRTY_YEARS, by="repo", every="7d", include_all=True)
    assert set(everything["time"].astype(str)) == {"2023-12-28 00:00:00+00:00"}
    assert everything["score"].isna().all()
    # A time range without events observes nothing (it was a series of zeros).
    empty = Selection(since="2020-01-01", until="2020-02-01")
    for by in (None, "repo"):
        nothing = store.anomalies(empty, by=by, every="1d", include_all=True)
        assert nothing.empty and nothing.notes == ()
    # A time range the data fills says nothing about it.
    assert (
        store.anomalies(Selection(since="2024-01-01T15:00Z", until="2024-01-01T15:00:01Z")).notes
        == ()
    )


def test_the_span_is_the_datas_whatever_the_filters(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # ``where`` picks a series; it does not say when the data was collected. A kind of
    # error first seen mid-week (30 in one hour, none before or after) is an incident; had
    # the span been that of the errors alone, that hour would be all there was, and
    # nothing would be flagged even over the data's own week.
    errors = [
        {
            "id": f"e{i}",
            "type": "checkout.failed",
            "status": "error",
            "timestamp": f"2026-11-05T14:{i:02d}:00Z",
        }
        for i in range(30)
    ]
    store.ingest([write_ndjson(_cycle_events(6, spike=(-1, -1), dip=(-1, -1)) + errors)])
    failing = "status = 'error'"
    for since, until in [("2026-11-02", "2026-11-08"), ("2026-10-01", "2027-01-01")]:
        result = store.anomalies(Selection(where=failing, since=since, until=until), every="1h")
        assert [(str(r.time), r.value, r.expected, r.score) for r in result.itertuples()] == [
            ("2026-11-05 14:00:00+00:00", 30.0, 0.0, 15.38)  # 19.99 over the quarter before
        ]
    assert result.summary["observed_first"] == pd.Timestamp("2026-11-02T00:00Z")


def test_a_planted_spike_scores_the_same_over_a_wider_window(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # Over a quarter or 30 years in hours, the empty days around the week bent the fit:
    # 21 buckets flagged, the spike at 6.88 and the dip at -11.95, and in weeks the
    # data's two weeks at 37.05. Now the answer is that of the data's own period.
    store.ingest([write_ndjson(_cycle_events(6, spike=(2, 3), dip=(4, 12)))])
    own = store.anomalies(Selection(since="2026-11-02", until="2026-11-08"), every="1h")
    assert [(str(r.time), r.value, r.expected, r.score) for r in own.itertuples()] == [
        ("2026-11-04 03:00:00+00:00", 156.0, 52.0, 11.58),
        ("2026-11-06 12:00:00+00:00", 0.0, 120.0, -15.25),
    ]
    assert own.notes == ()
    for since, until in [("2026-10-01", "2027-01-01"), ("2000-01-01", "2030-01-01")]:
        wide = store.anomalies(Selection(since=since, until=until), every="1h")
        pd.testing.assert_frame_equal(pd.DataFrame(wide), pd.DataFrame(own))
        assert wide.notes[0].startswith("events were recorded only from 2026-11-02 00:00:00 to ")
        # Every bucket as the question without a time range scores it (its ends are open).
        pd.testing.assert_frame_equal(
            pd.DataFrame(
                store.anomalies(Selection(since=since, until=until), every="1h", include_all=True)
            ),
            pd.DataFrame(store.anomalies(Selection(), every="1h", include_all=True)),
        )
    assert store.anomalies(THIRTY_YEARS).empty


def test_the_observed_span_note_in_table_and_json(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    path = write_ndjson(BURST)
    store.ingest([path])
    runner = CliRunner()
    window = ["--since", "2000-01-01", "--until", "2030-01-01", "--by", "repo", "--every", "7d"]
    outputs = {}
    for source in (["--store", str(store.root)], [str(path)]):
        for fmt in ("table", "json"):
            ran = runner.invoke(cli, ["anomalies", *source, *window, "--format", fmt])
            assert ran.exit_code == 0, ran.output
            outputs[source[0], fmt] = (ran.stdout, ran.stderr)
    assert outputs["--store", "json"] == ("[]\n", f"note: {BURST_NOTE}\n")
    assert outputs["--store", "table"][1] == f"no anomalies\nnote: {BURST_NOTE}\n"
    # The question on the file is the question on the store.
    assert outputs[str(path), "json"] == outputs["--store", "json"]
    assert outputs[str(path), "table"] == outputs["--store", "table"]


def test_a_spike_in_the_last_covered_bucket_is_flagged_a_dip_is_not(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # An export that lags the range by part of a bucket: its last covered hour may be
    # partly covered, which can only lower a count. A spike there is an incident (a cron
    # job over ``--last`` lost it until an event landed in the next hour: found in review);
    # a dip there may be the export's end, and is not flagged.
    spike = [
        e for e in _cycle_events(6, spike=(5, 14), dip=(-1, -1)) if e["timestamp"] < "2026-11-07T15"
    ]
    store.ingest([write_ndjson(spike)])
    since, until = "2026-11-02", "2026-11-08"
    flagged = store.anomalies(Selection(since=since, until=until), every="1h")
    assert [(str(r.time), r.direction) for r in flagged.itertuples()] == [
        ("2026-11-07 14:00:00+00:00", "up")
    ]
    assert flagged.notes[0].startswith("events were recorded only from 2026-11-02 00:00:00 to ")


def test_a_dip_in_the_last_covered_bucket_is_not_flagged(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    rows = _cycle_events(6, spike=(-1, -1), dip=(-1, -1))
    # The last covered hour holds its first five events only: the export's end.
    last = [e for e in rows if e["timestamp"] < "2026-11-07T14:02"]
    store.ingest([write_ndjson(last)])
    every = store.anomalies(
        Selection(since="2026-11-02", until="2026-11-08"), every="1h", include_all=True
    )
    assert str(every["time"].iloc[-1]) == "2026-11-07 14:00:00+00:00"
    assert every["value"].iloc[-1] < 10 and math.isnan(every["score"].iloc[-1])
    assert store.anomalies(Selection(since="2026-11-02", until="2026-11-08"), every="1h").empty


def test_day_buckets_over_a_range_across_a_change_of_clocks(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # A range over a whole year in New York days holds a 23-hour day (8 March) the data's
    # week does not: the buckets' width is that of the buckets the data covers, so the
    # week scores as without a range (the 23-hour width had replaced the daily model by
    # the neighbour fit, and flagged a weekend: found in review).
    store.ingest([write_ndjson(_cycle_events(6, spike=(2, 3), dip=(4, 12)))])
    options: dict[str, Any] = {"every": "1d", "tz": "America/New_York", "include_all": True}
    year = store.anomalies(Selection(since="2026-01-01", until="2026-12-31"), **options)
    alone = store.anomalies(Selection(), **options)
    pd.testing.assert_frame_equal(
        pd.DataFrame(year)[["time", "value", "expected"]],
        pd.DataFrame(alone)[["time", "value", "expected"]],
    )


def test_a_score_past_the_smallest_float_tail_keeps_growing() -> None:
    # Tails below 1e-300 were rounded to it: every larger count scored 37.05 (the demo's
    # 774 errors against 47.7 expected as much as 500 of them).
    scores = [_poisson_z(count, 47.699) for count in (500, 774, 2000)]
    assert 37.05 < scores[0] < scores[1] < scores[2]
    exact = -NormalDist().inv_cdf(math.exp(-689.9))
    assert _normal_z(-689.9) == pytest.approx(exact, rel=1e-12)
    # The asymptotic form takes over at -690 without a step (the two agree to 1e-6 there).
    assert _normal_z(-690.0 - 1e-9) == pytest.approx(_normal_z(-690.0 + 1e-9), rel=1e-6)
    assert _normal_z(-700.0) > _normal_z(-690.0 - 1e-9)
