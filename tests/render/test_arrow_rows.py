"""A pyarrow Table renders exactly as its DataFrame does, and without pandas.

The query commands hand ``render`` a Table in a process that never imports pandas. The
oracle is the DataFrame path: every hand-built table below is rendered both as the Table
and as ``table.to_pandas()``, in every format, and the bytes must be equal. pandas is only
reached through ``to_pandas()``, so a fresh interpreter that cannot import pandas can
import this module and render the same tables (the subprocess test at the end).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

import mfq.render.arrow
from mfq.env import Env
from mfq.render import OutputFormat
from mfq.render.arrow import timedelta_text
from mfq.render.result import rows_from_arrow

from .support import Output, render_to_text

NS = 1_000_000_000
NOV_3 = 1_793_700_000  # 2026-11-03T10:00:00Z in epoch seconds
PLUS_TWO = timezone(timedelta(hours=2))

HOSTILE = [
    "[bold]x[/]",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://x\x07click\x1b]8;;\x07",
    "two\nlines",
    "=cmd()",
    "+1",
    "-2",
    "@sum(A1)",
    "héllo ✓ 日本 👩‍💻",
    "fake\rline",
    "csi\x9b31m",
    "\u202eevil",
    "a|b_c*d",
    None,
]


def _int_columns() -> pa.Table:
    return pa.table(
        {
            "count": pa.array([1, None, 3_000_000, -4], pa.int64()),
            "plain": pa.array([1, 2, 3, 4], pa.int64()),
            "small": pa.array([7, None, 0, 1], pa.uint8()),
            "big": pa.array([2**62 + 1, 5, 6, 7], pa.int64()),
        }
    )


def _float_columns() -> pa.Table:
    return pa.table(
        {
            "ratio": pa.array([1.5, None, float("nan"), 12345.678, -0.0], pa.float64()),
            "duration_ms": pa.array([850.0, None, 1250.0, 125_000.0, float("inf")]),
            "single": pa.array([0.1, None, 2.5, float("nan"), 1e-7], pa.float32()),
            "p95_ms": pa.array([None, None, None, None, None], pa.float64()),
        }
    )


def _hostile_strings() -> pa.Table:
    return pa.table(
        {
            "value": pa.array(HOSTILE, pa.string()),
            "\x1b[31mcol\x1b[0m": pa.array(range(len(HOSTILE)), pa.int64()),
            "=name [b]x[/b]": pa.array(HOSTILE[::-1], pa.large_string()),
        }
    )


def _timestamps() -> pa.Table:
    return pa.table(
        {
            "time": pa.array(
                [NOV_3 * NS + 123_456_789, NOV_3 * NS, -1, None, NOV_3 * NS + 500_000_000],
                pa.timestamp("ns", tz="UTC"),
            ),
            "naive": pa.array([NOV_3 * NS + 999, -1_000_000_001, 0, 1, 2], pa.timestamp("ns")),
            "paris": pa.array(
                [NOV_3 * 1000 + 1, None, 0, 86_400_000, 5], pa.timestamp("ms", tz="Europe/Paris")
            ),
            "day": pa.array([date(2026, 11, 3), None, date(1970, 1, 1), None, None]),
        }
    )


def _dictionaries_and_bools() -> pa.Table:
    return pa.table(
        {
            "service": pa.array(["api", None, "api", "[b]web[/b]", "\x1b[1mx"]).dictionary_encode(),
            "code": pa.array([500, None, 200, 500, 404]).dictionary_encode(),
            "ok": pa.array([True, None, False, True, False]),
            "flag": pa.array([True, False, False, True, True]),
        }
    )


def _nested() -> pa.Table:
    point = pa.struct([("x", pa.int64()), ("at", pa.timestamp("ms", tz="UTC"))])
    return pa.table(
        {
            "tags": pa.array([["a", None, "=b"], [], None, ["\x1b[31m"]], pa.list_(pa.string())),
            "counts": pa.array([[1, None], [2], None, []], pa.list_(pa.int64())),
            "times": pa.array(
                [[NOV_3 * NS + 1], None, [], [None]], pa.list_(pa.timestamp("ns", tz="UTC"))
            ),
            "point": pa.array(
                [{"x": 1, "at": NOV_3 * 1000}, None, {"x": None, "at": None}, {"x": 3, "at": 0}],
                point,
            ),
            "attrs": pa.array(
                [[("k", 1)], [("j", None)], None, []], pa.map_(pa.string(), pa.int64())
            ),
        }
    )


def _more_nested() -> pa.Table:
    # pandas' own quirks included: a struct field's ns timestamp is an integer there.
    point = pa.struct([("x", pa.int64())])
    stamp = pa.struct([("t", pa.timestamp("ns", tz="UTC")), ("d", pa.duration("ms"))])
    return pa.table(
        {
            "fixed": pa.array([[1, None], [3, 4], None, [5, 6]], pa.list_(pa.int64(), 2)),
            "large": pa.array([["a"], None, ["b", None], []], pa.large_list(pa.string())),
            "view": pa.array([[1, None], [], None, [2]], pa.list_view(pa.int64())),
            "points": pa.array([[{"x": 1}, {"x": None}], [], None, [None]], pa.list_(point)),
            "stamp": pa.array(
                [{"t": NOV_3 * NS + 7, "d": 1500}, None, {"t": None, "d": None}, {"t": 0, "d": 0}],
                stamp,
            ),
            "spans": pa.array([[1500, None], None, [], [0]], pa.list_(pa.duration("ms"))),
            "nanos": pa.array([[1500, None], None, [], [0]], pa.list_(pa.duration("ns"))),
            "seen": pa.array(
                [[("a", NOV_3 * 1000)], None, [("b", None)], []],
                pa.map_(pa.string(), pa.timestamp("ms", tz="UTC")),
            ),
        }
    )


def _chunked() -> pa.Table:
    # A null in one chunk leaves every chunk's integers integers; struct fields are
    # converted chunk by chunk.
    point = pa.struct([("x", pa.int64())])
    return pa.table(
        {
            "n": pa.chunked_array([[1, 2, 3], [None, 5], [6, 7, 8, 9, 10]], pa.int64()),
            "tags": pa.chunked_array(
                [[["a"], [None], []], [["b"]] * 2, [["c"]] * 5], pa.list_(pa.string())
            ),
            "items": pa.chunked_array([[[1], [2], [3]], [[None], [4]], [[5]] * 5]),
            "point": pa.chunked_array([[{"x": None}] * 3, [{"x": 1}] * 2, [{"x": 2}] * 5], point),
            "label": pa.chunked_array([["x"] * 3, ["y"] * 2, ["z"] * 5]).dictionary_encode(),
        }
    )


def _other_types() -> pa.Table:
    return pa.table(
        {
            "elapsed": pa.array(
                [1_500_000_000, None, -1_500_000_001, 3 * 86_400 * NS + 5, 0], pa.duration("ns")
            ),
            "amount": pa.array([Decimal("1.50"), None, Decimal("2"), None, Decimal("-0.25")]),
            "blob": pa.array([b"ab", None, b"\x1b[31m", b"", b"x"]),
            "clock": pa.array([time(1, 2, 3), None, time(0, 0), time(23, 59, 59, 1), None]),
            "nothing": pa.nulls(5),
            "half": pa.array([1.5, None, 0.25, 2, 3], pa.float16()),
        }
    )


def _empty() -> pa.Table:
    return pa.table(
        {
            "time": pa.array([], pa.timestamp("ns", tz="UTC")),
            "count": pa.array([], pa.int64()),
            "tags": pa.array([], pa.list_(pa.string())),
        }
    )


TABLES: dict[str, Callable[[], pa.Table]] = {
    "ints": _int_columns,
    "floats": _float_columns,
    "hostile": _hostile_strings,
    "timestamps": _timestamps,
    "dictionaries": _dictionaries_and_bools,
    "nested": _nested,
    "more nested": _more_nested,
    "sliced": lambda: pa.concat_tables([_nested(), _nested()]).slice(3, 4),
    "chunked": _chunked,
    "other": _other_types,
    "empty": _empty,
}

# (format, options): every format, plus the options that change what is written.
RENDERINGS: list[tuple[OutputFormat, dict[str, object]]] = [
    (OutputFormat.TABLE, {"title": "t \x1b[31m[b]x[/b]"}),
    (OutputFormat.TABLE, {"colour": True, "width": 200, "display_tz": PLUS_TWO}),
    (OutputFormat.JSON, {}),
    (OutputFormat.NDJSON, {}),
    (OutputFormat.CSV, {}),
    (OutputFormat.CSV, {"raw": True}),
    (OutputFormat.MARKDOWN, {"display_tz": PLUS_TWO}),
]
RENDERING_IDS = ["table", "table-colour-tz", "json", "ndjson", "csv", "csv-raw", "markdown"]


def as_dataframe(table: pa.Table) -> object:
    """The DataFrame a Table must render like: integer columns with nulls keep integers
    (Python ints beside None), which pandas' default conversion would turn into floats."""
    return table.to_pandas(integer_object_nulls=True)


