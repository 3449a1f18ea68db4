"""Numbers store the same values, and ``mfq schema`` names the same classes, whatever the
block cuts and whichever path (vectorised or record by record) a record takes; the third
round of parity fixes (found in review on the tree before them):

- an integer past 2**53 beside ``true`` and ``0.5`` in one field was stored
  ``9007199254740992`` by the vectorised path (its block's parses unified as floats
  before the chunk's booleans made the field text), ``9007199254740993`` record by record;
- ``9223372036854775807`` made a float (beside a fraction) and then text (beside text in
  another chunk) was written ``9.223372036854776e+18``;
- ``-0`` and ``-0.0`` in a float field were ``-0.0`` on the vectorised path and ``0.0``
  on the record path (and where a huge integer sent the block's whole numbers there);
- a field of integers, fractions and text was ``mixed(float,integer,string)`` or
  ``mixed(float,string)`` depending on which integers were parsed beside a fraction.

The fourth round:

- an integer literal past 2**53 beside whole numbers written as floats (``-0.0``,
  ``1e20``) and no fraction in its block was read as a float, and kept a double's digits
  where its chunk's field is text (the case the guide documented as left);
- a rejected record holding ``1.7e+18`` or ``1.5`` made its block's integers in that
  field floats on the vectorised path (``3.0``), integers record by record (``3``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.api import open_store
from mfq.ingest import fastpath
from mfq.ingest.batch import EventChunk
from mfq.ingest.columns import to_text
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.validate import validate_chunk
from mfq.settings import DEFAULT_SETTINGS
from mfq.store.stats import _type_name
from tests.conftest import examples
from tests.ingest.test_big_integers import _chunk, _fast
from tests.query.test_direct import _compare, _write, record_path_rows

T0 = "2026-11-03T10:00:00Z"
#: JSON texts of values, on both sides of 2**53 and int64's ends, zeros of both signs,
#: text and booleans.
VALUES = st.sampled_from(
    [
        "0",
        "-0",
        "-0.0",
        "0.0",
        "-1e-400",
        "3",
        "0.5",
        "-2.5",
        "1e20",
        "9007199254740992",
        "9007199254740993",
        "-9007199254740993",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551616",
        "true",
        '"abc"',
        '"9007199254740993"',
    ]
)
BLOCKS = st.sampled_from([100, 120, 400, 1 << 20])


def _lines(values: list[str], where: list[str]) -> list[str]:
    """One record per value, under ``x``, ``attributes.x`` or ``d`` (a duration alias
    where it is a number, else an attribute)."""
    lines = []
    for i, (value, key) in enumerate(zip(values, where, strict=True)):
        head = json.dumps({"id": f"e{i}", "type": "t", "timestamp": T0})[:-1]
        if key == "attributes.x":
            lines.append(f'{head}, "attributes": {{"x": {value}}}}}')
        else:
            lines.append(f'{head}, "{key}": {value}}}')
    return lines


def _signed(value: object) -> object:
    """A value with its Python type, and a float's sign (``-0.0 == 0.0`` in Python)."""
    if isinstance(value, float):
        return ("float", value, math.copysign(1.0, value))
    return (type(value).__name__, value)


def _stored(chunk: EventChunk) -> tuple[object, ...]:
    """Every held column's type and values, the type ``mfq schema`` names of each field,
    and the rejects."""
    table = chunk.table
    columns = {
        name: (str(table.column(name).type), [_signed(v) for v in table.column(name).to_pylist()])
        for name in sorted(table.column_names)
        if table.column(name).null_count < table.num_rows
    }
    named = {
        name: _type_name(classes, pa.null())
        for name, classes in sorted(chunk.type_counts.counts.items())
    }
    rejects = [(r.number, r.code, r.reason) for r in chunk.rejects]
    return columns, named, rejects


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=st.lists(
        st.tuples(VALUES, st.sampled_from(["x", "x", "attributes.x", "duration_ms"])),
        min_size=1,
        max_size=10,
    ),
    block_bytes=BLOCKS,
)
@example(drawn=[("9007199254740993", "x"), ("true", "x"), ("0.5", "x")], block_bytes=120)
@example(drawn=[("-0", "x"), ("0.5", "x")], block_bytes=1 << 20)
@example(drawn=[("-0", "x"), ("0.5", "x"), ("18446744073709551616", "x")], block_bytes=120)
@example(drawn=[("0.5", "x"), ("3", "x"), ('"abc"', "x")], block_bytes=1 << 20)
@example(drawn=[("-0.0", "duration_ms")], block_bytes=1 << 20)
@example(
    drawn=[("0", "x"), ("18446744073709551616", "x"), ("-0.0", "x"), ("9007199254740993", "x")],
    block_bytes=100,
)
def test_numbers_text_and_booleans_store_alike_on_both_paths_at_every_block_size(
    drawn: list[tuple[str, str]], block_bytes: int
) -> None:
    """Integers past 2**53, int64's ends, beyond int64, fractions, zeros of both signs,
    text and booleans in one field (top level or under ``attributes``) and durations, cut
    into blocks of ``block_bytes``: the vectorised path stores the record path's values,
    float signs included, and ``mfq schema`` names the same type."""
    lines = _lines([v for v, _ in drawn], [k for _, k in drawn])
    reference = validate_chunk(_chunk(lines), NormalizeOptions())
    assert _stored(_fast(lines, block_bytes)) == _stored(reference)


