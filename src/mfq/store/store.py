"""Storage: a store directory's ingest, upkeep and catalog (the public ``Store`` is in
``mfq.api``)."""

from __future__ import annotations

import errno
import functools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from mfq.errors import DataError, NoSpace, StoreCorrupt, StoreNotFound
from mfq.ingest.counters import IngestCounters
from mfq.settings import DEFAULT_SETTINGS, Settings
from mfq.store.layout import StoreLayout

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mfq.ingest.options import NormalizeOptions
    from mfq.ingest.pipeline import SourceReading
    from mfq.ingest.sources import Source
    from mfq.store.catalog import Catalog, FileRecord, SourceRecord
    from mfq.store.compact import CompactionResult
    from mfq.store.doctor import Checkup
    from mfq.store.prune import PruneResult
    from mfq.store.writer import BatchWriter

_Method = TypeVar("_Method", bound=Callable[..., Any])

DEFAULT_STORE = ".mfq"
STORE_ENV = "MFQ_STORE"


@dataclass(frozen=True)
class IngestProgress:
    """Where an ingest is: the source being read, and how far."""

    source: str
    source_index: int
    sources: int
    records: int
    bytes_done: int | None
    bytes_total: int | None


ProgressCallback = Callable[[IngestProgress], None]


@dataclass
class IngestSummary:
    """What one ingest did. ``read == ingested + duplicates + rejected`` always holds."""

    sources: int = 0
    read: int = 0
    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    warnings: int = 0
    seconds: float = 0.0
    skipped_sources: int = 0
    committed: bool = True
    derived_ids: int = 0
    redacted: int = 0
    naive_timestamps: int = 0
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    #: Symbolic links met in a folder that point nowhere: skipped, named here.
    dangling_links: list[str] = field(default_factory=list)
    #: Damaged id-hash files rebuilt from their batch's event files before reading.
    rebuilt_id_files: list[str] = field(default_factory=list)

    #: Sources read per format profile (``default``: no profile fitted).
    profiles: dict[str, int] = field(default_factory=dict)
    #: Files of a directory or glob that are not JSON, skipped.
    skipped_files: int = 0
    #: Sources read again because they were stored with other options.
    reread_sources: int = 0
    #: One line per source that stored nothing while rejecting records (see ``refusal``).
    refusals: list[str] = field(default_factory=list)
    #: One line per skipped file or re-read source, saying which and why.
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The summary as the ``ingest`` output shape (SPEC's columns first); the lists
        of things met only on a damaged store or folder appear when not empty; the
        messages (``refusals``, ``notes``) are for stderr."""
        shape = asdict(self)
        del shape["refusals"], shape["notes"]
        for rare in ("dangling_links", "rebuilt_id_files"):
            if not shape[rare]:
                del shape[rare]
        return shape

    @property
    def refused_all(self) -> bool:
        """True when records were rejected and none was stored (nor already stored)."""
        return self.rejected > 0 and self.ingested == 0 and self.duplicates == 0


def _reading(method: _Method) -> _Method:
    """Run a reading method under the store's shared read lock, so no compaction or prune
    deletes the files it lists before it is done with them."""

    @functools.wraps(method)
    def read(storage: Storage, *args: Any, **kwargs: Any) -> Any:
        with storage.reading():
            return method(storage, *args, **kwargs)

    return cast("_Method", read)


def resolve_store_path(path: str | os.PathLike[str] | None) -> Path:
    """``--store``, else ``$MFQ_STORE``, else ``./.mfq``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def open_storage(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = False,
    settings: Settings = DEFAULT_SETTINGS,
) -> Storage:
    """The storage of the store at ``path`` (see ``resolve_store_path``).

    A store that does not exist yet is created by its first ``ingest`` (or at once with
    ``create=True``); reading an absent store raises ``StoreNotFound``. Queries and
    analyses go through ``mfq.open_store``, which wraps this with an engine.
    """
    root = resolve_store_path(path)
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} exists and is not a directory")
    storage = Storage(StoreLayout(root), settings)
    if create:
        storage.create()
    return storage


