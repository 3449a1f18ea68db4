"""Validating record chunks: every record becomes an event row or a rejected record."""

from __future__ import annotations

from dataclasses import dataclass, field

from mfq.ingest.batch import EventChunk, RejectedRecord
from mfq.ingest.columns import OVERFLOW_FIELD, FieldBudget, rows_to_table
from mfq.ingest.containers import RecordChunk
from mfq.ingest.counters import IngestCounters
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.record import NormalizedRecord, normalize_record

RAW_TEXT_LIMIT = 64 * 1024


def raw_text(raw: bytes) -> str:
    """A record's raw text for the rejects table (bounded, never fails to decode)."""
    return raw[:RAW_TEXT_LIMIT].decode("utf-8", errors="replace")


@dataclass
class NormalisedRecords:
    """Records normalised one by one, not yet tabled: the accepted rows' standard and
    attribute values (``accepted`` holds each one's index in the input), the rejects."""

    standard_rows: list[dict[str, object]] = field(default_factory=list)
    attribute_rows: list[dict[str, object]] = field(default_factory=list)
    accepted: list[int] = field(default_factory=list)
    rejects: list[RejectedRecord] = field(default_factory=list)
    counters: IngestCounters = field(default_factory=IngestCounters)

    def field_names(self) -> set[str]:
        """Every attribute name the accepted rows hold (what they would claim of a
        source's field budget)."""
        names: set[str] = set()
        for row in self.attribute_rows:
            names.update(row)
        names.discard(OVERFLOW_FIELD)  # never claimed (``FieldBudget.fold``)
        return names

    def fold(self, budget: FieldBudget) -> None:
        """Claim the rows' fields of ``budget`` in row order, folding those past it into
        ``_overflow`` (counted as warnings)."""
        overflowed = budget.fold(self.attribute_rows)
        self.counters.overflowed += overflowed
        self.counters.warnings += overflowed

    def extend(self, other: NormalisedRecords, positions: list[int]) -> None:
        """Append ``other``'s rows, whose input indexes map to ``positions``."""
        self.standard_rows += other.standard_rows
        self.attribute_rows += other.attribute_rows
        self.accepted += [positions[i] for i in other.accepted]
        self.rejects += other.rejects
        self.counters.add(other.counters)

    def chunk(self, text_fields: frozenset[str] = frozenset()) -> EventChunk:
        """The rows as an event chunk (``text_fields``: see ``rows_to_table``)."""
        table, type_counts = rows_to_table(self.standard_rows, self.attribute_rows, text_fields)
        return EventChunk(table, type_counts, self.rejects, self.counters)


def normalise_records(
    records: list[bytes], numbers: list[int], options: NormalizeOptions
) -> NormalisedRecords:
    """Each raw record text normalised (or rejected), no field budget applied yet."""
    out = NormalisedRecords(counters=IngestCounters(read=len(records)))
    counters = out.counters
    for index, (raw, number) in enumerate(zip(records, numbers, strict=True)):
        outcome = normalize_record(raw, options)
        if isinstance(outcome, NormalizedRecord):
            out.standard_rows.append(outcome.standard)
            out.attribute_rows.append(outcome.attributes)
            out.accepted.append(index)
            _count(counters, outcome)
        else:
            out.rejects.append(RejectedRecord(number, outcome.code, outcome.reason, raw_text(raw)))
    counters.rejected = len(out.rejects)
    return out


def validate_records(
    records: list[bytes],
    numbers: list[int],
    options: NormalizeOptions,
    budget: FieldBudget | None = None,
) -> EventChunk:
    """The record-by-record path over a list of raw record texts (fields past the
    ``budget`` of columns folded into one text column)."""
    normalised = normalise_records(records, numbers, options)
    if budget is not None:
        normalised.fold(budget)
    return normalised.chunk()


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
