"""Cell values: times in UTC with Z, missing values as null, numpy and pandas scalars."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from mfq.render import OutputFormat

from .support import render_to_text

PLUS_TWO = timezone(timedelta(hours=2))
MINUS_FIVE = timezone(timedelta(hours=-5))


def json_value(value: object) -> object:
    """The JSON a single-object result holds for ``value``."""
    return json.loads(render_to_text({"v": value}, OutputFormat.JSON).stdout)["v"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 3, 10, 0, tzinfo=UTC), "2026-11-03T10:00:00Z"),
        (datetime(2026, 11, 3, 10, 0, 0, 250_000, tzinfo=UTC), "2026-11-03T10:00:00.250Z"),
        (datetime(2026, 11, 3, 10, 0, 0, 123_456, tzinfo=UTC), "2026-11-03T10:00:00.123456Z"),
        (datetime(2026, 11, 3, 10, 0, 0, 1_000, tzinfo=UTC), "2026-11-03T10:00:00.001Z"),
        (datetime(2026, 11, 3, 12, 0, tzinfo=PLUS_TWO), "2026-11-03T10:00:00Z"),
        (datetime(2026, 11, 3, 10, 0), "2026-11-03T10:00:00Z"),  # naive is UTC
        (pd.Timestamp("2026-11-03T10:00:00Z"), "2026-11-03T10:00:00Z"),
        (pd.Timestamp("2026-11-03T10:00:00.000000001Z"), "2026-11-03T10:00:00Z"),
        (pd.Timestamp("2026-11-03T10:00:00.5"), "2026-11-03T10:00:00.500Z"),
        (pd.Timestamp("2026-11-03T05:00:00", tz="America/New_York"), "2026-11-03T10:00:00Z"),
        (np.datetime64("2026-11-03T10:00:00.000001"), "2026-11-03T10:00:00.000001Z"),
        (date(2026, 11, 3), "2026-11-03"),
    ],
)
def test_times_are_iso_8601_utc_with_z(value: object, expected: str) -> None:
    assert json_value(value) == expected


@pytest.mark.parametrize(
    "value",
    [None, float("nan"), np.nan, np.float32("nan"), float("inf"), -float("inf"), pd.NA, pd.NaT],
    ids=["None", "nan", "np.nan", "float32-nan", "inf", "-inf", "NA", "NaT"],
)
def test_missing_and_non_finite_values_are_null(value: object) -> None:
    assert json_value(value) is None
    assert render_to_text({"v": value, "n": 1}, OutputFormat.CSV).stdout == "v,n\n,1\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.int64(5), 5),
        (np.float64(0.25), 0.25),
        (np.float32(0.5), 0.5),
        (np.bool_(True), True),
        (np.str_("text"), "text"),
        (np.array([1, 2]), [1, 2]),
        ((1, "a"), [1, "a"]),
        (
            {"nested": [float("nan"), datetime(2026, 1, 1, tzinfo=UTC)]},
            {"nested": [None, "2026-01-01T00:00:00Z"]},
        ),
        (Decimal("12"), 12),
        (Decimal("1.5"), 1.5),
        (2**70, 2**70),
    ],
)
def test_numpy_and_python_values_become_plain_json(value: object, expected: object) -> None:
    assert json_value(value) == expected


def test_dataframe_columns_of_every_dtype_become_json() -> None:
    frame = pd.DataFrame(
        {
            "ns": pd.to_datetime(pd.Series(["2026-11-03T10:00:00.000001234Z", None]), utc=True),
            "naive": pd.to_datetime(pd.Series(["2026-11-03 10:00:00", None])),
            "nullable_int": pd.array([7, None], dtype="Int64"),
            "nullable_bool": pd.array([True, None], dtype="boolean"),
            "string": pd.array(["x", None], dtype="string"),
            "float": [1.5, float("nan")],
            "arrays": [np.array(["a", "b"]), np.array([], dtype=object)],
        }
    )
    output = render_to_text(frame, OutputFormat.NDJSON)
    assert [json.loads(line) for line in output.stdout.splitlines()] == [
        {
            "ns": "2026-11-03T10:00:00.000001Z",
            "naive": "2026-11-03T10:00:00Z",
            "nullable_int": 7,
            "nullable_bool": True,
            "string": "x",
            "float": 1.5,
            "arrays": ["a", "b"],
        },
        {
            "ns": None,
            "naive": None,
            "nullable_int": None,
            "nullable_bool": None,
            "string": None,
            "float": None,
            "arrays": [],
        },
    ]


def test_column_names_are_kept_exactly() -> None:
    frame = pd.DataFrame({"p95(duration_ms)": [1], "Error.Code": [2], 3: [3]})
    output = render_to_text(frame, OutputFormat.NDJSON)
    assert output.stdout == '{"p95(duration_ms)":1,"Error.Code":2,"3":3}\n'


def test_json_array_has_one_row_per_line() -> None:
    output = render_to_text(pd.DataFrame({"a": [1, 2], "b": ["x", "é"]}), OutputFormat.JSON)
    assert output.stdout == '[\n  {"a": 1, "b": "x"},\n  {"a": 2, "b": "é"}\n]\n'


def test_single_object_is_one_json_object_and_one_ndjson_line() -> None:
    record = {"sources": 2, "read": 10, "seconds": 0.5}
    assert json.loads(render_to_text(record, OutputFormat.JSON).stdout) == record
    ndjson = render_to_text(record, OutputFormat.NDJSON).stdout
    assert ndjson == '{"sources":2,"read":10,"seconds":0.5}\n'


MOMENT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("display_tz", "shown"),
    [
        (UTC, "2026-11-03 10:00:00"),
        (PLUS_TWO, "2026-11-03 12:00:00+02:00"),
        (MINUS_FIVE, "2026-11-03 05:00:00-05:00"),
    ],
)
def test_display_timezone_applies_to_table_and_markdown_only(
    display_tz: timezone, shown: str
) -> None:
    frame = pd.DataFrame({"time": [MOMENT]})
    table = render_to_text(frame, OutputFormat.TABLE, display_tz=display_tz).stdout
    assert table.splitlines()[2] == shown
    markdown = render_to_text(frame, OutputFormat.MARKDOWN, display_tz=display_tz).stdout
    assert markdown.splitlines()[2] == f"| {shown} |"
    for fmt in (OutputFormat.JSON, OutputFormat.NDJSON, OutputFormat.CSV):
        assert "2026-11-03T10:00:00Z" in render_to_text(frame, fmt, display_tz=display_tz).stdout


def test_display_time_keeps_sub_second_digits() -> None:
    record = {"at": datetime(2026, 11, 3, 10, 0, 0, 5_000, tzinfo=UTC)}
    table = render_to_text(record, OutputFormat.TABLE, display_tz=PLUS_TWO).stdout
    assert "at     2026-11-03 12:00:00.005+02:00" in table
