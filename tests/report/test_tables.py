"""The report's building blocks on hand-made frames: tables with changes, OTHER/TOTAL
rows, value formatting, expression quoting and the commands a report lists."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from mfq.query.expr import Compare, IsNull, parse_filter, referenced_fields
from mfq.query.expr.types import STANDARD_FIELD_TYPES
from mfq.report.context import duration_text, equals
from mfq.report.format import format_value, table_cells
from mfq.report.markdown import code_span
from mfq.report.model import ColumnKind, ReportQuery, change
from mfq.report.tables import error_breakdown, latency_by, new_and_vanished, volume_by_type


def _types(counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"type": list(counts), "events": list(counts.values())})


def test_volume_folds_the_rest_into_other_and_ends_with_a_total() -> None:
    now = _types({"a": 50, "b": 30, "c": 15, "d": 5})
    before = _types({"a": 40, "b": 30, "e": 10})
    table = volume_by_type(now, before, rows=2)
    assert table.totals == 2
    assert table_cells(table, UTC) == [
        ["a", "50", "50.00%", "40", "+25.0%"],
        ["b", "30", "30.00%", "30", "+0.0%"],
        ["(other 3 types)", "20", "20.00%", "10", "+100.0%"],  # c, d and the vanished e
        ["(total)", "100", "100.00%", "80", "+25.0%"],
    ]


def test_volume_of_empty_periods_is_an_empty_table() -> None:
    empty = _types({})
    assert table_cells(volume_by_type(empty, empty, rows=5), UTC) == []


def test_new_and_vanished_largest_first_and_cut() -> None:
    now = _types({"kept": 9, "new1": 2, "new2": 7})
    before = _types({"kept": 9, "gone": 4})
    table = new_and_vanished(now, before, rows=2)
    assert table_cells(table, UTC) == [["new2", "new", "7", "0"], ["gone", "vanished", "0", "4"]]
    assert table.note == "the 2 largest of 3"


def test_error_breakdown_sorts_by_errors_and_drops_values_without_any() -> None:
    now = pd.DataFrame({"region": ["eu", "us", "ap"], "errors": [1, 4, 0], "events": [10, 40, 5]})
    before = pd.DataFrame({"region": ["eu", "us"], "errors": [0, 2], "events": [10, 10]})
    table = error_breakdown(now, before, ["region"], rows=10)
    assert table_cells(table, UTC) == [
        ["us", "4", "40", "10.00%", "20.00%", "-10.00 pp", "80.00%"],
        ["eu", "1", "10", "10.00%", "0.00%", "+10.00 pp", "20.00%"],
    ]


def test_a_numeric_key_meets_a_previous_period_with_no_events() -> None:
    """A port as the group field: the empty previous period's key column is text, this
    period's numbers; the tables still line them up (the report crashed on Zeek logs)."""
    empty = pd.Series([], dtype=object)
    now = pd.DataFrame(
        {"port": [443, 80], "timed": [3, 1], "p50_ms": [5.0, 7.0], "p95_ms": [9.0, 7.0],
         "max_ms": [10.0, 7.0], "errors": [1, 0], "events": [4, 1]}
    )  # fmt: skip
    before = pd.DataFrame({"port": empty, "timed": empty, "p95_ms": empty, "errors": empty,
                           "events": empty})  # fmt: skip
    latency = latency_by(now, before, "port", ["p50", "p95"])
    assert table_cells(latency, UTC) == [
        ["443", "3", "5 ms", "9 ms", "10 ms", "—", "—"],
        ["80", "1", "7 ms", "7 ms", "7 ms", "—", "—"],
    ]
    errors = error_breakdown(now, before, ["port"], rows=10)
    assert table_cells(errors, UTC) == [["443", "1", "4", "25.00%", "—", "—", "100.00%"]]
    volume = volume_by_type(now, before, rows=10, key="port")
    assert [row[:2] for row in table_cells(volume, UTC)] == [["443", "4"], ["80", "1"]]


