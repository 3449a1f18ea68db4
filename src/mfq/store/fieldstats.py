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

    def to_row(self) -> tuple[str, int, str, str, int, bytes | None]:
        """The catalog's columns: field, present, classes, values, exact, sketch."""
        sketch = zlib.compress(self.sketch, 1) if self.sketch is not None else None
        values = json.dumps([[v, n] for v, n in self.values], allow_nan=True)
        return self.field, self.present, ",".join(self.classes), values, int(self.exact), sketch

    @classmethod
    def from_row(
        cls, field: str, present: int, classes: str, values: str, exact: int, sketch: bytes | None
    ) -> FieldStats:
        """The inverse of :meth:`to_row`."""
        pairs = tuple((v, int(n)) for v, n in json.loads(values))
        return cls(
            field,
            int(present),
            tuple(c for c in classes.split(",") if c),
            pairs,
            bool(exact),
            zlib.decompress(sketch) if sketch is not None else None,
        )


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
        return FieldStats(name, present, classes, (), False, None)
    counts = pc.value_counts(column.drop_null())
    values, numbers = counts.field("values"), counts.field("counts")
    if len(counts) <= EXACT_VALUES:
        pairs = _pairs(values, numbers)
        return FieldStats(name, present, classes, pairs, True, None)
    picked = pc.select_k_unstable(
        pa.table({"n": numbers}), k=TOP_KEPT, sort_keys=[("n", "descending")]
    )
    top = _pairs(values.take(picked), numbers.take(picked))
    return FieldStats(name, present, classes, top, False, hll_registers(values).tobytes())


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


@dataclass
class MergedField:
    """One field's statistics over many files."""

    field: str
    present: int = 0
    classes: Counter[str] | None = None
    exact: bool = True
    values: Counter[str] | None = None
    registers: np.ndarray | None = None
    unique: bool = False
    times: bool = False

    def add(self, stats: FieldStats, meet: str | None) -> None:
        """Fold in one file's statistics; ``meet`` is ``text`` or ``float`` when the
        field's storage type differs between files (values then meet as the exact scan
        reads them: as text, or integers as floats)."""
        self.present += stats.present
        self.times = self.times or TIMESTAMP in stats.classes
        self.classes = self.classes if self.classes is not None else Counter()
        for name in stats.classes:
            self.classes[name] += stats.present
        self.unique = stats.field == UNIQUE_FIELD
        self.values = self.values if self.values is not None else Counter()
        for value, n in stats.values:
            self.values[_key(value, meet)] += n
        if not stats.exact:
            self.exact = False
            if stats.sketch is not None:
                self._merge_registers(np.frombuffer(stats.sketch, dtype=np.uint8))

    def _merge_registers(self, registers: np.ndarray) -> None:
        if self.registers is None:
            self.registers = registers.copy()
        else:
            np.maximum(self.registers, registers, out=self.registers)

    def distinct(self) -> int:
        """Exact when every file kept its whole value list, else estimated."""
        if self.unique:
            return self.present
        keys = list(self.values or ())
        if self.exact:
            return len(keys)
        decoded = [json.loads(k) for k in keys]
        exact_part = hll_registers(
            pa.array(decoded, pa.int64()).cast(pa.timestamp("ns"))
            if self.times
            else pa.array(decoded)
        )
        registers = exact_part if self.registers is None else np.maximum(self.registers, exact_part)
        return max(hll_estimate(registers), len(keys))

    def top(self, k: int) -> list[tuple[object, int]]:
        """The ``k`` most frequent values (ties by value), decoded."""
        decoded = [(json.loads(key), n) for key, n in (self.values or Counter()).items()]
        # Ties by value, as the exact scan orders them (values of one field share a type).
        return sorted(decoded, key=lambda pair: (-pair[1], pair[0]))[:k]


def _key(value: object, meet: str | None) -> str:
    if meet == "text" and not isinstance(value, str):
        value = _text(value)
    elif meet == "float" and isinstance(value, int):
        value = float(value)
    return json.dumps(value)


def _text(value: object) -> str:
    """A value as a text column holds it (``to_text``'s rules)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    array = pa.array([value])
    return str(to_text(array)[0].as_py())


def merge(rows: Iterable[FieldStats], storage: dict[str, set[str]]) -> dict[str, MergedField]:
    """Every field's statistics over the files, given each field's storage classes."""
    merged: dict[str, MergedField] = {}
    for stats in rows:
        kinds = storage.get(stats.field, set())
        meet = None
        if len(kinds) > 1:
            meet = "float" if kinds <= {INTEGER, FLOAT} else "text"
        target = merged.setdefault(stats.field, MergedField(stats.field))
        target.add(stats, meet)
    return merged
