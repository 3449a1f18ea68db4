"""Arrow tables of normalised events: building them, and unifying their column types.

A field's storage type follows its JSON values: one type stays as it is, integers mixed
with floats become float, anything else mixed becomes text (and ``mfq schema`` flags it).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from mfq.model.arrow_schema import standard_schema
from mfq.model.fields import STANDARD_FIELDS, FieldKind

#: Names of the value classes ``mfq schema`` reports.
STRING, INTEGER, FLOAT, BOOLEAN, TIMESTAMP = "string", "integer", "float", "boolean", "timestamp"
_STANDARD_CLASS = {
    FieldKind.TEXT: STRING,
    FieldKind.SEVERITY: STRING,
    FieldKind.TIME: TIMESTAMP,
    FieldKind.DURATION: FLOAT,
    FieldKind.SAMPLE_RATE: INTEGER,
    FieldKind.HTTP_STATUS: INTEGER,
}
STANDARD_SCHEMA = standard_schema()
STANDARD_NAMES = tuple(STANDARD_SCHEMA.names)


@dataclass
class TypeCounts:
    """How many values of each class every field had (for schema and mixed-type flags)."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, name: str, value_class: str, n: int) -> None:
        if n:
            self.counts.setdefault(name, Counter())[value_class] += n

    def merge(self, other: TypeCounts) -> None:
        for name, counter in other.counts.items():
            self.counts.setdefault(name, Counter()).update(counter)


#: The text column holding, per record, the fields past a source's column budget (JSON).
OVERFLOW_FIELD = "_overflow"


class FieldBudget:
    """How many distinct attribute columns one source may add (``Settings.max_fields``).

    Columns are dense, so a source whose records each bring new keys would cost time and
    memory in rows x keys; past the budget, a record's new fields are kept in one JSON
    text column instead (``_overflow``), and the record is counted. Shared by the worker
    threads of one source.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._admitted: set[str] = set()
        self._lock = threading.Lock()

    def unclaimed(self, names: Iterable[str]) -> set[str]:
        """Which of ``names`` hold no column yet (``_overflow`` itself is never one)."""
        with self._lock:
            return {n for n in names if n not in self._admitted and n != OVERFLOW_FIELD}

    def cannot_fit(self, names: Iterable[str]) -> bool:
        """Whether ``names`` hold more fields not yet claimed than the budget has room
        for. Claims only ever add, so once true it stays true: a parse worker may act on
        it ahead of the claims made in input order."""
        with self._lock:
            room = self.limit - len(self._admitted)
            return len({n for n in names if n not in self._admitted}) > room

    def admit_all(self, names: Iterable[str]) -> bool:
        """Admit every one of ``names`` if the budget allows them all (else admit none)."""
        with self._lock:
            new = {n for n in names if n not in self._admitted}
            if len(self._admitted) + len(new) > self.limit:
                return False
            self._admitted |= new
            return True

    def fold(self, rows: Sequence[dict[str, object]]) -> int:
        """Move each row's fields past the budget into its ``_overflow`` text (in place);
        returns how many rows had any."""
        folded = 0
        with self._lock:
            for row in rows:
                extra = {}
                for name in row:
                    if name in self._admitted or name == OVERFLOW_FIELD:
                        continue
                    if len(self._admitted) < self.limit:
                        self._admitted.add(name)
                    else:
                        extra[name] = row[name]
                if extra:
                    for name in extra:
                        del row[name]
                    if OVERFLOW_FIELD in row:  # the record's own: folded too, never lost
                        extra[OVERFLOW_FIELD] = row[OVERFLOW_FIELD]
                    row[OVERFLOW_FIELD] = json.dumps(extra, ensure_ascii=False, sort_keys=True)
                    folded += 1
        return folded


def value_class(value: object) -> str:
    """The class of a normalised attribute value."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return FLOAT
    return STRING


def arrow_class(data_type: pa.DataType) -> str:
    """The value class of an Arrow column type."""
    if pa.types.is_boolean(data_type):
        return BOOLEAN
    if pa.types.is_integer(data_type):
        return INTEGER
    if pa.types.is_floating(data_type):
        return FLOAT
    if pa.types.is_timestamp(data_type):
        return TIMESTAMP
    return STRING


