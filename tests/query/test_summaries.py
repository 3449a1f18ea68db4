"""Counts answered from the file summaries recorded at ingest equal the counts of a scan
of the events, weighted or not, with filters, groups, having, limits and totals; and the
summaries are used only when they can answer."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mfq
from mfq.api import Selection, Store
from mfq.demo import DemoConfig, write_export
from mfq.query.build import build_spec
from mfq.query.engines.plan import AggregatePlan
from mfq.query.spec import QueryKind
from mfq.query.summaries import summary_rows

WHERE = [
    None,
    "status = 'error'",
    "environment = 'prod' and status != 'ok'",
    "not (severity in ('info', 'debug'))",
    "type startswith 'order' or service = 'search'",
]
GROUPS = [(), ("service",), ("environment", "status"), ("type",), ("version", "severity")]
AGGS = ["count", "count(status = 'error')", "ratio(severity = 'error')", "rate"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Store]:
    """The same events twice: with summaries, and with them removed (scanned)."""
    root: Path = tmp_path_factory.mktemp("summaries")
    export = root / "demo.ndjson"
    write_export(export, DemoConfig(events=8000, seed=11))
    summarised = mfq.open_store(root / "summarised")
    summarised.ingest([export])
    shutil.copytree(root / "summarised", root / "scanned")
    scanned = mfq.open_store(root / "scanned", create=True)  # its catalog opened writable
    scanned.catalog._db.execute("DELETE FROM file_summary")
    scanned.catalog._db.commit()
    return summarised, scanned


def _spec_options(seed: int) -> dict[str, Any]:
    pick = random.Random(seed)
    options = {
        "where": pick.choice(WHERE),
        "group_by": list(pick.choice(GROUPS)),
        "aggs": pick.sample(AGGS, pick.randint(1, 3)),
        "having": pick.choice([None, "count > 50"]),
        "limit": pick.choice([None, 3]),
        "totals": pick.choice([True, False]),
        "unweighted": pick.choice([True, False]),
        # whole files, or ranges cutting through a day's file at either end
        "since": pick.choice([None, "2026-11-01", "2026-11-18T12:00:00Z"]),
        "until": pick.choice([None, "2026-12-01", "2026-11-21T06:30:00Z"]),
    }
    if "rate" in options["aggs"]:  # a rate needs a bounded range
        options.update(since=options["since"] or "2026-11-01")
        options.update(until=options["until"] or "2026-12-01")
    return options


@pytest.mark.parametrize("seed", range(30))
def test_summaries_answer_exactly_what_the_events_answer(
    stores: tuple[Store, Store], seed: int
) -> None:
    summarised, scanned = stores
    options = _spec_options(seed)
    spec = build_spec(summarised, QueryKind.AGGREGATE, **options)
    assert summary_rows(summarised, spec, AggregatePlan(spec, [])) is not None
    assert summary_rows(scanned, spec, AggregatePlan(spec, [])) is None
    pd.testing.assert_frame_equal(summarised.run(spec), scanned.run(spec))
    pd.testing.assert_frame_equal(
        summarised.run_table(spec).to_pandas(), scanned.run_table(spec).to_pandas()
    )


@pytest.mark.parametrize(
    "options",
    [
        {"aggs": ["count_distinct(actor_profile_id)"]},  # not a sum of weights
        {"aggs": ["p95(duration_ms)"], "group_by": ["service"]},
        {"group_by": ["project_id"]},  # not a summarised field
        {"where": "duration_ms > 100"},
        # inside one day's file: no file lies wholly inside the range
        {"since": "2026-11-18T12:00:00Z", "until": "2026-11-18T13:00:00Z"},
    ],
)
def test_what_summaries_cannot_answer_is_scanned(
    stores: tuple[Store, Store], options: dict[str, Any]
) -> None:
    summarised, scanned = stores
    spec = build_spec(summarised, QueryKind.AGGREGATE, **options)
    assert summary_rows(summarised, spec, AggregatePlan(spec, [])) is None
    pd.testing.assert_frame_equal(summarised.run(spec), scanned.run(spec))


def test_sample_rate_weighs_summarised_counts(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    events = [
        {"id": "a", "type": "t", "timestamp": "2026-11-02T10:00:00Z", "status": "error"},
        {
            "id": "b",
            "type": "t",
            "timestamp": "2026-11-02T10:01:00Z",
            "status": "error",
            "sample_rate": 10,
        },
        {"id": "c", "type": "u", "timestamp": "2026-11-02T10:02:00Z", "status": "ok"},
    ]
    store.ingest([write_ndjson(events)])
    spec = build_spec(store, QueryKind.AGGREGATE, group_by=["status"])
    assert summary_rows(store, spec, AggregatePlan(spec, [])) is not None
    assert store.query(group_by=["status"]).to_dict("records") == [
        {"status": "error", "count": 11},
        {"status": "ok", "count": 1},
    ]
    assert store.query(Selection(unweighted=True), group_by=["status"])["count"].tolist() == [2, 1]
    assert store.query(as_arrow=True, aggs=["ratio(status = 'error')"]).to_pylist() == [
        {"ratio(status = 'error')": 11 / 12}
    ]


@pytest.mark.parametrize("seed", range(30, 40))
def test_files_without_a_summary_are_scanned_beside_the_summaries(
    stores: tuple[Store, Store], tmp_path: Path, seed: int
) -> None:
    summarised, scanned = stores
    shutil.copytree(summarised.root, tmp_path / "partly")
    partly = mfq.open_store(tmp_path / "partly", create=True)  # its catalog opened writable
    partly.catalog._db.execute("DELETE FROM file_summary WHERE path LIKE '%date=2026-11-19%'")
    partly.catalog._db.commit()
    options = _spec_options(seed)
    spec = build_spec(partly, QueryKind.AGGREGATE, **options)
    pd.testing.assert_frame_equal(partly.run(spec), scanned.run(spec))
    pd.testing.assert_frame_equal(
        partly.run_table(spec).to_pandas(), scanned.run_table(spec).to_pandas()
    )
