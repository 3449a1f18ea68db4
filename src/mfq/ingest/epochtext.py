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

The usual record (the key written ``"ts":`` once, a plain decimal of at most 18 digits
after it) is converted with integers, as the record path's ``Decimal`` does (its product
with the unit is exact there, and rounded half to even once); every other form goes
through the record path's own conversion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mfq.ingest.record import exact_float
from mfq.model.values import MAX_NS, MIN_NS, epoch_factor, epoch_to_ns

_SPACE = rb"[ \t\n\r]*"
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


#: Digits of a plain decimal converted here with integers: with the unit's (at most 10),
#: within the 28 of ``Decimal``'s context, so its product is exact there too.
_PLAIN_DIGITS = 18


@dataclass(frozen=True)
class KeyFinder:
    """A top-level key as raw JSON text: ``pattern`` (spaces allowed around the colon),
    ``quoted`` (the key in quotes) and ``compact`` (followed by its colon)."""

    pattern: re.Pattern[bytes]
    quoted: bytes
    compact: bytes


def key_finder(key: str) -> KeyFinder | None:
    """``key`` as a key in raw JSON text; None where the key would be written with
    escapes (or is a dotted path, not one top-level key)."""
    written = json.dumps(key, ensure_ascii=False)
    if "\\" in written or "." in key:
        return None
    quoted = written.encode("utf-8")
    pattern = re.compile(re.escape(quoted) + _SPACE + b":" + _SPACE)
    return KeyFinder(pattern, quoted, quoted + b":")


def epoch_ns_from_texts(
    raws: Sequence[bytes], finder: KeyFinder, values: Sequence[float]
) -> list[int | None]:
    """Per record: its key's number (read by pyarrow as ``values``) in nanoseconds, as
    the record path converts it; None where that is not certain or the path refuses it."""
    found: list[int | None] = []
    for raw, value in zip(raws, values, strict=True):
        found.append(_epoch_ns(raw, finder, value))
    return found


def _epoch_ns(raw: bytes, finder: KeyFinder, value: float) -> int | None:
    if b"\\" in raw:
        return None
    number = None
    at = raw.find(finder.compact)
    if at >= 0 and raw.count(finder.quoted) == 1:  # every match of the pattern starts
        # with the quoted key: this is the one
        number = _NUMBER.match(raw, at + len(finder.compact))
    if number is None:  # (or spaces after the colon)
        places = [m.end() for m in finder.pattern.finditer(raw)]
        number = _NUMBER.match(raw, places[0]) if len(places) == 1 else None
    if number is None:
        return None
    plain = _plain_epoch_ns(number.group(), value)
    if plain is not None:
        return plain
    text = number.group().decode("ascii")
    try:
        # As ``mfq.ingest.record.decode_json`` reads a number.
        decoded = exact_float(text) if any(c in text for c in ".eE") else int(text)
        if float(decoded) != value:
            return None
        return epoch_to_ns(decoded)
    except (ValueError, OverflowError):  # ValueRuleError: out of range, refused there too
        return None


def _plain_epoch_ns(text: bytes, value: float) -> int | None:
    """``epoch_to_ns(exact_float(text))`` of a plain decimal (``-12.345``, at most
    :data:`_PLAIN_DIGITS` digits) read by pyarrow as ``value``, with integers: the
    decimal times the unit, rounded half to even; None for any other text, and where the
    record path would refuse it (out of range) or pyarrow read another number."""
    whole, point, fraction = text.partition(b".")
    negative = whole.startswith(b"-")
    if not point or len(whole) - negative + len(fraction) > _PLAIN_DIGITS:
        return None
    if not fraction.isdigit() or float(text) != value:  # (an exponent: not plain)
        return None
    scale = 10 ** len(fraction)
    ns, rest = divmod(int(whole.lstrip(b"-") + fraction) * epoch_factor(abs(value)), scale)
    if 2 * rest > scale or (2 * rest == scale and ns % 2):
        ns += 1
    ns = -ns if negative else ns
    return ns if MIN_NS <= ns <= MAX_NS else None
