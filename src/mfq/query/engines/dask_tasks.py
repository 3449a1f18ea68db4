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
can differ from the pandas engine's, in the last digits, as they add in another order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
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
from mfq.query.engines.arrow import plain
from mfq.query.engines.pandas import OTHER, floor_times, grouped_quantiles
from mfq.query.expr import Expr, NamedValue
from mfq.query.scan import conform, time_filter
from mfq.query.timerange import TimeRange

# Partitions that crossed the network arrive in buffers at any offset; Acero (pyarrow's
# grouping) then prints a warning per batch on the worker's stderr. Copying such buffers
# into aligned ones is what it should do. Read once per process, on Acero's first use.
os.environ.setdefault("ACERO_ALIGNMENT_HANDLING", "reallocate")

WEIGHT = "__w"
#: The type of text read as a dictionary (as Parquet's dictionary pages decode).
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
#: True for rows of series folded into OTHER (``--top`` with local-time buckets or
#: several ``--by`` fields, where the pandas engine folds in pandas).
FOLDED = "__folded"
#: The event time, kept for a time series' span.
TIME = "__t"
#: A hash of a row's group keys: rows are shuffled on it, so a group's rows meet.
ROUTE = "__route"


def mask_column(index: int) -> str:
    """The weight of the row where the ``index``-th filtered aggregate's filter holds, else 0."""
    return f"__m{index}"


def value_column(index: int) -> str:
    """The ``index``-th field an aggregate reads."""
    return f"__f{index}"


