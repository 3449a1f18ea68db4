"""The SQLite catalog: sources, batches, files and field types of a store.

A batch's files become visible only when the transaction that records them commits;
readers list files from here, never from the directory.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mfq.errors import StoreCorrupt

SCHEMA_VERSION = 1
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL UNIQUE,
    committed_at TEXT NOT NULL,
    counters TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    name TEXT NOT NULL,
    content_hash TEXT,
    fingerprint TEXT,
    size INTEGER,
    container TEXT,
    compression TEXT,
    counters TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    kind TEXT NOT NULL,
    day TEXT,
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    min_ns INTEGER,
    max_ns INTEGER,
    schema BLOB
);
CREATE TABLE IF NOT EXISTS trace_index (
    path TEXT PRIMARY KEY REFERENCES files(path),
    keys BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS file_summary (
    path TEXT PRIMARY KEY REFERENCES files(path),
    summary BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS source_fields (
    source_id INTEGER NOT NULL REFERENCES sources(id),
    day TEXT NOT NULL,
    field TEXT NOT NULL,
    value_class TEXT NOT NULL,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS field_types (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    field TEXT NOT NULL,
    value_class TEXT NOT NULL,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
    field TEXT NOT NULL,
    id TEXT NOT NULL,
    template TEXT NOT NULL,
    first_seen_ns INTEGER,
    PRIMARY KEY (field, id)
);
"""
# Indexes come after the columns they use exist (older catalogs are migrated first).
_INDEXES = """
CREATE INDEX IF NOT EXISTS sources_by_hash ON sources(content_hash);
CREATE INDEX IF NOT EXISTS sources_by_fingerprint ON sources(fingerprint);
CREATE INDEX IF NOT EXISTS files_by_kind_day ON files(kind, day);
CREATE INDEX IF NOT EXISTS field_types_by_field ON field_types(field);
"""


@dataclass(frozen=True)
class FileRecord:
    """A committed file of the store."""

    path: str  # relative to the store root
    kind: str  # events | rejects | ids
    day: str | None
    rows: int
    bytes: int
    min_ns: int | None
    max_ns: int | None
    #: The file's Arrow schema (IPC bytes), so planning never opens the file.
    schema: builtins.bytes | None = None  # ("bytes" is the size field above)
    #: Sorted 32-bit keys of the file's trace ids (written only; see ``trace_files``).
    trace_keys: builtins.bytes | None = None
    #: Event counts per combination of a few fields (written only; see ``summaries``).
    summary: builtins.bytes | None = None


@dataclass(frozen=True)
class SourceRecord:
    """A committed source."""

    name: str
    content_hash: str | None
    fingerprint: str | None
    size: int | None
    container: str
    compression: str | None
    counters: dict[str, int]
    #: The format profile the source was read with (``default``: the default aliases).
    profile: str | None = None
    #: The identity of the ingest options that shaped what was stored (None: defaults).
    options: str | None = None
    #: Per UTC day of its events: field -> value class -> count (for ``schema --drift``).
    day_fields: dict[str, dict[str, Counter[str]]] | None = None


@dataclass(frozen=True)
class BatchRecord:
    """Everything one ingest commits at once."""

    token: str
    committed_at: str
    counters: dict[str, int]
    sources: Sequence[SourceRecord]
    files: Sequence[FileRecord]
    field_types: dict[str, Counter[str]]


#: How long a catalog operation waits for another process's lock.
_BUSY_SECONDS = 60


