"""``Store.slo`` and ``Store.slo_incidents``: planted outages with hand-computed numbers,
sampling weights, the demo's planted incident (and its absence), and DuckDB SQL over the
same Parquet files as the oracle for every count."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import NormalDist

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mfq
from mfq.analysis.burn import parse_alert
from mfq.analysis.slo import (
    DEFAULTS,
    INCIDENT_COLUMNS,
    SUMMARY_COLUMNS,
    Objective,
    bucket_spec,
    find_incidents,
    objective,
    wilson_lower_bound,
)
from mfq.api import Selection, SloRequest, Store
from mfq.demo import DemoConfig
from mfq.errors import UsageError
from mfq.query.expr import parse_filter
from mfq.query.spec import QueryKind, QuerySpec
from tests.demostores import INCIDENT_WEEK, demo_store
from tests.selection import selected

DAY = datetime(2026, 11, 3, tzinfo=UTC)
UNTIL = "2026-11-04T00:00:00Z"
# The planted day is judged at target 99 (a 1% budget) with the default alerts: 1h/5m over
# 14.4% bad, 6h/30m over 6%.
PLANTED = {"bad": "status = 'error'", "target": 99, "window": "1d"}


def _at(minute: int, second: int = 0) -> str:
    return (DAY + timedelta(minutes=minute, seconds=second)).isoformat().replace("+00:00", "Z")


def _planted_status(minute: int, k: int) -> str:
    """Four events a minute (k = 0..3) over one day; the failures planted:

    - A 10:00-10:30 every event fails (an outage of 30 minutes);
    - B 15:00-15:50 half the events fail (50 minutes);
    - C 18:00-18:10 and 18:15-18:25 every event fails, 5 calm minutes between (one
      outage of 25 minutes: a calm shorter than the 30m short window does not end it);
    - D 20:00-20:05 every event fails: 20 failures are 8% of the last hour (under the
      1h/5m line) but the last six hours hold 200 of 1440 (14%, over 6x), and so does
      the last half hour: the 6h/30m alert pages, at once;
    - E 21:00-21:10 two failures in each 5-minute bucket of 20 events: the last six
      hours are still over 6% (208 of 1440) but not the last half hour (4 of 120 is
      3.3%): nothing fires;
    - F 23:00-24:00 one failure every 10 minutes (the last hour: burn rate 2.5).
    """
    hour, within = divmod(minute, 60)
    if (
        10 * 60 <= minute < 10 * 60 + 30
        or 18 * 60 <= minute < 18 * 60 + 10
        or 18 * 60 + 15 <= minute < 18 * 60 + 25
        or 20 * 60 <= minute < 20 * 60 + 5
    ):
        return "error"
    if 15 * 60 <= minute < 15 * 60 + 50:
        return "error" if k < 2 else "ok"
    if hour == 21 and within < 10:
        return "error" if within % 5 == 0 and k < 2 else "ok"
    if hour == 23:
        return "error" if within % 10 == 0 and k == 0 else "ok"
    return "ok"


def _planted_records() -> Iterator[dict[str, object]]:
    for minute in range(24 * 60):
        for k in range(4):
            yield {
                "id": f"p-{minute}-{k}",
                "type": "request",
                "timestamp": _at(minute, 15 * k),
                "service": "api",
                "status": _planted_status(minute, k),
            }
    # Another service's failures, which --where leaves out.
    for minute in range(600, 630):
        yield {
            "id": f"other-{minute}",
            "type": "request",
            "timestamp": _at(minute),
            "service": "batch",
            "status": "error",
        }


def _write(path: Path, records: Iterator[dict[str, object]] | list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("slo-planted")
    store = mfq.open_store(root / "store")
    store.ingest([_write(root / "planted.ndjson", _planted_records())])
    return store


def _api(**options: object) -> dict[str, object]:
    return {"where": "service = 'api'", "until": UNTIL, **PLANTED, **options}


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# -- planted outages: every number by hand --------------------------------------------------


def test_planted_outages_give_exact_compliance_budget_burn_rates_and_mttr(
    planted: Store,
) -> None:
    bad = 120 + 100 + 80 + 20 + 4 + 6  # A + B + C + D + E + F
    events = 24 * 60 * 4
    row = planted.slo(**selected(_api())).iloc[0]
    assert list(planted.slo(**selected(_api())).columns) == list(SUMMARY_COLUMNS)
    assert row["objective"] == "bad: status = 'error'"
    assert row["target"] == 99.0
    assert (row["events"], row["bad"]) == (events, bad)
    assert row["compliance"] == pytest.approx(100 * (events - bad) / events)
    assert row["budget_remaining"] == pytest.approx(1 - (bad / events) / 0.01)
    assert row["burn_rate"] == pytest.approx((6 / 240) / 0.01)  # 2.5
    assert row["burn_rate_1d"] == pytest.approx((bad / events) / 0.01)  # the window is a day
    assert row["incidents"] == 4
    assert row["mttr_minutes"] == pytest.approx((30 + 50 + 25 + 5) / 4)
    assert row["mttd_minutes"] == pytest.approx((15 + 10 + 5 + 5) / 4)
    assert (row["window_start"], row["window_end"]) == (_utc("2026-11-03"), _utc("2026-11-04"))


def test_incidents_are_the_planted_outages_merged_and_filtered(planted: Store) -> None:
    incidents = planted.slo(incidents=True, **selected(_api()))
    assert list(incidents.columns) == list(INCIDENT_COLUMNS)
    times = ["10:00", "15:00", "18:00", "20:00"]
    expected = pd.DataFrame(
        {
            "start": [_utc(f"2026-11-03T{t}") for t in times],
            "end": [_utc(f"2026-11-03T{t}") for t in ("10:30", "15:50", "18:25", "20:05")],
            "minutes": [30.0, 50.0, 25.0, 5.0],
            "events": [120, 200, 100, 20],
            "bad": [120, 100, 80, 20],
            "peak_bad_ratio": [1.0, 0.5, 1.0, 1.0],
            # A: the hour reaches 14.4% with confidence after three buckets (60 of 240);
            # B: the 6h/30m alert once its half hour holds 20 failures of 120 (10 of 120
            # are not over 6% with confidence); C and D after one bucket.
            "detected": [_utc(f"2026-11-03T{t}") for t in ("10:15", "15:10", "18:05", "20:05")],
            "detect_minutes": [15.0, 10.0, 5.0, 5.0],
        }
    )
    pd.testing.assert_frame_equal(incidents, expected, check_dtype=False)


def test_the_alerts_are_options(planted: Store) -> None:
    incidents = planted.slo(incidents=True, **selected(_api(alerts=["1h/5m@14.4"])))
    # Without the 6h/30m pair: D never pages, B is found later, and C's 5-minute calm is
    # a whole short window, so C starts again at 18:15.
    assert [(str(r.start.time()), r.minutes, r.detect_minutes) for r in incidents.itertuples()] == [
        ("10:00:00", 30.0, 15.0),
        ("15:00:00", 50.0, 25.0),
        ("18:15:00", 10.0, 5.0),
    ]
    goal = objective(planted, SloRequest(**selected(_api(alerts="2h/10m@5x"))))
    assert [str(a) for a in goal.alerts] == ["2h/10m@5"]


def test_good_and_bad_are_two_views_of_one_objective(planted: Store) -> None:
    by_bad = planted.slo(**selected(_api()))
    by_good = planted.slo(**selected(_api(bad=None, good="status = 'ok'", name="api ok")))
    assert by_good.iloc[0]["objective"] == "api ok"
    columns = [c for c in SUMMARY_COLUMNS if c != "objective"]
    pd.testing.assert_frame_equal(by_bad[columns], by_good[columns])


def test_with_good_an_event_the_expression_cannot_judge_is_bad(store: Store) -> None:
    # count(EXPR) counts events where EXPR is true; null is not true. An event without a
    # status is therefore not good (with --good) and not bad (with --bad).
    records = [
        {"id": "1", "type": "t", "timestamp": "2026-11-03T10:00:00Z", "status": "ok"},
        {"id": "2", "type": "t", "timestamp": "2026-11-03T10:01:00Z", "status": "error"},
        {"id": "3", "type": "t", "timestamp": "2026-11-03T10:02:00Z"},
        {"id": "4", "type": "t", "timestamp": "2026-11-03T10:03:00Z", "status": "ok"},
    ]
    store.ingest([_write(store.root.parent / "nulls.ndjson", records)])
    window = {"until": "2026-11-03T11:00Z", "window": "1h"}
    assert store.slo(good="status = 'ok'", **selected(window)).iloc[0]["bad"] == 2
    assert store.slo(bad="status = 'error'", **selected(window)).iloc[0]["bad"] == 1


def test_since_overrides_the_start_and_clips_the_first_incident(planted: Store) -> None:
    row = planted.slo(**selected(_api(since="2026-11-03T10:15Z"))).iloc[0]
    assert row["window_start"] == _utc("2026-11-03T10:15")
    incidents = planted.slo(incidents=True, **selected(_api(since="2026-11-03T10:15Z")))
    first = incidents.iloc[0]
    assert (first["start"], first["end"], first["minutes"]) == (
        _utc("2026-11-03T10:15"),
        _utc("2026-11-03T10:30"),
        15.0,
    )
    assert first["events"] == 60  # only the window's part of the outage, 10:15-10:30
    assert row["mttr_minutes"] == pytest.approx((15 + 50 + 25 + 5) / 4)


@pytest.mark.parametrize(
    ("options", "start", "end"),
    [
        ({"until": UNTIL, "window": "1d"}, "2026-11-03", "2026-11-04"),
        ({"now": UNTIL, "window": "6h"}, "2026-11-03T18:00", "2026-11-04"),
        ({"now": UNTIL, "last": "2h"}, "2026-11-03T22:00", "2026-11-04"),
        (
            {"until": "2026-11-03T12:00Z", "since": "2026-11-03T09:00Z"},
            "2026-11-03T09:00",
            "2026-11-03T12:00",
        ),
        ({"now": UNTIL, "since": "3h"}, "2026-11-03T21:00", "2026-11-04"),
    ],
)
def test_the_window_ends_at_until_else_now_and_since_overrides_its_start(
    planted: Store, options: dict[str, str], start: str, end: str
) -> None:
    goal = objective(planted, SloRequest(**selected(options, bad="status = 'error'")))
    assert (goal.start, goal.end) == (_utc(start), _utc(end))


def test_the_window_defaults_to_28_days_before_now(planted: Store) -> None:
    goal = objective(planted, SloRequest(bad="status = 'error'"))
    assert goal.end - goal.start == timedelta(days=28)
    assert abs(goal.end - datetime.now(UTC)) < timedelta(minutes=1)
    assert goal.target == DEFAULTS.target
    assert [str(a) for a in goal.alerts] == ["1h/5m@14.4", "6h/30m@6"]


def test_a_window_without_events_has_no_ratios_and_no_incidents(planted: Store) -> None:
    row = planted.slo(Selection(until="2026-10-01T00:00Z"), bad="status = 'error'").iloc[0]
    assert (row["events"], row["bad"], row["incidents"]) == (0, 0, 0)
    for column in ("compliance", "budget_remaining", "burn_rate", "burn_rate_1d", "mttr_minutes"):
        assert math.isnan(row[column]), column
    assert planted.slo(
        Selection(until="2026-10-01T00:00Z"), bad="status = 'error'", incidents=True
    ).empty


def test_the_bucket_counts_are_one_timeseries_query_description(planted: Store) -> None:
    spec = bucket_spec(objective(planted, SloRequest(**selected(_api()))))
    assert spec.kind is QueryKind.TIMESERIES
    assert spec.every == timedelta(minutes=5)
    # Plain data: another engine can be handed the same description.
    assert QuerySpec.model_validate_json(spec.model_dump_json()) == spec
    series = planted.run(spec)
    assert len(series) == 24 * 12 and int(series["__events"].sum()) == 5760


# -- option mistakes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "give exactly one of --good EXPR or --bad EXPR"),
        (
            {"good": "status = 'ok'", "bad": "status = 'error'"},
            "give exactly one of --good EXPR or --bad EXPR",
        ),
        (
            {"bad": "status = 'error'", "target": 100},
            "--target: 100 is not a percentage between 0 and 100",
        ),
        (
            {"bad": "status = 'error'", "target": 0},
            "--target: 0 is not a percentage between 0 and 100",
        ),
        ({"bad": "status = 'error'", "target": "high"}, "--target: 'high' is not a number"),
        ({"bad": "status = 'error'", "target": "nan"}, "--target: 'nan' is not a finite number"),
        (
            {"bad": "status = 'error'", "alerts": "1h/5m@0"},
            "--alert 1h/5m@0: the burn rate must be a positive number",
        ),
        (
            {"bad": "status = 'error'", "target": 90, "alerts": "1h/5m@10"},
            "--alert 1h/5m@10: 10 times the error budget (10%) is 100% or more, so it could "
            "never fire: lower the rate",
        ),
        (
            {"bad": "status = 'error'", "alerts": "1h@14.4"},
            "--alert: bad alert '1h@14.4' (use LONG/SHORT@RATE, e.g. 1h/5m@14.4)",
        ),
        (
            {"bad": "status = 'error'", "alerts": "5m/1h@14.4"},
            "--alert 5m/1h@14.4: the short window is longer than the long one",
        ),
        (
            {"bad": "status = 'error'", "window": "forever"},
            "--window: bad duration 'forever' (use e.g. 15m, 24h, 7d)",
        ),
        (
            {"bad": "status = 'error'", "every": "0m"},
            "--every: bad duration '0m' (use e.g. 15m, 24h, 7d)",
        ),
        (
            {"bad": "status = 'error'", "alerts": "x/5m@2"},
            "--alert: bad duration 'x' (use e.g. 15m, 24h, 7d)",
        ),
        (
            {"bad": "status = 'error'", "every": "1s"},
            "--every 1s: more than 1,000,000 buckets in the window; use a wider bucket",
        ),
        (
            {"bad": "status = 'error'", "until": UNTIL, "since": "2026-11-05"},
            "the time range is empty: --since must be before --until",
        ),
        (
            {"bad": "status = 'error'", "now": UNTIL, "since": "2026-11-05"},
            "the time range is empty: --since must be before the window's end",
        ),
        (
            {"bad": "stauts = 'error'"},
            "--bad: bad expression at column 1: unknown field 'stauts' — did you mean 'status'?",
        ),
        (
            {"good": "status = "},
            "--good: bad expression at column 10: expected a value after '=', found the end",
        ),
    ],
)
def test_each_mistake_is_one_usage_error(
    planted: Store, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        planted.slo(**selected(options))
    assert str(caught.value) == message


# -- the confidence guard ---------------------------------------------------------------------


def test_wilson_lower_bound_is_the_root_of_the_score_equation_below_the_ratio() -> None:
    z = NormalDist().inv_cdf(0.975)
    bad = np.array([0.0, 1, 2, 3, 10, 50, 99, 20, 7])
    events = np.array([10.0, 1, 20, 40, 20, 100, 100, 20, 1000])
    lower = wilson_lower_bound(bad, events, 0.95)
    p_hat = bad / events
    for p, observed, n in zip(lower, p_hat, events, strict=True):
        assert p <= observed
        # Wilson's bound is where the score test just rejects: (p̂ - p)² = z² p (1 - p) / n.
        if observed > 0:
            assert (observed - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-9)
    assert lower[0] == 0.0  # nothing failed: no evidence of any failure ratio
    assert lower[7] == pytest.approx(20 / (20 + z * z))  # all failed: n / (n + z²)
    assert wilson_lower_bound(np.array([0.0]), np.array([0.0]), 0.95)[0] == 0.0


def test_a_bucket_over_the_line_by_chance_does_not_burn_but_a_real_one_does() -> None:
    # 2 of 20 (10%) is over a 5% line, but 2 of 20 happens often enough at 5%.
    two, six = wilson_lower_bound(np.array([2.0, 6.0]), np.array([20.0, 20.0]), 0.95)
    assert two < 0.05 < six


@settings(deadline=None)
@given(hot=st.lists(st.booleans(), min_size=1, max_size=80))
def test_incidents_are_apart_start_and_end_on_a_burn_and_cover_every_long_one(
    hot: list[bool],
) -> None:
    # Buckets of 100 events that all fail (burning) or none (calm), 5 minutes each.
    width = timedelta(minutes=5)
    goal = Objective(
        name="x",
        judge=parse_filter("status = 'error'"),
        judges_good=False,
        target=99.0,
        start=DAY,
        end=DAY + width * len(hot),
        where=(),
        every=width,
        alerts=tuple(parse_alert(a, 0.01) for a in DEFAULTS.alerts),
        unweighted=False,
    )
    buckets = pd.DataFrame(
        {
            "time": pd.date_range(DAY, periods=len(hot), freq=width),
            "events": 100,
            "bad": [100 if h else 0 for h in hot],
            "effective": 100.0,
        }
    )
    episodes = find_incidents(buckets, goal)
    bounds = list(zip(episodes["start"], episodes["end"], strict=True))
    first_bucket = {t: i for i, t in enumerate(buckets["time"])}
    for start, end in bounds:
        assert hot[first_bucket[start]] and hot[first_bucket[end - width]]
    for (_, end), (start, _) in itertools.pairwise(bounds):
        assert start >= end
    for start, detected in zip(episodes["start"], episodes["detected"], strict=True):
        assert detected > start
    # Three burning buckets in a row (300 of the hour's 1,200 events) always page.
    for index in range(len(hot) - 2):
        if all(hot[index : index + 3]):
            moment = buckets["time"][index + 2]
            assert any(start <= moment < end for start, end in bounds)
    assert episodes["bad"].sum() == 100 * sum(
        h for i, h in enumerate(hot) if any(s <= buckets["time"][i] < e for s, e in bounds)
    )


# -- sampling weights ---------------------------------------------------------------------------


def _sampled_records() -> list[dict[str, object]]:
    """10:00-10:10: per 5-minute bucket 100 ok events and one failure sampled 1 in 20
    (weighted: 20 bad of 120, 16.7%, over a 10% line; but the failures are one observed
    event each). 10:20-10:30: per bucket 10 ok and 10 failures sampled 1 in 5 (50 bad
    of 60 weighted: an outage however you count)."""
    records: list[dict[str, object]] = []
    for bucket in (0, 5):
        records += [
            {"id": f"ok-{bucket}-{i}", "timestamp": _at(600 + bucket, i), "status": "ok"}
            for i in range(100)
        ]
        records.append(
            {
                "id": f"bad-{bucket}",
                "timestamp": _at(600 + bucket, 59),
                "status": "error",
                "sample_rate": 20,
            }
        )
    for bucket in (20, 25):
        for i in range(10):
            records.append(
                {"id": f"o-{bucket}-{i}", "timestamp": _at(600 + bucket, i), "status": "ok"}
            )
            records.append(
                {
                    "id": f"e-{bucket}-{i}",
                    "timestamp": _at(600 + bucket, 30 + i),
                    "status": "error",
                    "sample_rate": 5,
                }
            )
    return [{"type": "request", **record} for record in records]


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("slo-sampled")
    store = mfq.open_store(root / "store")
    store.ingest([_write(root / "sampled.ndjson", _sampled_records())])
    return store


SAMPLED = {
    "bad": "status = 'error'",
    "target": 99,
    "alerts": "1h/5m@10",
    "until": "2026-11-03T11:00Z",
    "window": "1h",
}


def test_counts_weight_events_by_sample_rate(sampled: Store) -> None:
    row = sampled.slo(**selected(SAMPLED)).iloc[0]
    assert (row["events"], row["bad"]) == (2 * 120 + 2 * 60, 2 * 20 + 2 * 50)
    assert row["compliance"] == pytest.approx(100 * 220 / 360)
    unweighted = sampled.slo(**selected(SAMPLED, unweighted=True)).iloc[0]
    assert (unweighted["events"], unweighted["bad"]) == (2 * 101 + 2 * 20, 2 + 20)


def test_one_sampled_failure_is_one_observation_not_twenty(sampled: Store) -> None:
    # Kish's effective sample size of a 10:00 bucket: (100 + 20)² / (100 + 20²) = 28.8.
    z = NormalDist().inv_cdf(0.975)
    ratio, effective = 20 / 120, 120**2 / (100 + 20**2)
    centre = ratio + z * z / (2 * effective)
    spread = z * math.sqrt(ratio * (1 - ratio) / effective + z * z / (4 * effective**2))
    assert (centre - spread) / (1 + z * z / effective) < 0.10  # not over the 10% line
    # Counted as 120 observations it would be: the weights would fake the evidence.
    assert wilson_lower_bound(np.array([20.0]), np.array([120.0]), 0.95)[0] > 0.10
    incidents = sampled.slo(incidents=True, **selected(SAMPLED))
    assert [(r.start, r.end, r.events, r.bad) for r in incidents.itertuples()] == [
        (_utc("2026-11-03T10:20"), _utc("2026-11-03T10:30"), 120, 100)
    ]
    assert incidents.iloc[0]["peak_bad_ratio"] == pytest.approx(50 / 60)


# -- the demo's planted incident, and DuckDB as the oracle ---------------------------------------

DEMO_UNTIL = "2026-11-23T00:00:00Z"  # the end of the demo's week
CHECKOUT = {"where": "service = 'checkout'", "bad": "status = 'error'", "until": DEMO_UNTIL}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """200,000 demo events with the default incident (checkout 2.4.1 in eu-west-1 fails
    60% of the time 2026-11-19 14:00-15:30 UTC): the session's shared store."""
    return mfq.open_store(demo_store(tmp_path_factory, "incident", INCIDENT_WEEK)[0])


