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

#: the JSON folders of ``../shared/real/`` (bgl is CSV only).
FOLDERS = (
    "cloudtrail",
    "cloudtrail-logstash",
    "ecs",
    "gharchive",
    "k8s-audit",
    "openstack",
    "otlp",
    "suricata",
    "windows",
    "zeek-rocknsm",
    "zeek-streaming",
)


def real_export(folder: str) -> list[Path]:
    """The files of one folder of real logs, as published (its notes and CSV left out)."""
    skip = {".md", ".csv"}
    return sorted(p for p in (SHARED_REAL / folder).iterdir() if p.suffix not in skip)


def real_store(folder: str, tmp_path: Path) -> Store:
    """A new store holding one folder of real logs, ingested with no options."""
    store = mfq.open_store(tmp_path / f"store-{folder}", create=True)
    summary = store.ingest(real_export(folder))
    assert summary.ingested > 0, f"{folder}: nothing ingested ({summary})"
    assert summary.rejected == 0, f"{folder}: records rejected ({summary})"
    return store
