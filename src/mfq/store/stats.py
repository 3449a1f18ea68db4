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
from mfq.store.damage import reading_files

if TYPE_CHECKING:
    import pandas as pd

    from mfq.store.catalog_schema import FieldSummary
    from mfq.store.store import Storage

_TOP_VALUE_CHARS = 40


class _EventFiles:
    """The store's event files with their schemas (from the catalog, no file opened)."""

    def __init__(self, store: Storage, files: list[FileRecord]) -> None:
        self.catalog = store.catalog
        self.entries: list[tuple[str, pa.Schema]] = []
        for record in files:
            path = str(store.root / record.path)
            if record.schema is not None:
                schema = pa.ipc.read_schema(pa.py_buffer(record.schema))
            else:
                schema = pq.read_schema(path)
            self.entries.append((path, schema))

    def names(self) -> list[str]:
        """Every field of the files, in ``schema_order``."""
        from mfq.store.catalog_schema import schema_order

        return schema_order(name for _path, schema in self.entries for name in schema.names)

    def column(self, name: str) -> pa.ChunkedArray:
        """One column over every file that has it (one parallel scan), as text where its
        type differs between files. One column at a time keeps memory bounded."""
        having = [(p, s.field(name).type) for p, s in self.entries if name in s.names]
        if not having:
            return pa.chunked_array([], pa.null())
        types = {t for _p, t in having}
        numeric = all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types)
        if len(types) == 1 or numeric:
            import pyarrow.dataset as ds  # not at the top: it imports pandas

            target = next(iter(types)) if len(types) == 1 else pa.float64()
            dataset = ds.dataset(
                [p for p, _t in having], schema=pa.schema([(name, target)]), format="parquet"
            )
            return dataset.to_table(columns=[name]).column(name)
        from mfq.ingest.columns import to_text

        chunks = []
        for path, data_type in having:
            column = pq.read_table(path, columns=[name]).column(name)
            chunks.extend(to_text(column).chunks if data_type != pa.string() else column.chunks)
        return pa.chunked_array(chunks, pa.string())


def store_info(store: Storage) -> dict[str, Any]:
    """The ``info`` object: events, first, last, sources, bytes, projects, types."""
    files = store.files("events")
    events = sum(f.rows for f in files)
    first = min((f.min_ns for f in files if f.min_ns is not None), default=None)
    last = max((f.max_ns for f in files if f.max_ns is not None), default=None)
    # Committed data files plus the catalog's pages: not SQLite's -wal/-shm files as they
    # happen to be, which depend on when the last connection closed.
    data = [store.root / path for path in store.catalog.all_paths()]
    on_disk = sum(p.stat().st_size for p in data if p.exists()) + store.catalog.size_bytes()
    with reading_files(store.root, files):
        opened = _EventFiles(store, files)
        projects, types = _distinct(opened, "project_id"), _distinct(opened, "type")
    return {
        "events": events,
        "first": _time(first),
        "last": _time(last),
        "sources": len(store.catalog.sources()),
        "profiles": source_profiles(store),
        "bytes": on_disk,
        "projects": projects,
        "types": types,
    }


def _time(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1000
    )


def _distinct(files: _EventFiles, name: str) -> int:
    from mfq.store.catalog_schema import known_distinct

    known = known_distinct(files.catalog, name)
    if known is not None:
        return known  # from the catalog's field statistics, no event read
    column = files.column(name)
    return 0 if not len(column) else int(pc.count_distinct(column).as_py())


SCHEMA_COLUMNS = ("field", "type", "present", "distinct", "top_values", "mixed")


def store_schema(store: Storage, exact: bool = False) -> pd.DataFrame:
    """One row per field: field, type, present (%), distinct, top_values, mixed."""
    import pandas as pd

    return pd.DataFrame(schema_records(store, exact), columns=list(SCHEMA_COLUMNS))


def schema_records(store: Storage, exact: bool = False) -> list[dict[str, Any]]:
    """:func:`store_schema`'s rows as dicts (no pandas).

    From the catalog's field statistics unless ``exact`` (or a file has none): then by
    reading every field of every file."""
    if not exact:
        from mfq.store.catalog_schema import catalog_fields

        fields = catalog_fields(store.catalog, store.settings.top_values)
        if fields is not None:
            total = sum(f.rows for f in store.files("events"))
            return [_summary_row(f, total) for f in fields]
    records = store.files("events")
    total = sum(f.rows for f in records)
    classes = store.catalog.field_types()
    files = _EventFiles(store, records)
    top = store.settings.top_values
    from concurrent.futures import ThreadPoolExecutor

    def row(name: str) -> dict[str, Any] | None:
        return _field_row(files, name, total, classes.get(name, Counter()), top)

    # Two fields at a time: pyarrow releases the GIL while it reads and counts.
    with reading_files(store.root, records), ThreadPoolExecutor(max_workers=2) as pool:
        return [r for r in pool.map(row, files.names()) if r is not None]


#: Top values are left out when more values than this are distinct and even the most
#: frequent is under this share of the values present.
NO_TOP_DISTINCT = 1000
NO_TOP_SHARE = 0.001


