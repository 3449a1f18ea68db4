"""Numbers compared as what they are: every integer width against int and float literals
at the type limits, each answer checked against DuckDB's."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from mfq.query.compile import compile_filter
from mfq.query.expr import parse_filter

WIDTHS = {
    "int8": (pa.int8(), "TINYINT", 7),
    "int16": (pa.int16(), "SMALLINT", 15),
    "int32": (pa.int32(), "INTEGER", 31),
    "int64": (pa.int64(), "BIGINT", 63),
}
OPS = ("=", "!=", "<", "<=", ">", ">=")


def _column(bits: int) -> list[int | None]:
    low, high = -(2**bits), 2**bits - 1
    return [low, low + 1, -1, 0, 1, 62330315 % high, high - 1, high, None]


def _literals(bits: int) -> list[str]:
    low, high = -(2**bits), 2**bits - 1
    whole = [low - 1, low, low + 1, 0, 1, high - 1, high, high + 1, 2**53 + 1, -(2**63)]
    fractional = [f"{high}.5", f"{low}.5", "-0.5", "0.5", "1.5", "62330315.5", "1e30", "-1e30"]
    return [str(v) for v in whole if -(2**63) <= v < 2**63] + fractional


def _cases() -> list[tuple[str, str, str]]:
    return [
        (width, op, literal)
        for width, (_, _, bits) in WIDTHS.items()
        for op in OPS
        for literal in _literals(bits)
    ]


@pytest.mark.parametrize(("width", "op", "literal"), _cases())
def test_integer_columns_against_literals_match_duckdb(width: str, op: str, literal: str) -> None:
    kind, sql_type, bits = WIDTHS[width]
    values = _column(bits)
    events = pa.table({"n": pa.array(values, type=kind), "row": list(range(len(values)))})
    expr = parse_filter(f"n {op} {literal}")
    ours = ds.dataset(events).to_table(filter=compile_filter(expr, events.schema))["row"]
    sql_op = "<>" if op == "!=" else op
    # A float literal is read as a double (as our parser does). DuckDB compares an integer
    # with a double as two doubles, which rounds past 2^53 (2^63 - 1 "equals" 2^63); mfq
    # compares exactly, so DuckDB is asked in exact decimals.
    if "." in literal or "e" in literal:
        left, right = "n::DECIMAL(38, 1)", f"{literal}::DOUBLE::DECIMAL(38, 1)"
    else:
        left, right = f"n::{sql_type}", literal
    rows = duckdb.sql(f"select row from events where {left} {sql_op} {right} order by row")
    assert ours.to_pylist() == [r[0] for r in rows.fetchall()]


@pytest.mark.parametrize("op", OPS)
def test_literal_first_reads_as_the_mirrored_comparison(op: str) -> None:
    events = pa.table({"n": pa.array([2**62, 3, None], type=pa.int64())})
    compiled = compile_filter(parse_filter(f"2.5 {op} n"), events.schema)
    flipped = ds.dataset(events).to_table(filter=compiled)
    rows = duckdb.sql(
        f"select n from events where 2.5::DOUBLE {op.replace('!=', '<>')} n"
    ).fetchall()
    assert sorted(flipped["n"].to_pylist()) == sorted(r[0] for r in rows)


def test_int64_beyond_2_to_53_is_exact() -> None:
    big = 2**53
    table = pa.table({"n": pa.array([big, big + 1, big + 2], type=pa.int64())})
    for text, expected in [
        (f"n = {big + 1}", [big + 1]),
        (f"n > {big}", [big + 1, big + 2]),
        (f"n in ({big + 1}, 1.5, {big + 2}.0)", [big + 1, big + 2]),
        (f"n not in ({big})", [big + 1, big + 2]),
    ]:
        got = ds.dataset(table).to_table(filter=compile_filter(parse_filter(text), table.schema))
        assert got["n"].to_pylist() == expected, text


def test_float_columns_take_integer_literals_beyond_2_to_24() -> None:
    table = pa.table({"x": pa.array([1.5, 62330315.0, 2.0**60], type=pa.float64())})
    got = ds.dataset(table).to_table(
        filter=compile_filter(parse_filter(f"x >= 62330315 and x <= {2**60}"), table.schema)
    )
    assert got["x"].to_pylist() == [62330315.0, 2.0**60]


def test_an_integer_field_meets_a_float_field_as_doubles() -> None:
    table = pa.table(
        {"n": pa.array([62330315, 1], type=pa.int64()), "x": pa.array([62330315.5, 0.5])}
    )
    got = ds.dataset(table).to_table(filter=compile_filter(parse_filter("n < x"), table.schema))
    assert got["n"].to_pylist() == [62330315]  # 1 < 0.5 is false
