"""The Dask engine: the local engine's answers, frame for frame, on data spread over many
files (groups span partitions); exact percentiles, distinct counts and deviations on
hand-made numbers; what it reads; how it fails.

Queries run on the session's in-process cluster (``dask_scheduler`` in ``conftest.py``).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import mfq
from mfq.api import Store
from mfq.cli.main import cli
from mfq.demo import DemoConfig, write_export
from mfq.errors import UnsupportedOperation, UsageError
from tests.selection import selected

# -- one store, both engines ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spread(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A week of demo events (one file per day and batch), plus a later batch where
    ``code`` is text (it is a number before: a mixed field), ``tenant`` appears, and
    events stand for several (``sample_rate``)."""
    root = tmp_path_factory.mktemp("spread")
    export = root / "demo.ndjson"
    write_export(export, DemoConfig(events=1500, seed=5))
    numbered = root / "numbered.ndjson"
    lettered = root / "lettered.ndjson"
    _write(
        numbered,
        [
            {
                "id": f"n{i}",
                "type": "job.finished",
                "timestamp": f"2026-11-1{6 + i % 4}T0{i % 10}:15:00Z",
                "code": i % 7,
                "duration_ms": 3.0 * i,
                "service": "batch",
            }
            for i in range(60)
        ],
    )
    _write(
        lettered,
        [
            {
                "id": f"l{i}",
                "type": "job.finished",
                "timestamp": f"2026-11-2{i % 3}T1{i % 10}:45:00Z",
                "code": f"E{i % 5}",
                "tenant": ["acme", "globex"][i % 2],
                "sample_rate": 1 + i % 3,
                "duration_ms": None if i % 6 == 0 else 1.5 * i,
                "service": "batch",
            }
            for i in range(45)
        ],
    )
    with mfq.open_store(root / "store") as store:
        store.ingest([export])
        store.ingest([numbered])
        store.ingest([lettered])
    return root / "store"


@pytest.fixture(scope="module")
def both(spread: Path, dask_scheduler: str) -> Iterator[tuple[Store, Store]]:
    """The store opened twice: with the local engine and with the Dask engine."""
    with (
        mfq.open_store(spread) as pandas_store,
        mfq.open_store(spread, engine="dask", scheduler=dask_scheduler) as dask_store,
    ):
        yield pandas_store, dask_store


