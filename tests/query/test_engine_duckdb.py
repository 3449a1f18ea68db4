"""Every engine against DuckDB SQL over the same Parquet files: a seeded generator of
queries (filters, groups, aggregates, time ranges), compared row by row. Each test runs
once per engine (the ``engine`` fixture of ``conftest.py``)."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import mfq
from mfq.api import Selection, Store
from mfq.demo import DemoConfig, write_export

FILTERS = [
    ("service = 'checkout'", "service = 'checkout'"),
    ("status != 'ok'", "status <> 'ok'"),
    ("duration_ms > 100", "duration_ms > 100"),
    ("duration_ms <= 20.5", "duration_ms <= 20.5"),
    ("http_status >= 500", "http_status >= 500"),
    ("region in ('eu-west-1', 'us-east-1')", "region IN ('eu-west-1', 'us-east-1')"),
    (
        "type not in ('product.viewed', 'search.performed')",
        "type NOT IN ('product.viewed', 'search.performed')",
    ),
    ("message contains 'served'", "contains(message, 'served')"),
    ("type startswith 'order'", "starts_with(type, 'order')"),
    ("version ~ '^2\\.4'", "regexp_matches(version, '^2\\.4')"),
    ("exists(error_code)", "error_code IS NOT NULL"),
    ("parent_span_id is null", "parent_span_id IS NULL"),
    ("trace_id is not null", "trace_id IS NOT NULL"),
    ("not (status = 'ok')", "NOT (status = 'ok')"),
    ("severity = 'warn' or http_status = 404", "(severity = 'warn' OR http_status = 404)"),
    ("service = 'search' and duration_ms > 50", "(service = 'search' AND duration_ms > 50)"),
    ("sample_rate > 1", "sample_rate > 1"),
]
GROUPS = [
    "service",
    "region",
    "status",
    "version",
    "type",
    "http_status",
    "environment",
    "error_code",
]
AGGREGATES = [
    ("count", "coalesce(sum(w), 0)"),
    ("count(status = 'error')", "coalesce(sum(CASE WHEN status = 'error' THEN w ELSE 0 END), 0)"),
    (
        "ratio(http_status >= 400)",
        "sum(CASE WHEN http_status >= 400 THEN w ELSE 0 END)::DOUBLE / sum(w)",
    ),
    ("count_distinct(actor_profile_id)", "count(DISTINCT actor_profile_id)"),
    ("sum(duration_ms)", "sum(duration_ms * w)"),
    (
        "avg(duration_ms)",
        "sum(duration_ms * w) / sum(CASE WHEN duration_ms IS NOT NULL THEN w END)",
    ),
    ("min(duration_ms)", "min(duration_ms)"),
    ("max(http_status)", "max(http_status)"),
    ("median(duration_ms)", "quantile_cont(duration_ms, 0.5)"),
    ("p95(duration_ms)", "quantile_cont(duration_ms, 0.95)"),
    ("p99(duration_ms)", "quantile_cont(duration_ms, 0.99)"),
    ("p999(duration_ms)", "quantile_cont(duration_ms, 0.999)"),
    ("stddev(duration_ms)", "stddev_samp(duration_ms)"),
]
TIMES = [
    (None, None),
    ("2026-11-17T00:00:00Z", None),
    (None, "2026-11-18T12:00:00Z"),
    ("2026-11-19T13:30:00Z", "2026-11-19T16:00:00+01:00"),
    ("2026-11-16T06:00:00Z", "2026-11-16T06:00:01Z"),  # almost nothing
]


@pytest.fixture(scope="module")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo export (with an incident) and 40 sampled events, ingested once."""
    root = tmp_path_factory.mktemp("engine")
    export = root / "demo.ndjson"
    write_export(export, DemoConfig(events=4000, seed=11))
    sampled = root / "sampled.ndjson"
    with sampled.open("w") as out:
        for i in range(40):
            out.write(
                json.dumps(
                    {
                        "id": f"s-{i}",
                        "type": "order.created",
                        "timestamp": f"2026-11-18T10:{i:02d}:00Z",
                        "service": "checkout",
                        "sample_rate": 1 + i % 4,
                        "duration_ms": 10.0 * i,
                        "status": "error" if i % 5 == 0 else "ok",
                        "http_status": 500 if i % 5 == 0 else 200,
                    }
                )
                + "\n"
            )
    with mfq.open_store(root / "store") as opened:
        opened.ingest([export, sampled])
    return root / "store"


