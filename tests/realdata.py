"""Stores built from the real third-party logs in ``../shared/real/``.

Until format profiles detect these sources at ingest, each folder's records are rewritten
here (the keys that name the event and its time copied to ``type`` and ``timestamp``) and
written as NDJSON; every other key is kept as it was. When ingest reads these folders
without options, ``real_export`` becomes the folder itself and the rewriting goes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import mfq
from mfq.api import Store
from tests.conftest import SHARED_REAL

Record = dict[str, object]


def _zeek_type(stream_key: str) -> Callable[[Record], Record]:
    def rewrite(record: Record) -> Record:
        return {"type": record[stream_key], "timestamp": record["ts"], **record}

    return rewrite


def _cloudtrail(record: Record) -> Record:
    time = record.get("eventTime") or record["@timestamp"]
    name = record.get("eventName") or record["eventType"]
    return {"type": name, "timestamp": time, **record}


def _ecs(record: Record) -> Record:
    return {"type": f"log.{record['log.level']}", "timestamp": record["@timestamp"], **record}


def _k8s_audit(record: Record) -> Record:
    return {"type": record["verb"], **record}


def _windows(record: Record) -> Record:
    name = f"{record['SourceName']}/{record['EventID']}"
    return {"type": name, "timestamp": record["@timestamp"], **record}


def _as_is(record: Record) -> Record:
    return record


#: folder → how one raw record becomes an event mfq ingests today.
REWRITES: dict[str, Callable[[Record], Record]] = {
    "cloudtrail": _cloudtrail,
    "cloudtrail-logstash": _cloudtrail,
    "ecs": _ecs,
    "gharchive": _as_is,
    "k8s-audit": _k8s_audit,
    "openstack": _as_is,
    "otlp": _as_is,
    "suricata": _as_is,
    "windows": _windows,
    "zeek-rocknsm": _zeek_type("@stream"),
    "zeek-streaming": _zeek_type("_path"),
}

#: the JSON folders of ``../shared/real/`` (bgl is CSV only).
FOLDERS = tuple(sorted(REWRITES))


def _files(folder: str) -> list[Path]:
    skip = {".md", ".csv"}
    return sorted(p for p in (SHARED_REAL / folder).iterdir() if p.suffix not in skip)


def _records(path: Path) -> Iterator[Record]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = raw.decode("utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        yield from (json.loads(line) for line in text.splitlines() if line.strip())
        return
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        yield from document["Records"]
    elif isinstance(document, list):
        yield from document
    else:
        yield document


def real_export(folder: str, out: Path) -> list[Path]:
    """The files to ingest for one folder of real logs (rewritten copies under ``out``)."""
    if folder == "otlp":  # ingest reads OTLP/JSON as it is
        return _files(folder)
    rewrite = REWRITES[folder]
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{folder}.ndjson"
    with target.open("w", encoding="utf-8") as handle:
        for path in _files(folder):
            for record in _records(path):
                handle.write(json.dumps(rewrite(record)) + "\n")
    return [target]


def real_store(folder: str, tmp_path: Path) -> Store:
    """A new store holding one folder of real logs."""
    store = mfq.open_store(tmp_path / f"store-{folder}", create=True)
    summary = store.ingest(real_export(folder, tmp_path / f"export-{folder}"))
    assert summary.ingested > 0, f"{folder}: nothing ingested ({summary})"
    return store
