"""Readers and the files a rewrite retires.

A compaction or a prune swaps files in one catalog transaction, but a reader that listed
the old files just before may still be opening them. Readers hold a shared lock on
``read.lock`` while they list and read; a writer deletes the files the catalog no longer
lists only when it can take that lock exclusively (at once, never waiting): else the
files stay until the next write finds no reader. A process killed while reading drops
its lock with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mfq.store.layout import StoreLayout

if TYPE_CHECKING:
    from mfq.store.catalog import Catalog


@contextmanager
def reading(layout: StoreLayout) -> Iterator[None]:
    """Hold the store's shared read lock (none on a store this process cannot write:
    nobody can delete its files through mfq either)."""
    try:
        fd = os.open(layout.read_lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def clean_leftovers(layout: StoreLayout, catalog: Catalog) -> None:
    """What a killed write left: its tmp files, and files the catalog does not list
    (kept while a reader reads). Call with the write lock held. (Here, not beside the
    rewrites: an ingest calls it first, and the rewrites' modules import the Parquet
    writer, which an ingest loads beside its first parse.)"""
    shutil.rmtree(layout.tmp, ignore_errors=True)
    remove_unlisted(layout, catalog.all_paths())


def remove_unlisted(layout: StoreLayout, listed: set[str]) -> bool:
    """Delete data files the catalog does not list (retired by a rewrite, or left by a
    killed write) and emptied partition directories, unless a reader is reading: then
    nothing is deleted and False is returned. Call with the write lock held."""
    fd = os.open(layout.read_lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        for directory in (layout.events, layout.rejects, layout.ids):
            _remove_under(layout, directory, listed)
        return True
    finally:
        os.close(fd)


def _remove_under(layout: StoreLayout, directory: Path, listed: set[str]) -> None:
    if not directory.exists():
        return
    for root, _dirs, names in os.walk(directory, topdown=False):
        for name in names:
            path = Path(root) / name
            if layout.relative(path) not in listed:
                path.unlink(missing_ok=True)
        if Path(root) != directory:
            with contextlib.suppress(OSError):
                Path(root).rmdir()  # only when empty: a day pruned or compacted away