@pytest.fixture(scope="module")
def store(store_root: Path, engine_options: dict[str, Any]) -> Iterator[Store]:
    """The ingested store, queried with the engine under test."""
    with mfq.open_store(store_root, **engine_options) as opened:
        yield opened


def _duckdb(
    store: Store, sql_where: list[str], keys: list[str], aggs: list[str]
) -> list[tuple[object, ...]]:
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    source = (
        "(SELECT *, coalesce(sample_rate, 1) AS w "
        f"FROM read_parquet({files!r}, union_by_name=true))"
    )
    select = ", ".join([*(f'"{k}"' for k in keys), *aggs])
    where = f" WHERE {' AND '.join(sql_where)}" if sql_where else ""
    group = (
        f" GROUP BY {', '.join(f'{k!r}'.replace(chr(39), chr(34)) for k in keys)}" if keys else ""
    )
    return duckdb.sql(f"SELECT {select} FROM {source}{where}{group}").fetchall()


def _key(row: tuple[object, ...], width: int) -> tuple[object, ...]:
    return tuple((value is None, str(value)) for value in row[:width])


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _same(left: object, right: object) -> bool:
    if _absent(left) or _absent(right):
        return _absent(left) and _absent(right)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return math.isclose(float(left), float(right), rel_tol=1e-9, abs_tol=1e-9)
    return str(left) == str(right)


def _queries(count: int) -> list[tuple[list[int], list[int], list[int], int]]:
    generator = random.Random(20261126)
    queries = []
    for _ in range(count):
        filters = generator.sample(range(len(FILTERS)), generator.choice([0, 1, 1, 2]))
        keys = generator.sample(range(len(GROUPS)), generator.choice([0, 1, 1, 2]))
        aggs = generator.sample(range(len(AGGREGATES)), generator.choice([1, 2, 3]))
        queries.append((filters, keys, aggs, generator.randrange(len(TIMES))))
    return queries


@pytest.mark.parametrize(("filters", "keys", "aggs", "time"), _queries(48))
def test_engine_matches_duckdb(
    store: Store, filters: list[int], keys: list[int], aggs: list[int], time: int
) -> None:
    since, until = TIMES[time]
    where = [FILTERS[i][0] for i in filters]
    sql_where = [FILTERS[i][1] for i in filters]
    if since:
        sql_where.append(f"timestamp >= TIMESTAMPTZ '{since}'")
    if until:
        sql_where.append(f"timestamp < TIMESTAMPTZ '{until}'")
    group_by = [GROUPS[i] for i in keys]
    ours = store.query(
        Selection(where=where, since=since, until=until),
        group_by=group_by,
        aggs=[AGGREGATES[i][0] for i in aggs],
    )
    theirs = _duckdb(store, sql_where, group_by, [AGGREGATES[i][1] for i in aggs])
    our_rows = [
        tuple(None if _missing(v) else v for v in row) for row in ours.itertuples(index=False)
    ]
    width = len(group_by)
    our_rows.sort(key=lambda r: _key(r, width))
    their_rows = sorted(theirs, key=lambda r: _key(r, width))
    assert len(our_rows) == len(their_rows), (our_rows[:5], their_rows[:5])
    for mine, other in zip(our_rows, their_rows, strict=True):
        assert all(_same(a, b) for a, b in zip(mine, other, strict=True)), (mine, other)


