"""Lists Arrow cannot write as the record path does (objects, floats, nulls in them), read
again from their record's text.

The record path stores a list attribute as ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))``: objects with their keys in the record's own order, which Arrow's
structs do not keep. orjson reads the record and writes the list the same way (keys in
order, the last of repeated keys, the same escapes), except for the numbers
``mfq.ingest.canonical`` names as suspect (looked for only in lists holding a float), and
text it refuses: those rows stay with the record path.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from mfq.ingest.canonical import suspect

_ERRORS = (orjson.JSONDecodeError, orjson.JSONEncodeError)


def list_texts(raws: Sequence[bytes], path: Sequence[str]) -> list[str | None]:
    """Per record: the stored text of the list at ``path`` (keys from the top), or None
    where that is not certain (the path not holding a list, suspect numbers, refusals)."""
    found: list[str | None] = []
    loads, dumps = orjson.loads, orjson.dumps
    for raw in raws:
        try:
            value = loads(raw)
            for key in path:
                value = value[key] if isinstance(value, dict) else None
            text = dumps(value) if isinstance(value, list) else None
        except (*_ERRORS, KeyError):
            text = None
        if text is not None and suspect(text) and _holds_float(value):
            text = None
        found.append(None if text is None else text.decode("utf-8"))
    return found


def _holds_float(value: object) -> bool:
    """Whether a decoded list holds a float anywhere (orjson reads integers beyond 64 bits
    as floats too): only then can its text hold a number written unlike ``json``'s, and
    a suspect-looking text (``"Role-9S3E0UAE1MM0"`` holds ``e-9``) is written alike."""
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(_holds_float(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_float(v) for v in value.values())
    return False