def test_negative_zeros_are_stored_as_zero_on_every_path() -> None:
    """``-0`` (an integer: no sign), ``-0.0`` and ``-1e-400`` (a float too small to be
    anything but zero) are one value, 0, wherever they are stored as floats: grouping and
    ``distinct`` never count two zeros."""
    values = ["-0", "-0.0", "-1e-400", "0.5", "0"]
    lines = _lines(values, ["x"] * 5) + _lines(["-0.0", "-0"], ["duration_ms"] * 2)
    for chunk in (
        validate_chunk(_chunk(lines), NormalizeOptions()),
        _fast(lines, 1 << 20),
        _fast(lines, 100),
    ):
        xs = chunk.table.column("x").to_pylist()
        assert [math.copysign(1.0, v) for v in xs if v is not None] == [1.0] * 5
        durations = chunk.table.column("duration_ms").to_pylist()
        assert [math.copysign(1.0, v) for v in durations if v is not None] == [1.0] * 2


def test_a_float_an_int64_integer_can_become_is_written_as_its_digits() -> None:
    """2**63 is 9223372036854775807 made a float (beside a fraction); written as text (the
    field holds text elsewhere) it is digits, as every other whole float below it is,
    never ``9.223372036854776e+18``. A float written with an exponent beyond int64's
    floats keeps it."""
    floats = pa.array([2.0**63, -(2.0**63), 2.0**53, -0.0, 0.5, 1e20, None])
    assert to_text(floats).to_pylist() == [
        "9223372036854775808",
        "-9223372036854775808",
        "9007199254740992",
        "0",
        "0.5",
        "1e+20",
        None,
    ]


def _export(path: Path, values: list[str]) -> Path:
    lines = _lines(values, ["x"] * len(values))
    path.write_text("".join(f'{line[:-1]}, "pad": "{"p" * 200}"}}\n' for line in lines))
    return path


def test_int64_s_largest_integer_beside_a_fraction_and_text_in_other_chunks_has_no_exponent(
    tmp_path: Path,
) -> None:
    """Chunks of about 4 KiB: those holding ``9223372036854775807`` beside ``0.5`` only
    store both as floats, and the chunks of text after them make the field text: the
    integer reads ``9223372036854775808``, the float it was made (documented: an integer
    past 2**53 beside a fraction keeps a float's digits where no text shares its chunk),
    never an exponent. Where it shares a chunk with text it keeps every digit."""
    export = _export(tmp_path / "e.ndjson", ["0.5", "9223372036854775807"] * 300 + ['"abc"'] * 300)
    found = {}
    for chunk_bytes in (4096, DEFAULT_SETTINGS.chunk_bytes):
        settings_ = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=chunk_bytes)
        with open_store(tmp_path / f"s{chunk_bytes}", settings=settings_) as store:
            store.ingest([str(export)])
            column = store.events(as_arrow=True, fields=["x"]).column("x")
            found[chunk_bytes] = set(column.to_pylist())
            (row,) = [r for r in store.schema_records() if r["field"] == "x"]
            assert (row["type"], row["mixed"]) == ("mixed(float,string)", True)
    # (the chunk where the text begins holds the integer beside text: exact there)
    assert found[4096] == {"0.5", "9223372036854775807", "9223372036854775808", "abc"}
    assert found[DEFAULT_SETTINGS.chunk_bytes] == {"0.5", "9223372036854775807", "abc"}


