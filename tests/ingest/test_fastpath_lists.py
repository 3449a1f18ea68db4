"""Lists Arrow cannot write as ``json`` does (objects, floats, nulls, empty lists), read
again from the record's text (``mfq.ingest.rawlists``): stored exactly as the record path
stores them, on generated records and the real exports."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.json as pj
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.ingest import profiles
from mfq.ingest.fastpath import FastPathState, read_block, validate_chunk_fast
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.rawlists import list_texts
from tests.ingest.test_fastpath_mapped import _both, _compare, _real_chunks
from tests.ingest.test_fastpath_parity import _chunk
from tests.realdata import real_export

(ZEEK,) = [p for p in profiles.builtin_profiles() if p.name == "zeek"]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e-7, 0.00001, 1e16, 3600.0]),
    st.text(max_size=4),
)
_elements = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["z", "a", "m", "é", "type"]), inner, max_size=3),
    ),
    max_leaves=6,
)


@st.composite
def _object_text(draw: st.DrawFn) -> str:
    """An object written by hand: keys out of order, sometimes repeated."""
    keys = draw(st.lists(st.sampled_from(["z", "a", "m"]), max_size=4))
    return "{" + ",".join(f'"{k}":{json.dumps(draw(_elements))}' for k in keys) + "}"


_list_texts = st.one_of(
    st.lists(_elements, max_size=3).map(json.dumps),
    st.lists(_object_text(), max_size=3).map(lambda items: "[" + ",".join(items) + "]"),
)


@st.composite
def _lines(draw: st.DrawFn) -> str:
    parts = ['"type":"t"', '"timestamp":"2026-11-03T10:00:00Z"']
    for key in draw(st.lists(st.sampled_from(["commits", "tags", "n.deep"]), max_size=3)):
        value = draw(_list_texts | st.just("null"))
        if key == "n.deep":
            parts.append(f'"n":{{"deep":{value}}}')
        else:
            parts.append(f'"{key}":{value}')
    if draw(st.booleans()):
        parts.append(f'"attributes":{{"inner":{draw(_list_texts)}}}')
    return "{" + ",".join(parts) + "}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_lines(), min_size=1, max_size=10), block_bytes=st.sampled_from([200, 1 << 20])
)
@example(lines=['{"type":"t","timestamp":"2026-11-03T10:00:00Z","tags":[]}'], block_bytes=1 << 20)
def test_lists_of_any_kind_agree_on_both_paths(lines: list[str], block_bytes: int) -> None:
    _both(lines, NormalizeOptions(), block_bytes)


def test_lists_of_objects_are_stored_with_their_keys_in_order() -> None:
    lines = [
        '{"type":"t","timestamp":"2026-11-03T10:00:00Z","c":[{"z":1,"a":[]},{"q":null,"b":2}]}',
        '{"type":"t","timestamp":"2026-11-03T10:00:00Z","c":[],"e":[null,1.5,2]}',
        '{"type":"t","timestamp":"2026-11-03T10:00:00Z","c":[{"f":1e-7}],"s":["\\u00e9\\n",null]}',
    ]
    assert _both(lines, NormalizeOptions()) == [1]  # 1e-7: orjson writes it otherwise
    (chunk,) = _chunk(lines)
    table = validate_chunk_fast(chunk, NormalizeOptions(), FastPathState()).table
    assert table.column("c").to_pylist() == [
        '[{"z":1,"a":[]},{"q":null,"b":2}]',
        "[]",
        '[{"f":1e-07}]',
    ]
    assert table.column("e").to_pylist() == [None, "[null,1.5,2]", None]
    assert table.column("s").to_pylist() == [None, None, '["é\\n",null]']


def test_list_texts_leave_what_they_cannot_say() -> None:
    raws = [b'{"a":{"b":[1]}}', b'{"a":{"b":2}}', b'{"a":[1]}', b'{"a":{"b":[1e-7]}}', b"{"]
    assert list_texts(raws, ["a", "b"]) == ["[1]", None, None, None, None]


def test_a_collectors_other_type_aliases_are_taken() -> None:
    """A collector message (``type: event`` beside ``attributes``) takes its type from
    another alias where it has one, on both paths (a list there is refused on both)."""
    head = '{"type":"event","timestamp":"2026-11-03T10:00:00Z","attributes":{},"event_name":'
    assert _both([head + '"login"}', head + "[1]}", head + "[]}"], NormalizeOptions()) == [2]


def test_zeek_lists_go_through_the_vectorised_path() -> None:
    """Empty lists and lists of floats (``TTLs``) of Zeek's DNS and HTTP logs; Zeek's
    ``service`` lists (not mfq's service there) are covered by ``ALL_VECTORISED``."""
    for path in real_export("zeek-rocknsm"):
        if path.name in {"dns.log", "http.log"}:
            chunks, options = _real_chunks(path)
            assert options.mapping is ZEEK
            assert _compare(chunks, options) == 0, path.name


def test_text_that_looks_like_a_number_form_is_no_suspect() -> None:
    """An ARN holding ``e-9`` or a token holding ``e+``, in a list with no float, is
    written here (CloudTrail through Logstash: ``resources``); beside a float it is not."""
    raws = [
        b'{"r":[{"ARN":"arn:aws:iam::1:role/Role-9S3E0UAE1MM0","t":"x/e+1"}]}',
        b'{"r":[{"ARN":"Role-9S3E0","n":1.5}]}',
        b'{"r":[{"n":1e-7}]}',
    ]
    assert list_texts(raws, ["r"]) == [
        '[{"ARN":"arn:aws:iam::1:role/Role-9S3E0UAE1MM0","t":"x/e+1"}]',
        None,
        None,
    ]


# -- lists whose first elements are null (pyarrow's reader, apache/arrow#51305) ---------------

_PLAIN = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
_NESTED = st.recursive(
    _PLAIN,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)
    ),
    max_leaves=6,
)


