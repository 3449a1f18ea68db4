"""Where things live inside a store directory. No path here is built from event content."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

CATALOG_NAME = "catalog.sqlite"


@dataclass(frozen=True)
class StoreLayout:
    """Paths of one store directory."""

    root: Path

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def lock(self) -> Path:
        return self.root / "write.lock"

    @property
    def read_lock(self) -> Path:
        """Held shared by readers, exclusively by a writer deleting retired files."""
        return self.root / "read.lock"

    @property
    def events(self) -> Path:
        return self.root / "events"

    @property
    def rejects(self) -> Path:
        return self.root / "rejects"

    @property
    def ids(self) -> Path:
        return self.root / "ids"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def partition(self, day: date) -> Path:
        """The hive partition directory of one UTC date."""
        return self.events / f"date={day.isoformat()}"

    def relative(self, path: Path) -> str:
        """A path as the catalog records it (relative to the store root, POSIX style)."""
        return path.relative_to(self.root).as_posix()
