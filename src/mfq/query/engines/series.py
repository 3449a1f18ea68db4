"""Time series, for every engine: time buckets (aligned to the UTC epoch, or to local
midnight in a display zone), ``--top`` folding of the smaller series into OTHER, and
the grid of every bucket of every series (gaps filled with each aggregate's value over
no events). All in Arrow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.model.arrays import to_arrow
from mfq.query.engines.algebra import algebra_of
from mfq.query.engines.computed import add_computed, output_columns
from mfq.query.engines.finish import OTHER, nan_as_null, select_output
from mfq.query.engines.grouping import bucket_starts
from mfq.query.engines.keys import KeySet
from mfq.query.engines.plan import AggregatePlan
from mfq.query.engines.rows import Column, plain
from mfq.query.grid import check_grid
from mfq.query.spec import QuerySpec
from mfq.store.ids import sorted_distinct

BUCKET = "time"
TIME_TYPE = pa.timestamp("ns", tz="UTC")
_DAY = timedelta(days=1)


def width_ns(width: timedelta) -> int:
    """A bucket width in nanoseconds."""
    return (width // timedelta(microseconds=1)) * 1000


def floor_times(times: Column, width: timedelta, tz: str | None) -> Column:
    """Each time's bucket start: aligned to the UTC epoch, or in zone ``tz`` (day buckets
    on local midnight; within a day each instant keeps its own UTC offset, so an hour
    repeated by a daylight-saving change is two buckets, not one)."""
    step = width_ns(width)
    if tz is None:
        return bucket_starts(times, step)
    nanos = pc.cast(times, pa.int64())
    wall = pc.cast(pc.local_timestamp(times.cast(pa.timestamp("ns", tz=tz))), pa.int64())
    floored = _floor(wall, step)
    if width % _DAY:
        return pc.subtract(nanos, pc.subtract(wall, floored)).cast(times.type)
    return _from_wall(floored, tz).cast(times.type)


def _floor(nanos: Column, step: int) -> Column:
    shifted = pc.subtract(nanos, pc.if_else(pc.less(nanos, 0), step - 1, 0))
    return pc.multiply(pc.divide(shifted, step), step)


def _from_wall(wall: Column, tz: str) -> Column:
    """Local wall-clock times (ns) as UTC instants: an ambiguous time is the later
    (standard-time) one, a time skipped by a change the last instant before it."""
    naive = pc.cast(wall, pa.timestamp("ns"))
    local = pc.assume_timezone(naive, timezone=tz, ambiguous="latest", nonexistent="earliest")
    return pc.cast(pc.cast(local, pa.int64()), pa.timestamp("ns", tz="UTC"))


def bucket_grid(start: int, end: int, width: timedelta, tz: str | None, series: int) -> np.ndarray:
    """Every bucket start (ns) from the one holding ``start`` to past-the-last ``end``
    (sized with ``check_grid`` before anything is built)."""
    step = width_ns(width)
    first = int(
        pc.cast(floor_times(pa.array([start], TIME_TYPE), width, tz), pa.int64())[0].as_py()
    )
    # A day more or less at a daylight-saving change.
    count = (end - 1 - first) // step + 1
    check_grid(count, series)
    if tz is None or width % _DAY:
        # (counted in integers: np.arange(first, end, step) sizes itself in doubles, one
        # bucket short over 1970 to now in hours)
        return first + step * np.arange(count, dtype=np.int64)
    # Days step in local wall-clock time, so they stay on local midnight across a
    # daylight-saving change (a fixed UTC step would drift by an hour).
    wall = pc.local_timestamp(pa.array([first, end - 1], TIME_TYPE).cast(pa.timestamp("ns", tz=tz)))
    low, high = pc.cast(wall, pa.int64()).to_pylist()
    days = to_arrow(low + step * np.arange((high - low) // step + 1, dtype=np.int64))
    buckets = sorted_distinct(pc.cast(_from_wall(days, tz), pa.int64()).to_numpy())
    return np.asarray(buckets[buckets >= first], dtype=np.int64)


def empty_series(spec: QuerySpec) -> pa.Table:
    """The answer of a time series without events: its columns, no rows."""
    names = output_columns(spec, [BUCKET, *spec.group_by])
    return pa.table({name: pa.array([], pa.null()) for name in names})


def finish_series(
    groups: pa.Table, spec: QuerySpec, plan: AggregatePlan, span: tuple[int, int], width: timedelta
) -> pa.Table:
    """A time series from its groups (one row per bucket and series present): every
    bucket of ``span`` for every series, then computed columns, in ``--agg`` order."""
    keys = list(spec.group_by)
    series = groups.select(keys).group_by(keys).aggregate([]).num_rows if keys else 1
    buckets = bucket_grid(*span, width, spec.bucket_tz, series)
    filled = fill_buckets(groups, keys, plan, buckets)
    if not spec.computed:
        return filled
    return select_output(add_computed(filled, spec), spec, [BUCKET, *keys])


def fill_buckets(
    groups: pa.Table, keys: list[str], plan: AggregatePlan, buckets: np.ndarray
) -> pa.Table:
    """Every bucket of ``buckets`` for every series of ``groups`` (one row per bucket and
    series present), each aggregate's value over no events where empty, in bucket order
    then series order (keys ascending, missing last)."""
    series = groups.select(keys).group_by(keys).aggregate([]) if keys else pa.table({})
    count = series.num_rows if keys else 1
    if keys:
        series = series.sort_by([(k, "ascending", "at_end") for k in keys])
    starts = pc.cast(groups.column(BUCKET), pa.int64()).to_numpy()
    position = np.searchsorted(buckets, starts) * count + _series_index(groups, series, keys)
    source = np.full(len(buckets) * count, -1, dtype=np.int64)
    source[position] = np.arange(groups.num_rows)
    take = to_arrow(source, mask=source < 0)
    columns: dict[str, Column] = {BUCKET: to_arrow(np.repeat(buckets, count)).cast(TIME_TYPE)}
    if keys:
        tiled = series.take(to_arrow(np.tile(np.arange(count), len(buckets))))
        columns.update({key: tiled.column(key) for key in keys})
    for name, aggregate in plan.aggregates:
        values = groups.column(name).take(take)
        empty = algebra_of(aggregate).empty
        columns[name] = values if empty is None else pc.fill_null(values, empty)
    return nan_as_null(pa.table(columns))


def _series_index(groups: pa.Table, series: pa.Table, keys: list[str]) -> np.ndarray:
    """For each group row, the position of its key tuple in ``series``."""
    if not keys:
        return np.zeros(groups.num_rows, dtype=np.int64)
    code = np.zeros(groups.num_rows, dtype=np.int64)
    series_code = np.zeros(series.num_rows, dtype=np.int64)
    for key in keys:
        distinct = pc.unique(series.column(key).combine_chunks())
        width = len(distinct)
        options = pc.SetLookupOptions(value_set=distinct, skip_nulls=False)
        code = code * width + pc.index_in(groups.column(key), options=options).to_numpy()
        series_code = series_code * width + pc.index_in(
            series.column(key), options=options
        ).to_numpy(zero_copy_only=False)
    order = np.argsort(series_code)
    return np.asarray(order[np.searchsorted(series_code, code, sorter=order)], dtype=np.int64)


# -- --top ------------------------------------------------------------------------------------


def kept_series(sizes: pa.Table, keys: list[str], weight: str, top: int) -> Folding | None:
    """The ``top`` largest series of ``sizes`` (one row per key tuple, its weight in
    column ``weight``), ties broken by the keys (ascending, missing last); None when
    there are no more than ``top``."""
    sizes = plain(sizes)
    if sizes.num_rows <= top:
        return None
    order = [(weight, "descending", "at_end"), *((k, "ascending", "at_end") for k in keys)]
    ranked = sizes.sort_by(order).slice(0, top)
    return Folding(tuple(keys), ranked.select(keys))


@dataclass(frozen=True)
class Folding:
    """``--top``: rows of series not ``kept`` get OTHER in the first key (as text) and
    null in the others, so the series left out add up to one."""

    keys: tuple[str, ...]
    kept: pa.Table

    def apply(self, table: pa.Table) -> pa.Table:
        """``table`` with its series folded."""
        first = self.keys[0]
        column = table.column(first)
        if len(self.keys) == 1 and pa.types.is_dictionary(column.type):
            folded: Column = self._fold_dictionary(column)
        elif len(self.keys) == 1:
            folded = self._fold(pc.cast(column, pa.string()))
        else:
            member = to_arrow(KeySet(self.kept).mask(table))
            folded = pc.if_else(member, _text(column), OTHER)
            for key in self.keys[1:]:
                index = table.schema.get_field_index(key)
                values = plain(table.select([key])).column(0)
                kept = pc.if_else(member, values, pa.scalar(None, values.type))
                table = table.set_column(index, key, kept)
        return table.set_column(table.schema.get_field_index(first), first, folded)

    def _fold(self, values: Column) -> Column:
        kept = pc.cast(self.kept.column(0), pa.string()).combine_chunks()
        member = pc.fill_null(pc.is_in(values, value_set=kept.drop_null()), False)
        if kept.null_count:
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


def _text(column: Column) -> Column:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return pc.cast(column, pa.string())
