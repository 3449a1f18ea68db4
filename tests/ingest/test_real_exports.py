"""Every JSON export under ../shared/real ingests with no options, with no rejects.

For each folder the expected numbers (records, distinct records, types, first and last
times) are computed here from the raw files with plain ``json``, never from mfq; mfq must
find the same with the profile it detects. (The loghub CSVs, ``bgl/`` and openstack's
``.csv``, are ground truth, not exports: the folder ingest skips them as not JSON.)
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import mfq
from mfq.api import Selection
from tests.conftest import SHARED_REAL

Record = dict[str, object]


def _lines(path: Path) -> Iterator[Record]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line, parse_float=Decimal)


def _ndjson(folder: str, pattern: str) -> list[Record]:
    return [r for path in sorted((SHARED_REAL / folder).glob(pattern)) for r in _lines(path)]


def _iso(text: object) -> datetime:
    return datetime.fromisoformat(str(text)).astimezone(UTC)


def _epoch(value: object) -> datetime:
    seconds = Decimal(str(value))
    whole = int(seconds)
    micros = int((seconds - whole) * 1_000_000)
    return datetime.fromtimestamp(whole, UTC).replace(microsecond=micros)


def _get(record: Record, *path: str) -> object:
    node: object = record
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


@dataclass(frozen=True)
class Expected:
    """What the raw files say, and how to read a record's type and time from them."""

    folder: str
    profiles: dict[str, int]
    records: Callable[[], list[Record]]
    type_of: Callable[[Record], str]
    time_of: Callable[[Record], datetime]


def _k8s_type(r: Record) -> str:
    resource = _get(r, "objectRef", "resource")
    sub = _get(r, "objectRef", "subresource")
    text = f"{r['verb']} {resource}" if resource else str(r["verb"])
    return f"{text}/{sub}" if resource and sub else text


def _cloudtrail(r: Record) -> str:
    return str(r.get("eventName") or r["eventType"])


CASES = [
    Expected(
        "cloudtrail",
        {"cloudtrail": 1},
        lambda: json.loads((SHARED_REAL / "cloudtrail/aws_cloudtrail.json").read_text())["Records"],
        _cloudtrail,
        lambda r: _iso(r["eventTime"]),
    ),
    Expected(
        "cloudtrail-logstash",
        {"cloudtrail": 1},
        lambda: _ndjson("cloudtrail-logstash", "*.json"),
        _cloudtrail,
        lambda r: _iso(r["@timestamp"]),
    ),
    Expected(
        "k8s-audit",
        {"k8s-audit": 1},
        lambda: _ndjson("k8s-audit", "*.log"),
        _k8s_type,
        lambda r: _iso(r["timestamp"]),
    ),
    Expected(
        "zeek-streaming",
        {"zeek": 6},
        lambda: _ndjson("zeek-streaming", "*.json.gz"),
        lambda r: str(r["_path"]),
        lambda r: _iso(r["ts"]),
    ),
    Expected(
        "zeek-rocknsm",
        {"zeek": 7},
        lambda: _ndjson("zeek-rocknsm", "*.log"),
        lambda r: str(r["@stream"]),
        lambda r: _epoch(r["ts"]),
    ),
    Expected(
        "windows",
        {"windows": 1},
        lambda: _ndjson("windows", "*.json"),
        lambda r: str(r["EventID"]),
        lambda r: _iso(r["TimeCreated"]),
    ),
    Expected(
        "ecs",
        {"ecs": 1},
        lambda: _ndjson("ecs", "*.json"),
        lambda r: str(_get(r, "event", "action") or _get(r, "log", "logger")),
        lambda r: _iso(r["@timestamp"]),
    ),
    Expected(
        "suricata",
        {"suricata": 1},
        lambda: _ndjson("suricata", "*.json"),
        lambda r: str(r["event_type"]),
        lambda r: _iso(r["timestamp"]),
    ),
    Expected(
        "gharchive",
        {"github": 1},
        lambda: _ndjson("gharchive", "*.jsonl"),
        lambda r: str(r["type"]),
        lambda r: _iso(r["created_at"]),
    ),
    Expected(
        "openstack",
        {"manufactory": 1},
        lambda: _ndjson("openstack", "*.ndjson"),
        lambda r: str(r["type"]),
        lambda r: _iso(r["timestamp"]),
    ),
]


