"""The Store: the public face of a store directory (ingest, info, schema)."""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mfq.errors import DataError, StoreNotFound
from mfq.ingest.counters import IngestCounters
from mfq.ingest.options import NormalizeOptions
from mfq.settings import DEFAULT_SETTINGS, Settings
from mfq.store.catalog import BatchRecord, Catalog, SourceRecord
from mfq.store.layout import StoreLayout

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mfq.ingest.pipeline import SourceReading
    from mfq.ingest.sources import Source
    from mfq.query.engines import Engine
    from mfq.query.expr import FieldSchema, FieldType
    from mfq.query.spec import QueryKind, QuerySpec
    from mfq.report import Report
    from mfq.store.writer import BatchWriter

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
        """The summary as the ``ingest`` output shape (SPEC's columns first); the
        messages (``refusals``, ``notes``) are for stderr."""
        shown = asdict(self)
        del shown["refusals"], shown["notes"]
        return shown

    @property
    def refused_all(self) -> bool:
        """True when records were rejected and none was stored (nor already stored)."""
        return self.rejected > 0 and self.ingested == 0 and self.duplicates == 0


def resolve_store_path(path: str | os.PathLike[str] | None) -> Path:
    """``--store``, else ``$MFQ_STORE``, else ``./.mfq``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = False,
    settings: Settings = DEFAULT_SETTINGS,
    engine: str = "pandas",
    scheduler: str | None = None,
) -> Store:
    """The store at ``path`` (see ``resolve_store_path``), queried with ``engine``.

    A store that does not exist yet is created by its first ``ingest`` (or at once with
    ``create=True``); reading an absent store raises ``StoreNotFound``. With
    ``engine="dask"``, queries run on the Dask cluster at ``scheduler`` (else
    ``$MFQ_DASK_SCHEDULER``, else a local cluster started on the first query and stopped
    by ``close``).
    """
    root = resolve_store_path(path)
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} exists and is not a directory")
    store = Store(StoreLayout(root), settings, engine=engine, scheduler=scheduler)
    if create:
        store.create()
    return store


class Store:
    """A store directory: Parquet events partitioned by UTC date plus a SQLite catalog."""

    def __init__(
        self,
        layout: StoreLayout,
        settings: Settings = DEFAULT_SETTINGS,
        *,
        engine: str = "pandas",
        scheduler: str | None = None,
    ) -> None:
        from mfq.query.engines import open_engine

        self.layout = layout
        self.settings = settings
        self._catalog: Catalog | None = None
        self._engine: Engine = open_engine(engine, scheduler)
        #: Derived fields every query and analysis knows, in order (``NAME=EXPR``).
        self._definitions: list[tuple[str, str]] = []

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def catalog(self) -> Catalog:
        """The catalog; ``StoreNotFound`` when the store was never created."""
        if self._catalog is None:
            if not self.layout.catalog.exists():
                raise StoreNotFound(
                    f"no store at {self.root}", hint="ingest an export first: mfq ingest FILE"
                )
            self._catalog = Catalog(self.layout.catalog)
        return self._catalog

    def exists(self) -> bool:
        """True once the store has a catalog."""
        return self.layout.catalog.exists()

    def create(self) -> None:
        """Make the store directory and its empty catalog (no-op when they exist)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self._catalog is None:
            self._catalog = Catalog(self.layout.catalog)

    def close(self) -> None:
        """Release the catalog connection and the engine's cluster or client, if any."""
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        self._engine.close()

    @property
    def engine(self) -> str:
        """The name of the engine queries run on (``pandas`` or ``dask``)."""
        return self._engine.name

    def use_engine(self, name: str, scheduler: str | None = None) -> None:
        """Run the following queries on engine ``name`` (see ``open_store``)."""
        from mfq.query.engines import open_engine

        engine = open_engine(name, scheduler)
        self._engine.close()
        self._engine = engine

    def __enter__(self) -> Store:
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
    ) -> IngestSummary:
        """Validate and store the events of ``paths`` (files, directories, globs, ``-``).

        The whole call is one batch: visible to readers only once it commits. With
        ``strict``, nothing is committed when any record is rejected.
        """
        from mfq.ingest.sources import expand_sources
        from mfq.store.lock import write_lock

        started = time.perf_counter()
        names = [str(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
        sources = expand_sources(names)
        self.create()
        with write_lock(self.layout.lock, self.settings.lock_timeout_seconds):
            self._remove_orphans()
            summary = self._ingest_locked(sources, strict, options or NormalizeOptions(), progress)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _ingest_locked(
        self,
        sources: list[Source],
        strict: bool,
        options: NormalizeOptions,
        progress: ProgressCallback | None,
    ) -> IngestSummary:
        from mfq.store import ids
        from mfq.store.writer import BatchWriter

        index = ids.IdIndex.load([self.root / f.path for f in self.catalog.files("ids")])
        token = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)
        writer = BatchWriter(self.layout, self.settings, index, token)
        summary = IngestSummary(sources=len(sources))
        totals = IngestCounters()
        reasons: Counter[str] = Counter()
        records: list[SourceRecord] = []
        seen: dict[str, str | None] = {}  # fingerprint -> content hash, this run
        identity = options.identity()
        profiles: Counter[str] = Counter()
        try:
            for position, source in enumerate(sources):
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
                    reading, (position, len(sources)), writer, reasons, progress, identity
                )
                profiles[reading.profile] += 1
                if outcome.refusal is not None:
                    summary.refusals.append(outcome.refusal)
                record = outcome.record
                if record.fingerprint is not None:
                    seen[record.fingerprint] = record.content_hash
                records.append(record)
                totals.add(IngestCounters(**record.counters))
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
            writer.discard()
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
        content_hash = source.content_hash()  # a full read, only for likely repeats
        if content_hash is None:
            return _Repeat.NEW
        if content_hash in seen.values() or self.catalog.has_source_hash(content_hash, identity):
            return _Repeat.SAME
        if self.catalog.has_source_hash(content_hash):
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
        writer: BatchWriter,
        reasons: Counter[str],
        progress: ProgressCallback | None,
        identity: str,
    ) -> _SourceOutcome:
        from mfq.ingest.refusal import RejectKeys, refusal_message
        from mfq.store.drift import add_day_fields

        source = reading.source
        counters = IngestCounters()
        rejected = RejectKeys()
        day_fields: dict[str, dict[str, Counter[str]]] = {}
        for chunk in reading.chunks:
            ingested, duplicates = writer.add(chunk, source.name)
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

    def _remove_orphans(self) -> None:
        """Delete what a crashed ingest left: tmp files and files the catalog never saw."""
        shutil.rmtree(self.layout.tmp, ignore_errors=True)
        known = self.catalog.all_paths()
        for directory in (self.layout.events, self.layout.rejects, self.layout.ids):
            for path in _files_under(directory):
                if self.layout.relative(path) not in known:
                    path.unlink(missing_ok=True)

    # -- reading ----------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Events, time range, sources, bytes on disk, distinct projects and types."""
        from mfq.store.stats import store_info

        return store_info(self)

    # -- queries ----------------------------------------------------------------------------

    def define_fields(self, definitions: Sequence[str | tuple[str, str]]) -> None:
        """Add derived fields (``NAME=EXPR`` texts or (name, expression) pairs) that every
        later query and analysis of this store knows, as ``--let`` and ``[fields]`` in
        ``mfq.toml`` do; each may use the ones before it. A mistake raises at once."""
        from mfq.query.build import let_definition

        pairs = [let_definition(d) if isinstance(d, str) else d for d in definitions]
        before = list(self._definitions)
        self._definitions += pairs
        try:
            self.field_types()
        except Exception:
            self._definitions = before
            raise

    def field_types(self) -> FieldSchema:
        """Every field's type (mixed fields are text), for checking expressions, and the
        derived fields defined (:meth:`define_fields`)."""
        from mfq.query.build import define_fields

        return define_fields(self._stored_types(), self._definitions)

    def _stored_types(self) -> dict[str, FieldType]:
        from mfq.query.expr import STANDARD_FIELD_TYPES, FieldType

        types: dict[str, FieldType] = dict(STANDARD_FIELD_TYPES)
        for name, classes in self.catalog.field_types().items():
            if name in types:
                continue
            kinds = {c for c, n in classes.items() if n}
            if kinds == {"integer"}:
                types[name] = FieldType.INTEGER
            elif kinds and kinds <= {"integer", "float"}:
                types[name] = FieldType.FLOAT
            elif kinds == {"boolean"}:
                types[name] = FieldType.BOOLEAN
            elif kinds == {"timestamp"}:
                types[name] = FieldType.TIMESTAMP
            else:
                types[name] = FieldType.STRING
        return types

    def run(self, spec: QuerySpec) -> pd.DataFrame:
        """Execute a query description with the store's engine."""
        return self._engine.execute(self, spec)

    def run_many(self, specs: list[QuerySpec]) -> list[pd.DataFrame]:
        """Execute several query descriptions at once; the engine may share work between
        them (the pandas engine reads the events once for aggregates over the same rows)."""
        return self._engine.execute_many(self, specs)

    def run_table(self, spec: QuerySpec) -> pa.Table:
        """Execute a query description; the answer as a pyarrow Table. The pandas engine
        answers most descriptions without pandas; integer columns with nulls stay integer."""
        return self._engine.execute_table(self, spec)

    def query(self, **options: Any) -> pd.DataFrame:
        """Aggregate events: ``where``, ``group_by``, ``aggs``, ``having``, ``order_by``,
        ``limit``, ``since``/``until``/``last`` (see ``mfq.query.build``)."""
        from mfq.query.spec import QueryKind

        return self.run(self._spec(QueryKind.AGGREGATE, options))

    def events(self, **options: Any) -> pd.DataFrame:
        """Raw matching events: ``where``, ``fields``, ``sort``, ``limit``, time range."""
        from mfq.query.spec import QueryKind

        return self.run(self._spec(QueryKind.EVENTS, options))

    def timeseries(self, **options: Any) -> pd.DataFrame:
        """Aggregates per time bucket: ``every``, ``by``, ``top``, ``aggs``, time range."""
        from mfq.query.spec import QueryKind

        return self.run(self._spec(QueryKind.TIMESERIES, options))

    def query_table(self, **options: Any) -> pa.Table:
        """:meth:`query` as a pyarrow Table (integer columns with nulls stay integer)."""
        from mfq.query.spec import QueryKind

        return self.run_table(self._spec(QueryKind.AGGREGATE, options))

    def events_table(self, **options: Any) -> pa.Table:
        """:meth:`events` as a pyarrow Table."""
        from mfq.query.spec import QueryKind

        return self.run_table(self._spec(QueryKind.EVENTS, options))

    def timeseries_table(self, **options: Any) -> pa.Table:
        """:meth:`timeseries` as a pyarrow Table."""
        from mfq.query.spec import QueryKind

        return self.run_table(self._spec(QueryKind.TIMESERIES, options))

    def _spec(self, kind: QueryKind, options: dict[str, Any]) -> QuerySpec:
        from mfq.query.build import build_spec

        return build_spec(self, kind, **options)

    # -- analyses (mfq.analysis) ------------------------------------------------------------

    def correlate(self, **options: Any) -> pd.DataFrame:
        """What distinguishes a selection (``where``) from a baseline (``baseline`` or the
        rest): every field's values ranked by over-representation."""
        from mfq.analysis.correlate import correlate

        return correlate(self, **options)

    def patterns(
        self,
        *,
        field: str = "message",
        where: str | Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: datetime | str | None = None,
        baseline_since: str | None = None,
        baseline_until: str | None = None,
        limit: int | None = None,
        unweighted: bool = False,
    ) -> pd.DataFrame:
        """The messages of ``field`` grouped into templates (typed placeholders for
        numbers, ids, addresses, paths, quoted values), each with count, share, first and
        last seen, services and an example; with ``baseline_since`` (and
        ``baseline_until``, default ``since``), each marked new, gone, grown, shrunk or
        steady against that period. Template ids are kept in the store."""
        from mfq.analysis.patterns import PatternOptions, patterns

        options = PatternOptions(
            field=field, baseline_since=baseline_since, baseline_until=baseline_until, limit=limit
        )
        return patterns(
            self,
            options,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
        )

    def changes(
        self,
        *,
        field: str = "version",
        by: Sequence[str] | None = None,
        bad: str | None = None,
        markers: str | None = None,
        where: str | Sequence[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: datetime | str | None = None,
        unweighted: bool = False,
    ) -> pd.DataFrame:
        """Releases inferred from ``field`` per group of ``by`` (default: service and
        region, those the store has): each value's first and last seen, events, and the
        ``bad`` ratio (default ``status = 'error'``) before and after it arrived, as a
        rollout, rollback, retired or steady; events matching ``markers`` are changes
        too."""
        from mfq.analysis.changes import DEFAULT_BAD, ChangeOptions, changes

        options = ChangeOptions(
            field=field,
            by=None if by is None else tuple(by),
            bad=bad or DEFAULT_BAD,
            markers=markers,
        )
        return changes(
            self,
            options,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
        )

    def anomalies(self, **options: Any) -> pd.DataFrame:
        """Time buckets (per ``by`` group) whose value departs from the expected level."""
        from mfq.analysis.anomalies import anomalies

        return anomalies(self, **options)

    def trace(self, trace_id: str, **options: Any) -> pd.DataFrame:
        """One trace's spans and events in tree order, with depth and offsets."""
        from mfq.analysis.trace import trace

        return trace(self, trace_id, **options)

    def timeline(self, **options: Any) -> pd.DataFrame:
        """Chronological matching events, bursts collapsed, with the incident's markers."""
        from mfq.analysis.timeline import timeline

        return timeline(self, **options)

    def slo(self, **options: Any) -> pd.DataFrame:
        """One objective: compliance, error budget left, burn rate, incidents and MTTR."""
        from mfq.analysis.slo import slo

        return slo(self, **options)

    def slo_incidents(self, **options: Any) -> pd.DataFrame:
        """The episodes ``slo`` counts as incidents: start, end, time to recover."""
        from mfq.analysis.slo import slo_incidents

        return slo_incidents(self, **options)

    def check(self, assertions: list[str] | str, **options: Any) -> pd.DataFrame:
        """CI assertions over aggregates (``"ratio(status = 'error') < 0.02"``): one row
        per assertion with its value and whether it passed."""
        from mfq.analysis.check import check

        return check(self, [assertions] if isinstance(assertions, str) else assertions, **options)

    def report(self, **options: Any) -> Report:
        """A period's event-pattern report (``week`` or ``since``/``until``): the sections
        as data, rendered by ``mfq.report`` as Markdown or HTML."""
        from mfq.report.build import build_report

        return build_report(self, **options)

    def rejects(self, *, code: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Rejected records, oldest first: source, number (line or record), code, reason, raw."""
        from mfq.store.stats import store_rejects

        return store_rejects(self, code=code, limit=limit)

    def rejects_summary(self) -> pd.DataFrame:
        """Rejects counted by source and reason, with the keys those records do have."""
        from mfq.store.stats import store_rejects_summary

        return store_rejects_summary(self)

    def schema(self) -> pd.DataFrame:
        """One row per field: type, % present, distinct count, top values, mixed flag."""
        from mfq.store.stats import store_schema

        return store_schema(self)

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


def _files_under(directory: Path) -> Iterator[Path]:
    if not directory.exists():
        return
    for root, _dirs, names in os.walk(directory):
        for name in names:
            yield Path(root) / name
