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

import heapq
import itertools
import json
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mfq.ingest.columns import FLOAT, INTEGER, STRING, TIMESTAMP, arrow_class, to_text
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
    #: ``[value, count]`` pairs: every value when ``exact``, else the most frequent.
    values: tuple[tuple[object, int], ...]
    exact: bool
    #: HyperLogLog registers of every value (only when not ``exact``).
    sketch: bytes | None
    #: Distinct values in the file (exact).
    distinct: int = 0

    def to_row(self) -> tuple[str, int, str, str, int, bytes | None, int]:
        """The catalog's columns: field, present, classes, values, exact, sketch, distinct."""
        sketch = zlib.compress(self.sketch, 1) if self.sketch is not None else None
        values = json.dumps([[v, n] for v, n in self.values], allow_nan=True)
        classes = ",".join(self.classes)
        return self.field, self.present, classes, values, int(self.exact), sketch, self.distinct


def table_stats(table: pa.Table, classes: dict[str, set[str]] | None = None) -> list[FieldStats]:
    """The statistics of every field of ``table`` that has a value.

    ``classes`` are the value classes known for a text column (a field mixed in its
    source is stored as text; its classes cannot be read back from the text)."""
    found = []
    for name in table.column_names:
        column = table.column(name)
        present = len(column) - column.null_count
        if not present:
            continue
        found.append(_column_stats(name, column, present, _classes(column.type, name, classes)))
    return found


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
        return FieldStats(name, present, classes, (), False, None, present)
    if pa.types.is_timestamp(column.type):
        # Times have no top values; files of disjoint time spans have disjoint times, so
        # their distinct counts add up exactly (see ``MergedField``).
        unique = pc.unique(column.drop_null())
        sketch = hll_registers(unique).tobytes()
        return FieldStats(name, present, classes, (), False, sketch, len(unique))
    counts = pc.value_counts(column.drop_null())
    values, numbers = counts.field("values"), counts.field("counts")
    if len(counts) <= EXACT_VALUES:
        pairs = _pairs(values, numbers)
        return FieldStats(name, present, classes, pairs, True, None, len(counts))
    picked = pc.select_k_unstable(
        pa.table({"n": numbers}), k=TOP_KEPT, sort_keys=[("n", "descending")]
    )
    top = _pairs(values.take(picked), numbers.take(picked))
    sketch = hll_registers(values).tobytes()
    return FieldStats(name, present, classes, top, False, sketch, len(counts))


def _pairs(values: pa.Array, numbers: pa.Array) -> tuple[tuple[object, int], ...]:
    if pa.types.is_timestamp(values.type):
        values = pc.cast(values, pa.int64())
    return tuple(zip(values.to_pylist(), numbers.to_pylist(), strict=True))


# -- HyperLogLog ------------------------------------------------------------------------------


def value_hashes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """64-bit hashes of values in the one domain every file shares: times by their
    nanoseconds, anything else by its text form."""
    if pa.types.is_timestamp(values.type):
        nanos = np.asarray(pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False))
        return ids.mix64(nanos.astype(np.int64).view(np.uint64))
    return ids.hash_ids(to_text(values))[:, 0]


def hll_registers(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The HyperLogLog registers of distinct ``values`` (uint8, ``HLL_REGISTERS`` long)."""
    hashes = value_hashes(values)
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
StatsRow = tuple[str, int, str, str, int, bytes | None, int, int | None, int | None]


@dataclass
class MergedField:
    """One field's statistics over many files."""

    field: str
    present: int
    classes: Counter[str]
    exact: bool
    #: Every value kept by some file, with its count summed over the files keeping it.
    values: dict[object, int]
    registers: np.ndarray | None
    unique: bool
    times: bool
    #: The distinct count when it is known exactly without the value lists.
    known_distinct: int | None = None

    def distinct(self) -> int:
        """Exact when every file kept its whole value list (or the files cannot share a
        value), else estimated."""
        if self.unique:
            return self.present
        if self.known_distinct is not None:
            return self.known_distinct
        if self.exact:
            return len(self.values)
        kept = list(self.values)
        array = (
            pa.array(kept, pa.int64()).cast(pa.timestamp("ns")) if self.times else pa.array(kept)
        )
        registers = hll_registers(array)
        if self.registers is not None:
            registers = np.maximum(self.registers, registers)
        return max(hll_estimate(registers), len(kept))

    def top(self, k: int) -> list[tuple[object, int]]:
        """The ``k`` most frequent values, ties by value (as the exact scan orders them;
        the values of one field share a type)."""
        return heapq.nsmallest(k, self.values.items(), key=lambda pair: (-pair[1], pair[0]))


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
            meet = "float" if kinds <= {INTEGER, FLOAT} else "text"
        merged[name] = _merge_field(name, group, meet)
    return merged


def _merge_field(name: str, rows: list[StatsRow], meet: str | None) -> MergedField:
    classes: Counter[str] = Counter()
    registers: np.ndarray | None = None
    for _field, present, kinds, _values, exact, sketch, *_rest in rows:
        for kind in kinds.split(","):
            if kind:
                classes[kind] += present
        if not exact and sketch is not None:
            found = np.frombuffer(zlib.decompress(sketch), dtype=np.uint8)
            registers = found.copy() if registers is None else np.maximum(registers, found)
    # One JSON parse for every file's value list: far cheaper than one per file.
    lists = json.loads("[" + ",".join(row[3] for row in rows) + "]")
    values: dict[object, int] = {}
    for pairs in lists:
        for value, n in pairs:
            key = value if meet is None else _meet(value, meet)
            values[key] = values.get(key, 0) + n
    times = TIMESTAMP in classes
    return MergedField(
        field=name,
        present=sum(row[1] for row in rows),
        classes=classes,
        exact=all(row[4] for row in rows) or _disjoint(rows, times),
        values=values,
        registers=registers,
        unique=name == UNIQUE_FIELD,
        times=times,
        known_distinct=sum(row[6] for row in rows) if _disjoint(rows, times) else None,
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


def _meet(value: object, meet: str) -> object:
    if meet == "float":
        return float(value) if isinstance(value, int) else value
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(to_text(pa.array([value]))[0].as_py())  # as a text column holds it
