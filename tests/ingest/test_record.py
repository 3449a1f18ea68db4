"""The record-by-record path: SPEC's event model, one rule per test."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mfq.ingest.options import REDACTED, NormalizeOptions
from mfq.ingest.record import NormalizedRecord, RejectCode, Rejection, derive_id, normalize_record

OPTIONS = NormalizeOptions()


def ok(record: object, options: NormalizeOptions = OPTIONS) -> NormalizedRecord:
    raw = record if isinstance(record, str) else json.dumps(record)
    outcome = normalize_record(raw, options)
    assert isinstance(outcome, NormalizedRecord), outcome
    return outcome


def rejected(record: object) -> Rejection:
    raw = record if isinstance(record, str) else json.dumps(record)
    outcome = normalize_record(raw, OPTIONS)
    assert isinstance(outcome, Rejection), outcome
    return outcome


def ns(*args: int, tz: object = UTC) -> int:
    moment = datetime(*args, tzinfo=tz)  # type: ignore[misc]
    return int(moment.timestamp()) * 1_000_000_000


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", RejectCode.NOT_JSON),
        ('{"type": "a", "timestamp": NaN}', RejectCode.NOT_JSON),
        ("[1, 2]", RejectCode.NOT_OBJECT),
        ('"a string"', RejectCode.NOT_OBJECT),
        ('{"timestamp": "2026-11-03T10:00:00Z"}', RejectCode.MISSING_TYPE),
        ('{"type": "", "timestamp": "2026-11-03T10:00:00Z"}', RejectCode.BAD_FIELD),
        ('{"type": "a"}', RejectCode.MISSING_TIMESTAMP),
        ('{"type": "a", "timestamp": "yesterday"}', RejectCode.BAD_TIMESTAMP),
        ('{"type": "a", "timestamp": "2026-02-30T10:00:00Z"}', RejectCode.BAD_TIMESTAMP),
        ('{"type": "a", "timestamp": true}', RejectCode.BAD_TIMESTAMP),
        ('{"type": "a", "timestamp": 1e30}', RejectCode.BAD_TIMESTAMP),
        ('{"type": 5.5, "timestamp": 1}', RejectCode.BAD_FIELD),
        ('{"type": "a", "timestamp": 1, "duration_ms": "fast"}', RejectCode.BAD_FIELD),
        ('{"type": "a", "timestamp": 1, "duration_ms": -1}', RejectCode.BAD_FIELD),
        ('{"type": "a", "timestamp": 1, "http_status": 700}', RejectCode.BAD_FIELD),
        ('{"type": "a", "timestamp": 1, "http_status": "200"}', RejectCode.BAD_FIELD),
        ('{"type": "a", "timestamp": 1, "sample_rate": 0}', RejectCode.BAD_FIELD),
        ('{"type": "a", "timestamp": 1, "sample_rate": 2.5}', RejectCode.BAD_FIELD),
        ('{"type": "a", "timestamp": 1, "service": true}', RejectCode.BAD_FIELD),
        (
            '{"type": "a", "timestamp": 1, "svc": {"x": 1}, "svc.x": 2}',
            RejectCode.AMBIGUOUS_FIELD,
        ),
        ('{"type": "a", "timestamp": 1, "received_at": "soon"}', RejectCode.BAD_FIELD),
    ],
)
def test_rejects_each_broken_record_with_its_reason(raw: str, code: RejectCode) -> None:
    assert rejected(raw).code is code


def test_rejection_reason_names_the_field_and_alias() -> None:
    reason = rejected({"type": "a", "timestamp": 1, "duration_s": "x"}).reason
    assert reason == "invalid duration_ms (duration_s): expected a number, got string"


@pytest.mark.parametrize(
    ("value", "expected_ns", "naive"),
    [
        ("2026-11-03T10:00:00Z", ns(2026, 11, 3, 10), False),
        ("2026-11-03T12:00:00+02:00", ns(2026, 11, 3, 10), False),
        ("2026-11-03T05:30:00-0430", ns(2026, 11, 3, 10), False),
        ("2026-11-03T10:00:00.123456789Z", ns(2026, 11, 3, 10) + 123_456_789, False),
        ("2026-11-03T10:00Z", ns(2026, 11, 3, 10), False),
        ("2026-11-03 10:00:00", ns(2026, 11, 3, 10), False),  # Manufactory's own: UTC
        ("2026-11-03T10:00:00", ns(2026, 11, 3, 10), True),  # naive ISO: UTC + warning
        (1_793_700_000, 1_793_700_000 * 10**9, False),  # epoch seconds
        (1_793_700_000.5, 1_793_700_000_500_000_000, False),
        (1_793_700_000_123, 1_793_700_000_123_000_000, False),  # ms
        (1_793_700_000_123_456, 1_793_700_000_123_456_000, False),  # µs
        (1_793_700_000_123_456_789, 1_793_700_000_123_456_789, False),  # ns
    ],
)
def test_every_timestamp_form(value: object, expected_ns: int, naive: bool) -> None:
    record = ok({"type": "a", "timestamp": value})
    assert record.standard["timestamp"] == expected_ns
    assert record.naive_timestamp is naive


@pytest.mark.parametrize(
    "alias", ["timestamp_occurred", "time", "ts", "@timestamp", "created_at", "occurred_at"]
)
def test_timestamp_aliases(alias: str) -> None:
    assert ok({"type": "a", alias: 0}).standard["timestamp"] == 0


def test_naive_time_uses_assume_tz() -> None:
    options = NormalizeOptions(assume_tz=ZoneInfo("Europe/Paris"))
    record = ok({"type": "a", "timestamp": "2026-07-01T12:00:00"}, options)
    assert record.standard["timestamp"] == ns(2026, 7, 1, 10)
    assert record.naive_timestamp


def test_received_at_stands_in_for_a_missing_event_time_with_a_warning() -> None:
    record = ok({"type": "a", "received_at": "2026-11-03T10:00:00Z"})
    assert record.standard["timestamp"] == record.standard["received_at"] == ns(2026, 11, 3, 10)
    assert record.warnings == ["timestamp taken from received_at"]


def test_type_aliases_and_event_name_keeps_event_type_as_a_category() -> None:
    record = ok({"event_name": "signup", "event_type": "user", "ts": 1})
    assert record.standard["type"] == "signup"
    assert record.attributes == {"event_type": "user"}
    assert ok({"event_type": "user", "ts": 1}).standard["type"] == "user"
    assert ok({"event": "x", "ts": 1}).standard["type"] == "x"
    assert ok({"name": "y", "ts": 1}).standard["type"] == "y"


def test_id_aliases_and_numbers_as_text() -> None:
    assert ok({"event_id": "e1", "type": "a", "ts": 1}).standard["id"] == "e1"
    assert ok({"eventID": 42, "type": "a", "ts": 1}).standard["id"] == "42"
    assert ok({"type": "a", "ts": 1, "project_id": 12345}).standard["project_id"] == "12345"


def test_derived_id_is_stable_across_key_order_and_spacing() -> None:
    first = ok('{"type": "a", "ts": 1, "x": [1, 2]}')
    second = ok('{"x":[1,2],"ts":1,"type":"a"}')
    assert first.derived_id and second.derived_id
    assert (
        first.standard["id"]
        == second.standard["id"]
        == derive_id({"type": "a", "ts": 1, "x": [1, 2]})
    )
    assert ok({"type": "a", "ts": 2}).standard["id"] != first.standard["id"]


def test_collector_message_takes_its_type_from_the_attributes() -> None:
    record = ok(
        {
            "type": "event",
            "attributes": {"event_name": "task.completed", "timestamp": 5, "region": "eu"},
            "org_id": "o1",
            "project_id": 7,
            "actor_profile_id": "a1",
            "client_uuid": "c1",
        }
    )
    assert record.standard["type"] == "task.completed"
    assert record.standard["org_id"] == "o1"
    assert record.standard["project_id"] == "7"
    assert record.attributes == {"region": "eu"}


def test_collector_message_without_a_name_is_an_event_of_type_event() -> None:
    assert ok({"type": "event", "attributes": {"ts": 1}}).standard["type"] == "event"


def test_rest_body_actor_profile_becomes_actor_fields() -> None:
    record = ok(
        {
            "org_id": "o",
            "project_id": 12345,
            "actor_profile": {"email": "a@example.com", "name": "A"},
            "attributes": {"type": "login", "timestamp": "2023-02-08 17:13:26"},
        }
    )
    assert record.attributes == {"actor.email": "a@example.com", "actor.name": "A"}
    assert record.standard["type"] == "login"


def test_attributes_are_lifted_and_the_top_level_wins_a_collision() -> None:
    record = ok(
        {
            "type": "a",
            "ts": 1,
            "region": "top",
            "service": "svc-top",
            "attributes": {"region": "inner", "service": "svc-inner", "http": {"route": "/x"}},
        }
    )
    assert record.standard["service"] == "svc-top"
    assert record.attributes == {
        "region": "top",
        "attributes.region": "inner",
        "attributes.service": "svc-inner",
        "http.route": "/x",
    }


def test_standard_fields_found_inside_attributes_with_their_aliases() -> None:
    record = ok(
        {
            "type": "a",
            "ts": 1,
            "attributes": {
                "event_source": "billing",
                "application_version": "1.2",
                "workflow_id": "wf-1",
                "duration_us": 2500,
                "severity": "WARNING",
                "status": 200,
            },
        }
    )
    standard = record.standard
    assert standard["service"] == "billing"
    assert standard["version"] == "1.2"
    assert standard["correlation_id"] == "wf-1"
    assert standard["duration_ms"] == 2.5
    assert standard["severity"] == "warn"
    assert standard["status"] == "200"
    assert record.attributes == {}


@pytest.mark.parametrize(
    ("alias", "value", "ms"),
    [("duration_ms", 5, 5.0), ("duration_s", 1.5, 1500.0), ("duration_ns", 2_000_000, 2.0)],
)
def test_duration_units(alias: str, value: float, ms: float) -> None:
    assert ok({"type": "a", "ts": 1, alias: value}).standard["duration_ms"] == ms


@pytest.mark.parametrize(
    ("raw", "normalised", "known"),
    [
        ("ERROR", "error", True),
        ("critical", "fatal", True),
        ("Notice", "info", True),
        ("verbose", "debug", True),
        ("loud", "loud", False),
    ],
)
def test_severity_is_normalised(raw: str, normalised: str, known: bool) -> None:
    record = ok({"type": "a", "ts": 1, "severity": raw})
    assert record.standard["severity"] == normalised
    assert record.unknown_severity is not known


def test_nested_objects_flatten_with_dots_and_lists_become_json_text() -> None:
    record = ok(
        {"type": "a", "ts": 1, "error": {"code": "E1", "detail": {"n": 2}}, "tags": ["x", 1]}
    )
    assert record.attributes == {"error.code": "E1", "error.detail.n": 2, "tags": '["x",1]'}


def test_nulls_are_absent_and_huge_integers_stay_exact_as_text() -> None:
    record = ok({"type": "a", "ts": 1, "gone": None, "big": 2**70, "low": -(2**63) - 1})
    assert record.attributes == {"big": "1180591620717411303424", "low": "-9223372036854775809"}


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_passwd",
        "client_secret",
        "access_token",
        "api_key",
        "ApiKey",
        "Authorization",
        "set-cookie",
    ],
)
def test_secret_looking_keys_are_redacted(key: str) -> None:
    record = ok({"type": "a", "ts": 1, "attributes": {"auth": {key: "hunter2"}}})
    assert record.attributes == {f"auth.{key}": REDACTED}
    assert record.redacted == 1


def test_redaction_can_be_extended_or_turned_off() -> None:
    extended = NormalizeOptions(extra_secret_patterns=("^email$",))
    assert ok({"type": "a", "ts": 1, "email": "a@b"}, extended).attributes == {"email": REDACTED}
    kept = NormalizeOptions(redact=False)
    assert ok({"type": "a", "ts": 1, "password": "p"}, kept).attributes == {"password": "p"}
