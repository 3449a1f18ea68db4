"""numpy arrays made Arrow arrays from their buffers (mfq.model.arrays): the same
arrays as ``pa.array`` makes, without importing ``numpy.ma``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mfq.model.arrays import to_arrow

DTYPES = [
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float32,
    np.float64,
    np.bool_,
]


def same(made: pa.Array, expected: pa.Array) -> None:
    """Equal values, nulls (NaN included, compared as NaN), type and null count."""
    made.validate(full=True)
    assert made.type == expected.type
    assert made.null_count == expected.null_count
    assert made.is_null().to_pylist() == expected.is_null().to_pylist()
    assert made.to_pylist() == expected.to_pylist() or (
        np.array_equal(
            made.to_numpy(zero_copy_only=False),
            expected.to_numpy(zero_copy_only=False),
            equal_nan=True,
        )
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data(), dtype=st.sampled_from(DTYPES))
def test_any_array_and_mask_as_pa_array_makes_it(data: st.DataObject, dtype: type) -> None:
    values = data.draw(hnp.arrays(dtype, st.integers(0, 70)))
    masked = data.draw(st.booleans())
    mask = data.draw(hnp.arrays(np.bool_, len(values))) if masked else None
    same(to_arrow(values, mask=mask), pa.array(values, mask=mask))


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (np.array([0, 5, 127]), pa.int8()),  # dictionary indices narrowed
        (np.array([1, 2, 3], dtype=np.int32), pa.int64()),
        (np.array([0, 60_000_000_000]), pa.timestamp("ns", tz="UTC")),
        (np.array([1.5, np.nan, -0.0]), pa.float64()),
        (np.array([True, False, True]), pa.bool_()),
    ],
)
def test_a_type_given_is_the_type_pa_array_gives(values: np.ndarray, kind: pa.DataType) -> None:
    mask = np.arange(len(values)) == 1
    same(to_arrow(values, kind), pa.array(values, kind))
    same(to_arrow(values, kind, mask=mask), pa.array(values, kind, mask=mask))


def test_a_value_the_type_cannot_hold_fails_as_in_pa_array() -> None:
    with pytest.raises(pa.ArrowInvalid):
        pa.array(np.array([0, 300]), pa.int8())
    with pytest.raises(pa.ArrowInvalid):
        to_arrow(np.array([0, 300]), pa.int8())


def test_a_mask_of_another_length_fails_as_in_pa_array() -> None:
    values, mask = np.arange(3), np.array([True, False])
    message = "Mask is a different length from sequence being converted"
    with pytest.raises(ValueError, match=message):
        pa.array(values, mask=mask)
    with pytest.raises(ValueError, match=message):
        to_arrow(values, mask=mask)


def test_views_strides_and_other_dtypes() -> None:
    base = np.arange(20, dtype=np.int64)
    for view in (base[::3], base[5:9], base[::-1]):
        same(to_arrow(view), pa.array(view))
    # Anything else (text, times, half floats) is pa.array's.
    for other in (
        np.array(["a", "b"]),
        np.array(["2026-11-03T10:00"], dtype="datetime64[ns]"),
        np.array([1.5, 2], dtype=np.float16),
    ):
        same(to_arrow(other), pa.array(other))


def test_the_data_is_shared_not_copied() -> None:
    values = np.arange(1000, dtype=np.int64)
    made = to_arrow(values)
    assert made.buffers()[1].address == values.ctypes.data


def test_making_arrays_imports_no_masked_arrays() -> None:
    code = (
        "import sys, numpy as np\n"
        "from mfq.model.arrays import to_arrow\n"
        "to_arrow(np.arange(5), mask=np.arange(5) > 2)\n"
        "to_arrow(np.arange(5) > 1)\n"
        "to_arrow(np.arange(5), __import__('pyarrow').int32())\n"
        "print('numpy.ma' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "False\n"


def test_a_masked_array_keeps_its_nulls_as_in_pa_array() -> None:
    from numpy import ma  # (the import-cost probes run in processes of their own)

    values = ma.array([1, 2, 3], mask=[True, False, True])
    same(to_arrow(values), pa.array(values))
    assert to_arrow(values).to_pylist() == [None, 2, None]


def test_a_mask_that_is_not_booleans_fails_as_in_pa_array() -> None:
    values = np.arange(3)
    with pytest.raises(TypeError, match="Mask must be boolean dtype"):
        pa.array(values, mask=np.array([0, 1, 0]))
    with pytest.raises(TypeError, match="Mask must be boolean dtype"):
        to_arrow(values, mask=np.array([0, 1, 0]))