@pytest.mark.parametrize(
    ("current", "previous", "kind", "expected"),
    [
        (150.0, 100.0, ColumnKind.CHANGE, 0.5),
        (5.0, 0.0, ColumnKind.CHANGE, math.inf),
        (0.0, 0.0, ColumnKind.CHANGE, None),
        (None, 3.0, ColumnKind.CHANGE, None),
        (math.nan, 3.0, ColumnKind.CHANGE, None),
        (0.03, 0.01, ColumnKind.CHANGE_PP, 0.02),
    ],
)
def test_change(
    current: float | None, previous: float | None, kind: ColumnKind, expected: float | None
) -> None:
    assert change(current, previous, kind) == (
        expected if expected is None else pytest.approx(expected)
    )


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (1234567, ColumnKind.COUNT, "1,234,567"),
        (1234567.0, ColumnKind.COUNT, "1,234,567"),
        (0.011059, ColumnKind.RATIO, "1.11%"),
        (98.8941, ColumnKind.PERCENT, "98.894%"),
        (233.4, ColumnKind.DURATION_MS, "233 ms"),
        (1848.468, ColumnKind.DURATION_MS, "1.85 s"),
        (90.0, ColumnKind.MINUTES, "1h 30m"),
        (0.186, ColumnKind.CHANGE, "+18.6%"),
        (-0.5, ColumnKind.CHANGE, "-50.0%"),
        (math.inf, ColumnKind.CHANGE, "new"),
        (0.0018, ColumnKind.CHANGE_PP, "+0.18 pp"),
        (37.0512, ColumnKind.NUMBER, "37.051"),
        (None, ColumnKind.COUNT, "—"),
        (math.nan, ColumnKind.RATIO, "—"),
        ("a\x1b[31mred", ColumnKind.TEXT, "a\\x1b[31mred"),
    ],
)
def test_format_value(value: object, kind: ColumnKind, text: str) -> None:
    assert format_value(value, kind) == text


def test_times_show_in_the_report_zone() -> None:
    moment = pd.Timestamp("2026-11-19T14:00:00Z")
    assert format_value(moment, ColumnKind.TIME) == "2026-11-19 14:00"
    assert format_value(moment, ColumnKind.TIME, ZoneInfo("Asia/Tokyo")) == "2026-11-19 23:00"
    assert format_value(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), ColumnKind.TIME) == (
        "2026-01-02 03:04:05"
    )


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("service", "checkout", "service = 'checkout'"),
        ("service", "it's", "service = 'it\\'s'"),
        ("service", "x' or 1 = 1 or service = 'y", "service = 'x\\' or 1 = 1 or service = \\'y'"),
        ("http.route", "/a", "http.route = '/a'"),
        ("user name", "x", "`user name` = 'x'"),
        ("region", None, "region is null"),
        ("region", math.nan, "region is null"),
        ("http_status", 503, "http_status = 503"),
    ],
)
def test_a_scope_filter_quotes_values_from_data(name: str, value: object, text: str) -> None:
    assert equals(name, value) == text
    text_type = STANDARD_FIELD_TYPES["service"]
    fields = {**STANDARD_FIELD_TYPES, "region": text_type, "http.route": text_type}
    parsed = parse_filter(text, {**fields, "user name": text_type})
    # One comparison of that field, whatever the value holds.
    assert isinstance(parsed, Compare | IsNull)
    assert referenced_fields(parsed) == {name}


def test_commands_quote_their_options() -> None:
    query = ReportQuery(
        "slo",
        "slo",
        "slo",
        {
            "bad": "status = 'error'",
            "where": ['service = "x"'],
            "target": 99.5,
            "tz": None,
            "incidents": True,
        },
    )
    assert query.command_line() == (
        "mfq slo --bad \"status = 'error'\" --where 'service = \"x\"' --target 99.5 --incidents"
    )


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("`x`", "`` `x` ``"),
        ("two\nlines", "`two\\nlines`"),
    ],
)
def test_code_spans_cannot_be_closed_early(text: str, span: str) -> None:
    assert code_span(text) == span


@pytest.mark.parametrize(
    ("seconds", "text"), [(3600, "1h"), (600, "10m"), (86400, "1d"), (5, "5s")]
)
def test_duration_text(seconds: int, text: str) -> None:
    from datetime import timedelta

    assert duration_text(timedelta(seconds=seconds)) == text