def _field_row(
    files: _EventFiles, name: str, total: int, classes: Counter[str], top_values: int
) -> dict[str, Any] | None:
    column = files.column(name)
    present = len(column) - column.null_count if len(column) else 0
    if present == 0 and name not in STANDARD_NAMES:
        return None
    if name == "id":
        # Ids are unique by the store's guarantee: no need to count millions of them.
        return _row(name, classes, column.type, present, total, present, [])
    if pa.types.is_timestamp(column.type):
        # Times are nearly all distinct: count them, but no "most frequent" time.
        distinct = int(pc.count_distinct(column).as_py()) if present else 0
        return _row(name, classes, column.type, present, total, distinct, [])
    counts = pc.value_counts(column.drop_null()) if present else None
    distinct = len(counts) if counts is not None else 0
    pairs: list[tuple[object, int]] = []
    if counts is not None and distinct:
        ranked = pa.table({"value": counts.field("values"), "n": counts.field("counts")})
        keys = [("n", "descending"), ("value", "ascending")]
        # The top few of maybe millions: a selection, not a sort of every distinct value.
        picked = pc.select_k_unstable(ranked, k=min(top_values, distinct), sort_keys=keys)
        ranked = ranked.take(picked).sort_by(keys)
        pairs = list(zip(ranked["value"].to_pylist(), ranked["n"].to_pylist(), strict=True))
    top = _top_text(pairs, distinct, present, estimated=False)
    return _row(name, classes, column.type, present, total, distinct, top)


def _summary_row(summary: FieldSummary, total: int) -> dict[str, Any]:
    """A schema row from the catalog's statistics; estimates are marked with ``~``."""
    top = _top_text(summary.top, summary.distinct, summary.present, summary.estimated)
    distinct: int | str = summary.distinct
    if summary.estimated:
        distinct = f"~{summary.distinct}"
    row = _row(summary.field, summary.classes, summary.storage, summary.present, total, 0, top)
    row["distinct"] = distinct
    return row


def _top_text(
    pairs: list[tuple[object, int]], distinct: int, present: int, estimated: bool
) -> list[str]:
    """``value (count)`` of the most frequent values, none when nothing stands out."""
    if not pairs:
        return []
    if distinct > NO_TOP_DISTINCT and pairs[0][1] < NO_TOP_SHARE * present:
        return []  # nothing stands out among thousands (trace or span ids): noise
    mark = "~" if estimated else ""
    return [f"{_short(v)} ({mark}{n})" for v, n in pairs]


def _row(
    name: str,
    classes: Counter[str],
    storage: pa.DataType,
    present: int,
    total: int,
    distinct: int,
    top: list[str],
) -> dict[str, Any]:
    return {
        "field": name,
        "type": _type_name(classes, storage),
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
    """The type ``mfq schema`` shows. Integers beside floats are floats, and are named so
    in a mixed field too: how many of them were counted as integers depends on which
    records were parsed together (a block holding a fraction reads its integers as
    floats), so naming them would make the type depend on how the input was cut."""
    kinds = sorted(c for c, n in classes.items() if n)
    if len(kinds) > 1 and _is_mixed(classes):
        named = [k for k in kinds if not (k == INTEGER and FLOAT in kinds)]
        return "mixed(" + ",".join(named) + ")"
    if set(kinds) == {INTEGER, FLOAT}:
        return FLOAT
    if kinds:
        return kinds[0]
    from mfq.ingest.columns import arrow_class

    return arrow_class(storage)


def store_rejects(store: Storage, *, code: str | None, limit: int | None) -> pd.DataFrame:
    """The rejects of every committed batch, oldest first, optionally one code only."""
    import pyarrow.dataset as ds

    from mfq.store.writer import REJECT_SCHEMA

    records = store.files("rejects")
    paths = [str(store.root / f.path) for f in records]
    if not paths:
        empty: pd.DataFrame = REJECT_SCHEMA.empty_table().to_pandas()
        return empty
    with reading_files(store.root, records):
        dataset = ds.dataset(paths, schema=REJECT_SCHEMA, format="parquet")
        table = dataset.to_table(filter=None if code is None else ds.field("code") == code)
    if limit is not None:
        table = table.slice(0, limit)
    frame: pd.DataFrame = table.to_pandas()
    return frame


def store_rejects_summary(store: Storage) -> pd.DataFrame:
    """Rejects counted by source and reason, with the keys those records have (most
    common first): what to name with ``--map``."""
    import pandas as pd

    from mfq.ingest.refusal import SHOWN_KEYS, RejectKeys

    frame = store_rejects(store, code=None, limit=None)
    groups: dict[tuple[str, str], RejectKeys] = {}
    for source, code, raw in zip(frame["source"], frame["code"], frame["raw"], strict=True):
        groups.setdefault((str(source), str(code)), RejectKeys()).add(str(code), str(raw))
    rows = [
        {
            "source": source,
            "code": code,
            "count": found.reasons[code],
            "keys": ", ".join(found.common_keys()[: SHOWN_KEYS * 2]),
        }
        for (source, code), found in groups.items()
    ]
    return pd.DataFrame(rows, columns=["source", "code", "count", "keys"])


def store_drift(store: Storage) -> pd.DataFrame:
    """``schema --drift``: per day, the fields that appeared, vanished or changed type,
    with the sources concerned."""
    import pandas as pd

    from mfq.store.drift import drift_rows

    rows = drift_rows(store.catalog.source_fields())
    return pd.DataFrame(rows, columns=["day", "field", "change", "types", "sources"])


def source_profiles(store: Storage) -> dict[str, int]:
    """Sources per format profile (sources from before profiles count as ``default``)."""
    counts: Counter[str] = Counter(s.profile or "default" for s in store.catalog.sources())
    return dict(sorted(counts.items()))
