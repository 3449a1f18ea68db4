"""The Arrow path (``Store.run_table``, what the command line uses): the same answers as
the pandas path, with Arrow's types, and without importing pandas."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mfq
from mfq.api import Store
from mfq.demo import DemoConfig, write_export
from mfq.query.build import build_spec
from mfq.query.spec import QueryKind, QuerySpec
from tests.selection import selected

WHERE = [None, "service = 'checkout'", "duration_ms > 50 or status = 'error'", "type = 'none'"]
GROUPS = [(), ("region",), ("service", "status"), ("http_status",), ("error_code",)]
AGGS = [
    "count",
    "count(status = 'error')",
    "ratio(http_status >= 500)",
    "p50(duration_ms)",
    "p95(duration_ms)",
    "avg(duration_ms)",
    "sum(duration_ms)",
    "count_distinct(actor_profile_id)",
    "max(http_status)",
    "min(quantity)",
    "stddev(duration_ms)",
]
RANGES = [(None, None), ("2026-11-17", None), ("2026-11-18T06:00:00Z", "2026-11-19T18:30:00Z")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root: Path = tmp_path_factory.mktemp("arrow")
    export = root / "demo.ndjson"
    write_export(export, DemoConfig(events=6000, seed=5))
    opened = mfq.open_store(root / "store")
    opened.ingest([export])
    return opened


def _random_spec(store: Store, seed: int) -> QuerySpec:
    pick = random.Random(seed)
    since, until = pick.choice(RANGES)
    common: dict[str, Any] = {"where": pick.choice(WHERE), "since": since, "until": until}
    kind = pick.choice([QueryKind.AGGREGATE, QueryKind.AGGREGATE, QueryKind.TIMESERIES])
    aggs = pick.sample(AGGS, pick.randint(1, 3))
    if kind is QueryKind.TIMESERIES:
        by = list(pick.choice(GROUPS[:4]))
        return build_spec(
            store,
            kind,
            every=pick.choice(["1h", "6h", "1d", "auto"]),
            by=by,
            top=pick.choice([None, 2]) if len(by) == 1 else None,
            aggs=aggs,
            **common,
        )
    group_by = list(pick.choice(GROUPS))
    having = pick.choice([None, None, "count > 40"])
    order = pick.choice([[], [f"-{group_by[0]}"] if group_by else []])
    return build_spec(
        store,
        kind,
        group_by=group_by,
        aggs=aggs,
        having=having,
        order_by=order,
        limit=pick.choice([None, 2, 4]),
        totals=pick.choice([True, False]),
        **common,
    )


@pytest.mark.parametrize("seed", range(48))
def test_arrow_answers_equal_the_pandas_path(demo: Store, seed: int) -> None:
    spec = _random_spec(demo, seed)
    expected = demo.run(spec)
    answer = demo.run_table(spec)
    assert isinstance(answer, pa.Table)
    # Values exactly; dtypes may differ where the Arrow path keeps integers (min of an
    # integer field) that pandas turned into floats.
    pd.testing.assert_frame_equal(
        _text_as_object(answer.to_pandas(integer_object_nulls=True)),
        _text_as_object(expected),
        check_dtype=False,
    )


def _text_as_object(frame: pd.DataFrame) -> pd.DataFrame:
    """pandas' ``str`` and ``object`` text columns as one dtype, missing as None (a round
    trip through Arrow gives ``str`` and NaN where pandas' own concatenations give ``object``
    and None; every renderer shows both as null)."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.StringDtype):
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), None)
    return frame


@pytest.mark.parametrize(
    "options",
    [
        {"fields": "type,http_status,quantity", "limit": 25},
        {"where": "status = 'error'", "sort": ["-duration_ms"], "limit": 7},
        {"where": "type = 'none'"},
    ],
)
def test_arrow_events_equal_the_pandas_path(demo: Store, options: dict[str, Any]) -> None:
    expected = demo.events(**selected(options))
    pd.testing.assert_frame_equal(
        demo.events(as_arrow=True, **selected(options)).to_pandas(integer_object_nulls=True),
        expected,
    )


def test_local_time_buckets_fall_back_to_pandas_with_the_same_answer(demo: Store) -> None:
    options = {"every": "1d", "by": ["service"], "tz": "Europe/Paris"}
    expected = demo.timeseries(**selected(options))
    pd.testing.assert_frame_equal(
        demo.timeseries(as_arrow=True, **selected(options)).to_pandas(integer_object_nulls=True),
        expected,
    )