def _missing(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or str(value) in {"NaT", "<NA>", "nan"}
    )


def test_generated_queries_mostly_find_rows(store_root: Path) -> None:
    """The comparison above is not vacuous: most generated queries return groups (a
    property of the queries, checked once, with the default engine)."""
    non_empty = 0
    with mfq.open_store(store_root) as store:
        for filters, keys, aggs, time in _queries(48):
            since, until = TIMES[time]
            result = store.query(
                Selection(where=[FILTERS[i][0] for i in filters], since=since, until=until),
                group_by=[GROUPS[i] for i in keys],
                aggs=[AGGREGATES[i][0] for i in aggs],
            )
            non_empty += bool(len(result)) and bool(keys)
    assert non_empty >= 20


def test_weighted_count_and_ratio_use_sample_rate(store: Store) -> None:
    result = store.query(
        Selection(where="id startswith 's-'", unweighted=False),
        aggs=["count", "ratio(status = 'error')", "avg(duration_ms)"],
    )
    # 40 events with sample rates 1,2,3,4 repeating: 100 events stood for; errors are i % 5 == 0.
    errors = sum(1 + i % 4 for i in range(40) if i % 5 == 0)
    assert result.iloc[0]["count"] == 100
    assert result.iloc[0]["ratio(status = 'error')"] == pytest.approx(errors / 100)
    weighted_avg = sum(10.0 * i * (1 + i % 4) for i in range(40)) / 100
    assert result.iloc[0]["avg(duration_ms)"] == pytest.approx(weighted_avg)
    plain = store.query(Selection(where="id startswith 's-'", unweighted=True), aggs=["count"])
    assert plain.iloc[0]["count"] == 40


def test_empty_selection_still_answers_one_row(store: Store) -> None:
    result = store.query(Selection(where="service = 'nope'"), aggs=["count", "p95(duration_ms)"])
    assert result.iloc[0]["count"] == 0 and math.isnan(result.iloc[0]["p95(duration_ms)"])


SERIES = [
    ("1h", "INTERVAL '1 hour'", None),
    ("15m", "INTERVAL '15 minutes'", None),
    ("1d", "INTERVAL '1 day'", None),
    ("1d", "INTERVAL '1 day'", "Europe/Paris"),
    ("6h", "INTERVAL '6 hours'", "America/New_York"),
]


SERIES_AGGREGATES = [
    (["count", "p95(duration_ms)"], "quantile_cont(duration_ms, 0.95)"),  # the pandas path
    (["count", "max(duration_ms)"], "max(duration_ms)"),  # the pyarrow path (UTC buckets)
]


def _series_rows(
    store: Store,
    interval: str,
    tz: str | None,
    by: str | None,
    aggregates: str,
    time: tuple[str, str],
    where: str = "true",
) -> list[tuple[Any, ...]]:
    """DuckDB's rows per bucket (aligned in ``tz`` when given) and ``by`` value: the
    bucket start, the key, then ``aggregates``."""
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    bucket = (
        f"time_bucket({interval}, timestamp)"
        if tz is None
        else f"timezone('{tz}', time_bucket({interval}, timezone('{tz}', timestamp)))"
    )
    key = f", {by}" if by else ""
    since, until = time
    return duckdb.sql(
        f"SELECT {bucket} AS t{key}, {aggregates}"
        f" FROM read_parquet({files!r}, union_by_name=true)"
        f" WHERE timestamp >= TIMESTAMPTZ '{since}' AND timestamp < TIMESTAMPTZ '{until}'"
        f" AND {where} GROUP BY ALL"
    ).fetchall()


