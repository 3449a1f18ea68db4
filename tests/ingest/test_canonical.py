"""Derived ids made through orjson (``mfq.ingest.canonical``) equal the definition's.

The definition is written out here as it was first shipped, so a change to either side
of the comparison shows: ``"d-"`` + BLAKE2b (12 bytes) of ``json.dumps`` with sorted keys
and no spaces, of the record as ``decode_json`` reads it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Callable

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mfq.ingest.canonical import canonical, canonical_from_text, reference_canonical
from mfq.ingest.floatrows import PLAIN_HIGH, PLAIN_LOW
from mfq.ingest.record import decode_json, derive_id, derive_id_from_text
from tests.conftest import REPO, SHARED_REAL

SUITE = REPO.parent / "shared" / "jsontestsuite" / "test_parsing"
REAL = SHARED_REAL
_DECODE_ERRORS = (ValueError, UnicodeDecodeError, RecursionError)


def defined_id(raw: bytes) -> str:
    """The derived id as first defined (never to change)."""
    record = decode_json(raw)
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "d-" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def outcome(derive: Callable[[bytes], str], raw: bytes) -> str:
    """The id, or the kind of error raised (both ways must fail alike)."""
    try:
        return derive(raw)
    except _DECODE_ERRORS as err:
        return f"error {type(err).__mro__[-3].__name__}"


def assert_same_id(raw: bytes) -> None:
    assert outcome(derive_id_from_text, raw) == outcome(defined_id, raw), raw[:200]


# -- records as text: every number form, duplicate keys, escapes, spacing -----------------

_BOUNDARY_INTS = [
    0,
    -1,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    -(2**63),
    -(2**63) - 1,
    -(2**64),
    10**30,
    10**308,
    10**309,
    10**400,
]
_number_texts = st.one_of(
    st.integers().map(str),
    st.sampled_from(_BOUNDARY_INTS).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.builds(
        "{}{}{}{}".format,
        st.sampled_from(["", "-"]),
        st.from_regex(r"\A(0|[1-9][0-9]{0,25})\Z"),
        st.one_of(st.just(""), st.from_regex(r"\A\.[0-9]{1,25}\Z")),
        st.one_of(st.just(""), st.from_regex(r"\A[eE][+-]?[0-9]{1,3}\Z")),
    ),
)
_any_text = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF))


def _string_text(value: str, draw_ascii: bool) -> str:
    """A JSON string: lone surrogates always escaped (raw they are not UTF-8)."""
    return json.dumps(value, ensure_ascii=draw_ascii)


@st.composite
def _json_texts(draw: st.DrawFn, depth: int = 0) -> str:
    space = draw(st.sampled_from(["", " ", "\t", "\r\n", "  "]))
    kinds = ["null", "true", "false", "number", "string"]
    if depth < 4:
        kinds += ["list", "object", "object"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("null", "true", "false"):
        return kind
    if kind == "number":
        return draw(_number_texts)
    if kind == "string":
        return _string_text(draw(_any_text), draw(st.booleans()))
    if kind == "list":
        items = draw(st.lists(_json_texts(depth + 1), max_size=4))
        return "[" + f",{space}".join(items) + "]"
    keys = draw(st.lists(st.one_of(_any_text, st.sampled_from(["a", "b", "ts"])), max_size=5))
    pairs = [
        f"{_string_text(key, draw(st.booleans()))}{space}:{space}{draw(_json_texts(depth + 1))}"
        for key in keys  # repeated keys: the last value wins, as in Python's dict
    ]
    return "{" + f",{space}".join(pairs) + "}"


@given(_json_texts())
def test_ids_from_text_equal_the_definition(text: str) -> None:
    assert_same_id(text.encode("utf-8", "surrogatepass"))


@given(_json_texts())
def test_canonical_text_of_a_decoded_record_is_the_definition(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    try:
        record = decode_json(raw)
    except _DECODE_ERRORS:
        return
    try:
        expected = reference_canonical(record)
    except (ValueError, RecursionError):
        with pytest.raises((ValueError, RecursionError)):
            canonical(record)
        return
    assert canonical(record) == expected
    assert derive_id(record) == defined_id(raw)


def holds_float(value: object) -> bool:
    """Whether a decoded record holds a float or an integer beyond int64 anywhere."""
    if isinstance(value, float):
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**63
    if isinstance(value, list):
        return any(holds_float(v) for v in value)
    if isinstance(value, dict):
        return any(holds_float(v) for v in value.values())
    return False


def holds_unplain_number(value: object) -> bool:
    """Whether a decoded record holds an integer beyond int64 or a float outside the range
    orjson and Python write alike (``mfq.ingest.floatrows``: zero, 1e-4 to 1e15)."""
    if isinstance(value, float):
        return not (value == 0 or PLAIN_LOW <= abs(value) < PLAIN_HIGH)
    if isinstance(value, list):
        return any(holds_unplain_number(v) for v in value)
    if isinstance(value, dict):
        return any(holds_unplain_number(v) for v in value.values())
    return holds_float(value)


@given(_json_texts())
def test_records_without_floats_need_no_look_at_numbers(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    try:
        record = decode_json(raw)
    except _DECODE_ERRORS:
        return
    if holds_unplain_number(record):
        return
    found = canonical_from_text(raw, floats=False)
    assert found is None or found == reference_canonical(record)
    assert outcome(lambda r: derive_id_from_text(r, floats=False), raw) == defined_id(raw)


_PLAIN_EDGES = [0.0, -0.0, PLAIN_LOW, PLAIN_HIGH, 1e-3, 123456789012345.67, 1591367999.305988]


@given(
    st.one_of(
        st.floats(PLAIN_LOW, PLAIN_HIGH, exclude_max=True),
        st.floats(-PLAIN_HIGH, -PLAIN_LOW, exclude_min=True),
        st.sampled_from(_PLAIN_EDGES),
        st.sampled_from(_PLAIN_EDGES).map(lambda v: math.nextafter(v, math.inf)),
        st.sampled_from(_PLAIN_EDGES).map(lambda v: math.nextafter(v, -math.inf)),
    )
)
def test_plain_floats_are_written_alike(value: float) -> None:
    """In the plain range orjson writes every float as Python does, suspect or not."""
    if value == 0 or PLAIN_LOW <= abs(value) < PLAIN_HIGH:
        assert orjson.dumps(value) == json.dumps(value).encode()
        raw = json.dumps({"v": [value, -value], "w": value}).encode()
        assert canonical_from_text(raw, floats=False) == reference_canonical(decode_json(raw))


@pytest.mark.parametrize("exponent", range(-5, 16))
def test_plain_floats_of_every_decimal_exponent(exponent: int) -> None:
    for mantissa in ("1", "9.99", "1.2345678901234567", "4.9406564584124654", "2.5"):
        value = float(f"{mantissa}e{exponent}")
        if PLAIN_LOW <= value < PLAIN_HIGH:
            assert orjson.dumps(value) == repr(value).encode()


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_float_written_unlike_python_is_caught(value: float) -> None:
    raw = json.dumps({"v": [value, -value]}).encode()
    text = canonical_from_text(raw)
    assert text is None or text == reference_canonical(decode_json(raw))
    assert_same_id(raw)


@pytest.mark.parametrize("exponent", range(-325, 310))
def test_floats_of_every_decimal_exponent(exponent: int) -> None:
    for mantissa in ("1", "9.99", "1.2345678901234567", "4.9406564584124654", "2.5"):
        raw = f'{{"a":{mantissa}e{exponent},"b":-{mantissa}e{exponent}}}'.encode()
        value = float(f"{mantissa}e{exponent}")
        if math.isinf(value):
            with pytest.raises(ValueError):
                derive_id_from_text(raw)
            continue
        assert_same_id(raw)


@pytest.mark.parametrize(
    "number",
    [*map(str, _BOUNDARY_INTS), "1" + "0" * 4299, "1" + "0" * 4300],  # Python reads 4300 digits
    ids=lambda number: f"{len(number)} digits {number[:20]}",
)
def test_integers_at_every_boundary(number: str) -> None:
    for sign in ("", "-"):
        assert_same_id(f'{{"n":{sign}{number},"m":[{sign}{number}]}}'.encode())


@pytest.mark.parametrize("levels", [1, 200, 254, 255, 256, 300, 900, 1100, 5000])
def test_deep_nesting(levels: int) -> None:
    assert_same_id(b'{"a":' + b"[" * levels + b"1" + b"]" * levels + b"}")
    assert_same_id(b'{"a":' + b'{"b":' * levels + b"1" + b"}" * levels + b"}")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2}',
        b'{"b":1,"a":{"d":[1,{"z":0,"y":1}],"c":null}}',
        b'{"\\ud800":1,"\\udfff\\ud800":"\\udc00"}',  # lone surrogates: the definition's
        b'{"k":"\\u0000\\u001f\\u007f\\u2028\\u2029\\"\\\\\\/"}',
        '{"\U0001f600":1,"\uffff":2,"\ue000":3,"B":4,"é":5}'.encode(),
        b'{"e":"x:1e-7,", "f":"name+value", "g":"0.0000"}',  # look suspect, are text
        b'{"a":-0,"b":-0.0,"c":0.0,"d":1E2,"e":1e-0}',
        b"\xef\xbb\xbf{}",  # a BOM: refused alike
        b'{"a":"\xff"}',  # not UTF-8
        b'{"a":NaN}',
        b'{"a":1,}',
    ],
)
def test_hostile_records(raw: bytes) -> None:
    assert_same_id(raw)


def test_the_json_test_suite() -> None:
    files = sorted(SUITE.iterdir())
    assert len(files) == 318
    for path in files:
        raw = path.read_bytes()
        assert_same_id(raw)
        for line in raw.splitlines():
            assert_same_id(line)


def _real_lines() -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted(REAL.rglob("*")):
        if path.suffix not in {".json", ".jsonl", ".log", ".ndjson", ".gz"}:
            continue
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines += [line for line in data.splitlines() if line.strip()]
    return lines


def test_real_exports_keep_their_ids() -> None:
    lines = _real_lines()
    assert len(lines) > 5000
    for line in lines:
        assert_same_id(line)
