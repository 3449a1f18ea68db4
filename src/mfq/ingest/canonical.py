"""A record's canonical JSON, the text its derived id hashes, made by orjson.

The definition (SPEC: a record without an id gets one from its content) is Python's::

    json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

encoded as UTF-8 (lone surrogates passed through). Derived ids are stored, so this text
must never change: a re-ingested file would otherwise count its events twice. orjson
writes the same text several times faster, with these exceptions, each sent back to the
definition here:

- orjson refuses what it cannot write as Python does: lone surrogates, integers beyond
  64 bits when writing (and beyond double range when reading), nesting past 255 levels.
- When reading, orjson turns an integer beyond 64 bits into a float (its digits lost);
  such a float is at least 9.2e18, which both write with an exponent (``e+``).
- Floats from 1e-9 to 1e-5 are written differently (orjson: ``0.00001``, ``1e-7``;
  Python: ``1e-05``, ``1e-07``).

The last two are found in orjson's output by the substrings they always contain
(:data:`_SUSPECT`); text that merely looks alike (``"name+x"``) is written by the
definition too, which costs time but never changes an id. Everything else orjson writes
exactly as the definition (sorted keys in code-point order, the same escapes, the same
digits): ``tests/ingest/test_canonical.py`` checks it on arbitrary and hostile records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import orjson

#: In orjson's output, every float written unlike Python's ``repr``, and every integer
#: beyond 64 bits that orjson read as a float, contains one of these.
_SUSPECT = (b"e+", b"0.0000", b"e-6", b"e-7", b"e-8", b"e-9")
_SORTED = orjson.OPT_SORT_KEYS
_ORJSON_ERRORS = (orjson.JSONDecodeError, orjson.JSONEncodeError)


def reference_canonical(record: object) -> bytes:
    """The definition: ``json.dumps`` with sorted keys and no spaces, as UTF-8."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def canonical(record: object) -> bytes:
    """A decoded record's canonical JSON (``reference_canonical``, faster).

    Floats may be ``float`` subclasses (the decoder's exact floats): orjson writes them
    as plain floats."""
    try:
        text = orjson.dumps(record, default=_plain_float, option=_SORTED)
    except orjson.JSONEncodeError:  # (what the definition cannot write, it raises for too)
        return reference_canonical(record)
    return reference_canonical(record) if suspect(text) else text


def canonical_from_text(raw: bytes, floats: bool = True) -> bytes | None:
    """The canonical JSON of one record's raw text, or None where orjson cannot say it
    exactly (text it refuses, suspect numbers): the caller decodes it as usual then.

    ``floats`` False: the caller knows the record holds no integer beyond 64 bits and no
    float outside the range both write alike (``mfq.ingest.floatrows``), so the look for
    suspect numbers, most of the time here, is skipped."""
    return canonical_from_texts([raw], [floats])[0]


def canonical_from_texts(raws: Sequence[bytes], floats: Sequence[bool]) -> list[bytes | None]:
    """``canonical_from_text`` of many records (a block's: the loop is the hot one)."""
    loads, dumps, is_suspect, errors = orjson.loads, orjson.dumps, suspect, _ORJSON_ERRORS
    found: list[bytes | None] = []
    for raw, has_floats in zip(raws, floats, strict=True):
        try:
            text = dumps(loads(raw), option=_SORTED)
        except errors:
            found.append(None)
            continue
        found.append(None if has_floats and is_suspect(text) else text)
    return found


def _plain_float(value: object) -> float:
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def suspect(text: bytes) -> bool:
    """Whether orjson's text may hold a number written unlike Python's ``json``."""
    return any(part in text for part in _SUSPECT)
