"""mfq: answers from Tallyfy Manufactory event exports.

The Python API mirrors the command line::

    import mfq
    store = mfq.open_store(".mfq")
    store.ingest(["export.ndjson.gz"])
    store.info(); store.schema()
"""

from mfq.errors import DataError, ExitCode, MfqError, StoreNotFound, UsageError
from mfq.store import IngestSummary, Store, open_store

__all__ = [
    "DataError",
    "ExitCode",
    "IngestSummary",
    "MfqError",
    "Store",
    "StoreNotFound",
    "UsageError",
    "open_store",
]
