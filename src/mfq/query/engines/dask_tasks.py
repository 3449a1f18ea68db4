"""What the Dask engine's tasks do on a worker: read one event file with the filter pushed
into the Parquet read, derive the per-row columns a query needs (group keys, time buckets,
weights, filtered-aggregate masks, values), reduce rows to per-group partial states, and
compute exact per-group distinct counts and percentiles.

Partitions are pandas frames with Arrow-backed dtypes (``pd.ArrowDtype``), converted from
and back to Arrow without loss, so every partition of a collection has the same dtypes
(a group key is never ``int64`` in one file and ``float64`` in another) and hashing by key
sends equal keys to the same partition.

Partial states combine without approximation: sums of weights and weighted values,
minima, maxima, and for ``stddev`` the count, mean and sum of squared deviations of each
part (merged with Chan's formula, so no large sums of squares cancel). Only float sums
can differ from the local engine's, in the last digits, as they add in another order.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mfq.errors import UsageError
from mfq.query.compile import compile_filter
from mfq.query.derive import add_derived
from mfq.query.engines.algebra import TOTAL, Algebra, merge_moments
from mfq.query.engines.keys import KeySet, codes_of, group_index, group_keys
from mfq.query.engines.quantiles import grouped_quantiles
from mfq.query.engines.rows import Column
from mfq.query.engines.series import Folding, floor_times
from mfq.query.expr import Expr, NamedValue
from mfq.query.scan import conform, time_filter
from mfq.query.timerange import TimeRange

# Partitions that crossed the network arrive in buffers at any offset; Acero (pyarrow's
# grouping) then prints a warning per batch on the worker's stderr. Copying such buffers
# into aligned ones is what it should do. Read once per process, on Acero's first use.
os.environ.setdefault("ACERO_ALIGNMENT_HANDLING", "reallocate")

WEIGHT = TOTAL
#: The type of text read as a dictionary (as Parquet's dictionary pages decode).
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
#: The event time, kept for a time series' span.
TIME = "__t"
#: A hash of a row's group keys: rows are shuffled on it, so a group's rows meet.
ROUTE = "__route"


def mask_column(index: int) -> str:
    """Whether the ``index``-th filtered aggregate's filter holds on the row."""
    return f"__m{index}"


def value_column(index: int) -> str:
    """The ``index``-th field an aggregate reads."""
    return f"__f{index}"


