"""What the query layer reads of a store, and the store opened for querying.

Engines, scans and analyses never see the storage class nor the public facade: they read
through :class:`EventSource` (files, the catalog's trace index, file summaries and
templates, field types, the root) and, for analyses and the report, :class:`QuerySource`
(an event source that also runs query descriptions). :class:`StoreQueries` is the one
implementation: a ``mfq.store.Storage`` with an engine and the derived fields defined.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mfq.query.engines import DEFAULT_ENGINE, open_engine

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mfq.query.engines import Engine
    from mfq.query.expr import FieldSchema, FieldType
    from mfq.query.spec import QuerySpec
    from mfq.store.catalog import FileRecord
    from mfq.store.store import Storage

__all__ = ["CatalogReader", "EventSource", "QuerySource", "StoreQueries"]


class CatalogReader(Protocol):
    """The catalog records the query layer reads (and the templates ``patterns`` keeps)."""

    def files(self, kind: str = "events") -> list[FileRecord]:
        """Committed files of a kind, as listed (not checked on disk)."""
        ...

    def trace_files(self, keys: Sequence[int]) -> tuple[set[str], set[str]]:
        """The files whose trace index holds one of ``keys``, and every indexed file."""
        ...

    def summaries(self, paths: Sequence[str]) -> dict[str, builtins.bytes]:
        """The summaries recorded at ingest for these files."""
        ...

    def field_types(self) -> dict[str, Counter[str]]:
        """Value classes seen per stored field."""
        ...

    def templates(self, field: str) -> dict[str, str]:
        """The message templates kept for ``field``: id -> text."""
        ...

    def remember_templates(
        self, field: str, templates: Sequence[tuple[str, str, int | None]]
    ) -> None:
        """Keep ``(id, text, first seen ns)`` templates of ``field``."""
        ...


class EventSource(Protocol):
    """What engines and scans read of a store."""

    @property
    def root(self) -> Path:
        """The store directory (file records' paths are relative to it)."""
        ...

    @property
    def catalog(self) -> CatalogReader:
        """The catalog's records (``StoreNotFound`` when the store was never created)."""
        ...

    def exists(self) -> bool:
        """True once the store has a catalog."""
        ...

    def files(self, kind: str = "events") -> list[FileRecord]:
        """The committed files of a kind, each checked to be on disk."""
        ...

    def field_types(self) -> FieldSchema:
        """Every field's type, derived fields included."""
        ...

    @property
    def held_events(self) -> pa.Table | None:
        """Events held in memory instead of files (a file read directly); None for a store."""
        ...


class QuerySource(EventSource, Protocol):
    """What analyses and the report use: an event source that runs query descriptions."""

    def run(self, spec: QuerySpec) -> pd.DataFrame:
        """The answer to one query description."""
        ...

    def run_many(self, specs: list[QuerySpec]) -> list[pd.DataFrame]:
        """The answers to several descriptions (the engine may share work)."""
        ...

    def run_table(self, spec: QuerySpec) -> pa.Table:
        """The answer to one description as a pyarrow Table."""
        ...

    def info(self) -> dict[str, Any]:
        """What the store holds: events, time range, sources, bytes."""
        ...

    def schema(self, *, exact: bool = False) -> pd.DataFrame:
        """One row per stored field: type, % present, distinct count, top values."""
        ...


class StoreQueries:
    """A store opened for querying: its storage, the engine queries run on, and the
    derived fields every query and analysis knows (``--let``, ``[fields]``)."""

    def __init__(
        self, storage: Storage, *, engine: str = DEFAULT_ENGINE, scheduler: str | None = None
    ) -> None:
        self.storage = storage
        self._engine: Engine = open_engine(engine, scheduler)
        #: Derived fields, in order (``NAME=EXPR``); each may use the ones before it.
        self._definitions: list[tuple[str, str]] = []

    # -- the event source ---------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The store directory."""
        return self.storage.root

    @property
    def catalog(self) -> CatalogReader:
        """The storage's catalog."""
        return self.storage.catalog

    def exists(self) -> bool:
        """True once the store has a catalog."""
        return self.storage.exists()

    @property
    def held_events(self) -> pa.Table | None:
        """The storage's events held in memory (``mfq.query.direct``), if any."""
        return self.storage.held_events

    def files(self, kind: str = "events") -> list[FileRecord]:
        """The committed files of a kind, each checked to be on disk."""
        return self.storage.files(kind)

    def info(self) -> dict[str, Any]:
        """The storage's ``info``."""
        return self.storage.info()

    def schema(self, *, exact: bool = False) -> pd.DataFrame:
        """The storage's ``schema``."""
        return self.storage.schema(exact=exact)

    # -- fields ---------------------------------------------------------------------------

    def define_fields(self, definitions: Sequence[str | tuple[str, str]]) -> None:
        """Add derived fields (``NAME=EXPR`` texts or (name, expression) pairs) that every
        later query and analysis knows; a mistake raises at once and adds nothing."""
        from mfq.query.build import let_definition

        pairs = [let_definition(d) if isinstance(d, str) else d for d in definitions]
        before = list(self._definitions)
        self._definitions += pairs
        try:
            self.field_types()
        except Exception:
            self._definitions = before
            raise

    def field_types(self) -> FieldSchema:
        """Every field's type (mixed fields are text) and the derived fields defined."""
        from mfq.query.build import define_fields

        return define_fields(self._stored_types(), self._definitions)

    def _stored_types(self) -> dict[str, FieldType]:
        from mfq.query.expr.schema import stored_field_types

        return stored_field_types(self.catalog.field_types())

    # -- running --------------------------------------------------------------------------

    @property
    def engine(self) -> str:
        """The name of the engine queries run on (``pandas`` or ``dask``)."""
        return self._engine.name

    def use_engine(self, name: str, scheduler: str | None = None) -> None:
        """Run the following queries on engine ``name``."""
        engine = open_engine(name, scheduler)
        self._engine.close()
        self._engine = engine

    def run(self, spec: QuerySpec) -> pd.DataFrame:
        """Execute a query description with the engine, under the store's read lock."""
        with self.storage.reading():
            return self._engine.execute(self, spec)

    def run_many(self, specs: list[QuerySpec]) -> list[pd.DataFrame]:
        """Execute several query descriptions at once; the engine may share work between
        them (the local engine reads the events once for aggregates over the same rows)."""
        with self.storage.reading():
            return self._engine.execute_many(self, specs)

    def run_table(self, spec: QuerySpec) -> pa.Table:
        """Execute a query description; the answer as a pyarrow Table. The local engine
        answers most descriptions without pandas; integer columns with nulls stay integer."""
        with self.storage.reading():
            return self._engine.execute_table(self, spec)

    def close(self) -> None:
        """Release the engine's cluster or client, if any (the storage is the caller's)."""
        self._engine.close()
