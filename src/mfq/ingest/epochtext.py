"""Epoch times with a fraction (Zeek's ``"ts":1591367999.305988``) as the record path reads them.

The record path converts such a number from its decimal text, exactly
(``mfq.model.values.epoch_to_ns``); pyarrow gives only the nearest double, which at
today's epoch seconds is 238 ns coarse. So the text is found again in the record: the
value of a top-level key, where that is certain without decoding the record:

- the record holds no backslash, so every ``"`` in it opens or closes a string, and a
  key is spelt as itself (no ``\\u`` escapes);
- the key, followed by ``:``, occurs once in the record (not also nested, not twice);
- the number found there reads as the double pyarrow read.

Anything else (and anything the record path would refuse) is left to the record path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from mfq.ingest.record import exact_float
from mfq.model.values import epoch_to_ns

_SPACE = rb"[ \t\n\r]*"
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def key_finder(key: str) -> re.Pattern[bytes] | None:
    """The pattern of ``key`` as a key in raw JSON text; None where the key would be
    written with escapes (or is a dotted path, not one top-level key)."""
    written = json.dumps(key, ensure_ascii=False)
    if "\\" in written or "." in key:
        return None
    return re.compile(re.escape(written.encode("utf-8")) + _SPACE + b":" + _SPACE)


def epoch_ns_from_texts(
    raws: Sequence[bytes], finder: re.Pattern[bytes], values: Sequence[float]
) -> list[int | None]:
    """Per record: its key's number (read by pyarrow as ``values``) in nanoseconds, as
    the record path converts it; None where that is not certain or the path refuses it."""
    found: list[int | None] = []
    for raw, value in zip(raws, values, strict=True):
        found.append(_epoch_ns(raw, finder, value))
    return found


def _epoch_ns(raw: bytes, finder: re.Pattern[bytes], value: float) -> int | None:
    if b"\\" in raw:
        return None
    places = [m.end() for m in finder.finditer(raw)]
    if len(places) != 1:
        return None
    number = _NUMBER.match(raw, places[0])
    if number is None:
        return None
    text = number.group().decode("ascii")
    try:
        # As ``mfq.ingest.record.decode_json`` reads a number.
        decoded = exact_float(text) if any(c in text for c in ".eE") else int(text)
        if float(decoded) != value:
            return None
        return epoch_to_ns(decoded)
    except (ValueError, OverflowError):  # ValueRuleError: out of range, refused there too
        return None
