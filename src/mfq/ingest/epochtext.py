"""Epoch times with a fraction (Zeek's ``"ts":1591367999.305988``) as the record path reads them.

The record path converts such a number from its decimal text, exactly
(``mfq.model.values.epoch_to_ns``); pyarrow gives only the nearest double, which at
today's epoch seconds is 238 ns coarse. So the text is found again in the record: the
value of a top-level key, where that is certain without decoding the record:

- the record spells no key another way (no ``\\u`` or ``\\/`` escape: the key is
  spelt as itself wherever it occurs), and quotes escaped by backslashes are skipped:
  every other ``"`` opens or closes a string;
- the key, followed by ``:``, occurs once in the record (not also nested, not twice);
- the number found there reads as the double pyarrow read.

Anything else (and anything the record path would refuse) is left to the record path.

The usual record (no backslash, the key written ``"ts":`` once, a plain decimal of at
most 18 digits after it) is found and converted for a whole block at once with numpy
(:func:`plain_epoch_ns`), with integers, as the record path's ``Decimal`` does (its
product with the unit is exact there, and rounded half to even once); every other record
one by one here, through the record path's own conversion.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mfq.ingest.record import exact_float
from mfq.ingest.rowbytes import occurrences, record_of, records_holding
from mfq.model.values import EPOCH_UNIT_LIMITS, MAX_NS, MIN_NS, epoch_factor, epoch_to_ns

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
    number = None
    escapes = b"\\" in raw
    if escapes and (b"\\u" in raw or b"\\/" in raw):
        return None  # the key may be spelt another way there (``"t\\u0073"``)
    at = -1 if escapes else raw.find(finder.compact)
    if at >= 0 and raw.count(finder.quoted) == 1:  # every match of the pattern starts
        # with the quoted key: this is the one
        number = _NUMBER.match(raw, at + len(finder.compact))
    if number is None:  # (or spaces after the colon, or escapes in the record)
        places = [
            m.end()
            for m in finder.pattern.finditer(raw)
            if not (escapes and _escaped(raw, m.start()))
        ]
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


def _escaped(raw: bytes, quote: int) -> bool:
    """Whether the ``"`` at ``quote`` is escaped (after an odd run of backslashes): a
    quote inside a text. An unescaped one opens or closes a text, so the key's quotes
    unescaped are the key itself (its text holds no backslash: ``key_finder``)."""
    run = quote
    while run > 0 and raw[run - 1] == 0x5C:
        run -= 1
    return (quote - run) % 2 == 1


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


#: Bytes looked at after a key: a plain decimal of 18 digits, its sign, point and end fit.
_WINDOW = 24
_POWERS = 10 ** np.arange(19, dtype=np.int64)
#: Below this many nanoseconds (inside int64's 9.22e18) a value needs no look at the edge.
_SAFE_NS = 9.0e18
_DIGIT_0, _POINT, _MINUS = (ord(c) for c in "0.-")


def plain_epoch_ns(
    data: bytes, starts: np.ndarray, ends: np.ndarray, finder: KeyFinder, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(nanoseconds, rows converted) of records ``data[starts:ends]`` whose key holds a
    plain decimal written compact, found and converted with numpy exactly as
    ``_plain_epoch_ns`` does one; rows not converted are left to ``epoch_ns_from_texts``.
    ``values``: pyarrow's doubles of the key, one per record."""
    count = len(starts)
    ns = np.zeros(count, dtype=np.int64)
    if not count:
        return ns, np.zeros(0, dtype=bool)
    if not np.all(np.diff(starts) > 0):  # (rows out of order: never, but then unread)
        return ns, np.zeros(count, dtype=bool)
    view = np.frombuffer(data, dtype=np.uint8)
    quoted_at = occurrences(data, int(starts.min()), int(ends.max()), finder.quoted)
    follows = quoted_at + len(finder.quoted)
    colon = view[np.minimum(follows, len(view) - 1)] == ord(":")
    compact_at = quoted_at[colon & (follows < len(view))]
    quoted_rows = record_of(quoted_at, len(finder.quoted), starts, ends)
    compact_rows = record_of(compact_at, len(finder.compact), starts, ends)
    ok = np.bincount(quoted_rows[quoted_rows >= 0], minlength=count) == 1
    ok &= np.bincount(compact_rows[compact_rows >= 0], minlength=count) == 1
    ok &= ~records_holding(data, starts, ends, b"\\")
    at = np.zeros(count, dtype=np.int64)
    keep = compact_rows >= 0
    at[compact_rows[keep]] = compact_at[keep] + len(finder.compact)
    rows = np.flatnonzero(ok)
    spots = at[rows, None] + np.arange(_WINDOW)
    inside = spots < ends[rows, None]
    # zeros past each record (one gather, then a mask: no boolean indexing in two axes)
    window = np.where(inside, view[np.minimum(spots, len(view) - 1)], np.uint8(0))
    converted, good = _plain_windows(window, values[rows])
    ns[rows[good]] = converted[good]
    done = np.zeros(count, dtype=bool)
    done[rows[good]] = True
    return ns, done