EVERY_AGGREGATE = [
    "count",
    "count(status = 'error')",
    "ratio(http_status >= 500)",
    "count_distinct(actor_profile_id)",
    "sum(duration_ms)",
    "avg(duration_ms)",
    "min(duration_ms)",
    "max(timestamp)",
    "stddev(duration_ms)",
    "median(duration_ms)",
    "p95(duration_ms)",
    "p999(duration_ms)",
]
WEEK = {"since": "2026-11-16T00:00:00Z", "until": "2026-11-23T00:00:00Z"}
NOTHING = {"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"}

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("every aggregate by service", "query", {"group_by": "service", "aggs": EVERY_AGGREGATE}),
    ("every aggregate without groups", "query", {"aggs": EVERY_AGGREGATE}),
    (
        "limit with OTHER and TOTAL, percentiles and distinct counts, null keys",
        "query",
        {
            "group_by": "region,status",
            "limit": 4,
            "aggs": ["count", "p95(duration_ms)", "count_distinct(actor_profile_id)"],
        },
    ),
    ("limit without totals", "query", {"group_by": "type", "limit": 3, "totals": False}),
    (
        "having on an aggregate not shown, ordered",
        "query",
        {
            "group_by": "type",
            "aggs": ["count", "avg(duration_ms)"],
            "having": "p90(duration_ms) > 20 and count >= 5",
            "order_by": "-avg(duration_ms)",
        },
    ),
    ("a mixed-type field as key", "query", {"group_by": "code", "limit": 5}),
    ("a mixed-type field in a filter", "query", {"where": "code = 'E3' or code = '3'"}),
    (
        "a key absent from the range's files",
        "query",
        {"group_by": "tenant", "aggs": ["count", "p50(duration_ms)"], **WEEK},
    ),
    ("rate over a range", "query", {"group_by": "service", "aggs": ["rate", "count"], **WEEK}),
    (
        "unweighted",
        "query",
        {"group_by": "tenant", "unweighted": True, "aggs": ["count", "avg(duration_ms)"]},
    ),
    (
        "nothing matches",
        "query",
        {"where": "service = 'nope'", "aggs": ["count", "p95(duration_ms)", "min(duration_ms)"]},
    ),
    ("nothing in range, grouped", "query", {"group_by": "service", **NOTHING}),
    (
        "hourly percentiles and distinct counts by service",
        "timeseries",
        {
            "every": "1h",
            "by": "service",
            "aggs": ["count", "p95(duration_ms)", "count_distinct(actor_profile_id)"],
            **WEEK,
        },
    ),
    ("auto width, open range", "timeseries", {"where": "status != 'ok'"}),
    (
        "top series folded, UTC",
        "timeseries",
        {"every": "6h", "by": "type", "top": 3, "aggs": ["count", "ratio(status = 'error')"]},
    ),
    ("top series of a number key", "timeseries", {"every": "1d", "by": "http_status", "top": 2}),
    (
        "top over two keys, local days",
        "timeseries",
        {"every": "1d", "by": "region,status", "top": 4, "tz": "Europe/Paris"},
    ),
    (
        "local days, percentiles",
        "timeseries",
        {"every": "1d", "tz": "America/New_York", "aggs": ["count", "p50(duration_ms)"]},
    ),
    ("empty range, gaps filled", "timeseries", {"every": "2h", **NOTHING}),
    # Analyses built on query descriptions run on the store's engine too.
    ("correlate", "correlate", {"where": "status = 'error'"}),
    ("anomalies", "anomalies", {"by": "region", "every": "30m"}),
    (
        "slo",
        "slo",
        {"bad": "status = 'error'", "target": 99, "now": "2026-11-23T00:00:00Z"},
    ),
    ("the tail", "events", {"limit": 25}),
    (
        "sorted, limited, chosen fields",
        "events",
        {"sort": ["-duration_ms", "type"], "limit": 10, "fields": "type,duration_ms,service"},
    ),
    (
        "a filter on text, every match",
        "events",
        {"where": "type startswith 'order'", "fields": "id,type,code,tenant"},
    ),
    ("nothing in range", "events", NOTHING),
]


