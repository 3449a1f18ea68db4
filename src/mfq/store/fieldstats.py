"""Per-file field statistics, recorded at write time so ``mfq schema`` reads the catalog.

For every field of an events file: how many events have a value, the value classes seen,
and a sketch of the values. A field with few distinct values in the file keeps every value
with its count (exact, and exact again when merged); a field with many keeps its most
frequent values and a HyperLogLog sketch of all of them. Merging the files' statistics
answers ``mfq schema``: present counts and value classes exactly; distinct counts and
top values exactly where every file kept its whole value list, else as estimates.

Values are hashed in one domain whatever their storage type (their text form, as a field
typed differently between files reads as text), so sketches of such files merge too.
"""

from __future__ import annotations

import itertools
import zlib
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.ingest.columns import FLOAT, INTEGER, STRING, TIMESTAMP, arrow_class, to_text
from mfq.model.arrays import to_arrow
from mfq.store import ids

#: A file keeps every value of a field with at most this many distinct values.
EXACT_VALUES = 512
#: Otherwise it keeps this many of its most frequent values.
TOP_KEPT = 32
#: HyperLogLog precision: 2**11 registers, a standard error of about 2.3%.
HLL_BITS = 11
HLL_REGISTERS = 1 << HLL_BITS
_REST_BITS = 64 - HLL_BITS  # 53: the rest of a hash is exact in a float64
#: The field whose distinct count is its present count (the store keeps ids unique).
UNIQUE_FIELD = "id"


@dataclass(frozen=True)
class FieldStats:
    """One field of one events file."""

    field: str
    present: int
    #: Value classes seen (``integer``, ``string``, ...), sorted.
    classes: tuple[str, ...]
    #: Columns ``value`` and ``n``: every value when ``exact``, else the most frequent
    #: (None for times and ids, which have no top values).
    values: pa.Table | None
    exact: bool
    #: HyperLogLog registers of every value (only when not ``exact``).
    sketch: bytes | None
    #: Distinct values in the file (exact).
    distinct: int = 0

    def to_row(self) -> tuple[str, int, str, bytes | None, int, bytes | None, int]:
        """The catalog's columns: field, present, classes, values (Arrow IPC), exact,
        sketch, distinct."""
        sketch = zlib.compress(self.sketch, 1) if self.sketch is not None else None
        classes = ",".join(self.classes)
        values = None if self.values is None else _ipc(self.values)
        return self.field, self.present, classes, values, int(self.exact), sketch, self.distinct


def _values_table(
    values: pa.Array | pa.ChunkedArray, counts: pa.Array | pa.ChunkedArray
) -> pa.Table:
    # Not ``pa.table({...})``: given a dict, it imports pandas to rule out a DataFrame.
    return pa.Table.from_arrays([values, counts], names=["value", "n"])


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def table_stats(
    table: pa.Table, classes: dict[str, set[str]] | None = None, helper: Executor | None = None
) -> list[FieldStats]:
    """The statistics of every field of ``table`` that has a value.

    ``classes`` are the value classes known for a text column (a field mixed in its
    source is stored as text; its classes cannot be read back from the text). With a
    ``helper`` thread, it computes every other field's statistics meanwhile (Arrow and
    numpy leave the interpreter's lock while they count)."""
    fields = [
        (name, column, len(column) - column.null_count)
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.null_count < len(column)
    ]
    if helper is None or len(fields) < 2:
        return _fields_stats(fields, classes)
    theirs = helper.submit(_fields_stats, fields[1::2], classes)
    mine = _fields_stats(fields[0::2], classes)
    merged: list[FieldStats] = []  # in the table's order again
    for ours, other in itertools.zip_longest(mine, theirs.result()):
        merged += [stats for stats in (ours, other) if stats is not None]
    return merged


def _fields_stats(
    fields: list[tuple[str, pa.ChunkedArray, int]], classes: dict[str, set[str]] | None
) -> list[FieldStats]:
    return [
        _column_stats(name, column, present, _classes(column.type, name, classes))
        for name, column, present in fields
    ]


def stored_classes(
    table: pa.Table, classes: dict[str, set[str]] | None = None
) -> dict[str, tuple[str, ...]]:
    """The value classes ``table_stats`` records for each field of ``table`` that has a
    value, without computing the statistics."""
    return {
        name: _classes(column.type, name, classes)
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.null_count < len(column)
    }


