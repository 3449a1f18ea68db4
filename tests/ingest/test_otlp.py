"""OpenTelemetry OTLP/JSON ingest: spans and log records become events, typed values keep
their types, and malformed OTLP is rejected record by record with its own reason."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mfq
from mfq.api import Selection, Store
from mfq.errors import InputUnreadable
from mfq.ingest.batch import RejectedRecord
from mfq.ingest.containers import ContainerKind, detect_container, read_chunks
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.otlp import otlp_chunks
from mfq.ingest.otlp.scan import PieceKind, scan_otlp
from mfq.ingest.validate import validate_chunk
from mfq.settings import Settings
from tests.conftest import REPO, SHARED_REAL, event

REAL = SHARED_REAL / "otlp"
TRACE = "4BF92F3577B34DA6A3CE929D0E0E4736"
TRACE_LOWER = TRACE.lower()
#: 2026-11-03T10:00:00Z in nanoseconds since the epoch.
T0 = 1_793_700_000 * 10**9
MS = 1_000_000


def _zstd(data: bytes) -> bytes:
    """zstd through pyarrow's codec (no extra dependency)."""
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return bytes(sink.getvalue())


# -- building OTLP documents -------------------------------------------------------------------


def span_id(n: int) -> str:
    """An upper-case span id (OTLP/JSON examples write them so): mfq stores it lower-case."""
    return f"{0xA0 + n:016X}"