class Storage:
    """A store directory: Parquet events partitioned by UTC date plus a SQLite catalog.

    Storage only: ingest, upkeep, the catalog and what it records (info, schema,
    rejects). It knows no queries; ``mfq.query`` reads it through ``EventSource``."""

    #: Events held in memory instead of files (a file read directly, ``mfq.query.direct``);
    #: None for a store on disk.
    held_events: pa.Table | None = None

    def __init__(self, layout: StoreLayout, settings: Settings = DEFAULT_SETTINGS) -> None:
        self.layout = layout
        self.settings = settings
        self._catalog: Catalog | None = None

    @property
    def root(self) -> Path:
        """The store directory."""
        return self.layout.root

    @property
    def catalog(self) -> Catalog:
        """The catalog (read-only unless this store was written to); ``StoreNotFound``
        when the store was never created."""
        if self._catalog is None:
            if not self.layout.catalog.exists():
                raise StoreNotFound(
                    f"no store at {self.root}", hint="ingest an export first: mfq ingest FILE"
                )
            from mfq.store.catalog import Catalog  # (with sqlite3: a file read directly has none)

            self._catalog = Catalog(self.layout.catalog, writable=False)
        return self._catalog

    def files(self, kind: str = "events") -> list[FileRecord]:
        """The committed files of a kind (``events``, ``rejects``, ``ids``), each checked
        to be on disk as the catalog recorded it: a missing, emptied or truncated file
        raises ``StoreCorrupt`` naming it, so no answer leaves its events out unsaid."""
        from mfq.store.damage import check_present

        records = self.catalog.files(kind)
        check_present(self.root, records)
        return records

    def exists(self) -> bool:
        """True once the store has a catalog."""
        return self.layout.catalog.exists()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the store's shared read lock while listing and reading its files, so no
        compaction or prune deletes them before the reader is done."""
        if not self.root.is_dir():
            yield
            return
        from mfq.store.readers import reading

        with reading(self.layout):
            yield

    def create(self) -> None:
        """Make the store directory and its empty catalog, and open the catalog for
        writing (no-op when they exist and it is)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self._catalog is not None and not self._catalog.writable:
            self._catalog.close()
            self._catalog = None
        if self._catalog is None:
            from mfq.store.catalog import Catalog

            self._catalog = Catalog(self.layout.catalog)

    def _open_for_writing(self) -> None:
        """Reopen an existing store's catalog for writing (``StoreNotFound`` first when
        there is none, before any lock file is made)."""
        _ = self.catalog
        self.create()

    def close(self) -> None:
        """Release the catalog connection."""
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingest ---------------------------------------------------------------------------

    def ingest(
        self,
        paths: list[str] | list[Path] | str | Path,
        *,
        strict: bool = False,
        options: NormalizeOptions | None = None,
        progress: ProgressCallback | None = None,
        compact: bool = False,
    ) -> IngestSummary:
        """Validate and store the events of ``paths`` (files, directories, globs, ``-``).

        The whole call is one batch: visible to readers only once it commits. With
        ``strict``, nothing is committed when any record is rejected. With ``compact``,
        the days the batch wrote to are compacted after it commits (see ``compact``).
        """
        # Ingest's modules load when it runs: a query opens the store without them.
        from mfq.ingest.options import NormalizeOptions
        from mfq.ingest.sources import expand_sources
        from mfq.store.lock import write_lock

        started = time.perf_counter()
        names = [str(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
        sources = expand_sources(names)
        with _disk_full_as_no_space(self.root):
            self.create()
            self._check_layout()
            with write_lock(self.layout.lock, self.settings.lock_timeout_seconds):
                self._remove_orphans()
                before = {f.path for f in self.catalog.files("events")}
                try:
                    summary = self._ingest_locked(
                        sources, strict, options or NormalizeOptions(), progress
                    )
                except KeyboardInterrupt:
                    # Ctrl-C or SIGTERM after the batch's files were moved in, before its
                    # commit: remove them now rather than at the next write (the catalog
                    # says which are the batch's: none, unless its commit was done).
                    self._remove_orphans()
                    raise
                if compact and summary.committed:
                    from mfq.store.compact import DayWindow, compact_days

                    touched = {f.day for f in self.catalog.files("events") if f.path not in before}
                    window = DayWindow(days=frozenset(d for d in touched if d))
                    compact_days(self.layout, self.catalog, self.settings, window)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _ingest_locked(
        self,
        sources: list[Source],
        strict: bool,
        options: NormalizeOptions,
        progress: ProgressCallback | None,
    ) -> IngestSummary:
        import secrets

        from mfq.store import idfiles, ids
        from mfq.store.catalog import BatchRecord

        token = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
        # The stored id hashes are read (and damaged ones rebuilt, or the damage reported)
        # before any input is: a store that cannot take the batch says so at once, not
        # after the first chunk (standard input left open: never).
        stored, rebuilt = idfiles.stored_hashes(self.root, self.catalog)
        summary = IngestSummary(sources=len(sources), rebuilt_id_files=rebuilt)
        made: list[BatchWriter] = []

        def batch() -> BatchWriter:
            """The batch's writer, made when the first chunk comes: its modules (the
            Parquet writer, statistics, summaries) load while the parse workers parse,
            not before the first source is opened."""
            if not made:
                from mfq.store.writer import BatchWriter

                made.append(BatchWriter(self.layout, self.settings, ids.IdIndex(stored), token))
            return made[0]

        totals = IngestCounters()
        reasons: Counter[str] = Counter()
        records: list[SourceRecord] = []
        seen: dict[str, str | None] = {}  # fingerprint -> content hash, this run
        identity = options.identity()
        profiles: Counter[str] = Counter()
        try:
            for position, source in enumerate(sources):
                if source.path is not None and _dangling(source.path):
                    summary.dangling_links.append(source.name)
                    continue
                repeat = self._already_ingested(source, seen, identity)
                if repeat is _Repeat.SAME:
                    summary.skipped_sources += 1
                    continue
                if repeat is _Repeat.OTHER_OPTIONS:
                    summary.reread_sources += 1
                    summary.notes.append(
                        f"{source.name}: read again: stored before with other options"
                        " (profile, --map, --assume-tz or redaction)"
                    )
                reading = self._open_source(source, options, summary)
                if reading is None:
                    continue
                outcome = self._ingest_source(
                    reading, (position, len(sources)), batch, reasons, progress, identity
                )
                profiles[reading.profile] += 1
                if outcome.refusal is not None:
                    summary.refusals.append(outcome.refusal)
                record = outcome.record
                if record.fingerprint is not None:
                    seen[record.fingerprint] = record.content_hash
                records.append(record)
                totals.add(IngestCounters(**record.counters))
            writer = batch()
            files = writer.finish()
            _fill_summary(summary, totals, reasons)
            summary.profiles = dict(sorted(profiles.items()))
            if strict and totals.rejected:
                summary.committed = False
                writer.discard()
                return summary
            writer.publish()
            self.catalog.commit_batch(
                BatchRecord(
                    token=token,
                    committed_at=datetime.now(UTC).isoformat(),
                    counters=asdict(totals),
                    sources=records,
                    files=files,
                    field_types=writer.type_counts.counts,
                )
            )
        finally:
            for made_writer in made:
                made_writer.discard()
        return summary

    def _already_ingested(
        self, source: Source, seen: dict[str, str | None], identity: str
    ) -> _Repeat:
        """Re-ingesting a file with the same options is a no-op: same content as a stored
        (or just read) source. The same content stored with other options is read again."""
        fingerprint = source.fingerprint()
        if fingerprint is None:
            return _Repeat.NEW  # stdin: its duplicates are found event by event
        if fingerprint not in seen and not self.catalog.has_fingerprint(fingerprint):
            return _Repeat.NEW
        # A full read, only for likely repeats; a source an earlier mfq recorded has a
        # SHA-256 where this one records BLAKE3, so that is taken too (in the same read)
        # only when a source of this fingerprint has one.
        hashes = source.content_hashes(legacy=self.catalog.has_legacy_hash(fingerprint))
        if hashes is None:
            return _Repeat.NEW
        if hashes[0] in seen.values() or self.catalog.has_source_hash(hashes, identity):
            return _Repeat.SAME
        if self.catalog.has_source_hash(hashes):
            return _Repeat.OTHER_OPTIONS
        return _Repeat.NEW

    def _open_source(
        self, source: Source, options: NormalizeOptions, summary: IngestSummary
    ) -> SourceReading | None:
        """The source opened for reading; None for a file of a directory or glob that is
        not JSON (skipped with a note; a file named explicitly still fails)."""
        from mfq.errors import InputUnreadable
        from mfq.ingest.pipeline import read_source

        try:
            return read_source(source, options, self.settings)
        except InputUnreadable as err:
            if source.named:
                raise
            summary.skipped_files += 1
            summary.notes.append(f"skipped {err.message}")
            return None

    def _ingest_source(
        self,
        reading: SourceReading,
        position: tuple[int, int],
        batch: Callable[[], BatchWriter],
        reasons: Counter[str],
        progress: ProgressCallback | None,
        identity: str,
    ) -> _SourceOutcome:
        from mfq.ingest.refusal import RejectKeys, refusal_message
        from mfq.store.catalog import SourceRecord
        from mfq.store.drift import add_day_fields

        source = reading.source
        counters = IngestCounters()
        rejected = RejectKeys()
        day_fields: dict[str, dict[str, Counter[str]]] = {}
        for chunk in reading.chunks:
            ingested, duplicates = batch().add(chunk, source.name)
            chunk.counters.ingested = ingested
            chunk.counters.duplicates = duplicates
            counters.add(chunk.counters)
            reasons.update(r.code for r in chunk.rejects)
            for reject in chunk.rejects:
                rejected.add(reject.code, reject.raw)
            add_day_fields(chunk.table, day_fields)
            if progress is not None:
                progress(
                    IngestProgress(
                        source.name,
                        position[0],
                        position[1],
                        counters.read,
                        reading.bytes_done(),
                        reading.bytes_total,
                    )
                )
        refusal = None
        if counters.rejected and not counters.ingested and not counters.duplicates:
            refusal = refusal_message(source.name, counters.read, rejected, reading.mapping)
        record = SourceRecord(
            name=source.name,
            content_hash=reading.content_hash(),
            fingerprint=reading.fingerprint(),
            size=reading.bytes_total,
            container=str(reading.container),
            compression=reading.compression,
            counters=asdict(counters),
            profile=reading.profile,
            options=identity,
            day_fields=day_fields,
        )
        return _SourceOutcome(record, refusal)

    def _check_layout(self) -> None:
        """A store folder that is a file, or a lock that is a folder, stops an ingest
        with one line naming it (before anything is written)."""
        from mfq.store.damage import DOCTOR_HINT, wrong_kinds

        layout = self.layout
        folders = (layout.events, layout.rejects, layout.ids, layout.tmp)
        for path, what in wrong_kinds(self.root, folders, layout.lock):
            raise StoreCorrupt(f"damaged store {self.root}: {path} is {what}", hint=DOCTOR_HINT)

    def _remove_orphans(self) -> None:
        """Delete what a killed write left (tmp files, files the catalog never listed) and
        the files a compaction or prune retired, unless a reader is reading them."""
        from mfq.store.readers import clean_leftovers

        clean_leftovers(self.layout, self.catalog)

    # -- upkeep -------------------------------------------------------------------------------

    def compact(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> CompactionResult:
        """Rewrite each day's small files as few large ones sorted by time (only days
        meeting ``[since, until)`` when given), in one catalog swap; a no-op on a compact
        store. Readers see the old files or the new ones, never both or neither."""
        from mfq.store.compact import DayWindow, compact_days
        from mfq.store.lock import write_lock

        self._open_for_writing()
        with write_lock(self.layout.lock, self.settings.lock_timeout_seconds):
            return compact_days(
                self.layout, self.catalog, self.settings, DayWindow(since=since, until=until)
            )

    def prune(self, before: datetime, *, dry_run: bool = False) -> PruneResult:
        """Remove every event before ``before`` (naive means UTC) and its id hash: whole
        days dropped, the day ``before`` cuts rewritten, in one catalog swap. With
        ``dry_run``, only count what would go."""
        from mfq.store.lock import write_lock
        from mfq.store.prune import prune
        from mfq.store.readers import reading

        moment = before if before.tzinfo is not None else before.replace(tzinfo=UTC)
        if dry_run:  # a reader: it reads the cut files' times
            with reading(self.layout):
                return prune(self.layout, self.catalog, self.settings, moment, dry_run=True)
        self._open_for_writing()
        with write_lock(self.layout.lock, self.settings.lock_timeout_seconds):
            return prune(self.layout, self.catalog, self.settings, moment, dry_run=False)

    # -- reading ----------------------------------------------------------------------------

    @_reading
    def info(self) -> dict[str, Any]:
        """Events, time range, sources, bytes on disk, distinct projects and types."""
        from mfq.store.stats import store_info

        return store_info(self)

    @_reading
    def rejects(self, *, code: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Rejected records, oldest first: source, number (line or record), code, reason, raw."""
        from mfq.store.stats import store_rejects

        return store_rejects(self, code=code, limit=limit)

    def doctor(self, *, repair: bool = False) -> Checkup:
        """Check the catalog, every listed file against what the catalog recorded, the id
        hashes and leftovers; with ``repair``, drop what is damaged in one transaction
        (see ``mfq.store.doctor``)."""
        from mfq.store import doctor

        if not repair:
            return doctor.diagnose(self)
        with _disk_full_as_no_space(self.root):
            return doctor.repair(self)

    def rejects_summary(self) -> pd.DataFrame:
        """Rejects counted by source and reason, with the keys those records do have."""
        from mfq.store.stats import store_rejects_summary

        return store_rejects_summary(self)

    @_reading
    def schema(self, *, exact: bool = False) -> pd.DataFrame:
        """One row per field: type, % present, distinct count, top values, mixed flag.

        Answered from the catalog's field statistics: distinct counts and top value counts
        that are estimates read ``~N``; ``exact=True`` reads every event instead."""
        from mfq.store.stats import store_schema

        return store_schema(self, exact=exact)

    @_reading
    def schema_records(self, *, exact: bool = False) -> list[dict[str, Any]]:
        """:meth:`schema`'s rows as dicts, without pandas (what ``mfq schema`` prints)."""
        from mfq.store.stats import schema_records

        return schema_records(self, exact=exact)

    def schema_drift(self) -> pd.DataFrame:
        """Per UTC day: fields that appeared, vanished or changed type, and in which
        sources (``day``, ``field``, ``change``, ``types``, ``sources``)."""
        from mfq.store.stats import store_drift

        return store_drift(self)


class _Repeat(Enum):
    """Whether a source was stored before."""

    NEW = "new"
    SAME = "same"  # same content, same options: nothing to do
    OTHER_OPTIONS = "other_options"  # same content, other options: read again


@dataclass(frozen=True)
class _SourceOutcome:
    record: SourceRecord
    refusal: str | None


def _fill_summary(summary: IngestSummary, totals: IngestCounters, reasons: Counter[str]) -> None:
    summary.read = totals.read
    summary.ingested = totals.ingested
    summary.duplicates = totals.duplicates
    summary.rejected = totals.rejected
    summary.warnings = totals.warnings
    summary.derived_ids = totals.derived_ids
    summary.redacted = totals.redacted
    summary.naive_timestamps = totals.naive_timestamps
    summary.rejects_by_reason = dict(sorted(reasons.items()))


@contextmanager
def _disk_full_as_no_space(root: Path) -> Iterator[None]:
    """A full disk (a Parquet or id file that cannot be written, or SQLite's "database or
    disk is full") as one line: the batch commits whole or not at all, so it did not."""
    import sqlite3

    try:
        yield
    except (OSError, sqlite3.OperationalError) as err:
        if not _is_disk_full(err):
            raise
        raise NoSpace(
            f"no space left on the device of the store {root}; nothing was committed",
            hint="free some space, then try again",
        ) from err


def _is_disk_full(err: BaseException) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(err)
    return "No space left on device" in text or "database or disk is full" in text


def _dangling(path: Path) -> bool:
    """A symbolic link to nothing (a folder walk lists it; there is nothing to read)."""
    return path.is_symlink() and not path.exists()
