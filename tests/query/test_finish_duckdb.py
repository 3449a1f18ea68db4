"""The steps that once fell back to pandas, against DuckDB SQL on every engine:
``--having``, OTHER/TOTAL rows when ``--limit`` cuts groups, day buckets in a display
zone across a daylight-saving change, and percentiles of more than 50,000 groups (the
local engine's sorted path). Each test runs once per engine (``conftest.py``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import mfq
from mfq.api import Selection, Store
from mfq.demo import DemoConfig, write_export
from mfq.query.engines.quantiles import LOOP_GROUPS


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finish")
    export = root / "demo.ndjson"
    write_export(export, DemoConfig(events=5000, seed=23))
    with mfq.open_store(root / "store") as opened:
        opened.ingest([export])
    return root / "store"


@pytest.fixture(scope="module")
def demo(demo_root: Path, engine_options: dict[str, Any]) -> Iterator[Store]:
    with mfq.open_store(demo_root, **engine_options) as opened:
        yield opened


def _source(store: Store) -> str:
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    return (
        "(SELECT *, coalesce(sample_rate, 1) AS w "
        f"FROM read_parquet({files!r}, union_by_name=true))"
    )


def _same(left: object, right: object) -> bool:
    absent = [v is None or (isinstance(v, float) and math.isnan(v)) for v in (left, right)]
    if any(absent):
        return all(absent)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return math.isclose(float(left), float(right), rel_tol=1e-9, abs_tol=1e-9)
    return str(left) == str(right)


def _rows_equal(ours: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> None:
    assert len(ours) == len(theirs), (ours[:5], theirs[:5])
    for mine, other in zip(ours, theirs, strict=True):
        assert all(_same(a, b) for a, b in zip(mine, other, strict=True)), (mine, other)


def _records(table: Any) -> list[tuple[Any, ...]]:
    return [tuple(row.values()) for row in table.to_pylist()]


_AGGS = [
    ("count", "coalesce(sum(w), 0)"),
    ("p95(duration_ms)", "quantile_cont(duration_ms, 0.95)"),
    (
        "avg(duration_ms)",
        "sum(duration_ms * w) / sum(CASE WHEN duration_ms IS NOT NULL THEN w END)",
    ),
    ("count_distinct(actor_profile_id)", "count(DISTINCT actor_profile_id)"),
]
_HAVING = [
    ("count > 300", "coalesce(sum(w), 0) > 300"),
    (
        "p95(duration_ms) > 100 and count >= 20",
        "quantile_cont(duration_ms, 0.95) > 100 AND coalesce(sum(w), 0) >= 20",
    ),
    (
        "ratio(status = 'error') > 0.02 or service = 'search'",
        "(sum(CASE WHEN status = 'error' THEN w ELSE 0 END)::DOUBLE / sum(w) > 0.02"
        " OR service = 'search')",
    ),
    ("sum(duration_ms) / count > 40", "sum(duration_ms * w) / coalesce(sum(w), 0) > 40"),
    ("not (count < 100)", "NOT (coalesce(sum(w), 0) < 100)"),
    ("max(http_status) >= 500", "max(http_status) >= 500"),
]


@pytest.mark.parametrize(("having", "sql_having"), _HAVING)
@pytest.mark.parametrize("group_by", [["service"], ["service", "region"]])
def test_having_matches_duckdb(
    demo: Store, having: str, sql_having: str, group_by: list[str]
) -> None:
    aggs = ["count", "p95(duration_ms)"]
    ours = demo.query(as_arrow=True, group_by=group_by, aggs=aggs, having=having, order_by=group_by)
    keys = ", ".join(group_by)
    theirs = duckdb.sql(
        f"SELECT {keys}, coalesce(sum(w), 0), quantile_cont(duration_ms, 0.95)"
        f" FROM {_source(demo)} GROUP BY {keys} HAVING {sql_having}"
        f" ORDER BY {', '.join(f'{k} NULLS LAST' for k in group_by)}"
    ).fetchall()
    assert len(theirs) > 0
    _rows_equal(_records(ours), theirs)


@pytest.mark.parametrize("group_by", [["type"], ["service", "status"], ["http_status"]])
def test_other_and_total_rows_match_duckdb(demo: Store, group_by: list[str]) -> None:
    """The first 3 groups by count (ties by key), then OTHER: the groups cut, as one;
    TOTAL: every event. Percentiles and distinct counts of OTHER and TOTAL are over
    their events, not sums of groups."""
    aggs = [name for name, _sql in _AGGS]
    sql_aggs = ", ".join(sql for _name, sql in _AGGS)
    ours = demo.query(as_arrow=True, group_by=group_by, aggs=aggs, limit=3, totals=True)
    keys = ", ".join(group_by)
    order = ", ".join(f"{k} ASC NULLS LAST" for k in group_by)
    source = _source(demo)
    groups = duckdb.sql(
        f"SELECT {keys}, {sql_aggs} FROM {source} GROUP BY {keys}"
        f" ORDER BY coalesce(sum(w), 0) DESC, {order}"
    ).fetchall()
    kept = groups[:3]
    assert len(groups) > 3  # the limit cuts groups
    width = len(group_by)
    match = " AND ".join(f"{k} IS NOT DISTINCT FROM ${i + 1}" for i, k in enumerate(group_by))
    cut = " OR ".join(f"({match.replace('$', f'$g{n}_')})" for n in range(len(kept)))
    parameters = {f"g{n}_{i + 1}": row[i] for n, row in enumerate(kept) for i in range(width)}
    other = duckdb.execute(
        f"SELECT {sql_aggs} FROM {source} WHERE NOT ({cut})", parameters
    ).fetchall()[0]
    total = duckdb.sql(f"SELECT {sql_aggs} FROM {source}").fetchall()[0]
    blanks = (None,) * (width - 1)
    expected = [
        *((_text(r[0]), *r[1:]) if group_by == ["http_status"] else r for r in kept),
        ("OTHER", *blanks, *other),
        ("TOTAL", *blanks, *total),
    ]
    _rows_equal(_records(ours), expected)


def _text(value: object) -> str | None:
    """A number key as the result shows it beside the OTHER and TOTAL labels."""
    return None if value is None else str(value)


def _hourly(start: datetime, hours: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"h{i}",
            "type": "tick",
            "service": "a" if i % 3 else "b",
            "timestamp": (start + timedelta(hours=i, minutes=10)).isoformat(),
            "duration_ms": float((i * 37) % 101),
        }
        for i in range(hours)
    ]


@pytest.mark.parametrize(("tz", "start"), [("Europe/Paris", 22), ("America/New_York", 28)])
def test_local_day_buckets_across_a_clock_change_match_duckdb(
    tmp_path: Path,
    write_ndjson: Callable[..., Path],
    open_engine_store: Callable[[Path], Store],
    tz: str,
    start: int,
) -> None:
    """A week of hourly events around the autumn change (Paris on 2026-10-25, New York
    on 2026-11-01): one bucket per local day (one of 25 hours), per service."""
    store = open_engine_store(tmp_path / "s")
    first = datetime(2026, 10, start, tzinfo=UTC)
    store.ingest([write_ndjson(_hourly(first, 24 * 7))])
    since, until = first.isoformat(), (first + timedelta(days=7)).isoformat()
    ours = store.timeseries(
        Selection(since=since, until=until),
        as_arrow=True,
        every="1d",
        tz=tz,
        by=["service"],
        aggs=["count", "p50(duration_ms)"],
    )
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    bucket = f"timezone('{tz}', time_bucket(INTERVAL '1 day', timezone('{tz}', timestamp)))"
    theirs = duckdb.sql(
        f"SELECT {bucket} AS t, service, count(*), quantile_cont(duration_ms, 0.5)"
        f" FROM read_parquet({files!r}) GROUP BY ALL ORDER BY t, service"
    ).fetchall()
    found = [
        (row["time"].timestamp(), row["service"], row["count"], row["p50(duration_ms)"])
        for row in ours.to_pylist()
        if row["count"]
    ]
    expected = [(r[0].timestamp(), *r[1:]) for r in theirs]
    _rows_equal(found, expected)
    per_day: dict[float, int] = {}
    for time, _service, count, _p50 in expected:
        per_day[time] = per_day.get(time, 0) + count
    assert 25 in per_day.values()  # the day the clocks went back


def test_percentiles_of_more_groups_than_the_loop_takes_match_duckdb(
    tmp_path: Path, write_ndjson: Callable[..., Path], open_engine_store: Callable[[Path], Store]
) -> None:
    """More than 50,000 groups: percentiles from one sort of every value by group."""
    groups = LOOP_GROUPS + 1000
    records = [
        {
            "id": f"e{i}",
            "type": "t",
            "timestamp": f"2026-11-03T10:{i % 60:02d}:00Z",
            "user": f"u{i % groups}",
            "duration_ms": float((i * 7919) % 1013) / 4,
        }
        for i in range(groups * 3 - 500)  # most groups 3 values, some 2
    ]
    store = open_engine_store(tmp_path / "s")
    store.ingest([write_ndjson(records)])
    aggs = ["count", "p50(duration_ms)", "p95(duration_ms)", "p999(duration_ms)"]
    ours = store.query(as_arrow=True, group_by=["user"], aggs=aggs, order_by=["user"])
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    theirs = duckdb.sql(
        "SELECT user, count(*), quantile_cont(duration_ms, 0.5),"
        " quantile_cont(duration_ms, 0.95), quantile_cont(duration_ms, 0.999)"
        f" FROM read_parquet({files!r}) GROUP BY user ORDER BY user"
    ).fetchall()
    assert len(theirs) == groups
    _rows_equal(_records(ours), theirs)