class Catalog:
    """Access to one store's catalog database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # Queries of one command may run on several threads (reads only; a write
            # holds the store's lock and runs on one thread).
            self._db = sqlite3.connect(
                path, timeout=_BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA synchronous=FULL")
            self._prepare()
        except sqlite3.DatabaseError as err:
            raise StoreCorrupt(f"cannot read the store catalog {path}: {err}") from err

    def _prepare(self) -> None:
        """WAL mode, tables, indexes and schema version, retried while another process
        prepares the same catalog: SQLite answers "database is locked" at once, without
        waiting, to a connection switching a new database to WAL while another does."""
        deadline = time.monotonic() + _BUSY_SECONDS
        pause = 0.005
        while True:
            try:
                (mode,) = self._db.execute("PRAGMA journal_mode").fetchone()
                if str(mode).lower() != "wal":
                    self._db.execute("PRAGMA journal_mode=WAL")
                self._db.executescript(_DDL)
                self._add_missing_columns()
                self._db.executescript(_INDEXES)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                return
            except sqlite3.OperationalError as err:
                busy = "locked" in str(err) or "busy" in str(err)
                if not busy or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def _add_missing_columns(self) -> None:
        """Catalogs written by an earlier mfq lack newer columns: add them (empty)."""
        for table, column, kind in (
            ("files", "schema", "BLOB"),
            ("sources", "fingerprint", "TEXT"),
            ("sources", "profile", "TEXT"),
            ("sources", "options", "TEXT"),
        ):
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column in present:
                continue
            try:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as err:
                if "duplicate column" not in str(err):  # another process added it first
                    raise

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def commit_batch(self, batch: BatchRecord) -> int:
        """Record a batch, its sources, files and field types in one transaction."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO batches(token, committed_at, counters) VALUES (?, ?, ?)",
                (batch.token, batch.committed_at, json.dumps(batch.counters)),
            )
            batch_id = int(cursor.lastrowid or 0)
            for s in batch.sources:
                cursor = db.execute(
                    "INSERT INTO sources(batch_id, name, content_hash, fingerprint, size,"
                    " container, compression, counters, profile, options)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        batch_id,
                        s.name,
                        s.content_hash,
                        s.fingerprint,
                        s.size,
                        s.container,
                        s.compression,
                        json.dumps(s.counters),
                        s.profile,
                        s.options,
                    ),
                )
                source_id = int(cursor.lastrowid or 0)
                db.executemany(
                    "INSERT INTO source_fields(source_id, day, field, value_class, count)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [
                        (source_id, day, name, cls, n)
                        for day, fields in (s.day_fields or {}).items()
                        for name, counter in fields.items()
                        for cls, n in counter.items()
                    ],
                )
            db.executemany(
                "INSERT INTO files(path, batch_id, kind, day, rows, bytes, min_ns, max_ns, schema)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (f.path, batch_id, f.kind, f.day, f.rows, f.bytes, f.min_ns, f.max_ns, f.schema)
                    for f in batch.files
                ],
            )
            db.executemany(
                "INSERT INTO trace_index(path, keys) VALUES (?, ?)",
                [(f.path, f.trace_keys) for f in batch.files if f.trace_keys is not None],
            )
            db.executemany(
                "INSERT INTO file_summary(path, summary) VALUES (?, ?)",
                [(f.path, f.summary) for f in batch.files if f.summary is not None],
            )
            db.executemany(
                "INSERT INTO field_types(batch_id, field, value_class, count) VALUES (?, ?, ?, ?)",
                [
                    (batch_id, name, cls, n)
                    for name, counter in batch.field_types.items()
                    for cls, n in counter.items()
                ],
            )
        return batch_id

    def has_fingerprint(self, fingerprint: str) -> bool:
        """True when a source that may have this content was already ingested."""
        row = self._db.execute(
            "SELECT 1 FROM sources WHERE fingerprint = ? LIMIT 1", (fingerprint,)
        ).fetchone()
        return row is not None

    def has_source_hash(self, content_hash: str, options: str | None = None) -> bool:
        """True when a source with this content was already ingested (with these options,
        when given; a source recorded without options had the defaults)."""
        if options is None:
            row = self._db.execute(
                "SELECT 1 FROM sources WHERE content_hash = ? LIMIT 1", (content_hash,)
            ).fetchone()
        else:
            from mfq.ingest.options import DEFAULT_IDENTITY

            row = self._db.execute(
                "SELECT 1 FROM sources WHERE content_hash = ? AND COALESCE(options, ?) = ? LIMIT 1",
                (content_hash, DEFAULT_IDENTITY, options),
            ).fetchone()
        return row is not None

    def source_fields(self) -> list[tuple[str, str, str, str, int]]:
        """(source, day, field, value class, count) of every committed source, by day."""
        rows = self._db.execute(
            "SELECT s.name, f.day, f.field, f.value_class, f.count FROM source_fields f"
            " JOIN sources s ON s.id = f.source_id ORDER BY f.day, s.id, f.field"
        ).fetchall()
        return [(str(a), str(b), str(c), str(d), int(e)) for a, b, c, d, e in rows]

    def files(self, kind: str = "events") -> list[FileRecord]:
        """Committed files of a kind, ordered by day then path."""
        rows = self._db.execute(
            "SELECT path, kind, day, rows, bytes, min_ns, max_ns, schema FROM files WHERE kind = ?"
            " ORDER BY day, path",
            (kind,),
        ).fetchall()
        return [FileRecord(*row) for row in rows]

    def trace_files(self, keys: Sequence[int]) -> tuple[set[str], set[str]]:
        """The files whose trace index holds one of ``keys``, and every file that has an
        index (a file without one, from an older mfq, may hold any trace)."""
        import numpy as np

        wanted = np.asarray(sorted(set(keys)), dtype=np.uint32)
        indexed: set[str] = set()
        holding: set[str] = set()
        for path, blob in self._db.execute("SELECT path, keys FROM trace_index"):
            indexed.add(path)
            stored = np.frombuffer(blob, dtype=np.uint32)
            places = np.searchsorted(stored, wanted)
            inside = places < len(stored)
            if np.any(stored[places[inside]] == wanted[inside]):
                holding.add(path)
        return holding, indexed

    def summaries(self, paths: Sequence[str]) -> dict[str, builtins.bytes]:
        """The summaries recorded for these files (a file may have none)."""
        wanted = set(paths)
        rows = self._db.execute("SELECT path, summary FROM file_summary")
        return {path: blob for path, blob in rows if path in wanted}

    def size_bytes(self) -> int:
        """The catalog's size as SQLite sees it (pages in the file and in its write-ahead
        log alike), so it does not depend on when the log was last checkpointed."""
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        return pages * int(self._db.execute("PRAGMA page_size").fetchone()[0])

    def all_paths(self) -> set[str]:
        """Every committed file path, of every kind."""
        return {row[0] for row in self._db.execute("SELECT path FROM files")}

    def sources(self) -> list[SourceRecord]:
        """Every committed source, oldest first."""
        rows = self._db.execute(
            "SELECT name, content_hash, fingerprint, size, container, compression, counters,"
            " profile, options FROM sources ORDER BY id"
        ).fetchall()
        return [
            SourceRecord(
                row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7], row[8]
            )
            for row in rows
        ]

    def field_types(self) -> dict[str, Counter[str]]:
        """Value classes seen per field over all batches."""
        result: dict[str, Counter[str]] = {}
        for name, cls, n in self._db.execute(
            "SELECT field, value_class, SUM(count) FROM field_types GROUP BY field, value_class"
        ):
            result.setdefault(name, Counter())[cls] = int(n)
        return result

    def templates(self, field: str) -> dict[str, str]:
        """The message templates ``mfq patterns`` found in ``field`` so far: id -> text."""
        rows = self._db.execute(
            "SELECT id, template FROM templates WHERE field = ? ORDER BY first_seen_ns, id",
            (field,),
        )
        return {str(row[0]): str(row[1]) for row in rows}

    def remember_templates(
        self, field: str, templates: Sequence[tuple[str, str, int | None]]
    ) -> None:
        """Keep ``(id, text, first seen ns)`` templates of ``field`` (known ids unchanged)."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO templates(field, id, template, first_seen_ns) "
                "VALUES (?, ?, ?, ?)",
                [(field, *row) for row in templates],
            )
