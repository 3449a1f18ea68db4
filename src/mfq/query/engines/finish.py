"""Finishing one row per group, for every engine: computed columns, ``--having``,
``--order-by``, ``--limit`` with the OTHER and TOTAL rows of the groups it cuts, hidden
columns dropped. All in Arrow."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from mfq.errors import UsageError
from mfq.query.compile import compile_filter
from mfq.query.engines.computed import (
    HIDDEN,
    add_computed,
    first_column,
    hidden_name,
    output_columns,
    over_columns,
)
from mfq.query.expr import Aggregate, Expr, to_text
from mfq.query.expr.ast import walk
from mfq.query.spec import QuerySpec

if TYPE_CHECKING:
    import pandas as pd

OTHER, TOTAL = "OTHER", "TOTAL"

#: Given the key tuples of the groups ``--limit`` cut, the OTHER and TOTAL rows (one
#: row each, one column per aggregate of the plan, hidden ones included).
SummaryRows = Callable[[pa.Table], tuple[pa.Table, pa.Table]]


def finish_groups(
    result: pa.Table, spec: QuerySpec, keys: list[str], other_and_total: SummaryRows
) -> pa.Table:
    """``--having``, ``--order-by`` and ``--limit`` on one row per group; when the limit
    cuts groups (and ``spec.totals``), OTHER and TOTAL rows are appended."""
    result = nan_as_null(add_computed(result, spec))
    if spec.having is not None:
        result = result.filter(having_mask(result, spec.having, spec))
    result = order_table(result, spec, keys)
    if spec.limit is not None and keys and result.num_rows > spec.limit:
        kept, rest = result.slice(0, spec.limit), result.slice(spec.limit)
        result = kept
        if spec.totals:
            other, total = other_and_total(rest.select(keys))
            kept = _widened(kept, (other, total))
            rows = [
                _labelled(row, kept, keys, label) for row, label in ((other, OTHER), (total, TOTAL))
            ]
            result = pa.concat_tables([_keys_as_text(kept, keys), *rows])
            result = nan_as_null(add_computed(result, spec))  # OTHER and TOTAL from their sums
    elif spec.limit is not None:
        result = result.slice(0, spec.limit)
    return select_output(result, spec, keys)


def select_output(result: pa.Table, spec: QuerySpec, lead: list[str]) -> pa.Table:
    """The asked-for columns: ``lead`` (time, keys), then every ``--agg`` as given."""
    if spec.computed or any(name.startswith(HIDDEN) for name in result.column_names):
        return result.select(output_columns(spec, lead))
    return result


def _keys_as_text(table: pa.Table, keys: list[str]) -> pa.Table:
    """The first key as text, to hold the OTHER and TOTAL labels beside its values."""
    key = keys[0]
    column = table.column(key)
    if pa.types.is_string(column.type):
        return table
    if pa.types.is_boolean(column.type):  # as Python writes them
        text = pc.if_else(column, "True", "False")
    else:
        text = pc.cast(column, pa.string())
    return table.set_column(table.schema.get_field_index(key), key, text)


def _widened(kept: pa.Table, rows: tuple[pa.Table, ...]) -> pa.Table:
    """``kept`` with its integer columns as floats where a summary row's are floats (a sum
    past int64's range is answered as floats: see ``algebra._sum``)."""
    for index, field in enumerate(kept.schema):
        if not pa.types.is_integer(field.type):
            continue
        if any(
            field.name in row.column_names
            and pa.types.is_floating(row.schema.field(field.name).type)
            for row in rows
        ):
            column = pc.cast(kept.column(index), pa.float64(), safe=False)
            kept = kept.set_column(index, field.name, column)
    return kept


def _labelled(row: pa.Table, kept: pa.Table, keys: list[str], label: str) -> pa.Table:
    """A summary row in the result's shape: ``label`` in the first key, nulls in the rest."""
    schema = _keys_as_text(kept, keys).schema
    columns = {}
    for field in schema:
        if field.name == keys[0]:
            columns[field.name] = pa.array([label] * row.num_rows, pa.string())
        elif field.name in keys:
            columns[field.name] = pa.nulls(row.num_rows, field.type)
        elif field.name in row.column_names:
            exact = not pa.types.is_floating(field.type)  # (an integer past 2^53 rounds)
            columns[field.name] = pc.cast(row.column(field.name), field.type, safe=exact)
        else:
            columns[field.name] = pa.nulls(row.num_rows, field.type)  # computed: recomputed
    return pa.table(columns, schema=schema)


def having_mask(table: pa.Table, condition: Expr, spec: QuerySpec | None = None) -> pa.Array:
    """Where a ``--having`` condition over a result's rows is true (null is not). Each
    aggregate is read from the column ``spec`` names for it, else its hidden column, else
    the column named by its text."""
    columns: dict[str, str] = {}
    named = {to_text(n.aggregate): n.name for n in spec.aggregates} if spec is not None else {}
    for node in walk(condition):
        if isinstance(node, Aggregate):
            text = to_text(node)
            if hidden_name(node) in table.column_names:
                columns[text] = hidden_name(node)
            elif text in named:
                columns[text] = named[text]
            elif text in table.column_names:
                columns[text] = text
    plain = over_columns(condition, columns)
    source = table if table.num_columns else pa.table({"__rows": pa.nulls(table.num_rows)})
    try:
        compiled = compile_filter(plain, source.schema)  # type: ignore[arg-type]
        column = ds.dataset(source).to_table(columns={"m": compiled}).column("m")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"--having: cannot evaluate {to_text(condition)!r}: {reason}") from err
    return pc.fill_null(column, False).combine_chunks()


def condition_holds(condition: Expr, row: pd.DataFrame) -> bool:
    """Whether a condition over aggregates holds on the first row of a result whose
    columns are named by the aggregates' text (``mfq check``)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(row.head(1), preserve_index=False)
    return bool(having_mask(nan_as_null(table), condition)[0].as_py())


def order_table(result: pa.Table, spec: QuerySpec, keys: list[str]) -> pa.Table:
    """``--order-by`` (group keys break ties, so the order is stable), default: by the
    first aggregate, largest first; missing values last either way."""
    if spec.order_by:
        missing = [o.column for o in spec.order_by if o.column not in result.column_names]
        if missing:
            raise UsageError(f"--order-by: no result column {missing[0]!r}")
        by = [
            (o.column, "descending" if o.descending else "ascending", "at_end")
            for o in spec.order_by
        ]
        named = {o.column for o in spec.order_by}
        by += [(k, "ascending", "at_end") for k in keys if k not in named]
    elif keys and (leading := first_column(spec)) is not None:
        first = (leading, "descending", "at_end")
        by = [first, *((k, "ascending", "at_end") for k in keys)]
    else:
        return result
    return result.sort_by(by)


def nan_as_null(table: pa.Table) -> pa.Table:
    """NaN (0/0, a percentile of nothing) as null: one kind of missing value, sorted last."""
    for index, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            column = table.column(index)
            nan = pc.is_nan(column)
            if pc.any(nan).as_py():
                cleaned = pc.if_else(nan, pa.scalar(None, field.type), column)
                table = table.set_column(index, field.name, cleaned)
    return table
