"""Per-row columns of a scanned table: dictionaries decoded, weights, filter masks (shared
between the queries that read one table)."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from mfq.model.arrays import to_arrow
from mfq.query.compile import compile_filter
from mfq.query.expr import And, Expr, Or, referenced_fields

#: A column of a table, whole or in chunks.
Column: TypeAlias = pa.Array | pa.ChunkedArray


def plain(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns decoded."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            decoded = table.column(index).cast(field.type.value_type)
            table = table.set_column(index, field.name, decoded)
    return table


def weights(table: pa.Table, weighted: bool) -> Column:
    """How many events each stored event stands for (``sample_rate``, else 1)."""
    if weighted and "sample_rate" in table.column_names:
        return pc.fill_null(table.column("sample_rate"), 1)
    return to_arrow(np.ones(table.num_rows, dtype=np.int64))


def evaluate_mask(table: pa.Table, expr: Expr) -> pa.Array:
    """Where ``expr`` is true (null is not)."""
    # Group keys may be read as dictionaries; pyarrow's text matching has no kernels for those.
    # The fields read, found once (per column before: a few thousand walks of the same
    # expression on a wide table).
    read = referenced_fields(expr)
    used = plain(table.select([n for n in table.column_names if n in read]))
    compiled = compile_filter(expr, used.schema)
    if used.num_columns == 0:
        used = pa.table({"__rows": pa.nulls(table.num_rows, pa.int8())})
    column = ds.dataset(used).to_table(columns={"m": compiled})["m"]
    return pc.fill_null(column, False)


class SharedMasks:
    """Filter results of ``count(EXPR)``-like aggregates over one shared table, each
    evaluated once however many queries use it. ``and``/``or`` are split into their items
    (exact on null-filled masks: null and false are both "not true" there), so
    ``count(S and bin)`` for many bins evaluates ``S`` once."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        # Keyed by the node itself (frozen, so hashable; equal nodes, spans included, share
        # a mask): its JSON would build the node's serializer for nothing.
        self._masks: dict[Expr, pa.Array] = {}

    def mask(self, expr: Expr) -> pa.Array:
        """Where ``expr`` is true on the shared table."""
        if expr not in self._masks:
            if isinstance(expr, And | Or):
                parts = [self.mask(item) for item in expr.items]
                combine = pc.and_ if isinstance(expr, And) else pc.or_
                result = parts[0]
                for part in parts[1:]:
                    result = combine(result, part)
                self._masks[expr] = result
            else:
                self._masks[expr] = evaluate_mask(self._table, expr)
        return self._masks[expr]


def mask_of(table: pa.Table, expr: Expr, masks: SharedMasks | None) -> pa.Array:
    """Where ``expr`` is true, from ``masks`` when they are shared."""
    return masks.mask(expr) if masks is not None else evaluate_mask(table, expr)