#: Values whose stored form is the same at every chunk cut too: all but an integer past
#: 2**53 (below, beyond int64 text) beside a fraction with no text in its chunk.
CUT_FREE = st.sampled_from(["0", "-0", "-0.0", "-1e-400", "3", "0.5", "true", '"abc"'])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(VALUES, min_size=1, max_size=8),
    cut_free=st.lists(CUT_FREE, min_size=1, max_size=40),
)
def test_a_question_on_a_file_of_such_numbers_equals_the_store_s(
    tmp_path_factory: pytest.TempPathFactory, values: list[str], cut_free: list[str]
) -> None:
    """``mfq query FILE`` equals ingest then the question on the store: read as ingest
    reads it, and in chunks of 512 bytes (a first block as small) where no value's form
    depends on the chunk it shares."""
    folder = tmp_path_factory.mktemp("numbers")
    for lines, chunked in (
        (_lines(values, ["x"] * len(values)), False),
        (_lines(cut_free, ["x"] * len(cut_free)), True),
    ):
        export = _write(folder / f"e{chunked}.ndjson", lines)
        questions: list[dict[str, object]] = [
            {"kind": "query", "group_by": ["x"]},
            {"kind": "events", "fields": "id,x"},
            {"kind": "query", "group_by": ["type"], "aggs": ["count_distinct(x)"]},
        ]
        _compare([export], questions, chunked)


def test_whole_floats_past_2_53_with_no_fraction_beside_them_stay_vectorised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Epoch nanoseconds or byte counts written as floats are read by pyarrow as the record
    path reads them: sending each such row row by row made them 11 times slower (found in
    review). Beside a fraction, the same values still go row by row (they may be integers
    a float rounded)."""
    one_by_one = record_path_rows(monkeypatch)
    lines = [
        json.dumps(
            {
                "id": f"e{i}",
                "type": "m",
                "timestamp": 1_700_000_000 + i,
                "ts_ns": float(1_700_000_000_000_000_000 + i * 1_000_001),
                "cpu": 0.13,
            }
        )
        for i in range(2000)
    ]
    export = tmp_path / "ns.ndjson"
    export.write_text("".join(line + "\n" for line in lines))
    with open_store(tmp_path / "first") as store:
        assert store.ingest([str(export)]).ingested == 2000
    assert one_by_one == []
    lines[1000] = json.dumps({**json.loads(lines[999]), "id": "x", "ts_ns": 0.5})
    export.write_text("".join(line + "\n" for line in lines))
    with open_store(tmp_path / "second") as store:
        assert store.ingest([str(export)]).ingested == 2000
    # (the block after the first, 64 KiB one: all its rows but the fraction's)
    assert len(one_by_one) > 1000


def test_an_integer_past_2_53_beside_whole_floats_goes_row_by_row_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beside whole floats past 2**53 (no fraction), a row writing its number in that
    field as an integer of 16 digits or more goes row by row, and only such a row: an
    integer field of 19 digits beside (``span_ns``) sends none, and the integer keeps its
    digits where text shares the chunk."""
    one_by_one = record_path_rows(monkeypatch)
    lines = [
        json.dumps(
            {
                "id": f"e{i}",
                "type": "m",
                "timestamp": T0,
                "ts_ns": float(1_700_000_000_000_000_000 + i * 1_000_001),
                "span_ns": 1_700_000_000_000_000_001 + i,
            }
        )
        for i in range(50)
    ]
    reference = _stored(validate_chunk(_chunk(lines), NormalizeOptions()))
    one_by_one.clear()
    assert _stored(_fast(lines, 1 << 12)) == reference
    assert one_by_one == []
    lines[7] = lines[7].replace('"ts_ns": 1.700000000007e+18', '"ts_ns": 1700000000007000001')
    lines[9] = lines[9].replace('"ts_ns": 1.700000000009e+18', '"ts_ns": "text"')
    reference = _stored(validate_chunk(_chunk(lines), NormalizeOptions()))
    one_by_one.clear()
    chunk = _fast(lines, 1 << 12)
    assert len(one_by_one) == 2  # (and the text's)
    assert chunk.table.column("ts_ns")[7].as_py() == "1700000000007000001"
    assert _stored(chunk) == reference


#: A field's values beside records the record path rejects: integers, whole numbers
#: written as floats, fractions, text.
BESIDE_REJECTS = st.sampled_from(
    ["3", "0", "-0", "2.0", "1.5", "1.7e+18", "1e20", "-0.0", "9007199254740993", "true", '"a"']
)
#: Why a record is rejected (None: it is not): no type, a negative duration.
REJECTED_FOR = st.sampled_from([None, None, "type", "duration"])


def _beside_rejects(drawn: list[tuple[str, str, str | None]]) -> list[str]:
    """One record per value, under ``x``, ``attributes.x`` or ``o.x``, rejected where said."""
    lines = []
    for i, (value, key, rejected) in enumerate(drawn):
        record = {"id": f"e{i}", "type": "t", "timestamp": T0}
        if rejected == "type":
            del record["type"]
        elif rejected == "duration":
            record["duration_ms"] = -1
        head = json.dumps(record)[:-1]
        if key == "x":
            lines.append(f'{head}, "x": {value}}}')
        else:
            outer, inner = key.split(".")
            lines.append(f'{head}, "{outer}": {{"{inner}": {value}}}}}')
    return lines


