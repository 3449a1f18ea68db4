"""Canonical JSON written column by column (``mfq.ingest.canonicaltable``) equals the
definition (``json.dumps`` with sorted keys) on every row it says it wrote exactly."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.json as pj
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.ingest.canonical import reference_canonical
from mfq.ingest.canonicaltable import (
    MIN_GROUP,
    REPR_HIGH,
    REPR_LOW,
    canonical_texts,
    float_reprs,
)
from mfq.ingest.fastpath import read_block
from mfq.ingest.record import decode_json
from tests.conftest import SHARED_REAL, examples
from tests.ingest.test_canonical import _json_texts, _number_texts

_keys = st.one_of(
    st.sampled_from(["a", "b", "ts", "B", "é", "a.b", "", "z\u2028", "\U0001f600"]),
    st.text(max_size=4),
)
_texts = st.one_of(st.text(max_size=6), st.sampled_from(['say "hi"', "a\\b", "null", "x\ty"]))
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    _texts,
    st.integers(-(2**70), 2**70),
    st.floats(width=64),
    st.sampled_from([0.5, -0.0, 1e-7, 1e16, 123456789012.5, 1.2345e15, 5.0]),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(_keys, inner, max_size=4),
    ),
    max_leaves=10,
)
_records = st.dictionaries(_keys, _values, max_size=6)


def _raw(record: object, spaced: bool) -> bytes:
    separators = (", ", ": ") if spaced else (",", ":")
    return json.dumps(record, ensure_ascii=spaced, separators=separators).encode()


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_block(lines: list[bytes]) -> int:
    """Parse the lines as one block as the vectorised path does (texts stay texts);
    every row written exactly must be the definition. Returns how many were."""
    try:
        options = pj.ParseOptions(newlines_in_values=False)
        table = read_block(pa.py_buffer(b"\n".join(lines)), options)
    except pa.ArrowInvalid:
        return 0  # pyarrow's refusal: the record path's job
    if table.num_rows != len(lines) or _has_times(table.schema):
        return 0
    rows, texts = canonical_texts(table, *_bounds(lines), min_group=1)
    for row, text in zip(rows.tolist(), texts, strict=True):
        assert text == reference_canonical(decode_json(lines[row])), lines[row]
    assert len(set(rows.tolist())) == len(rows)
    return len(rows)


def _bounds(lines: list[bytes]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The lines back to back, as a chunk holds them, and each one's [start, end)."""
    lengths = np.array([len(line) for line in lines], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
    return b"\n".join(lines), starts, starts + lengths


def _has_times(schema: pa.Schema) -> bool:
    """Timestamps pyarrow inferred (the vectorised path parses them again as text)."""
    return any(
        pa.types.is_timestamp(t) or pa.types.is_date(t) for t in _leaf_types(pa.struct(schema))
    )


def _leaf_types(data_type: pa.DataType) -> list[pa.DataType]:
    if pa.types.is_struct(data_type):
        return [leaf for child in data_type for leaf in _leaf_types(child.type)]
    if pa.types.is_list(data_type):
        return _leaf_types(data_type.value_type)
    return [data_type]


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_records, min_size=1, max_size=6), st.booleans())
@example([{"b": 1.5, "a": {"y": [1, 2], "x": 'q"\\'}}, {"a": {}, "b": 2.25}], False)
@example([{"a": None}, {"a": 1}], False)
@example([{"a": {"b": None}}, {"a": {}}], False)
@example([{"a": [None]}, {"a": []}], True)
@example([{"a": 1, "a!": 2, "a b": {"c": 1, "c#": 2}, "": 0, "B": 1}], False)  # (keys sort as
# text, not as their JSON: "a" before "a!", though '"' comes after '!')
def test_rows_written_exactly_are_the_definition(
    records: list[dict[str, object]], spaced: bool
) -> None:
    _check_block([_raw(r, spaced) for r in records])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_json_texts(), min_size=1, max_size=4))
