"""The record-by-record path: one raw JSON text to a normalised event or a rejection.

This path is the reference semantics of ingest: pydantic validates the standard fields and
names the reason for every rejection. ``mfq.ingest.fastpath`` must agree with it exactly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING

from mfq.ingest.canonical import canonical, canonical_from_texts
from mfq.ingest.options import REDACTED, NormalizeOptions
from mfq.ingest.profiles.apply import Picked, pick, without
from mfq.model.fields import STANDARD_FIELDS
from mfq.model.values import (
    DURATION_UNITS,
    ValueRuleError,
    duration_ms_value,
    json_type_name,
    severity_value,
    timestamp_ns,
)

if TYPE_CHECKING:
    from pydantic import ValidationError

    from mfq.model.event import Event

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: The magnitude of int64's ends as a float (2**63): a float this far from zero or
#: further may be an integer pyarrow could not read as one.
INT64_EDGE = 2.0**63
#: From this magnitude on a float's whole numbers are not every integer (2**53 + 1 has
#: none): a whole float this far from zero may be an integer it rounded.
FLOAT_EXACT_EDGE = 2.0**53
STANDARD_NAMES = frozenset(f.name for f in STANDARD_FIELDS)
ATTRIBUTES_KEY = "attributes"
#: A REST body's actor profile object; its keys become ``actor.<key>``.
ACTOR_PROFILE, ACTOR_PREFIX = "actor_profile", "actor"
COLLECTOR_MESSAGE_TYPE = "event"


class RejectCode(StrEnum):
    """Why a record was rejected (stable codes; the reason text adds the detail)."""

    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_TYPE = "missing_type"
    MISSING_TIMESTAMP = "missing_timestamp"
    BAD_TIMESTAMP = "bad_timestamp"
    BAD_FIELD = "bad_field"
    AMBIGUOUS_FIELD = "ambiguous_field"
    #: OTLP: a trace or span id that is not hex of the right length (or is all zeros).
    BAD_ID = "bad_id"
    #: OTLP: a span whose end is missing or comes before its start.
    BAD_SPAN_TIMES = "bad_span_times"
    #: OTLP: a value of the wrong shape (a typed attribute value, an enum, the structure).
    BAD_VALUE = "bad_value"


@dataclass(frozen=True)
class Rejection:
    """A record that cannot become an event, with the reason shown to the user."""

    code: RejectCode
    reason: str


@dataclass
class NormalizedRecord:
    """One valid event: standard fields (storage values) and flattened attributes."""

    standard: dict[str, object]
    attributes: dict[str, object]
    naive_timestamp: bool = False
    unknown_severity: bool = False
    time_from_received_at: bool = False
    derived_id: bool = False
    redacted: int = 0
    warnings: list[str] = field(default_factory=list)


class _Ambiguous(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


class ExactFloat(float):
    """A JSON number with a fraction, remembering its decimal text: epoch seconds such as
    ``1588205198.89971`` become exact nanoseconds from the text, not from the double."""

    __slots__ = ("text",)
    text: str


def exact_float(text: str) -> ExactFloat:
    """A JSON number with a fraction as the decoder reads it (ValueError if not finite)."""
    value = ExactFloat(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    value.text = text
    return value


_DECODERS = threading.local()


def _decoder() -> json.JSONDecoder:
    """This thread's strict decoder (``json.loads`` would build one per call: a fifth of
    the time of a typical record)."""
    decoder: json.JSONDecoder | None = getattr(_DECODERS, "decoder", None)
    if decoder is None:
        decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=exact_float)
        _DECODERS.decoder = decoder
    return decoder


def decode_json(raw: str | bytes) -> object:
    """Strict JSON: UTF-8 only, finite numbers, no NaN/Infinity (Parquet stores UTF-8)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    if text.startswith("\ufeff"):  # as ``json.loads`` refuses it, word for word
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _decoder().decode(text)


def derive_id(record: object) -> str:
    """A stable id from a record's canonical content (key order and spacing do not matter):
    ``mfq.ingest.canonical`` says which text is hashed."""
    return _hashed(canonical(record))


def derive_id_from_text(raw: bytes, floats: bool = True) -> str:
    """``derive_id(decode_json(raw))``, without Python's decoder where orjson can say the
    canonical text exactly; raises as that does. ``floats`` False: the caller knows the
    record holds no float orjson could write unlike Python (``mfq.ingest.floatrows``)."""
    return derive_ids_from_texts([raw], [floats])[0]


def derive_ids_from_texts(raws: Sequence[bytes], floats: Sequence[bool]) -> list[str]:
    """``derive_id_from_text`` of many records; raises as the first that fails does."""
    ids: list[str] = []
    for raw, text in zip(raws, canonical_from_texts(raws, floats), strict=True):
        ids.append(derive_id(decode_json(raw)) if text is None else _hashed(text))
    return ids


