"""What sessions, funnels and paths share: a journey's events read by key, in order.

A **journey** is the chain of events sharing a key (``correlation_id``, ``order_id``,
``user_id``). Events without the key belong to no journey and are left out. A key's events
are taken in time order; events at the same instant keep the order they are stored in.

A **step** (of a funnel, or a session's start and end) is an event type name
(``order.created``) or a filter expression (``type = 'payment.captured' and amount > 0``);
text made only of letters, digits and ``. _ - : /`` is a type name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mfq.analysis.common import ParsedSelection, read_rows
from mfq.errors import UsageError
from mfq.query.expr import (
    And,
    Compare,
    CompareOp,
    Expr,
    Field,
    Literal,
    referenced_fields,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    from mfq.query.source import QuerySource

    IntArray = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]

#: Keys looked for, in this order, when a journey key is needed and none is named.
STANDARD_KEYS = ("correlation_id", "order_id", "session_id", "user_id")

_TYPE_NAME = re.compile(r"^[A-Za-z0-9_.:/\-]+$")


@dataclass(frozen=True)
class Step:
    """One step as written, and the condition an event meets to take it."""

    text: str
    condition: Expr
    #: The type name, when the step is one (matched on type codes, without a filter).
    type_name: str | None = None


def parse_step(
    store: QuerySource, text: str, selection: ParsedSelection, option: str = "STEP"
) -> Step:
    """A type name or a filter expression (see the module docstring)."""
    from mfq.analysis.common import parse_expression

    cleaned = text.strip()
    if not cleaned:
        raise UsageError(f"{option}: an empty step; give a type name or an expression")
    if _TYPE_NAME.match(cleaned) and cleaned not in ("true", "false"):
        condition = Compare(op=CompareOp.EQ, left=Field(name="type"), right=Literal.of(cleaned))
        return Step(cleaned, condition, cleaned)
    return Step(cleaned, parse_expression(store, cleaned, selection.types))


def check_key(
    store: QuerySource, key: str, selection: ParsedSelection, option: str = "--by"
) -> None:
    """A journey key (or breakdown field) must be a field the store has."""
    import difflib

    from mfq.query.expr.errors import shown

    if not key or not key.strip():
        raise UsageError(f"{option}: name a field, e.g. {option} correlation_id")
    if key in selection.types:
        return
    message = f"{option}: unknown field {shown(key)}"
    close = difflib.get_close_matches(key, list(selection.types), n=1)
    if close:
        message += f" — did you mean {shown(close[0])}?"
    raise UsageError(message)


@dataclass
class JourneyEvents:
    """Events with a key, sorted by key then time; the columns read, and their order."""

    table: pa.Table
    #: A number per key (its position in :attr:`keys`), per row, ascending.
    key: IntArray
    #: Nanoseconds since the epoch, per row.
    times: IntArray
    #: The distinct key values (as read).
    keys: pa.Array
    #: The time of the last event read (with or without key), ns; None when none were.
    data_end: int | None

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def firsts(self) -> BoolArray:
        """True on each key's first row."""
        import numpy as np

        starts = np.ones(len(self.key), dtype=np.bool_)
        starts[1:] = self.key[1:] != self.key[:-1]
        return starts

    def mask(self, step: Step) -> BoolArray:
        """Rows that take ``step`` (null is not true)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if step.type_name is not None:
            column = self.table.column("type")
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            matched = pc.fill_null(pc.equal(column, pa.scalar(step.type_name)), False)
            return np.asarray(matched.to_numpy(zero_copy_only=False), dtype=np.bool_)
        from mfq.query.engines.rows import evaluate_mask

        mask = evaluate_mask(self.table, step.condition)
        return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=np.bool_)

    def key_values(self, rows: IntArray) -> list[object]:
        """The key of each of ``rows`` as a Python value."""
        import pyarrow as pa

        values: list[object] = self.keys.take(pa.array(self.key[rows])).to_pylist()
        return values

    def column_values(self, name: str, rows: IntArray) -> list[object]:
        """A column's values at ``rows`` as Python values (dictionaries decoded)."""
        import pyarrow as pa

        column = self.table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        values: list[object] = column.take(pa.array(rows, type=pa.int64())).to_pylist()
        return values


def conjuncts_of(expr: Expr) -> list[Expr]:
    """The top-level ``and`` items of a filter."""
    if isinstance(expr, And):
        return [item for part in expr.items for item in conjuncts_of(part)]
    return [expr]


def step_fields(steps: Sequence[Step]) -> list[str]:
    """The columns the steps read."""
    names: dict[str, None] = {}
    for step in steps:
        names.update(dict.fromkeys(sorted(referenced_fields(step.condition))))
    return list(names)


def read_journeys(
    store: QuerySource,
    key: str,
    selection: ParsedSelection,
    columns: Sequence[str],
    *,
    data_end: bool = False,
) -> JourneyEvents:
    """The events of the selection that have ``key``, with ``columns`` (plus the key and
    the timestamp), sorted by key then time. Only events with the key are read (the
    condition is pushed into the scan); ``data_end`` also finds the last event of the
    selection, with or without the key (one more scan, of timestamps only)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from mfq.query.expr import IsNull

    keyed_only = replace(
        selection, where=(*selection.where, IsNull(operand=Field(name=key), negated=True))
    )
    wanted = list(dict.fromkeys([key, "timestamp", *columns]))
    table = read_rows(store, wanted, keyed_only, dictionary=("type",))
    times = np.asarray(pc.cast(table.column("timestamp"), pa.int64()).to_numpy(), np.int64)
    end = _last_time(store, selection) if data_end else None
    key_column = table.column(key).combine_chunks()
    if pa.types.is_dictionary(key_column.type):
        key_column = key_column.cast(key_column.type.value_type)
    encoded = pc.dictionary_encode(key_column)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    # Number the keys in their sorted order, so keys come out ordered by value.
    dictionary = encoded.dictionary
    by_value = np.asarray(pc.sort_indices(dictionary).to_numpy(), dtype=np.int64)
    ranks = np.empty(len(dictionary), dtype=np.int64)
    ranks[by_value] = np.arange(len(dictionary), dtype=np.int64)
    codes = ranks[codes]
    keys = dictionary.take(pa.array(by_value, type=pa.int64()))
    order = np.lexsort((times, codes))
    table = table.take(pa.array(order, type=pa.int64()))
    return JourneyEvents(table, codes[order], times[order], keys, end)


def _last_time(store: QuerySource, selection: ParsedSelection) -> int | None:
    """The time of the selection's last event, ns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stamps = read_rows(store, ["timestamp"], selection).column("timestamp")
    if len(stamps) == 0:
        return None
    latest = pc.max(pc.cast(stamps, pa.int64())).as_py()
    return None if latest is None else int(latest)


def ns_of(duration: object) -> int:
    """Whole nanoseconds of a timedelta."""
    from datetime import timedelta

    assert isinstance(duration, timedelta)
    return (duration.days * 86_400 + duration.seconds) * 1_000_000_000 + (
        duration.microseconds * 1000
    )


def percentile(values: npt.NDArray[np.float64], q: float) -> float | None:
    """The q-th percentile, linear between closest ranks (SPEC's rule); None of nothing."""
    import numpy as np

    if len(values) == 0:
        return None
    return float(np.percentile(values, q))