def span(n: int = 1, **fields: Any) -> dict[str, Any]:
    """A valid server span of 250 ms starting at T0 + n ms."""
    record: dict[str, Any] = {
        "traceId": TRACE,
        "spanId": span_id(n),
        "name": f"span {n}",
        "kind": 2,
        "startTimeUnixNano": str(T0 + n * MS),
        "endTimeUnixNano": str(T0 + n * MS + 250 * MS),
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def log_record(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"timeUnixNano": str(T0), "body": {"stringValue": "hello"}}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def kv(key: str, value: object) -> dict[str, Any]:
    return {"key": key, "value": value}


def text(key: str, value: str) -> dict[str, Any]:
    return kv(key, {"stringValue": value})


def traces(*spans: dict[str, Any], resource: Any = None, scope: Any = None) -> dict[str, Any]:
    """A document in the order OTLP encoders write: resource, then scope, then records."""
    scope_spans = {"scope": scope, "spans": list(spans)}
    item = {"resource": resource, "scopeSpans": [_present(scope_spans)]}
    return {"resourceSpans": [_present(item)]}


def logs(*records: dict[str, Any], resource: Any = None, scope: Any = None) -> dict[str, Any]:
    scope_logs = {"scope": scope, "logRecords": list(records)}
    item = {"resource": resource, "scopeLogs": [_present(scope_logs)]}
    return {"resourceLogs": [_present(item)]}


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def per_line(*documents: dict[str, Any]) -> bytes:
    """The collector file exporter's layout: one compact document per line."""
    return b"".join(json.dumps(d).encode() + b"\n" for d in documents)


def convert(
    data: bytes, chunk_bytes: int = 1 << 20, *, raw_stream: bool = False
) -> tuple[list[dict[str, Any]], list[RejectedRecord]]:
    """Events (present fields only) and rejects of an OTLP input, without a store;
    ``raw_stream`` reads it with the OTLP reader alone (no detection, no first 64 KiB read
    at once)."""
    if raw_stream:
        chunks = otlp_chunks(io.BytesIO(data), chunk_bytes)
    else:
        kind, chunks = read_chunks(io.BytesIO(data), chunk_bytes)
        assert kind is ContainerKind.OTLP
    events: list[dict[str, Any]] = []
    rejects: list[RejectedRecord] = []
    for chunk in chunks:
        outcome = chunk.settle(validate_chunk(chunk, NormalizeOptions()))
        events += [{k: v for k, v in r.items() if v is not None} for r in outcome.table.to_pylist()]
        rejects += outcome.rejects
    return events, rejects


def one_event(data: bytes) -> dict[str, Any]:
    events, rejects = convert(data)
    assert rejects == []
    assert len(events) == 1
    return events[0]


def one_reject(data: bytes) -> RejectedRecord:
    events, rejects = convert(data)
    assert events == []
    assert len(rejects) == 1
    return rejects[0]


# -- stores ---------------------------------------------------------------------------------


def event_files(store: Store) -> list[str]:
    return [str(store.root / f.path) for f in store.catalog.files("events")]


def _parquet(store: Store) -> str:
    quoted = ", ".join("'" + path.replace("'", "''") + "'" for path in event_files(store))
    return f"read_parquet([{quoted}], union_by_name = true)"


def sql(store: Store, query: str) -> list[tuple[Any, ...]]:
    """DuckDB over the store's Parquet files (the oracle), as table ``events``."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW events AS SELECT * FROM {_parquet(store)}")
    return con.execute(query).fetchall()


def stored(store: Store) -> dict[str, dict[str, Any]]:
    """Every stored event by id, present fields only (read back through DuckDB)."""
    relation = duckdb.connect().execute(f"SELECT * FROM {_parquet(store)}")
    names = [d[0] for d in relation.description]
    rows = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    return {r["id"]: {k: v for k, v in r.items() if v is not None} for r in rows}


def ingest_bytes(store: Store, tmp_path: Path, data: bytes, name: str) -> mfq.IngestSummary:
    path = tmp_path / name
    path.write_bytes(data)
    return store.ingest([path])


# -- the OpenTelemetry project's own examples -----------------------------------------------


def test_real_trace_example_ingests_with_its_duration_service_and_lower_case_ids(
    store: Store,
) -> None:
    summary = store.ingest([REAL / "trace.json"])
    assert (summary.read, summary.ingested, summary.rejected) == (1, 1, 0)
    (row,) = stored(store).values()
    # endTimeUnixNano - startTimeUnixNano = 1544712661000000000 - 1544712660000000000 ns
    assert row["duration_ms"] == 1000.0
    assert row["service"] == "my.service"
    assert row["timestamp"] == datetime(2018, 12, 13, 14, 51, 0, tzinfo=UTC)
    assert (row["trace_id"], row["span_id"], row["parent_span_id"]) == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
        "eee19b7ec3c1b173",
    )
    assert row["id"] == "5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"
    assert (row["type"], row["kind"]) == ("I'm a server span", "server")
    assert (row["scope.name"], row["scope.version"]) == ("my.library", "1.0.0")
    assert row["scope.my.scope.attribute"] == "some scope attribute"
    assert row["my.span.attr"] == "some value"


def test_real_logs_example_keeps_every_value_type(store: Store) -> None:
    summary = store.ingest([REAL / "logs.json"])
    assert (summary.read, summary.ingested, summary.rejected, summary.warnings) == (1, 1, 0, 0)
    (row,) = stored(store).values()
    assert row["timestamp"] == datetime(2018, 12, 13, 14, 51, 0, 300000, tzinfo=UTC)
    assert row["received_at"] == row["timestamp"]
    assert (row["severity"], row["severity_text"]) == ("info", "Information")
    assert (row["type"], row["body"]) == ("Example log record", "Example log record")
    assert (row["trace_id"], row["span_id"]) == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
    )
    assert row["id"].startswith("d-")  # a log record has no id of its own
    types = dict(
        sql(
            store,
            "SELECT 'bool', typeof(\"boolean.attribute\") FROM events UNION ALL "
            "SELECT 'int', typeof(\"int.attribute\") FROM events UNION ALL "
            "SELECT 'double', typeof(\"double.attribute\") FROM events UNION ALL "
            "SELECT 'array', typeof(\"array.attribute\") FROM events UNION ALL "
            "SELECT 'map', typeof(\"map.attribute.some.map.key\") FROM events",
        )
    )
    assert types == {
        "bool": "BOOLEAN",
        "int": "BIGINT",
        "double": "DOUBLE",
        "array": "VARCHAR",
        "map": "VARCHAR",
    }
    assert (row["boolean.attribute"], row["int.attribute"], row["double.attribute"]) == (
        True,
        10,
        637.704,
    )
    assert row["array.attribute"] == '["many","values"]'
    assert row["map.attribute.some.map.key"] == "some value"
    assert row["string.attribute"] == "some string"


def test_both_real_examples_are_detected_as_otlp() -> None:
    for name in ("trace.json", "logs.json"):
        assert detect_container((REAL / name).read_bytes()[:4096]) is ContainerKind.OTLP


# -- typed values ---------------------------------------------------------------------------

VALUE_CASES: list[tuple[str, dict[str, Any], object, str]] = [
    ("s", {"stringValue": "plain"}, "plain", "VARCHAR"),
    ("i_text", {"intValue": "10"}, 10, "BIGINT"),
    ("i_number", {"intValue": 10}, 10, "BIGINT"),
    ("i_min", {"intValue": "-9223372036854775808"}, -(2**63), "BIGINT"),
    ("d", {"doubleValue": 637.704}, 637.704, "DOUBLE"),
    ("d_whole", {"doubleValue": 5}, 5.0, "DOUBLE"),
    ("d_text", {"doubleValue": "2.5"}, 2.5, "DOUBLE"),
    ("b", {"boolValue": False}, False, "BOOLEAN"),
    ("bytes", {"bytesValue": "aGVsbG8="}, "aGVsbG8=", "VARCHAR"),
    (
        "a",
        {
            "arrayValue": {
                "values": [
                    {"intValue": "1"},
                    {"stringValue": "x"},
                    {"arrayValue": {"values": [{"boolValue": True}]}},
                    {"kvlistValue": {"values": [text("k", "v")]}},
                ]
            }
        },
        '[1,"x",[true],{"k":"v"}]',
        "VARCHAR",
    ),
    ("a_empty", {"arrayValue": {}}, "[]", "VARCHAR"),
]


@pytest.fixture(scope="module")
def typed_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One span carrying every value type (and a nested kvlist), ingested once."""
    attributes = [kv(name, value) for name, value, _, _ in VALUE_CASES]
    attributes += [
        kv(
            "m",
            {
                "kvlistValue": {
                    "values": [
                        kv("n", {"intValue": "7"}),
                        kv("deep", {"kvlistValue": {"values": [kv("x", {"boolValue": True})]}}),
                        kv("list", {"arrayValue": {"values": [{"doubleValue": 1.5}]}}),
                    ]
                }
            },
        ),
        kv("empty", {}),
        kv("null_inside", {"stringValue": None}),
    ]
    root = tmp_path_factory.mktemp("typed")
    path = root / "typed.json"
    path.write_bytes(per_line(traces(span(1, attributes=attributes))))
    store = mfq.open_store(root / "store")
    summary = store.ingest([path])
    assert (summary.ingested, summary.rejected) == (1, 0)
    return store


@pytest.mark.parametrize(
    ("name", "expected", "duck_type"),
    [pytest.param(name, expected, duck, id=name) for name, _, expected, duck in VALUE_CASES],
)
def test_each_value_type_is_stored_as_its_parquet_type(
    typed_store: Store, name: str, expected: object, duck_type: str
) -> None:
    ((found, found_type),) = sql(typed_store, f'SELECT "{name}", typeof("{name}") FROM events')
    assert found == expected
    assert type(found) is type(expected)
    assert found_type == duck_type


def test_nested_kvlists_flatten_with_dots_and_empty_values_are_absent(typed_store: Store) -> None:
    (row,) = stored(typed_store).values()
    assert (row["m.n"], row["m.deep.x"], row["m.list"]) == (7, True, "[1.5]")
    columns = {name for (name,) in sql(typed_store, "SELECT column_name FROM (DESCRIBE events)")}
    assert "empty" not in columns and "null_inside" not in columns


BAD_VALUES: list[tuple[dict[str, Any] | str, str]] = [
    ({"stringValue": 5}, "attributes['x'].stringValue must be a string (got 5)"),
    ({"intValue": "ten"}, "attributes['x'].intValue must be a 64-bit integer (got \"ten\")"),
    (
        {"intValue": "9223372036854775808"},
        "attributes['x'].intValue must be a 64-bit integer (got \"9223372036854775808\")",
    ),
    ({"intValue": 1.5}, "attributes['x'].intValue must be a 64-bit integer (got 1.5)"),
    ({"doubleValue": "NaN"}, "attributes['x'].doubleValue must be a finite number (got \"NaN\")"),
    ({"boolValue": "true"}, "attributes['x'].boolValue must be true or false (got \"true\")"),
    ({"bytesValue": 12}, "attributes['x'].bytesValue must be a string (got 12)"),
    ({"fooValue": 1}, "attributes['x'] has an unknown value type 'fooValue'"),
    (
        {"stringValue": "a", "intValue": 1},
        "attributes['x'] has several values: stringValue, intValue",
    ),
    ("plain", "attributes['x'] must be an AnyValue object (got \"plain\")"),
    (
        {"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "x"}]}},
        "attributes['x'].arrayValue[1].intValue must be a 64-bit integer (got \"x\")",
    ),
    (
        {"arrayValue": [1]},
        "attributes['x'].arrayValue must be an object with 'values' (got [1])",
    ),
    (
        {"kvlistValue": {"values": [text("k", "a"), text("k", "b")]}},
        "attributes['x'].kvlistValue holds the key 'k' twice",
    ),
    (
        {"kvlistValue": {"values": [{"value": {"stringValue": "a"}}]}},
        "attributes['x'].kvlistValue holds an entry without a key"
        ' (got {"value": {"stringValue": "a"}})',
    ),
]


@pytest.mark.parametrize(("value", "reason"), BAD_VALUES)
def test_a_value_of_the_wrong_shape_rejects_its_span_and_keeps_the_others(
    value: dict[str, Any] | str, reason: str
) -> None:
    bad = span(2, attributes=[kv("x", value)])
    data = per_line(traces(span(1), bad, span(3)))
    events, rejects = convert(data)
    assert [e["span_id"] for e in events] == [span_id(1).lower(), span_id(3).lower()]
    (reject,) = rejects
    assert (reject.number, reject.code, reject.reason) == (2, "bad_value", f"{reason} (line 1)")
    assert json.loads(reject.raw) == bad  # the span's own OTLP text, not a converted form


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"x": 1}, 'attributes must be a list of key/value objects (got {"x": 1})'),
        ([text("a", "1"), text("a", "2")], "attributes holds the key 'a' twice"),
        (
            [text("", "1")],
            "attributes holds an entry without a key"
            ' (got {"key": "", "value": {"stringValue": "1…)',  # cut at 40 characters
        ),
    ],
)
def test_malformed_attribute_lists_are_rejected(attributes: object, reason: str) -> None:
    reject = one_reject(per_line(traces(span(1, attributes=attributes))))
    assert (reject.code, reject.reason) == ("bad_value", f"{reason} (line 1)")


