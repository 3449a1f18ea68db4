"""Row functions, arithmetic and derived fields on every engine against DuckDB SQL over
the same Parquet files: values with nulls, a field typed integer in one file and float in
another, a field one file lacks, groups a filter empties. Each test runs once per engine."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import mfq
from mfq.api import Selection, Store

# (our expression, DuckDB's). Division by zero is null in mfq: DuckDB is told so.
VALUES = [
    ("bucket(duration_ms, 100)", "floor(duration_ms / 100) * 100"),
    ("bucket(http_status, 100)", "CAST(floor(http_status / 100) * 100 AS BIGINT)"),
    ("bucket(delta, 7)", "CAST(floor(delta / 7) * 7 AS BIGINT)"),
    ("bucket(size, 2.5)", "floor(size / 2.5) * 2.5"),
    ("coalesce(http_status, 0)", "coalesce(http_status, 0)"),
    ("coalesce(duration_ms, http_status, -1)", "coalesce(duration_ms, http_status, -1)"),
    ("coalesce(service, route, 'none')", "coalesce(service, route, 'none')"),
    ("coalesce(extra, service)", "coalesce(extra, service)"),
    ("lower(service)", "lower(service)"),
    ("upper(service)", "upper(service)"),
    ("len(service)", "length(service)"),
    (
        "regex(route, '/api/([a-z]+)')",
        "CASE WHEN regexp_matches(route, '/api/([a-z]+)') "
        "THEN regexp_extract(route, '/api/([a-z]+)', 1) END",
    ),
    (
        "regex(service, 'e.')",
        "CASE WHEN regexp_matches(service, 'e.') THEN regexp_extract(service, 'e.', 0) END",
    ),
    (
        "if(http_status >= 500, 'bad', 'good')",
        "CASE WHEN http_status >= 500 THEN 'bad' ELSE 'good' END",
    ),
    ("if(flag, duration_ms, 0)", "CASE WHEN flag THEN duration_ms ELSE 0 END"),
    ("if(flag, null, amount)", "CASE WHEN flag THEN NULL ELSE amount END"),
    ("hour(timestamp)", "hour(timestamp)"),
    ("weekday(timestamp)", "isodow(timestamp)"),
    ("date(timestamp)", "strftime(timestamp, '%Y-%m-%d')"),
    ("http_status + amount", "http_status + amount"),
    ("duration_ms - amount", "duration_ms - amount"),
    ("amount * 3 - 1", "amount * 3 - 1"),
    ("-delta", "-delta"),
    ("size * 2", "size * 2"),
    ("(duration_ms + 1) * 2", "(duration_ms + 1) * 2"),
    ("http_status / amount", "CASE WHEN amount = 0 THEN NULL ELSE http_status / amount END"),
    ("duration_ms / 8", "duration_ms / 8"),
    ("delta / 0", "CAST(NULL AS DOUBLE)"),
    ("amount + null", "CAST(NULL AS BIGINT)"),
    ("duration_ms > 100", "duration_ms > 100"),
    ("flag", "flag"),
    ("not flag", "NOT flag"),
    ("service = 'api' or flag", "(service = 'api' OR flag)"),
]
CONDITIONS = [
    ("len(service) > 3", "length(service) > 3"),
    ("lower(service) = 'api'", "lower(service) = 'api'"),
    ("upper(service) in ('API', 'DB')", "upper(service) IN ('API', 'DB')"),
    ("hour(timestamp) in (1, 2, 3)", "hour(timestamp) IN (1, 2, 3)"),
    (
        "regex(route, '/api/([a-z]+)') is null",
        "NOT regexp_matches(coalesce(route, ''), '/api/([a-z]+)') OR route IS NULL",
    ),
    ("duration_ms / 3 > 10", "duration_ms / 3 > 10"),
    (
        "http_status / amount >= 100",
        "CASE WHEN amount = 0 THEN NULL ELSE http_status / amount END >= 100",
    ),
    ("flag", "flag"),
    ("not flag", "NOT flag"),
    ("if(flag, 1, 0) = 1", "CASE WHEN flag THEN 1 ELSE 0 END = 1"),
    ("coalesce(extra, 'x') = 'x'", "coalesce(extra, 'x') = 'x'"),
    ("bucket(duration_ms, 100) = 200", "floor(duration_ms / 100) * 100 = 200"),
    ("weekday(timestamp) >= 6", "isodow(timestamp) >= 6"),
    ("date(timestamp) = '2026-11-21'", "strftime(timestamp, '%Y-%m-%d') = '2026-11-21'"),
    ("size * 2 > 5", "size * 2 > 5"),
    ("service contains 'zzz'", "contains(service, 'zzz')"),  # empties every group
]
NUMERIC = {
    "bucket(duration_ms, 100)",
    "coalesce(http_status, 0)",
    "len(service)",
    "hour(timestamp)",
    "http_status + amount",
    "duration_ms - amount",
    "size * 2",
    "http_status / amount",
    "-delta",
    "if(flag, duration_ms, 0)",
}


def _event(i: int, size: int | float) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"e-{i}",
        "type": "request",
        "timestamp": f"2026-11-{18 + i % 5}T{i % 24:02d}:{i % 60:02d}:00Z",
        "service": [None, "api", "Web", "db", "search-engine"][i % 5],
        "route": [None, "/api/orders/7", "/api/users", "/health"][i % 4],
        "duration_ms": None if i % 6 == 0 else round(i * 13.7 % 900, 2),
        "http_status": None if i % 9 == 0 else [200, 201, 404, 500, 503][i % 5],
        "amount": i % 4,
        "delta": i % 11 - 5,
        "size": size,
        "sample_rate": 1 + i % 3,
    }
    if i % 7:
        event["flag"] = i % 2 == 0
    return event


@pytest.fixture(scope="module")
def store_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two files: ``size`` integer in one and float in the other; ``extra`` in one only."""
    root = tmp_path_factory.mktemp("derived")
    first, second = root / "a.ndjson", root / "b.ndjson"
    first.write_text("".join(json.dumps(_event(i, i % 4)) + "\n" for i in range(120)))
    events = []
    for i in range(120, 200):
        event = _event(i, (i % 8) * 0.75)
        event["extra"] = None if i % 3 else f"x{i % 2}"
        events.append(json.dumps(event) + "\n")
    second.write_text("".join(events))
    with mfq.open_store(root / "store") as opened:
        opened.ingest([first])
        opened.ingest([second])
    return root / "store"