def ids_of_canonical(texts: Sequence[bytes]) -> list[str]:
    """The derived ids of canonical JSON texts (``mfq.ingest.canonicaltable``'s)."""
    blake2b = hashlib.blake2b  # (``_hashed`` inlined: this loop is a block's)
    return ["d-" + blake2b(text, digest_size=12).hexdigest() for text in texts]


def _hashed(canonical_json: bytes) -> str:
    return "d-" + hashlib.blake2b(canonical_json, digest_size=12).hexdigest()


def _scalar(value: object) -> object:
    if isinstance(value, str):
        value.encode("utf-8")  # raises on lone surrogates, which Parquet cannot store
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # Beyond int64 an integer is kept exactly, as its decimal text (never a float).
        return value if INT64_MIN <= value <= INT64_MAX else str(value)
    if isinstance(value, float) and value == 0.0:
        return 0.0  # a zero is stored unsigned (``-0.0``: as the integer ``-0`` is)
    if isinstance(value, list):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        text.encode("utf-8")  # a lone surrogate inside the list: refused as in a string
        return text
    return value


def _flatten(obj: dict[str, object], prefix: str, out: dict[str, object]) -> None:
    for key, value in obj.items():
        if prefix == "" and key == ACTOR_PROFILE and isinstance(value, dict):
            name = ACTOR_PREFIX
        else:
            name = f"{prefix}{key}"
            key.encode("utf-8")  # a lone surrogate in a key: no Parquet column can hold it
        if isinstance(value, dict):
            _flatten(value, f"{name}.", out)
            continue
        if value is None:
            continue
        if name in out:
            raise _Ambiguous(name)
        out[name] = _scalar(value)


def _take(
    field_names: tuple[str, ...], *sources: dict[str, object]
) -> tuple[int, str, object] | None:
    """The first of ``field_names`` found, the first source searched first, popped: which
    source held it, its name and value."""
    for at, source in enumerate(sources):
        for name in field_names:
            if name in source:
                return at, name, source.pop(name)
    return None


