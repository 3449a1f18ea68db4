"""Equal rows of nested Arrow columns (the OTLP converter decodes each distinct resource once)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from mfq.ingest.otlp.rows import row_codes

_ITEMS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"k": st.sampled_from(["a", "b"]), "v": st.sampled_from([None, 0.0, -0.0, 1.5])}
    ),
)
_ROWS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "n": st.one_of(st.none(), st.integers(-2, 2)),
            "flag": st.one_of(st.none(), st.booleans()),
            "items": st.one_of(st.none(), st.lists(_ITEMS, max_size=3)),
        }
    ),
)


@given(st.lists(_ROWS, max_size=12), st.integers(0, 3))
def test_rows_share_a_code_exactly_when_they_are_equal(rows: list[object], start: int) -> None:
    array = pa.array(rows).slice(min(start, len(rows)))  # sliced: offsets into the buffers
    codes = row_codes(array)
    assert codes is not None
    shown = [repr(row) for row in array.to_pylist()]  # (repr tells -0.0 from 0.0)
    for i in range(len(shown)):
        for j in range(len(shown)):
            assert (codes[i] == codes[j]) == (shown[i] == shown[j])


def test_a_type_it_does_not_compare_is_left_to_the_caller() -> None:
    assert (
        row_codes(pa.array([{"m": [(1, 2)]}], pa.struct([("m", pa.map_(pa.int8(), pa.int8()))])))
        is None
    )
