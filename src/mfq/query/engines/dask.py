"""The Dask engine: the local engine's answers, computed with ``dask.dataframe`` on a local
cluster or on the one ``--scheduler`` (or ``$MFQ_DASK_SCHEDULER``) names.

Reading: one partition per event file (``dask.dataframe.from_map``), pruned by the time
range with the catalog's min/max times; each task reads only the columns the query uses,
with the time range and ``--where`` pushed into the Parquet read (``mfq.query.scan``'s
unified types and ``mfq.query.compile``'s filters), and derives the per-row columns the
query needs (``mfq.query.engines.dask_tasks``). Files are read by the workers, so a remote
cluster must see the store at the same path.

Aggregates, by what they need:

- ``count``, ``count(EXPR)``, ``ratio``, ``rate``, ``sum``, ``avg``, ``min``, ``max`` and
  ``stddev`` are *algebraic*: each partition reduces its rows to one partial state per
  group, and states combine exactly in a tree (Dask's ``reduction``). Only groups travel.
- ``count_distinct`` is exact: each partition keeps its distinct (group, value) pairs,
  the pairs are shuffled by group key so each group's pairs meet in one partition, and
  counted there. Memory: the distinct pairs of the groups a partition holds.
- Percentiles are exact: the non-null values are shuffled by group key, so all of a
  group's values meet in one partition, and numpy interpolates linearly between closest
  ranks there (the local engine's own function). Memory: 8 bytes per value of the
  groups a partition holds; without ``--group-by`` one task holds every value.

The client only plans, then receives per-group results; it never holds the events
(except for ``mfq events``, whose answer is events). Having, ordering, OTHER/TOTAL rows,
bucket gap filling and ``--top`` folding are the local engine's own code (``finish``,
``series``), and every aggregate's state is ``algebra``'s. OTHER and TOTAL rows merge the
groups' states; percentiles and distinct counts
for them take a second pass over the rows of the groups ``--limit`` cut.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mfq.errors import UsageError
from mfq.query.derive import read_as_dictionary, stored_columns, used_derived
from mfq.query.engines.algebra import Algebra, Kind, algebra_of
from mfq.query.engines.dask_tasks import (
    ROUTE,
    WEIGHT,
    Bucketing,
    DistinctValues,
    FileEvents,
    FileRead,
    FileRows,
    PartitionStates,
    Quantiles,
    RowShape,
    StateInput,
    StateLayout,
    empty_frame,
    part_column,
    to_table,
    value_column,
)
from mfq.query.engines.finish import finish_groups
from mfq.query.engines.keys import KeySet, group_index
from mfq.query.engines.plan import AggregatePlan, default_fields, plan_of, seconds_of
from mfq.query.engines.rows import plain
from mfq.query.engines.series import (
    BUCKET,
    TIME_TYPE,
    Folding,
    empty_series,
    finish_series,
    kept_series,
)
from mfq.query.expr import Aggregate, Expr, NamedValue, referenced_fields
from mfq.query.pattern_field import refuse_on_dask
from mfq.query.scan import (
    NARROW_EXTRA,
    equality_only_fields,
    file_schema,
    prune,
    unified_schema,
)
from mfq.query.spec import QueryKind, QuerySpec
from mfq.query.timerange import TimeRange, auto_width

if TYPE_CHECKING:
    from mfq.query.source import EventSource

#: A ``dask.dataframe.DataFrame``. Dask's collection API is untyped, so collections (and
#: the client) are ``Any`` here; what each holds is said where it is built.
Collection = Any

INSTALL_HINT = "pip install 'mfq[dask]'"
#: How long to wait for a scheduler named by --scheduler before giving up.
CONNECT_TIMEOUT = "10s"
_SCHEMES = ("tcp", "tls", "inproc", "ws", "wss", "ucx")
#: Files (input partitions) per partition after a shuffle by group key. What is shuffled
#: is small (distinct pairs, or one number per event), so fewer, larger partitions cost
#: fewer tasks: 10M events in 70 files shuffle into 9 partitions of about 1M values.
FILES_PER_SHUFFLE_PARTITION = 8
#: Up to this many input partitions, Dask's task-based shuffle (quick to start; its task
#: count grows with inputs x outputs); beyond, its peer-to-peer shuffle (a fixed start-up
#: cost, then it scales). On 70 files (10M events) tasks took 11 s and p2p 19 s for Q2 of
#: bench/query.py. Dask's ``dataframe.shuffle.method`` setting overrides this.
TASK_SHUFFLE_MAX_PARTITIONS = 128
_HOST_PORT = re.compile(r"^[\w.\-\[\]:]+:\d+$")
#: Dask warns (a Python warning, on stderr, not a log line) when making a scratch directory
#: took over a second, blaming a network file system: on a busy machine it takes that long
#: on a local disk too, and a command prints its answer and nothing else.
SCRATCH_TIMING_WARNING = "Creating scratch directories is taking a surprisingly long time"


def scheduler_address(text: str) -> str:
    """``tcp://HOST:PORT`` (or another Dask transport); a bare ``HOST:PORT`` means TCP."""
    value = text.strip()
    scheme, separator, rest = value.partition("://")
    if separator and scheme in _SCHEMES and rest:
        return value
    if not separator and _HOST_PORT.match(value):
        return f"tcp://{value}"
    raise UsageError(f"--scheduler: bad address {text!r} (use tcp://HOST:PORT)")