# -- conversions ------------------------------------------------------------------------------


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a partition: Arrow-backed columns, nothing converted."""
    return cast(pd.DataFrame, table.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True))


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
    width_ns: int
    tz: str | None
    type: pa.DataType

    def buckets(self, timestamps: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        if self.tz is not None:
            local = floor_times(timestamps.to_pandas(), pd.Timedelta(self.width_ns, "ns"), self.tz)
            return pa.array(local, type=self.type)
        # Floor division in integers (exact to the nanosecond; negative times round down).
        nanos = pc.cast(timestamps, pa.int64())
        shifted = pc.subtract(nanos, pc.if_else(pc.less(nanos, 0), self.width_ns - 1, 0))
        floored = pc.multiply(pc.divide(shifted, self.width_ns), self.width_ns)
        return floored.cast(self.type)


@dataclass(frozen=True)
class TextFolding:
    """``--top`` on one series key with UTC buckets: the key as text, the series not kept
    named OTHER (the pandas engine's pyarrow path)."""

    key: str
    kept: pa.Array  # the kept values as text

    def apply(self, table: pa.Table) -> pa.Table:
        column = table.column(self.key)
        if pa.types.is_dictionary(column.type):
            folded = self._fold_dictionary(column)
        else:
            folded = self._fold(pc.cast(column, pa.string()))
        return table.set_column(table.schema.get_field_index(self.key), self.key, folded)

    def _fold(self, values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        member = pc.fill_null(pc.is_in(values, value_set=self.kept.drop_null()), False)
        if self.kept.null_count:
            member = pc.or_(member, pc.is_null(values))
        return pc.if_else(member, values, OTHER)

    def _fold_dictionary(self, column: pa.ChunkedArray) -> pa.DictionaryArray:
        """Folded on the dictionary's values (and null), not row by row."""
        encoded = column.unify_dictionaries().combine_chunks()
        names = pc.cast(encoded.dictionary, pa.string())
        folded = self._fold(pa.concat_arrays([names, pa.nulls(1, pa.string())]))
        relabelled = pc.dictionary_encode(folded)
        codes = pc.fill_null(encoded.indices, len(names))
        indices = pc.take(relabelled.indices, codes)
        return pa.DictionaryArray.from_arrays(indices, relabelled.dictionary)


@dataclass(frozen=True)
class FrameFolding:
    """``--top`` in the pandas engine's pandas path: rows whose key tuple is not kept are
    marked ``FOLDED`` with null keys (they become OTHER when the result is built)."""

    keys: tuple[str, ...]
    kept: pd.MultiIndex

    def apply(self, table: pa.Table) -> pa.Table:
        table = plain(table)
        frame = table.select(list(self.keys)).to_pandas()
        member = pa.array(pd.MultiIndex.from_frame(frame).isin(self.kept))
        for key in self.keys:
            index = table.schema.get_field_index(key)
            column = table.column(key)
            kept = pc.if_else(member, column, pa.scalar(None, type=column.type))
            table = table.set_column(index, key, kept)
        return table.append_column(FOLDED, pc.invert(member))


@dataclass(frozen=True)
class KeySet:
    """Rows whose group keys are among ``keys`` (the groups ``--limit`` cut, for OTHER)."""

    keys: pa.Table

    def mask(self, table: pa.Table) -> np.ndarray:
        names = self.keys.column_names
        wanted = self.keys.num_rows
        both = pa.concat_tables([self.keys, table.select(names).cast(self.keys.schema)])
        ids, count = group_index(both, names)
        chosen = np.zeros(count, dtype=bool)
        chosen[ids[:wanted]] = True
        return cast(np.ndarray, chosen[ids[wanted:]])


@dataclass(frozen=True)
class RowShape:
    """The per-row columns a grouped query needs, derived from the columns read:
    ``[bucket] [FOLDED] keys..., WEIGHT, masks..., values..., [TIME]``."""

    keys: tuple[str, ...]
    weighted: bool
    masks: tuple[Expr, ...] = ()
    values: tuple[str, ...] = ()
    bucket: Bucketing | None = None
    folding: TextFolding | FrameFolding | None = None
    times: bool = False
    only: KeySet | None = None

    @property
    def group_keys(self) -> list[str]:
        """The columns rows are grouped by."""
        keys = [self.bucket.column] if self.bucket is not None else []
        if isinstance(self.folding, FrameFolding):
            keys.append(FOLDED)
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
        if isinstance(self.folding, FrameFolding):
            columns[FOLDED] = keyed.column(FOLDED)
        for key in self.keys:
            columns[key] = keyed.column(key)
        columns[WEIGHT] = weight
        for index, expr in enumerate(self.masks):
            matched = ds.dataset(table).to_table(columns={"m": compile_filter(expr, table.schema)})
            columns[mask_column(index)] = pc.if_else(pc.fill_null(matched["m"], False), weight, 0)
        for index, name in enumerate(self.values):
            columns[value_column(index)] = table.column(name)
        if self.times:
            columns[TIME] = table.column("timestamp")
        return pa.table(columns)

    def schema(self, read: FileRead) -> pa.Schema:
        """The derived columns' types, given what is read."""
        return self.derive(read.output_schema.empty_table()).schema


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


def group_index(table: pa.Table, keys: Sequence[str]) -> tuple[np.ndarray, int]:
    """A dense group number per row for the distinct tuples of ``keys`` (null is a value
    of its own, as in ``GROUP BY``), and the number of groups."""
    rows = table.num_rows
    ids = np.zeros(rows, dtype=np.int64)
    count = 1 if rows else 0
    for key in keys:
        codes, values = _codes(table.column(key))
        ids, count = _dense(ids * len(values) + codes, count * len(values))
    return ids, count


def _dense(ids: np.ndarray, bound: int) -> tuple[np.ndarray, int]:
    """``ids`` (all below ``bound``) renumbered 0, 1, ... without gaps."""
    if not len(ids):
        return ids, 0
    if bound <= 4 * len(ids):
        present = np.bincount(ids, minlength=bound) > 0
        return (np.cumsum(present) - 1)[ids], int(present.sum())
    unique, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.int64).reshape(-1), len(unique)


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Each row's value as a number, and the values those numbers stand for (null among
    them when the column has nulls)."""
    if pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=np.int64), pa.nulls(1)
    if pa.types.is_dictionary(column.type):
        # Read as dictionaries: each row group has its own, made one here.
        encoded = column.unify_dictionaries().combine_chunks()
        values = pa.concat_arrays([encoded.dictionary, pa.nulls(1, encoded.dictionary.type)])
        codes = pc.fill_null(encoded.indices, len(encoded.dictionary))
        return codes.to_numpy(zero_copy_only=False).astype(np.int64), values
    encoded = pc.dictionary_encode(column.combine_chunks(), null_encoding="encode")
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary


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
        codes, values = _codes(column)
        # pandas makes booleans with a null objects, without one bools, which hash
        # apart: as Python objects the same value hashes the same in every partition.
        as_pandas = (
            pd.Series(values.to_pylist(), dtype=object)
            if pa.types.is_boolean(values.type)
            else values.to_pandas()
        )
        distinct = pd.util.hash_pandas_object(as_pandas, index=False)
        hashes = hashes * np.uint64(1_000_003) + distinct.to_numpy()[codes]
    return hashes


def with_route(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """``table`` and its ``ROUTE`` column."""
    route = (key_hashes(table, keys) >> np.uint64(1)).astype(np.int64)
    return table.append_column(ROUTE, pa.array(route))


def group_keys(
    table: pa.Table, keys: Sequence[str], ids: np.ndarray, count: int
) -> dict[str, pa.Array | pa.ChunkedArray]:
    """Each group's key values (from its first row), by key."""
    first = np.full(count, len(ids), dtype=np.int64)
    np.minimum.at(first, ids, np.arange(len(ids), dtype=np.int64))
    return {key: table.column(key).take(pa.array(first)) for key in keys}


