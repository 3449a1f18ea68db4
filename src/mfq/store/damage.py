"""Finding damaged store files: what readers check before they trust the catalog's list.

A listed file that is missing, of the wrong kind, or of another size than the catalog
recorded (truncated, emptied, overwritten) is named in one line (exit 3) before any
answer is computed from the store, summaries included: an answer must never silently
leave out what a damaged file held. ``mfq doctor`` (``mfq.store.doctor``) goes further
and reads every file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mfq.errors import StoreCorrupt

if TYPE_CHECKING:
    from mfq.store.catalog import FileRecord

#: What the one-line error suggests.
DOCTOR_HINT = "run 'mfq doctor' to see every damaged file, 'mfq doctor --repair' to drop them"


def presence_problem(root: Path, record: FileRecord) -> str | None:
    """Why a listed file cannot be what the catalog recorded, judged by ``stat`` alone
    (None when it may be): missing, not a regular file, or of another size."""
    path = root / record.path
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        blocker = _non_directory_ancestor(root, path)
        if blocker is not None:
            return f"missing: {blocker} is not a directory"
        return "missing"
    except OSError as err:
        return f"cannot be read: {err.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if record.bytes and info.st_size != record.bytes:
        return f"truncated or changed: {info.st_size} bytes, the catalog recorded {record.bytes}"
    if info.st_size == 0:
        return "empty"
    return None


def _non_directory_ancestor(root: Path, path: Path) -> str | None:
    """The first folder on the way from ``root`` to ``path`` that exists but is not a
    folder (an ``events`` file, say), relative to ``root``."""
    current = root
    for part in path.relative_to(root).parts[:-1]:
        current = current / part
        if current.exists() and not current.is_dir():
            return current.relative_to(root).as_posix()
        if not current.exists():
            return None
    return None


def check_present(root: Path, records: Sequence[FileRecord]) -> None:
    """Raise ``StoreCorrupt`` naming the first listed file that is not as recorded."""
    for record in records:
        problem = presence_problem(root, record) or _tail_problem(root, record)
        if problem is not None:
            raise damaged(root, record.path, problem)


#: How every Parquet file ends: answers from the catalog alone (summaries, field
#: statistics) read these four bytes per file, so a file overwritten in place at its
#: recorded size is named too, at the cost of one small read rather than its footer.
_PARQUET_MAGIC = b"PAR1"


def _tail_problem(root: Path, record: FileRecord) -> str | None:
    if record.kind != "events" or not record.path.endswith(".parquet"):
        return None
    try:
        with (root / record.path).open("rb") as handle:
            handle.seek(-len(_PARQUET_MAGIC), os.SEEK_END)
            tail = handle.read()
    except OSError as err:
        return f"cannot be read: {err.strerror}"
    if tail != _PARQUET_MAGIC:
        return "unreadable: the Parquet footer is damaged (the file does not end in PAR1)"
    return None


def damaged(root: Path, relative: str, problem: str) -> StoreCorrupt:
    """The one-line error for a damaged store file."""
    return StoreCorrupt(f"damaged store file {root / relative}: {problem}", hint=DOCTOR_HINT)


def content_problem(root: Path, record: FileRecord) -> str | None:
    """Why a listed file is damaged, reading its footer (Parquet) or header (id hashes):
    everything ``presence_problem`` finds, a footer that cannot be parsed, or a row count
    other than the catalog's (None when none is found)."""
    problem = presence_problem(root, record)
    if problem is not None:
        return problem
    path = root / record.path
    try:
        rows = _rows_in(path, record.kind)
    except (OSError, ValueError, EOFError) as err:  # pyarrow's ArrowInvalid is a ValueError
        return f"unreadable: {' '.join(str(err).split())}"
    if rows != record.rows:
        return f"holds {rows} rows, the catalog recorded {record.rows}"
    return None


def _rows_in(path: Path, kind: str) -> int:
    if kind == "ids":
        import numpy as np

        pairs = np.load(path, mmap_mode="r", allow_pickle=False)
        if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype != np.uint64:
            raise ValueError(f"not an id-hash array: shape {pairs.shape}, type {pairs.dtype}")
        return int(pairs.shape[0])
    import pyarrow.parquet as pq

    return int(pq.read_metadata(path).num_rows)


@contextmanager
def reading_files(root: Path, records: Sequence[FileRecord]) -> Iterator[None]:
    """Turn a read error that a damaged file explains into ``StoreCorrupt`` naming it.

    A file can have its recorded size and still be damaged (bytes overwritten in
    place): when reading fails, the files' footers are checked, and the error stands
    as it was when they are all sound.
    """
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowException, OSError) as err:
        corrupt = damage_behind(root, records)
        if corrupt is not None:
            raise corrupt from err
        raise


def damage_behind(root: Path, records: Sequence[FileRecord]) -> StoreCorrupt | None:
    """The error naming the first damaged file of ``records`` (footers read), if any."""
    for record in records:
        problem = content_problem(root, record)
        if problem is not None:
            return damaged(root, record.path, problem)
    return None


def wrong_kinds(root: Path, folders: Sequence[Path], lock: Path) -> list[tuple[str, str]]:
    """Store folders that are not folders, and a lock that is not a file: what an ingest
    would trip over, as (path relative to ``root``, what it is not)."""
    found = [
        (folder.relative_to(root).as_posix(), "not a directory")
        for folder in folders
        if folder.exists() and not folder.is_dir()
    ]
    if os.path.lexists(lock) and not lock.is_file():
        found.append((lock.relative_to(root).as_posix(), "not a regular file"))
    return found