def _present(value: object) -> object:
    """A decoded value as Arrow gives it back, keys holding null dropped (Arrow has every
    key of a struct in every row, null where a record has none)."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value


def _read(lines: list[str]) -> pa.Table | None:
    """The lines parsed as one block as the vectorised path parses them (None: refused)."""
    options = pj.ParseOptions(newlines_in_values=False)
    try:
        return read_block(pa.py_buffer("\n".join(lines).encode()), options)
    except pa.ArrowInvalid:
        return None  # mixed types in a list: the record path's


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(["l", "o"]), _NESTED, max_size=2), min_size=1))
@example([{"l": [None, "a"]}, {"l": ["b", "c"]}])
@example([{"x": 1}, {"x": 1}, {"o": {"k": [None, ""]}}])
@example([{"l": []}, {"l": [None, None]}])
@example([{"l": [[None, 1]]}, {"l": [None, {"a": [None, True]}]}])
def test_blocks_are_read_sound_and_whole(records: list[dict[str, object]]) -> None:
    """Every array of a parsed block is sound and holds every element: pyarrow's reader
    drops the nulls leading a list whose type a later element gives, and kernels then read
    past the list's values (a segfault in ``pc.if_else`` during a test run)."""
    table = _read([json.dumps(r) for r in records])
    if table is None:
        return
    table.validate(full=True)
    assert [_present(row) for row in table.to_pylist()] == [_present(r) for r in records]


def test_lists_starting_with_null_stay_on_the_vectorised_path() -> None:
    head = '{"type":"t","timestamp":"2026-11-03T10:00:00Z",'
    lines = [head + '"l":[null,"a"],"n":{"m":[null,null,1]}}', head + '"l":["b","c"]}']
    lines += [head + '"v":[null,null]}', head + '"w":[[null,true]]}']
    assert _both(lines, NormalizeOptions()) == []
    (chunk,) = _chunk(lines)
    table = validate_chunk_fast(chunk, NormalizeOptions(), FastPathState()).table
    table.validate(full=True)
    assert table.column("l").to_pylist() == ['[null,"a"]', '["b","c"]', None, None]
    assert table.column("n.m").to_pylist() == ["[null,null,1]", None, None, None]
    assert table.column("v").to_pylist() == [None, None, "[null,null]", None]
    assert table.column("w").to_pylist() == [None, None, None, "[[null,true]]"]