def _plain_windows(window: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each window's leading ``-?digits.digits`` (ended by anything but a digit, a point,
    ``e`` or ``E``) times the epoch unit of its magnitude, rounded half to even."""
    count = len(window)
    rows = np.arange(count)
    digits = window - np.uint8(_DIGIT_0)  # (wraps: a digit is below 10, any other byte not)
    not_digit = digits >= 10
    negative = window[:, 0] == _MINUS
    first = negative.astype(np.int64)  # the first digit's place
    not_digit[:, 0] &= ~negative
    # The point: the first non-digit after the first digit; the end: the next one.
    point = np.argmax(not_digit, axis=1)
    ok = not_digit[rows, point]
    not_digit[rows, point] = False  # (every place before the point holds a digit)
    end = np.argmax(not_digit, axis=1)
    ok &= not_digit[rows, end] & (end > point)
    whole_digits = point - first
    fraction_digits = end - point - 1
    ok &= window[rows, point] == _POINT
    ok &= (whole_digits >= 1) & (fraction_digits >= 1)
    ok &= whole_digits + fraction_digits <= _PLAIN_DIGITS
    ok &= (whole_digits == 1) | (window[rows, first] != _DIGIT_0)  # (JSON: no leading 0)
    ended_by = window[rows, end]
    ok &= ~np.isin(ended_by, np.frombuffer(b".eE", dtype=np.uint8))
    # The digits as one integer, a place at a time over all rows (Horner's rule; at most
    # 18 digits fit an int64, and rows with more are not ok).
    number = np.zeros(count, dtype=np.int64)
    wide = digits.astype(np.int64)
    for place in range(int(end.max()) if count else 0):
        taken = (place >= first) & (place < end) & (place != point)
        number = np.where(taken, number * 10 + wide[:, place], number)
    magnitude = np.abs(values)
    ok &= np.signbit(values) == negative
    factor = np.ones(count, dtype=np.int64)
    for limit, unit in reversed(EPOCH_UNIT_LIMITS):
        factor[magnitude < limit] = unit
        # (a value at a unit's edge: the record path's own conversion decides)
        ok &= np.abs(magnitude - limit) > limit * 1e-12
    with np.errstate(invalid="ignore", over="ignore"):
        ok &= magnitude * factor < _SAFE_NS
        # pyarrow's double must be this text's (a look, not the conversion)
        read = number / _POWERS[np.clip(fraction_digits, 0, 18)]
        ok &= np.abs(read - magnitude) <= magnitude * 1e-15 + 1e-300
    scale = _POWERS[np.clip(fraction_digits, 0, 18)]
    # number * factor / scale: factor and scale are powers of ten
    exact = factor % scale == 0
    up = np.where(exact, factor // np.maximum(scale, 1), 1)
    down = np.where(exact, 1, scale // np.maximum(factor, 1))
    with np.errstate(over="ignore"):
        quotient, rest = np.divmod(number, down)
        rest2 = 2 * rest
        quotient += (rest2 > down) | ((rest2 == down) & (quotient % 2 == 1))
        ns = quotient * up
    ns = np.where(negative, -ns, ns)
    return ns, ok