def render_arrow_and_frame(
    table: pa.Table, fmt: OutputFormat, options: dict[str, object]
) -> tuple[Output, Output]:
    """The table rendered as itself and as its DataFrame."""
    as_table = render_to_text(table, fmt, **options)  # type: ignore[arg-type]
    as_frame = render_to_text(as_dataframe(table), fmt, **options)  # type: ignore[arg-type]
    return as_table, as_frame


@pytest.mark.parametrize(("fmt", "options"), RENDERINGS, ids=RENDERING_IDS)
@pytest.mark.parametrize("name", list(TABLES))
def test_table_renders_exactly_as_its_dataframe(
    name: str, fmt: OutputFormat, options: dict[str, object]
) -> None:
    as_table, as_frame = render_arrow_and_frame(TABLES[name](), fmt, options)
    assert as_table == as_frame


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_rows_are_converted_a_batch_at_a_time_across_chunks(
    fmt: OutputFormat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mfq.render.arrow, "BATCH_ROWS", 2)
    table = pa.concat_tables([_chunked(), _chunked().slice(3, 6)])
    as_table, as_frame = render_arrow_and_frame(table, fmt, {})
    assert as_table == as_frame


def test_values_are_what_the_dataframe_holds_with_nanoseconds_floored() -> None:
    table = pa.table(
        {
            "time": pa.array([NOV_3 * NS + 123_456_789, -1], pa.timestamp("ns", tz="UTC")),
            "count": pa.array([1, None], pa.int64()),
            "service": pa.array(["api", None]).dictionary_encode(),
            "code": pa.array([None, 500]).dictionary_encode(),
            "tags": pa.array([["a", None], None], pa.list_(pa.string())),
            "elapsed": pa.array([1_500_000_000, -1], pa.duration("ns")),
        }
    )
    rows = rows_from_arrow(table)
    assert rows.columns == ("time", "count", "service", "code", "tags", "elapsed")
    assert rows.count == 2
    assert list(rows) == [
        # µs kept, nanoseconds dropped, as pandas' Timestamp.to_pydatetime does
        (
            datetime(2026, 11, 3, 10, 0, 0, 123_456, tzinfo=UTC),
            1.0,
            "api",
            None,
            ["a", None],
            "0 days 00:00:01.500000",
        ),
        # 1 ns before the epoch lies in the last microsecond of 1969 (floored, not truncated);
        # an integer column with a null keeps integers, as a Categorical's integers do
        (
            datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
            None,
            None,
            500,
            None,
            "-1 days +23:59:59.999999999",
        ),
    ]
    assert list(rows) == list(rows)  # re-iterable, as the table renderer needs


