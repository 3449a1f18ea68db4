"""Filters on text fields, decided once per distinct value when the field is read as a
dictionary (a count) and row by row when it is not (events): the same rows either way,
with SQL's treatment of missing values, also in a file that lacks the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mfq.api import Selection, Store

FIRST = [
    {"id": "a", "type": "t", "timestamp": "2026-11-02T10:00:00Z", "status": "ok", "region": "eu"},
    {
        "id": "b",
        "type": "t",
        "timestamp": "2026-11-02T10:01:00Z",
        "status": "error",
        "region": "us",
    },
    {"id": "c", "type": "t", "timestamp": "2026-11-02T10:02:00Z", "region": "eu"},
    {"id": "d", "type": "t", "timestamp": "2026-11-02T10:03:00Z", "status": "ok"},
]
SECOND = [  # another day, another file, no region at all
    {"id": "e", "type": "t", "timestamp": "2026-11-03T10:00:00Z", "status": "error"},
    {"id": "f", "type": "t", "timestamp": "2026-11-03T10:01:00Z", "status": "warn"},
]

CASES = [
    ("status = 'ok'", 2),
    ("status != 'ok'", 3),  # the missing status is neither
    ("not (status = 'ok')", 3),
    ("status in ('ok', 'warn')", 3),
    ("not (status in ('ok', 'warn'))", 2),
    ("status not in ('ok', 'warn')", 2),
    ("status is null", 1),
    ("region is null", 3),
    ("exists(region)", 3),
    ("region != 'eu'", 1),
    ("not (region = 'eu')", 1),
    ("region = 'eu' and status = 'ok'", 1),
    ("region = 'eu' and not (status = 'ok')", 0),
    ("status = 'nothing'", 0),
]


@pytest.fixture
def two_files(store: Store, write_ndjson: Callable[..., Path]) -> Store:
    store.ingest([write_ndjson(FIRST)])
    store.ingest([write_ndjson(SECOND)])
    return store


@pytest.mark.parametrize(("where", "expected"), CASES)
def test_count_and_events_select_the_same_rows(two_files: Store, where: str, expected: int) -> None:
    counted = two_files.query(Selection(where=where))["count"].tolist()
    assert counted == [expected]
    assert len(two_files.events(Selection(where=where))) == expected
    assert two_files.query(Selection(where=where), as_arrow=True).column("count").to_pylist() == [
        expected
    ]


#: Ten text fields: repeated values (stored with a dictionary) and unique ones (plain).
WIDE = [
    {
        "id": f"w{i:02d}",
        "type": ("order.created", "order.paid")[i % 2],
        "timestamp": f"2026-11-02T10:{i:02d}:00Z",
        "service": ("api", "web")[i % 2],
        "status": ("ok", "error")[i % 3 == 0],
        "region": ("eu", "us", "ap")[i % 3],
        "device": "ios",
        "trace_id": f"trace-{i % 4}",
        "user_id": f"user-{i}",
        "message": f"step {i % 2} done",
    }
    for i in range(40)
]
WIDE_CASES = [
    ("trace_id = 'trace-1'", lambda r: r["trace_id"] == "trace-1"),
    ("status != 'ok' and region = 'eu'", lambda r: r["status"] != "ok" and r["region"] == "eu"),
    ("message contains '1'", lambda r: "1" in r["message"]),
    ("user_id in ('user-3', 'user-7')", lambda r: r["user_id"] in ("user-3", "user-7")),
]


@pytest.mark.parametrize(("where", "holds"), WIDE_CASES)
def test_a_wide_read_answers_plain_text_for_the_rows_that_match(
    store: Store,
    write_ndjson: Callable[..., Path],
    where: str,
    holds: Callable[[dict[str, str]], bool],
) -> None:
    # Every field, filtered: the text stored with a dictionary is read as one and made
    # plain for the rows kept; the answer is the same plain text as the export's.
    import pyarrow as pa

    store.ingest([write_ndjson(WIDE)])
    table = store.events(Selection(where=where), as_arrow=True)
    texts = [name for name in WIDE[0] if name != "timestamp"]
    assert {name: table.schema.field(name).type for name in texts} == dict.fromkeys(
        texts, pa.string()
    )
    expected = sorted((r for r in WIDE if holds(r)), key=lambda r: r["id"])
    rows = sorted(table.select(texts).to_pylist(), key=lambda r: r["id"])
    assert rows == [{name: r[name] for name in texts} for r in expected]
    assert rows  # every case matches some rows