HAND_BUILT = [
    {"id": "a", "type": "t", "timestamp": "2026-11-02T10:05:00Z", "http_status": 200},
    {"id": "b", "type": "t", "timestamp": "2026-11-02T10:15:00Z", "http_status": 200},
    {"id": "c", "type": "t", "timestamp": "2026-11-02T10:20:00Z"},
    {"id": "d", "type": "t", "timestamp": "2026-11-02T12:01:00Z", "http_status": 503},
]


def test_integer_keys_with_nulls_stay_integers(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson(HAND_BUILT)])
    table = store.query(as_arrow=True, group_by=["http_status"], aggs=["max(http_status)"])
    assert table.schema.field("http_status").type == pa.int64()
    assert table.to_pylist() == [  # largest first aggregate first, missing last
        {"http_status": 503, "max(http_status)": 503},
        {"http_status": 200, "max(http_status)": 200},
        {"http_status": None, "max(http_status)": None},
    ]


def test_buckets_are_filled_for_every_series(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson(HAND_BUILT)])
    table = store.timeseries(as_arrow=True, every="1h", by=["http_status"])
    rows = [(r["time"].hour, r["http_status"], r["count"]) for r in _utc_rows(table)]
    assert rows == [
        (10, 200, 2), (10, 503, 0), (10, None, 1),
        (11, 200, 0), (11, 503, 0), (11, None, 0),
        (12, 200, 0), (12, 503, 1), (12, None, 0),
    ]  # fmt: skip


def _utc_rows(table: pa.Table) -> list[dict[str, Any]]:
    micro = table.set_column(0, "time", table.column("time").cast(pa.timestamp("us", tz="UTC")))
    return micro.to_pylist()


# -- the command line does not import pandas -------------------------------------------------

