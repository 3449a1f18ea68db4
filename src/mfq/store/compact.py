"""Compaction: each day's many small files rewritten as few large ones, sorted by time.

A day is rewritten when it has more files than ``compact_file_rows`` needs; the id
hash files of all batches become one. A store that is already compact is left as it is
(files from an earlier mfq only gain their field statistics). Call with the write lock
held.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

from mfq.settings import Settings
from mfq.store.catalog import Catalog, FileRecord
from mfq.store.fieldstats import table_stats
from mfq.store.layout import StoreLayout
from mfq.store.readers import clean_leftovers
from mfq.store.rewrite import (
    Rewrite,
    new_token,
    old_classes,
    read_events,
    stored_ids,
)


@dataclass(frozen=True)
class CompactionResult:
    """What a compaction did: days rewritten, and the store's event files and their bytes
    before and after."""

    days: int
    files_before: int
    files_after: int
    bytes_before: int
    bytes_after: int

    def as_dict(self) -> dict[str, Any]:
        """The result as the ``compact`` output shape."""
        return asdict(self)


@dataclass(frozen=True)
class DayWindow:
    """The days a compaction may rewrite: those meeting ``[since, until)``, or only
    ``days`` when given."""

    since: datetime | None = None
    until: datetime | None = None
    days: frozenset[str] | None = None

    def holds(self, day: str) -> bool:
        if self.days is not None and day not in self.days:
            return False
        start = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC)
        if self.until is not None and start >= self.until:
            return False
        return self.since is None or start + timedelta(days=1) > self.since


def compact_days(
    layout: StoreLayout, catalog: Catalog, settings: Settings, window: DayWindow
) -> CompactionResult:
    """Rewrite the days of ``window`` that have more files than they need."""
    clean_leftovers(layout, catalog)
    before = catalog.files("events")
    with Rewrite(layout, settings, new_token("compact")) as rewrite:
        days = 0
        for day, records in _days(before):
            if not window.holds(day) or len(records) <= _needed(records, settings):
                continue
            table = read_events(layout, records)
            rewrite.write_day(date.fromisoformat(day), table, old_classes(catalog, records))
            rewrite.retired.extend(r.path for r in records)
            days += 1
        id_files = catalog.files("ids")
        if days and len(id_files) > 1:
            rewrite.write_ids(stored_ids(layout, catalog))
            rewrite.retired.extend(f.path for f in id_files)
        if days:
            rewrite.commit(catalog)
    _add_missing_stats(layout, catalog)
    after = catalog.files("events")
    return CompactionResult(days, len(before), len(after), _bytes(before), _bytes(after))


def _days(records: list[FileRecord]) -> Iterable[tuple[str, list[FileRecord]]]:
    for day, group in groupby(records, key=lambda r: r.day or ""):
        yield day, list(group)


def _needed(records: list[FileRecord], settings: Settings) -> int:
    return max(1, -(-sum(r.rows for r in records) // settings.compact_file_rows))


def _bytes(records: list[FileRecord]) -> int:
    return sum(r.bytes for r in records)


def _add_missing_stats(layout: StoreLayout, catalog: Catalog) -> None:
    """Files written by an mfq that kept no field statistics gain them (so ``schema``
    answers from the catalog)."""
    missing = catalog.files_without_stats()
    if not missing:
        return
    records = {r.path: r for r in catalog.files("events")}
    for path in missing:
        table = read_events(layout, [records[path]])
        catalog.add_field_stats(path, table_stats(table, old_classes(catalog, [records[path]])))
