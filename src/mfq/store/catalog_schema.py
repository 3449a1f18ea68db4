"""``mfq schema`` from the catalog: the files' field statistics merged, no event read.

Present counts and value classes are exact; a distinct count or a top value count is
exact where every file kept the field's whole value list, and marked as an estimate
otherwise (``FieldSummary.estimated``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from mfq.ingest.columns import STANDARD_NAMES, STANDARD_SCHEMA, arrow_class
from mfq.store.fieldstats import MergedField, merge

if TYPE_CHECKING:
    from mfq.store.catalog import Catalog, FileRecord


@dataclass(frozen=True)
class FieldSummary:
    """What ``mfq schema`` shows of one field, before formatting."""

    field: str
    classes: Counter[str]
    storage: pa.DataType
    present: int
    distinct: int
    #: The most frequent values with their counts (none for times and ids).
    top: list[tuple[object, int]]
    #: The distinct count and the top values' counts are estimates.
    estimated: bool


def catalog_fields(catalog: Catalog, top_values: int) -> list[FieldSummary] | None:
    """Every field in the schema's order, or None when a file has no statistics (written
    by an earlier mfq: ``mfq compact`` adds them)."""
    if catalog.files_without_stats():
        return None
    files = catalog.files("events")
    storage, order = _storage_types(files)
    merged = merge(
        catalog.field_stats(), {n: {arrow_class(t) for t in s} for n, s in storage.items()}
    )
    found = []
    for name in order:
        field = merged.get(name)
        if field is None and name not in STANDARD_NAMES:
            continue
        found.append(_summary(name, field, _storage(name, storage), top_values))
    return found


def schema_order(names: Iterable[str]) -> list[str]:
    """The fields as ``mfq schema`` lists them: the standard fields in the model's order,
    then the others by name. An order of the data alone: the columns' order in a file
    follows where its blocks were cut, which path each record took and which day it
    fell on, and the files' order follows the ingests."""
    return [*STANDARD_NAMES, *sorted(set(names).difference(STANDARD_NAMES))]


def _storage_types(files: list[FileRecord]) -> tuple[dict[str, set[pa.DataType]], list[str]]:
    """Each field's storage types over the files, and the fields in ``schema_order``."""
    types: dict[str, set[pa.DataType]] = {}
    for record in files:
        if record.schema is None:
            continue
        schema = pa.ipc.read_schema(pa.py_buffer(record.schema))
        for column in schema:
            types.setdefault(column.name, set()).add(column.type)
    return types, schema_order(types)


def _storage(name: str, storage: dict[str, set[pa.DataType]]) -> pa.DataType:
    if name in STANDARD_NAMES:
        return STANDARD_SCHEMA.field(name).type
    found = storage.get(name, set())
    if len(found) == 1:
        return next(iter(found))
    if found and all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in found):
        return pa.float64()
    return pa.string() if found else pa.null()


def _summary(
    name: str, field: MergedField | None, storage: pa.DataType, top_values: int
) -> FieldSummary:
    if field is None:
        return FieldSummary(name, Counter(), storage, 0, 0, [], False)
    distinct = field.distinct()
    estimated = not field.exact and not field.unique
    top = [] if field.unique or field.times else field.top(top_values)
    return FieldSummary(name, field.classes, storage, field.present, distinct, top, estimated)


def known_distinct(catalog: Catalog, name: str) -> int | None:
    """The exact distinct count of one field from the statistics, when they know it
    (every file kept the field's whole value list, or the files cannot share a value)."""
    if catalog.files_without_stats():
        return None
    files = catalog.files("events")
    storage, _order = _storage_types(files)
    kinds = {n: {arrow_class(t) for t in s} for n, s in storage.items()}
    field = merge(catalog.field_stats(name), kinds).get(name)
    if field is None:
        return 0
    if not field.exact and field.known_distinct is None and not field.unique:
        return None
    return field.distinct()