# -- ids and times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"traceId": "5B8EFFF798038103D269B633813FC6"},
            "traceId '5B8EFFF798038103D269B633813FC6' is not 32 hex digits",
        ),
        (
            {"traceId": "5B8EFFF798038103D269B633813FC6ZZ"},
            "traceId '5B8EFFF798038103D269B633813FC6ZZ' is not 32 hex digits",
        ),
        ({"spanId": "EEE19B7EC3C1B17"}, "spanId 'EEE19B7EC3C1B17' is not 16 hex digits"),
        ({"parentSpanId": "xyz"}, "parentSpanId 'xyz' is not 16 hex digits"),
        (
            {"traceId": "W47/95gDgQPSabYzgT/GDA=="},
            "traceId 'W47/95gDgQPSabYzgT/GDA==' is not 32 hex digits"
            " (base64? OTLP/JSON writes ids as hex)",
        ),
        ({"traceId": "0" * 32}, "traceId is all zeros, which OTLP defines as invalid"),
        ({"spanId": "0" * 16}, "spanId is all zeros, which OTLP defines as invalid"),
        ({"traceId": 12}, "traceId must be hex text (got 12)"),
        ({"traceId": ""}, "the span has no traceId"),
        ({"spanId": None}, "the span has no spanId"),
    ],
)
def test_bad_hex_ids_reject_the_span(fields: dict[str, Any], reason: str) -> None:
    bad = span(1) | fields
    reject = one_reject(per_line(traces({k: v for k, v in bad.items() if v is not None})))
    assert (reject.code, reject.reason) == ("bad_id", f"{reason} (line 1)")


def test_ids_are_lower_case_hex_and_an_empty_or_zero_parent_is_a_root() -> None:
    events, rejects = convert(
        per_line(
            traces(
                span(1, parentSpanId=""),
                span(2, parentSpanId="0" * 16),
                span(3, parentSpanId=span_id(1)),
            )
        )
    )
    assert rejects == []
    assert [(e["trace_id"], e["span_id"], e.get("parent_span_id")) for e in events] == [
        (TRACE_LOWER, "00000000000000a1", None),
        (TRACE_LOWER, "00000000000000a2", None),
        (TRACE_LOWER, "00000000000000a3", "00000000000000a1"),
    ]


