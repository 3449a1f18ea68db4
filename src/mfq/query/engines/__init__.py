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
ENGINES = ("pandas", "dask")
DEFAULT_ENGINE = "pandas"
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
        integer); the pandas engine gives it without importing pandas."""
        ...

    def execute_many(self, store: EventSource, specs: Sequence[QuerySpec]) -> list[pd.DataFrame]:
        """The answers to several descriptions (the engine may share work between them)."""
        ...

    def close(self) -> None:
        """Release clusters, clients or connections (the engine may be used again after)."""
        ...


class PandasEngine:
    """The in-process engine: pyarrow scans, grouping in pyarrow, numpy and pandas."""

    name = "pandas"

    def execute(self, store: EventSource, spec: QuerySpec) -> pd.DataFrame:
        from mfq.query.engines.pandas import execute
        from mfq.query.pattern_field import bind_spec

        return execute(store, bind_spec(store, spec))

    def execute_table(self, store: EventSource, spec: QuerySpec) -> pa.Table:
        from mfq.query.engines.arrow import execute_table
        from mfq.query.pattern_field import bind_spec

        return execute_table(store, bind_spec(store, spec))

    def execute_many(self, store: EventSource, specs: Sequence[QuerySpec]) -> list[pd.DataFrame]:
        from mfq.query.engines.pandas import execute_many
        from mfq.query.pattern_field import bind_spec

        return execute_many(store, [bind_spec(store, spec) for spec in specs])

    def close(self) -> None:
        """Nothing to release."""


def open_engine(name: str = DEFAULT_ENGINE, scheduler: str | None = None) -> Engine:
    """The engine called ``name``. ``scheduler`` (else ``$MFQ_DASK_SCHEDULER``) is the Dask
    cluster to use; it applies to the ``dask`` engine only."""
    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r} (choose one of {', '.join(ENGINES)})")
    if name == "pandas":
        if scheduler is not None:
            raise UsageError("--scheduler applies to --engine dask only")
        return PandasEngine()
    from mfq.query.engines.dask import DaskEngine

    return DaskEngine(scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV) or None)