class DaskEngine:
    """Queries on a Dask cluster: the one at ``scheduler``, else a local cluster started on
    the first query and shut down by ``close``."""

    name = "dask"

    def __init__(self, scheduler: str | None) -> None:
        try:
            import dask.dataframe  # noqa: F401
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError(
                "--engine dask needs Dask and distributed", hint=INSTALL_HINT
            ) from None
        self.scheduler = scheduler_address(scheduler) if scheduler else None
        self._client: Any = None  # distributed.Client
        self._cluster: Any = None  # distributed.LocalCluster, when this engine started it

    def execute(self, store: EventSource, spec: QuerySpec) -> pd.DataFrame:
        """The answer to ``spec``, equal to the local engine's."""
        return _frame(self.execute_table(store, spec))

    def execute_table(self, store: EventSource, spec: QuerySpec) -> pa.Table:
        """The answer as a pyarrow Table."""
        refuse_on_dask(spec)
        if spec.kind is QueryKind.EVENTS:
            return _events(self, store, spec)
        if spec.kind is QueryKind.TIMESERIES:
            return _timeseries(self, store, spec)
        return _aggregate(self, store, spec)

    def execute_many(self, store: EventSource, specs: Sequence[QuerySpec]) -> list[pd.DataFrame]:
        """The answers to several descriptions; the aggregates computed together."""
        for spec in specs:
            refuse_on_dask(spec)
        answers: dict[int, pd.DataFrame] = {}
        grouped = [i for i, spec in enumerate(specs) if spec.kind is QueryKind.AGGREGATE]
        for index, answer in zip(
            grouped, _aggregate_many(self, store, [specs[i] for i in grouped]), strict=True
        ):
            answers[index] = _frame(answer)
        for index, spec in enumerate(specs):
            if index not in answers:
                answers[index] = self.execute(store, spec)
        return [answers[index] for index in range(len(specs))]

    def client(self) -> Any:
        """The ``distributed.Client``, connected (or its local cluster started) on first use."""
        if self._client is None:
            client_class, cluster_class = _distributed()

            if self.scheduler is not None:
                try:
                    self._client = client_class(
                        self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False
                    )
                except OSError as err:
                    raise UsageError(
                        f"cannot reach the Dask scheduler at {self.scheduler}: {err}",
                        hint="start one with `dask scheduler`, or leave out --scheduler",
                    ) from None
            else:
                # Worker processes: the GIL is not shared, and the client's memory stays
                # the client's. Only errors are logged (no shuffle chatter on stderr).
                with _no_scratch_timing_warning():
                    self._cluster = cluster_class(
                        processes=True, dashboard_address=":0", silence_logs=logging.ERROR
                    )
                self._client = client_class(self._cluster, set_as_default=False)
        return self._client

    def compute(self, *collections: Collection) -> list[pd.DataFrame]:
        """Compute several collections at once (tasks they share, as reads, run once)."""
        client = self.client()
        try:
            results = client.compute(list(collections), sync=True)
        except ModuleNotFoundError as err:
            raise UsageError(
                f"a Dask worker cannot import {err.name!r}",
                hint=f"install mfq on every worker: {INSTALL_HINT}",
            ) from None
        return list(results)

    def close(self) -> None:
        """Disconnect, and stop the local cluster if this engine started one."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _frame(table: pa.Table) -> pd.DataFrame:
    # As the local engine's frames: integers with nulls stay integers (beside None).
    frame: pd.DataFrame = table.to_pandas(integer_object_nulls=True)
    return frame


def _dask() -> Any:
    """``dask.dataframe`` (imported on first use)."""
    import dask.dataframe

    return dask.dataframe


@contextmanager
def _no_scratch_timing_warning() -> Iterator[None]:
    """While a local cluster starts, ``SCRATCH_TIMING_WARNING`` is ignored: here (the
    scheduler and the nannies) and in the worker processes, which read it from
    ``PYTHONWARNINGS`` when they start (set as Dask sets variables before a worker
    starts; a ``PYTHONWARNINGS`` of the user's own is kept as it is)."""
    import dask

    spawn_environment = "distributed.nanny.pre-spawn-environ.PYTHONWARNINGS"
    with (
        warnings.catch_warnings(),
        dask.config.set({spawn_environment: f"ignore:{SCRATCH_TIMING_WARNING}:UserWarning"}),
    ):
        warnings.filterwarnings("ignore", SCRATCH_TIMING_WARNING, UserWarning)
        yield


def _distributed() -> tuple[Any, Any]:
    """``distributed.Client`` and ``distributed.LocalCluster``."""
    from distributed import Client, LocalCluster

    return Client, LocalCluster


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Files:
    """The event files a query reads (pruned by time), each file's own column types, and
    how every file is read."""

    paths: list[str]
    stored: list[pa.Schema]
    read: FileRead


def _files(
    store: EventSource,
    columns: list[str],
    where: tuple[Expr, ...],
    time: TimeRange,
    dictionary: Iterable[str] = (),
    derived: tuple[NamedValue, ...] = (),
) -> _Files:
    """The files of ``time`` and how to read ``columns`` from them; text columns named in
    ``dictionary`` (group keys, say) come back as dictionaries unless the filter uses them;
    columns named by ``derived`` are computed from those read."""
    computed = tuple(used_derived(derived, columns))
    columns = stored_columns(columns, computed)
    dictionary = read_as_dictionary(list(dictionary), computed)
    records = prune(store.files("events"), time)
    filter_fields = sorted({name for expr in where for name in referenced_fields(expr)})
    returned = list(dict.fromkeys([*columns, "timestamp"]))
    wanted = list(dict.fromkeys([*returned, *filter_fields]))
    schemas = [file_schema(store, record) for record in records]
    schema, _mixed = unified_schema(schemas, wanted)
    stored = [pa.schema([s.field(n) for n in wanted if n in s.names]) for s in schemas]
    candidates = (equality_only_fields(where) - set(returned)) | (
        set(dictionary) - set(filter_fields)
    )
    as_dictionary = sorted(
        name for name in candidates if pa.types.is_string(schema.field(name).type)
    )
    read = FileRead(schema, where, time, tuple(returned), tuple(as_dictionary), computed)
    root = store.root.resolve()
    return _Files([str(root / r.path) for r in records], stored, read)


@dataclass(frozen=True)
class _Rows:
    """A collection of derived rows and its Arrow schema."""

    frame: Collection
    schema: pa.Schema


def _rows(files: _Files, shape: RowShape) -> _Rows:
    dd = _dask()
    schema = shape.schema(files.read)
    meta = empty_frame(schema)
    if not files.paths:
        return _Rows(dd.from_pandas(meta, npartitions=1), schema)
    frame = dd.from_map(
        FileRows(files.read, shape),
        files.paths,
        files.stored,
        meta=meta,
        label="mfq-read",
        enforce_metadata=False,
    )
    return _Rows(frame, schema)


# -- what the aggregates need -----------------------------------------------------------------


@dataclass
class _Recipe:
    """Each aggregate's algebra and inputs: a mask (filtered aggregates) or a value
    column; algebraic ones are merged states, holistic ones computed per group."""

    aggregates: list[tuple[str, Aggregate, Algebra]]
    weighted: bool
    inputs: list[StateInput] = field(default_factory=list)
    values: dict[str, int] = field(default_factory=dict)
    distinct: set[int] = field(default_factory=set)
    quantiles: dict[int, set[float]] = field(default_factory=dict)
    mask_exprs: list[Expr] = field(default_factory=list)

    @property
    def holistic(self) -> bool:
        return bool(self.distinct or self.quantiles)

    def dictionary(self, keys: list[str]) -> list[str]:
        """Fields that can be read as dictionaries: group keys and fields only counted
        distinct, unless a filtered aggregate tests them (text matching needs text)."""
        tested = {name for expr in self.mask_exprs for name in referenced_fields(expr)}
        counted = {
            a.field for _n, a, algebra in self.aggregates if algebra.kind is Kind.COUNT_DISTINCT
        }
        others = {
            a.field
            for _n, a, algebra in self.aggregates
            if algebra.kind is not Kind.COUNT_DISTINCT and a.field is not None
        }
        distinct_only = {f for f in counted if f is not None} - others
        return sorted((set(keys) | distinct_only) - tested)

    def shape(self, keys: list[str], **extra: Any) -> RowShape:
        return RowShape(
            keys=tuple(keys),
            weighted=self.weighted,
            masks=tuple(self.mask_exprs),
            values=tuple(self.values),
            **extra,
        )

    def layout(self, keys: list[str]) -> StateLayout:
        return StateLayout(keys=tuple(keys), aggregates=tuple(self.inputs))


def _recipe(plan: AggregatePlan) -> _Recipe:
    recipe = _Recipe([], plan.weighted)
    for name, aggregate in plan.aggregates:
        algebra = algebra_of(aggregate)
        recipe.aggregates.append((name, aggregate, algebra))
        mask = value = None
        if aggregate.arg is not None:
            mask = len(recipe.mask_exprs)
            recipe.mask_exprs.append(aggregate.arg)
        elif algebra.reads_field and aggregate.field is not None:
            value = recipe.values.setdefault(aggregate.field, len(recipe.values))
            if algebra.kind is Kind.COUNT_DISTINCT:
                recipe.distinct.add(value)
            elif algebra.quantile is not None:
                recipe.quantiles.setdefault(value, set()).add(algebra.quantile)
        recipe.inputs.append(StateInput(algebra, mask, value))
    return recipe


def _quantile_column(index: int, quantile: float) -> str:
    return f"__q{index}_{quantile!r}"


# -- grouping -----------------------------------------------------------------------------------


@dataclass
class _Pending:
    """The collections that compute one grouping: states, then one per holistic value."""

    keys: list[str]
    layout: StateLayout
    states: Collection | None
    holistic: list[Collection]

    @property
    def collections(self) -> list[Collection]:
        return ([self.states] if self.states is not None else []) + self.holistic


def _grouped(
    rows: _Rows, keys: list[str], recipe: _Recipe, *, states: bool = True, times: bool = False
) -> _Pending:
    """Collections computing ``recipe``'s aggregates per distinct ``keys`` of ``rows``
    (and, with ``times``, each group's first and last time)."""
    layout = dataclasses.replace(recipe.layout(keys), times=times)
    reduced = _reduce(rows, layout) if states else None
    holistic = []
    for index in sorted(recipe.distinct):
        distinct = DistinctValues(tuple(keys), value_column(index), f"__d{index}")
        holistic.append(_holistic(rows, keys, distinct.pairs, distinct.counts))
    for index, wanted in sorted(recipe.quantiles.items()):
        ordered = tuple(sorted(wanted))
        quantiles = Quantiles(
            tuple(keys),
            value_column(index),
            ordered,
            tuple(_quantile_column(index, q) for q in ordered),
        )
        holistic.append(_holistic(rows, keys, quantiles.values, quantiles.compute))
    return _Pending(keys, layout, reduced, holistic)


def _reduce(rows: _Rows, layout: StateLayout) -> Collection:
    """Each partition's rows to per-group states, then the states combined in a tree."""
    states_schema = layout.schema(rows.schema)
    steps = PartitionStates(layout, rows.schema, states_schema)
    return rows.frame.reduction(
        steps.chunk, aggregate=steps.combine, combine=steps.combine, meta=empty_frame(states_schema)
    )


#: A partition function: a frame and its Arrow schema to a frame.
_Step = Callable[[pd.DataFrame, pa.Schema], pd.DataFrame]


def _holistic(rows: _Rows, keys: list[str], gather: _Step, finish: _Step) -> Collection:
    """Per-file ``gather`` (what travels), then all of each group's rows brought together
    (hashed by key; one partition without keys), then ``finish`` per partition."""
    gathered_schema = _schema_of(gather(empty_frame(rows.schema), rows.schema))
    gathered = rows.frame.map_partitions(
        gather, rows.schema, meta=empty_frame(gathered_schema), enforce_metadata=False
    )
    together = _shuffle(gathered) if keys else gathered.repartition(npartitions=1)
    finished_schema = _schema_of(finish(empty_frame(gathered_schema), gathered_schema))
    return together.map_partitions(
        finish, gathered_schema, meta=empty_frame(finished_schema), enforce_metadata=False
    )


def _shuffle(frame: Collection) -> Collection:
    """Rows with the same ``ROUTE`` (group keys) into the same partition."""
    import dask

    partitions = frame.npartitions
    wanted = -(-partitions // FILES_PER_SHUFFLE_PARTITION)
    if wanted <= 1:
        return frame.repartition(npartitions=1)  # everything together: no routing needed
    method = dask.config.get("dataframe.shuffle.method", None) or (
        "tasks" if partitions <= TASK_SHUFFLE_MAX_PARTITIONS else "p2p"
    )
    return frame.shuffle(on=ROUTE, npartitions=wanted, shuffle_method=method)


def _schema_of(frame: pd.DataFrame) -> pa.Schema:
    return pa.Schema.from_pandas(frame, preserve_index=False).remove_metadata()


@dataclass
class _Groups:
    """Computed groups: their merged states (keys first) and the holistic columns, one
    value per group in the states' order."""

    keys: list[str]
    layout: StateLayout
    states: pa.Table
    holistic: dict[str, np.ndarray]


def _collect(pending: _Pending, computed: list[pd.DataFrame], rows: _Rows) -> _Groups:
    """The computed frames of ``pending`` as groups (states aligned with holistic values)."""
    layout = pending.layout
    results = list(computed)
    states_schema = layout.schema(rows.schema)
    if pending.states is not None:
        states = plain(to_table(results.pop(0), states_schema))
    else:
        states = plain(states_schema.empty_table())
    if not pending.keys and states.num_rows == 0:  # no events: one row, as SQL's count(*)
        states = pa.table({f.name: pa.nulls(1, f.type) for f in states.schema})
    holistic: dict[str, np.ndarray] = {}
    for frame in results:
        table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
        positions = _positions(states, table, pending.keys)
        for name in table.column_names[len(pending.keys) :]:
            counted = name.startswith("__d")
            values = (
                np.zeros(states.num_rows, np.int64) if counted else np.full(states.num_rows, np.nan)
            )
            values[positions] = table.column(name).to_numpy(zero_copy_only=False)
            holistic[name] = values
    return _Groups(pending.keys, layout, states, holistic)


def _positions(states: pa.Table, other: pa.Table, keys: list[str]) -> np.ndarray:
    """For each row of ``other``, the row of ``states`` with the same keys."""
    if not keys:
        return np.zeros(other.num_rows, dtype=np.int64)
    both = pa.concat_tables(
        [states.select(keys), other.select(keys).cast(states.select(keys).schema)]
    )
    ids, count = group_index(both, keys)
    position = np.full(count, -1, dtype=np.int64)
    position[ids[: states.num_rows]] = np.arange(states.num_rows)
    found: np.ndarray = position[ids[states.num_rows :]]
    return found


def _result(groups: _Groups, recipe: _Recipe, seconds: float | None) -> pa.Table:
    """One row per group, one column per aggregate: states finished as the algebra says."""
    states = groups.states
    keys = groups.keys
    rows = states.num_rows
    result = states.select(keys) if keys else pa.table({"__rows": pa.nulls(rows)})
    total = states.column(WEIGHT)
    for index, (name, _aggregate, algebra) in enumerate(recipe.aggregates):
        value = recipe.inputs[index].value
        output: pa.Array | pa.ChunkedArray
        if algebra.kind is Kind.COUNT_DISTINCT and value is not None:
            output = pa.array(groups.holistic[f"__d{value}"])
        elif algebra.quantile is not None and value is not None:
            output = pa.array(groups.holistic[_quantile_column(value, algebra.quantile)])
        else:
            parts = {
                part.name: states.column(part_column(index, part.name))
                for part in algebra.parts
                if part_column(index, part.name) in states.column_names
            }
            output = algebra.finish(parts, total, seconds, rows)
        result = result.append_column(name, output)
    return result.drop_columns(["__rows"]) if not keys else result


# -- aggregate ----------------------------------------------------------------------------------


@dataclass
class _AggregateJob:
    """One ``AGGREGATE`` description: planned (its collections), then finished from their
    results; apart, so several descriptions can be computed in one go."""

    spec: QuerySpec
    recipe: _Recipe
    files: _Files
    rows: _Rows
    pending: _Pending

    @classmethod
    def plan(cls, store: EventSource, spec: QuerySpec) -> _AggregateJob:
        plan = plan_of(spec)
        recipe = _recipe(plan)
        keys = list(spec.group_by)
        files = _files(
            store, plan.columns(), spec.where, spec.time, recipe.dictionary(keys), spec.derived
        )
        rows = _rows(files, recipe.shape(keys))
        return cls(spec, recipe, files, rows, _grouped(rows, keys, recipe))

    def finish(self, engine: DaskEngine, computed: list[pd.DataFrame]) -> pa.Table:
        """Having, order, limit with OTHER and TOTAL rows, hidden columns dropped."""
        spec, keys = self.spec, list(self.spec.group_by)
        groups = _collect(self.pending, computed, self.rows)
        seconds = seconds_of(spec)
        result = _result(groups, self.recipe, seconds)

        def other_and_total(cut: pa.Table) -> tuple[pa.Table, pa.Table]:
            chosen = np.flatnonzero(KeySet(cut).mask(groups.states))
            return _summaries(engine, self.files, groups, chosen, self.recipe, seconds)

        return finish_groups(result, spec, keys, other_and_total)


def _aggregate(engine: DaskEngine, store: EventSource, spec: QuerySpec) -> pa.Table:
    job = _AggregateJob.plan(store, spec)
    return job.finish(engine, engine.compute(*job.pending.collections))


def _aggregate_many(
    engine: DaskEngine, store: EventSource, specs: Sequence[QuerySpec]
) -> list[pa.Table]:
    """Several ``AGGREGATE`` descriptions in one computation (one graph: the files are
    read by all the workers at once, not one description after the other)."""
    jobs = [_AggregateJob.plan(store, spec) for spec in specs]
    computed = engine.compute(*(c for job in jobs for c in job.pending.collections))
    answers = []
    for job in jobs:
        width = len(job.pending.collections)
        answers.append(job.finish(engine, computed[:width]))
        computed = computed[width:]
    return answers


def _summaries(
    engine: DaskEngine,
    files: _Files,
    groups: _Groups,
    cut: np.ndarray,
    recipe: _Recipe,
    seconds: float | None,
) -> tuple[pa.Table, pa.Table]:
    """The OTHER (groups ``cut``) and TOTAL rows: states merged; distinct counts and
    percentiles from a second pass over those groups' rows."""
    layout = dataclasses.replace(groups.layout, keys=())
    parts = []
    for chosen in (cut, np.arange(groups.states.num_rows)):
        merged = layout.merge(groups.states.take(pa.array(chosen)).drop_columns(groups.keys))
        parts.append(_Groups([], layout, merged, {}))
    if recipe.holistic:
        rest = KeySet(groups.states.select(groups.keys).take(pa.array(cut)))
        passes = []
        for only in (rest, None):
            rows = _rows(files, recipe.shape(groups.keys, only=only))
            passes.append((_grouped(rows, [], recipe, states=False), rows))
        computed = engine.compute(*(c for pending, _ in passes for c in pending.collections))
        for position, (pending, rows) in enumerate(passes):
            width = len(pending.collections)
            done = _collect(pending, computed[position * width : (position + 1) * width], rows)
            parts[position].holistic = done.holistic
    return _result(parts[0], recipe, seconds), _result(parts[1], recipe, seconds)


# -- time series --------------------------------------------------------------------------------


def _timeseries(engine: DaskEngine, store: EventSource, spec: QuerySpec) -> pa.Table:
    plan = plan_of(spec)
    recipe = _recipe(plan)
    keys = list(spec.group_by)
    files = _files(
        store, plan.columns(), spec.where, spec.time, recipe.dictionary(keys), spec.derived
    )
    empty = empty_series(spec)
    start, end = spec.time.since_ns(), spec.time.until_ns()
    sizes = None
    # A first pass only when the buckets depend on it: --every auto over an open range
    # (the width comes from the span), or --top (the series' sizes pick the kept ones).
    if (spec.every is None and (start is None or end is None)) or (keys and spec.top):
        survey = _survey(engine, files, keys if spec.top else [], recipe)
        start, end = _span(survey, start, end)
        sizes = survey
        if start is None or end is None:
            return empty
    if spec.every is not None:
        width = spec.every
    else:
        assert start is not None and end is not None  # found by the survey
        width = auto_width(timedelta(microseconds=-(-(end - start) // 1000)))
    timestamp_type = files.read.schema.field("timestamp").type
    bucket = Bucketing(BUCKET, width, spec.bucket_tz, timestamp_type)
    folding = _folding(spec, keys, sizes)
    spanned = start is None or end is None  # the span comes with the groups
    shape = recipe.shape(keys, bucket=bucket, folding=folding, times=spanned)
    rows = _rows(files, shape)
    pending = _grouped(rows, shape.group_keys, recipe, times=spanned)
    groups = _collect(pending, engine.compute(*pending.collections), rows)
    start, end = _span(groups.states, start, end)
    if start is None or end is None:
        return empty
    result = _result(groups, recipe, width.total_seconds())
    result = result.set_column(0, BUCKET, result.column(BUCKET).cast(TIME_TYPE))
    return finish_series(result, spec, plan, (start, end), width)


def _survey(engine: DaskEngine, files: _Files, keys: list[str], recipe: _Recipe) -> pa.Table:
    """Per distinct ``keys`` (one row without): the weight and the first and last time."""
    rows = _rows(files, RowShape(keys=tuple(keys), weighted=recipe.weighted, times=True))
    layout = StateLayout(keys=tuple(keys), times=True)
    (frame,) = engine.compute(_reduce(rows, layout))
    return plain(to_table(frame, layout.schema(rows.schema)))


def _span(states: pa.Table, start: int | None, end: int | None) -> tuple[int | None, int | None]:
    """``--since``/``--until``, else the first matching event and just after the last."""
    if "__tmin" not in states.column_names or not states.num_rows:
        return start, end
    first = pc.min(pc.cast(states.column("__tmin"), pa.int64())).as_py()
    last = pc.max(pc.cast(states.column("__tmax"), pa.int64())).as_py()
    if start is None and first is not None:
        start = first
    if end is None and last is not None:
        end = last + 1
    return start, end


def _folding(spec: QuerySpec, keys: list[str], sizes: pa.Table | None) -> Folding | None:
    """Which series ``--top`` keeps, ranked as the local engine ranks them."""
    if not keys or spec.top is None or sizes is None:
        return None
    return kept_series(sizes.select([*keys, WEIGHT]), keys, WEIGHT, spec.top)


# -- events -------------------------------------------------------------------------------------


def _events(engine: DaskEngine, store: EventSource, spec: QuerySpec) -> pa.Table:
    dd = _dask()
    fields = list(spec.fields) or default_fields(store)
    columns = list(dict.fromkeys([*fields, *(o.column for o in spec.order_by), "timestamp"]))
    files = _files(store, columns, spec.where, spec.time, derived=spec.derived)
    output = files.read.output_schema
    schema = pa.schema([output.field(name) for name in columns])
    order = tuple((o.column, "descending" if o.descending else "ascending") for o in spec.order_by)
    if files.paths:
        filtered = {name for expr in spec.where for name in referenced_fields(expr)}
        narrow = bool(spec.where) and len(set(columns) - filtered) > NARROW_EXTRA
        task = FileEvents(files.read, tuple(columns), order, spec.limit, narrow)
        collection = dd.from_map(
            task,
            files.paths,
            files.stored,
            meta=empty_frame(schema),
            label="mfq-events",
            enforce_metadata=False,
        )
        (frame,) = engine.compute(collection)
        table = to_table(frame, schema)
    else:
        table = schema.empty_table()
    # From here as the local engine: each file gave its tail (or its first rows in
    # order), so the tail (or the first rows) of all of them is among these.
    keys = list(order) or [("timestamp", "ascending")]
    if not order and spec.limit is not None and table.num_rows > spec.limit:
        table = table.slice(table.num_rows - spec.limit)
    table = table.sort_by(keys)
    if spec.limit is not None:
        table = table.slice(0, spec.limit)
    return table.select(fields)
