"""The scan of events held in memory, as ``mfq.query.scan.scan`` reads a store's files."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds

from mfq.errors import UsageError
from mfq.query.expr import Expr, referenced_fields
from mfq.query.scan import ScanResult, conform, predicate_of, unified_schema
from mfq.query.timerange import TimeRange

#: Held rows decoded and filtered at a time: text decoded for a filter is held for one
#: slice only, not for every event.
SLICE_ROWS = 1 << 20


def scan_held(
    held: pa.Table,
    columns: list[str],
    where: tuple[Expr, ...],
    time: TimeRange,
    dictionary: tuple[str, ...] = (),
) -> ScanResult:
    """Rows of ``held`` within ``time`` matching every ``where``, with ``columns`` (text
    ``dictionary`` columns dictionary-encoded, as a store's scan reads group keys)."""
    filter_fields = {name for expr in where for name in referenced_fields(expr)}
    wanted = list(dict.fromkeys([*columns, "timestamp", *sorted(filter_fields)]))
    held = held.select([name for name in wanted if name in held.column_names])
    # Held dictionaries (``mfq.query.direct.reader``) stay dictionaries where a store's
    # scan reads dictionaries; filters and every other column read the text.
    as_dictionary = set(dictionary) - filter_fields
    decoded = {
        f.name: f.type.value_type
        for f in held.schema
        if pa.types.is_dictionary(f.type) and f.name not in as_dictionary
    }
    plain = pa.schema([pa.field(f.name, decoded.get(f.name, f.type)) for f in held.schema])
    schema, _mixed = unified_schema([plain], wanted)
    kept = {f.name: f for f in plain if pa.types.is_dictionary(f.type)}
    schema = pa.schema([kept.get(f.name, f) for f in schema])
    try:
        predicate = predicate_of(where, time, schema)
        if predicate is None and not decoded:
            # Nothing to filter or decode: the columns where they lie (the held events'
            # columns are one chunk each: no copy of them, ``reader._in_one_chunk``).
            whole = conform(held, schema).select(list(columns)).combine_chunks()
            return ScanResult(_group_keys_as_dictionaries(whole, as_dictionary), 1, 1)
        parts = [
            ds.dataset(conform(_decode(part, decoded), schema)).to_table(
                columns=list(columns), filter=predicate
            )
            for part in _slices(held)
        ]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"cannot evaluate the filter: {reason}") from err
    # One chunk, as a store's file is read: the chunks' boundaries take part in the
    # order of floating-point sums (a variance's last digit).
    result = pa.concat_tables(parts).combine_chunks()
    return ScanResult(_group_keys_as_dictionaries(result, as_dictionary), 1, 1)


def _group_keys_as_dictionaries(result: pa.Table, as_dictionary: set[str]) -> pa.Table:
    """``result`` with its text columns named in ``as_dictionary`` dictionary-encoded."""
    for name in as_dictionary:
        if name in result.column_names and pa.types.is_string(result.schema.field(name).type):
            index = result.column_names.index(name)
            result = result.set_column(index, name, result.column(name).dictionary_encode())
    return result


def _slices(table: pa.Table) -> list[pa.Table]:
    """``table`` in slices of ``SLICE_ROWS`` rows (one, empty, for an empty table)."""
    return [table.slice(at, SLICE_ROWS) for at in range(0, max(table.num_rows, 1), SLICE_ROWS)]


def _decode(table: pa.Table, decoded: dict[str, pa.DataType]) -> pa.Table:
    """The columns named in ``decoded`` cast from dictionaries to their value type."""
    for index, name in enumerate(table.column_names):
        if name in decoded:
            table = table.set_column(index, name, table.column(index).cast(decoded[name]))
    return table
