"""What every analysis needs from the query layer: the shared options resolved into a time
range and filters, rows read with pushdown, and filters evaluated on rows already read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from mfq.query.build import build_spec, selection_options
from mfq.query.spec import QueryKind

if TYPE_CHECKING:
    import pyarrow as pa

    from mfq.query.expr import Expr, FieldType
    from mfq.query.requests import Selection
    from mfq.query.source import QuerySource
    from mfq.query.timerange import TimeRange

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ParsedSelection:
    """A request's :class:`~mfq.query.requests.Selection`, parsed and checked against the
    store's fields."""

    time: TimeRange
    where: tuple[Expr, ...]
    types: dict[str, FieldType]
    unweighted: bool = False


def resolve_selection(store: QuerySource, selection: Selection) -> ParsedSelection:
    """Parse a selection's filters and time range as the query commands do (same errors,
    same "did you mean")."""
    spec = build_spec(store, QueryKind.EVENTS, **selection_options(selection))
    return ParsedSelection(spec.time, spec.where, store.field_types(), selection.unweighted)


def parse_expression(
    store: QuerySource, text: str, types: dict[str, FieldType] | None = None
) -> Expr:
    """One filter expression (``--baseline``, ``--good``, ``--bad``), checked like ``--where``."""
    from mfq.query.expr import parse_filter

    return parse_filter(text, types if types is not None else store.field_types())


def read_rows(
    store: QuerySource,
    columns: Sequence[str],
    selection: ParsedSelection,
    *,
    dictionary: Sequence[str] = (),
) -> pa.Table:
    """The rows within the selection's time range matching its filters, with ``columns``
    (a column no file has comes back all null). Filters are pushed into the Parquet scan."""
    from mfq.query.scan import scan

    wanted = list(dict.fromkeys(columns))
    return scan(store, wanted, selection.where, selection.time, dictionary=tuple(dictionary)).table


def event_fields(store: QuerySource, time: TimeRange) -> list[str]:
    """Every column stored in the files the time range touches, the standard fields in
    the model's order, then the others by name: not the files' column order, which
    follows the ingest's cuts (see ``mfq.model.fields.field_order``)."""
    from mfq.model.fields import field_order
    from mfq.query.scan import file_schema, prune

    names: dict[str, None] = {}
    for record in prune(store.files("events"), time):
        names.update(dict.fromkeys(file_schema(store, record).names))
    return field_order(names)


def sample_columns(
    store: QuerySource, columns: Sequence[str], time: TimeRange, rows: int
) -> dict[str, pa.ChunkedArray]:
    """About ``rows`` values of each column, read from the first row groups of up to four
    files spread over the time range (for planning: cardinality, never for answers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mfq.query.scan import prune

    files = prune(store.files("events"), time)
    if not files or not columns:
        return {}
    step = max(1, len(files) // 4)
    picked = files[::step][:4]
    per_file = max(1, rows // len(picked))
    found: dict[str, list[pa.Array]] = {}
    wanted = set(columns)
    for record in picked:
        parquet = pq.ParquetFile(store.root / record.path)
        present = [n for n in parquet.schema_arrow.names if n in wanted]
        if not present:
            continue
        taken = 0
        for batch in parquet.iter_batches(batch_size=min(per_file, 65_536), columns=present):
            for name in present:
                found.setdefault(name, []).append(batch.column(name))
            taken += batch.num_rows
            if taken >= per_file:
                break
    sample = {}
    for name, arrays in found.items():
        if len({array.type for array in arrays}) > 1:  # typed differently between files
            sample[name] = pa.chunked_array([array.cast(pa.string()) for array in arrays])
        else:
            sample[name] = pa.chunked_array(arrays)
    return sample


def run_parallel(jobs: Sequence[tuple[Callable[[T], R], T]]) -> list[R]:
    """``[f(x) for f, x in jobs]`` on a few threads: engines spend their time in pyarrow
    (which releases the GIL) or waiting on a cluster, so independent queries overlap."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    if len(jobs) <= 1:
        return [function(argument) for function, argument in jobs]
    workers = min(len(jobs), max(2, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(function, argument) for function, argument in jobs]
        return [future.result() for future in futures]


def parse_number(value: float | str, option: str) -> float:
    """A finite number from an option (``--target 99.9``); anything else is a usage error."""
    import math

    from mfq.errors import UsageError

    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"{option}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise UsageError(f"{option}: {value!r} is not a finite number")
    return number


def require_field(store: QuerySource, selection: ParsedSelection, name: str) -> None:
    """A usage error with "did you mean" unless the store knows the field ``name``."""
    if name not in selection.types:
        parse_expression(store, f"exists(`{name}`)", selection.types)
