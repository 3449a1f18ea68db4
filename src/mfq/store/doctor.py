"""``mfq doctor``: check a store end to end, and repair what is damaged.

The check opens the catalog (SQLite's own ``quick_check``), every listed file (is it
there, a regular file of the recorded size, with a readable footer and the recorded row
count), every id-hash file, and looks for leftovers (a ``tmp`` folder, files no batch
lists) and store paths of the wrong kind. ``repair`` holds the write lock and, in one
catalog transaction, drops what cannot be read; it says exactly what each drop lost
(events, their days and time span, and the sources to ingest again to get them back:
the other events of those sources are then duplicates). Nothing is guessed: a damaged
catalog is reported, not rebuilt.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mfq.store.catalog import FileRecord
from mfq.store.damage import content_problem, wrong_kinds

if TYPE_CHECKING:
    import pyarrow as pa

    from mfq.store.store import Storage

#: What ``repair`` does about each kind of finding.
DROP = "dropped from the catalog"
REBUILD = "rebuilt from the event files"
REMOVE = "removed"
NONE = "none: restore the store from a backup, or ingest the sources into a new store"
REPLACED_HINT = "something else stands where the store keeps its own"


def _finding_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("path", pa.string()),
            ("problem", pa.string()),
            ("events_lost", pa.int64()),
            ("first", pa.timestamp("us", tz="UTC")),
            ("last", pa.timestamp("us", tz="UTC")),
            ("sources", pa.string()),
            ("action", pa.string()),
        ]
    )


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a store, what it costs, and what ``repair`` does about it."""

    path: str  # relative to the store root
    problem: str
    action: str
    #: Events that dropping the file loses.
    lost: int = 0
    first: datetime | None = None
    last: datetime | None = None
    #: Ingest these again to restore what was lost (the rest of them are duplicates).
    sources: tuple[str, ...] = ()

    def as_row(self) -> dict[str, object]:
        """The finding as one output row."""
        return {
            "path": self.path,
            "problem": self.problem,
            "events_lost": self.lost,
            "first": self.first,
            "last": self.last,
            "sources": ", ".join(self.sources),
            "action": self.action,
        }


@dataclass
class Checkup:
    """What ``diagnose`` found (and, after ``repair``, what was done)."""

    files_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    repaired: bool = False

    @property
    def events_lost(self) -> int:
        """Events held by the event files found damaged."""
        return sum(f.lost for f in self.findings)

    def table(self) -> pa.Table:
        """The findings, one row each: path, problem, events_lost, first, last, sources
        (to ingest again to restore what is lost), action."""
        import pyarrow as pa

        rows = [f.as_row() for f in self.findings]
        return pa.Table.from_pylist(rows, schema=_finding_schema())


def diagnose(store: Storage, *, cleared: tuple[Finding, ...] = ()) -> Checkup:
    """Check the store without changing it (``cleared``: what ``repair`` had to remove
    before it could take the write lock, reported with the rest)."""
    checkup = Checkup()
    catalog = store.catalog
    broken = catalog.integrity_problem()
    if broken is not None:
        checkup.findings.append(Finding(store.layout.catalog.name, broken, NONE))
        return checkup
    wrong = [*_wrong_kinds(store), *cleared]
    checkup.findings.extend(wrong)
    sources = catalog.batch_sources()
    batch_of = catalog.file_batches()
    for kind in ("events", "rejects", "ids"):
        for record in catalog.files(kind):
            checkup.files_checked += 1
            problem = content_problem(store.root, record)
            if problem is not None:
                batch_sources = tuple(sources.get(batch_of[record.path], ()))
                checkup.findings.append(_finding(record, problem, batch_sources))
    checkup.findings.extend(_leftovers(store, catalog.all_paths(), {f.path for f in wrong}))
    return checkup


