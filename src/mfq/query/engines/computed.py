"""Result columns computed from aggregates (``--agg "sum(amount) / count as mean"``,
arithmetic in ``--having``): the engines compute every aggregate such a column reads (as
a hidden column when it is not asked for itself), then the column from a row's values,
with the same compiled expressions as derived fields (division by zero is null; a time
minus a time is milliseconds)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from mfq.errors import UsageError
from mfq.query.compile import compile_value
from mfq.query.expr import Aggregate, Field, NamedValue, Node, to_text
from mfq.query.expr.ast import walk, with_children

if TYPE_CHECKING:
    import pandas as pd

    from mfq.query.spec import QuerySpec

#: Result columns of aggregates only computed columns or ``--having`` read.
HIDDEN = "__having "


def hidden_name(aggregate: Aggregate) -> str:
    """The result column of an aggregate only ``--having`` or a computed column uses
    (dropped at the end)."""
    return f"{HIDDEN}{to_text(aggregate)}"


def aggregate_columns(spec: QuerySpec) -> dict[str, str]:
    """Each aggregate's canonical text to the result column holding it."""
    return {to_text(named.aggregate): named.name for named in spec.aggregates}


def over_columns(node: Node, columns: Mapping[str, str]) -> Node:
    """``node`` with each aggregate replaced by the result column holding it."""
    if isinstance(node, Aggregate):
        text = to_text(node)
        return Field.model_construct(name=columns.get(text, hidden_name(node)), span=node.span)
    return with_children(node, lambda child: over_columns(child, columns))


def evaluate(table: pa.Table, expr: Node, spec: QuerySpec) -> pa.ChunkedArray:
    """``expr`` (over aggregates) on each row of a result table."""
    plain = over_columns(expr, aggregate_columns(spec))
    source = table if table.num_columns else pa.table({"__rows": pa.nulls(table.num_rows)})
    try:
        compiled = compile_value(plain, source.schema)  # type: ignore[arg-type]
        return ds.dataset(source).to_table(columns={"v": compiled}).column("v")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"cannot compute {to_text(expr)!r}: {reason}") from err


def add_computed(table: pa.Table, spec: QuerySpec) -> pa.Table:
    """A result table with ``spec``'s computed columns (re)computed from its aggregates."""
    for item in spec.computed:
        values = evaluate(table, item.expr, spec)
        index = table.schema.get_field_index(item.name)
        if index >= 0:
            table = table.set_column(index, item.name, values)
        else:
            table = table.append_column(item.name, values)
    return table


def add_computed_frame(frame: pd.DataFrame, spec: QuerySpec) -> pd.DataFrame:
    """:func:`add_computed` on a pandas result."""
    if not spec.computed:
        return frame
    frame = frame.copy()
    for item in spec.computed:
        frame[item.name] = frame_values(frame, item, spec)
    return frame


def frame_values(frame: pd.DataFrame, item: NamedValue | Node, spec: QuerySpec) -> np.ndarray:
    """The values of a computed column (or a condition's value) on a pandas result."""
    expr = item.expr if isinstance(item, NamedValue) else item
    plain = over_columns(expr, aggregate_columns(spec))
    names = {n.name for n in walk(plain) if isinstance(n, Field)}
    used = [c for c in frame.columns if str(c) in names]
    table = pa.Table.from_pandas(frame[used], preserve_index=False) if used else None
    if table is None:
        table = pa.table({"__rows": pa.nulls(len(frame))})
    values = evaluate(table, plain, spec.model_copy(update={"aggregates": ()}))
    return np.asarray(values.to_pandas().to_numpy())


def output_columns(spec: QuerySpec, lead: list[str]) -> list[str]:
    """The result's columns in order: ``lead`` (time, group keys), then every ``--agg``
    as given."""
    names = list(spec.columns) or [named.name for named in spec.aggregates]
    return [*lead, *names]


def first_column(spec: QuerySpec) -> str | None:
    """The column a grouped result is sorted by when no order is given: the first
    ``--agg``."""
    if spec.columns:
        return spec.columns[0]
    return spec.aggregates[0].name if spec.aggregates else None
