"""Reading the events a query needs: only the files its time range touches, only the
columns it uses, with its filter pushed into the Parquet scan."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mfq.errors import UsageError
from mfq.ingest.columns import STANDARD_SCHEMA, to_text
from mfq.query.compile import compile_filter
from mfq.query.expr import Expr, NamedValue, referenced_fields
from mfq.query.timerange import TimeRange
from mfq.store.damage import damage_behind

if TYPE_CHECKING:
    from mfq.query.source import EventSource
    from mfq.store.catalog import FileRecord


@dataclass(frozen=True)
class ScanResult:
    """The rows of a scan and what the planner decided (for ``--explain`` and tests)."""

    table: pa.Table
    files_read: int
    files_total: int


#: A read of this many more columns than its filter uses is narrowed to matching files first.
NARROW_EXTRA = 4


def prune(files: Iterable[FileRecord], time: TimeRange) -> list[FileRecord]:
    """The event files whose time span meets the range (by the catalog's min/max)."""
    since, until = time.since_ns(), time.until_ns()
    kept = []
    for record in files:
        if since is not None and record.max_ns is not None and record.max_ns < since:
            continue
        if until is not None and record.min_ns is not None and record.min_ns >= until:
            continue
        kept.append(record)
    return kept


def file_schema(store: EventSource, record: FileRecord) -> pa.Schema:
    """A file's schema, from the catalog (or its footer, for files recorded without one)."""
    if record.schema is not None:
        return pa.ipc.read_schema(pa.py_buffer(record.schema))
    return pq.read_schema(store.root / record.path)


def unified_schema(schemas: list[pa.Schema], columns: Iterable[str]) -> tuple[pa.Schema, set[str]]:
    """The type of each wanted column over these files, and the columns stored as text
    in some files but not others (those cannot be read by one dataset scan)."""
    found: dict[str, set[pa.DataType]] = {}
    wanted = set(columns)
    for schema in schemas:
        for f in schema:
            if f.name in wanted:
                found.setdefault(f.name, set()).add(f.type)
    fields = []
    mixed: set[str] = set()
    for name in columns:
        if name in STANDARD_SCHEMA.names:
            fields.append(STANDARD_SCHEMA.field(name))
            continue
        types = found.get(name, {pa.null()})
        if len(types) == 1:
            fields.append(pa.field(name, next(iter(types))))
        elif all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
            fields.append(pa.field(name, pa.float64()))
        else:
            fields.append(pa.field(name, pa.string()))
            mixed.add(name)
    return pa.schema(fields), mixed


def time_filter(time: TimeRange) -> pc.Expression | None:
    """``since <= timestamp < until`` as a pushed-down expression."""
    parts = []
    ts_type = STANDARD_SCHEMA.field("timestamp").type
    if time.since is not None:
        parts.append(pc.field("timestamp") >= pa.scalar(time.since, type=ts_type))
    if time.until is not None:
        parts.append(pc.field("timestamp") < pa.scalar(time.until, type=ts_type))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else parts[0] & parts[1]


def scan(
    store: EventSource,
    columns: list[str],
    where: tuple[Expr, ...],
    time: TimeRange,
    *,
    dictionary: tuple[str, ...] = (),
    files: list[FileRecord] | None = None,
    derived: tuple[NamedValue, ...] = (),
) -> ScanResult:
    """Rows of the store (of ``files`` only, when given) within ``time`` matching every
    ``where``, with ``columns``; ``columns`` named by ``derived`` are computed from the
    stored columns they read.

    Text ``columns`` named in ``dictionary`` (group keys, say) come back dictionary-encoded.
    """
    from mfq.query.derive import add_derived, read_as_dictionary, stored_columns, used_derived
    from mfq.query.pattern_field import bind_all, bind_named

    where, derived = bind_all(store, time, where, where), bind_named(store, time, where, derived)
    computed = used_derived(derived, columns)
    if computed:
        # A constant reads no column; the rows still come from one (the cheapest known).
        stored = stored_columns(columns, computed) or ["sample_rate"]
        keys = read_as_dictionary(dictionary, computed)
        result = scan(store, stored, where, time, dictionary=keys, files=files)
        table = add_derived(result.table, computed).select(list(columns))
        return ScanResult(table, result.files_read, result.files_total)
    held = store.held_events  # a file's events (mfq.query.direct)
    if held is not None:
        from mfq.query.direct.scan import scan_held

        return scan_held(held, columns, where, time, dictionary)
    all_files = store.files("events") if files is None else files
    files = prune(all_files, time)
    traces = trace_lookup(where)
    if traces:
        files = _files_holding(store, files, traces)
    paths = [str(store.root / f.path) for f in files]
    filter_fields = {name for expr in where for name in referenced_fields(expr)}
    filtered: dict[str, None] = dict.fromkeys(columns)
    filtered["timestamp"] = None
    filtered.update(dict.fromkeys(sorted(filter_fields)))
    schema, mixed = unified_schema([file_schema(store, f) for f in files], list(filtered))
    output = pa.schema([schema.field(name) for name in columns])
    if not paths:
        return ScanResult(output.empty_table(), 0, len(all_files))
    predicate = predicate_of(where, time, schema)
    try:
        if mixed:
            table = _scan_file_by_file(store, files, schema, predicate).select(columns)
        else:
            equality_only = equality_only_fields(where) - set(columns)
            as_dictionary = equality_only | (set(dictionary) - filter_fields)
            if where and len(set(columns) - filter_fields) > NARROW_EXTRA:
                dataset = _dataset(paths, schema, filter_only=as_dictionary)
                dataset = _files_with_matches(dataset, schema, predicate)
                table = _read_wide(dataset, schema, columns, where, as_dictionary, predicate)
                files_read = len(dataset.files)
            else:
                reading = _Reading(schema, columns, where, as_dictionary, equality_only)
                table = _read_in_runs(files, paths, time, reading)
                files_read = len(paths)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
        # A damaged file also fails this way: name it rather than blame the expression.
        corrupt = damage_behind(store.root, files)
        if corrupt is not None:
            raise corrupt from err
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(f"cannot evaluate the filter: {reason}") from err
    except OSError as err:
        corrupt = damage_behind(store.root, files)
        if corrupt is not None:
            raise corrupt from err
        raise
    return ScanResult(table, files_read if not mixed else len(paths), len(all_files))


@dataclass(frozen=True)
class _Reading:
    """What a scan reads: the unified schema, the output columns, the filter, the text
    columns read as dictionaries, and those of them only the filter compares."""

    schema: pa.Schema
    columns: list[str]
    where: tuple[Expr, ...]
    as_dictionary: set[str]
    decided_by_value: set[str]


def _read_in_runs(
    files: list[FileRecord], paths: list[str], time: TimeRange, reading: _Reading
) -> pa.Table:
    """:func:`_read_filtered` over runs of files in stored order: files wholly inside the
    time range are read without the time condition (decoding every timestamp only to keep
    it costs more than the rest of a typical scan)."""
    tables = []
    for inside, run in groupby(zip(files, paths, strict=True), key=lambda f: within(f[0], time)):
        dataset = _dataset([path for _f, path in run], reading.schema, reading.as_dictionary)
        whole = TimeRange.model_construct()
        tables.append(_read_filtered(dataset, reading, whole if inside else time))
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def within(record: FileRecord, time: TimeRange) -> bool:
    """Every event of the file lies in the range (by the catalog's min/max)."""
    since, until = time.since_ns(), time.until_ns()
    if record.min_ns is None or record.max_ns is None:
        return since is None and until is None
    return (since is None or record.min_ns >= since) and (until is None or record.max_ns < until)


def _read_filtered(dataset: ds.Dataset, reading: _Reading, time: TimeRange) -> pa.Table:
    """The matching rows' columns. Conditions on one text field read as a dictionary
    are decided once per distinct value, then spread to the rows by index (pyarrow would
    decode every row's text to compare it); the rest is pushed into the scan."""
    schema, columns, where = reading.schema, reading.columns, reading.where
    on_dictionary: list[tuple[str, Expr]] = []
    pushed: list[Expr] = []
    for condition in _conjuncts(where):
        fields = referenced_fields(condition)
        name = next(iter(fields)) if len(fields) == 1 else None
        if name in reading.decided_by_value and pa.types.is_string(schema.field(name).type):
            on_dictionary.append((name, condition))
        else:
            pushed.append(condition)
    if not on_dictionary:
        return dataset.to_table(columns=list(columns), filter=predicate_of(where, time, schema))
    extra = [name for name, _ in on_dictionary if name not in columns]
    read = dataset.to_table(
        columns=list(dict.fromkeys([*columns, *extra])),
        filter=predicate_of(tuple(pushed), time, schema),
    )
    read = read.unify_dictionaries()  # one dictionary per column: each value decided once
    mask: pa.ChunkedArray | None = None
    for name, condition in on_dictionary:
        rows = _rows_where(read.column(name), name, condition)
        mask = rows if mask is None else pc.and_(mask, rows)
    assert mask is not None
    return read.select(columns).filter(mask)


def _conjuncts(where: tuple[Expr, ...]) -> list[Expr]:
    """The conditions that must all hold (nested ``and`` flattened)."""
    from mfq.query.expr import And

    found: list[Expr] = []
    for expr in where:
        found.extend(_conjuncts(tuple(expr.items)) if isinstance(expr, And) else [expr])
    return found


def predicate_of(
    where: tuple[Expr, ...], time: TimeRange, schema: pa.Schema
) -> pc.Expression | None:
    """The time range and every ``where`` as one expression over ``schema``'s columns."""
    predicate = time_filter(time)
    for expr in where:
        compiled = compile_filter(expr, schema)
        predicate = compiled if predicate is None else predicate & compiled
    return predicate


def _rows_where(column: pa.ChunkedArray, name: str, condition: Expr) -> pa.ChunkedArray:
    """Where ``condition`` on the dictionary column ``name`` holds, row by row."""
    text = pa.schema([pa.field(name, pa.string())])
    compiled = compile_filter(condition, text)
    dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
    values = pa.table({name: pa.concat_arrays([dictionary, pa.nulls(1, pa.string())])})
    decided = ds.dataset(values).to_table(columns={"m": compiled}).column("m").combine_chunks()
    holds = pc.fill_null(decided, False)
    on_null = holds[len(dictionary)]  # what the condition gives for a missing value
    entries = pc.indices_nonzero(holds.slice(0, len(dictionary))).cast(pa.int32())
    indices = pa.chunked_array([chunk.indices for chunk in column.chunks], pa.int32())
    if len(entries) == 1:
        rows = pc.equal(indices, entries[0])
    else:
        rows = pc.is_in(indices, value_set=entries)
    if not indices.null_count:
        return rows
    return pc.if_else(pc.is_valid(indices), rows, on_null)


def trace_lookup(where: tuple[Expr, ...]) -> set[str]:
    """The trace ids a filter is limited to (``trace_id = 'x'``, an ``or`` of such, or
    ``trace_id in (...)``), else an empty set."""
    from mfq.query.expr import Compare, CompareOp, Field, InList, Literal, Or

    def ids(expr: Expr) -> set[str] | None:
        if isinstance(expr, Compare) and expr.op is CompareOp.EQ:
            sides = (expr.left, expr.right)
            field = [s for s in sides if isinstance(s, Field) and s.name == "trace_id"]
            value = [s.value for s in sides if isinstance(s, Literal)]
            if field and value and isinstance(value[0], str):
                return {value[0]}
        if isinstance(expr, InList) and not expr.negated:
            operand = expr.operand
            values = [v.value for v in expr.values]
            on_trace = isinstance(operand, Field) and operand.name == "trace_id"
            if on_trace and all(isinstance(v, str) for v in values):
                return {str(v) for v in values}
        if isinstance(expr, Or):
            found = [ids(item) for item in expr.items]
            if all(f is not None for f in found):
                return set().union(*(f for f in found if f is not None))
        return None

    for condition in _conjuncts(where):
        found = ids(condition)
        if found:
            return found
    return set()


def _files_holding(
    store: EventSource, files: list[FileRecord], traces: set[str]
) -> list[FileRecord]:
    """The files that may hold one of ``traces``, by the catalog's trace index (a file
    without an index, written by an older mfq, may hold any)."""
    from mfq.store.ids import trace_keys

    keys = trace_keys(pa.array(sorted(traces), pa.string()))
    holding, indexed = store.catalog.trace_files([int(k) for k in keys])
    return [f for f in files if f.path in holding or f.path not in indexed]


def equality_only_fields(where: tuple[Expr, ...]) -> set[str]:
    """Fields the filter only tests with = and != (or for presence): pyarrow has those
    kernels for dictionary columns; text matching and ordering it has not."""
    from mfq.query.expr import (
        Arith,
        Call,
        Compare,
        CompareOp,
        Exists,
        Field,
        InList,
        IsNull,
        Match,
    )
    from mfq.query.expr.ast import walk

    safe: set[str] = set()
    unsafe: set[str] = set()
    for expr in where:
        for node in walk(expr):
            if isinstance(node, Compare):
                names = {o.name for o in (node.left, node.right) if isinstance(o, Field)}
                (safe if node.op in (CompareOp.EQ, CompareOp.NE) else unsafe).update(names)
            elif isinstance(node, Exists):
                safe.add(node.field)
            elif isinstance(node, IsNull):
                if isinstance(node.operand, Field):
                    safe.add(node.operand.name)
            elif isinstance(node, Match | InList | Call | Arith):
                unsafe.update(referenced_fields(node))
            elif isinstance(node, Field):  # a boolean field standing as a condition
                safe.add(node.name)
    return safe - unsafe


def _dataset(paths: list[str], schema: pa.Schema, filter_only: set[str]) -> ds.Dataset:
    """A dataset over ``paths``; text columns used only by the filter are read as
    dictionaries, so the filter compares each distinct value once, not every row."""
    text_filters = [
        name for name in sorted(filter_only) if pa.types.is_string(schema.field(name).type)
    ]
    if not text_filters:
        return ds.dataset(paths, schema=schema, format="parquet")
    options = ds.ParquetReadOptions(dictionary_columns=text_filters)
    dictionary = pa.dictionary(pa.int32(), pa.string())
    for name in text_filters:
        index = schema.get_field_index(name)
        schema = schema.set(index, pa.field(name, dictionary))
    file_format = ds.ParquetFileFormat(read_options=options)
    return ds.dataset(paths, schema=schema, format=file_format)


def _files_with_matches(
    dataset: ds.Dataset, schema: pa.Schema, predicate: pc.Expression | None
) -> ds.Dataset:
    """Narrow a wide read to the files that hold matching rows, found by reading only the
    filter's columns (a trace lookup then decodes every column of one file, not all)."""
    # One threaded scan over every file (no columns: only the filter's are decoded),
    # rather than counting file by file.
    batches = dataset.scanner(columns=[], filter=predicate).scan_batches()
    found = {tagged.fragment.path for tagged in batches if tagged.record_batch.num_rows}
    matching = [path for path in dataset.files if path in found]
    return ds.dataset(matching, schema=dataset.schema, format=dataset.format)


def _read_wide(
    dataset: ds.Dataset,
    schema: pa.Schema,
    columns: list[str],
    where: tuple[Expr, ...],
    as_dictionary: set[str],
    predicate: pc.Expression | None,
) -> pa.Table:
    """``columns`` of the rows of ``dataset`` (the files that match) where ``predicate``
    holds: few rows of many columns. Text stored with a dictionary is read as one (each
    distinct value decoded once, not every row's) and made plain again for the rows kept;
    a trace lookup spent most of its time decoding text it then dropped."""
    comparable = equality_only_fields(where)  # pyarrow filters dictionaries on these
    filtered = {name for expr in where for name in referenced_fields(expr)}
    texts = {
        name
        for name in columns
        if pa.types.is_string(schema.field(name).type)
        and name not in as_dictionary
        and (name in comparable or name not in filtered)
    }
    encoded = _stored_with_dictionary(dataset, texts)
    if encoded:
        dataset = _dataset(dataset.files, schema, filter_only=as_dictionary | encoded)
    table = dataset.to_table(columns=list(columns), filter=predicate)
    for name in sorted(encoded):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, schema.field(name), table.column(name).cast(pa.string()))
    return table