@pytest.mark.parametrize(
    ("fields", "code", "reason"),
    [
        (
            {"endTimeUnixNano": str(T0 - 4 * MS)},
            "bad_span_times",
            "the span ends 5 ms before it starts",
        ),
        ({"endTimeUnixNano": None}, "bad_span_times", "the span has no endTimeUnixNano"),
        ({"endTimeUnixNano": "0"}, "bad_span_times", "the span has no endTimeUnixNano"),
        ({"startTimeUnixNano": None}, "missing_timestamp", "the span has no startTimeUnixNano"),
        ({"startTimeUnixNano": 0}, "missing_timestamp", "the span has no startTimeUnixNano"),
        (
            {"startTimeUnixNano": "soon"},
            "bad_timestamp",
            'startTimeUnixNano must be whole nanoseconds since 1970 (got "soon")',
        ),
        (
            {"startTimeUnixNano": -5},
            "bad_timestamp",
            "startTimeUnixNano must be whole nanoseconds since 1970 (got -5)",
        ),
        (
            {"startTimeUnixNano": str(2**63)},
            "bad_timestamp",
            f"startTimeUnixNano {2**63} is after 2262",
        ),
        ({"name": ""}, "missing_type", "the span has no name"),
        ({"name": "   "}, "missing_type", "the span has no name"),
        ({"name": 5}, "bad_value", "name must be text (got 5)"),
        (
            {"kind": "SPAN_KIND_SIDEWAYS"},
            "bad_value",
            'kind is not a known value (got "SPAN_KIND_SIDEWAYS")',
        ),
        ({"status": {"code": True}}, "bad_value", "status.code is not a known value (got true)"),
        ({"status": "ok"}, "bad_value", 'status must be an object (got "ok")'),
        (
            {"droppedAttributesCount": -1},
            "bad_value",
            "droppedAttributesCount must be a whole number from 0 to 4294967295 (got -1)",
        ),
    ],
)
def test_malformed_spans_are_rejected_with_their_reason(
    fields: dict[str, Any], code: str, reason: str
) -> None:
    bad = {k: v for k, v in (span(1) | fields).items() if v is not None}
    reject = one_reject(per_line(traces(bad)))
    assert (reject.number, reject.code, reject.reason) == (1, code, f"{reason} (line 1)")


def test_duration_is_end_minus_start_and_times_are_exact_nanoseconds() -> None:
    start = T0 + 123_456_789
    event_ = one_event(
        per_line(traces(span(1, startTimeUnixNano=start, endTimeUnixNano=str(start + 1_500_001))))
    )
    assert event_["duration_ms"] == 1.500001
    assert event_["timestamp"].isoformat() == "2026-11-03T10:00:00.123456789+00:00"


def test_a_zero_length_span_and_a_time_before_1973_are_kept_exactly() -> None:
    # 1 s after the epoch: as a bare number it would read as seconds, ms or µs by magnitude.
    early = one_event(per_line(traces(span(1, startTimeUnixNano=10**9, endTimeUnixNano=10**9))))
    assert early["timestamp"].to_pydatetime() == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert early["duration_ms"] == 0.0


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (None, None),
        (0, None),
        (1, "internal"),
        (2, "server"),
        (3, "client"),
        (4, "producer"),
        (5, "consumer"),
        ("SPAN_KIND_CLIENT", "client"),
        ("SPAN_KIND_UNSPECIFIED", None),
        (9, "9"),
    ],
)
def test_span_kind_numbers_and_names_become_names(kind: object, expected: str | None) -> None:
    event_ = one_event(per_line(traces(span(1, kind=kind))))
    assert event_.get("kind") == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, (None, None)),
        ({}, (None, None)),
        ({"code": 0}, (None, None)),
        ({"code": 1}, ("ok", None)),
        ({"code": 2, "message": "card declined"}, ("error", "card declined")),
        ({"code": "STATUS_CODE_ERROR"}, ("error", None)),
        ({"code": "STATUS_CODE_UNSET", "message": "ignored?"}, (None, "ignored?")),
    ],
)
def test_span_status_code_becomes_ok_error_or_absent(
    status: dict[str, Any] | None, expected: tuple[str | None, str | None]
) -> None:
    event_ = one_event(per_line(traces(span(1, status=status))))
    assert (event_.get("status"), event_.get("status_message")) == expected


def test_span_extras_links_and_dropped_counts() -> None:
    link = {
        "traceId": "AB" * 16,
        "spanId": "CD" * 8,
        "attributes": [kv("n", {"intValue": "3"})],
    }
    event_ = one_event(
        per_line(
            traces(
                span(
                    1,
                    traceState="vendor=1",
                    flags=257,
                    links=[link, {"traceId": "01" * 16, "spanId": "02" * 8}],
                    droppedAttributesCount=2,
                    droppedEventsCount="0",
                    droppedLinksCount=1,
                )
            )
        )
    )
    assert json.loads(event_["links"]) == [
        {"trace_id": "ab" * 16, "span_id": "cd" * 8, "attributes": {"n": 3}},
        {"trace_id": "01" * 16, "span_id": "02" * 8},
    ]
    assert (event_["trace_state"], event_["flags"]) == ("vendor=1", 257)
    assert (event_["dropped_attributes_count"], event_["dropped_links_count"]) == (2, 1)
    assert "dropped_events_count" not in event_  # zero is not worth a column


def test_a_bad_link_id_rejects_the_span() -> None:
    reject = one_reject(per_line(traces(span(1, links=[{"traceId": "x", "spanId": "CD" * 8}]))))
    assert (reject.code, reject.reason) == (
        "bad_id",
        "link 1 traceId 'x' is not 32 hex digits (line 1)",
    )


# -- span events ----------------------------------------------------------------------------


