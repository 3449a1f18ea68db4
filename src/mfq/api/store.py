"""``open_store`` and the ``Store`` users hold: storage, queries and analyses in one object.

Every method takes explicit keyword options and answers a DataFrame (or a ``Report``,
``IngestSummary``...), as the command of the same name prints it. The selection options
are the same everywhere:

- ``where``: filter expressions (a text or several, all must hold);
- ``since`` / ``until``: the time range (ISO instants, dates, or ``-2h``-style offsets
  from ``now``); ``last``: the range ``last`` long ending at ``now``;
- ``now``: the moment relative times count from (default: the clock);
- ``unweighted``: count stored events, ignoring ``sample_rate``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from mfq.analysis.anomalies import DEFAULT_MIN_CHANGE, DEFAULT_THRESHOLD, anomalies
from mfq.analysis.changes import find_changes
from mfq.analysis.check import check
from mfq.analysis.correlate import correlate
from mfq.analysis.funnel import dropped_at, funnel, why
from mfq.analysis.paths import paths
from mfq.analysis.patterns import find_patterns
from mfq.analysis.sessions import sessions
from mfq.analysis.slo import slo, slo_incidents
from mfq.analysis.timeline import DEFAULT_GAP as TIMELINE_GAP
from mfq.analysis.timeline import timeline
from mfq.analysis.trace import trace
from mfq.ingest.options import NormalizeOptions
from mfq.query.build import build_spec
from mfq.query.engines import DEFAULT_ENGINE
from mfq.query.source import StoreQueries
from mfq.query.spec import QueryKind
from mfq.report.build import build_report
from mfq.report.settings import DEFAULT_REPORT_SETTINGS, ReportSettings
from mfq.settings import DEFAULT_SETTINGS, Settings
from mfq.store.store import IngestSummary, ProgressCallback, Storage, open_storage

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mfq.model.answer import Answer
    from mfq.query.expr import FieldSchema
    from mfq.query.spec import QuerySpec
    from mfq.report import Report
    from mfq.report.questions import SavedQuestion
    from mfq.store.catalog import Catalog, FileRecord
    from mfq.store.compact import CompactionResult
    from mfq.store.doctor import Checkup
    from mfq.store.layout import StoreLayout
    from mfq.store.prune import PruneResult

__all__ = ["Store", "open_store"]

_Frame = TypeVar("_Frame")
Where = str | Sequence[str] | None
Instant = datetime | str | None


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = False,
    settings: Settings = DEFAULT_SETTINGS,
    engine: str = DEFAULT_ENGINE,
    scheduler: str | None = None,
) -> Store:
    """The store at ``path`` (else ``$MFQ_STORE``, else ``./.mfq``), queried with ``engine``.

    A store that does not exist yet is created by its first ``ingest`` (or at once with
    ``create=True``); reading an absent store raises ``StoreNotFound``. With
    ``engine="dask"``, queries run on the Dask cluster at ``scheduler`` (else
    ``$MFQ_DASK_SCHEDULER``, else a local cluster started on the first query and stopped
    by ``close``).
    """
    storage = open_storage(path, create=create, settings=settings)
    return Store(storage, engine=engine, scheduler=scheduler)


class Store:
    """A store directory: Parquet events partitioned by UTC date plus a SQLite catalog,
    with the engine its queries run on. Use as a context manager, or ``close`` it."""

    def __init__(
        self, storage: Storage, *, engine: str = DEFAULT_ENGINE, scheduler: str | None = None
    ) -> None:
        self.storage = storage
        self._queries = StoreQueries(storage, engine=engine, scheduler=scheduler)

    # -- the store ------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The store directory."""
        return self.storage.root

    @property
    def layout(self) -> StoreLayout:
        """Where the store keeps what (catalog, partitions, locks)."""
        return self.storage.layout

    @property
    def settings(self) -> Settings:
        """The store's settings (file sizes, lock timeout, ...)."""
        return self.storage.settings

    @property
    def catalog(self) -> Catalog:
        """The SQLite catalog (``StoreNotFound`` when the store was never created)."""
        return self.storage.catalog

    def files(self, kind: str = "events") -> list[FileRecord]:
        """The committed files of ``kind`` (``events``, ``rejects``, ``ids``), each
        checked to be on disk as the catalog recorded it."""
        return self.storage.files(kind)

    def exists(self) -> bool:
        """True once the store has a catalog."""
        return self.storage.exists()

    @property
    def held_events(self) -> pa.Table | None:
        """Events held in memory instead of files (a file read directly); None for a store."""
        return self.storage.held_events

    def create(self) -> None:
        """Make the store directory and its empty catalog (no-op when they exist)."""
        self.storage.create()

    def close(self) -> None:
        """Release the catalog connection and the engine's cluster or client, if any."""
        self.storage.close()
        self._queries.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def engine(self) -> str:
        """The name of the engine queries run on (``pandas`` or ``dask``)."""
        return self._queries.engine

    def use_engine(self, name: str, scheduler: str | None = None) -> None:
        """Run the following queries on engine ``name`` (``pandas`` or ``dask``); with
        ``dask``, on the cluster at ``scheduler`` (see ``open_store``)."""
        self._queries.use_engine(name, scheduler)

    # -- ingest and upkeep ----------------------------------------------------------------

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

        The whole call is one batch, visible to readers only once it commits.
        ``strict``: commit nothing when any record is rejected. ``options``: how records
        are normalised (profile, ``--map``, time zone, redaction). ``progress``: called
        as reading goes. ``compact``: compact the days the batch wrote to after it commits.
        """
        return self.storage.ingest(
            paths, strict=strict, options=options, progress=progress, compact=compact
        )

    def compact(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> CompactionResult:
        """Rewrite each day's small files as few large ones sorted by time, in one catalog
        swap. ``since`` / ``until``: only the days meeting ``[since, until)``."""
        return self.storage.compact(since=since, until=until)

    def prune(self, before: datetime, *, dry_run: bool = False) -> PruneResult:
        """Remove every event before ``before`` (naive means UTC) and its id hash.
        ``dry_run``: only count what would go."""
        return self.storage.prune(before, dry_run=dry_run)

    def doctor(self, *, repair: bool = False) -> Checkup:
        """Check the catalog, every listed file, the id hashes and leftovers.
        ``repair``: drop what is damaged, in one transaction."""
        return self.storage.doctor(repair=repair)

    # -- what the store holds -------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Events, time range, sources, bytes on disk, distinct projects and types."""
        return self.storage.info()

    def schema(self, *, exact: bool = False) -> pd.DataFrame:
        """One row per field: type, % present, distinct count, top values, mixed flag.
        ``exact``: read every event instead of the catalog's estimates."""
        return self.storage.schema(exact=exact)

    def schema_records(self, *, exact: bool = False) -> list[dict[str, Any]]:
        """:meth:`schema`'s rows as dicts, without pandas. ``exact`` as for :meth:`schema`."""
        return self.storage.schema_records(exact=exact)

    def schema_drift(self) -> pd.DataFrame:
        """Per UTC day: fields that appeared, vanished or changed type, and in which
        sources (``day``, ``field``, ``change``, ``types``, ``sources``)."""
        return self.storage.schema_drift()

    def rejects(self, *, code: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Rejected records, oldest first: source, number, code, reason, raw.
        ``code``: only this reject code. ``limit``: at most this many."""
        return self.storage.rejects(code=code, limit=limit)

    def rejects_summary(self) -> pd.DataFrame:
        """Rejects counted by source and reason, with the keys those records do have."""
        return self.storage.rejects_summary()

    # -- fields and query descriptions ----------------------------------------------------

    def define_fields(self, definitions: Sequence[str | tuple[str, str]]) -> None:
        """Add derived fields that every later query and analysis of this store knows, as
        ``--let`` and ``[fields]`` in ``mfq.toml`` do. ``definitions``: ``NAME=EXPR``
        texts or (name, expression) pairs, each may use the ones before it. A mistake
        raises at once."""
        self._queries.define_fields(definitions)

    def field_types(self) -> FieldSchema:
        """Every field's type (mixed fields are text), derived fields included."""
        return self._queries.field_types()

    def run(self, spec: QuerySpec) -> pd.DataFrame:
        """Execute a query description ``spec`` (``mfq.query.build.build_spec``) with the
        engine."""
        return self._queries.run(spec)

    def run_many(self, specs: list[QuerySpec]) -> list[pd.DataFrame]:
        """Execute several query descriptions ``specs`` at once; the engine may share work
        between them (the local engine reads the events once for aggregates over the same
        rows)."""
        return self._queries.run_many(specs)

    def run_table(self, spec: QuerySpec) -> pa.Table:
        """Execute a query description ``spec``; the answer as a pyarrow Table."""
        return self._queries.run_table(spec)

    # -- queries --------------------------------------------------------------------------

    @overload
    def query(
        self,
        *,
        where: Where = None,
        group_by: str | Sequence[str] | None = None,
        aggs: str | Sequence[str] | None = None,
        having: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        totals: bool = True,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        fields: str | Sequence[str] | None = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[False] = False,
    ) -> pd.DataFrame: ...

    @overload
    def query(
        self,
        *,
        where: Where = None,
        group_by: str | Sequence[str] | None = None,
        aggs: str | Sequence[str] | None = None,
        having: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        totals: bool = True,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        fields: str | Sequence[str] | None = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[True],
    ) -> pa.Table: ...

    def query(
        self,
        *,
        where: Where = None,
        group_by: str | Sequence[str] | None = None,
        aggs: str | Sequence[str] | None = None,
        having: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        totals: bool = True,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        fields: str | Sequence[str] | None = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Aggregate events, as ``mfq query``.

        ``where``, ``since``, ``until``, ``last``, ``now``, ``unweighted``: the selection
        (module docs). ``group_by``: fields to group by. ``aggs``: aggregates
        (``p95(duration_ms) as p95``; default ``count``). ``having``: a filter on the
        aggregates. ``order_by``: sort keys (``-count``). ``limit``: at most this many
        groups. ``totals``: with ``limit``, add the OTHER and TOTAL rows. ``fields``:
        accepted as ``mfq query`` does. ``let``: derived fields for this query only.
        ``as_arrow``: the answer as a pyarrow Table instead (as the command line uses it:
        integer columns with missing values stay integers, where pandas makes them floats).
        """
        spec = build_spec(
            self,
            QueryKind.AGGREGATE,
            where=where,
            group_by=group_by,
            aggs=aggs,
            having=having,
            order_by=order_by,
            limit=limit,
            totals=totals,
            since=since,
            until=until,
            last=last,
            now=now,
            fields=fields,
            unweighted=unweighted,
            let=let,
        )
        return self.run_table(spec) if as_arrow else self.run(spec)

    @overload
    def events(
        self,
        *,
        where: Where = None,
        fields: str | Sequence[str] | None = None,
        sort: str | Sequence[str] | None = None,
        limit: int | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[False] = False,
    ) -> pd.DataFrame: ...

    @overload
    def events(
        self,
        *,
        where: Where = None,
        fields: str | Sequence[str] | None = None,
        sort: str | Sequence[str] | None = None,
        limit: int | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[True],
    ) -> pa.Table: ...

    def events(
        self,
        *,
        where: Where = None,
        fields: str | Sequence[str] | None = None,
        sort: str | Sequence[str] | None = None,
        limit: int | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Raw matching events, as ``mfq events``.

        ``where``, ``since``, ``until``, ``last``, ``now``, ``unweighted``: the selection
        (module docs). ``fields``: the columns (globs allowed; default all). ``sort``:
        sort keys (``-timestamp``). ``limit``: at most this many events. ``let``: derived
        fields for this query only.
        ``as_arrow``: the answer as a pyarrow Table instead (as the command line uses it:
        integer columns with missing values stay integers, where pandas makes them floats).
        """
        spec = build_spec(
            self,
            QueryKind.EVENTS,
            where=where,
            fields=fields,
            sort=sort,
            limit=limit,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
            let=let,
        )
        return self.run_table(spec) if as_arrow else self.run(spec)

    @overload
    def timeseries(
        self,
        *,
        where: Where = None,
        every: str | None = None,
        by: str | Sequence[str] | None = None,
        top: int | None = None,
        aggs: str | Sequence[str] | None = None,
        tz: str | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[False] = False,
    ) -> pd.DataFrame: ...

    @overload
    def timeseries(
        self,
        *,
        where: Where = None,
        every: str | None = None,
        by: str | Sequence[str] | None = None,
        top: int | None = None,
        aggs: str | Sequence[str] | None = None,
        tz: str | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[True],
    ) -> pa.Table: ...

    def timeseries(
        self,
        *,
        where: Where = None,
        every: str | None = None,
        by: str | Sequence[str] | None = None,
        top: int | None = None,
        aggs: str | Sequence[str] | None = None,
        tz: str | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
        let: str | Sequence[str] | None = None,
        as_arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Aggregates per time bucket, as ``mfq timeseries``.

        ``where``, ``since``, ``until``, ``last``, ``now``, ``unweighted``: the selection
        (module docs). ``every``: the bucket width (``5m``, ``1h``, ``auto``). ``by``:
        one series per value of these fields. ``top``: keep the ``top`` largest series,
        the rest folded into OTHER. ``aggs``: aggregates (default ``count``). ``tz``:
        day and week buckets in this time zone. ``let``: derived fields for this query.
        ``as_arrow``: the answer as a pyarrow Table instead (as the command line uses it:
        integer columns with missing values stay integers, where pandas makes them floats).
        """
        spec = build_spec(
            self,
            QueryKind.TIMESERIES,
            where=where,
            every=every,
            by=by,
            top=top,
            aggs=aggs,
            tz=tz,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
            let=let,
        )
        return self.run_table(spec) if as_arrow else self.run(spec)

    # -- analyses -------------------------------------------------------------------------

    def correlate(
        self,
        *,
        where: Where = None,
        baseline: str | None = None,
        metric: str | None = None,
        fields: str | Sequence[str] | None = None,
        limit: int | None = None,
        combine: int | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
    ) -> Answer:
        """What distinguishes a selection from a baseline: every field's values ranked by
        over-representation, as ``mfq correlate``.

        ``where``: the selection's filters; ``since``, ``until``, ``last``, ``now``,
        ``unweighted`` as in the module docs. ``baseline``: the events to compare with
        (default: the rest). ``metric``: rank by the share of this numeric field's shift
        instead. ``fields``: only these fields. ``limit``: at most this many rows.
        ``combine``: 2 or 3, add combinations of values. The answer's ``notes`` say what
        was compared and what was skipped.
        """
        return self._reading(
            correlate,
            where=where,
            baseline=baseline,
            metric=metric,
            fields=fields,
            limit=limit,
            combine=combine,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
        )

    def patterns(
        self,
        *,
        field: str = "message",
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        baseline_since: str | None = None,
        baseline_until: str | None = None,
        limit: int | None = None,
        unweighted: bool = False,
    ) -> pd.DataFrame:
        """The messages of ``field`` grouped into templates (typed placeholders for
        numbers, ids, addresses, paths, quoted values), each with count, share, first and
        last seen, services and an example, as ``mfq patterns``. Template ids are kept
        in the store.

        ``where``, ``since``, ``until``, ``last``, ``now``, ``unweighted``: the selection.
        ``baseline_since`` (and ``baseline_until``, default ``since``): mark each
        template new, gone, grown, shrunk or steady against that period. ``limit``: at
        most this many templates.
        """
        return self._reading(
            find_patterns,
            field=field,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
            baseline_since=baseline_since,
            baseline_until=baseline_until,
            limit=limit,
            unweighted=unweighted,
        )

    def changes(
        self,
        *,
        field: str = "version",
        by: Sequence[str] | None = None,
        bad: str | None = None,
        markers: str | None = None,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
    ) -> pd.DataFrame:
        """Releases inferred from ``field`` per group, as ``mfq changes``: each value's
        first and last seen, events, and the bad ratio before and after it arrived, as a
        rollout, rollback, retired or steady.

        ``by``: the groups (default: service and region, those the store has). ``bad``:
        the bad events (default ``status = 'error'``). ``markers``: events that are
        changes too. ``where``, ``since``, ``until``, ``last``, ``now``, ``unweighted``:
        the selection.
        """
        return self._reading(
            find_changes,
            field=field,
            by=by,
            bad=bad,
            markers=markers,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
        )

    def anomalies(
        self,
        *,
        where: Where = None,
        by: str | Sequence[str] | None = None,
        agg: str | None = None,
        every: str | None = None,
        top: int | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        min_change: float = DEFAULT_MIN_CHANGE,
        tz: str | None = None,
        include_all: bool = False,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
    ) -> pd.DataFrame:
        """Time buckets (per ``by`` group) whose value departs from the expected level,
        as ``mfq anomalies``.

        ``agg``: the value per bucket (default ``count``). ``every``: the bucket width.
        ``top``: the largest groups only. ``threshold``: the robust score that flags a
        bucket. ``min_change``: the least relative change that counts. ``tz``: day
        buckets in this time zone. ``include_all``: every bucket with its score.
        ``where``, ``since``, ``until``, ``last``, ``now``, ``unweighted``: the selection.
        """
        return self._reading(
            anomalies,
            where=where,
            by=by,
            agg=agg,
            every=every,
            top=top,
            threshold=threshold,
            min_change=min_change,
            tz=tz,
            include_all=include_all,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
        )

    def trace(
        self,
        trace_id: str,
        *,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
    ) -> pd.DataFrame:
        """One trace's spans and events in tree order, with depth and offsets, as
        ``mfq trace``. ``trace_id``: the trace. ``since``, ``until``, ``last``, ``now``:
        where to look (default: everywhere)."""
        return self._reading(trace, trace_id, since=since, until=until, last=last, now=now)

    def timeline(
        self,
        *,
        where: Where = None,
        gap: str | timedelta = TIMELINE_GAP,
        limit: int | None = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
    ) -> Answer:
        """Chronological matching events, bursts collapsed, with the incident's markers,
        as ``mfq timeline``. ``gap``: events closer than this form a burst. ``limit``: at
        most this many rows. ``where``, ``since``, ``until``, ``last``, ``now``: the
        selection. The answer's ``summary`` holds the markers' times and counts, its
        ``total_rows`` the rows before ``limit``."""
        return self._reading(
            timeline,
            where=where,
            gap=gap,
            limit=limit,
            since=since,
            until=until,
            last=last,
            now=now,
        )

    def slo(
        self,
        *,
        good: str | None = None,
        bad: str | None = None,
        target: float | str | None = None,
        window: str | None = None,
        every: str | None = None,
        alerts: str | Sequence[str] | None = None,
        name: str | None = None,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
    ) -> pd.DataFrame:
        """One objective: compliance, error budget left, burn rate, incidents and MTTR,
        as ``mfq slo``.

        ``good`` or ``bad``: which events meet (fail) the objective. ``target``: the
        percentage that must be good. ``window``: the compliance window. ``every``: the
        bucket width. ``alerts``: burn-rate alert rules. ``name``: the objective's name.
        ``where``, ``since``, ``until``, ``last``, ``now``, ``unweighted``: the selection.
        """
        return self._reading(
            slo,
            good=good,
            bad=bad,
            target=target,
            window=window,
            every=every,
            alerts=alerts,
            name=name,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
        )

    def slo_incidents(
        self,
        *,
        good: str | None = None,
        bad: str | None = None,
        target: float | str | None = None,
        window: str | None = None,
        every: str | None = None,
        alerts: str | Sequence[str] | None = None,
        name: str | None = None,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
    ) -> pd.DataFrame:
        """The episodes :meth:`slo` counts as incidents: start, end, time to recover.

        ``good`` or ``bad``: which events meet (fail) the objective. ``target``: the
        percentage that must be good. ``window``: the compliance window. ``every``: the
        bucket width. ``alerts``: burn-rate alert rules. ``name``: the objective's name.
        ``where``, ``since``, ``until``, ``last``, ``now``, ``unweighted``: the selection.
        """
        return self._reading(
            slo_incidents,
            good=good,
            bad=bad,
            target=target,
            window=window,
            every=every,
            alerts=alerts,
            name=name,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
        )

    def check(
        self,
        assertions: list[str] | str,
        *,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
        unweighted: bool = False,
    ) -> Answer:
        """CI assertions over aggregates, as ``mfq check``: one row per assertion with
        its value and whether it passed. ``assertions``: one or several
        (``"ratio(status = 'error') < 0.02"``). ``where``, ``since``, ``until``,
        ``last``, ``now``, ``unweighted``: the selection. The answer's ``scope`` holds
        the time range, filters and events the assertions were measured on."""
        return self._reading(
            check,
            [assertions] if isinstance(assertions, str) else assertions,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
            unweighted=unweighted,
        )

    def report(
        self,
        *,
        week: str | None = None,
        since: str | None = None,
        until: str | None = None,
        now: Instant = None,
        where: Where = None,
        errors: str | None = None,
        by: str | Sequence[str] | None = None,
        latency: str | None = None,
        slo_bad: str | None = None,
        slo_target: float | str | None = None,
        slo_alerts: str | Sequence[str] | None = None,
        slo_by: str | None = None,
        tz: str | None = None,
        unweighted: bool = False,
        settings: ReportSettings = DEFAULT_REPORT_SETTINGS,
        questions: Sequence[SavedQuestion] = (),
    ) -> Report:
        """A period's event-pattern report, as ``mfq report``: the sections as data,
        rendered by ``mfq.report`` as Markdown or HTML.

        ``week`` (ISO, ``2026-W47``) or ``since`` / ``until``: the period, compared
        with the one before; ``now``: for relative times. ``where``: the events looked
        at. ``errors``: the bad events. ``by``: breakdown fields. ``latency``: the
        duration field. ``slo_bad``, ``slo_target``, ``slo_alerts``, ``slo_by``: the SLO
        section. ``tz``: day buckets in this time zone. ``unweighted``: ignore
        ``sample_rate``. ``settings``: thresholds and sizes (``[report]`` of
        ``mfq.toml``). ``questions``: saved questions shown as sections.
        """
        with self.storage.reading():
            return build_report(
                self,
                week=week,
                since=since,
                until=until,
                now=now,
                where=where,
                errors=errors,
                by=by,
                latency=latency,
                slo_bad=slo_bad,
                slo_target=slo_target,
                slo_alerts=slo_alerts,
                slo_by=slo_by,
                tz=tz,
                unweighted=unweighted,
                settings=settings,
                questions=questions,
            )

    # -- journeys -------------------------------------------------------------------------

    def sessions(
        self,
        *,
        by: str,
        start: str | None = None,
        end: str | None = None,
        fail: str | None = None,
        gap: str | timedelta | None = None,
        open_longer_than: str | timedelta | None = None,
        limit: int | None = None,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
    ) -> Answer:
        """Operations by journey key ``by``, as ``mfq sessions``: start, end, duration,
        events, errors, outcome (completed, failed, open).

        ``start`` / ``end`` / ``fail``: the events that start, complete and fail an
        operation. ``gap``: a silence this long ends one. ``open_longer_than``: only the
        open ones older than this (the stuck ones). ``limit``: at most this many.
        ``where``, ``since``, ``until``, ``last``, ``now``: the selection. The answer's
        ``summary`` counts the operations by outcome, ``total_rows`` is the rows before
        ``limit`` and ``notes`` say how operations were delimited.
        """
        return self._reading(
            sessions,
            by=by,
            start=start,
            end=end,
            fail=fail,
            gap=gap,
            open_longer_than=open_longer_than,
            limit=limit,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
        )

    def funnel(
        self,
        steps: Sequence[str],
        *,
        by: str,
        within: str | timedelta,
        breakdown: str | None = None,
        total: bool = False,
        limit: int | None = None,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
    ) -> pd.DataFrame:
        """How many keys ``by`` take ``steps`` in order within ``within`` of the first,
        as ``mfq funnel``: entities, conversion, time between steps.

        ``breakdown``: one funnel per value of this field, with OTHER (and TOTAL with
        ``total``). ``limit``: at most this many breakdown values. ``where``, ``since``,
        ``until``, ``last``, ``now``: the selection.
        """
        return self._reading(
            funnel,
            steps,
            by=by,
            within=within,
            breakdown=breakdown,
            total=total,
            limit=limit,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
        )

    def funnel_dropped(
        self,
        steps: Sequence[str],
        number: int,
        *,
        by: str,
        within: str | timedelta,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
    ) -> pd.DataFrame:
        """The keys of the funnel of ``steps`` (by key ``by``, within ``within`` of the
        first) that reached step ``number - 1`` and not step ``number``. ``where``,
        ``since``, ``until``, ``last``, ``now``: the selection."""
        return self._reading(
            dropped_at,
            steps,
            number,
            by=by,
            within=within,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
        )

    def funnel_why(
        self,
        steps: Sequence[str],
        number: int,
        *,
        by: str,
        within: str | timedelta,
        limit: int | None = None,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
    ) -> Answer:
        """:meth:`correlate` between the first events of the keys that dropped at step
        ``number`` of the funnel of ``steps`` (by key ``by``, within ``within`` of the
        first) and of those that took it. ``limit``: at most this many rows. ``where``,
        ``since``, ``until``, ``last``, ``now``: the selection."""
        return self._reading(
            why,
            steps,
            number,
            by=by,
            within=within,
            limit=limit,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
        )

    def paths(
        self,
        *,
        by: str,
        after: str | None = None,
        before: str | None = None,
        steps: int = 3,
        limit: int | None = None,
        where: Where = None,
        since: str | None = None,
        until: str | None = None,
        last: str | None = None,
        now: Instant = None,
    ) -> Answer:
        """The most common sequences of types after (or before) a step, by key ``by``,
        as ``mfq paths``. ``after`` / ``before``: the step's filter. ``steps``: how many
        steps each path has. ``limit``: at most this many paths. ``where``, ``since``,
        ``until``, ``last``, ``now``: the selection. The answer's ``key_count`` is the
        number of keys the paths were counted over."""
        return self._reading(
            paths,
            by=by,
            after=after,
            before=before,
            steps=steps,
            limit=limit,
            where=where,
            since=since,
            until=until,
            last=last,
            now=now,
        )

    # -- running an analysis ---------------------------------------------------------------

    def _reading(self, analysis: Callable[..., _Frame], *args: Any, **options: Any) -> _Frame:
        """``analysis(self, *args, **options)`` under the store's read lock, so no
        compaction or prune deletes the files it lists before it is done. The analysis
        reads this store as a ``QuerySource`` (so a spy on :meth:`run` sees its queries)."""
        with self.storage.reading():
            return analysis(self, *args, **options)
