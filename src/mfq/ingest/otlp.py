"""OpenTelemetry OTLP/JSON: spans and log records become events.

The reader (:func:`otlp_chunks`) streams the documents (``mfq.ingest.otlp_scan``) and maps
every span, span event and log record to a plain event record (standard field names,
OTLP attributes beside them), which then goes through the same validation as any other
record. Problems only OTLP can have (a bad hex id, an end before the start, a missing
time, a value of the wrong shape) are rejected here, with the reason, the line the record
starts on and the record's own OTLP text; a rejection by the common validation is shown
with the OTLP text too. Record numbers count the records of the source in order: spans,
span events and log records alike.

The mapping (``docs/guide.md``, "OpenTelemetry exports", is the user's version):

- span: ``type`` its name; ``timestamp`` its start; ``duration_ms`` end − start;
  ``trace_id``/``span_id``/``parent_span_id`` lower-case hex; ``id`` is
  ``<trace_id>-<span_id>`` (the same span in two exports is one event); ``kind``
  internal/server/client/producer/consumer (unspecified: absent); ``status`` ok/error
  (unset: absent) and ``status_message``; ``trace_state``, ``flags``, the dropped counts
  when not zero; links as JSON text (``links``).
- span event: an event of its own (``type`` its name, ``timestamp`` its time) with the
  span's ``trace_id`` and the span's id as ``parent_span_id``, so a trace shows it under
  its span; ``id`` is ``<trace_id>-<span_id>-<n>`` (n counts the span's events from 1).
- log record: ``type`` from ``eventName``, else the ``event.name`` attribute, else a
  message template attribute (``{OriginalFormat}``, ``message_template.text``), else the
  first line of a text body, else ``log``; ``timestamp`` ``timeUnixNano`` and
  ``received_at`` ``observedTimeUnixNano`` (a record with only the latter takes it as its
  time, with a warning, as the OTLP data model says); ``severity`` from
  ``severityNumber`` (1–4 trace → debug, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error,
  21–24 fatal), else from ``severityText``; ``severity_text``, ``severity_number``,
  ``body`` (kvlist bodies flatten to ``body.<key>``), ids when present; the id is derived
  from the content.
- resource: ``service.name`` → ``service``, ``deployment.environment.name`` (or the older
  ``deployment.environment``) → ``environment``, ``service.version`` → ``version``; its
  other attributes as ``resource.<key>``. Scope: ``scope.name``, ``scope.version``, its
  attributes as ``scope.<key>``.
- attributes: typed (``intValue`` as int64, ``doubleValue`` float64, ``boolValue``
  boolean, ``stringValue`` and ``bytesValue`` (base64) text, ``arrayValue`` JSON text as
  lists are kept, ``kvlistValue`` flattened with dots), and then treated exactly as a
  Manufactory record's ``attributes``: lifted to the top level, a standard field OTLP left
  empty may come from them, and one that collides with a field set above (or with a
  standard field name) is kept as ``attributes.<key>``.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import numpy as np

from mfq.errors import InputUnreadable
from mfq.ingest.batch import RejectedRecord
from mfq.ingest.containers import RecordChunk
from mfq.ingest.otlp_scan import Piece, PieceKind, Signal, scan_otlp
from mfq.ingest.record import (
    ATTRIBUTES_KEY,
    INT64_MAX,
    INT64_MIN,
    RejectCode,
    Rejection,
)
from mfq.ingest.validate import raw_text
from mfq.model.values import MAX_NS

#: An event as a plain JSON object, ready to be written as one line of text.
EventRecord = dict[str, object]

TRACE_ID_DIGITS, SPAN_ID_DIGITS = 32, 16
UINT32_MAX = 2**32 - 1
#: Epoch nanoseconds below this would be read as microseconds by magnitude: written as text.
_SMALLEST_EPOCH_NS = 10**17
_NS_PER_MS = 1e6
#: A log's type taken from its body: the first non-blank line, cut to this many characters.
TYPE_FROM_BODY_CHARS = 200
LOG_TYPE = "log"
#: Bytes the scanner reads at a time (chunks of converted records are still chunk_bytes).
SCAN_READ_BYTES = 1 << 20

SPAN_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_SPAN_KIND_NAMES = {"SPAN_KIND_UNSPECIFIED": 0} | {
    f"SPAN_KIND_{name.upper()}": number for number, name in SPAN_KINDS.items()
}
STATUS_CODES = {1: "ok", 2: "error"}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
#: OTLP's severity number ranges, each of four steps (TRACE..TRACE4, DEBUG..DEBUG4, ...).
SEVERITY_RANGES = (
    (1, 4, "debug"),  # TRACE: mfq has no trace level (as the text 'trace' reads as debug)
    (5, 8, "debug"),
    (9, 12, "info"),
    (13, 16, "warn"),
    (17, 20, "error"),
    (21, 24, "fatal"),
)
_SEVERITY_NAMES = {"SEVERITY_NUMBER_UNSPECIFIED": 0} | {
    f"SEVERITY_NUMBER_{level}{'' if step == 1 else step}": base + step - 1
    for base, level in (
        (1, "TRACE"),
        (5, "DEBUG"),
        (9, "INFO"),
        (13, "WARN"),
        (17, "ERROR"),
        (21, "FATAL"),
    )
    for step in range(1, 5)
}
#: Log attributes that name the record's type, in order of preference.
LOG_TYPE_ATTRIBUTES = ("event.name", "{OriginalFormat}", "message_template.text")
_ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")

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


class _Invalid(Exception):
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

    def inside(self, segment: str) -> _Invalid:
        """The same problem, one level further out."""
        self.where = segment + self.where
        return self


def _bad_value(problem: str) -> _Invalid:
    return _Invalid(RejectCode.BAD_VALUE, problem)


# -- values -------------------------------------------------------------------------------------


def any_value(value: object, *, stored: bool) -> object:
    """An OTLP ``AnyValue`` as a plain value (None for an empty one). ``stored``: a list
    becomes the JSON text lists are stored as; inside an array it stays a list."""
    if value is None:
        return None
    if type(value) is not dict:
        raise _bad_value(f"must be an AnyValue object ({_shown(value)})")
    if not value:
        return None
    if len(value) != 1:
        raise _bad_value(f"has several values: {', '.join(map(str, value))}")
    ((kind, inner),) = value.items()
    if inner is None:
        return None
    decode = _VALUE_DECODERS.get(kind)
    if decode is None and kind != _KVLIST:
        raise _bad_value(f"has an unknown value type {kind!r}")
    try:
        if decode is None:  # a kvlist's values are fields (stored) or inside an array (not)
            decoded: object = key_values(_values_of(inner), stored=stored)
        else:
            decoded = decode(inner)
    except _Invalid as problem:
        raise problem.inside(f".{kind}") from None
    return _json_text(decoded) if stored and type(decoded) is list else decoded


def _string_value(value: object) -> object:
    if type(value) is not str:
        raise _bad_value(f"must be a string ({_shown(value)})")
    return value


def _bool_value(value: object) -> object:
    if type(value) is not bool:
        raise _bad_value(f"must be true or false ({_shown(value)})")
    return value


def _int_value(value: object) -> int:
    """int64, as a JSON number or (protobuf's JSON for 64-bit integers) decimal text."""
    number = _whole(value)
    if number is None or not INT64_MIN <= number <= INT64_MAX:
        raise _bad_value(f"must be a 64-bit integer ({_shown(value)})")
    return number


def _whole(value: object) -> int | None:
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
        raise _bad_value(f"must be a finite number ({_shown(value)})")
    return number


def _values_of(value: object) -> list[object]:
    """The ``values`` list of an ``ArrayValue`` or ``KeyValueList``."""
    if type(value) is not dict or set(value) - {"values"}:
        raise _bad_value(f"must be an object with 'values' ({_shown(value)})")
    values = value.get("values") or []
    if type(values) is not list:
        raise _bad_value(f"must be a list ({_shown(values)})").inside(".values")
    return values


def _array_value(value: object) -> object:
    result = []
    for index, item in enumerate(_values_of(value)):
        try:
            result.append(any_value(item, stored=False))
        except _Invalid as problem:
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
    except _Invalid as problem:
        raise problem.inside(where) from None


def key_values(value: object, *, stored: bool) -> dict[str, object]:
    """A list of ``KeyValue`` as a dict; empty values are left out."""
    if value is None:
        return {}
    if type(value) is not list:
        raise _bad_value(f"must be a list of key/value objects ({_shown(value)})")
    result: dict[str, object] = {}
    empty = False
    for item in value:
        key = item.get("key") if type(item) is dict else None
        if type(key) is not str or not key:
            raise _bad_value(f"holds an entry without a key ({_shown(item)})")
        if key in result:
            raise _bad_value(f"holds the key {key!r} twice")
        raw = item.get("value")
        # The common case first, without a call: a string value.
        if type(raw) is dict and len(raw) == 1 and type(raw.get("stringValue")) is str:
            result[key] = raw["stringValue"]
            continue
        try:
            decoded = any_value(raw, stored=stored)
        except _Invalid as problem:
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
        raise _Invalid(RejectCode.BAD_ID, f"{name} must be hex text ({_shown(value)})")
    if len(value) != digits or not _HEX.fullmatch(value):
        hint = " (base64? OTLP/JSON writes ids as hex)" if _looks_base64(value, digits) else ""
        raise _Invalid(RejectCode.BAD_ID, f"{name} {value[:40]!r} is not {digits} hex digits{hint}")
    if value.count("0") == digits:
        raise _Invalid(RejectCode.BAD_ID, f"{name} is all zeros, which OTLP defines as invalid")
    return value.lower()


def _looks_base64(value: str, digits: int) -> bool:
    return len(value) == (digits // 2 + 2) // 3 * 4 and value.endswith("=")


def unix_nano(value: object, name: str) -> int | None:
    """A ``fixed64`` time in nanoseconds since the epoch (a number or decimal text); 0 and
    absence both mean unset."""
    if value is None:
        return None
    number = _whole(value)
    if number is None or number < 0:
        reason = f"{name} must be whole nanoseconds since 1970 ({_shown(value)})"
        raise _Invalid(RejectCode.BAD_TIMESTAMP, reason)
    if number > MAX_NS:
        raise _Invalid(RejectCode.BAD_TIMESTAMP, f"{name} {number} is after 2262")
    return number or None


def _time_value(ns: int) -> object:
    """Nanoseconds as the record's time: the number itself when its magnitude reads as
    nanoseconds (every time after 1973-03-03), else exact ISO text."""
    if ns >= _SMALLEST_EPOCH_NS:
        return ns
    seconds, fraction = divmod(ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def _count(value: object, name: str) -> int | None:
    """A uint32 count or flags field; 0 is left out."""
    if value is None:
        return None
    number = _whole(value)
    if number is None or not 0 <= number <= UINT32_MAX:
        raise _bad_value(f"{name} must be a whole number from 0 to {UINT32_MAX} ({_shown(value)})")
    return number or None


def _enum(value: object, name: str, names: dict[str, int]) -> int:
    """A protobuf enum: its number, or its name (protobuf's JSON accepts both)."""
    if value is None:
        return 0
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _Invalid(RejectCode.BAD_VALUE, f"{name} is not a known value ({_shown(value)})")


def _text(value: object, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Invalid(RejectCode.BAD_VALUE, f"{name} must be text ({_shown(value)})")
    return value


def _object(value: object, name: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid(RejectCode.BAD_VALUE, f"{name} must be an object ({_shown(value)})")
    return value


def _shown(value: object) -> str:
    text = json.dumps(value)  # ASCII: a reason must be storable whatever the value holds
    return f"got {text if len(text) <= 40 else text[:39] + '…'}"


# -- resource and scope ------------------------------------------------------------------------


@dataclass(frozen=True)
class OtlpContext:
    """What a resource or scope adds to each of its records, or why its records fail."""

    fields: EventRecord
    problem: _Invalid | None = None


EMPTY_CONTEXT = OtlpContext({})


def resource_context(resource: object) -> OtlpContext:
    """The fields a resource gives its records (service, environment, version, resource.*)."""
    try:
        obj = _object(resource, "resource")
        attributes = attributes_of(obj.get("attributes"), "resource.attributes")
        fields: EventRecord = {}
        for name, keys in (
            ("service", ("service.name",)),
            ("environment", _ENVIRONMENT_KEYS),
            ("version", ("service.version",)),
        ):
            for key in keys:
                if key in attributes:
                    fields[name] = attributes.pop(key)
                    break
        dropped = _count(obj.get("droppedAttributesCount"), "resource.droppedAttributesCount")
        if dropped:
            attributes["dropped_attributes_count"] = dropped
        if attributes:
            fields["resource"] = attributes
        return OtlpContext(fields)
    except _Invalid as problem:
        return OtlpContext({}, problem)


def scope_context(scope: object) -> OtlpContext:
    """The fields an instrumentation scope gives its records (scope.name, .version, ...)."""
    try:
        obj = _object(scope, "scope")
        own: dict[str, object] = {
            "name": _text(obj.get("name"), "scope.name"),
            "version": _text(obj.get("version"), "scope.version"),
            "dropped_attributes_count": _count(
                obj.get("droppedAttributesCount"), "scope.droppedAttributesCount"
            ),
        }
        fields = {k: v for k, v in own.items() if v is not None}
        for key, value in attributes_of(obj.get("attributes"), "scope.attributes").items():
            # The scope's own fields win; a colliding attribute keeps its value beside them.
            fields[f"{ATTRIBUTES_KEY}.{key}" if key in own else key] = value
        return OtlpContext({"scope": fields} if fields else {})
    except _Invalid as problem:
        return OtlpContext({}, problem)


# -- records ------------------------------------------------------------------------------------


def map_span(span: object, context: EventRecord) -> list[EventRecord | Rejection]:
    """A span as its event, followed by one event per span event."""
    try:
        obj = _object_record(span, "span")
        record = _span_record(obj, context)
    except _Invalid as problem:
        return [Rejection(problem.code, problem.reason)]
    results: list[EventRecord | Rejection] = [record]
    events = obj.get("events")
    if events is not None and not isinstance(events, list):
        return [Rejection(RejectCode.BAD_VALUE, "span events must be a list")]
    for number, event in enumerate(events or [], start=1):
        try:
            results.append(_span_event_record(event, number, record, context))
        except _Invalid as problem:
            results.append(Rejection(problem.code, f"span event {number}: {problem.reason}"))
    return results


def _object_record(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _Invalid(RejectCode.NOT_OBJECT, f"the {what} is not an object ({_shown(value)})")
    return value


def _span_record(span: dict[str, object], context: EventRecord) -> EventRecord:
    trace_id = hex_id(span.get("traceId"), "traceId", TRACE_ID_DIGITS)
    span_id = hex_id(span.get("spanId"), "spanId", SPAN_ID_DIGITS)
    if trace_id is None or span_id is None:
        missing = "traceId" if trace_id is None else "spanId"
        raise _Invalid(RejectCode.BAD_ID, f"the span has no {missing}")
    parent = span.get("parentSpanId")
    parent_id = None if parent == "0" * SPAN_ID_DIGITS else hex_id(parent, "parentSpanId", 16)
    name = _text(span.get("name"), "name")
    if name is None or not name.strip():
        raise _Invalid(RejectCode.MISSING_TYPE, "the span has no name")
    start = unix_nano(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = unix_nano(span.get("endTimeUnixNano"), "endTimeUnixNano")
    if start is None:
        raise _Invalid(RejectCode.MISSING_TIMESTAMP, "the span has no startTimeUnixNano")
    if end is None:
        raise _Invalid(RejectCode.BAD_SPAN_TIMES, "the span has no endTimeUnixNano")
    if end < start:
        reason = f"the span ends {(start - end) / _NS_PER_MS:g} ms before it starts"
        raise _Invalid(RejectCode.BAD_SPAN_TIMES, reason)
    status = _object(span.get("status"), "status")
    record: EventRecord = {
        "id": f"{trace_id}-{span_id}",
        "type": name,
        "timestamp": _time_value(start),
        "duration_ms": (end - start) / _NS_PER_MS,
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_id,
        "kind": _enum_text(span.get("kind"), "kind", _SPAN_KIND_NAMES, SPAN_KINDS),
        "status": _enum_text(status.get("code"), "status.code", _STATUS_NAMES, STATUS_CODES),
        "status_message": _text(status.get("message"), "status.message"),
        "trace_state": _text(span.get("traceState"), "traceState"),
        "flags": _count(span.get("flags"), "flags"),
        "links": _links(span.get("links")),
        **context,
    }
    for key, name in (
        ("droppedAttributesCount", "dropped_attributes_count"),
        ("droppedEventsCount", "dropped_events_count"),
        ("droppedLinksCount", "dropped_links_count"),
    ):
        record[name] = _count(span.get(key), key)
    return _with_attributes(record, attributes_of(span.get("attributes"), "attributes"))


def _enum_text(
    value: object, name: str, names: dict[str, int], texts: dict[int, str]
) -> str | None:
    """An enum as its lower-case name; unspecified is absent, a number OTLP does not define
    (yet) is kept as its decimal text rather than refused."""
    number = _enum(value, name, names)
    return texts.get(number, str(number)) if number else None


def _links(value: object) -> str | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise _Invalid(RejectCode.BAD_VALUE, "links must be a list")
    links = []
    for number, link in enumerate(value, start=1):
        obj = _object(link, f"link {number}")
        entry: dict[str, object] = {
            "trace_id": hex_id(obj.get("traceId"), f"link {number} traceId", TRACE_ID_DIGITS),
            "span_id": hex_id(obj.get("spanId"), f"link {number} spanId", SPAN_ID_DIGITS),
            "trace_state": _text(obj.get("traceState"), f"link {number} traceState"),
            "attributes": attributes_of(
                obj.get("attributes"), f"link {number} attributes", stored=False
            )
            or None,
        }
        links.append({k: v for k, v in entry.items() if v is not None})
    return _json_text(links)


def _span_event_record(
    event: object, number: int, span: EventRecord, context: EventRecord
) -> EventRecord:
    obj = _object_record(event, "span event")
    name = _text(obj.get("name"), "name")
    if name is None or not name.strip():
        raise _Invalid(RejectCode.MISSING_TYPE, "the event has no name")
    time = unix_nano(obj.get("timeUnixNano"), "timeUnixNano")
    if time is None:
        raise _Invalid(RejectCode.MISSING_TIMESTAMP, "the event has no timeUnixNano")
    record: EventRecord = {
        "id": f"{span['id']}-{number}",
        "type": name,
        "timestamp": _time_value(time),
        "trace_id": span["trace_id"],
        "parent_span_id": span["span_id"],
        "dropped_attributes_count": _count(
            obj.get("droppedAttributesCount"), "droppedAttributesCount"
        ),
        **context,
    }
    return _with_attributes(record, attributes_of(obj.get("attributes"), "attributes"))


def map_log_record(log: object, context: EventRecord) -> list[EventRecord | Rejection]:
    """A log record as its event."""
    try:
        return [_log_record(_object_record(log, "log record"), context)]
    except _Invalid as problem:
        return [Rejection(problem.code, problem.reason)]


def _log_record(log: dict[str, object], context: EventRecord) -> EventRecord:
    time = unix_nano(log.get("timeUnixNano"), "timeUnixNano")
    observed = unix_nano(log.get("observedTimeUnixNano"), "observedTimeUnixNano")
    if time is None and observed is None:
        reason = "the log record has neither timeUnixNano nor observedTimeUnixNano"
        raise _Invalid(RejectCode.MISSING_TIMESTAMP, reason)
    attributes = attributes_of(log.get("attributes"), "attributes")
    try:
        body = any_value(log.get("body"), stored=True)
    except _Invalid as problem:
        raise problem.inside("body") from None
    severity_number = _enum(log.get("severityNumber"), "severityNumber", _SEVERITY_NAMES)
    severity_text = _text(log.get("severityText"), "severityText")
    record: EventRecord = {
        "type": _log_type(log, attributes, body),
        "timestamp": None if time is None else _time_value(time),
        "received_at": None if observed is None else _time_value(observed),
        "severity": _severity(severity_number) or severity_text,
        "severity_text": severity_text,
        "severity_number": severity_number or None,
        "trace_id": hex_id(log.get("traceId"), "traceId", TRACE_ID_DIGITS),
        "span_id": hex_id(log.get("spanId"), "spanId", SPAN_ID_DIGITS),
        "flags": _count(log.get("flags"), "flags"),
        "dropped_attributes_count": _count(
            log.get("droppedAttributesCount"), "droppedAttributesCount"
        ),
        "body": body,
        **context,
    }
    return _with_attributes(record, attributes)


def _log_type(log: dict[str, object], attributes: dict[str, object], body: object) -> str:
    event_name = _text(log.get("eventName"), "eventName")
    candidates = [event_name, *(attributes.get(key) for key in LOG_TYPE_ATTRIBUTES)]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    if isinstance(body, str):
        for line in body.splitlines():
            if line.strip():
                return line.strip()[:TYPE_FROM_BODY_CHARS]
    return LOG_TYPE


def _severity(number: int) -> str | None:
    for low, high, level in SEVERITY_RANGES:
        if low <= number <= high:
            return level
    return None  # unspecified, or a number OTLP does not define: the text decides


def _with_attributes(record: EventRecord, attributes: dict[str, object]) -> EventRecord:
    """The record without its empty fields, its attributes under ``attributes`` (where
    validation lifts them by the rules every record follows)."""
    result = {k: v for k, v in record.items() if v is not None}
    if attributes:
        result[ATTRIBUTES_KEY] = attributes
    return result


def _json_text(value: Sequence[object]) -> str:
    """A list as the JSON text every list is stored as (the same text validation writes)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_MAPPERS = {Signal.SPANS: map_span, Signal.LOGS: map_log_record}


# -- the reader ---------------------------------------------------------------------------------


def otlp_chunks(stream: BinaryIO, chunk_bytes: int) -> Iterator[RecordChunk]:
    """The events of an OTLP/JSON input as record chunks of about ``chunk_bytes``."""
    builder = _ChunkBuilder(chunk_bytes)
    assembler = _Assembler(builder, hold_bytes=chunk_bytes)
    # Small reads: the scanner's index arrays and the pieces of one read stay a few MiB.
    for piece in scan_otlp(stream, min(chunk_bytes, SCAN_READ_BYTES)):
        assembler.add(piece)
        ready = builder.take()
        if ready is not None:
            yield ready
    assembler.finish()
    last = builder.take(final=True)
    if last is not None:
        yield last


class _ChunkBuilder:
    """Collects converted records (one JSON text each) and reader rejects into chunks."""

    def __init__(self, chunk_bytes: int) -> None:
        self.chunk_bytes = chunk_bytes
        self.number = 0
        self._reset()

    def _reset(self) -> None:
        self.texts: list[bytes] = []
        self.numbers: list[int] = []
        self.originals: list[tuple[bytes, int]] = []
        self.rejects: list[RejectedRecord] = []
        self.size = 0

    def event(self, record: EventRecord, original: bytes, line: int) -> None:
        """One converted record (``original`` is the OTLP text it came from)."""
        try:
            text = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        except UnicodeEncodeError:
            # The same reason the record path gives for a lone surrogate.
            self.reject(RejectCode.NOT_JSON, "not JSON: invalid unicode escape", original, line)
            return
        self.number += 1
        self.texts.append(text)
        self.numbers.append(self.number)
        self.originals.append((original, line))
        self.size += len(text) + len(original)

    def reject(self, code: RejectCode, reason: str, original: bytes, line: int) -> None:
        """One record rejected by the reader itself."""
        self.number += 1
        raw = raw_text(original)
        self.rejects.append(RejectedRecord(self.number, code, f"{reason} (line {line})", raw))
        self.size += len(raw)

    def take(self, *, final: bool = False) -> RecordChunk | None:
        """The chunk collected so far, once it is big enough (or at the end)."""
        if not (self.texts or self.rejects) or (self.size < self.chunk_bytes and not final):
            return None
        lengths = np.fromiter((len(t) for t in self.texts), np.int64, len(self.texts))
        ends = np.cumsum(lengths + 1) - 1
        chunk = RecordChunk(
            b"\n".join(self.texts),
            np.array(self.numbers, dtype=np.int64),
            (ends - lengths, ends),
            rejects=self.rejects,
            originals=self.originals,
        )
        self._reset()
        return chunk


@dataclass
class _ScopeSlot:
    """The scope of one ``scopeSpans`` element, known once its ``scope`` was read or the
    element closed without one."""

    context: OtlpContext | None = None
    done: bool = False
    forced: bool = False  # its records were released before it was known

    @property
    def known(self) -> bool:
        return self.context is not None or self.done or self.forced


class _Assembler:
    """Pairs records with their resource and scope, in document order.

    Every OTLP encoder writes a resource before its scopes and a scope before its records,
    so records are released at once. When a document puts them after (JSON key order is
    free: ``jq -S`` sorts ``logRecords`` before ``scope``), records wait, up to
    ``hold_bytes``; past that they are released without it, and a resource or scope that
    still arrives later stops the ingest with a clear message.
    """

    def __init__(self, out: _ChunkBuilder, hold_bytes: int) -> None:
        self.out = out
        self.hold_bytes = hold_bytes
        self.resource: OtlpContext | None = None
        self.resource_done = False
        self.resource_forced = False
        self.slot = _ScopeSlot()
        self.pending: deque[tuple[Piece, _ScopeSlot]] = deque()
        self.pending_bytes = 0

    def add(self, piece: Piece) -> None:
        kind = piece.kind
        if kind is PieceKind.RECORD or kind is PieceKind.MALFORMED:
            self.pending.append((piece, self.slot))
            self.pending_bytes += len(piece.text)
        elif kind is PieceKind.RESOURCE:
            if self.resource_forced:
                raise _late("resource", piece.line, self.hold_bytes)
            self.resource = _context(piece.text, resource_context)
        elif kind is PieceKind.SCOPE:
            if self.slot.forced:
                raise _late("scope", piece.line, self.hold_bytes)
            self.slot.context = _context(piece.text, scope_context)
        elif kind is PieceKind.SCOPE_END:
            self.slot.done = True
            self.slot = _ScopeSlot()
        elif kind is PieceKind.RESOURCE_END:
            self.resource_done = True
            self.slot.done = True  # records after the last scope element (malformed input)
            self._release()
            self.resource, self.resource_done, self.resource_forced = None, False, False
            self.slot = _ScopeSlot()
            return
        if self.pending_bytes > self.hold_bytes:
            if self.resource is None and not self.resource_done:
                self.resource_forced = True
            if not self.slot.known:
                self.slot.forced = True
        self._release()

    def finish(self) -> None:
        """The input ended: whatever waits is released with what is known."""
        self.resource_done = True
        self.slot.done = True
        self._release()

    def _release(self) -> None:
        resource_known = self.resource is not None or self.resource_done or self.resource_forced
        while self.pending:
            piece, slot = self.pending[0]
            if piece.kind is PieceKind.RECORD and not (resource_known and slot.known):
                return
            self.pending.popleft()
            self.pending_bytes -= len(piece.text)
            self._emit(piece, slot)

    def _emit(self, piece: Piece, slot: _ScopeSlot) -> None:
        if piece.kind is PieceKind.MALFORMED:
            code = piece.code or RejectCode.BAD_VALUE
            self.out.reject(code, piece.reason, piece.text, piece.line)
            return
        resource = self.resource or EMPTY_CONTEXT
        scope = slot.context or EMPTY_CONTEXT
        for context, what in ((resource, "its resource"), (scope, "its scope")):
            if context.problem is not None:
                reason = f"{what}: {context.problem.reason}"
                self.out.reject(context.problem.code, reason, piece.text, piece.line)
                return
        try:
            obj = decode_otlp(piece.text)
        except (ValueError, UnicodeDecodeError, RecursionError) as err:
            reason = f"not JSON: {_short(str(err))}"
            self.out.reject(RejectCode.NOT_JSON, reason, piece.text, piece.line)
            return
        assert piece.signal is not None
        try:
            mapped = _MAPPERS[piece.signal](obj, {**resource.fields, **scope.fields})
        except RecursionError:
            mapped = [Rejection(RejectCode.BAD_VALUE, "values nested too deeply")]
        for item in mapped:
            if isinstance(item, Rejection):
                self.out.reject(item.code, item.reason, piece.text, piece.line)
            else:
                self.out.event(item, piece.text, piece.line)


def _context(text: bytes, build: Callable[[object], OtlpContext]) -> OtlpContext:
    """A resource's or scope's context; text that is not JSON is a problem of its records."""
    try:
        value = decode_otlp(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        return OtlpContext({}, _Invalid(RejectCode.NOT_JSON, f"not JSON: {_short(str(err))}"))
    try:
        return build(value)
    except RecursionError:
        return OtlpContext({}, _Invalid(RejectCode.BAD_VALUE, "values nested too deeply"))


def _short(text: str) -> str:
    return " ".join(text.split())[:160]


def _late(what: str, line: int, hold_bytes: int) -> InputUnreadable:
    return InputUnreadable(
        f"OTLP: a {what} on line {line} comes after more than {hold_bytes:,} bytes of its"
        f" records; mfq streams OTLP documents and needs the {what} first, as OTLP encoders"
        " write it"
    )