def test_rows_of_any_text_written_exactly_are_the_definition(texts: list[str]) -> None:
    lines = [t.encode("utf-8", "surrogatepass") for t in texts if t.startswith("{")]
    # (a lone surrogate written raw is not UTF-8: the screen rejects its record before any
    # parse, so no block holds one; pyarrow's parser would take it)
    lines = [line for line in lines if _is_utf8(line)]
    if lines and all(b"\n" not in line for line in lines):
        _check_block(lines)


@given(st.lists(_number_texts, min_size=1, max_size=5))
def test_numbers_of_every_form(numbers: list[str]) -> None:
    _check_block([f'{{"n":{number},"m":{{"k":{number}}}}}'.encode() for number in numbers])


def test_the_usual_shapes_are_all_written_here() -> None:
    lines = [
        b'{"kind":"Event","user":{"username":"bob","groups":["a","b"]},"sourceIPs":["::1"],'
        b'"responseStatus":{"metadata":{},"message":"pods x \xc3\xa9","code":403},'
        b'"auditID":"x-1"}',
        b'{"kind":"Event","user":{"username":"al"},"sourceIPs":[],"level":"Metadata"}',
        b'{"ts":1591367999.305988,"uid":"C1","id_orig_p":64842,"duration":0.0015780925750732422,'
        b'"local_orig":true,"@stream":"conn"}',
        b'{"ts":1591367999.305989,"uid":"C2","id_orig_p":1,"duration":10.706616878509521}',
    ]
    assert _check_block(lines) == len(lines)


@pytest.mark.parametrize(
    "line",
    [
        b'{"a":null}',  # a key holding null: absent to Arrow
        b'{"a":{"b":null}}',
        b'{"a":[1,null]}',
        b'{"a":5}',  # beside a float, pyarrow reads it as 5.0
        b'{"a":[{"b":1}]}',  # lists of objects
        b'{"a":[1.5]}',
        b'{"a":[[1]]}',
    ],
)
def test_what_is_left_to_the_record_path(line: bytes) -> None:
    lines = [line, b'{"a":2.5}']
    options = pj.ParseOptions(newlines_in_values=False)
    try:
        table = pj.read_json(pa.BufferReader(b"\n".join(lines)), parse_options=options)
    except pa.ArrowInvalid:
        table = pj.read_json(pa.BufferReader(line), parse_options=options)
        lines = [line]
    rows, _texts = canonical_texts(table, *_bounds(lines), min_group=1)
    assert 0 not in rows.tolist()
    _check_block(lines)


@pytest.mark.parametrize(
    "line",
    [
        b'{"a":"tab\\there","b":"say \\"hi\\"","c":"C:\\\\tmp"}',
        b'{"a":"\\u0000\\u001f\\u007f\\b\\f\\n\\r\\t\\/"}',  # \\u00xx where json writes so
        b'{"a":"\\u00e9\\u2028\\ud83d\\ude00","\\u00e9":["\\"","1"],"q\\"":{"\\\\":"\\\\"}}',
        b'{"b":"raw \xc3\xa9 and \\\\n","a":["\\n","x\\u0001"]}',
    ],
)
def test_escaped_texts_are_written_as_json_escapes_them(line: bytes) -> None:
    """Texts and keys written with escapes (quotes, backslashes, control characters, any
    ``\\u``) are written here, in ``json``'s escapes of what they decode to."""
    lines = [line, line]
    table = pj.read_json(pa.BufferReader(b"\n".join(lines)))
    rows, texts = canonical_texts(table, *_bounds(lines), min_group=1)
    assert rows.tolist() == [0, 1]
    assert texts == [reference_canonical(decode_json(line))] * 2


@pytest.mark.parametrize(
    "line", [b'{"a":1,"\\u0061":2}', b'{"a":"\\ud800"}', b'{"a":"\\udc00\\ud800"}']
)
def test_what_pyarrow_refuses(line: bytes) -> None:
    """A key twice once decoded, a lone surrogate: pyarrow refuses the record, so it never
    reaches the texts written here (the record path names the reason)."""
    with pytest.raises(pa.ArrowInvalid):
        pj.read_json(pa.BufferReader(line))


