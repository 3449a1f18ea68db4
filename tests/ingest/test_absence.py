"""Declared keys left out of the projected parse only where a block is shown to hold none
of them (``mfq.ingest.absence``): an undeclared key is silently ignored by the parse."""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pj
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mfq.ingest.absence import Absence
from mfq.ingest.projection import Projection
from mfq.query.direct.reader import read_files
from tests.query.test_direct import SMALL_CHUNKS, _compare, _write


def _learned(fields: tuple[str, ...], first_block: bytes) -> Projection:
    """A projection that learned ``first_block`` as the fast path learns a source's first
    block: its full parse's types, then the absence of the keys that parse did not meet."""
    projection = Projection.of(fields)
    table = pj.read_json(pa.BufferReader(pa.py_buffer(first_block)))
    projection.learn(table.schema)
    projection.learn_absence(first_block, 0, len(first_block))
    return projection


def _declared_names(schema: pa.Schema | pa.DataType) -> set[str]:
    names: set[str] = set()
    fields = list(schema)
    while fields:
        f = fields.pop()
        names.add(f.name)
        if pa.types.is_struct(f.type):
            fields += list(f.type)
    return names


def _keys(value: object) -> set[str]:
    """Every key of a JSON value, at any depth (inside lists too)."""
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


FIRST = b"".join(
    json.dumps({"id": i, "attributes": {"type": "login", "timestamp": 1, "region": "eu"}}).encode()
    + b"\n"
    for i in range(200)
)


def test_absent_aliases_are_left_out_only_where_no_record_holds_one() -> None:
    projection = _learned((), FIRST)
    absence = projection._absence
    assert absence is not None
    assert {"event_type", "event_name", "trace_id", "name"} <= absence.names
    full = _declared_names(projection.schema())
    narrow = full - absence.names
    assert "event_type" in full
    # A later block of the same keys: parsed without the absent ones.
    later = FIRST.replace(b'"eu"', b'"us"')
    assert _declared_names(projection.declared(later, 0, len(later))) == narrow
    # A key named as an absent alias anywhere, however written before its colon: every key
    # (a fresh projection each time: one whose search matched chooses its searches again).
    for hidden in (b'"event_type": "x"', b'"event_type" :1', b'"event_type"\t\r :{}'):
        block = later + b'{"id": 9, "attributes": {"deep": {' + hidden + b"}}}\n"
        assert _declared_names(_learned((), FIRST).declared(block, 0, len(block))) == full
    # The name only as a value, or inside another key: still shown absent.
    block = later + b'{"id": 9, "v": "event_type", "event_types": 1}\n'
    assert _declared_names(projection.declared(block, 0, len(block))) == narrow


def test_a_name_that_ends_a_key_present_is_never_left_out() -> None:
    """``id`` ends ``org_id``'s name... and ``ts`` ends ``counts``: a search from any of
    its bytes would match in every block, so it stays declared."""
    first = b'{"counts": 1, "type": "t", "timestamp": 1}\n' * 50
    projection = _learned((), first)
    assert projection._absence is not None
    assert "ts" not in projection._absence.names
    assert "ts" in _declared_names(projection.declared(first, 0, len(first)))


NAMES = st.sampled_from(
    ["ts", "time", "event_type", "name", "eventID", "trace_id", "type", "timestamp", "k", "x_id"]
)
JSON_KEYS = NAMES | st.text(alphabet="abnt_eIDs@", min_size=1, max_size=6)
VALUES = st.recursive(
    st.none() | st.integers(-5, 5) | st.text(alphabet='abnt_"\\:', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_KEYS, inner, max_size=3),
    max_leaves=8,
)
RECORDS = st.dictionaries(JSON_KEYS, VALUES, max_size=5)
BLANKS = st.sampled_from([":", " :", "\t:", " \r :"])


@settings(max_examples=200, deadline=None)
@given(
    first=st.lists(RECORDS, min_size=1, max_size=6),
    later=st.lists(st.tuples(RECORDS, BLANKS), min_size=1, max_size=6),
)
def test_a_block_parsed_without_a_key_holds_none_of_it(
    first: list[dict[str, object]], later: list[tuple[dict[str, object], str]]
) -> None:
    """Whatever the records (keys at any depth, in lists, blanks before colons, the names
    in values), a later block parsed without some declared keys holds none of them."""
    first_block = "".join(json.dumps(r) + "\n" for r in first).encode()
    try:
        projection = _learned(("x_id",), first_block)
    except pa.ArrowInvalid:  # (keys of mixed types: such a block is not learned)
        assume(False)
    block = "".join(json.dumps(r, separators=(",", sep)) + "\n" for r, sep in later).encode()
    full = _declared_names(projection.schema())
    left_out = full - _declared_names(projection.declared(block, 0, len(block)))
    held = _keys([r for r, _sep in later])
    assert not left_out & held


