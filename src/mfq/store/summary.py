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
    fields = [name for name in SUMMARY_FIELDS if name in table.column_names]
    rows = table.num_rows
    if "sample_rate" in table.column_names:
        weight = pc.fill_null(table.column("sample_rate"), 1)
    else:
        weight = pa.repeat(pa.scalar(1, pa.int64()), rows)
    work = pa.table({**{name: table.column(name) for name in fields}, WEIGHT: weight})
    grouped = work.group_by(fields, use_threads=False).aggregate(
        [(WEIGHT, "sum"), (WEIGHT, "count")]
    )
    if grouped.num_rows > max(SMALL, rows * MAX_SHARE):
        return None
    summary = grouped.rename_columns([*fields, WEIGHT, EVENTS])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, summary.schema) as writer:
        writer.write_table(summary)
    return bytes(sink.getvalue().to_pybytes())


def read_summary(blob: bytes) -> pa.Table:
    """A summary written by :func:`summarise`."""
    return pa.ipc.open_stream(pa.py_buffer(blob)).read_all()