@dataclass(frozen=True)
class StateLayout:
    """The partial state of each group: which columns, combined how. Value ``i`` (column
    ``value_column(i)``) is summed (``sums``), bounded (``mins``, ``maxs``) or has its
    moments kept (``moments``, for ``stddev``)."""

    keys: tuple[str, ...]
    masks: int = 0
    sums: tuple[int, ...] = ()
    mins: tuple[int, ...] = ()
    maxs: tuple[int, ...] = ()
    moments: tuple[int, ...] = ()
    times: bool = False

    def of_rows(self, rows: pa.Table) -> pa.Table:
        """Each row as a state of its own (then merged per group)."""
        columns: dict[str, pa.Array | pa.ChunkedArray] = {k: rows.column(k) for k in self.keys}
        weight = rows.column(WEIGHT)
        columns[WEIGHT] = weight
        for index in range(self.masks):
            columns[mask_column(index)] = rows.column(mask_column(index))
        for index in self.sums:
            values = rows.column(value_column(index))
            columns[f"__s{index}"] = pc.multiply(values, weight)
            columns[f"__c{index}"] = pc.if_else(pc.is_valid(values), weight, 0)
        for index in self.mins:
            columns[f"__min{index}"] = rows.column(value_column(index))
        for index in self.maxs:
            columns[f"__max{index}"] = rows.column(value_column(index))
        for index in self.moments:
            values = pc.cast(rows.column(value_column(index)), pa.float64())
            columns[f"__n{index}"] = pc.cast(pc.is_valid(values), pa.int64())
            columns[f"__mean{index}"] = values
            columns[f"__m2{index}"] = pc.if_else(pc.is_valid(values), 0.0, None)
        if self.times:
            columns["__tmin"] = rows.column(TIME)
            columns["__tmax"] = rows.column(TIME)
        return pa.table(columns)

    def merge(self, states: pa.Table) -> pa.Table:
        """One state per group from any number of states per group."""
        ids, count = group_index(states, self.keys)
        wanted: list[tuple[str, str]] = [(WEIGHT, "sum")]
        wanted += [(mask_column(i), "sum") for i in range(self.masks)]
        wanted += [(f"__{p}{i}", "sum") for i in self.sums for p in ("s", "c")]
        wanted += [(f"__min{i}", "min") for i in self.mins]
        wanted += [(f"__max{i}", "max") for i in self.maxs]
        if self.times:
            wanted += [("__tmin", "min"), ("__tmax", "max")]
        work = states.select([c for c, _ in wanted]).append_column("__g", pa.array(ids))
        grouped = work.group_by("__g", use_threads=False).aggregate(wanted).sort_by("__g")
        columns = group_keys(states, self.keys, ids, count)
        columns.update({c: grouped.column(f"{c}_{f}") for c, f in wanted})
        merged = pa.table(columns)
        for index in self.moments:
            merged = _merge_moments(merged, states, index, ids, count)
        return merged

    def schema(self, rows: pa.Schema) -> pa.Schema:
        """The states' types, given the rows' types."""
        return self.of_rows(rows.empty_table()).schema


def _merge_moments(
    merged: pa.Table, states: pa.Table, index: int, ids: np.ndarray, count: int
) -> pa.Table:
    """Chan et al.'s pairwise update: n = Σnᵢ, mean = Σnᵢ·meanᵢ / n,
    M2 = Σ(M2ᵢ + nᵢ·(meanᵢ − mean)²)."""
    n_i = states.column(f"__n{index}").to_numpy(zero_copy_only=False).astype(np.float64)
    mean_i = np.nan_to_num(_floats(states.column(f"__mean{index}")))
    m2_i = np.nan_to_num(_floats(states.column(f"__m2{index}")))
    n = np.bincount(ids, weights=n_i, minlength=count)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(ids, weights=n_i * mean_i, minlength=count) / n
    spread = m2_i + n_i * (mean_i - np.nan_to_num(mean)[ids]) ** 2
    m2 = np.bincount(ids, weights=spread, minlength=count)
    present = n > 0
    merged = merged.append_column(f"__n{index}", pa.array(n.astype(np.int64)))
    merged = merged.append_column(f"__mean{index}", pa.array(mean, mask=~present))
    return merged.append_column(f"__m2{index}", pa.array(m2, mask=~present))


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
        rows = to_table(frame, self.rows)
        return to_frame(self.layout.merge(self.layout.of_rows(rows)))

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
        column = pc.cast(table.column(self.value), pa.float64())
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
