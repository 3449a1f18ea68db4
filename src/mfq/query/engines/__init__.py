"""Engines execute a ``QuerySpec``; each raises ``UnsupportedOperation`` for what it cannot do.

An engine is chosen per store (``mfq.open_store(path, engine="dask")``), so every analysis
that calls ``store.run(spec)`` runs on it unchanged. This module stays light: it names the
engines and opens one; the engine modules (and pandas, pyarrow, Dask) load on first use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from mfq.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mfq.query.source import EventSource
    from mfq.query.spec import QuerySpec

#: Engine names, the default first.
ENGINES = ("local", "dask")
DEFAULT_ENGINE = "local"
#: Former names still accepted: the local engine was called ``pandas``.
ENGINE_ALIASES = {"pandas": "local"}
#: What ``--engine`` (and ``open_store(engine=...)``) accepts.
ENGINE_CHOICES = (*ENGINES, *ENGINE_ALIASES)
#: The Dask scheduler to use when none is given (else a local cluster is started).
SCHEDULER_ENV = "MFQ_DASK_SCHEDULER"


class Engine(Protocol):
    """Runs query descriptions against a store; ``close`` releases what it holds."""

    name: str

    def execute(self, store: EventSource, spec: QuerySpec) -> pd.DataFrame:
        """The answer to ``spec`` over ``store``'s events."""
        ...

    def execute_table(self, store: EventSource, spec: QuerySpec) -> pa.Table:
        """The answer to ``spec`` as a pyarrow Table (integer columns with nulls stay
        integer); the local engine gives it without importing pandas."""
        ...

    def execute_many(self, store: EventSource, specs: Sequence[QuerySpec]) -> list[pd.DataFrame]:
        """The answers to several descriptions (the engine may share work between them)."""
        ...

    def close(self) -> None:
        """Release clusters, clients or connections (the engine may be used again after)."""
        ...


class LocalEngine:
    """The in-process engine: pyarrow scans, grouping in pyarrow and numpy; DataFrames
    are its Arrow answers converted."""

    name = "local"

    def execute(self, store: EventSource, spec: QuerySpec) -> pd.DataFrame:
        return _frame(self.execute_table(store, spec))

    def execute_table(self, store: EventSource, spec: QuerySpec) -> pa.Table:
        from mfq.query.engines.local import execute_table
        from mfq.query.pattern_field import bind_spec

        return execute_table(store, bind_spec(store, spec))

    def execute_many(self, store: EventSource, specs: Sequence[QuerySpec]) -> list[pd.DataFrame]:
        from mfq.query.engines.local import execute_many_tables
        from mfq.query.pattern_field import bind_spec

        tables = execute_many_tables(store, [bind_spec(store, spec) for spec in specs])
        return [_frame(table) for table in tables]

    def close(self) -> None:
        """Nothing to release."""


def _frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow answer as the DataFrame notebooks get.

    An integer column with nulls (a port as a group key, present on some events) keeps
    Python integers beside None instead of turning into floats: ``443`` stays ``443``, not
    ``443.0``, and ids beyond 2**53 stay exact."""
    frame: pd.DataFrame = table.to_pandas(integer_object_nulls=True)
    return frame


def engine_name(name: str) -> str:
    """The engine ``name`` stands for (an alias resolved)."""
    resolved = ENGINE_ALIASES.get(name, name)
    if resolved not in ENGINES:
        raise UsageError(f"unknown engine {name!r} (choose one of {', '.join(ENGINES)})")
    return resolved


def open_engine(name: str = DEFAULT_ENGINE, scheduler: str | None = None) -> Engine:
    """The engine called ``name`` (``pandas`` is the local engine's former name).
    ``scheduler`` (else ``$MFQ_DASK_SCHEDULER``) is the Dask cluster to use; it applies
    to the ``dask`` engine only."""
    if engine_name(name) == "local":
        if scheduler is not None:
            raise UsageError("--scheduler applies to --engine dask only")
        return LocalEngine()
    from mfq.query.engines.dask import DaskEngine

    return DaskEngine(scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV) or None)
