"""The public Python API: ``open_store(...)`` and the ``Store`` users hold.

The top of the library: it sits above analysis and report and imports them at module
level; the command line is its only caller inside mfq. ``import mfq`` loads this package
only when one of its names is first used (see ``mfq/__init__.py``).
"""

from mfq.api.store import Store, open_store
from mfq.store.store import IngestProgress, IngestSummary

__all__ = ["IngestProgress", "IngestSummary", "Store", "open_store"]