@pytest.fixture(scope="module")
def quiet_demo(tmp_path_factory: pytest.TempPathFactory) -> Store:
    config = DemoConfig(events=200_000, incident=None)
    return mfq.open_store(demo_store(tmp_path_factory, "quiet-seed-7", config)[0])


@pytest.mark.parametrize(
    "options",
    [
        {"target": 99},  # the documented invocation
        {},  # the defaults: target 99.5, the two alerts, 5m buckets, 28 days
    ],
    ids=["documented", "defaults"],
)
def test_the_demo_incident_is_exactly_one_episode_to_the_bucket(
    demo: Store, options: dict[str, object]
) -> None:
    incidents = demo.slo(incidents=True, **selected({**CHECKOUT, **options}))
    assert [(r.start, r.end) for r in incidents.itertuples()] == [
        (_utc("2026-11-19T14:00"), _utc("2026-11-19T15:30"))
    ]
    row = demo.slo(**selected({**CHECKOUT, **options})).iloc[0]
    assert (row["incidents"], row["mttr_minutes"]) == (1, 90.0)


def test_the_demo_without_an_incident_is_quiet(quiet_demo: Store) -> None:
    assert quiet_demo.slo(incidents=True, **selected(CHECKOUT)).empty
    assert quiet_demo.slo(target=99, incidents=True, **selected(CHECKOUT)).empty
    assert quiet_demo.slo(**selected(CHECKOUT)).iloc[0]["incidents"] == 0


