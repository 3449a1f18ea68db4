"""What ingest makes of a record does not depend on the records read with it: the same
records validated alone (a file of a few lines) and inside a big file (after records that
teach the vectorised path its types, in blocks of any size) are accepted with the same
values, or rejected with the same reasons, as the record path (the reference) says.

The records put standard fields where a scalar is expected in every shape: objects
(``service`` with and without ``name``, ``name`` null), lists, aliases nested at other
depths (``{"service": {"name": ...}}`` at the top and under ``attributes``). The big
file's other records hold objects under the same names, so a parsed block's struct types
carry children a record of the block may lack (``service`` holding ``name``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.api import open_store
from mfq.ingest.batch import EventChunk
from mfq.ingest.containers import RecordChunk, _lines_chunk
from mfq.ingest.counters import IngestCounters
from mfq.ingest.fastpath import FastPathState, validate_chunk_fast
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.validate import validate_chunk
from mfq.model.fields import STANDARD_FIELDS

ALIASES = sorted({alias for spec in STANDARD_FIELDS for alias in spec.aliases})
T0 = "2026-11-03T10:00:00Z"
#: Leaves of a few kinds, none a float past 2**53 (where promotion rounds: documented).
LEAVES = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([2.5, "t", "", T0])
SHAPES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(st.sampled_from(["name", "foo", "service", "type"]), inner, max_size=3)
    ),
    max_leaves=4,
)
#: A name the drawn records never hold: the context's own attribute, so that no column
#: is shared between the two (a shared column of mixed kinds would be text in one only).
CONTEXT_ONLY = "ctx_only"


@st.composite
def records(draw: st.DrawFn) -> dict[str, object]:
    """A record with its required fields (mostly), and standard fields in odd shapes."""
    record: dict[str, object] = {}
    if draw(st.integers(0, 4)):
        record["type"] = draw(st.sampled_from(["a", "b"]))
        record["timestamp"] = T0
    for _ in range(draw(st.integers(1, 3))):
        # (``service`` often: the one standard name whose object may be an alias)
        key = draw(st.sampled_from([*ALIASES, *["service"] * 10, "attributes"]))
        target = record
        if draw(st.booleans()):
            inner = record.setdefault("attributes", {})
            target = inner if isinstance(inner, dict) else record
        value = draw(SHAPES)
        if key == "service.name" and draw(st.booleans()):
            key, value = "service", {"name": value}  # the alias as an object
        target[key] = value
    return record


def context(count: int) -> list[str]:
    """Valid events holding objects under standard names: ``service`` with ``name``,
    at the top and under ``attributes``, and the other aliases that are not standard
    names (``event_source``), objects of the context's own key."""
    lines = []
    for i in range(count):
        service: dict[str, object] = {"name": f"s{i % 3}", CONTEXT_ONLY: i}
        record: dict[str, object] = {
            "id": f"ctx-{i}",
            "type": "ctx",
            "timestamp": T0,
            "attributes": {CONTEXT_ONLY: i},
        }
        if i % 2:
            record["service"] = service
        else:
            record["attributes"] = {"service": service, "event_source": {CONTEXT_ONLY: i}}
        lines.append(json.dumps(record))
    return lines


def _chunk(lines: list[str]) -> RecordChunk:
    chunk, _count = _lines_chunk("\n".join(lines).encode(), 1)
    return chunk


def _rows(chunk: EventChunk, first: int, stop: int) -> list[dict[str, object]]:
    """Accepted rows [first, stop) as their non-null values (numbers as numbers: a whole
    number may be read as a float beside another block's floats, as documented)."""
    table = chunk.table.slice(first, stop - first)
    return [
        {name: value for name, value in row.items() if value is not None}
        for row in table.to_pylist()
    ]


def _rejects(chunk: EventChunk, offset: int) -> list[tuple[int, str, str, str]]:
    return [(r.number - offset, r.code, r.reason, r.raw) for r in chunk.rejects]