def repair(store: Storage) -> Checkup:
    """Fix what ``diagnose`` finds, holding the write lock; the catalog changes in one
    transaction. Returns the findings, each with what was done."""
    from mfq.store.lock import write_lock

    store.create()  # the catalog opened for writing
    cleared = _clear_wrong_lock(store)
    with write_lock(store.layout.lock, store.settings.lock_timeout_seconds):
        checkup = diagnose(store, cleared=cleared)
        if any(f.action == NONE for f in checkup.findings):
            return checkup
        for finding in checkup.findings:
            if finding.action == REMOVE:
                _remove(store.root / finding.path)
        _apply_drops(store, checkup)
        checkup.repaired = True
    return checkup


def _finding(record: FileRecord, problem: str, sources: tuple[str, ...]) -> Finding:
    if record.kind == "ids":
        return Finding(record.path, problem, REBUILD)
    if record.kind == "rejects":
        return Finding(record.path, f"{problem} ({record.rows} rejected records)", DROP)
    return Finding(
        record.path,
        problem,
        DROP,
        lost=record.rows,
        first=_time(record.min_ns),
        last=_time(record.max_ns),
        sources=sources,
    )


def _time(nanos: int | None) -> datetime | None:
    if nanos is None:
        return None
    return datetime.fromtimestamp(nanos // 1_000_000_000, UTC).replace(
        microsecond=nanos % 1_000_000_000 // 1000
    )


def _wrong_kinds(store: Storage) -> list[Finding]:
    layout = store.layout
    folders = (layout.events, layout.rejects, layout.ids, layout.tmp)
    return [
        Finding(path, f"{what}: {REPLACED_HINT}", REMOVE)
        for path, what in wrong_kinds(store.root, folders, layout.lock)
    ]


def _leftovers(store: Storage, listed: set[str], reported: set[str]) -> Iterator[Finding]:
    """A ``tmp`` folder (an ingest interrupted, or one running now) and files in the
    store's folders that no committed batch lists."""
    layout = store.layout
    if layout.tmp.is_dir():
        yield Finding("tmp", "leftover of an interrupted ingest (or one running now)", REMOVE)
    for folder in (layout.events, layout.rejects, layout.ids):
        if layout.relative(folder) in reported or not folder.is_dir():
            continue
        for root, _dirs, names in os.walk(folder):
            for name in sorted(names):
                relative = layout.relative(Path(root) / name)
                if relative not in listed:
                    yield Finding(relative, "not listed in the catalog (a leftover)", REMOVE)


def _clear_wrong_lock(store: Storage) -> tuple[Finding, ...]:
    """A lock that is not a file cannot be taken: remove it first (no writer can hold
    it, so none is running); returns the finding."""
    lock = store.layout.lock
    found = tuple(f for f in _wrong_kinds(store) if f.path == lock.name)
    if found:
        _remove(lock)
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _apply_drops(store: Storage, checkup: Checkup) -> None:
    """Drop the damaged event and rejects files and rebuild the id files of their
    batches (and the damaged ones) from the event files that remain, in one commit."""
    from mfq.store import idfiles

    catalog = store.catalog
    dropped = {f.path for f in checkup.findings if f.action == DROP}
    rebuild = {f.path for f in checkup.findings if f.action == REBUILD}
    if not dropped and not rebuild:
        return
    batch_of = catalog.file_batches()
    touched = {batch_of[path] for path in dropped if path.startswith("events/")}
    remaining = [f for f in catalog.files("events") if f.path not in dropped]
    replaced = []
    for record in catalog.files("ids"):
        batch = batch_of[record.path]
        if record.path not in rebuild and batch not in touched:
            continue
        pairs = idfiles.hashes_of(store.root, [f for f in remaining if batch_of[f.path] == batch])
        # A new file, swapped in by the commit: until then the old one stays in force.
        new = Path(record.path).with_name(f"ids-repaired-{secrets.token_hex(6)}.npy")
        idfiles.write_atomically(store.root / new, pairs)
        replaced.append((record.path, replace(record, path=new.as_posix(), rows=len(pairs))))
    catalog.drop_files(sorted(dropped), replaced, sorted(touched))
    for path in [*dropped, *(old for old, _new in replaced)]:
        _remove(store.root / path)