def _distinct(records: list[Record]) -> int:
    return len({json.dumps(r, sort_keys=True, default=str) for r in records})


@pytest.mark.parametrize("case", CASES, ids=[c.folder for c in CASES])
def test_real_folder_ingests_with_no_options(case: Expected, tmp_path: Path) -> None:
    records = case.records()
    store = mfq.open_store(tmp_path / "s", create=True)
    summary = store.ingest(SHARED_REAL / case.folder)
    assert summary.profiles == case.profiles
    assert summary.rejected == 0, store.rejects()["reason"].tolist()[:3]
    assert summary.read == len(records)
    # Exact duplicate lines (the Windows export has 29) are one event.
    assert (summary.ingested, summary.duplicates) == (
        _distinct(records),
        len(records) - _distinct(records),
    )
    assert summary.skipped_files >= 1  # SOURCE.md (and loghub's CSV) are not exports

    types = Counter(case.type_of(r) for r in records)
    answer = store.query(group_by=["type"])
    got = dict(zip(answer["type"], answer["count"], strict=True))
    if case.folder == "windows":  # counted once each: the duplicates are not stored
        unique = {json.dumps(r, sort_keys=True, default=str): r for r in records}
        types = Counter(case.type_of(r) for r in unique.values())
    assert got == dict(types)

    info = store.info()
    times = [case.time_of(r) for r in records]
    assert (info["first"], info["last"]) == (min(times), max(times))
    assert info["profiles"] == case.profiles


def test_otlp_folder_ingests_with_its_profile(tmp_path: Path) -> None:
    logs = json.loads((SHARED_REAL / "otlp/logs.json").read_text())
    spans = json.loads((SHARED_REAL / "otlp/trace.json").read_text())
    expected = sum(len(s["logRecords"]) for r in logs["resourceLogs"] for s in r["scopeLogs"])
    expected += sum(len(s["spans"]) for r in spans["resourceSpans"] for s in r["scopeSpans"])
    store = mfq.open_store(tmp_path / "s", create=True)
    summary = store.ingest(SHARED_REAL / "otlp")
    assert summary.profiles == {"otlp": 2}
    assert (summary.read, summary.ingested, summary.rejected) == (expected, expected, 0)


def test_zeek_epoch_seconds_keep_their_decimal_digits(tmp_path: Path) -> None:
    store = mfq.open_store(tmp_path / "s", create=True)
    store.ingest(SHARED_REAL / "zeek-rocknsm" / "conn.log")
    first = store.events(
        Selection(where=["correlation_id == 'Cw1Hz43UWS4qXFei8f'"]),
        as_arrow=True,
        fields="timestamp",
    )
    # The raw text is 1588205198.89971: .899710, where a double gives .899709.
    assert first.column("timestamp").cast("int64").to_pylist() == [1588205198899710000]


def _store_of(tmp_path: Path, folder: str) -> mfq.Store:
    store = mfq.open_store(tmp_path / folder, create=True)
    store.ingest(SHARED_REAL / folder)
    return store


def test_profiles_give_status_severity_and_actor(tmp_path: Path) -> None:
    k8s_records = _ndjson("k8s-audit", "*.log")
    codes = Counter(_get(r, "responseStatus", "code") for r in k8s_records)
    users = Counter(_get(r, "user", "username") for r in k8s_records)
    k8s = _store_of(tmp_path, "k8s-audit")
    answer = k8s.query(Selection(where=["http_status is not null"]), group_by=["http_status"])
    got = {int(code): n for code, n in zip(answer["http_status"], answer["count"], strict=True)}
    assert got == {code: n for code, n in codes.items() if code is not None}
    answer = k8s.query(group_by=["actor_profile_id"])
    assert dict(zip(answer["actor_profile_id"], answer["count"], strict=True)) == dict(users)

    windows = _store_of(tmp_path, "windows").query(group_by=["service", "severity"])
    # Security's audit events are Level 0 (LogAlways), the others Level 4 (Information).
    assert set(windows["severity"]) == {"info"}

    alerts = _store_of(tmp_path, "suricata").query(
        Selection(where=["type == 'alert'"]), group_by=["severity", "status"]
    )
    assert alerts.to_dict("records") == [{"severity": "error", "status": "allowed", "count": 1}]
