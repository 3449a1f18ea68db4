"""The scan of events held in memory, as ``mfq.query.scan.scan`` reads a store's files."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds

from mfq.errors import UsageError
from mfq.query.expr import Expr, referenced_fields
from mfq.query.scan import ScanResult, conform, predicate_of, unified_schema
from mfq.query.timerange import TimeRange


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
    present = [name for name in wanted if name in held.column_names]
    held = held.select(present)
    # Held dictionaries (``mfq.query.direct.reader``) stay dictionaries where a store's
    # scan reads dictionaries; filters and every other column read the text.
    encoded = set(dictionary) - filter_fields
    for index, f in enumerate(held.schema):
        if pa.types.is_dictionary(f.type) and f.name not in encoded:
            held = held.set_column(index, f.name, held.column(index).cast(f.type.value_type))
    schema, _mixed = unified_schema([held.schema], wanted)
    kept = {f.name: f for f in held.schema if pa.types.is_dictionary(f.type)}
    schema = pa.schema([kept.get(f.name, f) for f in schema])
    table = conform(held, schema)
    try:
        predicate = predicate_of(where, time, schema)
        result = ds.dataset(table).to_table(columns=list(columns), filter=predicate)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"cannot evaluate the filter: {reason}") from err
    for name in encoded:
        if name in result.column_names and pa.types.is_string(result.schema.field(name).type):
            index = result.column_names.index(name)
            encoded = result.column(name).dictionary_encode()
            result = result.set_column(index, name, encoded)
    return ScanResult(result, 1, 1)
