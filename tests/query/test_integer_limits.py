"""A store holding integers of every width at their limits (int8 to int64, 2^53 + 1,
large ids): ``--where``, ``correlate`` and the report count exactly what DuckDB counts over
the same Parquet files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import mfq
from mfq.api import Selection, Store

LIMITS = {
    "i8": (-(2**7), 2**7 - 1),
    "i16": (-(2**15), 2**15 - 1),
    "i32": (-(2**31), 2**31 - 1),
    "i64": (-(2**63), 2**63 - 1),
}
BIG = 2**53


def _records() -> list[dict[str, object]]:
    """Per width, the limits, their neighbours, zero and one; the id-like ``flow_id``
    beyond 2^53, one apart; GitHub-like actor ids above 2^24."""
    rows: list[dict[str, object]] = []
    for index in range(40):
        row: dict[str, object] = {
            "id": f"n-{index}",
            "type": "flow" if index % 3 else "alert",
            "timestamp": f"2026-11-03T10:{index:02d}:00Z",
            "status": "error" if index % 4 == 0 else "ok",
            "flow_id": BIG + index,
            # The last 20 events (flow_id >= 2^53 + 20) by two actors, the rest by three others.
            "actor_id": 62330315 + (index % 2 if index >= 20 else 2 + index % 3),
        }
        for name, (low, high) in LIMITS.items():
            values = [low, low + 1, -1, 0, 1, high - 1, high]
            row[name] = values[index % len(values)]
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def limits(tmp_path_factory: pytest.TempPathFactory) -> Store:
    import json

    root = tmp_path_factory.mktemp("limits")
    path = root / "limits.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    store = mfq.open_store(root / "store", create=True)
    assert store.ingest([path]).ingested == 40
    return store


def _sql(store: Store) -> Callable[[str], list[tuple[object, ...]]]:
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    events = f"(SELECT * FROM read_parquet({files!r}, union_by_name=true))"
    return lambda query: duckdb.sql(query.replace("EVENTS", events)).fetchall()


def _conditions() -> list[tuple[str, str]]:
    """(mfq expression, DuckDB condition): ints exact; floats as exact decimals."""
    cases = []
    for name, (low, high) in LIMITS.items():
        for literal in (low, low + 1, high - 1, high, 0):
            for op in ("=", "<", ">=", "!="):
                sql_op = "<>" if op == "!=" else op
                cases.append((f"{name} {op} {literal}", f"{name} {sql_op} {literal}"))
        for literal in (f"{low}.5", f"{high}.5", "0.5", "1e30"):
            for op in ("<", ">", "="):
                exact = f"{name}::DECIMAL(38, 1) {op} {literal}::DOUBLE::DECIMAL(38, 1)"
                cases.append((f"{name} {op} {literal}", exact))
    cases += [
        (f"flow_id = {BIG + 1}", f"flow_id = {BIG + 1}"),
        (f"flow_id > {BIG + 30}", f"flow_id > {BIG + 30}"),
        ("actor_id > 62330316.5", "actor_id > 62330316"),
        (f"flow_id in ({BIG + 2}, {BIG + 3}.0, 1.5)", f"flow_id in ({BIG + 2}, {BIG + 3})"),
    ]
    return cases


@pytest.mark.parametrize(("expression", "condition"), _conditions())
def test_where_counts_exactly_what_duckdb_counts(
    limits: Store, expression: str, condition: str
) -> None:
    ours = int(limits.query(Selection(where=expression), aggs="count").iloc[0]["count"])
    [(theirs,)] = _sql(limits)(f"SELECT count(*) FROM EVENTS WHERE {condition}")
    assert ours == theirs, expression


def test_correlate_counts_every_bin_of_a_large_integer_exactly(limits: Store) -> None:
    result = limits.correlate(Selection(where=f"flow_id >= {BIG + 20}"))
    sql = _sql(limits)
    rows = result[result["field"] == "actor_id"]
    assert len(rows) > 0
    for row in rows.itertuples():
        [(selected, other)] = sql(
            f"SELECT count(*) FILTER (WHERE flow_id >= {BIG + 20}), "
            f"count(*) FILTER (WHERE flow_id < {BIG + 20}) FROM EVENTS "
            f"WHERE actor_id = {int(row.value)}"
        )
        assert (row.selection_count, row.baseline_count) == (selected, other)
    # Every width compared too, with no error (integer literals in their own type).
    for name in LIMITS:
        limits.correlate(Selection(where=f"{name} > 0"))


def test_the_report_breaks_down_by_an_integer_field_exactly(limits: Store) -> None:
    report = limits.report(
        Selection(since="2026-11-03T10:00Z", until="2026-11-03T11:00Z", where=f"flow_id > {BIG}"),
        by="i64",
    )
    table = report.section("errors").table("errors_by_i64").frame
    ours = {
        int(v): (int(e), int(n))
        for v, e, n in zip(table["i64"], table["errors"], table["events"], strict=True)
    }
    theirs = {
        int(v): (int(e), int(n))
        for v, e, n in _sql(limits)(
            "SELECT i64, count(*) FILTER (WHERE status = 'error'), count(*) FROM EVENTS "
            f"WHERE flow_id > {BIG} GROUP BY 1"
        )
    }
    assert ours == theirs
    assert report.metric("events").current == 39


def test_a_table_shows_identifiers_as_written(limits: Store, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mfq.cli.main import cli

    top = LIMITS["i64"][1]
    result = CliRunner().invoke(
        cli,
        [
            "events",
            "--store",
            str(limits.root),
            "--fields",
            "flow_id,i64",
            "--where",
            f"i64 = {top}",
        ],
    )
    assert result.exit_code == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[3:]]
    # An id without separators (it can be pasted back into --where), a quantity with them.
    assert rows == [[str(BIG + i), "9,223,372,036,854,775,807"] for i in (6, 13, 20, 27, 34)]


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_an_integer_key_missing_on_some_events_stays_an_integer(
    tmp_path: Path, write_ndjson: Callable[..., Path], engine: str
) -> None:
    """A port present on some events only: the group keys are the ports as written (and
    None), not floats; values beyond 2**53 stay exact."""
    ports = [443, 443, 80, None, BIG + 1]
    records = [
        {"id": f"p-{i}", "type": "conn", "timestamp": f"2026-11-03T10:00:0{i}Z"}
        | ({} if port is None else {"port": port})
        for i, port in enumerate(ports)
    ]
    store = mfq.open_store(tmp_path / "ports", create=True, engine=engine)
    store.ingest([write_ndjson(records)])
    answer = store.query(group_by="port", order_by="port")
    assert answer["port"].tolist() == [80, 443, BIG + 1, None]
    assert answer["count"].tolist() == [1, 2, 1, 1]
