"""OTLP records as events: spans (and their span events), log records, resources, scopes.

Each mapper takes one decoded OTLP object and the fields its resource and scope give it, and
returns plain event records (or rejections), which then go through the validation every
record goes through. The mapping is described in ``mfq.ingest.otlp``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mfq.ingest.otlp.scan import Signal
from mfq.ingest.otlp.values import (
    SPAN_ID_DIGITS,
    TRACE_ID_DIGITS,
    Invalid,
    any_value,
    attributes_of,
    count_field,
    enum_number,
    hex_id,
    json_text,
    object_field,
    shown,
    text_field,
    time_value,
    unix_nano,
)
from mfq.ingest.record import ATTRIBUTES_KEY, RejectCode, Rejection

#: An event as a plain JSON object, ready to be written as one line of text.
EventRecord = dict[str, object]

NS_PER_MS = 1e6
#: A log's type taken from its body: the first non-blank line, cut to this many characters.
TYPE_FROM_BODY_CHARS = 200
LOG_TYPE = "log"

SPAN_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
SPAN_KIND_NAMES = {"SPAN_KIND_UNSPECIFIED": 0} | {
    f"SPAN_KIND_{name.upper()}": number for number, name in SPAN_KINDS.items()
}
STATUS_CODES = {1: "ok", 2: "error"}
STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
#: OTLP's severity number ranges, each of four steps (TRACE..TRACE4, DEBUG..DEBUG4, ...).
SEVERITY_RANGES = (
    (1, 4, "debug"),  # TRACE: mfq has no trace level (as the text 'trace' reads as debug)
    (5, 8, "debug"),
    (9, 12, "info"),
    (13, 16, "warn"),
    (17, 20, "error"),
    (21, 24, "fatal"),
)
SEVERITY_NAMES = {"SEVERITY_NUMBER_UNSPECIFIED": 0} | {
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
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")


# -- resource and scope ------------------------------------------------------------------------


@dataclass(frozen=True)
class OtlpContext:
    """What a resource or scope adds to each of its records, or why its records fail."""

    fields: EventRecord
    problem: Invalid | None = None


EMPTY_CONTEXT = OtlpContext({})


def resource_context(resource: object) -> OtlpContext:
    """The fields a resource gives its records (service, environment, version, resource.*)."""
    try:
        obj = object_field(resource, "resource")
        attributes = attributes_of(obj.get("attributes"), "resource.attributes")
        fields: EventRecord = {}
        for name, keys in (
            ("service", ("service.name",)),
            ("environment", ENVIRONMENT_KEYS),
            ("version", ("service.version",)),
        ):
            for key in keys:
                if key in attributes:
                    fields[name] = attributes.pop(key)
                    break
        dropped = count_field(obj.get("droppedAttributesCount"), "resource.droppedAttributesCount")
        if dropped:
            attributes["dropped_attributes_count"] = dropped
        if attributes:
            fields["resource"] = attributes
        return OtlpContext(fields)
    except Invalid as problem:
        return OtlpContext({}, problem)


def scope_context(scope: object) -> OtlpContext:
    """The fields an instrumentation scope gives its records (scope.name, .version, ...)."""
    try:
        obj = object_field(scope, "scope")
        own: dict[str, object] = {
            "name": text_field(obj.get("name"), "scope.name"),
            "version": text_field(obj.get("version"), "scope.version"),
            "dropped_attributes_count": count_field(
                obj.get("droppedAttributesCount"), "scope.droppedAttributesCount"
            ),
        }
        fields = {k: v for k, v in own.items() if v is not None}
        for key, value in attributes_of(obj.get("attributes"), "scope.attributes").items():
            # The scope's own fields win; a colliding attribute keeps its value beside them.
            fields[f"{ATTRIBUTES_KEY}.{key}" if key in own else key] = value
        return OtlpContext({"scope": fields} if fields else {})
    except Invalid as problem:
        return OtlpContext({}, problem)


# -- records ------------------------------------------------------------------------------------


def map_span(span: object, context: EventRecord) -> list[EventRecord | Rejection]:
    """A span as its event, followed by one event per span event."""
    try:
        obj = _object_record(span, "span")
        record = _span_record(obj, context)
    except Invalid as problem:
        return [Rejection(problem.code, problem.reason)]
    results: list[EventRecord | Rejection] = [record]
    events = obj.get("events")
    if events is not None and not isinstance(events, list):
        return [Rejection(RejectCode.BAD_VALUE, "span events must be a list")]
    for number, event in enumerate(events or [], start=1):
        try:
            results.append(_span_event_record(event, number, record, context))
        except Invalid as problem:
            results.append(Rejection(problem.code, f"span event {number}: {problem.reason}"))
    return results


def _object_record(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise Invalid(RejectCode.NOT_OBJECT, f"the {what} is not an object ({shown(value)})")
    return value


def _span_record(span: dict[str, object], context: EventRecord) -> EventRecord:
    trace_id = hex_id(span.get("traceId"), "traceId", TRACE_ID_DIGITS)
    span_id = hex_id(span.get("spanId"), "spanId", SPAN_ID_DIGITS)
    if trace_id is None or span_id is None:
        missing = "traceId" if trace_id is None else "spanId"
        raise Invalid(RejectCode.BAD_ID, f"the span has no {missing}")
    parent = span.get("parentSpanId")
    parent_id = None if parent == "0" * SPAN_ID_DIGITS else hex_id(parent, "parentSpanId", 16)
    name = text_field(span.get("name"), "name")
    if name is None or not name.strip():
        raise Invalid(RejectCode.MISSING_TYPE, "the span has no name")
    start = unix_nano(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = unix_nano(span.get("endTimeUnixNano"), "endTimeUnixNano")
    if start is None:
        raise Invalid(RejectCode.MISSING_TIMESTAMP, "the span has no startTimeUnixNano")
    if end is None:
        raise Invalid(RejectCode.BAD_SPAN_TIMES, "the span has no endTimeUnixNano")
    if end < start:
        reason = f"the span ends {(start - end) / NS_PER_MS:g} ms before it starts"
        raise Invalid(RejectCode.BAD_SPAN_TIMES, reason)
    status = object_field(span.get("status"), "status")
    record: EventRecord = {
        "id": f"{trace_id}-{span_id}",
        "type": name,
        "timestamp": time_value(start),
        "duration_ms": (end - start) / NS_PER_MS,
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_id,
        "kind": _enum_text(span.get("kind"), "kind", SPAN_KIND_NAMES, SPAN_KINDS),
        "status": _enum_text(status.get("code"), "status.code", STATUS_NAMES, STATUS_CODES),
        "status_message": text_field(status.get("message"), "status.message"),
        "trace_state": text_field(span.get("traceState"), "traceState"),
        "flags": count_field(span.get("flags"), "flags"),
        "links": _links(span.get("links")),
        **context,
    }
    for key, name in (
        ("droppedAttributesCount", "dropped_attributes_count"),
        ("droppedEventsCount", "dropped_events_count"),
        ("droppedLinksCount", "dropped_links_count"),
    ):
        record[name] = count_field(span.get(key), key)
    return _with_attributes(record, attributes_of(span.get("attributes"), "attributes"))


def _enum_text(
    value: object, name: str, names: dict[str, int], texts: dict[int, str]
) -> str | None:
    """An enum as its lower-case name; unspecified is absent, a number OTLP does not define
    (yet) is kept as its decimal text rather than refused."""
    number = enum_number(value, name, names)
    return texts.get(number, str(number)) if number else None


def _links(value: object) -> str | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise Invalid(RejectCode.BAD_VALUE, "links must be a list")
    links = []
    for number, link in enumerate(value, start=1):
        obj = object_field(link, f"link {number}")
        entry: dict[str, object] = {
            "trace_id": hex_id(obj.get("traceId"), f"link {number} traceId", TRACE_ID_DIGITS),
            "span_id": hex_id(obj.get("spanId"), f"link {number} spanId", SPAN_ID_DIGITS),
            "trace_state": text_field(obj.get("traceState"), f"link {number} traceState"),
            "attributes": attributes_of(
                obj.get("attributes"), f"link {number} attributes", stored=False
            )
            or None,
        }
        links.append({k: v for k, v in entry.items() if v is not None})
    return json_text(links)


def _span_event_record(
    event: object, number: int, span: EventRecord, context: EventRecord
) -> EventRecord:
    obj = _object_record(event, "span event")
    name = text_field(obj.get("name"), "name")
    if name is None or not name.strip():
        raise Invalid(RejectCode.MISSING_TYPE, "the event has no name")
    time = unix_nano(obj.get("timeUnixNano"), "timeUnixNano")
    if time is None:
        raise Invalid(RejectCode.MISSING_TIMESTAMP, "the event has no timeUnixNano")
    record: EventRecord = {
        "id": f"{span['id']}-{number}",
        "type": name,
        "timestamp": time_value(time),
        "trace_id": span["trace_id"],
        "parent_span_id": span["span_id"],
        "dropped_attributes_count": count_field(
            obj.get("droppedAttributesCount"), "droppedAttributesCount"
        ),
        **context,
    }
    return _with_attributes(record, attributes_of(obj.get("attributes"), "attributes"))


def map_log_record(log: object, context: EventRecord) -> list[EventRecord | Rejection]:
    """A log record as its event."""
    try:
        return [_log_record(_object_record(log, "log record"), context)]
    except Invalid as problem:
        return [Rejection(problem.code, problem.reason)]


def _log_record(log: dict[str, object], context: EventRecord) -> EventRecord:
    time = unix_nano(log.get("timeUnixNano"), "timeUnixNano")
    observed = unix_nano(log.get("observedTimeUnixNano"), "observedTimeUnixNano")
    if time is None and observed is None:
        reason = "the log record has neither timeUnixNano nor observedTimeUnixNano"
        raise Invalid(RejectCode.MISSING_TIMESTAMP, reason)
    attributes = attributes_of(log.get("attributes"), "attributes")
    try:
        body = any_value(log.get("body"), stored=True)
    except Invalid as problem:
        raise problem.inside("body") from None
    severity_number = enum_number(log.get("severityNumber"), "severityNumber", SEVERITY_NAMES)
    severity_text = text_field(log.get("severityText"), "severityText")
    record: EventRecord = {
        "type": _log_type(log, attributes, body),
        "timestamp": None if time is None else time_value(time),
        "received_at": None if observed is None else time_value(observed),
        "severity": _severity(severity_number) or severity_text,
        "severity_text": severity_text,
        "severity_number": severity_number or None,
        "trace_id": hex_id(log.get("traceId"), "traceId", TRACE_ID_DIGITS),
        "span_id": hex_id(log.get("spanId"), "spanId", SPAN_ID_DIGITS),
        "flags": count_field(log.get("flags"), "flags"),
        "dropped_attributes_count": count_field(
            log.get("droppedAttributesCount"), "droppedAttributesCount"
        ),
        "body": body,
        **context,
    }
    return _with_attributes(record, attributes)


def _log_type(log: dict[str, object], attributes: dict[str, object], body: object) -> str:
    event_name = text_field(log.get("eventName"), "eventName")
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


MAPPERS = {Signal.SPANS: map_span, Signal.LOGS: map_log_record}
