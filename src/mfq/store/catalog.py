"""The SQLite catalog: sources, batches, files and field types of a store.

A batch's files become visible only when the transaction that records them commits;
readers list files from here, never from the directory.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mfq.errors import StoreCorrupt

if TYPE_CHECKING:
    from mfq.store.fieldstats import FieldStats, StatsRow

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
CREATE TABLE IF NOT EXISTS field_stats (
    path TEXT NOT NULL REFERENCES files(path),
    field TEXT NOT NULL,
    present INTEGER NOT NULL,
    classes TEXT NOT NULL,
    vals BLOB,
    exact INTEGER NOT NULL,
    sketch BLOB,
    distinct_count INTEGER NOT NULL,
    PRIMARY KEY (path, field)
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
CREATE INDEX IF NOT EXISTS field_stats_classes ON field_stats(field, classes, present);
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
    #: Per-field statistics for ``mfq schema`` (written only; see ``field_stats``).
    field_stats: Sequence[FieldStats] = ()


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
#: Columns added after the first catalogs were written: (table, column, type).
_ADDED_COLUMNS = (
    ("files", "schema", "BLOB"),
    ("sources", "fingerprint", "TEXT"),
    ("sources", "profile", "TEXT"),
    ("sources", "options", "TEXT"),
)


def _read_only_uri(path: Path) -> str:
    """The SQLite URI that opens ``path`` for reading only.

    ``mode=ro`` still shares the write-ahead log with writers, which needs the ``-shm``
    file beside the catalog; in a folder we cannot write, with no ``-wal`` file or an
    empty one (so every commit is in the main file and no writer can start),
    ``immutable=1`` reads the file as it is, without that shared memory or any lock.
    """
    from urllib.parse import quote

    wal = path.with_name(path.name + "-wal")
    pending = wal.exists() and wal.stat().st_size > 0
    folder_writable = os.access(path.parent, os.W_OK)
    flags = "mode=ro" if folder_writable or pending else "mode=ro&immutable=1"
    return f"file:{quote(str(path.resolve()))}?{flags}"


def _can_write(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _wal_files_exist(path: Path) -> bool:
    return any(path.with_name(path.name + suffix).exists() for suffix in ("-wal", "-shm"))


def _let_sqlite_remove_wal_files(path: Path) -> None:
    """Remove the ``-wal`` and ``-shm`` files a read-only connection made beside the
    catalog (it may not remove them itself), so a read leaves the store as it found it.

    SQLite removes them when the last connection that may write closes, after it
    checkpoints the log into the catalog (what a writer committed is kept either way).
    Another connection still open, in this process or another, keeps them, and a read
    that found them leaves them: two reads that overlap may leave them to the next
    write. Nothing is done where the catalog is read-only."""
    if not _can_write(path):
        return
    with suppress(sqlite3.Error):
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        finally:
            db.close()


def _older_layout(path: Path) -> bool:
    """Whether the catalog lacks a table or column this mfq expects."""
    import re

    db = sqlite3.connect(_read_only_uri(path), uri=True)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        expected = set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _DDL))
        if not expected <= tables:
            return True
        for table, column, _kind in _ADDED_COLUMNS:
            if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                return True
        return False
    finally:
        db.close()


class Catalog:
    """Access to one store's catalog database.

    Opened ``writable`` by what writes the store (an ingest, a repair); otherwise
    read-only, so a store on a read-only mount, in a CI cache or owned by another user can
    be queried, and a read never changes a byte of it.
    """

    def __init__(self, path: Path, *, writable: bool = True) -> None:
        self.path = path
        self.writable = writable
        #: A reader that finds no write-ahead log files removes those it made on close.
        self._made_wal_files = not writable and not _wal_files_exist(path)
        try:
            if not writable and _older_layout(path):
                # A catalog from an earlier mfq gains its new (empty) tables and columns
                # once, where that is allowed; a read-only one says how to upgrade it.
                if not _can_write(path):
                    raise StoreCorrupt(
                        f"the store catalog {path} was written by an older mfq and is"
                        " read-only here",
                        hint="open it once where it can be written, e.g. with mfq info",
                    )
                Catalog(path).close()
            self._db = self._connect()
            self._db.execute("PRAGMA synchronous=FULL")
            if writable:
                self._prepare()
        except sqlite3.DatabaseError as err:
            raise StoreCorrupt(f"cannot read the store catalog {path}: {err}") from err

    def _connect(self) -> sqlite3.Connection:
        # Queries of one command may run on several threads (reads only; a write holds
        # the store's lock and runs on one thread).
        if self.writable:
            return sqlite3.connect(
                self.path, timeout=_BUSY_SECONDS, isolation_level=None, check_same_thread=False
            )
        return sqlite3.connect(
            _read_only_uri(self.path),
            uri=True,
            timeout=_BUSY_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )

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
        for table, column, kind in _ADDED_COLUMNS:
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
        if self._made_wal_files:
            _let_sqlite_remove_wal_files(self.path)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            # (An interrupt may land after the body, before COMMIT: the transaction is
            # still open then, and what reads the catalog next must not see its rows.)
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

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
            _insert_files(db, batch_id, batch.files)
            db.executemany(
                "INSERT INTO field_types(batch_id, field, value_class, count) VALUES (?, ?, ?, ?)",
                [
                    (batch_id, name, cls, n)
                    for name, counter in batch.field_types.items()
                    for cls, n in counter.items()
                ],
            )
        return batch_id

    def replace_files(
        self, token: str, committed_at: str, old: Sequence[str], new: Sequence[FileRecord]
    ) -> None:
        """Swap files in one transaction (compaction, pruning): readers list either
        ``old`` or ``new``, never both or neither. ``old`` must all still be listed."""
        with self._transaction() as db:
            listed = _count_listed(db, old)
            if listed != len(set(old)):
                raise StoreCorrupt(
                    f"the catalog changed under a rewrite ({len(old) - listed} files gone)",
                    hint="run the command again",
                )
            cursor = db.execute(
                "INSERT INTO batches(token, committed_at, counters) VALUES (?, ?, ?)",
                (token, committed_at, json.dumps({"rewritten": len(old), "written": len(new)})),
            )
            batch_id = int(cursor.lastrowid or 0)
            for table in ("trace_index", "file_summary", "field_stats", "files"):
                db.executemany(f"DELETE FROM {table} WHERE path = ?", [(p,) for p in old])
            _insert_files(db, batch_id, new)

    def add_field_stats(self, path: str, stats: Sequence[FieldStats]) -> None:
        """Record statistics for a file written by an mfq that kept none."""
        with self._transaction() as db:
            if _count_listed(db, [path]):
                db.execute("DELETE FROM field_stats WHERE path = ?", (path,))
                _insert_stats(db, path, stats)

    def field_stats(self, field: str | None = None) -> list[StatsRow]:
        """The statistics of every events file that has them (rows of
        ``FieldStats.to_row`` with the file's time span), of one field when given."""
        sql = (
            "SELECT s.field, s.present, s.classes, s.vals, s.exact, s.sketch, s.distinct_count,"
            " f.min_ns, f.max_ns FROM field_stats s JOIN files f ON f.path = s.path"
        )
        if field is None:
            return self._db.execute(sql).fetchall()
        return self._db.execute(sql + " WHERE s.field = ?", (field,)).fetchall()

    def file_classes(self, paths: Sequence[str]) -> dict[str, set[str]]:
        """The value classes of each field over these files (from their statistics)."""
        found: dict[str, set[str]] = {}
        for path in paths:
            rows = self._db.execute(
                "SELECT field, classes FROM field_stats WHERE path = ?", (path,)
            )
            for name, classes in rows:
                found.setdefault(name, set()).update(c for c in str(classes).split(",") if c)
        return found

    def files_without_stats(self) -> list[str]:
        """Events files recorded without field statistics (by an earlier mfq)."""
        rows = self._db.execute(
            "SELECT path FROM files f WHERE kind = 'events' AND NOT EXISTS"
            " (SELECT 1 FROM field_stats s WHERE s.path = f.path) ORDER BY path"
        )
        return [row[0] for row in rows]

    def has_fingerprint(self, fingerprint: str) -> bool:
        """True when a source that may have this content was already ingested."""
        row = self._db.execute(
            "SELECT 1 FROM sources WHERE fingerprint = ? LIMIT 1", (fingerprint,)
        ).fetchone()
        return row is not None

    def has_legacy_hash(self, fingerprint: str) -> bool:
        """True when a source with this fingerprint was recorded by an earlier mfq, with a
        SHA-256 content hash (not named ``blake3:``): only then is one worth taking."""
        from mfq.ingest.sources import HASH_PREFIX

        row = self._db.execute(
            "SELECT 1 FROM sources WHERE fingerprint = ? AND substr(content_hash, 1, ?) != ?"
            " LIMIT 1",
            (fingerprint, len(HASH_PREFIX), HASH_PREFIX),
        ).fetchone()
        return row is not None

    def has_source_hash(self, content_hashes: tuple[str, ...], options: str | None = None) -> bool:
        """True when a source with one of these content hashes (the hash, and the SHA-256
        an earlier mfq recorded where it was taken) was already ingested (with these
        options, when given; a source recorded without options had the defaults)."""
        marks = ", ".join("?" * len(content_hashes))
        if options is None:
            row = self._db.execute(
                f"SELECT 1 FROM sources WHERE content_hash IN ({marks}) LIMIT 1",
                tuple(content_hashes),
            ).fetchone()
        else:
            from mfq.ingest.options import DEFAULT_IDENTITY

            row = self._db.execute(
                f"SELECT 1 FROM sources WHERE content_hash IN ({marks})"
                " AND COALESCE(options, ?) = ? LIMIT 1",
                (*content_hashes, DEFAULT_IDENTITY, options),
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
        """Committed files of a kind, ordered by day, then in the order their batches were
        committed (not by name: two batches of one second sort by their random part)."""
        rows = self._db.execute(
            "SELECT path, kind, day, rows, bytes, min_ns, max_ns, schema FROM files WHERE kind = ?"
            " ORDER BY day, batch_id, path",
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
        """Value classes seen per field: over the files now in the store when every file
        has statistics (so compaction and pruning keep them right), else over all batches."""
        result: dict[str, Counter[str]] = {}
        if not self.files_without_stats():
            rows = self._db.execute(
                "SELECT field, classes, SUM(present) FROM field_stats GROUP BY field, classes"
            )
            for name, classes, n in rows:
                for cls in str(classes).split(","):
                    if cls:
                        result.setdefault(name, Counter())[cls] += int(n)
            return result
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
        """Keep ``(id, text, first seen ns)`` templates of ``field`` (known ids unchanged).

        The one write a read command asks for: on a catalog opened read-only it goes
        through a short writable connection where the store may be written, and raises
        SQLite's "attempt to write a readonly database" where it may not."""
        rows = [(field, *row) for row in templates]
        insert = (
            "INSERT OR IGNORE INTO templates(field, id, template, first_seen_ns) "
            "VALUES (?, ?, ?, ?)"
        )
        if self.writable:
            with self._transaction() as db:
                db.executemany(insert, rows)
            return
        if not _can_write(self.path):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        writer = Catalog(self.path)
        try:
            with writer._transaction() as db:
                db.executemany(insert, rows)
        finally:
            writer.close()

    # -- checking and repair (mfq.store.doctor) ---------------------------------------------

    def file_batches(self) -> dict[str, int]:
        """The batch of every committed file (its path -> the batch's id)."""
        rows = self._db.execute("SELECT path, batch_id FROM files")
        return {path: int(batch) for path, batch in rows}

    def batch_sources(self) -> dict[int, list[str]]:
        """The names of every batch's sources (batch id -> names, in ingest order)."""
        found: dict[int, list[str]] = {}
        for batch, name in self._db.execute("SELECT batch_id, name FROM sources ORDER BY id"):
            found.setdefault(int(batch), []).append(name)
        return found

    def integrity_problem(self) -> str | None:
        """What SQLite's own check of the catalog finds (None when it is sound)."""
        rows = [str(row[0]) for row in self._db.execute("PRAGMA quick_check")]
        return None if rows == ["ok"] else "; ".join(rows)

    def drop_files(
        self,
        dropped: Sequence[str],
        replaced: Sequence[tuple[str, FileRecord]],
        reingestable_batches: Sequence[int],
    ) -> None:
        """In one transaction: forget the ``dropped`` files (with every row naming them),
        swap each ``(old path, new record)`` of ``replaced`` (a rebuilt id file, in the
        old one's batch), and forget the content of these batches' sources, so that
        ingesting them again restores the events the dropped files held (the others are
        duplicates)."""
        with self._transaction() as db:
            batch_of = {
                old: db.execute("SELECT batch_id FROM files WHERE path = ?", (old,)).fetchone()[0]
                for old, _new in replaced
            }
            tables = [
                name
                for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                if "path" in {row[1] for row in db.execute(f"PRAGMA table_info({name})")}
            ]
            gone = [(path,) for path in [*dropped, *batch_of]]
            for table in sorted(tables, key=lambda name: name == "files"):  # files last
                db.executemany(f"DELETE FROM {table} WHERE path = ?", gone)
            db.executemany(
                "INSERT INTO files(path, batch_id, kind, day, rows, bytes, min_ns, max_ns)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (new.path, batch_of[old], new.kind, new.day, new.rows, new.bytes, None, None)
                    for old, new in replaced
                ],
            )
            db.executemany(
                "UPDATE sources SET content_hash = NULL, fingerprint = NULL WHERE batch_id = ?",
                [(batch,) for batch in reingestable_batches],
            )


def _count_listed(db: sqlite3.Connection, paths: Sequence[str]) -> int:
    listed = 0
    for path in set(paths):
        listed += db.execute("SELECT COUNT(*) FROM files WHERE path = ?", (path,)).fetchone()[0]
    return listed


def _insert_files(db: sqlite3.Connection, batch_id: int, files: Sequence[FileRecord]) -> None:
    """The rows of new files: the files, their trace index, summaries and statistics."""
    db.executemany(
        "INSERT INTO files(path, batch_id, kind, day, rows, bytes, min_ns, max_ns, schema)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (f.path, batch_id, f.kind, f.day, f.rows, f.bytes, f.min_ns, f.max_ns, f.schema)
            for f in files
        ],
    )
    db.executemany(
        "INSERT INTO trace_index(path, keys) VALUES (?, ?)",
        [(f.path, f.trace_keys) for f in files if f.trace_keys is not None],
    )
    db.executemany(
        "INSERT INTO file_summary(path, summary) VALUES (?, ?)",
        [(f.path, f.summary) for f in files if f.summary is not None],
    )
    for f in files:
        _insert_stats(db, f.path, f.field_stats)


def _insert_stats(db: sqlite3.Connection, path: str, stats: Sequence[FieldStats]) -> None:
    db.executemany(
        "INSERT INTO field_stats(path, field, present, classes, vals, exact, sketch,"
        " distinct_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(path, *s.to_row()) for s in stats],
    )
