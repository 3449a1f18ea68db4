"""``patterns``: exact counts, shares, first and last seen, services and examples on
hand-built messages; new/gone/grown/steady against a baseline; ids kept in the store;
the command's output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import mfq
from mfq.analysis.patterns import BASELINE_COLUMNS, COLUMNS, classify
from mfq.api import Selection, Store
from mfq.cli.main import cli
from mfq.query.templates import template_id


def _events() -> list[dict[str, object]]:
    """Day 1 (11-02): 4 timeouts, 2 disk-full, 2 logins. Day 2 (11-03): 2 timeouts,
    6 disk-full, 2 logins and 2 new "cache miss" lines; no message on the last event."""
    rows: list[dict[str, object]] = []

    def add(day: int, minute: int, message: str | None, service: str) -> None:
        row: dict[str, object] = {
            "id": f"e{len(rows)}",
            "type": "log",
            "timestamp": f"2026-11-0{day}T10:{minute:02d}:00Z",
            "service": service,
        }
        if message is not None:
            row["message"] = message
        rows.append(row)

    for minute, ms in enumerate((120, 340, 95, 1200)):
        add(2, minute, f"request to 10.0.0.{minute + 1} timed out after {ms} ms", "api")
    add(2, 10, "disk /var/data full", "db")
    add(2, 11, "disk /srv/x full", "db")
    add(2, 20, "user 5f0c6a1e-8a44-4d5e-9a4b-8f61b1f3d6a1 logged in", "auth")
    add(2, 21, "user 0a0c6a1e-8a44-4d5e-9a4b-8f61b1f3d6a2 logged in", "auth")
    add(3, 0, "request to 10.0.0.9 timed out after 50 ms", "api")
    add(3, 1, "request to 10.0.0.9 timed out after 70 ms", "web")
    for minute in range(6):
        add(3, 10 + minute, f"disk /mnt/v{minute} full", "db")
    add(3, 20, "user 1a0c6a1e-8a44-4d5e-9a4b-8f61b1f3d6a3 logged in", "auth")
    add(3, 21, "user 2a0c6a1e-8a44-4d5e-9a4b-8f61b1f3d6a4 logged in", "auth")
    add(3, 30, "cache miss for key 'k1'", "api")
    add(3, 31, "cache miss for key 'k2'", "api")
    add(3, 40, None, "api")
    return rows


@pytest.fixture
def log_store(store: Store, write_ndjson: Callable[..., Path]) -> Store:
    store.ingest([write_ndjson(_events())])
    return store


TIMEOUT = "request to <ip> timed out after <num> ms"
DISK = "disk <path> full"
LOGIN = "user <uuid> logged in"
CACHE = "cache miss for key <quoted>"


def test_exact_counts_shares_times_services_and_examples(log_store: Store) -> None:
    result = log_store.patterns()
    assert list(result.columns) == COLUMNS
    assert list(zip(result["template"], result["count"], strict=True)) == [
        (DISK, 8),
        (TIMEOUT, 6),
        (LOGIN, 4),
        (CACHE, 2),
    ]
    assert list(result["share"]) == pytest.approx([8 / 20, 6 / 20, 4 / 20, 2 / 20])
    timeout = result.set_index("template").loc[TIMEOUT]
    assert timeout["first_seen"] == pd.Timestamp("2026-11-02T10:00:00Z")
    assert timeout["last_seen"] == pd.Timestamp("2026-11-03T10:01:00Z")
    assert timeout["services"] == "api, web"
    assert timeout["example"] == "request to 10.0.0.1 timed out after 120 ms"
    assert timeout["id"] == template_id(TIMEOUT)


def test_where_and_time_range(log_store: Store) -> None:
    result = log_store.patterns(Selection(where="service = 'api'", since="2026-11-03"))
    assert list(zip(result["template"], result["count"], strict=True)) == [
        (CACHE, 2),
        (TIMEOUT, 1),
    ]


def test_baseline_marks_new_gone_grown_and_steady(log_store: Store) -> None:
    result = log_store.patterns(
        Selection(since="2026-11-03", until="2026-11-04"), baseline_since="2026-11-02"
    )
    assert list(result.columns) == COLUMNS + BASELINE_COLUMNS
    changes = {
        row["template"]: (row["count"], row["baseline_count"], row["change"])
        for row in result.to_dict("records")
    }
    assert changes == {
        DISK: (6, 2, "steady"),  # 6/12 against 2/8: not confident at 99% with so few
        TIMEOUT: (2, 4, "steady"),
        LOGIN: (2, 2, "steady"),
        CACHE: (2, 0, "new"),
    }
    gone = log_store.patterns(
        Selection(since="2026-11-03", where="service = 'auth' or service = 'db'"),
        baseline_since="2026-11-02",
    )
    assert "new" not in set(gone["change"])


def test_classification_rules() -> None:
    assert classify(5, 100, 0, 100) == "new"
    assert classify(0, 100, 5, 100) == "gone"
    assert classify(300, 1000, 100, 1000) == "grown"
    assert classify(100, 1000, 300, 1000) == "shrunk"
    assert classify(110, 1000, 100, 1000) == "steady"  # not confident
    assert classify(3, 10, 1, 10) == "steady"  # three times the share, but too few


def test_ids_are_kept_in_the_store_and_reused(log_store: Store) -> None:
    first = log_store.patterns()
    kept = log_store.catalog.templates("message")
    assert kept == {template_id(t): t for t in [DISK, TIMEOUT, LOGIN, CACHE]}
    assert set(kept) == set(first["id"])
    again = mfq.open_store(log_store.root).patterns()
    assert list(again["id"]) == list(first["id"])


def test_a_template_kept_in_the_store_keeps_its_id_when_its_text_widens(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson([_row(0, "retry 3 of job 17")])])
    [before] = store.patterns()["id"]
    assert before == template_id("retry <num> of job <num>")
    store.ingest([write_ndjson([_row(1, "retry 0x1f of job 17")])])
    result = store.patterns()
    assert list(result["id"]) == [before]
    assert list(result["template"]) == ["retry <*> of job <num>"]


def _row(i: int, message: str) -> dict[str, object]:
    return {
        "id": f"r{i}",
        "type": "log",
        "timestamp": f"2026-11-0{i + 1}T10:00:00Z",
        "message": message,
    }


def test_unknown_field_is_a_usage_error(log_store: Store) -> None:
    result = CliRunner().invoke(
        cli, ["patterns", "--store", str(log_store.root), "--field", "mesage"]
    )
    assert result.exit_code == 2
    assert "unknown field 'mesage'" in result.stderr
    assert "did you mean 'message'" in result.stderr


def test_the_command_as_json(log_store: Store) -> None:
    args = ["patterns", "--store", str(log_store.root), "--format", "json", "--limit", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["template"], r["count"], r["services"]) for r in rows] == [
        (DISK, 8, "db"),
        (TIMEOUT, 6, "api, web"),
    ]
    assert rows[0]["first_seen"] == "2026-11-02T10:10:00Z"


def test_the_command_as_a_table(log_store: Store) -> None:
    args = ["patterns", "--store", str(log_store.root), "--since", "2026-11-03"]
    args += ["--baseline-since", "2026-11-02"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["template", "count", "share", "change", "services", "id"]
    [cache] = [line for line in lines if "cache miss" in line]
    assert cache.split() == [*CACHE.split(), "2", "16.7%", "new", "api", template_id(CACHE)]
    [timeout] = [line for line in lines if "timed out" in line]
    assert timeout.split()[-2:] == ["services", template_id(TIMEOUT)]  # "2 services"


def test_baseline_until_needs_since(log_store: Store) -> None:
    result = CliRunner().invoke(
        cli, ["patterns", "--store", str(log_store.root), "--baseline-until", "2026-11-03"]
    )
    assert result.exit_code == 2
    assert result.stderr == "mfq: error: --baseline-until needs --baseline-since\n"