def _alone(lines: list[str]) -> EventChunk:
    return validate_chunk_fast(_chunk(lines), NormalizeOptions(), FastPathState())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=st.lists(records(), min_size=1, max_size=8),
    block_bytes=st.sampled_from([200, 2000, 1 << 20]),
    taught=st.booleans(),
)
@example(
    drawn=[{"type": "a", "timestamp": T0, "service": {"foo": 1}}],
    block_bytes=1 << 20,
    taught=False,
)
@example(
    drawn=[{"type": "a", "timestamp": T0, "attributes": {"service": {"name": None}}}],
    block_bytes=200,
    taught=True,
)
@example(
    drawn=[
        {"type": "a", "timestamp": T0, "application_version": 0},
        {"type": "a", "timestamp": T0, "attributes": {"application_version": []}},
    ],
    block_bytes=200,
    taught=False,
)
def test_a_record_is_read_alike_alone_and_inside_a_big_file(
    drawn: list[dict[str, object]], block_bytes: int, taught: bool
) -> None:
    """The records alone (the vectorised path, and the record path: the reference), then
    between two runs of context records, in one chunk of blocks of ``block_bytes``; with
    ``taught``, the types of a chunk of context records read before are declared."""
    lines = [json.dumps(r) for r in drawn]
    head, tail = context(40), context(10)
    options = NormalizeOptions()
    reference = validate_chunk(_chunk(lines), options)
    alone = _alone(lines)
    state = FastPathState(sub_block_bytes=block_bytes)
    if taught:
        validate_chunk_fast(_chunk(context(40)), options, state)
    big = validate_chunk_fast(_chunk(head + lines + tail), options, state)
    accepted = alone.table.num_rows
    assert accepted == reference.table.num_rows
    assert _rows(alone, 0, accepted) == _rows(reference, 0, accepted)
    assert _rejects(alone, 0) == _rejects(reference, 0)
    heads, tails = _alone(head), _alone(tail)
    assert big.table.num_rows == heads.table.num_rows + accepted + tails.table.num_rows
    first = heads.table.num_rows
    assert _rows(big, first, first + accepted) == _rows(reference, 0, accepted)
    assert _rejects(big, len(head)) == _rejects(reference, 0)
    counters = IngestCounters()
    for part in (heads, alone, tails):
        counters.add(part.counters)
    assert big.counters == counters


def test_a_service_object_without_name_is_rejected_beside_one_with_it() -> None:
    """Found in review: in a block where another record's ``service`` holds ``name``,
    the parsed struct has a ``name`` child (null in this record), and the vectorised
    path took the struct's type for the record's: it accepted what a file of two lines
    rejects."""
    lines = [
        json.dumps({"type": "a", "timestamp": T0, "service": {"name": "s"}}),
        json.dumps({"type": "a", "timestamp": T0, "service": {"foo": 1}}),
        json.dumps({"type": "a", "timestamp": T0, "attributes": {"service": {"y": 2.5}}}),
        json.dumps({"type": "a", "timestamp": T0, "attributes": {"service": {"name": "t"}}}),
        json.dumps({"type": "a", "timestamp": T0, "service": {"name": None, "foo": 1}}),
    ]
    chunk = _alone(lines)
    assert [(r.number, r.code, r.reason) for r in chunk.rejects] == [
        (2, "bad_field", "invalid service: expected a single value, got object"),
        (3, "bad_field", "invalid service: expected a single value, got object"),
    ]
    assert chunk.table.column("service").to_pylist() == ["s", "t", None]
    assert chunk.table.column("service.foo").to_pylist() == [None, None, 1]
    assert pa.types.is_string(chunk.table.schema.field("service").type)


def test_a_dropped_duplicate_holding_service_name_decides_no_other_record(
    tmp_path: Path,
) -> None:
    """The repeat of ``a`` (left out) held ``service.name`` and the only float of ``x``:
    the chunk's kept events, validated again without it, rejected ``b``, which the
    chunk's first validation had accepted beside it, and ingest stopped on an internal
    error ("events validated again do not match those validated first")."""
    lines = [
        {"id": "a", "type": "t", "timestamp": T0, "x": 1},
        {"id": "a", "type": "t", "timestamp": T0, "x": 2.5, "service": {"name": "s"}},
        {"id": "b", "type": "t", "timestamp": T0, "x": 3, "service": {"foo": 1}},
    ]
    export = tmp_path / "export.ndjson"
    export.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with open_store(tmp_path / "store") as store:
        summary = store.ingest([str(export)])
        assert (summary.read, summary.ingested, summary.duplicates, summary.rejected) == (
            3,
            1,
            1,
            1,
        )
        assert summary.rejects_by_reason == {"bad_field": 1}
        rows = store.events(as_arrow=True, fields=["id", "x"]).to_pylist()
        assert rows == [{"id": "a", "x": 1}]


def test_a_list_in_attributes_under_the_name_of_a_top_level_alias_is_an_attribute() -> None:
    """Found by the property above: the record path rejected ``application_version: 0``
    (``version``'s alias, at the top level) as "got array" because ``attributes`` held a
    list under the same name, which is only an attribute; the vectorised path took it."""
    lines = [
        json.dumps({"type": "a", "timestamp": T0, "application_version": 0, "attributes": a})
        for a in ({"application_version": []}, {"application_version": [1]}, {})
    ]
    lines.append(
        json.dumps({"type": "a", "timestamp": T0, "attributes": {"application_version": []}})
    )
    reference = validate_chunk(_chunk(lines), NormalizeOptions())
    alone = _alone(lines)
    for chunk in (reference, alone):
        assert chunk.table.column("version").to_pylist() == ["0", "0", "0"]
        assert [(r.number, r.reason) for r in chunk.rejects] == [
            (4, "invalid version (application_version): expected a single value, got array")
        ]
