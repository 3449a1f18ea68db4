"""The stored id hashes an ingest checks new events against, one file per batch, rebuilt
from the batch's own event files when the hash file is damaged (truncated, deleted,
overwritten): the Parquet files are the truth, the hashes only an index of them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mfq.store import ids
from mfq.store.catalog import Catalog, FileRecord
from mfq.store.damage import check_present, content_problem


def stored_hashes(root: Path, catalog: Catalog) -> tuple[np.ndarray, list[str]]:
    """Every stored id hash, and the id files rebuilt because they were damaged (each is
    rewritten in place, so the next ingest reads it again)."""
    batch_of = catalog.file_batches()
    events = catalog.files("events")
    arrays = []
    rebuilt = []
    for record in catalog.files("ids"):
        path = root / record.path
        if content_problem(root, record) is None:
            arrays.append(np.load(path, allow_pickle=False))
            continue
        batch = batch_of[record.path]
        pairs = hashes_of(root, [f for f in events if batch_of[f.path] == batch])
        write_atomically(path, pairs)
        arrays.append(pairs)
        rebuilt.append(record.path)
    stored = np.concatenate(arrays) if arrays else np.empty((0, 2), dtype=np.uint64)
    return stored, rebuilt


def hashes_of(root: Path, events: Sequence[FileRecord]) -> np.ndarray:
    """The id hashes of the events in these files (their ``id`` column only is read)."""
    import pyarrow.parquet as pq

    check_present(root, events)
    parts = [
        ids.hash_ids(pq.read_table(root / f.path, columns=["id"]).column("id")) for f in events
    ]
    return np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.uint64)


def write_atomically(path: Path, pairs: np.ndarray) -> None:
    """Replace ``path`` with these hashes; a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)  # a folder where the file should be: damage too
    partial = path.with_name(path.name + ".partial")
    ids.save(partial, pairs)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, path)
