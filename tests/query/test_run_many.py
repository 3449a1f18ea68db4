"""``Store.run_many``: several aggregates over the same events share one scan (and their
filter masks) and answer exactly what each query run alone answers."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

import mfq
from mfq.api import Store
from mfq.demo import DemoConfig, write_export
from mfq.query.build import build_spec
from mfq.query.spec import QueryKind, QuerySpec

WHERE = [None, "service = 'checkout'", "duration_ms > 50 or status = 'error'"]
GROUPS = [(), ("region",), ("service", "status"), ("http_status",), ("error_code",)]
AGGS = [
    "count",
    "count(status = 'error')",
    "count(status = 'error' and region = 'eu-west-1')",
    "count(region startswith 'eu' or duration_ms > 100)",
    "ratio(http_status >= 500)",
    "p95(duration_ms)",
    "avg(duration_ms)",
    "count_distinct(actor_profile_id)",
    "max(http_status)",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root: Path = tmp_path_factory.mktemp("many")
    export = root / "demo.ndjson"
    write_export(export, DemoConfig(events=6000, seed=3))
    opened = mfq.open_store(root / "store")
    opened.ingest([export])
    return opened


def _specs(store: Store, seed: int) -> list[QuerySpec]:
    generator = random.Random(seed)
    where = generator.choice(WHERE)
    specs = []
    for _ in range(generator.randint(2, 6)):
        specs.append(
            build_spec(
                store,
                QueryKind.AGGREGATE,
                where=where,
                group_by=list(generator.choice(GROUPS)),
                aggs=generator.sample(AGGS, generator.randint(1, 3)),
                since="2026-11-17",
                limit=generator.choice([None, 3]),
                order_by=None,
            )
        )
    return specs


@pytest.mark.parametrize("seed", range(12))
def test_run_many_equals_running_each(store: Store, seed: int) -> None:
    specs = _specs(store, seed)
    together = store.run_many(specs)
    assert len(together) == len(specs)
    for spec, shared in zip(specs, together, strict=True):
        alone = store.run(spec)
        pd.testing.assert_frame_equal(
            shared.reset_index(drop=True), alone.reset_index(drop=True), check_dtype=False
        )


def test_mixed_kinds_and_ranges_keep_their_order(store: Store) -> None:
    specs = [
        build_spec(store, QueryKind.AGGREGATE, group_by=["service"]),
        build_spec(store, QueryKind.TIMESERIES, every="1d"),
        build_spec(store, QueryKind.AGGREGATE, group_by=["service"], since="2026-11-20"),
        build_spec(store, QueryKind.AGGREGATE, aggs=["count(status = 'error')"]),
    ]
    results = store.run_many(specs)
    for spec, result in zip(specs, results, strict=True):
        pd.testing.assert_frame_equal(result, store.run(spec), check_dtype=False)
