"""Ingest counters (kept free of heavy imports: the store's public module uses them)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class IngestCounters:
    """Counts reported in the ingest summary (read = ingested + duplicates + rejected)."""

    read: int = 0
    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    warnings: int = 0
    naive_timestamps: int = 0
    time_from_received_at: int = 0
    unknown_severities: int = 0
    derived_ids: int = 0
    redacted: int = 0
    #: Records with fields past the source's column budget, kept in ``_overflow``.
    overflowed: int = 0

    def add(self, other: IngestCounters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