@pytest.mark.parametrize(("method", "options"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_dask_answers_equal_pandas_answers(
    both: tuple[Store, Store], method: str, options: dict[str, Any]
) -> None:
    pandas_store, dask_store = both
    expected = getattr(pandas_store, method)(**selected(options))
    answer = getattr(dask_store, method)(**selected(options))
    # Same columns, dtypes, row order and values; floats to 1e-9 (sums run in another order).
    pd.testing.assert_frame_equal(answer, expected, check_exact=False, rtol=1e-9, atol=1e-12)


def test_the_cases_are_not_vacuous(both: tuple[Store, Store]) -> None:
    pandas_store, _ = both
    sizes = [
        len(getattr(pandas_store, method)(**selected(options))) for _, method, options in CASES
    ]
    assert sum(size > 1 for size in sizes) >= 15
    other = pandas_store.query(group_by="region,status", limit=4)
    assert other.iloc[-2]["region"] == "OTHER" and other.iloc[-1]["region"] == "TOTAL"


# -- exact numbers on hand-made data ---------------------------------------------------------


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="module")
def three_days(tmp_path_factory: pytest.TempPathFactory, dask_scheduler: str) -> Iterator[Store]:
    """Group ``a``: durations 1..10 on three days (three files), users u1-u3; group ``b``:
    5 and 7, user u1; group ``c``: 2, 4, 4, 4, 5, 5, 7, 9; group ``d``: 1e9 + 0, 1, 2."""
    root = tmp_path_factory.mktemp("three")
    records: list[dict[str, Any]] = []

    def add(group: str, value: float, user: str) -> None:
        i = len(records)
        records.append(
            {
                "id": f"e{i}",
                "type": "t",
                "timestamp": f"2026-11-0{1 + i % 3}T12:00:{i:02d}Z",
                "group": group,
                "duration_ms": value,
                "user": user,
            }
        )

    for value in range(1, 11):
        add("a", float(value), f"u{1 + value % 3}")
    for value in (5.0, 7.0):
        add("b", value, "u1")
    for value in (2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0):
        add("c", value, "u1")
    for offset in (0.0, 1.0, 2.0):
        add("d", 1e9 + offset, "u1")
    export = root / "three.ndjson"
    _write(export, records)
    with mfq.open_store(root / "store", engine="dask", scheduler=dask_scheduler) as store:
        store.ingest([export])
        assert len(store.catalog.files("events")) == 3
        yield store


def test_percentiles_and_distinct_counts_are_exact_across_files(three_days: Store) -> None:
    result = three_days.query(
        group_by="group",
        aggs=["p50(duration_ms)", "p90(duration_ms)", "count_distinct(user)", "count"],
        order_by="group",
    ).set_index("group")
    # Linear between closest ranks: 1..10 at rank 0.9 * 9 = 8.1 is 9 + 0.1 * (10 - 9).
    assert result.loc["a"].tolist() == [5.5, pytest.approx(9.1), 3, 10]
    assert result.loc["b"].tolist() == [6.0, pytest.approx(6.8), 1, 2]
    assert result.loc["c", "p50(duration_ms)"] == 4.5


def test_stddev_merges_exactly_across_files(three_days: Store) -> None:
    result = three_days.query(group_by="group", aggs=["stddev(duration_ms)"], order_by="group")
    deviation = dict(zip(result["group"], result["stddev(duration_ms)"], strict=True))
    assert deviation["c"] == pytest.approx(math.sqrt(32 / 7), rel=1e-12)
    # Around 1e9 a sum of squares would lose every digit; merged moments keep them.
    assert deviation["d"] == pytest.approx(1.0, rel=1e-9)


def test_distinct_counts_without_groups_count_each_value_once(three_days: Store) -> None:
    result = three_days.query(aggs=["count_distinct(user)", "count", "p50(duration_ms)"])
    # u1, u2, u3 appear in every file and group: 3 values, not a sum of per-file counts.
    assert result.iloc[0].tolist() == [3, 23, 5.0]


def test_other_and_total_rows_are_exact_not_sums_of_groups(three_days: Store) -> None:
    result = three_days.query(
        group_by="group",
        aggs=["count", "count_distinct(user)", "p50(duration_ms)"],
        limit=1,
        order_by="group",
    )
    assert result["group"].tolist() == ["a", "OTHER", "TOTAL"]
    other, total = result.iloc[1], result.iloc[2]
    # b, c and d: 13 events, all by u1; their median is the 7th of 13 sorted values, 5.
    assert [other["count"], other["count_distinct(user)"], other["p50(duration_ms)"]] == [
        13,
        1,
        5.0,
    ]
    assert [total["count"], total["count_distinct(user)"], total["p50(duration_ms)"]] == [
        23,
        3,
        5.0,
    ]


# -- what it reads ----------------------------------------------------------------------------


def test_reads_the_files_of_the_range_with_the_filter_pushed_down(three_days: Store) -> None:
    from mfq.query.engines.dask import _files
    from mfq.query.expr import parse_filter
    from mfq.query.timerange import TimeRange

    day = TimeRange.model_validate(
        {"since": "2026-11-02T00:00:00Z", "until": "2026-11-03T00:00:00Z"}
    )
    where = (parse_filter("user = 'u1'"),)
    files = _files(three_days, ["group"], where, day)
    assert len(files.paths) == 1 and "date=2026-11-02" in files.paths[0]
    assert files.read.columns == ("group", "timestamp")  # user only filters: not returned
    assert files.read.dictionary == ("user",)  # ... and is read as a dictionary
    table = files.read.table(files.paths[0], files.stored[0])
    assert table.column_names == ["group", "timestamp"]
    # Day 2 holds events 1, 4, ..., 22 (every third); by u1: one of b, three of c, one of d.
    assert table.column("group").to_pylist() == ["b", "c", "c", "c", "d"]


# Dask's Parquet reader still calls a pandas API that pandas 3.1 deprecates.
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")
def test_the_docs_examples_of_reading_the_store_directly_run(
    spread: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/dask.md's Dask and DuckDB examples, run as written on a store at ``.mfq``."""
    import re
    import shutil

    import duckdb

    from tests.conftest import REPO

    text = (REPO / "docs" / "dask.md").read_text(encoding="utf-8")
    section = text.split("## Reading the store without mfq", 1)[1]
    dask_example = re.findall(r"```python\n(.*?)```", section, re.DOTALL)[0]
    duckdb_sql = re.findall(r'duckdb -c "(.*?)"', section)[0]
    shutil.copytree(spread, tmp_path / ".mfq")
    monkeypatch.chdir(tmp_path)
    names: dict[str, Any] = {}
    exec(dask_example, names)  # the example as a user would paste it
    means = names["events"].groupby("service").duration_ms.mean().compute()
    duck = dict(duckdb.sql(duckdb_sql).fetchall())
    assert len(means) >= 5 and set(means.index) <= set(duck)


# -- errors ----------------------------------------------------------------------------------


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_without_dask_the_engine_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, spread: Path
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(UsageError, match=r"pip install 'mfq\[dask\]'"):
        mfq.open_store(spread, engine="dask")
    code, out, err = invoke("query", "--store", str(spread), "--engine", "dask")
    assert (code, out) == (2, "")
    assert err == (
        "mfq: error: --engine dask needs Dask and distributed (pip install 'mfq[dask]')\n"
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--scheduler", "tcp://h:1"], {}, "--scheduler applies to --engine dask only"),
        (
            ["--engine", "dask", "--scheduler", "no port"],
            {},
            "--scheduler: bad address 'no port' (use tcp://HOST:PORT)",
        ),
        (
            [],
            {"MFQ_ENGINE": "dask", "MFQ_DASK_SCHEDULER": "http://h:1"},
            "--scheduler: bad address 'http://h:1' (use tcp://HOST:PORT)",
        ),
        (
            [],
            {"MFQ_ENGINE": "spark"},
            "Invalid value for '--engine': 'spark' is not one of 'local', 'dask', 'pandas'.",
        ),
    ],
)
def test_engine_mistakes_are_one_line_and_exit_2(
    spread: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    code, out, err = invoke("query", "--store", str(spread), *args, env=env)
    assert (code, out) == (2, "")
    assert err.startswith(f"mfq: error: {message}") and err.count("\n") == 1


def test_an_unreachable_scheduler_is_one_line(
    monkeypatch: pytest.MonkeyPatch, spread: Path
) -> None:
    import mfq.query.engines.dask as engine

    monkeypatch.setattr(engine, "CONNECT_TIMEOUT", "0.5s")
    code, out, err = invoke(
        "query", "--store", str(spread), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"
    )
    assert (code, out) == (2, "")
    assert err.startswith("mfq: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert err.count("\n") == 1


def test_an_aggregate_the_engine_lacks_is_refused_not_guessed(
    monkeypatch: pytest.MonkeyPatch, spread: Path, dask_scheduler: str
) -> None:
    """Were the registry to gain an aggregate the algebra does not define, the engine
    refuses it with a typed error (exit 2), and never falls back to another engine."""
    import dataclasses

    import mfq.query.engines.algebra as engine
    from mfq.query.expr import aggregate_spec

    def unknown(name: str) -> Any:
        spec = aggregate_spec(name)
        return dataclasses.replace(spec, name="mode", quantile=None) if name == "median" else spec

    monkeypatch.setattr(engine, "aggregate_spec", unknown)
    with (
        mfq.open_store(spread, engine="dask", scheduler=dask_scheduler) as store,
        pytest.raises(UnsupportedOperation),
    ):
        store.query(aggs=["median(duration_ms)"])
    code, _, err = invoke(
        "query",
        "--store",
        str(spread),
        "--engine",
        "dask",
        "--scheduler",
        dask_scheduler,
        "--agg",
        "median(duration_ms)",
    )
    assert code == 2
    assert err == "mfq: error: aggregate 'mode' is not supported by the engines\n"


# -- the command line and the store's engine ---------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["query", "--group-by", "service", "--agg", "p95(duration_ms)", "--limit", "3"],
        ["timeseries", "--every", "1d", "--by", "type", "--top", "3"],
        ["events", "--where", "status = 'error'", "--limit", "5"],
    ],
    ids=["query", "timeseries", "events"],
)
def test_commands_print_the_same_on_both_engines(
    spread: Path, dask_scheduler: str, args: list[str]
) -> None:
    common = [*args, "--store", str(spread), "--format", "json", "--totals"]
    if args[0] != "query":
        common.remove("--totals")
    pandas_run = invoke(*common)
    dask_run = invoke(*common, "--engine", "dask", "--scheduler", dask_scheduler)
    environment_run = invoke(
        *common, env={"MFQ_ENGINE": "dask", "MFQ_DASK_SCHEDULER": dask_scheduler}
    )
    assert pandas_run[0] == 0 and len(json.loads(pandas_run[1])) > 2
    assert dask_run == pandas_run and environment_run == pandas_run


def test_input_files_are_queried_on_dask_too(tmp_path: Path, dask_scheduler: str) -> None:
    export = tmp_path / "e.ndjson"
    _write(
        export,
        [
            {"id": f"x{i}", "type": "t", "timestamp": f"2026-11-0{1 + i % 2}T10:00:0{i}Z", "n": i}
            for i in range(6)
        ],
    )
    code, out, _ = invoke(
        "query",
        str(export),
        "--engine",
        "dask",
        "--scheduler",
        dask_scheduler,
        "--agg",
        "sum(n)",
        "--format",
        "json",
    )
    assert code == 0 and json.loads(out) == [{"sum(n)": 15}]


def test_the_engine_can_be_switched_and_reconnects_after_close(
    three_days: Store, dask_scheduler: str
) -> None:
    root = three_days.root
    with mfq.open_store(root) as store:
        assert store.engine == "local"
        before = store.query(group_by="group", aggs=["p50(duration_ms)"])
        store.use_engine("dask", scheduler=dask_scheduler)
        assert store.engine == "dask"
        pd.testing.assert_frame_equal(
            store.query(group_by="group", aggs=["p50(duration_ms)"]), before
        )
        store.close()  # releases the client; a later query connects again
        pd.testing.assert_frame_equal(
            store.query(group_by="group", aggs=["p50(duration_ms)"]), before
        )
        store.use_engine("pandas")  # the local engine's former name
        assert store.engine == "local"


def test_the_report_is_the_same_on_both_engines(both: tuple[Store, Store]) -> None:
    """The weekly report is built from query descriptions only, so it reads the same."""
    from mfq.report import ReportFormat, render_report

    pandas_store, dask_store = both
    options = {"since": "2026-11-16", "until": "2026-11-23"}
    expected = render_report(pandas_store.report(**selected(options)), ReportFormat.MARKDOWN)
    answer = render_report(dask_store.report(**selected(options)), ReportFormat.MARKDOWN)
    assert expected.count("\n|") > 40  # tables with rows, not an empty report
    assert answer == expected