def test_json_of_a_table_has_iso_utc_times_and_nulls() -> None:
    table = pa.table(
        {
            "time": pa.array([NOV_3 * NS + 250_000_999, None], pa.timestamp("ns", tz="UTC")),
            "count": pa.array([3, None], pa.int64()),
            "ratio": pa.array([float("nan"), 0.5]),
            "type": pa.array(["=1+1", None]).dictionary_encode(),
        }
    )
    assert render_to_text(table, OutputFormat.NDJSON).stdout == (
        '{"time":"2026-11-03T10:00:00.250Z","count":3,"ratio":null,"type":"=1+1"}\n'
        '{"time":null,"count":null,"ratio":0.5,"type":null}\n'
    )
    assert render_to_text(table, OutputFormat.CSV).stdout == (
        "time,count,ratio,type\n2026-11-03T10:00:00.250Z,3,,'=1+1\n,,0.5,\n"
    )


def test_empty_table_prints_the_empty_message_or_empty_machine_output() -> None:
    assert render_to_text(_empty(), OutputFormat.TABLE) == Output("", "no events match\n")
    assert render_to_text(_empty(), OutputFormat.JSON) == Output("[]\n", "")
    assert render_to_text(_empty(), OutputFormat.CSV) == Output("", "")


@pytest.mark.parametrize(
    "nanoseconds",
    [
        0,
        5,
        1_000,
        1_000_000,
        1_500_000_000,
        86_400 * NS,
        -1,
        -1_000,
        -86_400 * NS,
        10**18,
        -1_500_000_001,
        3 * 86_400 * NS + 59 * 60 * NS + 7_000_000,
    ],
)
def test_durations_read_as_pandas_timedelta_text(nanoseconds: int) -> None:
    import pandas as pd  # here, not at the top: the no-pandas process imports this module

    assert timedelta_text(nanoseconds) == str(pd.Timedelta(nanoseconds, "ns"))


