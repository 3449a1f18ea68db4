"""The two shapes a result can take, independent of where it came from.

A :class:`Record` is a single object (``mfq info``, the ingest summary); :class:`Rows` is
a header and rows produced lazily from a DataFrame or a pyarrow Table, so machine formats
can stream them. Neither library is imported here: a result of either type means it is
loaded already, and a Table is rendered without pandas ever being imported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


@dataclass(frozen=True)
class Record:
    """A single-object result: field name → value, in order."""

    fields: Mapping[str, object]

    def is_empty(self) -> bool:
        """True when the object has no fields at all."""
        return not self.fields


@dataclass(frozen=True)
class Rows:
    """A header and a re-iterable, lazily produced sequence of rows."""

    columns: tuple[str, ...]
    count: int
    _iter_rows: Callable[[], Iterator[tuple[object, ...]]]

    def __iter__(self) -> Iterator[tuple[object, ...]]:
        return self._iter_rows()

    def is_empty(self) -> bool:
        """True when there are no rows."""
        return self.count == 0


def rows_from_dataframe(frame: pd.DataFrame) -> Rows:
    """The frame's rows; the index is not rendered (callers ``reset_index()`` to keep it)."""

    def iter_rows() -> Iterator[tuple[object, ...]]:
        return frame.itertuples(index=False, name=None)

    return Rows(tuple(str(column) for column in frame.columns), len(frame), iter_rows)


def rows_from_records(columns: tuple[str, ...], records: Sequence[Mapping[str, object]]) -> Rows:
    """Rows of plain dicts (``columns`` in order), for results built without pandas."""

    def iter_rows() -> Iterator[tuple[object, ...]]:
        return (tuple(record.get(column) for column in columns) for record in records)

    return Rows(columns, len(records), iter_rows)


def rows_from_arrow(table: pa.Table) -> Rows:
    """The table's rows, as rendering ``table.to_pandas()`` would see them, without pandas.

    Values are converted a batch at a time when the rows are iterated (see
    :mod:`mfq.render.arrow` for how each Arrow type maps to what pandas would hold).
    """
    from mfq.render.arrow import arrow_rows

    def iter_rows() -> Iterator[tuple[object, ...]]:
        return arrow_rows(table)

    return Rows(tuple(table.column_names), table.num_rows, iter_rows)


def is_dataframe(data: object) -> bool:
    """True for a pandas DataFrame; never imports pandas (a DataFrame means it is loaded)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(data, pandas.DataFrame)


def is_arrow_table(data: object) -> bool:
    """True for a pyarrow Table; never imports pyarrow."""
    pyarrow = sys.modules.get("pyarrow")
    return pyarrow is not None and isinstance(data, pyarrow.Table)


def as_rows(data: Rows | pd.DataFrame | pa.Table) -> Rows:
    """Rows from a DataFrame (its index left out) or a pyarrow Table; Rows as they are."""
    if isinstance(data, Rows):
        return data
    if is_arrow_table(data):
        return rows_from_arrow(data)
    if is_dataframe(data):
        return rows_from_dataframe(data)
    raise TypeError(
        f"cannot render a {type(data).__name__}: expected a mapping, a DataFrame or a pyarrow Table"
    )


Result: TypeAlias = Record | Rows
"""Either shape; every renderer accepts both."""
