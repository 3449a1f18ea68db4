"""File summaries: how many events each combination of a few low-cardinality standard
fields has in one events file, recorded at ingest.

Counts over those fields ("errors in prod by service") are then answered from a few
thousand summary rows instead of millions of events: a summary row stands for its events,
so its weight plays the part of ``sample_rate``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

#: The fields summarised: standard text fields with few distinct values.
SUMMARY_FIELDS = ("type", "service", "environment", "version", "status", "severity")
#: Sum of the summarised events' weights (``sample_rate``, else 1) and their number.
WEIGHT, EVENTS = "__weight", "__events"
#: A summary with more rows than this share of its file's events (and more than
#: ``SMALL`` rows) is not worth keeping.
MAX_SHARE = 0.25
SMALL = 1000


def summarise(table: pa.Table) -> bytes | None:
    """The summary of one events file as Arrow IPC bytes (None when it would not be much
    smaller than the file)."""
    summary = summary_table(table)
    if summary.num_rows > max(SMALL, table.num_rows * MAX_SHARE):
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, summary.schema) as writer:
        writer.write_table(summary)
    return bytes(sink.getvalue().to_pybytes())


def summary_table(table: pa.Table) -> pa.Table:
    """One row per combination of the summarised fields ``table`` has, with the weight
    (``sample_rate``, else 1) and the number of its events."""
    fields = [name for name in SUMMARY_FIELDS if name in table.column_names]
    rows = table.num_rows
    sample_rate = table.column("sample_rate") if "sample_rate" in table.column_names else None
    if sample_rate is None or pa.types.is_null(sample_rate.type):
        weight = pa.repeat(pa.scalar(1, pa.int64()), rows)
    else:
        weight = pc.fill_null(sample_rate, 1)
    work = pa.table({**{name: table.column(name) for name in fields}, WEIGHT: weight})
    return _grouped(work.unify_dictionaries(), fields).rename_columns([*fields, WEIGHT, EVENTS])


def _grouped(work: pa.Table, keys: list[str]) -> pa.Table:
    """``work.group_by(keys, use_threads=False).aggregate([(WEIGHT, "sum"), (WEIGHT,
    "count")])``, built from the engine's plan nodes as ``Table.group_by`` builds it.

    ``Table.group_by`` imports ``pyarrow.acero``, which imports ``pyarrow.dataset`` and
    its Parquet, CSV and encryption modules: 0.15-0.2 s holding the interpreter's lock,
    in the middle of every ingest (the first file's summary). The plan nodes themselves
    are in ``pyarrow._acero`` (under 1 ms to import); the rows and their order are the
    same (``tests/store/test_summary.py``)."""
    from pyarrow._acero import AggregateNodeOptions, Declaration, TableSourceNodeOptions

    prefix = "hash_" if keys else ""
    aggregates = [
        ([WEIGHT], f"{prefix}{function}", None, f"{WEIGHT}_{function}")
        for function in ("sum", "count")
    ]
    plan = Declaration.from_sequence(
        [
            Declaration("table_source", TableSourceNodeOptions(work)),
            Declaration("aggregate", AggregateNodeOptions(aggregates, keys=keys)),
        ]
    )
    return plan.to_table(use_threads=False)


def read_summary(blob: bytes) -> pa.Table:
    """A summary written by :func:`summarise`."""
    return pa.ipc.open_stream(pa.py_buffer(blob)).read_all()
