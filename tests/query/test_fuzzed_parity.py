"""Differences between a question on a file and the same question on its store, found by
a differential fuzz of random questions over the real folders (``/work/shared/real``),
each pinned by a small export here."""

from __future__ import annotations

from pathlib import Path

import pytest

import mfq
from mfq.api import Selection, Store
from mfq.query.direct.reader import read_files
from mfq.query.direct.store import HeldStorage

LINES = [
    '{"type": "a", "timestamp": "2026-11-03T10:00:00Z", "alpha": "x"}',
    '{"type": "b", "timestamp": "2026-11-03T10:01:00Z", "alpha": "y", "beta": 2}',
    '{"type": "b", "timestamp": "2026-11-03T10:02:00Z", "sample_rate": 4}',
]


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Store, Store]:
    export = tmp_path / "e.ndjson"
    export.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    store = mfq.open_store(tmp_path / "store", create=True)
    store.ingest([export])
    held = read_files([str(export)], None)
    return store, Store(HeldStorage(held.table, held.classes))


@pytest.mark.parametrize(
    "question",
    [
        {"aggs": ["ratio(sample_rate is null)", "count(sample_rate is null)", "count"]},
        {"aggs": ["count(exists(sample_rate))"], "group_by": ["type"]},
        {"aggs": ["count"], "group_by": ["sample_rate"]},
    ],
)
def test_a_question_naming_sample_rate_is_not_answered_by_the_file_summaries(
    sources: tuple[Store, Store], question: dict[str, object]
) -> None:
    """A summary's ``sample_rate`` is its rows' weight, never null: the store answered
    ``ratio(sample_rate is null)`` 0.0 where every event but one has none (suricata)."""
    store, held = sources
    answers = [
        sorted(map(str, source.query(as_arrow=True, **question).to_pylist()))  # type: ignore[arg-type]
        for source in (store, held)
    ]
    assert answers[0] == answers[1]
    if question["aggs"] == ["ratio(sample_rate is null)", "count(sample_rate is null)", "count"]:
        (row,) = store.query(as_arrow=True, **question).to_pylist()  # type: ignore[arg-type]
        assert row == {
            "ratio(sample_rate is null)": 2 / 6,
            "count(sample_rate is null)": 2,
            "count": 6,
        }


@pytest.mark.parametrize(
    "agg", ["count_distinct(alpha)", "count_distinct(beta)", "sum(beta)", "p50(beta)", "max(beta)"]
)
def test_aggregates_over_a_time_range_holding_no_file(
    sources: tuple[Store, Store], agg: str
) -> None:
    """A store's scan of no file types every attribute null: ``count_distinct`` over it
    was an internal error (no kernel takes nulls) where the file answered 0."""
    store, held = sources
    empty = Selection(last="1h", now="2026-12-01T00:00:00Z")
    answers = [
        source.query(empty, as_arrow=True, aggs=[agg]).to_pylist() for source in (store, held)
    ]
    assert answers[0] == answers[1]
    assert answers[0] == [{agg: 0 if agg.startswith("count") else None}]