# -- conversions ------------------------------------------------------------------------------


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a partition: Arrow-backed columns, nothing converted."""
    # One thread: columns are wrapped, not converted, and Arrow's pool writing blocks from
    # a Dask task's thread once deadlocked on the GIL (the pool waiting for it, the task
    # waiting for the pool, another task holding it while waiting on Arrow).
    frame = table.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True, use_threads=False)
    return cast(pd.DataFrame, frame)


def to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """A partition back as the Arrow table it came from."""
    # One thread: columns are wrapped, not converted, and a thread pool per call costs more.
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False, nthreads=1)
    return table.replace_schema_metadata(None)


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    """A partition with no rows (Dask's ``meta``)."""
    return to_frame(schema.empty_table())


# -- reading one file -------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRead:
    """How every file of a query is read: every column it touches, with one type across
    all files (``unified_schema``); the filter and time range pushed into the read; the
    ``columns`` it returns. Text columns in ``dictionary`` are read as dictionaries (as
    ``mfq.query.scan`` reads them): those the filter only tests with =/!=, so it compares
    each distinct value once, and group keys and values only counted distinct, so they
    are grouped and hashed as small integers."""

    schema: pa.Schema
    where: tuple[Expr, ...]
    time: TimeRange
    columns: tuple[str, ...]
    dictionary: tuple[str, ...] = ()
    #: Columns computed from the ``columns`` read, appended after them.
    derived: tuple[NamedValue, ...] = ()

    @property
    def output_schema(self) -> pa.Schema:
        """The types of the ``columns`` returned (and the derived ones after them)."""
        schema = pa.schema(
            [
                pa.field(name, _DICTIONARY) if name in self.dictionary else self.schema.field(name)
                for name in self.columns
            ]
        )
        if not self.derived:
            return schema
        return add_derived(schema.empty_table(), self.derived).schema

    def predicate(self) -> pc.Expression | None:
        """The time range and filters as one Arrow expression (compiled once: every file
        of the query asks for it)."""
        return self._predicate

    @cached_property
    def _predicate(self) -> pc.Expression | None:
        predicate = time_filter(self.time)
        for expr in self.where:
            compiled = compile_filter(expr, self.schema)
            predicate = compiled if predicate is None else predicate & compiled
        return predicate

    def table(self, path: str, stored: pa.Schema) -> pa.Table:
        """The matching rows of the file at ``path`` (whose own types are ``stored``)."""
        predicate = self.predicate()
        try:
            if not self._needs_text(stored):
                read = self._dataset(path).to_table(columns=list(self.columns), filter=predicate)
                return add_derived(read, self.derived)
            table = self._conformed(path, stored)
            table = table if predicate is None else table.filter(predicate)
            table = table.select(list(self.columns))
        except pa.ArrowInvalid as err:
            raise UsageError(f"cannot evaluate the filter: {err}") from err
        for name in set(self.columns) & set(self.dictionary):  # as the other files read it
            index = table.schema.get_field_index(name)
            encoded = pc.dictionary_encode(table.column(name))
            table = table.set_column(index, name, encoded)
        return add_derived(table, self.derived)

    def has_matches(self, path: str, stored: pa.Schema) -> bool:
        """Whether the file holds a matching row, found by reading the filter's columns
        only (so a wide read of a few matches decodes every column of few files)."""
        if self._needs_text(stored):
            return True
        try:
            return bool(self._dataset(path).count_rows(filter=self.predicate()) > 0)
        except pa.ArrowInvalid as err:
            raise UsageError(f"cannot evaluate the filter: {err}") from err

    def _dataset(self, path: str) -> ds.Dataset:
        if not self.dictionary:
            return ds.dataset([path], schema=self.schema, format="parquet")
        schema = self.schema
        for name in self.dictionary:
            schema = schema.set(schema.get_field_index(name), pa.field(name, _DICTIONARY))
        options = ds.ParquetReadOptions(dictionary_columns=list(self.dictionary))
        file_format = ds.ParquetFileFormat(read_options=options)
        return ds.dataset([path], schema=schema, format=file_format)

    def _needs_text(self, stored: pa.Schema) -> bool:
        """Whether a column stored here as a number (say) is text in other files."""
        return any(
            pa.types.is_string(self.schema.field(f.name).type)
            and self.schema.field(f.name).type != f.type
            for f in stored
        )

    def _conformed(self, path: str, stored: pa.Schema) -> pa.Table:
        """The file's columns in the unified types (as ``scan`` reads mixed fields)."""
        return conform(pq.read_table(path, columns=stored.names), self.schema)


# -- per-row columns ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucketing:
    """Time buckets as the first group key: UTC-aligned arithmetic, or local midnights."""

    column: str
    width: timedelta
    tz: str | None
    type: pa.DataType

    def buckets(self, timestamps: pa.ChunkedArray) -> Column:
        """Each time's bucket start."""
        return floor_times(timestamps, self.width, self.tz).cast(self.type)


@dataclass(frozen=True)
class RowShape:
    """The per-row columns a grouped query needs, derived from the columns read:
    ``[bucket] keys..., WEIGHT, masks..., values..., [TIME]``."""

    keys: tuple[str, ...]
    weighted: bool
    masks: tuple[Expr, ...] = ()
    values: tuple[str, ...] = ()
    bucket: Bucketing | None = None
    folding: Folding | None = None
    times: bool = False
    only: KeySet | None = None
    #: The ``masks`` compiled, by the schema of the rows they are asked of (a file's rows
    #: come in the read's one schema, so once per query and worker, not once per file).
    _compiled: dict[pa.Schema, list[pc.Expression]] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    @property
    def group_keys(self) -> list[str]:
        """The columns rows are grouped by."""
        keys = [self.bucket.column] if self.bucket is not None else []
        return [*keys, *self.keys]

    def derive(self, table: pa.Table) -> pa.Table:
        if self.only is not None:
            table = table.filter(pa.array(self.only.mask(table)))
        weight = _weights(table, self.weighted)
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        if self.bucket is not None:
            columns[self.bucket.column] = self.bucket.buckets(table.column("timestamp"))
        keyed = table.select(list(self.keys))
        if self.folding is not None:
            keyed = self.folding.apply(keyed)
        for key in self.keys:
            columns[key] = keyed.column(key)
        columns[WEIGHT] = weight
        for index, compiled in enumerate(self._compiled_masks(table.schema)):
            matched = ds.dataset(table).to_table(columns={"m": compiled})
            columns[mask_column(index)] = pc.fill_null(matched["m"], False)
        for index, name in enumerate(self.values):
            columns[value_column(index)] = table.column(name)
        if self.times:
            columns[TIME] = table.column("timestamp")
        return pa.table(columns)

    def schema(self, read: FileRead) -> pa.Schema:
        """The derived columns' types, given what is read."""
        return self.derive(read.output_schema.empty_table()).schema

    def _compiled_masks(self, schema: pa.Schema) -> list[pc.Expression]:
        compiled = self._compiled.get(schema)
        if compiled is None:  # two threads may both compile it: the same expressions
            compiled = [compile_filter(expr, schema) for expr in self.masks]
            self._compiled[schema] = compiled
        return compiled


def _fresh_token() -> str:
    return uuid.uuid4().hex


def _weights(table: pa.Table, weighted: bool) -> pa.Array | pa.ChunkedArray:
    """How many events each stored event stands for (``sample_rate``, else 1)."""
    if weighted and "sample_rate" in table.column_names:
        return pc.fill_null(table.column("sample_rate"), 1)
    return pa.array(np.ones(table.num_rows, dtype=np.int64))


@dataclass(frozen=True)
class FileRows:
    """A Dask ``from_map`` function: one event file to its partition of derived rows."""

    read: FileRead
    shape: RowShape
    #: Dask names a collection by a token of its function, by default a pickle of this
    #: whole object: with a funnel's ``--why`` filter (thousands of ids) that was most of
    #: the client's time, once for each field correlate ranks. Each instance is a
    #: computation of its own, so a token of its own.
    token: str = field(default_factory=_fresh_token, compare=False)

    def __dask_tokenize__(self) -> str:
        return self.token

    def __call__(self, path: str, stored: pa.Schema) -> pd.DataFrame:
        return to_frame(self.shape.derive(self.read.table(path, stored)))


@dataclass(frozen=True)
class FileEvents:
    """A Dask ``from_map`` function: one event file to the raw events it can contribute
    to a ``--limit``: its last rows (a tail), or its first rows in ``order``."""

    read: FileRead
    columns: tuple[str, ...]
    order: tuple[tuple[str, str], ...]
    limit: int | None
    #: Check for matches with the filter's columns first (a wide read, a selective filter).
    narrow: bool = False
    #: As ``FileRows.token``.
    token: str = field(default_factory=_fresh_token, compare=False)

    def __dask_tokenize__(self) -> str:
        return self.token

    def __call__(self, path: str, stored: pa.Schema) -> pd.DataFrame:
        if self.narrow and not self.read.has_matches(path, stored):
            return empty_frame(
                self.read.output_schema.empty_table().select(list(self.columns)).schema
            )
        table = self.read.table(path, stored).select(list(self.columns))
        if self.limit is not None and not self.order:
            table = table.slice(max(table.num_rows - self.limit, 0))
        elif self.limit is not None:
            table = table.sort_by(list(self.order)).slice(0, self.limit)
        return to_frame(table)


# -- groups ---------------------------------------------------------------------------------------


def key_hashes(table: pa.Table, keys: Sequence[str]) -> np.ndarray:
    """A hash of each row's key tuple, the same for the same keys in any partition and any
    process: pandas' fixed-key SipHash of each distinct value (hashed once per partition),
    combined across keys. Hashing here is much faster than Dask hashing Arrow-backed
    columns (it converts timestamps to objects, row by row)."""
    hashes = np.zeros(table.num_rows, dtype=np.uint64)
    for key in keys:
        column = table.column(key)
        if pa.types.is_null(column.type):
            continue  # every value is null: nothing tells rows apart
        codes, values = codes_of(column)
        # pandas makes booleans with a null objects, without one bools, which hash
        # apart: as Python objects the same value hashes the same in every partition.
        as_pandas = (
            pd.Series(values.to_pylist(), dtype=object)
            if pa.types.is_boolean(values.type)
            else values.to_pandas(use_threads=False)
        )
        distinct = pd.util.hash_pandas_object(as_pandas, index=False)
        hashes = hashes * np.uint64(1_000_003) + distinct.to_numpy()[codes]
    return hashes


def with_route(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """``table`` and its ``ROUTE`` column."""
    route = (key_hashes(table, keys) >> np.uint64(1)).astype(np.int64)
    return table.append_column(ROUTE, pa.array(route))


@dataclass(frozen=True)
class StateInput:
    """One aggregate of a grouping: its algebra, and the row columns it reads (the
    ``mask``-th filter, the ``value``-th field)."""

    algebra: Algebra
    mask: int | None = None
    value: int | None = None


def part_column(index: int, part: str) -> str:
    """The state column of the ``index``-th aggregate's ``part``."""
    return f"__a{index}{part}"


@dataclass(frozen=True)
class StateLayout:
    """The partial state of each group (as ``algebra`` defines it): the group's weight,
    each algebraic aggregate's parts, and with ``times`` the first and last time."""

    keys: tuple[str, ...]
    aggregates: tuple[StateInput, ...] = ()
    times: bool = False

    def _parts(self) -> list[tuple[int, StateInput]]:
        return [(i, a) for i, a in enumerate(self.aggregates) if not a.algebra.holistic]

    def reduce(self, rows: pa.Table) -> pa.Table:
        """One state per group of ``rows`` (the derived rows of ``RowShape``)."""
        weight = rows.column(WEIGHT)
        work: dict[str, Column] = {k: rows.column(k) for k in self.keys}
        work[WEIGHT] = weight
        wanted: list[tuple[str, str, pc.FunctionOptions | None]] = [(WEIGHT, "sum", None)]
        for index, item in self._parts():
            values = rows.column(value_column(item.value)) if item.value is not None else None
            mask = rows.column(mask_column(item.mask)) if item.mask is not None else None
            parts = item.algebra.row_parts(values, weight, mask)
            for part in item.algebra.parts:
                if part.name in parts:
                    work[part_column(index, part.name)] = parts[part.name]
                    wanted.append((part_column(index, part.name), part.rows, part.options()))
        if self.times:
            work["__tmin"] = rows.column(TIME)
            work["__tmax"] = rows.column(TIME)
            wanted += [("__tmin", "min", None), ("__tmax", "max", None)]
        return self._grouped(pa.table(work), wanted)

    def merge(self, states: pa.Table) -> pa.Table:
        """One state per group from any number of states per group."""
        wanted: list[tuple[str, str, pc.FunctionOptions | None]] = [(WEIGHT, "sum", None)]
        moments: list[int] = []
        for index, item in self._parts():
            for part in item.algebra.parts:
                column = part_column(index, part.name)
                if column not in states.column_names:
                    continue
                if part.merge == "moments":
                    if index not in moments:
                        moments.append(index)
                elif part.merge is not None:
                    wanted.append((column, part.merge, None))
        if self.times:
            wanted += [("__tmin", "min", None), ("__tmax", "max", None)]
        merged = self._grouped(states, wanted)
        if not moments:
            return merged
        ids, count = group_index(states, self.keys)
        for index in moments:
            n, mean, variance = merge_moments(
                _floats(states.column(part_column(index, "n"))),
                _floats(states.column(part_column(index, "mean"))),
                _floats(states.column(part_column(index, "var"))),
                ids,
                count,
            )
            present = n > 0
            for name, values in (("mean", mean), ("var", variance)):
                merged = merged.append_column(
                    part_column(index, name), pa.array(values, mask=~present)
                )
        return merged.select(states.column_names)  # the states' own column order

    def _grouped(
        self, table: pa.Table, wanted: list[tuple[str, str, pc.FunctionOptions | None]]
    ) -> pa.Table:
        """``table`` reduced per group by ``wanted``, keys first, groups in the order of
        ``group_index`` (so moments merged apart line up with them)."""
        ids, count = group_index(table, self.keys)
        work = table.select([c for c, _f, _o in wanted]).append_column("__g", pa.array(ids))
        aggregations = [(c, f) if o is None else (c, f, o) for c, f, o in wanted]
        grouped = work.group_by("__g", use_threads=False).aggregate(aggregations).sort_by("__g")
        columns = group_keys(table, self.keys, ids, count)
        columns.update({c: grouped.column(f"{c}_{f}") for c, f, _o in wanted})
        return pa.table(columns)

    def schema(self, rows: pa.Schema) -> pa.Schema:
        """The states' types, given the rows' types."""
        return self.reduce(rows.empty_table()).schema


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return cast(np.ndarray, column.to_numpy(zero_copy_only=False).astype(np.float64))


@dataclass(frozen=True)
class PartitionStates:
    """Dask ``reduction`` steps: rows to per-group states (``chunk``), and states to
    fewer states (``combine``, ``aggregate``)."""

    layout: StateLayout
    rows: pa.Schema
    states: pa.Schema

    def chunk(self, frame: pd.DataFrame) -> pd.DataFrame:
        return to_frame(self.layout.reduce(to_table(frame, self.rows)))

    def combine(self, frame: pd.DataFrame) -> pd.DataFrame:
        return to_frame(self.layout.merge(to_table(frame, self.states)))


# -- exact distinct counts and percentiles -------------------------------------------------------


@dataclass(frozen=True)
class DistinctValues:
    """The distinct (keys, value) pairs of a partition, non-null values only. Run once per
    file (so only distinct pairs travel), then per key-hashed partition to count them."""

    keys: tuple[str, ...]
    value: str
    output: str

    def pairs(self, frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
        return to_frame(with_route(self._distinct(to_table(frame, schema)), self.keys))

    def counts(self, frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
        pairs = self._distinct(to_table(frame, schema))
        ids, count = group_index(pairs, self.keys)
        counted = group_keys(pairs, self.keys, ids, count)
        counted[self.output] = pa.array(np.bincount(ids, minlength=count).astype(np.int64))
        return to_frame(pa.table(counted))

    def _distinct(self, table: pa.Table) -> pa.Table:
        names = [*self.keys, self.value]
        valid = table.select(names).filter(pc.is_valid(table.column(self.value)))
        return valid.unify_dictionaries().group_by(names, use_threads=False).aggregate([])


@dataclass(frozen=True)
class Quantiles:
    """Exact percentiles of one value per group, from all of a group's values (the rows
    of a partition hashed by the group keys): linear between closest ranks, as numpy."""

    keys: tuple[str, ...]
    value: str
    quantiles: tuple[float, ...]
    outputs: tuple[str, ...]

    def values(self, frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
        table = to_table(frame, schema).select([*self.keys, self.value])
        column = pc.cast(table.column(self.value), pa.float64(), safe=False)
        table = table.set_column(len(self.keys), self.value, column)
        return to_frame(with_route(table.filter(pc.is_valid(column)), self.keys))

    def compute(self, frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
        table = to_table(frame, schema)
        ids, count = group_index(table, self.keys)
        result = group_keys(table, self.keys, ids, count)
        wanted = list(self.quantiles)
        per_group = (
            grouped_quantiles(table.column(self.value), (ids, count), wanted)
            if count
            else {q: np.array([], dtype=np.float64) for q in wanted}
        )
        for output, quantile in zip(self.outputs, wanted, strict=True):
            result[output] = pa.array(per_group[quantile], pa.float64())
        return to_frame(pa.table(result))
