"""Rewriting committed files (compaction, pruning) as one swap in the catalog.

New files are written to the store's tmp directory, moved next to the old ones, and one
catalog transaction lists them instead of the old ones: readers see the old files or the
new ones. The old files are deleted once no reader reads (see ``readers``). A kill at any
moment leaves files the catalog does not list, which the next write deletes.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mfq.ingest.columns import unify
from mfq.settings import Settings
from mfq.store import ids
from mfq.store.catalog import Catalog, FileRecord
from mfq.store.layout import StoreLayout
from mfq.store.readers import remove_unlisted
from mfq.store.writer import write_events_file


def new_token(kind: str) -> str:
    """A unique name part for the files of one rewrite (``compact-...``, ``prune-...``)."""
    return f"{kind}-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


def read_events(layout: StoreLayout, records: list[FileRecord]) -> pa.Table:
    """The events of these files as one table (columns unified as ingest unifies them),
    in file order."""
    return unify(pq.read_table(layout.root / r.path) for r in records)


def by_time(table: pa.Table) -> pa.Table:
    """The table sorted by timestamp (stable: equal times keep their order)."""
    nanos = pc.cast(table.column("timestamp"), pa.int64()).to_numpy(zero_copy_only=False)
    if len(nanos) < 2 or bool(np.all(nanos[1:] >= nanos[:-1])):
        return table
    return table.take(pa.array(np.argsort(nanos, kind="stable")))


@dataclass
class Rewrite:
    """The files one rewrite retires and writes, published together."""

    layout: StoreLayout
    settings: Settings
    token: str
    retired: list[str] = field(default_factory=list)
    written: list[FileRecord] = field(default_factory=list)
    _moves: list[tuple[Path, Path]] = field(default_factory=list)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def tmp_dir(self) -> Path:
        return self.layout.tmp / self.token

    def __enter__(self) -> Rewrite:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:  # an interrupt or a failure before the commit: nothing stays
            self._discard()

    def _discard(self) -> None:
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.layout.tmp.rmdir()  # only when no other write's files are in it

    def write_day(self, day: date, table: pa.Table, classes: dict[str, set[str]]) -> None:
        """Write one day's events sorted by time, in files of at most
        ``compact_file_rows`` events of about equal size."""
        table = by_time(table)
        parts = max(1, -(-table.num_rows // self.settings.compact_file_rows))
        size = -(-table.num_rows // parts)
        for start in range(0, table.num_rows, size):
            name = f"part-{self.token}-{next(self._numbers):05d}.parquet"
            final = self.layout.partition(day) / name
            record = write_events_file(
                table.slice(start, size),
                self.tmp_dir / name,
                self.layout.relative(final),
                day,
                self.settings,
                classes,
            )
            self.written.append(record)
            self._moves.append((self.tmp_dir / name, final))

    def write_ids(self, pairs: np.ndarray) -> None:
        """Write the id hashes of every event the store keeps after the rewrite."""
        name = f"ids-{self.token}.npy"
        tmp = self.tmp_dir / name
        tmp.parent.mkdir(parents=True, exist_ok=True)
        ids.save(tmp, pairs)
        final = self.layout.ids / name
        self.written.append(
            FileRecord(self.layout.relative(final), "ids", None, len(pairs), 0, None, None)
        )
        self._moves.append((tmp, final))

    def commit(self, catalog: Catalog) -> None:
        """Move the new files into place and swap them for the retired ones in one
        catalog transaction; then delete the retired files unless a reader reads."""
        try:
            for tmp, final in self._moves:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
            catalog.replace_files(
                self.token, datetime.now(UTC).isoformat(), self.retired, self.written
            )
        except BaseException:
            # Files moved in before the catalog listed them go (the store is as it was).
            with contextlib.suppress(Exception):
                remove_unlisted(self.layout, catalog.all_paths())
            raise
        finally:
            self._discard()
        remove_unlisted(self.layout, catalog.all_paths())


def old_classes(catalog: Catalog, records: list[FileRecord]) -> dict[str, set[str]]:
    """The value classes of each field in these files, for the statistics of the files
    that replace them (a text column may hold values of several classes, which its text
    no longer tells). Files from an earlier mfq count with the store's classes."""
    classes = catalog.file_classes([r.path for r in records])
    if len(catalog.files_without_stats()):
        for name, counts in catalog.field_types().items():
            classes.setdefault(name, set()).update(c for c, n in counts.items() if n)
    return classes


def stored_ids(layout: StoreLayout, catalog: Catalog) -> np.ndarray:
    """Every stored event's id hashes."""
    arrays = [np.load(layout.root / f.path) for f in catalog.files("ids")]
    return np.concatenate(arrays) if arrays else np.empty((0, 2), dtype=np.uint64)