def _classes(
    data_type: pa.DataType, name: str, known: dict[str, set[str]] | None
) -> tuple[str, ...]:
    stored = arrow_class(data_type)
    hinted = (known or {}).get(name, set())
    if stored == STRING and hinted:
        return tuple(sorted(hinted | {STRING} if STRING in hinted else hinted))
    if stored == FLOAT and INTEGER in hinted:
        return (FLOAT, INTEGER)
    return (stored,)


def _column_stats(
    name: str, column: pa.ChunkedArray, present: int, classes: tuple[str, ...]
) -> FieldStats:
    if name == UNIQUE_FIELD:
        return FieldStats(name, present, classes, None, False, None, present)
    if pa.types.is_timestamp(column.type):
        # Times have no top values; files of disjoint time spans have disjoint times, so
        # their distinct counts add up exactly (see ``MergedField``).
        nanos = _int64_values(pc.cast(column.drop_null(), pa.int64()))
        unique = pc.cast(_int64_array(_sorted_unique(nanos)), column.type)
        sketch = hll_registers(unique).tobytes()
        return FieldStats(name, present, classes, None, False, sketch, len(unique))
    held = column.drop_null()
    values, numbers, hashes, top = _float_counts(held) or _value_counts(held)
    table = _values_table(values, numbers)
    if len(values) <= EXACT_VALUES:
        return FieldStats(name, present, classes, table, True, None, len(values))
    registers = hll_registers(values) if hashes is None else _registers(hashes)
    sketch = registers.tobytes()
    kept = _top(table) if top is None else top
    return FieldStats(name, present, classes, kept, False, sketch, len(values))


#: (distinct values, their counts, the values' sketch hashes when known, the top values
#: when known): see ``_value_counts``.
_Counted = tuple[
    pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray, np.ndarray | None, pa.Table | None
]

_TOP_KEYS = [("n", "descending")]


def _top(table: pa.Table) -> pa.Table:
    """The ``TOP_KEPT`` rows of ``table`` (distinct values and their counts) that
    ``select_k_unstable`` picks, in its order, looked for among the rows that can enter
    its heap: it fills the heap with the first ``TOP_KEPT`` rows, then lets in a later row
    only when it counts more than the heap's least, and every count is 1 at least. So the
    later rows counted once change nothing (most of them: a column of measurements or
    sizes), and the pick among the others is the same rows, in the same order
    (``tests/store/test_fieldstats.py``)."""
    counts = _numbers(table.column("n").combine_chunks())
    first = min(TOP_KEPT, len(counts))
    later = np.flatnonzero(counts[first:] > 1)
    if len(later) * 2 > len(counts):
        return table.take(pc.select_k_unstable(table, k=TOP_KEPT, sort_keys=_TOP_KEYS))
    rows = np.concatenate([np.arange(first, dtype=np.int64), later + first])
    among = table.take(_int64_array(rows))
    picked = _numbers(pc.select_k_unstable(among, k=TOP_KEPT, sort_keys=_TOP_KEYS))
    return table.take(_int64_array(rows[picked]))