def _duckdb(store: Store) -> Callable[[str], list[tuple[object, ...]]]:
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    events = (
        "(SELECT *, coalesce(sample_rate, 1) AS w, (status = 'error') IS TRUE AS failed "
        f"FROM read_parquet({files!r}, union_by_name=true) WHERE service = 'checkout')"
    )

    def sql(query: str) -> list[tuple[object, ...]]:
        return duckdb.sql(query.replace("EVENTS", events)).fetchall()

    return sql


def test_demo_numbers_match_duckdb_over_the_same_parquet(demo: Store) -> None:
    sql = _duckdb(demo)
    row = demo.slo(**selected(CHECKOUT)).iloc[0]
    allowed = 0.005

    def ratio(since: str) -> tuple[int, int]:
        [(events, bad)] = sql(
            "SELECT sum(w)::BIGINT, sum(CASE WHEN failed THEN w ELSE 0 END)::BIGINT FROM EVENTS "
            f"WHERE timestamp >= TIMESTAMPTZ '{since}' AND timestamp < TIMESTAMPTZ '{DEMO_UNTIL}'"
        )
        assert isinstance(events, int) and isinstance(bad, int)
        return events, bad

    events, bad = ratio("2026-10-26T00:00:00Z")
    assert (row["events"], row["bad"]) == (events, bad)
    assert row["compliance"] == pytest.approx(100 * (events - bad) / events, rel=1e-12)
    assert row["budget_remaining"] == pytest.approx(1 - bad / events / allowed, rel=1e-12)
    hour_events, hour_bad = ratio("2026-11-22T23:00:00Z")
    assert row["burn_rate"] == pytest.approx(hour_bad / hour_events / allowed, rel=1e-12)
    day_events, day_bad = ratio("2026-11-22T00:00:00Z")
    assert row["burn_rate_1d"] == pytest.approx(day_bad / day_events / allowed, rel=1e-12)


