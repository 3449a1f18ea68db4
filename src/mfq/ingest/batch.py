"""Normalised chunks: the events of a chunk as an Arrow table, its rejects and counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mfq.ingest.counters import IngestCounters

if TYPE_CHECKING:
    import pyarrow as pa

    from mfq.ingest.columns import TypeCounts
    from mfq.ingest.kept import SourceRows


@dataclass(frozen=True)
class RejectedRecord:
    """A record that was not stored, kept with where it came from and why."""

    number: int  # line number (NDJSON) or record number (other containers)
    code: str
    reason: str
    raw: str


@dataclass
class EventChunk:
    """The outcome of validating one record chunk."""

    table: pa.Table
    type_counts: TypeCounts
    rejects: list[RejectedRecord] = field(default_factory=list)
    counters: IngestCounters = field(default_factory=IngestCounters)
    #: The records of ``table``'s events, to validate some again (``mfq.ingest.kept``);
    #: None where that can never be needed.
    source: SourceRows | None = None