def _float_counts(column: pa.ChunkedArray) -> _Counted | None:
    """``_value_counts`` of many floats (more than a file keeps whole, with few repeats
    among the first ones) by sorting their bits, where Arrow's hash table took 2-3 times
    as long; None for any other column. Arrow's answer is in order of first appearance
    (which decides the top values among equal counts): where the file keeps every value,
    they are put in that order; otherwise the values are in bit order (the sketch and
    the distinct count do not depend on it) and the top values are picked from the
    values in order of first appearance that can be picked (``_top``). Floats compare as
    Arrow's hash table does, by their bits (0.0 and -0.0 are two values); a column
    holding a NaN (Arrow counts every NaN as one) is left to Arrow."""
    if column.type != pa.float64() or len(column) <= EXACT_VALUES:
        return None
    array = column.combine_chunks()
    floats = np.frombuffer(
        array.buffers()[1], dtype=np.float64, count=len(array), offset=array.offset * 8
    )
    head = floats[:_UNIQUE_PROBE].view(np.int64)
    if len(_sorted_unique(head)) * 2 <= len(head) or bool(np.isnan(floats).any()):
        return None  # (few values: Arrow's hash table is the quicker)
    bits = floats.view(np.int64)
    order = np.argsort(bits)
    ordered = bits[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    counts = np.diff(np.append(starts, len(bits)))
    first = np.minimum.reduceat(order, starts)  # each value's first row
    if len(starts) <= EXACT_VALUES:
        seen = np.argsort(first)
        return _float64_array(floats[first[seen]]), _int64_array(counts[seen]), None, None
    # The values that can be picked (the first ``TOP_KEPT`` to appear, and those counted
    # more than once), put in order of first appearance through their first rows.
    wanted = counts > 1
    wanted[np.argpartition(first, TOP_KEPT)[:TOP_KEPT]] = True
    picked_first = np.full(len(bits), -1, dtype=np.int64)
    chosen = np.flatnonzero(wanted)
    picked_first[first[chosen]] = chosen
    rows = picked_first[picked_first >= 0]
    among = _values_table(_float64_array(floats[first[rows]]), _int64_array(counts[rows]))
    top = among.take(pc.select_k_unstable(among, k=TOP_KEPT, sort_keys=_TOP_KEYS))
    return _float64_array(floats[order[starts]]), _int64_array(counts), None, top


def _value_counts(column: pa.ChunkedArray) -> _Counted:
    """(distinct values, their counts, the values' sketch hashes when known, None for the
    top values: ``_top`` picks them) of a column without nulls. Arrow's hash table is slow
    on many distinct integers (ids, sizes): those are counted by sorting instead, in value
    order; a column of few values keeps Arrow's order of first appearance. Text whose
    every value differs (trace and span ids) is found so by its sketch hashes: no two
    alike, so no two values alike, and Arrow's answer is the column itself, each value
    once."""
    if pa.types.is_int64(column.type) and len(column) > EXACT_VALUES:
        numbers = _int64_values(column)
        unique, counts = np.unique(numbers, return_counts=True)
        if len(unique) > EXACT_VALUES:
            return _int64_array(unique), _int64_array(counts), None, None
    if pa.types.is_string(column.type) and _may_be_unique(column):
        hashes = value_hashes(column)  # (the text's own: ``to_text`` leaves text as it is)
        if _all_differ(hashes):
            ones = _int64_array(np.ones(len(column), dtype=np.int64))
            return column.combine_chunks(), ones, hashes, None
    found = pc.value_counts(column)
    return found.field("values"), found.field("counts"), None, None


#: Values looked at first, twice: the first ones, and as many spread evenly over the
#: column. Text with a repeat among either is counted by Arrow at once.
_UNIQUE_PROBE = 2048


def _may_be_unique(column: pa.ChunkedArray) -> bool:
    """Whether text of more values than a file keeps whole has no repeat in its first
    values, nor among values spread over it: a column of few values repeats within a few
    of them, and one of many values repeating anywhere (user ids, URLs: n distinct values
    drawn at random) repeats among k spread ones about k * k / 2n times (35 for 60,000
    values), where its first values may all differ. Such columns are not hashed whole
    only to be counted by Arrow after all (three times the cost)."""
    if len(column) <= EXACT_VALUES:
        return False
    head = column.slice(0, _UNIQUE_PROBE)
    if pc.count_distinct(head).as_py() != len(head):
        return False
    spread = column.take(np.linspace(0, len(column) - 1, _UNIQUE_PROBE, dtype=np.int64))
    return bool(pc.count_distinct(spread).as_py() == len(spread))


def _all_differ(hashes: np.ndarray) -> bool:
    ordered = np.sort(hashes)
    return not bool(np.any(ordered[1:] == ordered[:-1]))


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: by sorting (fast on the files' times, written in
    order), where numpy's own ``unique`` hashes (ten times slower on this machine)."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _int64_values(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The values of an int64 column without nulls, as numpy."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int64)


# -- HyperLogLog ------------------------------------------------------------------------------


def value_hashes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """64-bit hashes of values in the one domain every file shares: times by their
    nanoseconds, anything else by its text form."""
    if pa.types.is_timestamp(values.type):
        nanos = np.asarray(pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False))
        return ids.mix64(nanos.astype(np.int64).view(np.uint64))
    if pa.types.is_floating(values.type) and not values.null_count:
        return _float_hashes(values)
    if pa.types.is_boolean(values.type) or pa.types.is_integer(values.type):
        return ids.first_hashes(pc.cast(values, pa.string()))  # as ``to_text`` writes them
    return ids.first_hashes(to_text(values))