def test_span_events_become_events_under_their_span() -> None:
    events_ = [
        {
            "name": "exception",
            "timeUnixNano": str(T0 + 100 * MS),
            "attributes": [text("exception.type", "Boom")],
        },
        {"name": "retry", "timeUnixNano": str(T0 + 150 * MS)},
    ]
    events, rejects = convert(per_line(traces(span(1, events=events_), span(2))))
    assert rejects == []
    span_row, exception, retry, second = events
    assert [e["type"] for e in events] == ["span 1", "exception", "retry", "span 2"]
    assert exception == {
        "id": f"{TRACE_LOWER}-00000000000000a1-1",
        "type": "exception",
        "timestamp": exception["timestamp"],
        "trace_id": TRACE_LOWER,
        "parent_span_id": "00000000000000a1",
        "exception.type": "Boom",
    }
    assert exception["timestamp"].value == T0 + 100 * MS
    assert retry["id"] == f"{TRACE_LOWER}-00000000000000a1-2"
    assert (span_row["span_id"], span_row["duration_ms"]) == ("00000000000000a1", 250.0)
    assert second["id"] == f"{TRACE_LOWER}-00000000000000a2"


def test_a_bad_span_event_is_rejected_alone_and_numbers_count_every_record() -> None:
    events_ = [{"name": "ok", "timeUnixNano": str(T0)}, {"name": "late"}, {"timeUnixNano": str(T0)}]
    data = per_line(traces(span(1, events=events_), span(2)))
    events, rejects = convert(data)
    assert [e["type"] for e in events] == ["span 1", "ok", "span 2"]
    assert [(r.number, r.code, r.reason) for r in rejects] == [
        (3, "missing_timestamp", "span event 2: the event has no timeUnixNano (line 1)"),
        (4, "missing_type", "span event 3: the event has no name (line 1)"),
    ]
    assert json.loads(rejects[0].raw)["spanId"] == span_id(1)  # the span that holds it


# -- log records ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1, "debug"),
        (4, "debug"),
        (5, "debug"),
        (8, "debug"),
        (9, "info"),
        (12, "info"),
        (13, "warn"),
        (16, "warn"),
        (17, "error"),
        (20, "error"),
        (21, "fatal"),
        (24, "fatal"),
        ("SEVERITY_NUMBER_WARN3", "warn"),
        ("SEVERITY_NUMBER_TRACE", "debug"),
    ],
)
def test_severity_number_ranges_map_to_levels(number: object, expected: str) -> None:
    # severityText says otherwise: the number, OTLP's normalised form, wins.
    event_ = one_event(per_line(logs(log_record(severityNumber=number, severityText="Info"))))
    assert (event_["severity"], event_["severity_text"]) == (expected, "Info")


@pytest.mark.parametrize(
    ("fields", "severity", "warnings"),
    [
        ({"severityText": "WARNING"}, "warn", 0),
        ({"severityNumber": 0, "severityText": "Critical"}, "fatal", 0),
        ({"severityNumber": 99, "severityText": "Error"}, "error", 0),
        ({"severityText": "Loud"}, "loud", 1),  # unknown text: kept, counted as a warning
        ({}, None, 0),
    ],
)
def test_severity_text_decides_when_the_number_is_unset(
    store: Store, tmp_path: Path, fields: dict[str, Any], severity: str | None, warnings: int
) -> None:
    summary = ingest_bytes(store, tmp_path, per_line(logs(log_record(**fields))), "l.json")
    (row,) = stored(store).values()
    assert (row.get("severity"), summary.warnings) == (severity, warnings)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"eventName": "user.login", "attributes": [text("event.name", "other")]}, "user.login"),
        ({"attributes": [text("event.name", "browser.click")]}, "browser.click"),
        ({"attributes": [text("{OriginalFormat}", "User {Id} logged in")]}, "User {Id} logged in"),
        ({"attributes": [text("message_template.text", "Paid {Amount}")]}, "Paid {Amount}"),
        ({"body": {"stringValue": "\n  disk full on /var\n  at line 2"}}, "disk full on /var"),
        ({"body": {"stringValue": "x" * 300}}, "x" * 200),
        ({"body": {"kvlistValue": {"values": [text("k", "v")]}}}, "log"),
        ({"body": None}, "log"),
        ({"eventName": " ", "body": {"stringValue": "fallback"}}, "fallback"),
    ],
)
def test_log_type_comes_from_event_name_then_template_then_body(
    fields: dict[str, Any], expected: str
) -> None:
    record = log_record(**fields)
    event_ = one_event(per_line(logs({k: v for k, v in record.items() if v is not None})))
    assert event_["type"] == expected


def test_log_bodies_of_every_shape() -> None:
    kvlist = one_event(
        per_line(logs(log_record(body={"kvlistValue": {"values": [text("user", "u1")]}})))
    )
    assert kvlist["body.user"] == "u1"
    array = one_event(
        per_line(logs(log_record(body={"arrayValue": {"values": [{"intValue": 1}]}})))
    )
    assert array["body"] == "[1]"
    number = one_event(per_line(logs(log_record(body={"doubleValue": 2.5}))))
    assert number["body"] == 2.5


def test_a_log_without_time_uses_its_observed_time_with_a_warning(
    store: Store, tmp_path: Path
) -> None:
    record = log_record(timeUnixNano=None, observedTimeUnixNano=str(T0 + 7))
    summary = ingest_bytes(store, tmp_path, per_line(logs(record)), "l.json")
    assert (summary.ingested, summary.warnings) == (1, 1)
    (row,) = sql(store, "SELECT epoch_ns(timestamp), epoch_ns(received_at) FROM events")
    assert row == (T0 + 7, T0 + 7)


