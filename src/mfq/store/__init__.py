"""The store: Parquet event files, a SQLite catalog, rejects, locking, ingest and upkeep.

Storage only: queries and analyses read it through ``mfq.query.source.EventSource``, and
the public ``Store`` that users hold (``mfq.open_store``) lives in ``mfq.api``.
"""

from mfq.store.store import (
    IngestProgress,
    IngestSummary,
    Storage,
    open_storage,
    resolve_store_path,
)

__all__ = ["IngestProgress", "IngestSummary", "Storage", "open_storage", "resolve_store_path"]
