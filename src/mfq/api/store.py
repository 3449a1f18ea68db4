"""``open_store`` and the ``Store`` users hold: storage, queries and analyses in one object.

Every question takes the events it looks at as one :class:`~mfq.query.requests.Selection`
(the first argument, optional), then its own options as keywords, and answers a DataFrame
(or a ``Report``...), as the command of the same name prints it::

    week = Selection(since="2026-11-16", until="2026-11-23")
    store.query(week, group_by="service")
    store.correlate(week.narrowed("status = 'error'"), limit=10)

A selection holds ``where`` (filter expressions, all must hold), ``since`` / ``until`` /
``last`` (the time range), ``now`` (the moment relative times count from) and
``unweighted`` (count stored events, ignoring ``sample_rate``). Each method builds its
question's request (``QueryRequest``, ``AnomaliesRequest``, ...): the typed value the
analyses, the report and the command line pass around.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

# The analyses and the report are imported by the methods that run them: a query from the
# command line needs none of them. The defaults the signatures show come from modules of
# constants (the report's settings import no analysis).
from mfq.analysis.defaults import ANOMALY_MIN_CHANGE, ANOMALY_THRESHOLD, TIMELINE_GAP
from mfq.query.build import request_spec
from mfq.query.engines import DEFAULT_ENGINE
from mfq.query.requests import (
    EVERYTHING,
    EventsRequest,
    QueryQuestion,
    QueryRequest,
    Request,
    Selection,
    TimeseriesRequest,
)
from mfq.query.source import StoreQueries
from mfq.settings import DEFAULT_SETTINGS, Settings
from mfq.store.store import IngestSummary, ProgressCallback, Storage, open_storage

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd
    import pyarrow as pa

    from mfq.analysis.funnel import FunnelRequest
    from mfq.ingest.options import NormalizeOptions
    from mfq.model.answer import Answer
    from mfq.query.expr import FieldSchema
    from mfq.query.source import QuerySource
    from mfq.query.spec import QuerySpec
    from mfq.report import Report
    from mfq.report.questions import SavedQuestion
    from mfq.report.settings import ReportSettings
    from mfq.store.catalog import Catalog, FileRecord
    from mfq.store.compact import CompactionResult
    from mfq.store.doctor import Checkup
    from mfq.store.layout import StoreLayout
    from mfq.store.prune import PruneResult

__all__ = ["Store", "open_store"]

_Frame = TypeVar("_Frame")
_Request = TypeVar("_Request", bound=Request)


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
    #
    # Every question takes the events it looks at as one ``Selection`` (first, positional:
    # ``store.query(week, group_by="service")``), then its own options as keywords; it
    # builds the question's request (``QueryRequest``, ``AnomaliesRequest``, ...) and hands
    # it to the layer that answers it, as the report and the command line do.

    @overload
    def query(
        self,
        selection: Selection = EVERYTHING,
        *,
        group_by: str | Sequence[str] | None = None,
        aggs: str | Sequence[str] | None = None,
        having: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        totals: bool = True,
        fields: str | Sequence[str] | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[False] = False,
    ) -> pd.DataFrame: ...

    @overload
    def query(
        self,
        selection: Selection = EVERYTHING,
        *,
        group_by: str | Sequence[str] | None = None,
        aggs: str | Sequence[str] | None = None,
        having: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        totals: bool = True,
        fields: str | Sequence[str] | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[True],
    ) -> pa.Table: ...

    def query(
        self,
        selection: Selection = EVERYTHING,
        *,
        group_by: str | Sequence[str] | None = None,
        aggs: str | Sequence[str] | None = None,
        having: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        totals: bool = True,
        fields: str | Sequence[str] | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Aggregate events, as ``mfq query``.

        ``selection``: the events (module docs). ``group_by``: fields to group by.
        ``aggs``: aggregates (``p95(duration_ms) as p95``; default ``count``). ``having``:
        a filter on the aggregates. ``order_by``: sort keys (``-count``). ``limit``: at
        most this many groups. ``totals``: with ``limit``, add the OTHER and TOTAL rows.
        ``fields``: accepted as ``mfq query`` does. ``let``: derived fields for this query
        only. ``as_arrow``: the answer as a pyarrow Table instead (as the command line
        uses it). The request: :class:`~mfq.query.requests.QueryRequest`.
        """
        request = QueryRequest(
            selection=selection,
            group_by=group_by,
            aggs=aggs,
            having=having,
            order_by=order_by,
            limit=limit,
            totals=totals,
            fields=fields,
            let=let,
        )
        return self._answer(request, as_arrow=as_arrow)

    @overload
    def events(
        self,
        selection: Selection = EVERYTHING,
        *,
        fields: str | Sequence[str] | None = None,
        sort: str | Sequence[str] | None = None,
        limit: int | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[False] = False,
    ) -> pd.DataFrame: ...

    @overload
    def events(
        self,
        selection: Selection = EVERYTHING,
        *,
        fields: str | Sequence[str] | None = None,
        sort: str | Sequence[str] | None = None,
        limit: int | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[True],
    ) -> pa.Table: ...

    def events(
        self,
        selection: Selection = EVERYTHING,
        *,
        fields: str | Sequence[str] | None = None,
        sort: str | Sequence[str] | None = None,
        limit: int | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Raw matching events, as ``mfq events``.

        ``selection``: the events (module docs). ``fields``: the columns (globs allowed;
        default all). ``sort``: sort keys (``-timestamp``). ``limit``: at most this many
        events. ``let``: derived fields for this query only. ``as_arrow``: the answer as
        a pyarrow Table instead (as for :meth:`query`). The request:
        :class:`~mfq.query.requests.EventsRequest`.
        """
        request = EventsRequest(selection=selection, fields=fields, sort=sort, limit=limit, let=let)
        return self._answer(request, as_arrow=as_arrow)

    @overload
    def timeseries(
        self,
        selection: Selection = EVERYTHING,
        *,
        every: str | None = None,
        by: str | Sequence[str] | None = None,
        top: int | None = None,
        aggs: str | Sequence[str] | None = None,
        tz: str | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[False] = False,
    ) -> pd.DataFrame: ...

    @overload
    def timeseries(
        self,
        selection: Selection = EVERYTHING,
        *,
        every: str | None = None,
        by: str | Sequence[str] | None = None,
        top: int | None = None,
        aggs: str | Sequence[str] | None = None,
        tz: str | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: Literal[True],
    ) -> pa.Table: ...

    def timeseries(
        self,
        selection: Selection = EVERYTHING,
        *,
        every: str | None = None,
        by: str | Sequence[str] | None = None,
        top: int | None = None,
        aggs: str | Sequence[str] | None = None,
        tz: str | None = None,
        let: str | Sequence[str] | None = None,
        as_arrow: bool = False,
    ) -> pd.DataFrame | pa.Table:
        """Aggregates per time bucket, as ``mfq timeseries``.

        ``selection``: the events (module docs). ``every``: the bucket width (``5m``,
        ``1h``, ``auto``). ``by``: one series per value of these fields. ``top``: keep the
        ``top`` largest series, the rest folded into OTHER. ``aggs``: aggregates (default
        ``count``). ``tz``: day and week buckets in this time zone. ``let``: derived
        fields for this query. ``as_arrow``: the answer as a pyarrow Table instead (as
        for :meth:`query`). The request: :class:`~mfq.query.requests.TimeseriesRequest`.
        """
        request = TimeseriesRequest(
            selection=selection, every=every, by=by, top=top, aggs=aggs, tz=tz, let=let
        )
        return self._answer(request, as_arrow=as_arrow)

    # -- analyses -------------------------------------------------------------------------

    def correlate(
        self,
        selection: Selection = EVERYTHING,
        *,
        baseline: str | None = None,
        metric: str | None = None,
        fields: str | Sequence[str] | None = None,
        limit: int | None = None,
        combine: int | None = None,
    ) -> Answer:
        """What distinguishes a selection from a baseline: every field's values ranked by
        over-representation, as ``mfq correlate``.

        ``selection``: the events to explain (its ``where`` defines them). ``baseline``:
        the events to compare with (default: the rest). ``metric``: rank by the share of
        this numeric field's shift instead. ``fields``: only these fields. ``limit``: at
        most this many rows. ``combine``: 2 or 3, add combinations of values. The
        answer's ``notes`` say what was compared and what was skipped; its ``judged`` is
        False when the selection holds no event (nothing was compared).
        """
        from mfq.analysis.correlate import CorrelateRequest, correlate

        request = CorrelateRequest(
            selection=selection,
            baseline=baseline,
            metric=metric,
            fields=fields,
            limit=limit,
            combine=combine,
        )
        return self._reading(correlate, request)

    def patterns(
        self,
        selection: Selection = EVERYTHING,
        *,
        field: str = "message",
        baseline_since: str | None = None,
        baseline_until: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """The messages of ``field`` grouped into templates (typed placeholders for
        numbers, ids, addresses, paths, quoted values), each with count, share, first and
        last seen, services and an example, as ``mfq patterns``. Template ids are kept
        in the store.

        ``selection``: the events. ``baseline_since`` (and ``baseline_until``, default the
        selection's start): mark each template new, gone, grown, shrunk or steady against
        that period. ``limit``: at most this many templates.
        """
        from mfq.analysis.patterns import PatternsRequest, patterns

        request = PatternsRequest(
            selection=selection,
            field=field,
            baseline_since=baseline_since,
            baseline_until=baseline_until,
            limit=limit,
        )
        return self._reading(patterns, request)

    def changes(
        self,
        selection: Selection = EVERYTHING,
        *,
        field: str = "version",
        by: Sequence[str] | None = None,
        bad: str | None = None,
        markers: str | None = None,
    ) -> Answer:
        """Releases inferred from ``field`` per group, as ``mfq changes``: each value's
        first and last seen, events, and the bad ratio before and after it arrived, as a
        rollout, rollback, retired or steady.

        ``selection``: the events. ``by``: the groups (default: service and region, those
        the store has). ``bad``: the bad events (default ``status = 'error'``).
        ``markers``: events that are changes too. The answer's ``judged`` is False when
        the selection holds no event (nothing was judged).
        """
        from mfq.analysis.changes import ChangesRequest, changes

        request = ChangesRequest(selection=selection, field=field, by=by, bad=bad, markers=markers)
        return self._reading(changes, request)

    def anomalies(
        self,
        selection: Selection = EVERYTHING,
        *,
        by: str | Sequence[str] | None = None,
        agg: str | None = None,
        every: str | None = None,
        top: int | None = None,
        threshold: float = ANOMALY_THRESHOLD,
        min_change: float = ANOMALY_MIN_CHANGE,
        tz: str | None = None,
        include_all: bool = False,
    ) -> Answer:
        """Time buckets (per ``by`` group) whose value departs from the expected level,
        as ``mfq anomalies``.

        ``selection``: the events. ``by``: one series per value of these fields. ``agg``:
        the value per bucket (default ``count``). ``every``: the bucket width. ``top``:
        the largest groups only. ``threshold``: the robust score that flags a bucket.
        ``min_change``: the least relative change that counts. ``tz``: day buckets in
        this time zone. ``include_all``: every bucket with its score. The answer's
        ``judged`` is False when no event matched (an empty answer then means nothing was
        judged, not that nothing departs).
        """
        from mfq.analysis.anomalies import AnomaliesRequest, anomalies

        request = AnomaliesRequest(
            selection=selection,
            by=by,
            agg=agg,
            every=every,
            top=top,
            threshold=threshold,
            min_change=min_change,
            tz=tz,
            include_all=include_all,
        )
        return self._reading(anomalies, request)

    def trace(self, trace_id: str, selection: Selection = EVERYTHING) -> pd.DataFrame:
        """One trace's spans and events in tree order, with depth and offsets, as
        ``mfq trace``. ``trace_id``: the trace. ``selection``: where to look in time
        (default: everywhere; no filters)."""
        from mfq.analysis.trace import TraceRequest, trace

        return self._reading(trace, TraceRequest(selection=selection, trace_id=trace_id))

    def timeline(
        self,
        selection: Selection = EVERYTHING,
        *,
        gap: str | timedelta = TIMELINE_GAP,
        limit: int | None = None,
    ) -> Answer:
        """Chronological matching events, bursts collapsed, with the incident's markers,
        as ``mfq timeline``. ``selection``: the events. ``gap``: events closer than this
        form a burst. ``limit``: at most this many rows. The answer's ``summary`` holds
        the markers' times and counts, its ``total_rows`` the rows before ``limit``."""
        from mfq.analysis.timeline import TimelineRequest, timeline

        request = TimelineRequest(selection=selection, gap=gap, limit=limit)
        return self._reading(timeline, request)

    def slo(
        self,
        selection: Selection = EVERYTHING,
        *,
        good: str | None = None,
        bad: str | None = None,
        target: float | str | None = None,
        window: str | None = None,
        every: str | None = None,
        alerts: str | Sequence[str] | None = None,
        name: str | None = None,
        incidents: bool = False,
    ) -> Answer:
        """One objective: compliance, error budget left, burn rate, incidents and MTTR,
        as ``mfq slo``.

        ``selection``: the events that count. ``good`` or ``bad``: which events meet
        (fail) the objective. ``target``: the percentage that must be good. ``window``:
        the compliance window. ``every``: the bucket width. ``alerts``: burn-rate alert
        rules. ``name``: the objective's name. ``incidents``: the episodes counted as
        incidents instead (start, end, time to recover), as ``mfq slo --incidents``.
        The answer's ``judged`` is False when the window holds no event that counts.
        """
        from mfq.analysis.slo import SloRequest, slo

        request = SloRequest(
            selection=selection,
            good=good,
            bad=bad,
            target=target,
            window=window,
            every=every,
            alerts=alerts,
            name=name,
            incidents=incidents,
        )
        return self._reading(slo, request)

    def check(self, assertions: str | Sequence[str], selection: Selection = EVERYTHING) -> Answer:
        """CI assertions over aggregates, as ``mfq check``: one row per assertion with
        its value and whether it passed. ``assertions``: one or several
        (``"ratio(status = 'error') < 0.02"``). ``selection``: the events. The answer's
        ``scope`` holds the time range, filters and events the assertions were measured
        on."""
        from mfq.analysis.check import CheckRequest, check

        listed = [assertions] if isinstance(assertions, str) else list(assertions)
        return self._reading(check, CheckRequest(selection=selection, assertions=listed))

    def report(
        self,
        selection: Selection = EVERYTHING,
        *,
        week: str | None = None,
        errors: str | None = None,
        by: str | Sequence[str] | None = None,
        latency: str | None = None,
        slo_bad: str | None = None,
        slo_target: float | str | None = None,
        slo_alerts: str | Sequence[str] | None = None,
        slo_by: str | None = None,
        tz: str | None = None,
        settings: ReportSettings | None = None,
        questions: Sequence[SavedQuestion] = (),
    ) -> Report:
        """A period's event-pattern report, as ``mfq report``: the sections as data,
        rendered by ``mfq.report`` as Markdown or HTML.

        ``selection``: the events looked at; its ``since`` / ``until`` (or ``week``, ISO
        ``2026-W47``) the period, compared with the one before. ``errors``: the bad
        events. ``by``: breakdown fields. ``latency``: the duration field. ``slo_bad``,
        ``slo_target``, ``slo_alerts``, ``slo_by``: the SLO section. ``tz``: day buckets
        in this time zone. ``settings``: thresholds and sizes (``[report]`` of
        ``mfq.toml``; None: ``mfq.report.settings.DEFAULT_REPORT_SETTINGS``).
        ``questions``: saved questions shown as sections.
        """
        from mfq.report.build import ReportRequest, build_report
        from mfq.report.settings import DEFAULT_REPORT_SETTINGS

        request = ReportRequest(
            selection=selection,
            week=week,
            errors=errors,
            by=by,
            latency=latency,
            slo_bad=slo_bad,
            slo_target=slo_target,
            slo_alerts=slo_alerts,
            slo_by=slo_by,
            tz=tz,
            settings=DEFAULT_REPORT_SETTINGS if settings is None else settings,
            questions=tuple(questions),
        )
        with self.storage.reading():
            return build_report(self, request)

    # -- journeys -------------------------------------------------------------------------

    def sessions(
        self,
        selection: Selection = EVERYTHING,
        *,
        by: str,
        start: str | None = None,
        end: str | None = None,
        fail: str | None = None,
        gap: str | timedelta | None = None,
        open_longer_than: str | timedelta | None = None,
        limit: int | None = None,
    ) -> Answer:
        """Operations by journey key ``by``, as ``mfq sessions``: start, end, duration,
        events, errors, outcome (completed, failed, open).

        ``selection``: the events (a ``where`` only on the operations' columns, such as
        ``outcome = 'open'``, filters the operations). ``start`` / ``end`` / ``fail``: the
        events that start, complete and fail an operation. ``gap``: a silence this long
        ends one. ``open_longer_than``: only the open ones older than this (the stuck
        ones). ``limit``: at most this many. The answer's ``summary`` counts the
        operations by outcome, ``total_rows`` is the rows before ``limit`` and ``notes``
        say how operations were delimited.
        """
        from mfq.analysis.sessions import SessionsRequest, sessions

        request = SessionsRequest(
            selection=selection,
            by=by,
            start=start,
            end=end,
            fail=fail,
            gap=gap,
            open_longer_than=open_longer_than,
            limit=limit,
        )
        return self._reading(sessions, request)

    def funnel(
        self,
        steps: Sequence[str],
        selection: Selection = EVERYTHING,
        *,
        by: str,
        within: str | timedelta,
        breakdown: str | None = None,
        total: bool = False,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """How many keys ``by`` take ``steps`` in order within ``within`` of the first,
        as ``mfq funnel``: entities, conversion, time between steps.

        ``selection``: the events. ``breakdown``: one funnel per value of this field,
        with OTHER (and TOTAL with ``total``). ``limit``: at most this many breakdown
        values. :meth:`funnel_dropped` and :meth:`funnel_why` take the same funnel as a
        :class:`~mfq.analysis.funnel.FunnelRequest`.
        """
        from mfq.analysis.funnel import FunnelRequest, funnel

        request = FunnelRequest(
            selection=selection,
            steps=steps,
            by=by,
            within=within,
            breakdown=breakdown,
            total=total,
            limit=limit,
        )
        return self._reading(funnel, request)

    def funnel_dropped(self, request: FunnelRequest, number: int) -> pd.DataFrame:
        """The keys of the funnel ``request`` that reached step ``number - 1`` and not
        step ``number``, as ``mfq funnel --dropped-at``."""
        from mfq.analysis.funnel import dropped_at

        with self.storage.reading():
            return dropped_at(self, request, number)

    def funnel_why(self, request: FunnelRequest, number: int) -> Answer:
        """:meth:`correlate` between the first events of the keys that dropped at step
        ``number`` of the funnel ``request`` and of those that took it (at most its
        ``limit`` rows), as ``mfq funnel --why``."""
        from mfq.analysis.funnel import why

        with self.storage.reading():
            return why(self, request, number)

    def paths(
        self,
        selection: Selection = EVERYTHING,
        *,
        by: str,
        after: str | None = None,
        before: str | None = None,
        steps: int = 3,
        limit: int | None = None,
    ) -> Answer:
        """The most common sequences of types after (or before) a step, by key ``by``,
        as ``mfq paths``. ``selection``: the events. ``after`` / ``before``: the step's
        filter. ``steps``: how many steps each path has. ``limit``: at most this many
        paths. The answer's ``key_count`` is the number of keys the paths were counted
        over."""
        from mfq.analysis.paths import PathsRequest, paths

        request = PathsRequest(
            selection=selection, by=by, after=after, before=before, steps=steps, limit=limit
        )
        return self._reading(paths, request)

    # -- answering a request ----------------------------------------------------------------

    def _answer(self, request: QueryQuestion, *, as_arrow: bool) -> pd.DataFrame | pa.Table:
        """A query request's answer, as a DataFrame (or a pyarrow Table)."""
        spec = request_spec(self, request)
        return self.run_table(spec) if as_arrow else self.run(spec)

    def _reading(
        self, analysis: Callable[[QuerySource, _Request], _Frame], request: _Request
    ) -> _Frame:
        """``analysis(self, request)`` under the store's read lock, so no compaction or
        prune deletes the files it lists before it is done. The analysis reads this
        store as a ``QuerySource`` (so a spy on :meth:`run` sees its queries)."""
        with self.storage.reading():
            return analysis(self, request)