def test_every_real_record() -> None:
    """Every record of ``../shared/real`` parsed in blocks of 50: those written here equal
    the definition."""
    written = 0
    for path in sorted(SHARED_REAL.glob("*/*")):
        if path.suffix not in (".json", ".ndjson", ".log", ".jsonl"):
            continue
        lines = [
            line.rstrip(b"\r")
            for line in path.read_bytes().split(b"\n")
            if line.startswith(b"{") and line.rstrip(b"\r").endswith(b"}")
        ]
        for start in range(0, len(lines), 50):
            written += _check_block(lines[start : start + 50])
    assert written > 1000


def test_rows_grouped_by_their_keys() -> None:
    """Blocks join per key pattern: groups of MIN_GROUP rows or more are written here,
    smaller ones left to orjson."""
    shapes = [b'{"b":1,"a":"x%d"}', b'{"a":"y","c":{"d":[true]},"e":%d.5}', b'{"z":%d}']
    counts = [MIN_GROUP, MIN_GROUP + 3, MIN_GROUP - 1]
    lines = [shape % i for shape, count in zip(shapes, counts, strict=True) for i in range(count)]
    lines = lines[::2] + lines[1::2]  # the groups interleaved
    options = pj.ParseOptions(newlines_in_values=False)
    table = pj.read_json(pa.BufferReader(b"\n".join(lines)), parse_options=options)
    rows, texts = canonical_texts(table, *_bounds(lines))
    assert sorted(rows.tolist()) == [i for i, line in enumerate(lines) if b'"z"' not in line]
    for row, text in zip(rows.tolist(), texts, strict=True):
        assert text == reference_canonical(decode_json(lines[row]))


_edges = [REPR_LOW, REPR_HIGH, 1e15, 1e-5, 0.1 + 0.2, 123456789012345.67, 5e-324, 1e300]


def _near(edge: float, steps: int) -> float:
    """The double ``steps`` doubles above (below, negative) ``edge``."""
    toward = math.copysign(math.inf, steps)
    for _ in range(abs(steps)):
        edge = math.nextafter(edge, toward)
    return edge


_doubles = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.builds(_near, st.sampled_from(_edges), st.integers(-4, 4)),
    st.builds(
        lambda digits, places: digits / 10**places,
        st.integers(-(10**17), 10**17),
        st.integers(0, 20),
    ),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(_doubles, st.booleans(), st.booleans()), max_size=40))
def test_float_reprs_are_repr(values: list[tuple[float, bool, bool]]) -> None:
    """Arrow's texts where it writes them, ``repr`` elsewhere: always ``repr``."""
    doubles = np.array([v if not negate else -v for v, negate, _ in values], dtype=np.float64)
    wanted = np.array([w for _, _, w in values], dtype=bool)
    written = float_reprs(doubles, wanted).to_pylist()
    expected = [repr(v) if w else None for v, w in zip(doubles.tolist(), wanted, strict=True)]
    assert written == expected


def test_float_reprs_of_many_doubles() -> None:
    """A million doubles of every magnitude and digit count written as ``repr`` does."""
    rng = np.random.default_rng(17)
    count = 200_000
    doubles = np.concatenate(
        [
            rng.uniform(-1, 1, count) * 10.0 ** rng.integers(-6, 18, count),
            rng.integers(0, 10**12, count) / 10.0 ** rng.integers(1, 13, count),
            rng.integers(0, 2**53, count) / 2.0 ** rng.integers(1, 60, count),
            rng.integers(-(2**62), 2**62, count).view(np.float64),
            1.6e9 + rng.integers(0, 10**6, count) / 1e6,
        ]
    )
    wanted = np.isfinite(doubles)
    written = float_reprs(doubles, wanted).to_pylist()
    expected = [
        repr(v) if w else None for v, w in zip(doubles.tolist(), wanted.tolist(), strict=True)
    ]
    assert written == expected
