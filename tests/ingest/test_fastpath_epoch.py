"""Epoch times with a fraction (Zeek's ``ts``) on the vectorised path: read again from the
record's text (``mfq.ingest.epochtext``), stored exactly as the record path stores them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.ingest import profiles
from mfq.ingest.epochtext import epoch_ns_from_texts, key_finder, plain_epoch_ns
from mfq.ingest.fastpath import FastPathState, validate_chunk_fast
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.record import derive_id, exact_float
from mfq.model.values import epoch_to_ns
from tests.ingest.test_fastpath_mapped import _both, _compare, _real_chunks
from tests.ingest.test_fastpath_parity import _chunk
from tests.realdata import real_export

(ZEEK,) = [p for p in profiles.builtin_profiles() if p.name == "zeek"]

_fraction_digits = st.from_regex(r"\A[0-9]{1,20}\Z")
_epoch_texts = st.one_of(
    st.builds("{}.{}".format, st.integers(1_500_000_000, 1_700_000_000), _fraction_digits),
    st.builds("{}.{}".format, st.integers(-(10**12), 10**18), _fraction_digits),
    st.builds(
        "{}.{}e{}".format, st.integers(0, 9), _fraction_digits, st.integers(-3, 20)
    ),  # 1.5913679993059880e9
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.sampled_from(["99999999999.5", "99999999999999.5", "1e11", "9.2233720368547758e18", "-0.0"]),
)
_others = st.dictionaries(
    st.sampled_from(["uid", "x", "ts", "note", "duration"]),
    st.one_of(st.text(max_size=3), st.integers(0, 9), st.floats(0, 5)),
    max_size=3,
)


@st.composite
def zeek_lines(draw: st.DrawFn) -> str:
    """A Zeek-shaped record written by hand: the ``ts`` text as drawn, sometimes twice,
    nested, beside a backslash, or spaced around its colon."""
    ts = draw(_epoch_texts)
    colon = draw(st.sampled_from([":", " : ", ":\t"]))
    parts = [f'"_path":"conn","ts"{colon}{ts}']
    extra = draw(_others)
    extra.pop("ts", None)
    parts += [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in extra.items()]
    twists = ["", "", "nested", "twice", "backslash", "key text", "quoted key", "escaped keys"]
    twist = draw(st.sampled_from(twists))
    if twist == "escaped keys":  # the key spelt with escapes, the same text nested plain
        parts[0] = f'"_path":"conn","t\\u0073"{colon}{ts}'
        parts.append(f'"inner":{{"ts":{draw(_epoch_texts)}}}')
        parts.append(draw(st.sampled_from(['"a\\"ts":1.5', '"p":"a\\/b"', '"q":"\\\\"'])))
    elif twist == "nested":
        parts.append(f'"inner":{{"ts":{draw(_epoch_texts)}}}')
    elif twist == "twice":
        parts.append(f'"ts":{draw(_epoch_texts)}')
    elif twist == "backslash":
        parts.append('"path":"C:\\\\tmp"')
    elif twist == "key text":
        parts.append('"msg":"ts"')
    elif twist == "quoted key":
        parts.append('"msg":"x\\"ts\\":1.25"')
    return "{" + ",".join(draw(st.permutations(parts))) + "}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(zeek_lines(), min_size=1, max_size=12), profile=st.booleans())
@example(lines=['{"_path":"conn","ts":1591367999.3059885}'], profile=True)
@example(lines=['{"_path":"conn","ts":1591367999.305988}', '{"_path":"x","ts":7}'], profile=True)
@example(
    lines=[
        '{"_path":"conn","t\\u0073":1591367999.305988001,"inner":{"ts":1591367999.305988}}',
        '{"_path":"files","ts":1588205521.662286,"filename":"dmevals.local\\\\gpt.ini"}',
        '{"_path":"files","ts":1588205521.5,"a\\"ts":2.5,"b":"\\\\"}',
    ],
    profile=True,
)
def test_fractional_epochs_agree_on_both_paths(lines: list[str], profile: bool) -> None:
    # Without the profile, ``ts`` is a default alias of the time and ``_path`` no type:
    # a type is added so the records are events there too.
    if not profile:
        lines = ['{"type":"t",' + line[1:] for line in lines]
    _both(lines, NormalizeOptions(profile=ZEEK if profile else None))


def test_a_zeek_time_is_its_decimal_text_on_the_vectorised_path() -> None:
    lines = [
        '{"_path":"conn","ts":1591367999.305988,"uid":"C1"}',
        '{"_path":"conn","ts":1588205198.89971,"uid":"C2"}',
        '{"_path":"conn","ts" : 1591367999.3059885,"uid":"C3"}',  # past the double's grain
        '{"_path":"conn","ts":1591367999,"uid":"C4"}',
        # (Zeek's files.log: a Windows path beside the time, its quotes never escaped.)
        '{"_path":"files","ts":1588205521.662286,"filename":"dmevals.local\\\\gpt.ini"}',
    ]
    assert _both(lines, NormalizeOptions(profile=ZEEK)) == []  # none went row by row
    (chunk,) = _chunk(lines)
    table = validate_chunk_fast(chunk, NormalizeOptions(profile=ZEEK), FastPathState()).table
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == [
        1591367999305988000,
        1588205198899710000,
        1591367999305988500,
        1591367999000000000,
        1588205521662286000,
    ]
    assert table.column("id").to_pylist()[0] == derive_id(json.loads(lines[0]))


def test_uncertain_texts_go_row_by_row() -> None:
    lines = [
        '{"_path":"conn","ts":1591367999.305988,"note":"caf\\u00e9"}',  # a key could be so
        '{"_path":"conn","ts":1591367999.305988,"inner":{"ts":1.5}}',  # the key twice
        '{"_path":"conn","ts":1591367999.305988,"uid":"C1"}',
    ]
    assert _both(lines, NormalizeOptions(profile=ZEEK)) == [2]


def test_zeek_connections_go_through_the_vectorised_path() -> None:
    (conn,) = [p for p in real_export("zeek-rocknsm") if p.name == "conn.log"]
    chunks, options = _real_chunks(conn)
    assert options.mapping is not None
    assert options.mapping.name == "zeek"
    assert _compare(chunks, options) == 0


_plain_texts = st.builds(
    "{}{}.{}".format,
    st.sampled_from(["", "-"]),
    st.one_of(st.integers(0, 10**17), st.sampled_from([0, 99_999_999_999, 10**11, 10**14])),
    st.from_regex(r"\A[0-9]{1,18}\Z"),
)


@given(_plain_texts)
@example("1591367999.305988")
@example("1591367999.5000000005")
@example("99999999999.9999995")
@example("-0.0000000005")
@example("0.0000000015")
@example("99999999999999.0000005")
@example("9223372036.854775808")
def test_plain_decimals_convert_as_the_record_path_does(text: str) -> None:
    """The integer conversion of plain decimals equals ``epoch_to_ns`` of the exact float,
    refusals included (within 18 digits; past them the record path's own runs)."""
    finder = key_finder("ts")
    assert finder is not None
    raw = f'{{"_path":"conn","ts":{text}}}'.encode()
    try:
        expected: int | None = epoch_to_ns(exact_float(text))
    except ValueError:
        expected = None
    assert epoch_ns_from_texts([raw], finder, [float(text)]) == [expected]


def _lines_bounds(lines: list[bytes]) -> tuple[bytes, np.ndarray, np.ndarray]:
    data = b"\n".join(lines)
    lengths = np.array([len(line) for line in lines], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    return data, starts, starts + lengths


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(zeek_lines() | _plain_texts.map('{{"ts":{}}}'.format), min_size=1, max_size=8))
@example(['{"ts":1591367999.305988,"a":1}', '{"ts": 2.5}', '{"ts":-0.0}', '{"ts":1.5e3}'])
@example(['{"x":"ts","ts":1.5}', '{"ts":99999999999.99999,"y":{"ts":1}}', '{"ts":0.5,"z":"\\\\"}'])
def test_a_block_at_once_converts_as_record_by_record(lines: list[str]) -> None:
    """``plain_epoch_ns`` (a block's plain decimals with numpy) gives what the one-by-one
    conversion gives, on every row it converts."""
    finder = key_finder("ts")
    assert finder is not None
    raws = [line.encode() for line in lines]
    values = []
    for raw in raws:
        value = json.loads(raw).get("ts")
        values.append(float(value) if isinstance(value, int | float) else 1.0)
    ns, done = plain_epoch_ns(*_lines_bounds(raws), finder, np.array(values))
    one_by_one = epoch_ns_from_texts(raws, finder, values)
    for raw, converted, exact, expected in zip(raws, ns, done, one_by_one, strict=True):
        if exact:
            assert int(converted) == expected, raw


def test_the_usual_rows_are_converted_at_once() -> None:
    finder = key_finder("ts")
    assert finder is not None
    raws = [b'{"_path":"conn","ts":1591367999.305988,"uid":"C1"}', b'{"ts":-12.25}', b'{"ts": 2.5}']
    ns, done = plain_epoch_ns(
        *_lines_bounds(raws), finder, np.array([1591367999.305988, -12.25, 2.5])
    )
    assert done.tolist() == [True, True, False]  # (spaces after the colon: one by one)
    assert ns[:2].tolist() == [1_591_367_999_305_988_000, -12_250_000_000]


@settings(max_examples=300, deadline=None)
@given(
    whole=st.integers(1, 10**9),
    fraction=st.from_regex(r"\A[0-9]{1,8}\Z"),
    sign=st.sampled_from(["", "-"]),
    after=st.sampled_from([",", "}", ' ,"x":1}']),
)
def test_plain_seconds_are_all_converted_at_once(
    whole: int, fraction: str, sign: str, after: str
) -> None:
    """Epoch seconds written as plain decimals (away from the units' edges) are each
    converted by ``plain_epoch_ns`` (none left to the one-by-one conversion), to what
    that conversion gives."""
    finder = key_finder("ts")
    assert finder is not None
    text = f"{sign}{whole}.{fraction}"
    raws = [f'{{"_path":"conn","ts":{text}{after}'.encode(), f'{{"ts":{text}}}'.encode()]
    values = [float(text)] * 2
    ns, done = plain_epoch_ns(*_lines_bounds(raws), finder, np.array(values))
    assert done.tolist() == [True, True]
    assert ns.tolist() == epoch_ns_from_texts(raws, finder, values)
