"""The two shapes a result can take, independent of where it came from.

A :class:`Record` is a single object (``mfq info``, the ingest summary); :class:`Rows` is
a header and rows produced lazily from a DataFrame, so machine formats can stream them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    import pandas as pd


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


Result: TypeAlias = Record | Rows
"""Either shape; every renderer accepts both."""
