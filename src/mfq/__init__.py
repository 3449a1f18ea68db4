"""mfq: answers from Tallyfy Manufactory event exports.

The Python API mirrors the command line::

    import mfq
    store = mfq.open_store(".mfq")
    store.ingest(["export.ndjson.gz"])
    store.info(); store.schema()
    store.query(mfq.Selection(last="24h"), group_by="service")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mfq.errors import DataError, ExitCode, MfqError, StoreNotFound, UsageError

if TYPE_CHECKING:
    from mfq.api import IngestSummary, Selection, Store, open_store

__all__ = [
    "DataError",
    "ExitCode",
    "IngestSummary",
    "MfqError",
    "Selection",
    "Store",
    "StoreNotFound",
    "UsageError",
    "open_store",
]

# Every ``import mfq.<anything>`` runs this file first: the public API (the store, the
# query layer, the analyses) loads only when one of its names is used, so ``mfq --help``
# and a submodule import stay cheap.
_FROM_API = frozenset({"IngestSummary", "Selection", "Store", "open_store"})


def __getattr__(name: str) -> object:
    if name in _FROM_API:
        import mfq.api

        value: object = getattr(mfq.api, name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FROM_API)
