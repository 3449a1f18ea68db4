"""Envelopes by shape: a top-level object holding one array of objects is split into its
records whatever the array's key (``events``, ``Records``, ``data``, ``items``, ``logs``).

An object that is itself a record (it has a type or time key, or a profile knows it) is
never an envelope, even when one of its keys holds an array of objects (a CloudTrail
record's ``resources``).
"""

from __future__ import annotations

import json
import re

from mfq.model.fields import standard_field

#: The legacy envelope key, recognised even beside other arrays.
EVENTS_KEY = "events"
#: A pretty-printed (or long) envelope: the object's first key holds an array of objects.
_FIRST_KEY_ARRAY = re.compile(rb'^\s*\{\s*"((?:[^"\\]|\\.){1,60})"\s*:\s*\[\s*\{')
_LEGACY_HEAD = re.compile(rb'^\s*\{.{0,65536}?"events"\s*:\s*\[', re.DOTALL)
_ARRAY_SAMPLE = 100


def envelope_key(document: dict[str, object], alone: bool = True) -> str | None:
    """The key of the records' array when ``document`` (a whole top-level object) is an
    envelope, else None. A document followed by others (``alone`` false: NDJSON) is split
    by shape only under ``events``: each line of a stream is a record."""
    if isinstance(document.get(EVENTS_KEY), list) and "type" not in document:
        return EVENTS_KEY
    if not alone:
        return None
    arrays = [
        key
        for key, value in document.items()
        if isinstance(value, list)
        and value
        and all(isinstance(item, dict) for item in value[:_ARRAY_SAMPLE])
    ]
    if len(arrays) != 1 or _is_record(document):
        return None
    return arrays[0]


def head_envelope_key(head: bytes) -> str | None:
    """The envelope key seen in the first bytes of a document too long (or too spread
    over lines) to parse from its head: ``events`` anywhere at the start, or a first key
    whose value is an array of objects."""
    match = _FIRST_KEY_ARRAY.match(head)
    if match is not None:
        try:
            key = json.loads(b'"' + match.group(1) + b'"')
        except ValueError:
            return None
        return str(key)
    if _LEGACY_HEAD.match(head):
        return EVENTS_KEY
    return None


def _is_record(document: dict[str, object]) -> bool:
    from mfq.ingest import profiles

    for name in ("type", "timestamp"):
        spec = standard_field(name)
        if spec is not None and any(alias in document for alias in spec.aliases):
            return True
    return profiles.detect([document], profiles.builtin_profiles()) is not None
