"""Validating record chunks: every record becomes an event row or a rejected record."""

from __future__ import annotations

from mfq.ingest.batch import EventChunk, RejectedRecord
from mfq.ingest.columns import FieldBudget, rows_to_table
from mfq.ingest.containers import RecordChunk
from mfq.ingest.counters import IngestCounters
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.record import NormalizedRecord, normalize_record

RAW_TEXT_LIMIT = 64 * 1024


def raw_text(raw: bytes) -> str:
    """A record's raw text for the rejects table (bounded, never fails to decode)."""
    return raw[:RAW_TEXT_LIMIT].decode("utf-8", errors="replace")


def validate_records(
    records: list[bytes],
    numbers: list[int],
    options: NormalizeOptions,
    budget: FieldBudget | None = None,
) -> EventChunk:
    """The record-by-record path over a list of raw record texts (fields past the
    ``budget`` of columns folded into one text column)."""
    counters = IngestCounters(read=len(records))
    standard_rows: list[dict[str, object]] = []
    attribute_rows: list[dict[str, object]] = []
    rejects: list[RejectedRecord] = []
    for raw, number in zip(records, numbers, strict=True):
        outcome = normalize_record(raw, options)
        if isinstance(outcome, NormalizedRecord):
            standard_rows.append(outcome.standard)
            attribute_rows.append(outcome.attributes)
            _count(counters, outcome)
        else:
            rejects.append(RejectedRecord(number, outcome.code, outcome.reason, raw_text(raw)))
    counters.rejected = len(rejects)
    if budget is not None:
        counters.overflowed = budget.fold(attribute_rows)
        counters.warnings += counters.overflowed
    table, type_counts = rows_to_table(standard_rows, attribute_rows)
    return EventChunk(table, type_counts, rejects, counters)


def _count(counters: IngestCounters, record: NormalizedRecord) -> None:
    counters.warnings += len(record.warnings)
    counters.naive_timestamps += record.naive_timestamp
    counters.unknown_severities += record.unknown_severity
    counters.time_from_received_at += record.time_from_received_at
    counters.derived_ids += record.derived_id
    counters.redacted += record.redacted


def validate_chunk(
    chunk: RecordChunk, options: NormalizeOptions, budget: FieldBudget | None = None
) -> EventChunk:
    """Validate one chunk of record texts."""
    return validate_records(chunk.records(), [int(n) for n in chunk.numbers], options, budget)
