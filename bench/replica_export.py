"""Export shapes for the ingest benchmark made of real records: Kubernetes audit events
(the third shape), Zeek connection records (the fourth), replicated.

The records of ``../shared/real/k8s-audit/`` (a profile with a template, nested keys,
lists of text, no event ids) are repeated to the size asked for, each copy with its own
``auditID`` and its times moved on by a millisecond per record, so no two are alike::

    {"kind":"Event","apiVersion":"audit.k8s.io/v1beta1",...,"auditID":"...-000000000042",
     "verb":"list","user":{"username":"system:admin","groups":[...]},"sourceIPs":["::1"],...}

Each real record is written once as a template (``json``), then filled per copy. The Zeek
shape (``write_zeek_export``) gives each copy its own fractional epoch time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ensure_generated, name_suffix

#: Changed whenever the shape changes, so a stale export is generated again.
SHAPE_VERSION = 1
REAL_K8S = Path(__file__).resolve().parents[1].parent / "shared" / "real" / "k8s-audit"
_TIME_KEYS = ("timestamp", "requestReceivedTimestamp", "stageTimestamp")
_START = datetime(2026, 11, 16, tzinfo=UTC)
_BLOCK = 50_000


def replica_export_path(out: Path, events: int, seed: int) -> Path:
    """``OUT/k8s-N[-sSEED].ndjson`` (beside the other shapes' exports)."""
    return out / f"k8s-{name_suffix(events, seed)}.ndjson"


def ensure_replica_export(path: Path, events: int, seed: int) -> bool:
    """Generate the export unless its sidecar records the same shape and size; True when
    it was generated."""
    config = {"shape": "k8s", "version": SHAPE_VERSION, "events": events, "seed": seed}
    return ensure_generated(path, config, lambda target: write_replica_export(target, events, seed))


def _templates() -> list[str]:
    """Each real record as JSON text with ``@ID@`` and ``@TIME@`` to fill."""
    templates = []
    for path in sorted(REAL_K8S.glob("*.log")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            record["auditID"] = "@ID@"
            for key in _TIME_KEYS:
                if key in record:
                    record[key] = "@TIME@"
            templates.append(json.dumps(record, separators=(",", ":")))
    return templates


def write_replica_export(path: Path, events: int, seed: int) -> None:
    """Write ``events`` replicated records to ``path`` as NDJSON (``seed`` names the run
    of ids, so two seeds give two disjoint exports)."""
    templates = _templates()
    with path.open("w", encoding="utf-8") as out:
        for first in range(0, events, _BLOCK):
            lines = []
            for i in range(first, min(first + _BLOCK, events)):
                stamp = (_START + timedelta(milliseconds=i)).isoformat(timespec="milliseconds")
                text = templates[i % len(templates)].replace("@ID@", f"{seed:08x}-{i:012d}")
                lines.append(text.replace("@TIME@", stamp.replace("+00:00", "Z")) + "\n")
            out.writelines(lines)


# -- a fourth shape: Zeek's connection records, fractional epoch times, no event ids ------

REAL_ZEEK_CONN = REAL_K8S.parent / "zeek-rocknsm" / "conn.log"
ZEEK_SHAPE_VERSION = 1
#: The first copy's time, in microseconds (Zeek writes epoch seconds with 6 decimals).
_ZEEK_START_US = 1_591_367_999_305_988


def zeek_export_path(out: Path, events: int, seed: int) -> Path:
    """``OUT/zeek-N[-sSEED].ndjson``."""
    return out / f"zeek-{name_suffix(events, seed)}.ndjson"


def ensure_zeek_export(path: Path, events: int, seed: int) -> bool:
    """Generate the Zeek export unless its sidecar records the same shape and size."""
    config = {"shape": "zeek", "version": ZEEK_SHAPE_VERSION, "events": events, "seed": seed}
    return ensure_generated(path, config, lambda target: write_zeek_export(target, events, seed))


def write_zeek_export(path: Path, events: int, seed: int) -> None:
    """The real connection records of ``../shared/real/zeek-rocknsm/conn.log`` repeated,
    each copy's ``ts`` a microsecond after the last (``1591367999.305988`` ...), written
    as Zeek writes it: a number with a fraction. ``seed`` moves the start by whole days."""
    templates = []
    for line in REAL_ZEEK_CONN.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            record["ts"] = "@TS@"
            templates.append(json.dumps(record, separators=(",", ":")))
    start = _ZEEK_START_US + (seed - 7) * 86_400 * 10**6
    with path.open("w", encoding="utf-8") as out:
        for first in range(0, events, _BLOCK):
            lines = []
            for i in range(first, min(first + _BLOCK, events)):
                seconds, micros = divmod(start + i, 10**6)
                number = f"{seconds}.{micros:06d}"
                lines.append(templates[i % len(templates)].replace('"@TS@"', number) + "\n")
            out.writelines(lines)