def test_demo_buckets_and_incident_match_duckdb(demo: Store) -> None:
    sql = _duckdb(demo)
    goal = objective(demo, SloRequest(**selected(CHECKOUT)))
    series = demo.run(bucket_spec(goal))
    ours = {
        int(t.value // 300_000_000_000): (int(e), int(b))
        for t, e, b in zip(series["time"], series["__events"], series["__judged"], strict=True)
        if e
    }
    theirs = {
        int(bucket): (int(e), int(b))
        for bucket, e, b in sql(
            "SELECT epoch_us(timestamp::TIMESTAMPTZ) // 300000000, sum(w), "
            "sum(CASE WHEN failed THEN w ELSE 0 END) FROM EVENTS GROUP BY 1"
        )
    }
    assert ours == theirs
    incident = demo.slo(incidents=True, **selected(CHECKOUT)).iloc[0]
    [(events, bad, peak)] = sql(
        "SELECT sum(events), sum(bad), max(bad / events) FROM ("
        "SELECT epoch_us(timestamp::TIMESTAMPTZ) // 300000000 AS bucket, sum(w) AS events, "
        "sum(CASE WHEN failed THEN w ELSE 0 END) AS bad FROM EVENTS "
        "WHERE timestamp >= TIMESTAMPTZ '2026-11-19T14:00:00Z' "
        "AND timestamp < TIMESTAMPTZ '2026-11-19T15:30:00Z' GROUP BY 1)"
    )
    assert (incident["events"], incident["bad"]) == (events, bad)
    assert incident["peak_bad_ratio"] == pytest.approx(peak, rel=1e-12)
