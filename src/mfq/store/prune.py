"""Pruning: every event before a time removed, with its id hash.

Files wholly before the time are dropped; the files of the day the time cuts are
rewritten with the events at or after it. The id hashes of the removed events are
dropped too, so an event pruned and later ingested again (from another file) counts as
new: the store no longer holds it. (A file already ingested is still skipped whole by its
content hash.) One catalog swap, as compaction. Call with the write lock held.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mfq.settings import Settings
from mfq.store import ids
from mfq.store.catalog import Catalog, FileRecord
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
class PruneResult:
    """What a prune did (or, with ``dry_run``, would do)."""

    before: datetime
    events_removed: int
    days_removed: int
    days_cut: int
    files_before: int
    files_after: int
    bytes_before: int
    bytes_after: int
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        """The result as the ``prune`` output shape."""
        return asdict(self)


@dataclass(frozen=True)
class _Plan:
    dropped: list[FileRecord]  # wholly before the time
    cut: list[FileRecord]  # holding events on both sides of it


def prune(
    layout: StoreLayout, catalog: Catalog, settings: Settings, before: datetime, dry_run: bool
) -> PruneResult:
    """Remove the events before ``before`` (nothing with ``dry_run``: only count them)."""
    cutoff = _ns(before)
    if not dry_run:
        clean_leftovers(layout, catalog)
    files = catalog.files("events")
    plan = _plan(files, cutoff)
    removed = sum(r.rows for r in plan.dropped)
    kept_cut = [_kept_rows(layout, r, cutoff) for r in plan.cut]
    removed += sum(r.rows - len(k) for r, k in zip(plan.cut, kept_cut, strict=True))
    days_removed = len({r.day for r in plan.dropped} - {r.day for r in plan.cut})
    days_cut = len({r.day for r in plan.cut})
    if removed and not dry_run:
        _rewrite(layout, catalog, settings, plan, cutoff)
    if dry_run or not removed:
        # What would stay: untouched files, and each cut file's share of its bytes.
        touched = {r.path for r in plan.dropped + plan.cut}
        after_files = len([r for r in files if r.path not in touched]) + len(
            {r.day for r, k in zip(plan.cut, kept_cut, strict=True) if len(k)}
        )
        after_bytes = sum(r.bytes for r in files if r.path not in touched) + sum(
            r.bytes * len(k) // max(r.rows, 1) for r, k in zip(plan.cut, kept_cut, strict=True)
        )
    else:
        after = catalog.files("events")
        after_files, after_bytes = len(after), sum(r.bytes for r in after)
    return PruneResult(
        before,
        removed,
        days_removed,
        days_cut,
        len(files),
        after_files,
        sum(r.bytes for r in files),
        after_bytes,
        dry_run,
    )


def _plan(files: list[FileRecord], cutoff: int) -> _Plan:
    dropped = [r for r in files if r.max_ns is not None and r.max_ns < cutoff]
    cut = [
        r
        for r in files
        if r.min_ns is not None and r.max_ns is not None and r.min_ns < cutoff <= r.max_ns
    ]
    return _Plan(dropped, cut)


def _kept_rows(layout: StoreLayout, record: FileRecord, cutoff: int) -> np.ndarray:
    """Positions of the file's events at or after the cut."""
    nanos = pq.read_table(layout.root / record.path, columns=["timestamp"]).column("timestamp")
    values = pc.cast(nanos, pa.int64()).to_numpy(zero_copy_only=False)
    return np.flatnonzero(values >= cutoff)


def _rewrite(
    layout: StoreLayout, catalog: Catalog, settings: Settings, plan: _Plan, cutoff: int
) -> None:
    with Rewrite(layout, settings, new_token("prune")) as rewrite:
        gone_ids = [_id_hashes(layout, r) for r in plan.dropped]
        for day in sorted({r.day for r in plan.cut if r.day}):
            records = [r for r in plan.cut if r.day == day]
            table = read_events(layout, records)
            nanos = pc.cast(table.column("timestamp"), pa.int64())
            keep = pc.greater_equal(nanos, pa.scalar(cutoff, pa.int64()))
            gone_ids.append(ids.hash_ids(table.filter(pc.invert(keep)).column("id")))
            kept = table.filter(keep)
            if kept.num_rows:
                rewrite.write_day(date.fromisoformat(day), kept, old_classes(catalog, records))
            rewrite.retired.extend(r.path for r in records)
        rewrite.retired.extend(r.path for r in plan.dropped)
        stored = stored_ids(layout, catalog)
        gone = np.concatenate(gone_ids) if gone_ids else np.empty((0, 2), dtype=np.uint64)
        rewrite.write_ids(stored[~ids.IdIndex(gone).contains(stored)])
        rewrite.retired.extend(f.path for f in catalog.files("ids"))
        rewrite.commit(catalog)


def _id_hashes(layout: StoreLayout, record: FileRecord) -> np.ndarray:
    return ids.hash_ids(pq.read_table(layout.root / record.path, columns=["id"]).column("id"))


def _ns(moment: datetime) -> int:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    delta = moment - epoch
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
