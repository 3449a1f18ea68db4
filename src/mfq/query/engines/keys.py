"""Rows numbered by their group keys (null is a value of its own, as in ``GROUP BY``),
and rows picked by a set of key tuples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.model.arrays import to_arrow
from mfq.query.engines.rows import Column


def group_index(table: pa.Table, keys: Sequence[str]) -> tuple[np.ndarray, int]:
    """A dense group number per row for the distinct tuples of ``keys``, and the number
    of groups."""
    rows = table.num_rows
    ids = np.zeros(rows, dtype=np.int64)
    count = 1 if rows else 0
    for key in keys:
        codes, values = codes_of(table.column(key))
        ids, count = _dense(ids * len(values) + codes, count * len(values))
    return ids, count


def _dense(ids: np.ndarray, bound: int) -> tuple[np.ndarray, int]:
    """``ids`` (all below ``bound``) renumbered 0, 1, ... without gaps."""
    if not len(ids):
        return ids, 0
    if bound <= 4 * len(ids):
        present = np.bincount(ids, minlength=bound) > 0
        return (np.cumsum(present) - 1)[ids], int(present.sum())
    unique, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), len(unique)


def codes_of(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each row's value as a number, and the values those numbers stand for (null among
    them when the column has nulls)."""
    if pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=np.int64), pa.nulls(1)
    if pa.types.is_dictionary(column.type):
        # Read as dictionaries: each row group has its own, made one here.
        encoded = column.unify_dictionaries().combine_chunks()
        values = pa.concat_arrays([encoded.dictionary, pa.nulls(1, encoded.dictionary.type)])
        codes = pc.fill_null(encoded.indices, len(encoded.dictionary))
        return codes.to_numpy(zero_copy_only=False).astype(np.int64), values
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


def group_keys(
    table: pa.Table, keys: Sequence[str], ids: np.ndarray, count: int
) -> dict[str, Column]:
    """Each group's key values (from its first row), by key."""
    first = np.full(count, len(ids), dtype=np.int64)
    np.minimum.at(first, ids, np.arange(len(ids), dtype=np.int64))
    return {key: table.column(key).take(to_arrow(first)) for key in keys}


@dataclass(frozen=True)
class KeySet:
    """Rows whose group keys are among ``keys`` (the groups ``--limit`` cut, the series
    ``--top`` keeps)."""

    keys: pa.Table

    def mask(self, table: pa.Table) -> np.ndarray:
        """Whether each row of ``table`` has one of the key tuples."""
        names = self.keys.column_names
        wanted = self.keys.num_rows
        rows = table.select(names)
        schema = self.keys.schema
        both = pa.concat_tables([self.keys, _plain_cast(rows, schema)])
        ids, count = group_index(both, names)
        chosen = np.zeros(count, dtype=bool)
        chosen[ids[:wanted]] = True
        return cast(np.ndarray, chosen[ids[wanted:]])


def _plain_cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in ``schema``'s types (dictionaries decoded first)."""
    columns = []
    for field in schema:
        column = table.column(field.name)
        if pa.types.is_dictionary(column.type) and not pa.types.is_dictionary(field.type):
            column = column.cast(column.type.value_type)
        columns.append(column.cast(field.type))
    return pa.table(columns, schema=schema)
