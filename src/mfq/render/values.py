"""Normalise the values a result can hold into a few plain Python types.

Cells arrive as whatever pandas, numpy or an analysis produced: numpy scalars and arrays,
``pd.NA``/``NaT``/NaN, pandas Timestamps (with nanoseconds), naive or aware datetimes,
nested lists and dicts. :func:`normalise` maps each to a :data:`CellValue`, so every
renderer deals with one small set of types; :func:`to_json` turns that into JSON data with
timestamps as ISO-8601 UTC text (SPEC, "Output and exit codes").
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TypeAlias

CellValue: TypeAlias = (
    "bool | int | float | str | datetime | date | list[CellValue] | dict[str, CellValue] | None"
)
"""A normalised cell: datetimes are always timezone-aware UTC; missing values are None."""

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    # pd.NA and pd.NaT can only exist once pandas is imported; looking it up in
    # sys.modules keeps this module (and `import mfq.render`) free of a pandas import.
    pandas = sys.modules.get("pandas")
    return pandas is not None and (value is pandas.NA or value is pandas.NaT)


def _from_numpy(value: object) -> object:
    """Turn numpy scalars and arrays into Python objects (``tolist`` does both)."""
    dtype = getattr(value, "dtype", None)
    tolist = getattr(value, "tolist", None)
    if dtype is None or not callable(tolist):
        return value
    if getattr(dtype, "kind", "") == "M":
        # datetime64's tolist() gives an int for nanosecond precision; go through pandas,
        # which is necessarily loaded when such values exist in a result.
        if getattr(value, "ndim", 0) == 0:
            import pandas as pd

            return pd.Timestamp(value)  # type: ignore[arg-type]
        return list(value)  # type: ignore[call-overload]
    return tolist()


def _aware_utc(moment: datetime) -> datetime:
    to_pydatetime = getattr(moment, "to_pydatetime", None)
    if callable(to_pydatetime):
        # A pandas Timestamp: drop nanoseconds quietly (output keeps microseconds at most).
        moment = to_pydatetime(warn=False)
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)  # SPEC: a naive time is UTC
    return moment.astimezone(UTC)


def _from_decimal(value: Decimal) -> CellValue:
    if value.is_nan():
        return None
    if value.is_finite() and value == value.to_integral_value():
        return int(value)
    return float(value)


def normalise(value: object) -> CellValue:
    """Map any cell value to a :data:`CellValue` (None for every kind of missing)."""
    value = _from_numpy(value)
    if _is_missing(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return _aware_utc(value)
    if isinstance(value, date):
        return value
    if isinstance(value, Mapping):
        return {str(key): normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [normalise(item) for item in value]
    if isinstance(value, Decimal):
        return _from_decimal(value)
    return str(value)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with ``Z``; sub-second digits only when non-zero (ms, else µs)."""
    utc = _aware_utc(moment).replace(tzinfo=None)
    return utc.isoformat(timespec=subsecond_timespec(utc)) + "Z"


def subsecond_timespec(moment: datetime) -> str:
    """The ``isoformat`` timespec that shows ``moment``'s sub-second part, if it has one."""
    if moment.microsecond == 0:
        return "seconds"
    if moment.microsecond % 1000 == 0:
        return "milliseconds"
    return "microseconds"


def to_json(value: CellValue) -> JsonValue:
    """JSON data for a normalised value: non-finite floats are null, times are UTC text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def json_text(value: CellValue, *, compact: bool) -> str:
    """A nested value (list or dict) as one line of JSON text, for a text-only cell."""
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(to_json(value), ensure_ascii=False, separators=separators)
