"""Compaction changes no answer: every query of the DuckDB differential suite, and its time
series, on a store of many small batches and on a compacted copy of it (each engine)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mfq
from mfq.api import Store
from mfq.demo import DemoConfig, write_export
from tests.query.test_engine_duckdb import (
    AGGREGATES,
    FILTERS,
    GROUPS,
    SERIES,
    TIMES,
    _key,
    _missing,
    _queries,
    _same,
)
from tests.selection import selected


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo export ingested as six interleaved batches (six small files a day), and a
    compacted copy of that store."""
    root = tmp_path_factory.mktemp("compaction")
    export = root / "demo.ndjson"
    write_export(export, DemoConfig(events=4000, seed=11))
    lines = export.read_text().splitlines()
    parts = []
    for number in range(6):
        part = root / f"part-{number}.ndjson"
        part.write_text("\n".join(lines[number::6]) + "\n")
        parts.append(part)
    sampled = root / "sampled.ndjson"
    sampled.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"s-{i}",
                    "type": "order.created",
                    "timestamp": f"2026-11-18T10:{i:02d}:00Z",
                    "service": "checkout",
                    "sample_rate": 1 + i % 4,
                    "duration_ms": 10.0 * i,
                }
            )
            + "\n"
            for i in range(40)
        )
    )
    small = root / "small"
    with mfq.open_store(small) as store:
        for part in [*parts, sampled]:
            store.ingest([part])
    compacted = root / "compacted"
    shutil.copytree(small, compacted)
    with mfq.open_store(compacted) as store:
        result = store.compact()
    assert (result.files_before, result.files_after) == (43, 7)
    return small, compacted


@pytest.fixture(scope="module")
def pair(
    stores: tuple[Path, Path], engine_options: dict[str, Any]
) -> Iterator[tuple[Store, Store]]:
    with (
        mfq.open_store(stores[0], **engine_options) as small,
        mfq.open_store(stores[1], **engine_options) as compacted,
    ):
        yield small, compacted


def _rows(frame: pd.DataFrame, width: int) -> list[tuple[object, ...]]:
    rows = [tuple(None if _missing(v) else v for v in row) for row in frame.itertuples(index=False)]
    return sorted(rows, key=lambda r: _key(r, width))


def _assert_same(before: pd.DataFrame, after: pd.DataFrame, width: int) -> None:
    assert list(before.columns) == list(after.columns)
    mine, theirs = _rows(before, width), _rows(after, width)
    assert len(mine) == len(theirs)
    for left, right in zip(mine, theirs, strict=True):
        assert all(_same(a, b) for a, b in zip(left, right, strict=True)), (left, right)


@pytest.mark.parametrize(("filters", "keys", "aggs", "time"), _queries(48))
def test_every_differential_query_answers_the_same_after_compaction(
    pair: tuple[Store, Store], filters: list[int], keys: list[int], aggs: list[int], time: int
) -> None:
    since, until = TIMES[time]
    options = {
        "where": [FILTERS[i][0] for i in filters],
        "group_by": [GROUPS[i] for i in keys],
        "aggs": [AGGREGATES[i][0] for i in aggs],
        "since": since,
        "until": until,
    }
    small, compacted = pair
    _assert_same(small.query(**selected(options)), compacted.query(**selected(options)), len(keys))


@pytest.mark.parametrize(("every", "_interval", "tz"), SERIES)
@pytest.mark.parametrize("by", [None, "service"])
def test_time_series_answer_the_same_after_compaction(
    pair: tuple[Store, Store], every: str, _interval: str, tz: str | None, by: str | None
) -> None:
    options = {
        "every": every,
        "by": by,
        "tz": tz,
        "since": "2026-11-17T00:00:00Z",
        "until": "2026-11-20T00:00:00Z",
        "aggs": ["count", "p95(duration_ms)", "count_distinct(actor_profile_id)"],
    }
    small, compacted = pair
    width = 2 if by else 1
    _assert_same(
        small.timeseries(**selected(options)), compacted.timeseries(**selected(options)), width
    )


def test_events_and_traces_are_the_same_after_compaction(pair: tuple[Store, Store]) -> None:
    small, compacted = pair
    fields = ["id", "timestamp", "type", "service", "duration_ms", "trace_id"]
    before = small.events(fields=fields, sort="timestamp,id", limit=10_000)
    after = compacted.events(fields=fields, sort="timestamp,id", limit=10_000)
    assert len(before) == small.info()["events"] and before.equals(after)
    trace = before["trace_id"].dropna().iloc[0]
    assert small.trace(trace).equals(compacted.trace(trace))
