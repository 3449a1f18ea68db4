"""``rows_with_floats`` never misses a row holding an integer beyond int64 or a float
outside the range orjson writes as Python does: the derived id of a row it calls
float-free skips the look for orjson's float forms."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.json as pj
from hypothesis import given
from hypothesis import strategies as st

from mfq.ingest.floatrows import rows_with_floats
from mfq.ingest.record import decode_json
from tests.ingest.test_canonical import holds_unplain_number

_numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 1e-7, 9.99e-5, 1e15, 2**63, 2**64, -(2**63) - 1, 1e-4]),
)
_leaves = st.one_of(st.none(), st.booleans(), st.text(max_size=3), _numbers)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    ),
    max_leaves=8,
)
_records = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _values, max_size=4)


def _tables(lines: list[bytes]) -> list[tuple[list[bytes], pa.Table]]:
    """The lines parsed as one block, or each alone where pyarrow refuses the block."""
    try:
        return [(lines, pj.read_json(pa.BufferReader(b"\n".join(lines))))]
    except pa.ArrowInvalid:
        pass
    parsed = []
    for line in lines:
        try:
            parsed.append(([line], pj.read_json(pa.BufferReader(line))))
        except pa.ArrowInvalid:
            continue  # pyarrow's refusal: such a row goes to the record path
    return parsed


@given(st.lists(_records, min_size=1, max_size=5), st.integers(0, 3))
def test_no_row_with_a_float_is_missed(records: list[dict[str, object]], skip: int) -> None:
    lines = [json.dumps(r).encode() for r in records]
    for block, whole in _tables(lines):
        table = whole.slice(min(skip, whole.num_rows - 1))  # sliced arrays alike
        found = rows_with_floats(table)
        assert len(found) == table.num_rows
        kept = block[len(block) - table.num_rows :]
        for line, flagged in zip(kept, found.tolist(), strict=True):
            if holds_unplain_number(decode_json(line)):
                assert flagged, line


def test_exact_rows() -> None:
    lines = [
        b'{"a":{"b":[1,2]},"c":[["x"]]}',
        b'{"a":{"b":[]},"c":null}',
        b'{"a":null,"c":[["y"]],"d":[{"e":2.5e-7}]}',
        b'{"a":{"b":[1]},"d":[{"e":2}],"f":1}',
        b'{"f":2,"g":"x","h":true,"i":[null]}',
    ]
    table = pj.read_json(pa.BufferReader(b"\n".join(lines)))
    # An integer beside a float is read as a float: plain, the fourth row is not flagged
    # (orjson reads its 2 itself, as an integer).
    assert rows_with_floats(table).tolist() == [False, False, True, False, False]
    assert rows_with_floats(table.slice(1, 3)).tolist() == [False, True, False]
    assert not rows_with_floats(pa.table({"n": pa.array([1, None], pa.int64())})).any()
    assert np.array_equal(rows_with_floats(pa.table({"x": [None, 1.5]})), [False, False])
    plain_and_not = pa.table({"x": [1591367999.305988, 0.0, -0.0, 9.99e-5, 1e15, 2.0**63, -1e-7]})
    assert rows_with_floats(plain_and_not).tolist() == [False] * 3 + [True] * 4