def chart_table() -> pa.Table:
    """Two series over two hours, one with a control sequence and one without a label."""
    times = [NOV_3 * NS, NOV_3 * NS + 3600 * NS] * 3
    return pa.table(
        {
            "time": pa.array(times, pa.timestamp("ns", tz="UTC")),
            "service": ["small", "small", "\x1b[31mbig", "\x1b[31mbig", None, None],
            "count": pa.array([1, 2, 10, 20, 0, 4], pa.int64()),
        }
    )


def draw_chart(data: object, series: list[str]) -> str:
    """The chart of ``count`` by ``series`` at width 60."""
    from mfq.render.chart import render_series_chart  # rich: not for the machine formats

    out = io.StringIO()
    render_series_chart(data, "time", series, "count", Env(stdout=out, width=60))
    return out.getvalue()


def test_chart_of_a_table_draws_each_series_largest_first_with_data_inert() -> None:
    lines = draw_chart(chart_table(), ["service"]).splitlines()
    assert lines[0] == "count, 2026-11-03 10:00 to 2026-11-03 11:00 (UTC)"
    assert [line.split(" ")[0] for line in lines[1:]] == ["\\x1b[31mbig", "—", "small"]
    assert lines[1].endswith(" max 20") and lines[2].endswith(" max 4")
    assert "\x1b" not in "\n".join(lines)


@pytest.mark.parametrize("series", [["service"], []], ids=["by-service", "one-series"])
def test_chart_of_a_table_equals_the_chart_of_its_dataframe(series: list[str]) -> None:
    table = chart_table().filter(pa.array([True, True, True, True, False, False]))
    assert draw_chart(table, series) == draw_chart(table.to_pandas(), series)


# A fresh interpreter where importing pandas fails, as it will for the query commands:
# the finder goes in before pyarrow is imported (pyarrow probes for pandas and carries on
# without it). Every table is rendered in every way and the outputs printed as JSON.
NO_PANDAS_SCRIPT = r"""
import importlib.abc, io, json, sys

class NoPandas(importlib.abc.MetaPathFinder):
    refused = 0

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            NoPandas.refused += 1
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoPandas())
import pyarrow as pa
import mfq.render
from tests.render.test_arrow_rows import RENDERINGS, TABLES, chart_table, draw_chart
from tests.render.support import render_to_text

machine = [fmt for fmt in mfq.render.OutputFormat if fmt not in ("table", "markdown")]
outputs = {}
for name, build in TABLES.items():
    for fmt in machine:
        outputs[f"{name} {fmt}"] = render_to_text(build(), fmt).stdout
rich_after_machine_formats = "rich" in sys.modules
for name, build in TABLES.items():
    for index, (fmt, options) in enumerate(RENDERINGS):
        output = render_to_text(build(), fmt, **options)
        outputs[f"{name} {index}"] = [output.stdout, output.stderr]
outputs["chart"] = draw_chart(chart_table(), ["service"])
print(json.dumps({
    "outputs": outputs,
    "pandas_refused": NoPandas.refused > 0,
    "pandas_loaded": "pandas" in sys.modules,
    "rich_after_machine_formats": rich_after_machine_formats,
}))
"""


@pytest.mark.slow
def test_tables_render_in_a_process_where_pandas_cannot_be_imported() -> None:
    repo = Path(__file__).resolve().parents[2]
    pythonpath = os.pathsep.join([str(repo), str(repo / "src")])
    completed = subprocess.run(
        [sys.executable, "-c", NO_PANDAS_SCRIPT],
        env={**os.environ, "PYTHONPATH": pythonpath},
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["pandas_refused"] and not report["pandas_loaded"]
    assert not report["rich_after_machine_formats"]

    # Expected: the same renderings of each table's DataFrame, in this (pandas) process.
    expected: dict[str, object] = {}
    for name, build in TABLES.items():
        frame = as_dataframe(build())
        for fmt in (OutputFormat.JSON, OutputFormat.NDJSON, OutputFormat.CSV):
            expected[f"{name} {fmt}"] = render_to_text(frame, fmt).stdout
        for index, (fmt, options) in enumerate(RENDERINGS):
            output = render_to_text(frame, fmt, **options)  # type: ignore[arg-type]
            expected[f"{name} {index}"] = [output.stdout, output.stderr]
    expected["chart"] = draw_chart(chart_table(), ["service"])
    assert report["outputs"] == expected
