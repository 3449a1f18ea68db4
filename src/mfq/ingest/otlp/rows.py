"""Equal rows of a nested Arrow column found without turning every row into Python objects.

A block's documents repeat their resources and scopes (a collector batches the same
service's spans again and again); the converter decodes each distinct one once.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def row_codes(array: pa.Array) -> np.ndarray | None:
    """One int64 code per row, equal exactly when the rows are (null or not, every nested
    value alike; floats by their bits); None for a type it does not compare."""
    valid = np.ones(len(array), dtype=np.int64)
    if array.null_count:
        valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.int64)
    data_type = array.type
    if pa.types.is_struct(data_type):
        parts = [valid]
        for index in range(data_type.num_fields):
            child = row_codes(pc.struct_field(array, [index]))
            if child is None:
                return None
            parts.append(child)
        return _distinct_rows(np.stack(parts, axis=1))
    if pa.types.is_list(data_type):
        return _list_codes(array, valid)
    if pa.types.is_null(data_type):
        return np.zeros(len(array), dtype=np.int64)
    if pa.types.is_floating(data_type):
        bits = pc.fill_null(array.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        dense = np.unique(np.asarray(bits).view(np.int64), return_inverse=True)[1]
        return _distinct_rows(np.stack([valid, dense.reshape(-1)], axis=1))
    if (
        pa.types.is_string(data_type)
        or pa.types.is_integer(data_type)
        or pa.types.is_boolean(data_type)
        or pa.types.is_temporal(data_type)
    ):
        indices = pc.dictionary_encode(array).indices
        return np.asarray(pc.fill_null(indices, -1).to_numpy(zero_copy_only=False), np.int64)
    return None


def _list_codes(array: pa.Array, valid: np.ndarray) -> np.ndarray | None:
    if not len(array):
        return np.empty(0, dtype=np.int64)
    items = row_codes(pc.list_flatten(array))
    if items is None:
        return None
    lengths = np.diff(np.asarray(array.offsets, dtype=np.int64))
    lengths[valid == 0] = 0  # (list_flatten leaves out the items of null lists)
    ends = np.cumsum(lengths).tolist()
    values = items.tolist()
    known: dict[tuple[int, ...], int] = {}
    codes = [
        known.setdefault((ok, *values[end - length : end]), len(known))
        for ok, end, length in zip(valid.tolist(), ends, lengths.tolist(), strict=True)
    ]
    return np.array(codes, dtype=np.int64)


def _distinct_rows(matrix: np.ndarray) -> np.ndarray:
    """One code per row of small non-negative-or--1 codes, equal for equal rows."""
    combined = np.zeros(len(matrix), dtype=np.int64)
    for column in matrix.T:
        combined = combined * (int(column.max(initial=0)) + 2) + (column + 1)
        combined = np.unique(combined, return_inverse=True)[1].reshape(-1)  # kept small
    return combined.astype(np.int64)
