"""numpy arrays made Arrow arrays without ``pa.array``.

``pa.array(ndarray)`` asks ``numpy.ma`` whether its argument is a masked array, and that
question imports ``numpy.ma`` (some 44 million instructions, a few percent of a short
query's whole process). The engines' and ingest's arrays are plain one-dimensional numbers
and flags, so they are handed to Arrow as buffers: the same values, nulls and type as ``pa.array``
gives (the data shared, not copied, as ``pa.array`` shares it), and ``pa.array`` for
anything else.
"""

from __future__ import annotations

from builtins import type as type_of

import numpy as np
import pyarrow as pa

#: Arrow's type for each numpy dtype whose buffer is Arrow's layout as it is.
_SAME_LAYOUT = {
    np.dtype(np.int8): pa.int8(),
    np.dtype(np.int16): pa.int16(),
    np.dtype(np.int32): pa.int32(),
    np.dtype(np.int64): pa.int64(),
    np.dtype(np.uint8): pa.uint8(),
    np.dtype(np.uint16): pa.uint16(),
    np.dtype(np.uint32): pa.uint32(),
    np.dtype(np.uint64): pa.uint64(),
    np.dtype(np.float32): pa.float32(),
    np.dtype(np.float64): pa.float64(),
}


def to_arrow(
    values: np.ndarray, type: pa.DataType | None = None, mask: np.ndarray | None = None
) -> pa.Array:
    """``pa.array(values, type, mask=mask)`` for a one-dimensional numpy array: null where
    ``mask`` is true, cast (safely, as ``pa.array`` casts) to ``type`` when given."""
    plain = type_of(values) is np.ndarray and values.ndim == 1  # (a masked array is not)
    flags = mask is None or (type_of(mask) is np.ndarray and mask.dtype == np.bool_)
    if not (plain and flags) or (values.dtype != np.bool_ and values.dtype not in _SAME_LAYOUT):
        return pa.array(values, type, mask=mask)
    validity = None
    nulls = 0
    if mask is not None:  # (a boolean ndarray, checked above)
        if len(mask) != len(values):
            raise ValueError("Mask is a different length from sequence being converted")
        nulls = int(np.count_nonzero(mask))
        if nulls:
            validity = _bits(~mask)
    if values.dtype == np.bool_:
        natural = pa.bool_()
        data = _bits(values)
    else:
        natural = _SAME_LAYOUT[values.dtype]
        data = pa.py_buffer(np.ascontiguousarray(values))
    array = pa.Array.from_buffers(natural, len(values), [validity, data], null_count=nulls)
    return array if type is None or type == natural else array.cast(type)


def _bits(flags: np.ndarray) -> pa.Buffer:
    """Booleans as Arrow's bitmap (least significant bit first)."""
    return pa.py_buffer(np.packbits(flags, bitorder="little"))