@pytest.fixture(scope="module")
def store(store_root: Path, engine_options: dict[str, Any]) -> Iterator[Store]:
    """The store, queried with the engine under test."""
    with mfq.open_store(store_root, **engine_options) as opened:
        yield opened


def duckdb_rows(
    store: Store, select: str, where: str = "", group: str = "", value: str = "NULL"
) -> list[tuple[Any, ...]]:
    """DuckDB's answer over the store's Parquet files (``w``: the sample rate, ``v``: the
    ``value`` expression)."""
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    source = (
        f"(SELECT *, coalesce(sample_rate, 1) AS w, {value} AS v "
        f"FROM read_parquet({files!r}, union_by_name=true))"
    )
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    sql = f"SELECT {select} FROM {source}"
    sql += f" WHERE {where}" if where else ""
    sql += f" GROUP BY {group}" if group else ""
    return connection.execute(sql).fetchall()


def _absent(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (str(value) in {"NaT", "<NA>", "nan"})
    )


def same(left: object, right: object) -> bool:
    """Equal values (floats nearly so); every kind of missing value is one."""
    if _absent(left) or _absent(right):
        return _absent(left) and _absent(right)
    if isinstance(left, bool) or isinstance(right, bool):
        return bool(left) == bool(right)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return math.isclose(float(left), float(right), rel_tol=1e-9, abs_tol=1e-9)
    return str(left) == str(right)