def _float_hashes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The hashes of floats' text as ``to_text`` writes it (whole numbers as integers),
    without Python scalars in compute calls: those import pandas, which a ``mfq schema``
    answered from the catalog never needs."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    floats = (
        np.frombuffer(
            array.buffers()[1], dtype=np.float64, count=len(array), offset=array.offset * 8
        )
        if array.type == pa.float64()
        else None
    )
    if floats is None:
        return ids.first_hashes(to_text(values))
    with np.errstate(invalid="ignore"):
        whole = (np.floor(floats) == floats) & (floats >= -(2.0**63)) & (floats < 2.0**63)
    # Every value hashed as the more common kind, then the others gathered and hashed
    # again (measurements are seldom whole and counts always are: one gather, small).
    common = bool(np.count_nonzero(whole) * 2 > len(floats))
    hashes = ids.first_hashes(_float_text(array, as_int=common))
    others = np.flatnonzero(whole != common).astype(np.int64)
    if len(others):
        picked = array.take(_int64_array(others))
        hashes[others] = ids.first_hashes(_float_text(picked, as_int=not common))
    edge = np.flatnonzero(floats == 2.0**63)  # written as the integer it is, past int64
    if len(edge):
        digits = pc.cast(to_arrow(np.full(len(edge), 2**63, dtype=np.uint64)), pa.string())
        hashes[edge] = ids.first_hashes(digits)
    return hashes


def _float_text(floats: pa.Array, as_int: bool) -> pa.Array:
    """Floats as ``to_text`` writes them, whole ones (``as_int``) as integers; with
    ``as_int``, a value that is not whole gets a wrong text (its hash is replaced)."""
    return pc.cast(pc.cast(floats, pa.int64(), safe=False) if as_int else floats, pa.string())


def _int64_array(values: np.ndarray) -> pa.Array:
    """A numpy int64 array as Arrow without copying (``pa.array`` may import pandas)."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def _float64_array(values: np.ndarray) -> pa.Array:
    """A numpy float64 array as Arrow without copying."""
    data = np.ascontiguousarray(values, dtype=np.float64)
    return pa.Array.from_buffers(pa.float64(), len(data), [None, pa.py_buffer(data)])


def hll_registers(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The HyperLogLog registers of distinct ``values`` (uint8, ``HLL_REGISTERS`` long)."""
    return _registers(value_hashes(values))


def _registers(hashes: np.ndarray) -> np.ndarray:
    """The HyperLogLog registers of values with these ``value_hashes``."""
    registers = np.zeros(HLL_REGISTERS, dtype=np.uint8)
    if not len(hashes):
        return registers
    index = (hashes >> np.uint64(_REST_BITS)).astype(np.intp)
    rest = (hashes & np.uint64((1 << _REST_BITS) - 1)).astype(np.float64)
    _mantissa, bits = np.frexp(rest)  # bit length of the rest (0 for 0)
    rank = (_REST_BITS + 1 - bits).astype(np.uint8)
    np.maximum.at(registers, index, rank)
    return registers


def hll_estimate(registers: np.ndarray) -> int:
    """The distinct count the registers stand for (with the small-range correction)."""
    m = float(len(registers))
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = alpha * m * m / float(np.sum(np.power(2.0, -registers.astype(np.float64))))
    zeros = int(np.count_nonzero(registers == 0))
    if raw <= 2.5 * m and zeros:
        return round(m * float(np.log(m / zeros)))
    return round(raw)


# -- merging ------------------------------------------------------------------------------------


#: One catalog row of :meth:`FieldStats.to_row`, as read back, with its file's time span.
StatsRow = tuple[str, int, str, bytes | None, int, bytes | None, int, int | None, int | None]


@dataclass
class MergedField:
    """One field's statistics over many files."""

    field: str
    present: int
    classes: Counter[str]
    exact: bool
    #: Every value kept by some file (``value``), with its count summed over the files
    #: keeping it (``n``); None when no file keeps values (times, ids).
    values: pa.Table | None
    registers: np.ndarray | None
    unique: bool
    times: bool
    #: The distinct count when it is known exactly without the value lists.
    known_distinct: int | None = None
    #: The values of the files that kept them all (the other files' sketches hold theirs).
    whole_lists: list[pa.ChunkedArray] | None = None

    def distinct(self) -> int:
        """Exact when every file kept its whole value list (or the files cannot share a
        value), else estimated."""
        if self.unique:
            return self.present
        if self.known_distinct is not None:
            return self.known_distinct
        kept = 0 if self.values is None else int(self.values.num_rows)
        if self.exact:
            return kept
        registers = self.registers
        for values in self.whole_lists or []:
            from_values = hll_registers(values)
            registers = from_values if registers is None else np.maximum(registers, from_values)
        return max(0 if registers is None else hll_estimate(registers), kept)

    def top(self, k: int) -> list[tuple[object, int]]:
        """The ``k`` most frequent values, ties by value (as the exact scan orders them)."""
        if self.values is None or not self.values.num_rows:
            return []
        keys = [("n", "descending"), ("value", "ascending")]
        picked = pc.select_k_unstable(self.values, k=min(k, self.values.num_rows), sort_keys=keys)
        ranked = self.values.take(picked).sort_by(keys)
        pairs = zip(ranked["value"].to_pylist(), ranked["n"].to_pylist(), strict=True)
        return list(pairs)