@pytest.mark.parametrize(("every", "interval", "tz"), SERIES)
@pytest.mark.parametrize("by", [None, "service"])
@pytest.mark.parametrize(("aggs", "sql_agg"), SERIES_AGGREGATES)
def test_timeseries_buckets_match_duckdb(
    store: Store,
    every: str,
    interval: str,
    tz: str | None,
    by: str | None,
    aggs: list[str],
    sql_agg: str,
) -> None:
    since, until = "2026-11-17T00:00:00Z", "2026-11-20T00:00:00Z"
    ours = store.timeseries(
        Selection(since=since, until=until, where="status != 'ok'"),
        every=every,
        by=by,
        tz=tz,
        aggs=aggs,
    )
    aggregates = f"sum(coalesce(sample_rate, 1)), {sql_agg}"
    rows = _series_rows(store, interval, tz, by, aggregates, (since, until), "status <> 'ok'")
    theirs = {(r[0].timestamp(), *r[1:-2]): (r[-2], r[-1]) for r in rows}
    mine = {}
    for row in ours.itertuples(index=False):
        values = tuple(row)
        mine[(values[0].timestamp(), *values[1:-2])] = (values[-2], values[-1])
    nonzero = {k: v for k, v in mine.items() if v[0]}
    assert set(nonzero) == set(theirs)
    for k, (count, p95) in theirs.items():
        assert nonzero[k][0] == count and _same(nonzero[k][1], p95)
    # gaps are filled: every bucket of the range is present for every series
    buckets = {k[0] for k in mine}
    series = {k[1:] for k in mine}
    assert len(mine) == len(buckets) * len(series)


@pytest.mark.parametrize(("every", "interval", "tz"), SERIES)
@pytest.mark.parametrize("by", [None, "service"])
def test_timeseries_distinct_counts_match_duckdb(
    store: Store, every: str, interval: str, tz: str | None, by: str | None
) -> None:
    """Distinct counts alone: repeated (bucket, key, value) rows are dropped first."""
    since, until = "2026-11-17T00:00:00Z", "2026-11-20T00:00:00Z"
    aggregate = "count_distinct(actor_profile_id)"
    ours = store.timeseries(
        Selection(since=since, until=until), every=every, by=by, tz=tz, aggs=[aggregate]
    )
    distinct = "count(DISTINCT actor_profile_id)"
    rows = _series_rows(store, interval, tz, by, distinct, (since, until))
    theirs = {(r[0].timestamp(), *r[1:-1]): r[-1] for r in rows}
    mine = {
        (values[0].timestamp(), *values[1:-1]): values[-1]
        for values in ours.itertuples(index=False)
    }
    assert sum(theirs.values()) > len(theirs)  # buckets hold several actors each
    assert {k: mine[k] for k in theirs} == theirs
    assert all(mine[k] == 0 for k in set(mine) - set(theirs))  # gaps: no actors, not missing


def test_counts_and_rates_of_no_events_are_zero(store: Store) -> None:
    """Over no events a count, a distinct count and a rate are 0; a ratio or an average
    has no value (as SQL's count(*) is 0 and avg() is NULL)."""
    aggs = ["count", "count_distinct(actor_profile_id)", "rate", "ratio(status = 'error')"]
    aggs.append("avg(duration_ms)")
    answer = store.query(
        Selection(where="status = 'no such status'", since="2026-11-17", until="2026-11-18"),
        aggs=aggs,
    ).to_dict("records")
    assert len(answer) == 1
    record = answer[0]
    assert [record[name] for name in aggs[:3]] == [0, 0, 0.0]
    assert math.isnan(record[aggs[3]]) and math.isnan(record[aggs[4]])


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_a_rate_is_the_count_per_second_in_every_bucket_gaps_included(
    store: Store, tz: str | None
) -> None:
    series = store.timeseries(
        Selection(
            where="status = 'error'", since="2026-11-17T00:00:00Z", until="2026-11-18T00:00:00Z"
        ),
        aggs=["count", "rate"],
        every="15m",
        by="service",
        tz=tz,
    )
    assert (series["count"] == 0).sum() > 0  # there are gaps to fill
    assert series["rate"].tolist() == (series["count"] / 900).tolist()


