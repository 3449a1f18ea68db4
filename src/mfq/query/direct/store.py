"""Storage that holds a file's events in memory: every query and analysis reads it
through the query layer's ``EventSource`` (``held_events`` instead of files), and
nothing is written."""

from __future__ import annotations

import builtins
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mfq.store.layout import StoreLayout
from mfq.store.store import Storage

if TYPE_CHECKING:
    import pyarrow as pa

    from mfq.store.catalog import FileRecord

#: Where held events "are": never a directory, so no lock or catalog is looked for.
_NOWHERE = Path(os.devnull) / "mfq-held-events"


class HeldCatalog:
    """The ``CatalogReader`` of events held in memory: their field types, nothing else
    (no files, trace index, summaries or templates)."""

    def __init__(self, classes: dict[str, Counter[str]]) -> None:
        self._classes = classes

    def files(self, kind: str = "events") -> list[FileRecord]:
        """No files."""
        return []

    def trace_files(self, keys: Sequence[int]) -> tuple[set[str], set[str]]:
        """No trace index."""
        return set(), set()

    def summaries(self, paths: Sequence[str]) -> dict[str, builtins.bytes]:
        """No file summaries."""
        return {}

    def field_types(self) -> dict[str, Counter[str]]:
        """Value classes per field, as the store's field statistics would record them."""
        return self._classes

    def templates(self, field: str) -> dict[str, str]:
        """No templates kept."""
        return {}

    def remember_templates(
        self, field: str, templates: Sequence[tuple[str, str, int | None]]
    ) -> None:
        """Nothing is kept: nothing is written."""


class HeldStorage(Storage):
    """Events held in memory (see ``mfq.query.direct.reader``): scans read
    ``held_events`` (``mfq.query.scan``); there are no files and nothing is written."""

    def __init__(self, events: pa.Table, classes: dict[str, Counter[str]]) -> None:
        super().__init__(StoreLayout(_NOWHERE))
        self.held_events = events
        self._held_catalog = HeldCatalog(classes)

    @property
    def catalog(self) -> HeldCatalog:  # type: ignore[override]
        """The held events' field types (the query layer reads a ``CatalogReader``)."""
        return self._held_catalog

    def files(self, kind: str = "events") -> list[FileRecord]:
        """No files: the events are held in memory."""
        return []

    def exists(self) -> bool:
        """Nothing on disk."""
        return False