def merge(rows: Iterable[StatsRow], storage: dict[str, set[str]]) -> dict[str, MergedField]:
    """Every field's statistics over the files, given each field's storage classes (a
    field stored as different types in different files meets as the exact scan reads it:
    as text, or integers as floats)."""
    by_field: dict[str, list[StatsRow]] = {}
    for row in rows:
        by_field.setdefault(row[0], []).append(row)
    merged = {}
    for name, group in by_field.items():
        kinds = storage.get(name, set())
        meet = None
        if len(kinds) > 1:
            meet = pa.float64() if kinds <= {INTEGER, FLOAT} else pa.string()
        merged[name] = _merge_field(name, group, meet)
    return merged


def _merge_field(name: str, rows: list[StatsRow], meet: pa.DataType | None) -> MergedField:
    classes: Counter[str] = Counter()
    registers: np.ndarray | None = None
    tables = []
    whole: list[pa.ChunkedArray] = []
    for _field, present, kinds, values, exact, sketch, *_rest in rows:
        for kind in kinds.split(","):
            if kind:
                classes[kind] += present
        if not exact and sketch is not None:
            found = np.frombuffer(zlib.decompress(sketch), dtype=np.uint8)
            registers = found.copy() if registers is None else np.maximum(registers, found)
        if values is not None:
            tables.append(_meet(pa.ipc.open_stream(pa.py_buffer(values)).read_all(), meet))
            if exact:
                whole.append(tables[-1].column("value"))
    times = TIMESTAMP in classes
    return MergedField(
        field=name,
        present=sum(row[1] for row in rows),
        classes=classes,
        exact=all(row[4] for row in rows) or _disjoint(rows, times),
        values=_summed(tables),
        registers=registers,
        unique=name == UNIQUE_FIELD,
        times=times,
        known_distinct=sum(row[6] for row in rows) if _disjoint(rows, times) else None,
        whole_lists=whole,
    )


def _meet(table: pa.Table, meet: pa.DataType | None) -> pa.Table:
    """The value column as the exact scan reads a field stored as several types."""
    if meet is None or table.column("value").type == meet:
        return table
    value = table.column("value")
    converted = to_text(value) if pa.types.is_string(meet) else pc.cast(value, meet)
    return table.set_column(0, "value", converted)


def _summed(tables: list[pa.Table]) -> pa.Table | None:
    if not tables:
        return None
    if len(tables) == 1:
        return tables[0]
    combined = pa.concat_tables(tables, promote_options="permissive").combine_chunks()
    # Sums per value by dictionary codes (``Table.group_by`` would import pandas through
    # pyarrow's query engine, more than the whole merge costs).
    encoded = pc.dictionary_encode(combined.column("value").chunk(0))
    counts = _numbers(combined.column("n").chunk(0)).astype(np.float64)
    sums = np.bincount(_numbers(encoded.indices), weights=counts, minlength=len(encoded.dictionary))
    return _values_table(encoded.dictionary, _int64_array(sums.astype(np.int64)))


def _numbers(array: pa.Array) -> np.ndarray:
    """An integer array without nulls as numpy, from its buffer (``to_numpy`` may import
    pandas)."""
    dtype = np.dtype(f"int{array.type.bit_width}")
    return np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize
    )


def _disjoint(rows: list[StatsRow], times: bool) -> bool:
    """The files cannot share a value: one file, or times of disjoint time spans."""
    if len(rows) == 1:
        return True
    if not times:
        return False
    spans = sorted((row[7], row[8]) for row in rows if row[7] is not None and row[8] is not None)
    if len(spans) < len(rows):
        return False
    return all(later[0] > earlier[1] for earlier, later in itertools.pairwise(spans))