def sorted_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows in one order whatever their types (missing values last)."""
    cleaned = [tuple(None if _absent(v) else v for v in row) for row in rows]
    return sorted(cleaned, key=lambda r: tuple((v is None, str(v)) for v in r))


def assert_same_rows(ours: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> None:
    """The same rows, in any order."""
    mine, other = sorted_rows(ours), sorted_rows(theirs)
    assert len(mine) == len(other), (mine, other)
    for a, b in zip(mine, other, strict=True):
        assert all(same(x, y) for x, y in zip(a, b, strict=True)), (a, b)


def frame_rows(frame: Any) -> list[tuple[Any, ...]]:
    """A result's rows as tuples."""
    return [tuple(row) for row in frame.itertuples(index=False)]


@pytest.mark.parametrize(("ours", "sql"), VALUES, ids=[v[0] for v in VALUES])
def test_group_by_an_expression_matches_duckdb(store: Store, ours: str, sql: str) -> None:
    result = store.query(group_by=ours, aggs=["count", "count_distinct(id)"])
    theirs = duckdb_rows(store, f"{sql} AS k, sum(w), count(DISTINCT id)", group="k")
    assert_same_rows(frame_rows(result), theirs)


@pytest.mark.parametrize(("ours", "sql"), VALUES, ids=[v[0] for v in VALUES])
def test_a_derived_field_by_service_matches_duckdb(store: Store, ours: str, sql: str) -> None:
    if ours in NUMERIC:
        aggs = ["count", "sum(v)", "min(v)", "max(v)", "p50(v)", "count_distinct(v)"]
        their_aggs = "sum(w), sum(v * w), min(v), max(v), quantile_cont(v, 0.5), count(DISTINCT v)"
    else:
        aggs, their_aggs = ["count", "count_distinct(v)"], "sum(w), count(DISTINCT v)"
    result = store.query(let=f"v = {ours}", group_by="service", aggs=aggs)
    theirs = duckdb_rows(store, f"service, {their_aggs}", group="service", value=sql)
    assert_same_rows(frame_rows(result), theirs)


@pytest.mark.parametrize(("ours", "sql"), CONDITIONS, ids=[c[0] for c in CONDITIONS])
def test_a_filter_with_functions_matches_duckdb(store: Store, ours: str, sql: str) -> None:
    result = store.query(Selection(where=ours), group_by="service", aggs=["count", "sum(amount)"])
    theirs = duckdb_rows(store, "service, sum(w), sum(amount * w)", where=sql, group="service")
    assert_same_rows(frame_rows(result), theirs)


@pytest.mark.parametrize(("ours", "sql"), CONDITIONS, ids=[c[0] for c in CONDITIONS])
def test_a_derived_condition_as_a_filter_matches_duckdb(store: Store, ours: str, sql: str) -> None:
    result = store.query(Selection(where="d"), let=[f"c = {ours}", "d=c"], aggs=["count"])
    theirs = duckdb_rows(store, "coalesce(sum(w), 0)", where=sql)
    assert_same_rows(frame_rows(result), theirs)


def test_events_show_derived_fields(store: Store) -> None:
    result = store.events(
        let=["kind = if(http_status >= 500, 'bad', 'good')", "half = amount / 2"],
        fields="id,kind,half",
        sort="id",
        limit=5,
    )
    theirs = duckdb_rows(
        store,
        "id, CASE WHEN http_status >= 500 THEN 'bad' ELSE 'good' END, amount / 2",
        group="ALL ORDER BY id LIMIT 5",
    )
    assert frame_rows(result) == [tuple(row) for row in theirs]


def test_time_series_by_an_expression_matches_duckdb(store: Store) -> None:
    result = store.timeseries(every="1d", by="if(flag, 'yes', 'no')", aggs=["count", "sum(amount)"])
    theirs = duckdb_rows(
        store,
        "time_bucket(INTERVAL 1 DAY, timestamp) AS t, CASE WHEN flag THEN 'yes' ELSE 'no' END AS k,"
        " sum(w), sum(amount * w)",
        group="t, k",
    )
    assert_same_rows(frame_rows(result), theirs)