def normalize_record(raw: str | bytes, options: NormalizeOptions) -> NormalizedRecord | Rejection:
    """Decode, flatten, resolve aliases and validate one record."""
    try:
        obj = decode_json(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        return Rejection(RejectCode.NOT_JSON, f"not JSON: {_short(str(err))}")
    return normalize_object(obj, options)


def normalize_object(obj: object, options: NormalizeOptions) -> NormalizedRecord | Rejection:
    """Normalise an already decoded record (see ``normalize_record``)."""
    if not isinstance(obj, dict):
        return Rejection(RejectCode.NOT_OBJECT, f"not an object (got {json_type_name(obj)})")
    picked: Picked | None = None
    source = obj
    if options.mapping is not None:
        picked = pick(options.mapping, obj)
        source = without(obj, picked.consumed) if picked.consumed else obj
    top_obj = dict(source)
    attrs_obj = top_obj.pop(ATTRIBUTES_KEY) if isinstance(top_obj.get(ATTRIBUTES_KEY), dict) else {}
    collector = top_obj.get("type") == COLLECTOR_MESSAGE_TYPE and ATTRIBUTES_KEY in obj
    if collector and isinstance(obj.get(ATTRIBUTES_KEY), dict):
        del top_obj["type"]  # the collector's message kind, not the event's name
    else:
        collector = False
    not_standard = options.mapping.not_standard if options.mapping is not None else frozenset()
    wrong = _wrong_kind(top_obj, not_standard) or _wrong_kind(attrs_obj, not_standard)
    if wrong is not None:
        return wrong
    top: dict[str, object] = {}
    attrs: dict[str, object] = {}
    try:
        _flatten(top_obj, "", top)
        _flatten(attrs_obj, "", attrs)
    except _Ambiguous as amb:
        return Rejection(RejectCode.AMBIGUOUS_FIELD, f"ambiguous field {amb.name!r}")
    except UnicodeEncodeError:
        return Rejection(RejectCode.NOT_JSON, "not JSON: invalid unicode escape")
    lists = (
        {k for k, v in top_obj.items() if isinstance(v, list)},
        {k for k, v in attrs_obj.items() if isinstance(v, list)},
    )
    return _resolve(obj, top, attrs, collector, options, picked, lists)


def _wrong_kind(obj: dict[str, object], not_standard: frozenset[str]) -> Rejection | None:
    """An object or a list under a standard field's own name (SPEC: wrong type). An object
    under ``service`` holding ``name`` is the ``service.name`` alias, not a wrong kind."""
    for key in STANDARD_NAMES.intersection(obj):
        value = obj[key]
        if not isinstance(value, dict | list) or key in not_standard:
            continue
        if key == "service" and isinstance(value, dict) and "name" in value:
            continue
        return Rejection(
            RejectCode.BAD_FIELD,
            f"invalid {key}: expected a single value, got {json_type_name(value)}",
        )
    return None


def _resolve(
    original: dict[str, object],
    top: dict[str, object],
    attrs: dict[str, object],
    collector: bool,
    options: NormalizeOptions,
    picked: Picked | None = None,
    lists: tuple[set[str], set[str]] | None = None,
) -> NormalizedRecord | Rejection:
    chosen: dict[str, tuple[str, object]] = {}
    mapping = options.mapping
    not_standard = mapping.not_standard if mapping is not None else frozenset()
    for spec in STANDARD_FIELDS:
        if picked is not None and spec.name in picked.chosen:
            chosen[spec.name] = picked.chosen[spec.name]
            continue
        aliases = spec.aliases
        if not_standard:
            aliases = tuple(a for a in aliases if a not in not_standard)
        found = _take(aliases, top, attrs)
        if found is not None:
            at, name, value = found
            # (a list there, in the source it was taken from, is kept as JSON text as an
            # attribute, not as this field's value; one of the same name in the other
            # source is only an attribute)
            if lists is not None and name in lists[at]:
                label = _label(spec.name, name)
                return Rejection(
                    RejectCode.BAD_FIELD, f"invalid {label}: expected a single value, got array"
                )
            chosen[spec.name] = (name, value)
    result = NormalizedRecord(standard={}, attributes={})
    if "type" not in chosen:
        if not collector:
            return Rejection(RejectCode.MISSING_TYPE, "missing type")
        chosen["type"] = ("type", COLLECTOR_MESSAGE_TYPE)
    if "timestamp" not in chosen:
        if "received_at" not in chosen:
            return Rejection(RejectCode.MISSING_TIMESTAMP, "missing timestamp")
        chosen["timestamp"] = chosen["received_at"]
        result.time_from_received_at = True
        result.warnings.append("timestamp taken from received_at")
    rejection = _validate_standard(chosen, result, options)
    if rejection is not None:
        return rejection
    for name, value in top.items():
        # A standard name left here is a key the profile says is not that field.
        shown = f"{ATTRIBUTES_KEY}.{name}" if name in STANDARD_NAMES else name
        result.attributes[shown] = value
    for name, value in attrs.items():
        final = f"{ATTRIBUTES_KEY}.{name}" if name in top or name in STANDARD_NAMES else name
        if final in result.attributes:
            return Rejection(RejectCode.AMBIGUOUS_FIELD, f"ambiguous field {final!r}")
        result.attributes[final] = value
    for name in result.attributes:
        if options.is_secret_key(name):
            result.attributes[name] = REDACTED
            result.redacted += 1
    if result.standard.get("id") is None:
        result.standard["id"] = derive_id(original)
        result.derived_id = True
    return result


@functools.cache
def _event_model() -> tuple[type[Event], Callable[[tzinfo | None], dict[str, object]]]:
    """The pydantic event model and its validation context, imported at the first record
    that goes this way: building the model is the slowest of mfq's own imports, and a
    question on a file the vectorised path reads whole needs none."""
    from mfq.model.event import Event, validation_context

    return Event, validation_context


def _validate_standard(
    chosen: dict[str, tuple[str, object]], result: NormalizedRecord, options: NormalizeOptions
) -> Rejection | None:
    values: dict[str, object] = {}
    for name, (alias, value) in chosen.items():
        values[name] = value
        if name == "duration_ms" and alias in DURATION_UNITS and alias != "duration_ms":
            try:
                values[name] = duration_ms_value(value, alias)
            except ValueRuleError as err:
                return Rejection(RejectCode.BAD_FIELD, f"invalid duration_ms ({alias}): {err}")
    model, context = _event_model()
    from pydantic import ValidationError  # (imported with the model; not at start: 20 ms)

    try:
        event = model.model_validate(values, context=context(options.assume_tz))
    except ValidationError as err:
        return _rejection_from(err, chosen)
    result.standard = event.model_dump()
    result.naive_timestamp = timestamp_ns(chosen["timestamp"][1], options.assume_tz)[1]
    if result.naive_timestamp:
        result.warnings.append("naive timestamp")
    severity = chosen.get("severity")
    if severity is not None and not severity_value(severity[1])[1]:
        result.unknown_severity = True
        result.warnings.append("unrecognised severity")
    return None


def _rejection_from(err: ValidationError, chosen: dict[str, tuple[str, object]]) -> Rejection:
    first = err.errors(include_url=False)[0]
    field_name = str(first["loc"][0]) if first["loc"] else "record"
    cause = first.get("ctx", {}).get("error")
    message = str(cause) if cause is not None else first["msg"]
    alias = chosen.get(field_name, (field_name, None))[0]
    label = _label(field_name, alias)
    code = RejectCode.BAD_TIMESTAMP if field_name == "timestamp" else RejectCode.BAD_FIELD
    return Rejection(code, f"invalid {label}: {_short(message)}")


def _label(field_name: str, alias: str) -> str:
    return field_name if alias == field_name else f"{field_name} ({alias})"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
