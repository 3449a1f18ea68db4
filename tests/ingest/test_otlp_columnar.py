"""The columnar OTLP reader against the record-by-record one (the oracle it falls back to).

Every input is read both ways and validated the way ingest validates it (the vectorised
path, which sends odd rows record by record); the stored rows, their column types and the
rejects (reasons, lines, texts) must be identical, and the columnar reader must have taken
the spans it is meant to take.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any
from unittest.mock import patch

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfq.ingest.batch import RejectedRecord
from mfq.ingest.columns import unify
from mfq.ingest.containers import RecordChunk
from mfq.ingest.fastpath import FastPathState, validate_chunk_fast
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.otlp import reader
from mfq.ingest.otlp.parse import DocumentParser
from mfq.ingest.otlp.reader import _nulls, otlp_chunks
from mfq.ingest.otlp.stream import record_chunks
from tests.conftest import SHARED_REAL

T0 = 1_793_700_000 * 10**9
MS = 1_000_000
CHUNK = 1 << 20


def read(chunks: list[RecordChunk]) -> tuple[pa.Table, list[RejectedRecord]]:
    """Chunks validated as ingest validates them: one table, the rejects."""
    state = FastPathState()
    tables, rejects = [], []
    for chunk in chunks:
        outcome = chunk.settle(validate_chunk_fast(chunk, NormalizeOptions(), state))
        tables.append(outcome.table)
        rejects += outcome.rejects
    return unify(tables), rejects


def both_ways(data: bytes, chunk_bytes: int = CHUNK) -> int:
    """Read ``data`` both ways, assert they agree; the rows the columnar reader took."""
    columnar = list(otlp_chunks(io.BytesIO(data), chunk_bytes))
    oracle = list(record_chunks(io.BytesIO(data), chunk_bytes))
    table, rejects = read(columnar)
    expected_table, expected_rejects = read(oracle)
    assert table.schema == expected_table.schema
    assert table.to_pylist() == expected_table.to_pylist()
    assert [_comparable(r) for r in rejects] == [_comparable(r) for r in expected_rejects]
    for reject, expected in zip(rejects, expected_rejects, strict=True):
        assert _same_text(reject.raw, expected.raw)
    assert [n for c in columnar for n in c.numbers.tolist()] == [
        n for c in oracle for n in c.numbers.tolist()
    ]
    return sum(len(c) for c in columnar if c.parsed is not None)


def _comparable(reject: RejectedRecord) -> RejectedRecord:
    return RejectedRecord(reject.number, reject.code, reject.reason, "")


def _same_text(raw: str, expected: str) -> bool:
    """A reject's text, or (for a document the scanner cannot split: its preview of up to 1
    KiB around the fault) the part of the record path's preview on the faulty line: that
    one's scan buffer may also hold the neighbouring lines, depending on where its reads
    fell; the columnar reader hands it the faulty lines alone."""
    return raw == expected or (bool(raw) and (expected.startswith(raw) or expected.endswith(raw)))


def per_line(*documents: object) -> bytes:
    return b"".join(json.dumps(d).encode() + b"\n" for d in documents)


def kv(key: str, value: object) -> dict[str, Any]:
    return {"key": key, "value": value}


def span(n: int, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "traceId": f"{n + 1:032x}",
        "spanId": f"{n + 1:016X}",
        "name": f"op {n % 3}",
        "kind": 2,
        "startTimeUnixNano": str(T0 + n * MS),
        "endTimeUnixNano": str(T0 + n * MS + 250 * MS),
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def traces(spans: list[dict[str, Any]], resource: Any = None, scope: Any = None) -> dict[str, Any]:
    """A document in the order OTLP encoders write: resource, then scope, then records."""
    scope_spans: dict[str, Any] = {} if scope is None else {"scope": scope}
    scope_spans["spans"] = spans
    item: dict[str, Any] = {} if resource is None else {"resource": resource}
    item["scopeSpans"] = [scope_spans]
    return {"resourceSpans": [item]}


SERVICE = {
    "attributes": [
        kv("service.name", {"stringValue": "checkout"}),
        kv("deployment.environment", {"stringValue": "prod"}),
        kv("host.name", {"stringValue": "h1"}),
    ]
}


def test_real_trace_example_on_one_line_is_read_columnar_and_identically() -> None:
    document = json.loads((SHARED_REAL / "otlp" / "trace.json").read_bytes())
    assert both_ways(per_line(document, document)) == 2


def test_real_logs_example_on_one_line_is_read_identically() -> None:
    document = json.loads((SHARED_REAL / "otlp" / "logs.json").read_bytes())
    both_ways(per_line(document))  # logs: the record path (nothing columnar to check)


def test_every_value_kind_status_kind_and_context_is_read_columnar() -> None:
    attributes = [
        kv("s", {"stringValue": "text"}),
        kv("i", {"intValue": "-9223372036854775808"}),
        kv("d", {"doubleValue": 2}),
        kv("f", {"doubleValue": 0.25}),
        kv("b", {"boolValue": False}),
        kv("raw", {"bytesValue": "aGVsbG8="}),
        kv("list", {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "x"}]}}),
        kv("map", {"kvlistValue": {"values": [kv("a", {"boolValue": True}), kv("b.c", {})]}}),
        kv("empty", {}),
        kv("service", {"stringValue": "collides with the resource's"}),
    ]
    spans = [
        span(
            n,
            attributes=attributes,
            status={"code": n % 3, "message": "bad" if n % 3 == 2 else ""},
            kind=[3, 1, 9, 0][n % 4],
            parentSpanId=["", "0000000000000000", f"{n + 9:016x}"][n % 3],
            flags=n % 2,
            traceState="k=v" if n % 2 else "",
            droppedAttributesCount=n % 2,
        )
        for n in range(12)
    ]
    scope = {"name": "lib", "version": "1", "attributes": [kv("name", {"stringValue": "x"})]}
    data = per_line(traces(spans, SERVICE, scope), traces(spans[:3]))
    assert both_ways(data) == 15


def test_documents_the_columnar_reader_leaves_go_record_by_record_in_place() -> None:
    good = traces([span(1), span(2)], SERVICE)
    with_events = traces([span(3, events=[{"name": "e", "timeUnixNano": str(T0)}])])
    with_links = traces([span(4, links=[{"traceId": f"{5:032x}", "spanId": f"{5:016x}"}])])
    rejected = traces([span(5, traceId="xyz"), span(6, endTimeUnixNano="1")])
    with_null = traces([span(7, traceState=None) | {"name": None}])
    duplicate_key = traces([span(8, attributes=[kv("a", {"intValue": 1})] * 2)])
    logs = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": str(T0)}]}]}]}
    lines = [good, with_events, good, with_links, rejected, with_null, duplicate_key, logs, good]
    data = per_line(*lines) + b"\n   \n{broken\n" + per_line(good)
    # The first two good documents only: a log document (and a broken line) sends the rest
    # of their block record by record.
    assert both_ways(data) == 4


def test_one_key_of_two_types_sends_the_block_record_by_record() -> None:
    first = traces([span(1, attributes=[kv("a", {"intValue": "1"})])])
    second = traces([span(2, attributes=[kv("a", {"stringValue": "x"})])])
    assert both_ways(per_line(first, second)) == 0


def test_small_blocks_and_a_pretty_printed_document_agree() -> None:
    documents = [traces([span(n), span(n + 100)], SERVICE) for n in range(40)]
    assert both_ways(per_line(*documents), chunk_bytes=700) == 80
    pretty = json.dumps(documents[0], indent=2).encode()
    assert both_ways(pretty) == 0  # not one document a line: record by record throughout


# -- generated documents ----------------------------------------------------------------------

_TEXT = st.text(max_size=8)
_SCALAR_VALUES = st.one_of(
    st.builds(lambda v: {"stringValue": v}, _TEXT),
    st.builds(lambda v: {"bytesValue": v}, _TEXT),
    st.builds(lambda v: {"intValue": str(v)}, st.integers(-(2**64), 2**64)),
    st.builds(lambda v: {"intValue": v}, st.integers(-(2**63), 2**63 - 1)),
    st.builds(lambda v: {"doubleValue": v}, st.floats(allow_nan=False, allow_infinity=False)),
    st.builds(lambda v: {"doubleValue": v}, st.integers(-(2**60), 2**60)),
    st.builds(lambda v: {"boolValue": v}, st.booleans()),
    st.just({}),
    st.just({"stringValue": "a", "boolValue": True}),
    st.just({"weirdValue": 1}),
)
_VALUES = st.recursive(
    _SCALAR_VALUES,
    lambda inner: st.one_of(
        st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3)),
        st.builds(
            lambda pairs: {"kvlistValue": {"values": [kv(k, v) for k, v in pairs]}},
            st.lists(st.tuples(st.sampled_from(["a", "b", "c.d"]), inner), max_size=3),
        ),
    ),
    max_leaves=6,
)
_KEYS = st.sampled_from(["k", "http.route", "service", "timestamp", "x.y", "", "a"])
_ATTRIBUTES = st.lists(st.builds(kv, _KEYS, _VALUES), max_size=4)
_HEX_IDS = st.one_of(
    st.integers(1, 2**64 - 1).map(lambda v: f"{v:016x}"),
    st.sampled_from(["", "0000000000000000", "ZZ", "AAAAAAAAAAAAAAAAAAAAAA=="]),
)


@st.composite
def _spans(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(st.integers(0, 2**63 + 5))
    fields: dict[str, Any] = {
        "traceId": draw(_HEX_IDS) * 2,
        "spanId": draw(_HEX_IDS),
        "parentSpanId": draw(_HEX_IDS),
        "name": draw(st.sampled_from(["op", "", " ", "ok.name", "--"])),
        "kind": draw(st.sampled_from([0, 2, 7, "SPAN_KIND_SERVER", "nope"])),
        "startTimeUnixNano": draw(st.sampled_from([str, int]))(start),
        "endTimeUnixNano": str(start + draw(st.integers(-5, 10**9))),
        "status": draw(
            st.sampled_from([{}, {"code": 2, "message": "m"}, {"code": "STATUS_CODE_OK"}])
        ),
        "attributes": draw(_ATTRIBUTES),
        "flags": draw(st.sampled_from([0, 1, 2**32])),
    }
    dropped = draw(st.sampled_from(["droppedAttributesCount", "droppedLinksCount", "x"]))
    fields[dropped] = draw(st.integers(0, 3))
    keep = draw(st.sets(st.sampled_from(sorted(fields))))
    return {k: v for k, v in fields.items() if k not in keep or k in ("traceId", "spanId")}


_DOCUMENTS = st.builds(
    traces,
    st.lists(_spans(), max_size=4),
    st.one_of(st.none(), st.builds(lambda a: {"attributes": a}, _ATTRIBUTES)),
    st.one_of(st.none(), st.builds(lambda a: {"name": "s", "attributes": a}, _ATTRIBUTES)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_DOCUMENTS, min_size=1, max_size=4))
def test_generated_documents_read_identically(documents: list[dict[str, Any]]) -> None:
    both_ways(per_line(*documents))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_DOCUMENTS, min_size=1, max_size=3), st.integers(4096, 16384))
def test_generated_documents_in_small_blocks_read_identically(
    documents: list[dict[str, Any]], chunk_bytes: int
) -> None:
    both_ways(per_line(*documents), chunk_bytes)


@pytest.mark.parametrize(
    "line",
    [
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"\\ud800"}]}]}]}',
        b'{"resourceSpans":[{"scopeSpans":[{"spans":' + b"[" * 40000 + b"]" * 40000 + b"}]}]}",
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"\xff"}]}]}]}',
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"op"}]}]}]} trailing',
        b'{"resourceSpans":{}}',
        b'{"resourceSpans":[1,2]}',
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[null,{"name":"op"}]}]}]}',
        b'{"resourceSpans":[null,{"scopeSpans":[{"spans":[{"name":"op"}]}]}]}',
    ],
)
def test_hostile_lines_are_read_identically_without_crashing(line: bytes) -> None:
    good = per_line(traces([span(1)]))
    both_ways(good + line + b"\n" + good)


def test_a_list_starting_with_null_is_refused_by_the_columnar_parse() -> None:
    """pyarrow's reader builds such a list short of values (apache/arrow#51305): the block
    goes record by record instead of the converter reading past the values."""
    for document in (
        traces([None, span(1)]),
        traces([span(1, attributes=[None, kv("a", {"stringValue": "x"})])]),
    ):
        with pytest.raises(pa.ArrowInvalid, match="larger than values array"):
            DocumentParser().parse(memoryview(per_line(document)))
        both_ways(per_line(traces([span(2)]), document))  # the record path reads it alike


# -- types learned from earlier blocks --------------------------------------------------------


def test_later_blocks_with_new_fields_and_types_read_identically() -> None:
    """Blocks after the first are parsed with the types learned so far: each line below
    (a block of its own) brings a field, a value kind or a JSON type the earlier ones did
    not have, or lacks one they had."""
    attributes = [kv("d", {"doubleValue": 2}), kv("s", {"stringValue": "x"})]
    first = traces([span(1, attributes=attributes)], SERVICE)
    date = {"stringValue": "2026-11-16T10:00:00Z"}
    lines = [
        first,
        first,
        traces([span(2, attributes=[kv("d", {"doubleValue": 0.5})])]),  # whole, then float
        traces([span(3, attributes=[kv("d", {"doubleValue": 3})])]),  # whole again
        traces([span(4, kind="SPAN_KIND_CLIENT", status={"code": "STATUS_CODE_ERROR"})]),
        traces([span(5, startTimeUnixNano=T0, endTimeUnixNano=T0 + MS)]),  # numbers
        traces([span(6, attributes=[kv("i", {"intValue": 7}), kv("when", date)])]),
        traces([span(7, attributes=[kv("l", {"arrayValue": {"values": [{"intValue": "1"}]}})])]),
        traces([span(8, events=[{"name": "e", "timeUnixNano": str(T0)}])]),
        {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "s"}, "spans": [span(9)]}]}]},
        {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": str(T0)}]}]}]},
        first,
        traces([span(10, attributes=[kv("when", date)])]),  # read as text, as learned
    ]
    texts = [json.dumps(line).encode() for line in lines]
    width = max(len(text) for text in texts)
    data = b"".join(text.ljust(width) + b"\n" for text in texts)
    # Columnar: all but the span with events, the log record and the span whose only text
    # attribute pyarrow infers as a timestamp (learned types cannot be used there: its
    # whole numbers are JSON numbers).
    assert both_ways(data, chunk_bytes=width + 1) == 10


def test_a_deep_document_after_the_types_are_learned_is_read_without_crashing() -> None:
    good = traces([span(1, attributes=[kv("a", {"stringValue": "x"})])])
    deep: dict[str, Any] = {"intValue": "1"}
    for _ in range(200):  # 600 levels: far past what the columnar reader takes
        deep = {"arrayValue": {"values": [deep]}}
    nested = json.dumps(traces([span(2, attributes=[kv("a", deep)])])).encode()
    bracketed = b'{"resourceSpans":[{"scopeSpans":[{"spans":' + b"[" * 40000 + b"]" * 40000
    texts = [json.dumps(good).encode(), nested, bracketed + b"}]}]}", json.dumps(good).encode()]
    width = max(len(text) for text in texts)
    data = b"".join(text.ljust(width) + b"\n" for text in texts)
    assert both_ways(data, chunk_bytes=width + 1) == 2


def test_a_line_longer_than_four_blocks_streams_the_rest_in_order() -> None:
    short = [traces([span(n)], SERVICE) for n in range(3)]
    long = traces(
        [span(10 + n, attributes=[kv("k", {"stringValue": "v" * 50})]) for n in range(40)]
    )
    data = per_line(*short, long, *short)
    assert len(per_line(long)) > 4 * 1000
    assert both_ways(data, chunk_bytes=1000) == 3  # the lines before the long one
    assert both_ways(data, chunk_bytes=len(data)) == 46


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40).map(lambda b: b.replace(b"n", b"null", 1)), st.integers(0, 4))
def test_nulls_and_line_bounds_are_found_exactly(data: bytes, few: int) -> None:
    assert _nulls(data) == [m.start() for m in re.finditer(b"(?=null)", data)]
    with patch.object(reader, "_FEW_LINES", few):
        starts, ends = reader._line_bounds(data)
    assert [data[a:b] for a, b in zip(starts, ends, strict=True)] == data.split(b"\n")
