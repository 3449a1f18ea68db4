"""``Store.check``: assertions over aggregates decided on one query, values exact on hand-made
events and equal to DuckDB's over the same Parquet files.

The events: twenty, one every five minutes from 2026-11-03 10:00 UTC (``i`` = 0..19).
Every fourth is ``order.created`` (i = 0, 4, 8, 12, 16: five), the rest ``page.view``;
i = 3 and 7 failed (2 of 20: a ratio of 0.1); ``service`` is ``web`` when i % 3 == 0,
else ``api``; ``duration_ms`` is 10 * (i + 1) except at i = 0, 5, 10, 15 (none), so the
sixteen durations are 20..200 without 60, 110 and 160: their sum is 1760 (avg 110) and
their p95 is 190 + 0.25 * (200 - 190) = 192.5 (rank 0.95 * 15 = 14.25).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

import mfq
from mfq.analysis.check import InvalidAssertion
from mfq.api import Selection, Store
from mfq.errors import StoreNotFound, UsageError
from mfq.model.answer import CheckScope
from mfq.query.expr import ExpressionError
from mfq.query.spec import QueryKind, QuerySpec

START = datetime(2026, 11, 3, 10, tzinfo=UTC)


def _event(i: int) -> dict[str, object]:
    record: dict[str, object] = {
        "id": f"e{i:02d}",
        "type": "order.created" if i % 4 == 0 else "page.view",
        "timestamp": f"2026-11-03T{10 + i * 5 // 60}:{i * 5 % 60:02d}:00Z",
        "status": "error" if i in (3, 7) else "ok",
        "service": "web" if i % 3 == 0 else "api",
    }
    if i % 5:
        record["duration_ms"] = 10.0 * (i + 1)
    return record


@pytest.fixture(scope="module")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("check")
    export = root / "run.ndjson"
    export.write_text("".join(json.dumps(_event(i)) + "\n" for i in range(20)), encoding="utf-8")
    with mfq.open_store(root / "store") as store:
        assert store.ingest([export]).ingested == 20
    return root / "store"


@pytest.fixture(scope="module")
def store(store_root: Path) -> Iterator[Store]:
    with mfq.open_store(store_root) as opened:
        yield opened


def _rows(result: Any) -> list[dict[str, object]]:
    return [dict(row) for row in result.to_dict("records")]


# -- values and verdicts ----------------------------------------------------------------------


def test_each_assertion_gets_its_value_verdict_and_expectation(store: Store) -> None:
    result = store.check(
        [
            "count(type = 'order.created') >= 1",
            "ratio(status = 'error') < 0.02",
            "p95(duration_ms) < 800",
            "avg(duration_ms) = 110",
            "1 <= count",
        ]
    )
    assert list(result.columns) == ["assertion", "value", "passed", "expected", "detail"]
    assert _rows(result) == [
        {
            "assertion": "count(type = 'order.created') >= 1",
            "value": 5,
            "passed": True,
            "expected": ">= 1",
            "detail": "count(type = 'order.created') = 5 (expected >= 1)",
        },
        {
            "assertion": "ratio(status = 'error') < 0.02",
            "value": 0.1,
            "passed": False,
            "expected": "< 0.02",
            "detail": "ratio(status = 'error') = 0.1 (expected < 0.02)",
        },
        {
            "assertion": "p95(duration_ms) < 800",
            "value": 192.5,
            "passed": True,
            "expected": "< 800",
            "detail": "p95(duration_ms) = 192.5 (expected < 800)",
        },
        {
            "assertion": "avg(duration_ms) = 110",
            "value": 110.0,
            "passed": True,
            "expected": "= 110",
            "detail": "avg(duration_ms) = 110 (expected = 110)",
        },
        {
            # The expectation is read from the aggregate's side.
            "assertion": "1 <= count",
            "value": 20,
            "passed": True,
            "expected": ">= 1",
            "detail": "count = 20 (expected >= 1)",
        },
    ]
    assert result.scope == CheckScope(since=None, until=None, where=[], events=20)


def test_combined_assertions_and_two_aggregates_list_every_value(store: Store) -> None:
    result = store.check(
        [
            "count(type = 'page.view') >= count(type = 'order.created')",
            "p95(duration_ms) < 150 or ratio(status = 'error') <= 0.1",
            "not (max(timestamp) < '2026-11-03T11:30Z')",
            "count_distinct(service) = 2 and min(duration_ms) > 20",
        ]
    )
    assert _rows(result) == [
        {
            "assertion": "count(type = 'page.view') >= count(type = 'order.created')",
            "value": 15,
            "passed": True,
            "expected": None,
            "detail": "count(type = 'page.view') = 15, count(type = 'order.created') = 5",
        },
        {
            "assertion": "p95(duration_ms) < 150 or ratio(status = 'error') <= 0.1",
            "value": 192.5,
            "passed": True,
            "expected": None,
            "detail": "p95(duration_ms) = 192.5, ratio(status = 'error') = 0.1",
        },
        {
            "assertion": "not (max(timestamp) < '2026-11-03T11:30Z')",
            "value": datetime(2026, 11, 3, 11, 35, tzinfo=UTC),
            "passed": True,
            "expected": None,
            "detail": "max(timestamp) = 2026-11-03T11:35:00Z",
        },
        {
            "assertion": "count_distinct(service) = 2 and min(duration_ms) > 20",
            "value": 2,
            "passed": False,  # the smallest duration is 20
            "expected": None,
            "detail": "count_distinct(service) = 2, min(duration_ms) = 20",
        },
    ]


# The oracle: each assertion as DuckDB SQL over the store's Parquet files, value and verdict.
ORACLE = [
    ("count(type = 'order.created') >= 1",
     "count(*) FILTER (WHERE type = 'order.created')", ">= 1"),
    ("ratio(status = 'error') < 0.02",
     "avg(CASE WHEN status = 'error' THEN 1.0 ELSE 0 END)", "< 0.02"),
    ("p95(duration_ms) < 150", "quantile_cont(duration_ms, 0.95)", "< 150"),
    ("p50(duration_ms) >= 100", "quantile_cont(duration_ms, 0.5)", ">= 100"),
    ("avg(duration_ms) > 100", "avg(duration_ms)", "> 100"),
    ("sum(duration_ms) <= 1000", "sum(duration_ms)", "<= 1000"),
    ("stddev(duration_ms) < 40", "stddev_samp(duration_ms)", "< 40"),
    ("max(duration_ms) != 200", "max(duration_ms)", "!= 200"),
    ("count_distinct(type) = 2", "count(DISTINCT type)", "= 2"),
    ("count(status = 'error' and service = 'api') = 0",
     "count(*) FILTER (WHERE status = 'error' AND service = 'api')", "= 0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "sql_where"),
    [
        ({}, "true"),
        (
            {
                "since": "2026-11-03T10:30Z",
                "until": "2026-11-03T11:30Z",
                "where": "service = 'api'",
            },
            "timestamp >= '2026-11-03 10:30:00+00' AND timestamp < '2026-11-03 11:30:00+00'"
            " AND service = 'api'",
        ),
    ],
)
def test_values_and_verdicts_match_duckdb_over_the_same_parquet(
    store: Store, options: dict[str, str], sql_where: str
) -> None:
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    columns = ", ".join(f"{sql}, ({sql}) {test}" for _text, sql, test in ORACLE)
    [row] = duckdb.sql(
        f"SELECT {columns} FROM read_parquet({files!r}, union_by_name=true) WHERE {sql_where}"
    ).fetchall()
    result = store.check([text for text, _sql, _test in ORACLE], Selection(**options))
    for index, (text, _sql, _test) in enumerate(ORACLE):
        value, passed = row[2 * index], row[2 * index + 1]
        ours = result.iloc[index]
        assert ours["assertion"] == text
        assert ours["value"] == pytest.approx(float(value)), text
        assert bool(ours["passed"]) is passed, text


def test_all_assertions_are_one_aggregate_query_without_groups(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[QuerySpec] = []
    real_run = store.run

    def spy(spec: QuerySpec) -> Any:
        ran.append(spec)
        return real_run(spec)

    monkeypatch.setattr(store, "run", spy)
    store.check(
        [
            "count(type = 'order.created') >= 1",
            "count(type = 'order.created') < 100 and p95(duration_ms) < 800",
            "count >= 20",
        ],
        Selection(where="service = 'api'"),
    )
    [spec] = ran
    assert spec.kind is QueryKind.AGGREGATE and spec.group_by == () and len(spec.where) == 1
    # Each aggregate once, named by its canonical text; `count` is the number of events.
    assert [a.name for a in spec.aggregates] == [
        "count(type = 'order.created')",
        "p95(duration_ms)",
        "count",
    ]


# -- aggregates without a value -----------------------------------------------------------------


def test_an_aggregate_without_a_value_fails_the_assertion_and_says_why(store: Store) -> None:
    result = store.check(
        [
            "p95(duration_ms) < 800",
            "count(type = 'order.created') = 0",  # a count of nothing is 0: a value
            "not (avg(duration_ms) > 100)",  # `not` does not rescue a missing value
            "ratio(status = 'error') < 0.02",
        ],
        Selection(since="2026-11-04"),
    )
    assert _rows(result) == [
        {
            "assertion": "p95(duration_ms) < 800",
            "value": None,
            "passed": False,
            "expected": "< 800",
            "detail": "p95(duration_ms) has no value: no events match the time range and filters",
        },
        {
            "assertion": "count(type = 'order.created') = 0",
            "value": 0,
            "passed": True,
            "expected": "= 0",
            "detail": "count(type = 'order.created') = 0 (expected = 0)",
        },
        {
            "assertion": "not (avg(duration_ms) > 100)",
            "value": None,
            "passed": False,
            "expected": None,
            "detail": "avg(duration_ms) has no value: no events match the time range and filters",
        },
        {
            "assertion": "ratio(status = 'error') < 0.02",
            "value": None,
            "passed": False,
            "expected": "< 0.02",
            "detail": "ratio(status = 'error') has no value: no events match the time range and"
            " filters",
        },
    ]
    assert result.scope is not None and result.scope.events == 0


def test_missing_values_among_events_are_explained_by_field(store: Store) -> None:
    # i = 0, 5, 10, 15 have no duration; i = 1 is the only api event before 10:10.
    [no_field] = _rows(
        store.check("avg(duration_ms) < 100", Selection(where="duration_ms is null"))
    )
    assert (
        no_field["detail"] == "avg(duration_ms) has no value: none of the 4 events has duration_ms"
    )
    [one_value] = _rows(
        store.check(
            "stddev(duration_ms) < 5", Selection(where="service = 'api'", until="2026-11-03T10:10Z")
        )
    )
    assert one_value["detail"] == (
        "stddev(duration_ms) has no value: fewer than two of the 1 events have duration_ms"
    )
    assert (one_value["passed"], no_field["passed"]) == (False, False)


# -- time range, filters, weighting ---------------------------------------------------------


def test_last_counts_back_from_now_and_where_narrows_every_assertion(store: Store) -> None:
    # [10:30, 11:00): i = 6..11; of those, api: 7, 8, 10, 11; order.created: i = 8.
    result = store.check(
        ["count = 4", "count(type = 'order.created') = 1", "ratio(status = 'error') = 0.25"],
        Selection(last="30m", now="2026-11-03T11:00Z", where=["service = 'api'"]),
    )
    assert result["passed"].tolist() == [True, True, True]
    assert result.scope == CheckScope(
        since=datetime(2026, 11, 3, 10, 30, tzinfo=UTC),
        until=datetime(2026, 11, 3, 11, tzinfo=UTC),
        where=["service = 'api'"],
        events=4,
    )


def test_rate_is_per_second_of_the_range_and_needs_one(store: Store) -> None:
    # 12 events in the hour from 10:00: 12 / 3600 per second.
    result = store.check(
        "rate < 0.01", Selection(since="2026-11-03T10:00Z", until="2026-11-03T11:00Z")
    )
    assert result["value"].tolist() == [pytest.approx(12 / 3600)]
    with pytest.raises(UsageError, match="rate needs a time range"):
        store.check("rate < 0.01")


def test_sample_rate_weights_counts_and_ratios_unless_unweighted(tmp_path: Path) -> None:
    export = tmp_path / "sampled.ndjson"
    records = [
        {"id": "a", "status": "error", "sample_rate": 10},
        {"id": "b", "status": "ok"},
        {"id": "c", "status": "ok"},
    ]
    for second, record in enumerate(records):
        record.update(type="x", timestamp=f"2026-11-03T10:00:0{second}Z")
    export.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with mfq.open_store(tmp_path / "s") as store:
        store.ingest([export])
        weighted = store.check(["count = 12", "ratio(status = 'error') > 0.8"])
        plain = store.check(
            ["count = 3", "ratio(status = 'error') < 0.34"], Selection(unweighted=True)
        )
    assert weighted["value"].tolist() == [12, pytest.approx(10 / 12)]
    assert plain["value"].tolist() == [3, pytest.approx(1 / 3)]
    assert weighted["passed"].tolist() == plain["passed"].tolist() == [True, True]


# -- mistakes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assertions", "message", "column"),
    [
        (
            ["count >= "],
            "assertion 1: bad expression at column 10: expected a value after '>=', found the end",
            10,
        ),
        (
            ["count >= 1", "ratio(stauts = 'error') < 0.02"],
            "assertion 2: bad expression at column 7: unknown field 'stauts' — did you mean"
            " 'status'?",
            7,
        ),
        (
            ["count > 0 and status = 'error'"],
            "assertion 1: bad expression at column 15: field 'status' outside an aggregate:"
            " check has no groups (count or ratio the events where it holds, e.g."
            " ratio(status = ...))",
            15,
        ),
        (
            ["p95(duration_ms) is null"],
            "assertion 1: bad expression at column 1: an assertion compares aggregates:"
            " use = != < <= > >= (combined with and, or, not)",
            1,
        ),
        (
            ["1 < 2"],
            "assertion 1: bad expression at column 1: an assertion needs an aggregate, e.g."
            " count(type = 'order.created') >= 1",
            1,
        ),
    ],
)
def test_a_malformed_assertion_is_one_line_naming_it_and_the_column(
    store: Store, assertions: list[str], message: str, column: int
) -> None:
    with pytest.raises(InvalidAssertion) as caught:
        store.check(assertions)
    assert str(caught.value) == message
    assert isinstance(caught.value, ExpressionError) and caught.value.column == column
    assert caught.value.index == len(assertions)


def test_syntax_is_checked_before_the_store_is_needed(tmp_path: Path) -> None:
    missing = mfq.open_store(tmp_path / "none")
    with pytest.raises(InvalidAssertion, match="assertion 1: bad expression at column 8"):
        missing.check(["count >>= 1"])
    with pytest.raises(StoreNotFound):
        missing.check(["count >= 1"])


def test_no_assertion_is_a_usage_error(store: Store) -> None:
    with pytest.raises(UsageError, match="check needs an assertion"):
        store.check([])


# -- engines ----------------------------------------------------------------------------------


def test_the_dask_engine_gives_the_same_verdicts(store_root: Path) -> None:
    from distributed import LocalCluster

    assertions = [text for text, _sql, _test in ORACLE]
    with (
        LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
        ) as cluster,
        mfq.open_store(store_root) as pandas_store,
        mfq.open_store(store_root, engine="dask", scheduler=cluster.scheduler_address) as dask,
    ):
        for options in ({}, {"since": "2026-11-04"}, {"where": "service = 'web'"}):
            ours, theirs = (
                pandas_store.check(assertions, Selection(**options)),
                dask.check(assertions, Selection(**options)),
            )
            assert ours["passed"].tolist() == theirs["passed"].tolist(), options
            assert ours["detail"].tolist() == theirs["detail"].tolist(), options
            assert ours.scope == theirs.scope
