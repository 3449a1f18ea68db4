"""Stores built from the real third-party logs in ``../shared/real/``.

Each folder is ingested as it is, with no options: format profiles detect every source
(CloudTrail, ECS, GitHub events, Kubernetes audit, Suricata, Windows, Zeek, OTLP…) and
say which keys hold the event's type and time. Nothing here rewrites a record, so these
stores are exactly what a user's first ``mfq ingest FOLDER`` gives.
"""

from __future__ import annotations

from pathlib import Path

import mfq
from mfq.api import Store
from tests.conftest import SHARED_REAL

#: What a folder holds beside its logs: its notes, and CSV (bgl is CSV only).
NOT_LOGS = {".md", ".csv"}


def real_export(folder: str) -> list[Path]:
    """The files of one folder of real logs, as published (its notes and CSV left out)."""
    return sorted(p for p in (SHARED_REAL / folder).iterdir() if p.suffix not in NOT_LOGS)


#: Every folder of ``../shared/real/`` holding JSON logs (a new one is tested once added).
FOLDERS = tuple(sorted(p.name for p in SHARED_REAL.iterdir() if p.is_dir() and real_export(p.name)))


def real_store(folder: str, tmp_path: Path) -> Store:
    """A new store holding one folder of real logs, ingested with no options."""
    store = mfq.open_store(tmp_path / f"store-{folder}", create=True)
    summary = store.ingest(real_export(folder))
    assert summary.ingested > 0, f"{folder}: nothing ingested ({summary})"
    assert summary.rejected == 0, f"{folder}: records rejected ({summary})"
    return store
