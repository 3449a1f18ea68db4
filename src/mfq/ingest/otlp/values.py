"""OTLP/JSON values: attributes (``AnyValue``), ids, times, counts, enums and texts.

Each decoder either returns the plain value mfq stores or raises :class:`Invalid` with the
reject's code and reason; ``mfq.ingest.otlp.records`` builds events from them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from mfq.ingest.record import INT64_MAX, INT64_MIN, RejectCode
from mfq.model.values import MAX_NS

TRACE_ID_DIGITS, SPAN_ID_DIGITS = 32, 16
UINT32_MAX = 2**32 - 1
#: Epoch nanoseconds below this would be read as microseconds by magnitude: written as text.
SMALLEST_EPOCH_NS = 10**17

_HEX = re.compile(r"[0-9a-fA-F]*")


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every record (json.loads with options builds a new one per call). Unlike
# the record path's decoder it keeps an overflowing number (1e999) as infinity: every place
# OTLP allows a float checks that it is finite, and anywhere else a float is refused anyway.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def decode_otlp(text: bytes) -> object:
    """Strict JSON (UTF-8, no NaN/Infinity literals) of one OTLP record, resource or scope."""
    return _DECODER.decode(text.decode("utf-8"))


class Invalid(Exception):
    """A record (or one of its values) breaks an OTLP rule: the reject's code and reason.

    Values deep inside a record raise with just the problem; each enclosing level prepends
    where it is (``attributes['m'].kvlistValue['k'].intValue``), so the happy path never
    builds a location it does not need.
    """

    def __init__(self, code: RejectCode, reason: str, where: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.problem = reason
        self.where = where

    @property
    def reason(self) -> str:
        return f"{self.where} {self.problem}" if self.where else self.problem

    def inside(self, segment: str) -> Invalid:
        """The same problem, one level further out."""
        self.where = segment + self.where
        return self


def bad_value(problem: str) -> Invalid:
    return Invalid(RejectCode.BAD_VALUE, problem)


# -- values -------------------------------------------------------------------------------------


def any_value(value: object, *, stored: bool) -> object:
    """An OTLP ``AnyValue`` as a plain value (None for an empty one). ``stored``: a list
    becomes the JSON text lists are stored as; inside an array it stays a list."""
    if value is None:
        return None
    if type(value) is not dict:
        raise bad_value(f"must be an AnyValue object ({shown(value)})")
    if not value:
        return None
    if len(value) != 1:
        raise bad_value(f"has several values: {', '.join(map(str, value))}")
    ((kind, inner),) = value.items()
    if inner is None:
        return None
    decode = _VALUE_DECODERS.get(kind)
    if decode is None and kind != _KVLIST:
        raise bad_value(f"has an unknown value type {kind!r}")
    try:
        if decode is None:  # a kvlist's values are fields (stored) or inside an array (not)
            decoded: object = key_values(_values_of(inner), stored=stored)
        else:
            decoded = decode(inner)
    except Invalid as problem:
        raise problem.inside(f".{kind}") from None
    return json_text(decoded) if stored and type(decoded) is list else decoded


def _string_value(value: object) -> object:
    if type(value) is not str:
        raise bad_value(f"must be a string ({shown(value)})")
    return value


def _bool_value(value: object) -> object:
    if type(value) is not bool:
        raise bad_value(f"must be true or false ({shown(value)})")
    return value


def _int_value(value: object) -> int:
    """int64, as a JSON number or (protobuf's JSON for 64-bit integers) decimal text."""
    number = whole_number(value)
    if number is None or not INT64_MIN <= number <= INT64_MAX:
        raise bad_value(f"must be a 64-bit integer ({shown(value)})")
    return number


def whole_number(value: object) -> int | None:
    """A whole number written as a JSON number or as decimal text, else None."""
    if isinstance(value, str):
        digits = value[1:] if value[:1] == "-" else value
        return int(value) if digits.isdigit() and digits.isascii() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _double_value(value: object) -> object:
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        # NaN and Infinity (protobuf writes them as text) cannot be stored as JSON numbers.
        raise bad_value(f"must be a finite number ({shown(value)})")
    return number


def _values_of(value: object) -> list[object]:
    """The ``values`` list of an ``ArrayValue`` or ``KeyValueList``."""
    if type(value) is not dict or set(value) - {"values"}:
        raise bad_value(f"must be an object with 'values' ({shown(value)})")
    values = value.get("values") or []
    if type(values) is not list:
        raise bad_value(f"must be a list ({shown(values)})").inside(".values")
    return values


def _array_value(value: object) -> object:
    result = []
    for index, item in enumerate(_values_of(value)):
        try:
            result.append(any_value(item, stored=False))
        except Invalid as problem:
            raise problem.inside(f"[{index}]") from None
    return result


_KVLIST = "kvlistValue"  # decoded by any_value itself, which knows whether it is stored
_VALUE_DECODERS: dict[str, Callable[[object], object]] = {
    "stringValue": _string_value,
    "boolValue": _bool_value,
    "intValue": _int_value,
    "doubleValue": _double_value,
    "bytesValue": _string_value,  # base64 text, kept as written
    "arrayValue": _array_value,
}


def attributes_of(value: object, where: str, *, stored: bool = True) -> dict[str, object]:
    """A record's, resource's or scope's ``attributes`` as a dict (of stored values)."""
    try:
        return key_values(value, stored=stored)
    except Invalid as problem:
        raise problem.inside(where) from None


def key_values(value: object, *, stored: bool) -> dict[str, object]:
    """A list of ``KeyValue`` as a dict; empty values are left out."""
    if value is None:
        return {}
    if type(value) is not list:
        raise bad_value(f"must be a list of key/value objects ({shown(value)})")
    result: dict[str, object] = {}
    empty = False
    for item in value:
        key = item.get("key") if type(item) is dict else None
        if type(key) is not str or not key:
            raise bad_value(f"holds an entry without a key ({shown(item)})")
        if key in result:
            raise bad_value(f"holds the key {key!r} twice")
        raw = item.get("value")
        # The common case first, without a call: a string value.
        if type(raw) is dict and len(raw) == 1 and type(raw.get("stringValue")) is str:
            result[key] = raw["stringValue"]
            continue
        try:
            decoded = any_value(raw, stored=stored)
        except Invalid as problem:
            raise problem.inside(f"[{key!r}]") from None
        result[key] = decoded
        empty = empty or decoded is None
    # Empty values stayed in the dict until here so that a repeated key is still caught.
    return {k: v for k, v in result.items() if v is not None} if empty else result


def hex_id(value: object, name: str, digits: int) -> str | None:
    """An OTLP/JSON trace or span id: hex of ``digits`` digits, lower-cased; "" is absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid(RejectCode.BAD_ID, f"{name} must be hex text ({shown(value)})")
    if len(value) != digits or not _HEX.fullmatch(value):
        hint = " (base64? OTLP/JSON writes ids as hex)" if _looks_base64(value, digits) else ""
        raise Invalid(RejectCode.BAD_ID, f"{name} {value[:40]!r} is not {digits} hex digits{hint}")
    if value.count("0") == digits:
        raise Invalid(RejectCode.BAD_ID, f"{name} is all zeros, which OTLP defines as invalid")
    return value.lower()


def _looks_base64(value: str, digits: int) -> bool:
    return len(value) == (digits // 2 + 2) // 3 * 4 and value.endswith("=")


def unix_nano(value: object, name: str) -> int | None:
    """A ``fixed64`` time in nanoseconds since the epoch (a number or decimal text); 0 and
    absence both mean unset."""
    if value is None:
        return None
    number = whole_number(value)
    if number is None or number < 0:
        reason = f"{name} must be whole nanoseconds since 1970 ({shown(value)})"
        raise Invalid(RejectCode.BAD_TIMESTAMP, reason)
    if number > MAX_NS:
        raise Invalid(RejectCode.BAD_TIMESTAMP, f"{name} {number} is after 2262")
    return number or None


def time_value(ns: int) -> object:
    """Nanoseconds as the record's time: the number itself when its magnitude reads as
    nanoseconds (every time after 1973-03-03), else exact ISO text."""
    if ns >= SMALLEST_EPOCH_NS:
        return ns
    seconds, fraction = divmod(ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def count_field(value: object, name: str) -> int | None:
    """A uint32 count or flags field; 0 is left out."""
    if value is None:
        return None
    number = whole_number(value)
    if number is None or not 0 <= number <= UINT32_MAX:
        raise bad_value(f"{name} must be a whole number from 0 to {UINT32_MAX} ({shown(value)})")
    return number or None


def enum_number(value: object, name: str, names: dict[str, int]) -> int:
    """A protobuf enum: its number, or its name (protobuf's JSON accepts both)."""
    if value is None:
        return 0
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise Invalid(RejectCode.BAD_VALUE, f"{name} is not a known value ({shown(value)})")


def text_field(value: object, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid(RejectCode.BAD_VALUE, f"{name} must be text ({shown(value)})")
    return value


def object_field(value: object, name: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(RejectCode.BAD_VALUE, f"{name} must be an object ({shown(value)})")
    return value


def shown(value: object) -> str:
    text = json.dumps(value)  # ASCII: a reason must be storable whatever the value holds
    return f"got {text if len(text) <= 40 else text[:39] + '…'}"


def json_text(value: Sequence[object]) -> str:
    """A list as the JSON text every list is stored as (the same text validation writes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
