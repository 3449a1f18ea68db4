"""The store: Parquet event files, a SQLite catalog, rejects, locking and the Store API."""

from mfq.store.store import IngestSummary, Store, open_store

__all__ = ["IngestSummary", "Store", "open_store"]