def test_a_rejected_record_never_makes_its_neighbours_integers_floats() -> None:
    """``{"x": 3}`` beside a reject holding ``"x": 1.7e+18`` (or ``1.5``) in one block:
    pyarrow reads the block's ``x`` as floats, the reject goes to the record path, and the
    vectorised path stored 3.0 where the record path stores 3 (found in review)."""
    for reject in ("1.7e+18", "1.5"):
        drawn = [("3", "x", None), (reject, "x", "type"), ("4", "x", None)]
        lines = _beside_rejects(drawn)
        # (a key written with an escape: its row's number is not looked for after it)
        lines.append(lines[0].replace('"x"', '"\\u0078"').replace("3}", "5}").replace("e0", "e9"))
        for chunk in (_fast(lines), _fast(lines, 100)):
            assert chunk.table.column("x").to_pylist() == [3, 4, 5]
            assert dict(chunk.type_counts.counts["x"]) == {"integer": 3}
            assert len(chunk.rejects) == 1


def test_a_backslash_in_a_kept_row_s_text_makes_no_second_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Windows path (``"C:\\Windows"``) in the kept rows beside a reject holding
    ``"x": 1.5``: the kept rows' whole numbers are made integers in place, as where no row
    holds a backslash; the block was parsed again (found in review: 1.4 times the CPU of
    such a file). A whole float (``2.0``) after a key written with an escape still makes
    the second parse: the kept rows are floats then, as record by record."""
    parsed_again: list[int] = []
    alone = fastpath._kept_parsed_alone

    def counted(*args: object, **kwargs: object) -> pa.Table | None:
        parsed_again.append(1)
        return alone(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fastpath, "_kept_parsed_alone", counted)
    drawn = [("3", "x", None), ("1.5", "x", "type"), ("4", "x", None)]
    lines = [line[:-1] + ', "path": "C:\\\\Windows"}' for line in _beside_rejects(drawn)]
    reference = validate_chunk(_chunk(lines), NormalizeOptions())
    chunk = _fast(lines)
    assert _stored(chunk) == _stored(reference)
    assert chunk.table.column("x").to_pylist() == [3, 4]
    assert parsed_again == []
    escaped = [*lines, lines[0].replace('"x": 3', '"\\u0078": 2.0').replace("e0", "e9")]
    chunk = _fast(escaped)
    assert _stored(chunk) == _stored(validate_chunk(_chunk(escaped), NormalizeOptions()))
    assert [(v, type(v)) for v in chunk.table.column("x").to_pylist()] == [
        (3.0, float),
        (4.0, float),
        (2.0, float),
    ]
    assert parsed_again == [1]


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=st.lists(
        st.tuples(BESIDE_REJECTS, st.sampled_from(["x", "attributes.x", "o.x"]), REJECTED_FOR),
        min_size=1,
        max_size=10,
    ),
    block_bytes=BLOCKS,
)
@example(drawn=[("3", "x", None), ("1.7e+18", "x", "type")], block_bytes=1 << 20)
@example(drawn=[("3", "o.x", None), ("1.5", "o.x", "duration")], block_bytes=1 << 20)
@example(
    drawn=[("3", "x", None), ("1.5", "x", "type"), ("-0.0", "x", "type"), ("4", "x", None)],
    block_bytes=1 << 20,
)
def test_rejected_records_leave_their_neighbours_types_as_the_record_path_gives(
    drawn: list[tuple[str, str, str | None]], block_bytes: int
) -> None:
    """Whatever rejected records hold beside accepted ones in a block, the accepted rows
    store the record path's values and types (1 and 1.0 told apart), and ``mfq schema``
    names the same type."""
    lines = _beside_rejects(drawn)
    reference = validate_chunk(_chunk(lines), NormalizeOptions())
    assert _stored(_fast(lines, block_bytes)) == _stored(reference)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=st.lists(
        st.tuples(BESIDE_REJECTS, st.sampled_from(["x", "o.x"]), REJECTED_FOR),
        min_size=1,
        max_size=8,
    )
)
@example(drawn=[("3", "x", None), ("1.7e+18", "x", "type")])
def test_a_question_on_a_file_with_rejects_beside_numbers_equals_the_store_s(
    tmp_path_factory: pytest.TempPathFactory, drawn: list[tuple[str, str, str | None]]
) -> None:
    """``mfq query FILE`` (a projected parse) equals ingest then the question."""
    export = _write(tmp_path_factory.mktemp("rejects") / "e.ndjson", _beside_rejects(drawn))
    questions: list[dict[str, object]] = [
        {"kind": "query", "group_by": ["x"]},
        {"kind": "events", "fields": "id,x,o.x"},
    ]
    _compare([export], questions, True)