def _stored_with_dictionary(dataset: ds.Dataset, names: set[str]) -> set[str]:
    """Those of ``names`` stored with a dictionary in every row group of ``dataset``'s
    files (a plain one, read as a dictionary, would be hashed value by value instead)."""
    found = set(names)
    for fragment in dataset.get_fragments():
        metadata = fragment.metadata
        for group in range(metadata.num_row_groups):
            chunks = metadata.row_group(group)
            for index in range(chunks.num_columns):
                chunk = chunks.column(index)
                if not {"RLE_DICTIONARY", "PLAIN_DICTIONARY"} & set(chunk.encodings):
                    found.discard(chunk.path_in_schema)
        if not found:
            break
    return found


def _scan_file_by_file(
    store: EventSource, files: list[FileRecord], schema: pa.Schema, predicate: pc.Expression | None
) -> pa.Table:
    """For columns whose type differs between files: conform each file, then filter."""
    tables = []
    for record in files:
        present = set(file_schema(store, record).names)
        wanted = [n for n in schema.names if n in present]
        table = conform(pq.read_table(store.root / record.path, columns=wanted), schema)
        tables.append(table if predicate is None else table.filter(predicate))
    return pa.concat_tables(tables)


def conform(raw: pa.Table, schema: pa.Schema) -> pa.Table:
    """One file's columns in the unified types of ``schema``: absent columns all null,
    mixed fields as text, numbers widened."""
    arrays = []
    for field in schema:
        if field.name not in raw.column_names:
            arrays.append(pa.nulls(raw.num_rows, field.type))
            continue
        column = raw.column(field.name)
        if column.type == field.type:
            arrays.append(column)
        elif pa.types.is_string(field.type):
            arrays.append(to_text(column))
        else:
            arrays.append(pc.cast(column, field.type, safe=False))
    return pa.table(arrays, schema=schema)
