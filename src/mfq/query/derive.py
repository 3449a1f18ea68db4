"""Derived columns: values computed from the columns read (``--let``, a ``--group-by``
expression, ``[fields]`` of ``mfq.toml``), by the engines after the scan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.dataset as ds

from mfq.errors import UsageError
from mfq.query.compile import compile_value
from mfq.query.expr import Arith, Call, Expr, Field, NamedValue, referenced_fields
from mfq.query.expr.ast import walk


def used_derived(derived: Iterable[NamedValue], columns: Iterable[str]) -> list[NamedValue]:
    """The derived columns among ``columns``."""
    wanted = set(columns)
    return [d for d in derived if d.name in wanted]


def stored_columns(columns: Sequence[str], derived: Sequence[NamedValue]) -> list[str]:
    """The stored columns to read for ``columns`` when ``derived`` are computed from them."""
    names = {d.name for d in derived}
    needed: dict[str, None] = dict.fromkeys(c for c in columns if c not in names)
    for item in derived:
        needed.update(dict.fromkeys(sorted(referenced_fields(item.expr))))
    return list(needed)


def add_derived(table: pa.Table, derived: Sequence[NamedValue]) -> pa.Table:
    """``table`` with each derived column appended (computed from its columns). A value
    that cannot be computed (an integer overflow, say) is a usage error."""
    renames = [d for d in derived if isinstance(d.expr, Field)]
    for item in renames:  # the column read, as it was read (a dictionary stays one)
        table = table.append_column(item.name, table.column(item.expr.name))  # type: ignore[union-attr]
    derived = [d for d in derived if not isinstance(d.expr, Field)]
    if not derived:
        return table
    source = table
    if source.num_columns == 0:  # a constant needs the rows all the same
        source = pa.table({"__rows": pa.nulls(table.num_rows, pa.int8())})
    try:
        computed = ds.dataset(source).to_table(
            columns={d.name: compile_value(d.expr, source.schema) for d in derived}
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        names = ", ".join(repr(d.name) for d in derived)
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"cannot compute {names}: {reason}") from err
    for name in computed.column_names:
        table = table.append_column(name, computed.column(name))
    return table


def read_as_dictionary(dictionary: Sequence[str], derived: Sequence[NamedValue]) -> tuple[str, ...]:
    """The stored columns to read as dictionaries when ``dictionary`` names derived
    columns: those a derived column only renames (a group key ``--let svc = service``)."""
    renamed = {d.name: d.expr.name for d in derived if isinstance(d.expr, Field)}
    names = {d.name for d in derived}
    return tuple(
        dict.fromkeys(renamed.get(n, n) for n in dictionary if n not in names or n in renamed)
    )


def computes(expr: Expr) -> bool:
    """Whether an expression calls a function or does arithmetic (not a plain test of
    stored columns)."""
    return any(isinstance(node, Call | Arith) for node in walk(expr))