def test_a_key_hidden_in_a_later_block_is_read() -> None:
    """Thousands of records of the same keys, then valid records holding standard fields
    under aliases no earlier block holds: the answers are the store's, and hold them."""
    lines = [
        json.dumps({"id": i, "attributes": {"type": "login", "timestamp": 1700000000 + i}})
        for i in range(3000)
    ]
    # Apart, and beside keys of the types learned: a block where a declared key of a type
    # not learned holds a value is parsed in full.
    hidden = {"type": "login", "timestamp": 1700000000, "trace_id": "t-1", "org_id": "o-1"}
    lines[1500] = json.dumps({"id": 1500, "attributes": hidden})
    lines[2500] = json.dumps({"id": 2500, "attributes": {**hidden, "trace_id": "t-2"}})
    lines.append(json.dumps({"id": 3000, "attributes": {"event_type": "late", "ts": 1}}))
    with tempfile.TemporaryDirectory() as folder:
        export = _write(Path(folder) / "export.ndjson", lines)
        assert export.stat().st_size > 100 * SMALL_CHUNKS.chunk_bytes
        questions: list[dict[str, object]] = [
            {"kind": "query", "group_by": ["type"]},
            {"kind": "query", "group_by": ["trace_id", "org_id"], "aggs": ["count"]},
        ]
        _compare([export], questions)
        _compare([export], questions, chunked=False)
        direct = read_files([str(export)], frozenset({"type", "trace_id"}), settings=SMALL_CHUNKS)
    assert direct.summary.ingested == 3001
    assert Counter(direct.table.column("type").to_pylist()) == {"login": 3000, "late": 1}
    assert Counter(direct.table.column("trace_id").to_pylist()) == {None: 2999, "t-1": 1, "t-2": 1}


def test_searches_that_match_a_later_key_are_chosen_again() -> None:
    """A key the first block lacks may end as an absent name's searched tail does: the
    block where a search matches is parsed with every key, and the searches are chosen
    again on it, so the blocks after it are parsed without the absent names again."""
    projection = _learned((), FIRST)
    absence = projection._absence
    assert absence is not None
    later = FIRST.replace(b'"region"', b'"my_id"')  # (no alias, but ends as ``org_id``)
    assert [p for p in absence.patterns if re.search(p.encode(), later)]
    full = _declared_names(projection.schema())
    assert _declared_names(projection.declared(later, 0, len(later))) == full
    again = projection.declared(later, 0, len(later))
    assert _declared_names(again) < full
    assert not _declared_names(again) - full
    assert "event_type" not in _declared_names(again)


def _absences_learned(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str]]:
    """The names of every absence learned from here on, in order."""
    learned: list[frozenset[str]] = []
    original = Absence.learned.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Absence], *args: Any, **kwargs: Any) -> Absence:
        absence: Absence = original(cls, *args, **kwargs)
        learned.append(absence.names)
        return absence

    monkeypatch.setattr(Absence, "learned", classmethod(counted))
    return learned


def test_the_absence_is_learned_only_for_a_block_parsed_with_the_projection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source held whole in its first block never asks (its searches would cost 2-5
    ms, a file in a folder of many small ones); a longer one learns it once, on its second
    block."""
    learned = _absences_learned(monkeypatch)
    small = tmp_path / "small.ndjson"
    small.write_bytes(FIRST)
    read_files([str(small)], frozenset({"type"}))
    assert learned == []
    big = tmp_path / "big.ndjson"
    big.write_bytes(FIRST * 2000)  # (12 MiB: the first block, then projected parses)
    direct = read_files([str(big)], frozenset({"type"}))
    assert (len(learned), direct.summary.ingested, direct.summary.duplicates) == (1, 200, 399_800)
    assert {"event_type", "trace_id"} <= learned[0]


def test_nothing_to_show_absent_is_not_learned_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no search is worth its cost (records of 70 KB: a few records a block), the
    absence is empty; every block is parsed with every key, and it is not learned again
    on each (as a search that matched would be)."""
    learned = _absences_learned(monkeypatch)
    lines = [
        json.dumps({"id": i, "type": "a", "timestamp": 1700000000 + i, "blob": "x" * 70_000})
        for i in range(200)
    ]
    export = _write(tmp_path / "export.ndjson", lines)
    direct = read_files([str(export)], frozenset({"type"}))
    assert (learned, direct.summary.ingested) == ([frozenset()], 200)


def test_an_absent_alias_written_with_an_escape_in_a_later_block_is_read() -> None:
    """The search cannot see ``"trace\\u005fid"``: the record goes record by record (a key
    written with an escape), so the key left out of the projected parse is still read."""
    lines = [
        json.dumps({"id": i, "attributes": {"type": "login", "timestamp": 1700000000 + i}})
        for i in range(3000)
    ]
    lines[2000] = (
        '{"id": 2000, "trace\\u005fid": "t-1", '
        '"attributes": {"type": "login", "timestamp": 1700002000}}'
    )
    lines[2500] = (
        '{"id": 2500, "attributes": {"type": "login", "timestamp": 1700002500, '
        '"\\u006frg_id": "o-1"}}'
    )
    with tempfile.TemporaryDirectory() as folder:
        export = _write(Path(folder) / "export.ndjson", lines)
        questions: list[dict[str, object]] = [
            {"kind": "query", "group_by": ["trace_id", "org_id"], "aggs": ["count"]},
            {"kind": "query", "group_by": ["type"]},
        ]
        _compare([export], questions)
        direct = read_files([str(export)], frozenset({"trace_id", "org_id"}), settings=SMALL_CHUNKS)
    assert Counter(direct.table.column("trace_id").to_pylist()) == {None: 2999, "t-1": 1}
    assert Counter(direct.table.column("org_id").to_pylist()) == {None: 2999, "o-1": 1}