def test_columns_missing_from_some_files_read_as_null(
    tmp_path: Path, open_engine_store: Callable[[Path], Store]
) -> None:
    """Two batches with different attributes: absent columns are null, as in DuckDB's
    union_by_name, and a field typed differently in two batches reads as text."""
    first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    first.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"a{i}",
                    "type": "t",
                    "timestamp": f"2026-11-03T10:00:{i:02d}Z",
                    "region": "eu",
                    "code": i,
                }
            )
            for i in range(10)
        )
        + "\n"
    )
    second.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"b{i}",
                    "type": "t",
                    "timestamp": f"2026-11-04T10:00:{i:02d}Z",
                    "tenant": "x",
                    "code": f"E{i}",
                }
            )
            for i in range(5)
        )
        + "\n"
    )
    store = open_engine_store(tmp_path / "s")
    store.ingest([first])
    store.ingest([second])
    by_region = store.query(group_by="region", order_by="region")
    assert by_region["count"].tolist() == [10, 5]
    assert by_region["region"].iloc[0] == "eu" and by_region["region"].isna().iloc[1]
    assert store.query(Selection(where="tenant = 'x'")).iloc[0]["count"] == 5
    assert store.query(Selection(where="exists(region)")).iloc[0]["count"] == 10
    assert store.query(Selection(where="code = 'E3' or code = '3'")).iloc[0]["count"] == 2


def test_scans_read_only_the_files_they_need(tmp_path: Path) -> None:
    from mfq.query.expr import parse_filter
    from mfq.query.scan import scan
    from mfq.query.timerange import TimeRange

    export = tmp_path / "days.ndjson"
    export.write_text(
        "\n".join(
            json.dumps(
                {
                    "id": f"e{i}",
                    "type": "t",
                    "timestamp": f"2026-11-0{1 + i % 3}T10:00:00Z",
                    "trace_id": f"tr{i}",
                    "a": 1,
                    "b": 2,
                    "c": 3,
                    "d": 4,
                    "e": 5,
                    "f": 6,
                }
            )
            for i in range(9)
        )
        + "\n"
    )
    store = mfq.open_store(tmp_path / "s")
    store.ingest([export])
    assert len(store.catalog.files("events")) == 3  # one per UTC date
    day = TimeRange.model_validate(
        {"since": "2026-11-02T00:00:00Z", "until": "2026-11-03T00:00:00Z"}
    )
    assert scan(store, ["type"], (), day).files_read == 1  # partition pruning by time
    trace = parse_filter("trace_id = 'tr4'")
    wide = ["type", "a", "b", "c", "d", "e", "f", "trace_id"]
    result = scan(store, wide, (trace,), TimeRange())
    assert result.table.num_rows == 1 and result.files_read == 1  # wide read narrowed


@pytest.mark.parametrize("by", ["type", "region"])
def test_top_series_folding_is_the_same_on_both_paths(store: Store, by: str) -> None:
    """--top folds the smaller series into OTHER identically in pyarrow (UTC buckets) and
    in pandas (local-time buckets, here UTC)."""
    aggs = ["count", "ratio(status = 'error')"]
    arrow = store.timeseries(every="6h", by=by, top=3, aggs=aggs)
    pandas = store.timeseries(every="6h", by=by, top=3, tz="UTC", aggs=aggs)
    assert sorted(set(arrow[by].dropna())) == sorted(set(pandas[by].dropna()))
    assert "OTHER" in set(arrow[by])
    key = ["time", by]
    left = arrow.sort_values(key).reset_index(drop=True)
    right = pandas.sort_values(key).reset_index(drop=True)
    assert left["count"].tolist() == right["count"].tolist()
    assert all(_same(a, b) for a, b in zip(left.iloc[:, 3], right.iloc[:, 3], strict=True))
