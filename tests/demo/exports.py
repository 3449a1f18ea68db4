"""Helpers for demo tests: a written export with its truth and its records parsed back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mfq.demo import DemoConfig, DemoTruth, write_export


@dataclass(frozen=True)
class Export:
    """A written export, its truth, and its lines parsed back."""

    path: Path
    truth: DemoTruth
    records: list[dict[str, object]]

    def attributes(self, record: dict[str, object]) -> dict[str, object]:
        """A record's ``attributes`` object."""
        attributes = record["attributes"]
        assert isinstance(attributes, dict)
        return attributes

    def spans_by_trace(self) -> dict[str, list[dict[str, object]]]:
        """Records that are trace spans, grouped by trace id, in file order."""
        traces: dict[str, list[dict[str, object]]] = {}
        for record in self.records:
            trace_id = self.attributes(record).get("trace_id")
            if isinstance(trace_id, str):
                traces.setdefault(trace_id, []).append(record)
        return traces


def parse_time(text: object) -> datetime:
    """A record's timestamp as a datetime (the export writes ISO-8601 with Z)."""
    assert isinstance(text, str)
    return datetime.fromisoformat(text)


def make_export(path: Path, config: DemoConfig) -> Export:
    """Write ``config``'s export to ``path`` and read it back."""
    truth = write_export(path, config)
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    return Export(path=path, truth=truth, records=records)