COMPUTED = [
    ("sum(amount) / count as mean", "sum(amount * w) / sum(w)"),
    (
        "max(timestamp) - min(timestamp) as span",
        "(epoch_ns(max(timestamp)::TIMESTAMP_NS) - epoch_ns(min(timestamp)::TIMESTAMP_NS)) / 1e6",
    ),
    (
        "p50(duration_ms) * 2 - min(duration_ms) as x",
        "quantile_cont(duration_ms, 0.5) * 2 - min(duration_ms)",
    ),
    ("count(flag) / count as share", "sum(CASE WHEN flag THEN w ELSE 0 END) / sum(w)"),
    (
        "max(delta) / min(amount) as r",
        "CASE WHEN min(amount) = 0 THEN NULL ELSE max(delta) / min(amount) END",
    ),
    ("count - count_distinct(id) as repeats", "coalesce(sum(w), 0) - count(DISTINCT id)"),
]


@pytest.mark.parametrize(("ours", "sql"), COMPUTED, ids=[c[0] for c in COMPUTED])
@pytest.mark.parametrize("where", [None, "service contains 'zzz'"], ids=["all", "none"])
def test_arithmetic_over_aggregates_matches_duckdb(
    store: Store, ours: str, sql: str, where: str | None
) -> None:
    sql_where = "contains(service, 'zzz')" if where else ""
    grouped = store.query(Selection(where=where), group_by="service", aggs=["count", ours])
    theirs = duckdb_rows(store, f"service, sum(w), {sql}", where=sql_where, group="service")
    assert_same_rows(frame_rows(grouped), theirs)
    whole = store.query(Selection(where=where), as_arrow=True, aggs=[ours]).to_pandas()
    theirs = duckdb_rows(store, sql, where=sql_where)
    assert_same_rows(frame_rows(whole), theirs)


def test_arithmetic_in_having_matches_duckdb(store: Store) -> None:
    result = store.query(
        group_by="hour(timestamp)",
        aggs=["count"],
        having="sum(amount) / count >= 1.5 and max(duration_ms) - min(duration_ms) > 100",
    )
    theirs = duckdb_rows(
        store,
        "hour(timestamp) AS h, sum(w)",
        group="h HAVING sum(amount * w) / sum(w) >= 1.5 "
        "AND max(duration_ms) - min(duration_ms) > 100",
    )
    assert len(theirs) > 3
    assert_same_rows(frame_rows(result), theirs)


def test_computed_columns_keep_the_agg_order_with_other_and_total(store: Store) -> None:
    result = store.query(group_by="service", aggs=["sum(amount) / count as mean", "count"], limit=2)
    assert list(result.columns) == ["service", "mean", "count"]
    assert list(result["service"])[-2:] == ["OTHER", "TOTAL"]
    total = duckdb_rows(store, "sum(amount * w) / sum(w), sum(w)")[0]
    assert same(result["mean"].iloc[-1], total[0])
    assert result["count"].iloc[-1] == total[1]
    ranked = list(result["mean"].iloc[:2])
    assert ranked == sorted(ranked, reverse=True)  # ordered by the first --agg


def test_a_time_series_of_a_computed_column_matches_duckdb(store: Store) -> None:
    result = store.timeseries(every="1d", aggs=["sum(amount) / count as mean"])
    assert list(result.columns) == ["time", "mean"]
    theirs = duckdb_rows(
        store,
        "time_bucket(INTERVAL 1 DAY, timestamp) AS t, sum(amount * w) / sum(w)",
        group="t",
    )
    assert_same_rows(frame_rows(result), theirs)


def test_a_renamed_field_groups_as_the_field_does(store: Store) -> None:
    """A derived field that only renames a stored one is that column as read (a group
    key read as a dictionary stays one)."""
    renamed = store.query(let="svc = service", group_by="svc", aggs=["count", "p50(amount)"])
    direct = store.query(group_by="service", aggs=["count", "p50(amount)"])
    assert list(renamed.columns) == ["svc", "count", "p50(amount)"]
    assert frame_rows(renamed) == frame_rows(direct)
    theirs = duckdb_rows(store, "service, sum(w), quantile_cont(amount, 0.5)", group="service")
    assert_same_rows(frame_rows(renamed), theirs)