@pytest.mark.parametrize(
    ("fields", "code", "reason"),
    [
        (
            {"timeUnixNano": None},
            "missing_timestamp",
            "the log record has neither timeUnixNano nor observedTimeUnixNano",
        ),
        ({"traceId": "abc"}, "bad_id", "traceId 'abc' is not 32 hex digits"),
        (
            {"severityNumber": "LOUD"},
            "bad_value",
            'severityNumber is not a known value (got "LOUD")',
        ),
        (
            {"body": {"intValue": "x"}},
            "bad_value",
            'body.intValue must be a 64-bit integer (got "x")',
        ),
    ],
)
def test_malformed_log_records_are_rejected_with_their_reason(
    fields: dict[str, Any], code: str, reason: str
) -> None:
    reject = one_reject(per_line(logs(log_record(**fields))))
    assert (reject.code, reject.reason) == (code, f"{reason} (line 1)")


def test_log_ids_are_derived_from_content_and_trace_ids_kept(store: Store, tmp_path: Path) -> None:
    record = log_record(traceId=TRACE, spanId=span_id(1), flags=1)
    summary = ingest_bytes(store, tmp_path, per_line(logs(record, record)), "l.json")
    # The same record twice is one event: the second is a duplicate of the first.
    assert (summary.read, summary.ingested, summary.duplicates, summary.derived_ids) == (2, 1, 1, 2)
    (row,) = stored(store).values()
    assert (row["trace_id"], row["span_id"], row["flags"]) == (TRACE_LOWER, "00000000000000a1", 1)


# -- resource, scope, attributes ------------------------------------------------------------


def test_resource_attributes_give_service_environment_version_and_the_rest() -> None:
    resource = {
        "attributes": [
            text("service.name", "checkout"),
            text("deployment.environment.name", "prod"),
            text("deployment.environment", "legacy-prod"),
            text("service.version", "2.3.9"),
            text("host.name", "web-1"),
            kv("process.pid", {"intValue": "4242"}),
        ],
        "droppedAttributesCount": 3,
    }
    event_ = one_event(per_line(traces(span(1), resource=resource)))
    assert (event_["service"], event_["environment"], event_["version"]) == (
        "checkout",
        "prod",
        "2.3.9",
    )
    assert event_["resource.deployment.environment"] == "legacy-prod"
    assert (event_["resource.host.name"], event_["resource.process.pid"]) == ("web-1", 4242)
    assert event_["resource.dropped_attributes_count"] == 3
    assert "resource.service.name" not in event_


def test_the_older_environment_attribute_is_read_too() -> None:
    resource = {"attributes": [text("deployment.environment", "staging")]}
    assert one_event(per_line(traces(span(1), resource=resource)))["environment"] == "staging"


def test_scope_name_version_and_attributes() -> None:
    scope = {
        "name": "io.opentelemetry.http",
        "version": "1.38.0",
        "attributes": [text("name", "clash"), text("team", "payments")],
    }
    event_ = one_event(per_line(traces(span(1), scope=scope)))
    assert (event_["scope.name"], event_["scope.version"]) == ("io.opentelemetry.http", "1.38.0")
    assert (event_["scope.attributes.name"], event_["scope.team"]) == ("clash", "payments")


def test_attributes_follow_the_rules_of_every_record() -> None:
    attributes = [
        text("status", "from-attribute"),  # the span's own status wins
        text("kind", "from-attribute"),  # as does its kind
        text("environment", "qa"),  # the resource has none: the attribute fills it
        kv("http_status", {"intValue": "503"}),  # a standard field from an attribute
        text("http.request.header.authorization", "Bearer abc"),  # a secret
    ]
    event_ = one_event(per_line(traces(span(1, status={"code": 2}, attributes=attributes))))
    assert (event_["status"], event_["attributes.status"]) == ("error", "from-attribute")
    assert (event_["kind"], event_["attributes.kind"]) == ("server", "from-attribute")
    assert (event_["environment"], event_["http_status"]) == ("qa", 503)
    assert event_["http.request.header.authorization"] == "[redacted]"


def test_a_rejection_by_the_common_rules_shows_the_otlp_text_and_line() -> None:
    bad = span(2, attributes=[kv("http_status", {"intValue": "700"})])
    document = json.dumps(traces(span(1), bad), indent=2).encode()
    events, rejects = convert(document)
    assert len(events) == 1
    (reject,) = rejects
    line = next(i for i, t in enumerate(document.splitlines(), 1) if span_id(2).encode() in t)
    assert (reject.number, reject.code) == (2, "bad_field")
    # the span's text starts on the line before its spanId ("traceId" comes first)
    assert reject.reason == f"invalid http_status: must be between 100 and 599 (line {line - 2})"
    assert json.loads(reject.raw) == bad


# -- containers and streaming ---------------------------------------------------------------


def sample_input() -> bytes:
    """Three documents: spans, logs, spans again (another resource)."""
    resource = {"attributes": [text("service.name", "checkout")]}
    other = {"attributes": [text("service.name", "payments")]}
    return per_line(
        traces(
            span(1),
            span(2, traceId="bad"),
            span(3, events=[{"name": "e", "timeUnixNano": T0}]),
            resource=resource,
            scope={"name": "lib"},
        ),
        logs(log_record(severityNumber=9), resource=other),
        traces(span(4, parentSpanId=span_id(1)), resource=other),
    )


@pytest.mark.parametrize("chunk_bytes", [7, 64, 333, 1 << 20])
def test_any_read_size_gives_the_same_events_and_rejects(chunk_bytes: int) -> None:
    expected = convert(sample_input())
    assert [e["type"] for e in expected[0]] == ["span 1", "span 3", "e", "hello", "span 4"]
    assert [(r.number, r.code) for r in expected[1]] == [(2, "bad_id")]
    for data in (sample_input(), pretty(sample_input())):
        events, rejects = convert(data, chunk_bytes)
        assert events == expected[0]
        assert [(r.number, r.code) for r in rejects] == [(2, "bad_id")]


