"""Store statistics: ``info`` (what is in the store) and ``schema`` (every field)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mfq.ingest.columns import FLOAT, INTEGER, STANDARD_NAMES
from mfq.store.catalog import FileRecord

if TYPE_CHECKING:
    import pandas as pd

    from mfq.store.store import Store

_TOP_VALUE_CHARS = 40


def _open_files(store: Store, files: list[FileRecord]) -> list[pq.ParquetFile]:
    """Each event file opened once (its footer read once for every column)."""
    return [pq.ParquetFile(store.root / record.path) for record in files]


def _read_column(files: list[pq.ParquetFile], name: str) -> pa.ChunkedArray:
    """One column over all event files, as text when its type varies between files.

    One column at a time keeps memory bounded by the largest column, not the store.
    """
    chunks: list[pa.Array] = []
    types: set[pa.DataType] = set()
    for parquet in files:
        if name not in parquet.schema_arrow.names:
            continue
        column = parquet.read(columns=[name]).column(name)
        types.add(column.type)
        chunks.extend(column.chunks)
    if not chunks:
        return pa.chunked_array([], pa.null())
    if len(types) > 1:
        from mfq.ingest.columns import to_text

        numeric = all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types)
        target = pa.float64() if numeric else pa.string()
        chunks = [
            c if c.type == target else (pc.cast(c, target) if numeric else to_text(c))
            for c in chunks
        ]
    return pa.chunked_array(chunks)


def _field_names(files: list[pq.ParquetFile]) -> list[str]:
    names: dict[str, None] = dict.fromkeys(STANDARD_NAMES)
    for parquet in files:
        names.update(dict.fromkeys(parquet.schema_arrow.names))
    return list(names)


def store_info(store: Store) -> dict[str, Any]:
    """The ``info`` object: events, first, last, sources, bytes, projects, types."""
    files = store.catalog.files("events")
    events = sum(f.rows for f in files)
    first = min((f.min_ns for f in files if f.min_ns is not None), default=None)
    last = max((f.max_ns for f in files if f.max_ns is not None), default=None)
    on_disk = sum(p.stat().st_size for p in store.root.rglob("*") if p.is_file())
    opened = _open_files(store, files)
    return {
        "events": events,
        "first": _time(first),
        "last": _time(last),
        "sources": len(store.catalog.sources()),
        "bytes": on_disk,
        "projects": _distinct(opened, "project_id"),
        "types": _distinct(opened, "type"),
    }


def _time(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1000
    )


def _distinct(files: list[pq.ParquetFile], name: str) -> int:
    column = _read_column(files, name)
    return 0 if not len(column) else int(pc.count_distinct(column).as_py())


def store_schema(store: Store) -> pd.DataFrame:
    """One row per field: field, type, present (%), distinct, top_values, mixed."""
    import pandas as pd

    records = store.catalog.files("events")
    total = sum(f.rows for f in records)
    classes = store.catalog.field_types()
    files = _open_files(store, records)
    top = store.settings.top_values
    rows = [
        _field_row(files, name, total, classes.get(name, Counter()), top)
        for name in _field_names(files)
    ]
    rows = [r for r in rows if r is not None]
    columns = ["field", "type", "present", "distinct", "top_values", "mixed"]
    return pd.DataFrame(rows, columns=columns)


def _field_row(
    files: list[pq.ParquetFile], name: str, total: int, classes: Counter[str], top_values: int
) -> dict[str, Any] | None:
    column = _read_column(files, name)
    present = len(column) - column.null_count if len(column) else 0
    if present == 0 and name not in STANDARD_NAMES:
        return None
    counts = pc.value_counts(column.drop_null()) if present else None
    distinct = len(counts) if counts is not None else 0
    top: list[str] = []
    if counts is not None and distinct:
        ranked = pa.table({"value": counts.field("values"), "n": counts.field("counts")})
        ranked = ranked.sort_by([("n", "descending"), ("value", "ascending")]).slice(0, top_values)
        top = [
            f"{_short(v)} ({n})"
            for v, n in zip(ranked["value"].to_pylist(), ranked["n"].to_pylist(), strict=True)
        ]
    return {
        "field": name,
        "type": _type_name(classes, column.type),
        "present": round(100.0 * present / total, 2) if total else 0.0,
        "distinct": distinct,
        "top_values": top,
        "mixed": _is_mixed(classes),
    }


def _short(value: object) -> str:
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value)
    return text if len(text) <= _TOP_VALUE_CHARS else text[: _TOP_VALUE_CHARS - 1] + "…"


def _is_mixed(classes: Counter[str]) -> bool:
    kinds = {c for c, n in classes.items() if n}
    return len(kinds - {FLOAT} if INTEGER in kinds else kinds) > 1


def _type_name(classes: Counter[str], storage: pa.DataType) -> str:
    kinds = sorted(c for c, n in classes.items() if n)
    if len(kinds) > 1 and _is_mixed(classes):
        return "mixed(" + ",".join(kinds) + ")"
    if set(kinds) == {INTEGER, FLOAT}:
        return FLOAT
    if kinds:
        return kinds[0]
    from mfq.ingest.columns import arrow_class

    return arrow_class(storage)


def store_rejects(store: Store, *, code: str | None, limit: int | None) -> pd.DataFrame:
    """The rejects of every committed batch, oldest first, optionally one code only."""
    import pyarrow.dataset as ds

    from mfq.store.writer import REJECT_SCHEMA

    paths = [str(store.root / f.path) for f in store.catalog.files("rejects")]
    if not paths:
        empty: pd.DataFrame = REJECT_SCHEMA.empty_table().to_pandas()
        return empty
    dataset = ds.dataset(paths, schema=REJECT_SCHEMA, format="parquet")
    table = dataset.to_table(filter=None if code is None else ds.field("code") == code)
    if limit is not None:
        table = table.slice(0, limit)
    frame: pd.DataFrame = table.to_pandas()
    return frame
