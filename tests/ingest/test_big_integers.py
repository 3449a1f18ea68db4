"""An integer beyond the 64-bit range is kept exactly, as its decimal text, and the
integers beside it in the same field keep every digit too, on every path and at every
block cut: the record path (the reference) reads each number from its text, so the
field is mixed (text where the big one meets integers), never rounded through a float.

pyarrow reads every number of a block's field as a float where one is beyond int64:
9007199254740993 beside 18446744073709551616 came out 9007199254740992 (found in
review, on every path but the record path).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.api import open_store
from mfq.ingest import fastpath
from mfq.ingest.batch import EventChunk
from mfq.ingest.containers import RecordChunk, _lines_chunk
from mfq.ingest.fastpath import FastPathState, validate_chunk_fast
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.validate import validate_chunk

T0 = "2026-11-03T10:00:00Z"
BIG = 2**64
EXACT = 2**53 + 1  # 9007199254740993: no float holds it
#: Numbers on both sides of the edges: 2**53 (a float's whole numbers), int64's ends.
NUMBERS = st.sampled_from(
    [
        0,
        -3,
        EXACT,
        -EXACT,
        2**63 - 1,
        -(2**63),
        2**63,
        -(2**63) - 1,
        BIG,
        10**30,
        2.5,
        1.0,
        -0.5,
        1e20,
    ]
) | st.integers(-(2**70), 2**70)


def _chunk(lines: list[str]) -> RecordChunk:
    chunk, _count = _lines_chunk("\n".join(lines).encode(), 1)
    return chunk


def _exact(chunk: EventChunk) -> tuple[object, ...]:
    """Every column's values with their Python types (1 and 1.0 told apart), the value
    classes (integers and floats as one class: pyarrow reads an integer beside a fraction
    in its block as a float, counted so, which ``mfq schema`` shows as a float either
    way), and the rejects."""
    columns = {
        name: [(type(v).__name__, v) for v in chunk.table.column(name).to_pylist()]
        for name in sorted(chunk.table.column_names)
        if chunk.table.column(name).null_count < chunk.table.num_rows
    }
    classes = {}
    for name, found in sorted(chunk.type_counts.counts.items()):
        merged: dict[str, int] = {}
        for value_class, count in found.items():
            key = "number" if value_class in {"integer", "float"} else value_class
            merged[key] = merged.get(key, 0) + count
        classes[name] = merged
    rejects = [(r.number, r.code, r.reason) for r in chunk.rejects]
    return columns, classes, rejects


def _fast(lines: list[str], block_bytes: int = 1 << 20) -> EventChunk:
    """The vectorised path over blocks of ``block_bytes``, the source's first block (parsed
    alone, ``fastpath.PROBE_BLOCK_BYTES``) that small too: else the few records here would
    all be in it."""
    state = FastPathState(sub_block_bytes=block_bytes)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastpath, "PROBE_BLOCK_BYTES", min(block_bytes, fastpath.PROBE_BLOCK_BYTES))
        return validate_chunk_fast(_chunk(lines), NormalizeOptions(), state)


def test_the_integers_beside_one_beyond_int64_keep_their_digits() -> None:
    lines = [
        json.dumps({"id": "a", "type": "t", "timestamp": T0, "x": EXACT}),
        json.dumps({"id": "b", "type": "t", "timestamp": T0, "x": BIG}),
        json.dumps({"id": "c", "type": "t", "timestamp": T0, "x": -3}),
        json.dumps({"id": "d", "type": "t", "timestamp": T0, "x": 2.5}),
    ]
    for chunk in (_fast(lines), validate_chunk(_chunk(lines), NormalizeOptions())):
        values = chunk.table.column("x").to_pylist()
        assert values == ["9007199254740993", "18446744073709551616", "-3", "2.5"]
        assert dict(chunk.type_counts.counts["x"]) == {"integer": 2, "string": 1, "float": 1}


def test_an_export_with_one_integer_beyond_int64_is_stored_exactly(tmp_path: Path) -> None:
    """Through the store, with derived ids (their canonical text holds every digit)."""
    export = tmp_path / "e.ndjson"
    records = [{"type": "t", "timestamp": T0, "x": x} for x in (EXACT, BIG, 7)]
    export.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    reference = validate_chunk(_chunk([json.dumps(r) for r in records]), NormalizeOptions())
    with open_store(tmp_path / "store") as store:
        store.ingest([str(export)])
        rows = store.events(as_arrow=True, fields=["id", "x"]).to_pylist()
        assert sorted(r["x"] for r in rows) == ["18446744073709551616", "7", "9007199254740993"]
        assert sorted(r["id"] for r in rows) == sorted(reference.table.column("id").to_pylist())
        (field,) = [r for r in store.schema_records() if r["field"] == "x"]
        assert (field["type"], field["mixed"]) == ("mixed(integer,string)", True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=st.lists(
        st.tuples(NUMBERS, st.sampled_from(["x", "o.x", "attributes.x", "l"]), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    block_bytes=st.sampled_from([100, 400, 1 << 20]),
)
@example(drawn=[(EXACT, "x", True), (BIG, "x", True)], block_bytes=1 << 20)
@example(drawn=[(1.0, "x", False), (BIG, "x", False), (EXACT, "l", False)], block_bytes=1 << 20)
# An integer past 2**53 parsed beside a fraction, the big one in another block: the field
# is text in the chunk, and the integer keeps its digits (was 9007199254740992).
@example(drawn=[(BIG, "x", True), (2.5, "x", True), (EXACT, "x", True)], block_bytes=130)
def test_big_integers_read_alike_on_both_paths_at_every_block_size(
    drawn: list[tuple[int | float, str, bool]], block_bytes: int
) -> None:
    """Numbers under a top-level key, a nested one, an attribute and in a list, records
    with and without an id, cut into blocks of ``block_bytes``: the vectorised path
    gives the record path's values, types and classes exactly: an integer past 2**53
    beside a float included (a float where the field is numbers only, its own digits
    where the field is text in the chunk; ``tests/ingest/test_number_parity.py``)."""
    lines = []
    for i, (number, where, with_id) in enumerate(drawn):
        record: dict[str, object] = {"type": "t", "timestamp": T0}
        if with_id:
            record["id"] = f"e{i}"
        if where == "x":
            record["x"] = number
        elif where == "o.x":
            record["o"] = {"x": number}
        elif where == "attributes.x":
            record["attributes"] = {"x": number}
        else:
            record["l"] = [number, 1]
        lines.append(json.dumps(record))
    reference = validate_chunk(_chunk(lines), NormalizeOptions())
    assert _exact(_fast(lines, block_bytes)) == _exact(reference)
