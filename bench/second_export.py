"""The question benchmark's export (``bench/direct.py``), the shape issue 17 measured.

Every standard field nested in ``attributes`` under its own name, numeric ids, epoch
seconds for the time, 36 attribute keys per event (six named, thirty ``kNN`` of text and
integers), written compactly; 1M events are about 520 MB::

    {"id":1,"source":"bench","attributes":{"type":"op.list","timestamp":1793700000,...}}

The file is written once with the standard library's ``random`` (one seed, the same file
every time) and reused while it exists: ``bench/ingest.py --shape second`` ingests the same
file as ``bench/direct.py`` questions.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TYPES = [f"op.{name}" for name in ("read", "write", "list", "delete", "login", "export", "sync")]


def second_export_path(out: Path, events: int, seed: int) -> Path:
    """Where the export of ``events`` events and ``seed`` lives under ``out``."""
    return out / f"second-shape-{events}-{seed}.ndjson"


def ensure_second_export(path: Path, events: int, seed: int) -> bool:
    """Write the export unless the file exists; True when it was written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    export_second_shape(path, events, seed)
    return True


def export_second_shape(path: Path, events: int, seed: int) -> None:
    """NDJSON events: standard fields nested in ``attributes``, numeric ids, 36 keys."""
    rng = random.Random(seed)
    start = 1_793_700_000
    with path.open("w", encoding="utf-8") as out:
        for i in range(events):
            attributes: dict[str, object] = {
                "type": rng.choice(TYPES),
                "timestamp": start + i // 10,
                "service": f"svc-{rng.randrange(12)}",
                "status": "error" if rng.random() < 0.05 else "ok",
                "duration_ms": round(rng.expovariate(1 / 80), 3),
                "region": rng.choice(("eu-west-1", "us-east-1", "ap-south-1")),
            }
            for k in range(30):
                attributes[f"k{k:02d}"] = rng.randrange(1000) if k % 3 else f"v{rng.randrange(50)}"
            record = {"id": i + 1, "source": "bench", "attributes": attributes}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