class _Trickle(io.RawIOBase):
    """A stream that returns at most the next of ``sizes`` bytes per read (then the rest)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data, self._sizes, self._at = data, iter(sizes), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = next(self._sizes, size if size >= 0 else len(self._data))
        chunk = self._data[self._at : self._at + min(step, size if size >= 0 else step)]
        self._at += len(chunk)
        return chunk


TRICKY = per_line(
    traces(
        span(1, name='quote " ] } , [ { inside', attributes=[text("k]", "\\")]),
        span(2, name="back\\slash\\", attributes=[text("v", 'a\\"b"c\\\\')]),
        span(3, name="é € 😀 \u2028", attributes=[text('"key"', "}]")]),
    )
)


@given(st.lists(st.integers(1, 40), max_size=60), st.booleans())
@settings(max_examples=60, deadline=None)
def test_any_split_of_the_input_gives_the_same_records(sizes: list[int], is_pretty: bool) -> None:
    data = pretty(TRICKY) if is_pretty else TRICKY
    expected = [(p.kind, p.text, p.line) for p in scan_otlp(io.BytesIO(data), 1 << 20)]
    found = [(p.kind, p.text, p.line) for p in scan_otlp(_Trickle(data, sizes), 1 << 20)]
    assert found == expected
    records = [json.loads(text) for kind, text, _ in found if kind is PieceKind.RECORD]
    assert records == json.loads(TRICKY)["resourceSpans"][0]["scopeSpans"][0]["spans"]


def pretty(data: bytes) -> bytes:
    """The same documents pretty-printed, one after another (``jq .`` output)."""
    return b"\n".join(json.dumps(json.loads(line), indent=4).encode() for line in data.splitlines())


@pytest.mark.parametrize(
    ("compress", "name"),
    [(gzip.compress, "gzip"), (bz2.compress, "bz2"), (_zstd, "zstd")],
)
def test_compressed_otlp_is_detected_and_read_the_same(
    store: Store, tmp_path: Path, compress: Any, name: str
) -> None:
    summary = ingest_bytes(store, tmp_path, compress(sample_input()), "export.bin")
    assert (summary.read, summary.ingested, summary.rejected) == (6, 5, 1)
    (source,) = store.catalog.sources()
    assert (source.container, source.compression) == ("otlp", name)


@pytest.mark.parametrize("chunk_bytes", [5, 1 << 20])
def test_a_truncated_line_of_a_collector_file_costs_only_itself(chunk_bytes: int) -> None:
    good = json.dumps(traces(span(1), span(2)))
    cut = good[: good.index(span_id(2)) + 5]  # ends inside the second span's id string
    cut_between = good[: good.index('{"traceId"', good.index(span_id(1)))]  # after a comma
    data = (
        "\n".join(
            [cut, good.replace(span_id(1), span_id(5)), cut_between, json.dumps(traces(span(9)))]
        ).encode()
        + b"\n"
    )
    events, rejects = convert(data, chunk_bytes, raw_stream=True)
    assert [e["span_id"][-2:] for e in events] == ["a1", "a5", "a2", "a1", "a9"]
    assert [(r.number, r.code, r.reason.split(":")[0]) for r in rejects] == [
        (2, "not_json", "not JSON"),
        (6, "not_json", "the document ends before it is complete (truncated?) (line 3)"),
    ]


def test_a_pretty_document_cut_short_keeps_its_complete_records() -> None:
    document = json.dumps(traces(span(1), span(2)), indent=2)
    cut = document[: document.index(span_id(2))]
    events, rejects = convert(cut.encode())
    assert [e["type"] for e in events] == ["span 1"]
    assert [(r.number, r.code) for r in rejects] == [(2, "not_json")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"resourceSpans": {"a": 1}}', "resourceSpans is an object, not an array"),
        (b'{"resourceSpans": 5}', "resourceSpans is a number, not an array"),
        (b'{"resourceSpans": [7]}', "an element of resourceSpans is not an object"),
        (b'{"resourceSpans": [{"scopeSpans": [[]]}]}', "an element of scopeSpans is not an object"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}',
            "spans is an object, not an array",
        ),
        (
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": "x"}]}]}',
            "logRecords is a string, not an array",
        ),
    ],
)
def test_structure_that_cannot_hold_records_is_rejected(data: bytes, reason: str) -> None:
    reject = one_reject(data)
    assert (reject.code, reject.reason) == ("bad_value", f"{reason} (line 1)")


def test_null_lists_and_unknown_keys_hold_nothing_and_are_fine() -> None:
    data = b'{"resourceSpans": [{"scopeSpans": null, "schemaUrl": "x", "future": [1]}]}\n{}\n'
    assert convert(data) == ([], [])


def test_records_of_a_bad_resource_or_scope_are_rejected_with_its_reason() -> None:
    data = per_line(
        traces(span(1), resource={"attributes": [text("a", "1"), text("a", "2")]}),
        traces(span(2), scope={"name": 5}),
        traces(span(3), resource=[1]),
    )
    events, rejects = convert(data)
    assert events == []
    assert [r.reason for r in rejects] == [
        "its resource: resource.attributes holds the key 'a' twice (line 1)",
        "its scope: scope.name must be text (got 5) (line 2)",
        "its resource: resource must be an object (got [1]) (line 3)",
    ]


def test_records_before_their_scope_wait_for_it() -> None:
    # jq -S sorts keys: logRecords comes before scope, and resource before scopeLogs.
    document = logs(log_record(), log_record(body={"stringValue": "two"}), scope={"name": "late"})
    data = json.dumps(document, sort_keys=True, indent=2).encode()
    events, rejects = convert(data)
    assert rejects == []
    assert [(e["type"], e["scope.name"]) for e in events] == [("hello", "late"), ("two", "late")]


def test_a_scope_after_more_records_than_the_chunk_size_stops_the_ingest() -> None:
    records = [log_record(body={"stringValue": f"r{i}"}) for i in range(50)]
    data = json.dumps(logs(*records, scope={"name": "late"}), sort_keys=True).encode()
    with pytest.raises(InputUnreadable, match="a scope on line 1 comes after more than 512 bytes"):
        list(otlp_chunks(io.BytesIO(data), 512))


class _LazyDocument(io.RawIOBase):
    """One huge pretty-printed OTLP document, generated as it is read."""

    def __init__(self, spans: int) -> None:
        self._parts = self._generate(spans)
        self._pending = b""

    @staticmethod
    def _generate(spans: int) -> Iterator[bytes]:
        yield b'{\n  "resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {}, "spans": [\n'
        for n in range(spans):
            yield (b",\n" if n else b"") + json.dumps(span(n + 1), indent=2).encode()
        yield b"\n]}]}]\n}\n"

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while len(self._pending) < size:
            more = next(self._parts, b"")
            if not more:
                break
            self._pending += more
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


def _reader_peak(spans: int) -> int:
    """Peak traced memory of reading one pretty document of ``spans`` spans into chunks."""
    tracemalloc.start()
    try:
        records = sum(len(chunk) for chunk in otlp_chunks(_LazyDocument(spans), 32 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert records == spans
    return peak


def test_a_huge_single_document_is_streamed_in_bounded_memory() -> None:
    small, large = _reader_peak(2_000), _reader_peak(5_000)  # about 0.4 and 1.1 MB of JSON
    # Memory follows the chunk size (32 KiB here), not the document: two and a half times
    # the spans cost next to nothing more.
    assert large < 1024 * 1024
    assert large < small * 1.5


# -- in a store ------------------------------------------------------------------------------


def test_spans_whose_parents_are_in_another_file(store: Store, tmp_path: Path) -> None:
    children = per_line(traces(span(2, parentSpanId=span_id(1)), span(3, parentSpanId=span_id(2))))
    parent = per_line(traces(span(1), resource={"attributes": [text("service.name", "edge")]}))
    first = ingest_bytes(store, tmp_path, children, "children.json")
    second = ingest_bytes(store, tmp_path, parent, "parent.json")
    assert (first.ingested, first.rejected, second.ingested, second.rejected) == (2, 0, 1, 0)
    pairs = sql(
        store,
        "SELECT c.span_id, p.span_id FROM events c JOIN events p "
        "ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id ORDER BY c.span_id",
    )
    assert pairs == [
        ("00000000000000a2", "00000000000000a1"),
        ("00000000000000a3", "00000000000000a2"),
    ]


def test_a_store_mixing_manufactory_events_and_otlp_spans_of_one_trace(
    store: Store, tmp_path: Path, write_ndjson: Any
) -> None:
    manufactory = write_ndjson(
        [
            event(1, trace_id=TRACE_LOWER, attributes={"service": "checkout", "status": "ok"}),
            event(
                2,
                trace_id=TRACE_LOWER,
                parent_span_id=span_id(1).lower(),
                attributes={"service": "checkout", "status": "error"},
            ),
            event(3, trace_id="another", attributes={"service": "search"}),
        ]
    )
    otlp = tmp_path / "spans.json"
    otlp.write_bytes(
        per_line(
            traces(
                span(1, status={"code": 2}),
                span(2, parentSpanId=span_id(1)),
                resource={"attributes": [text("service.name", "checkout")]},
            ),
            traces(
                span(3, parentSpanId=span_id(1)),
                resource={"attributes": [text("service.name", "payments")]},
            ),
        )
    )
    summary = store.ingest([manufactory, otlp])
    assert (summary.read, summary.ingested, summary.rejected) == (6, 6, 0)
    expected = sql(
        store,
        "SELECT service, count(*), count(*) FILTER (status = 'error') FROM events "
        f"WHERE trace_id = '{TRACE_LOWER}' GROUP BY service ORDER BY service",
    )
    assert expected == [("checkout", 4, 2), ("payments", 1, 0)]
    frame = store.query(
        Selection(where=[f"trace_id = '{TRACE_LOWER}'"]),
        group_by=["service"],
        aggs=["count", "count(status = 'error')"],
    ).sort_values("service")
    assert [tuple(r) for r in frame.itertuples(index=False)] == expected


def test_the_same_span_in_two_exports_is_stored_once(store: Store, tmp_path: Path) -> None:
    ingest_bytes(store, tmp_path, per_line(traces(span(1), span(2))), "a.json")
    summary = ingest_bytes(store, tmp_path, per_line(traces(span(2), span(3))), "b.json")
    assert (summary.read, summary.ingested, summary.duplicates) == (2, 1, 1)


def test_fast_and_record_paths_store_the_same_otlp_events(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    compact_logs = json.dumps(json.loads((REAL / "logs.json").read_bytes())).encode()
    path.write_bytes(sample_input() + compact_logs + b"\n")
    tables = []
    for fast in (True, False):
        store = mfq.open_store(tmp_path / f"s-{fast}", settings=Settings(fast_path=fast))
        summary = store.ingest([path])
        assert (summary.read, summary.ingested, summary.rejected) == (7, 6, 1)
        tables.append(stored(store))
    assert tables[0] == tables[1]


def test_the_otlp_example_export_ingests_as_documented(store: Store) -> None:
    readme = (REPO / "examples" / "README.md").read_text()
    line = next(row for row in readme.splitlines() if row.startswith("| `otlp-traces.json`"))
    counts = tuple(int(cell) for cell in line.split("|")[3:7])
    summary = store.ingest([REPO / "examples" / "exports" / "otlp-traces.json"])
    assert (summary.read, summary.ingested, summary.duplicates, summary.rejected) == counts
    rows = stored(store)
    assert {r["trace_id"] for r in rows.values()} == {"4bf92f3577b34da6a3ce929d0e0e4736"}
    assert sorted(r["service"] for r in rows.values()) == [
        "checkout",
        "checkout",
        "payments",
        "payments",
        "payments",
    ]