_PROBE = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("pandas loaded: %s\\n" % ("pandas" in sys.modules)))
{preload}
from mfq.cli.main import main
sys.argv = ["mfq", *{args!r}]
main()
"""


def _run_cli(args: list[str], preload: str = "") -> subprocess.CompletedProcess[str]:
    code = _PROBE.format(preload=preload, args=args)
    environment = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=False
    )


@pytest.mark.parametrize(
    ("args", "needs_pandas"),
    [
        (["query", "--group-by", "service", "--agg", "p95(duration_ms)"], False),
        (["query", "--where", "status = 'error'", "--group-by", "region,service"], False),
        (["timeseries", "--every", "6h", "--by", "service", "--top", "2"], False),
        (["events", "--where", "status = 'error'", "--limit", "5"], False),
        (["query", "--group-by", "service", "--having", "count > 100"], False),
        (["query", "--group-by", "service", "--limit", "2", "--totals"], False),
        (["timeseries", "--every", "1d", "--tz", "Europe/Paris"], False),
        (["timeseries", "--every", "1h", "--by", "service,status", "--top", "3"], False),
    ],
)
def test_cli_answers_without_pandas_and_the_same_as_with_it(
    demo: Store, args: list[str], needs_pandas: bool
) -> None:
    command = [*args, "--store", str(demo.root), "--format", "json"]
    lean = _run_cli(command)
    loaded = _run_cli(command, preload="import pandas")
    assert lean.returncode == 0, lean.stderr
    assert f"pandas loaded: {needs_pandas}" in lean.stderr
    assert "pandas loaded: True" in loaded.stderr
    assert lean.stdout == loaded.stdout
    assert json.loads(lean.stdout)  # a non-empty answer


@pytest.mark.parametrize(
    ("kind", "options", "reads_sample_rate"),
    [
        (QueryKind.AGGREGATE, {"aggs": ["count_distinct(actor_profile_id)"]}, False),
        (QueryKind.AGGREGATE, {"aggs": ["p95(duration_ms)", "max(duration_ms)"]}, False),
        (QueryKind.AGGREGATE, {"aggs": ["p95(duration_ms)", "count"]}, True),
        (QueryKind.AGGREGATE, {"aggs": ["ratio(status = 'error')"]}, True),
        (QueryKind.AGGREGATE, {"aggs": ["avg(duration_ms)"], "unweighted": True}, False),
        (QueryKind.TIMESERIES, {"aggs": ["p50(duration_ms)"], "by": ["service"]}, False),
        (QueryKind.TIMESERIES, {"aggs": ["p50(duration_ms)"], "by": ["service"], "top": 2}, True),
    ],
)
def test_sample_rate_is_read_only_when_an_answer_weighs_by_it(
    demo: Store, kind: QueryKind, options: dict[str, Any], reads_sample_rate: bool
) -> None:
    from mfq.query.engines.plan import AggregatePlan

    spec = build_spec(demo, kind, **options)
    assert ("sample_rate" in AggregatePlan(spec, []).columns()) is reads_sample_rate


@given(
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=False, width=64), min_size=1, max_size=80
    ),
    groups=st.integers(min_value=1, max_value=5),
    seed=st.integers(min_value=0, max_value=2**16),
)
@settings(max_examples=150, deadline=None)
def test_grouped_percentiles_are_numpys_to_the_last_bit(
    values: list[float], groups: int, seed: int
) -> None:
    from mfq.query.engines.quantiles import grouped_quantiles

    array = np.asarray(values)
    ids = np.random.default_rng(seed).integers(0, groups, len(array))
    fractions = [0.0, 0.01, 0.25, 0.5, 0.95, 0.99, 1.0]
    found = grouped_quantiles(pa.chunked_array([pa.array(array)]), (ids, groups), fractions)
    for group in range(groups):
        present = array[(ids == group) & ~np.isnan(array)]
        got = np.array([found[f][group] for f in fractions])
        if not len(present):
            assert np.isnan(got).all()
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            expected = np.quantile(present, fractions)
        # Two values more than the largest float apart: numpy overflows (infinity or
        # NaN, with a warning); the answer is their weighted sum, finite and between them.
        wide = ~np.isfinite(expected)
        assert np.isfinite(got[wide]).all()
        assert ((got[wide] >= present.min()) & (got[wide] <= present.max())).all()
        np.testing.assert_array_equal(got[~wide], expected[~wide])  # exact elsewhere


@given(
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=False, width=64), min_size=1, max_size=80
    ),
    groups=st.integers(min_value=1, max_value=9),
    seed=st.integers(min_value=0, max_value=2**16),
)
@settings(max_examples=150, deadline=None)
def test_percentiles_of_very_many_groups_equal_the_loops_to_the_last_bit(
    values: list[float], groups: int, seed: int
) -> None:
    """Beyond ``LOOP_GROUPS`` groups one sort by (group, value) replaces the loop of
    partial sorts; the answers are the same bits."""
    from mfq.query.engines import quantiles

    array = np.asarray(values)
    ids = np.random.default_rng(seed).integers(0, groups, len(array))
    fractions = [0.0, 0.01, 0.25, 0.5, 0.95, 0.99, 0.999, 1.0]
    column = pa.chunked_array([pa.array(array)])
    looped = quantiles.grouped_quantiles(column, (ids, groups), fractions)
    present = ~np.isnan(array)
    ranked = quantiles._sorted_quantiles(array[present], ids[present], groups, fractions)
    for fraction in fractions:
        np.testing.assert_array_equal(ranked[fraction], looped[fraction])


def test_finished_answers_keep_integers_and_label_mixed_keys_as_text(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson(HAND_BUILT)])
    # --having keeps the key column an integer column (pandas once made it floats).
    kept = store.query(as_arrow=True, group_by=["http_status"], aggs=["count"], having="count >= 1")
    assert kept.schema.field("http_status").type == pa.int64()
    assert kept.column("http_status").to_pylist() == [200, 503, None]
    # A cut --limit adds OTHER and TOTAL to the key column: numbers and labels, as text.
    cut = store.query(as_arrow=True, group_by=["http_status"], limit=1, totals=True)
    assert cut.to_pylist() == [
        {"http_status": "200", "count": 2},
        {"http_status": "OTHER", "count": 2},
        {"http_status": "TOTAL", "count": 4},
    ]


def test_a_percentile_between_values_further_apart_than_the_largest_float_is_finite() -> None:
    """``-1.7976931348623155e308`` and ``2.99e292`` are further apart than any float: the
    interpolation between them is their weighted sum, finite and without a warning."""
    from mfq.query.engines import quantiles

    low, high = -1.7976931348623155e308, 2.9937604643020797e292
    column = pa.chunked_array([pa.array([low, high])])
    answer = quantiles.grouped_quantiles(column, (np.zeros(2, dtype=np.int64), 1), [0.0, 0.5, 1.0])
    assert answer[0.0][0] == low and answer[1.0][0] == high
    assert answer[0.5][0] == low * 0.5 + high * 0.5