def to_text(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Any scalar column as text, the way mixed-type fields are stored.

    Whole-number floats print as integers (1e10 as ``10000000000``), so a value reads the
    same whether or not it was promoted from integer to float before becoming text: every
    float an int64 integer can become, 2**63 (9223372036854775807's) included, never an
    exponent (``9.223372036854776e+18``).
    """
    if pa.types.is_string(array.type):
        return array
    if pa.types.is_boolean(array.type):
        return pc.if_else(array, "true", "false")
    if pa.types.is_floating(array.type):
        whole = pc.and_(
            pc.equal(pc.floor(array), array),
            pc.and_(pc.greater_equal(array, -(2.0**63)), pc.less(array, 2.0**63)),
        )
        whole = pc.fill_null(whole, False)
        as_int = pc.cast(pc.if_else(whole, array, 0.0), pa.int64(), safe=False)
        plain = pc.if_else(
            pc.fill_null(pc.equal(array, 2.0**63), False),
            str(2**63),  # (the one such float past int64: as the integer it is)
            pc.cast(array, pa.string()),
        )
        return pc.if_else(whole, pc.cast(as_int, pa.string()), plain)
    return pc.cast(array, pa.string())


def _attribute_array(values: list[object], as_text: bool = False) -> pa.Array:
    """One field's values as a column: of their own type, floats where integers meet
    floats, else text (and as text where ``as_text``: the field meets text elsewhere in
    its chunk, so its integers are not made floats first)."""
    classes = {value_class(v) for v in values if v is not None}
    if not classes:
        return pa.nulls(len(values))
    if len(classes) == 1:
        return pa.array(values, type=_CLASS_TYPE[classes.pop()])
    if classes == {INTEGER, FLOAT} and not as_text:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())  # type: ignore[arg-type]
    # Mixed: convert each class with the same Arrow casts the fast path uses.
    out: list[object] = [None] * len(values)
    for cls in classes:
        positions = [i for i, v in enumerate(values) if v is not None and value_class(v) == cls]
        typed = pa.array([values[i] for i in positions], type=_CLASS_TYPE[cls])
        for i, text in zip(positions, to_text(typed).to_pylist(), strict=True):
            out[i] = text
    return pa.array(out, pa.string())


_CLASS_TYPE = {
    STRING: pa.string(),
    INTEGER: pa.int64(),
    FLOAT: pa.float64(),
    BOOLEAN: pa.bool_(),
}


def rows_to_table(
    standard_rows: Sequence[dict[str, object]],
    attribute_rows: Sequence[dict[str, object]],
    text_fields: frozenset[str] = frozenset(),
) -> tuple[pa.Table, TypeCounts]:
    """Build an event table (standard columns, then attributes) from normalised rows;
    ``text_fields`` hold text elsewhere in the rows' chunk (see ``_attribute_array``)."""
    counts = TypeCounts()
    columns: dict[str, pa.Array] = {}
    for f in STANDARD_SCHEMA:
        values = [row.get(f.name) for row in standard_rows]
        if pa.types.is_timestamp(f.type):
            columns[f.name] = pa.array(values, pa.int64()).cast(f.type)
        else:
            columns[f.name] = pa.array(values, f.type)
    # One pass over the rows (not one per field): sparse fields cost what they hold.
    by_name: dict[str, list[object]] = {}
    for position, row in enumerate(attribute_rows):
        for name, value in row.items():
            found = by_name.get(name)
            if found is None:
                found = by_name[name] = [None] * len(attribute_rows)
            found[position] = value
    for name, values in by_name.items():
        for cls, n in Counter(value_class(v) for v in values if v is not None).items():
            counts.add(name, cls, n)
        columns[name] = _attribute_array(values, name in text_fields)
    table = pa.table(columns) if columns else pa.table({})
    _count_standard(table, counts)
    return table, counts


def _count_standard(table: pa.Table, counts: TypeCounts) -> None:
    names = set(table.column_names)
    for spec in STANDARD_FIELDS:
        if spec.name in names:
            column = table.column(spec.name)
            counts.add(spec.name, _STANDARD_CLASS[spec.kind], len(column) - column.null_count)


def drop_empty_attributes(table: pa.Table) -> pa.Table:
    """``table`` without the attribute columns no row holds a value of (a column only
    rows that were let go held: a field no stored event has is no column of the store)."""
    empty = [
        name
        for name, column in zip(table.column_names, table.columns, strict=True)
        if name not in STANDARD_NAMES and column.null_count == table.num_rows
    ]
    return table.drop_columns(empty) if empty else table


def unify(tables: Iterable[pa.Table], *, every_standard: bool = True) -> pa.Table:
    """Concatenate event tables whose attribute columns may differ in presence or type;
    with every standard column (null where none is held), unless ``every_standard`` is
    False (the columns of ``tables`` only, standard ones in their standard types or as
    dictionaries of them)."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return STANDARD_SCHEMA.empty_table()
    types: dict[str, set[pa.DataType]] = {}
    held: set[str] = set()
    for table in tables:
        held.update(table.column_names)
        for f in table.schema:
            if not pa.types.is_null(f.type):
                types.setdefault(f.name, set()).add(f.type)
    target = {name: _common_type(found) for name, found in types.items()}
    for f in STANDARD_SCHEMA:
        if every_standard:
            target[f.name] = f.type
        elif f.name in held and target.get(f.name) != pa.dictionary(pa.int32(), f.type):
            target[f.name] = f.type  # a dictionary of the standard type stays one
    conformed = [_conform(t, target) for t in tables]
    return pa.concat_tables(conformed)


def _common_type(found: set[pa.DataType]) -> pa.DataType:
    if len(found) == 1:
        return next(iter(found))
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in found):
        return pa.float64()
    return pa.string()


def _conform(table: pa.Table, target: dict[str, pa.DataType]) -> pa.Table:
    # One lookup table of the columns: asking the table by name per column would make
    # this quadratic in the number of fields.
    present = dict(zip(table.column_names, table.columns, strict=True))
    arrays = []
    for name, data_type in target.items():
        column = present.get(name)
        if column is None:
            arrays.append(pa.nulls(table.num_rows, data_type))
            continue
        if column.type == data_type:
            arrays.append(column)
        elif pa.types.is_null(column.type):
            arrays.append(pa.nulls(table.num_rows, data_type))
        elif pa.types.is_string(data_type):
            arrays.append(to_text(column))
        else:
            arrays.append(pc.cast(column, data_type, safe=False))
    return pa.table(arrays, names=list(target))
