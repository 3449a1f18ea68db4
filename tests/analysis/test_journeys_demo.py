"""The demo's planted journeys found by the commands, with the generator's numbers."""

from __future__ import annotations

from datetime import timedelta

import pytest

import mfq
from mfq.api import FunnelRequest, Selection
from mfq.demo import DemoConfig
from tests.analysis.conftest import DemoStore, _build

STEPS = ["order.placed", "order.paid", "order.packed", "order.dispatched"]


def test_the_funnel_counts_what_the_generator_planted(incident_store: DemoStore) -> None:
    truth = incident_store.truth.journeys
    assert truth is not None
    frame = incident_store.store.funnel(STEPS, by="correlation_id", within="1d")
    assert frame["entities"].tolist() == [truth.orders, truth.paid, truth.packed, truth.dispatched]
    assert truth.paid + truth.declined == truth.orders
    assert truth.packed + truth.cancelled <= truth.paid  # some paid at the end are in flight


def test_the_drop_at_payment_is_one_version_in_one_region(incident_store: DemoStore) -> None:
    truth = incident_store.truth.journeys
    assert truth is not None
    spec = truth.spec
    frame = incident_store.store.funnel(
        STEPS[:2],
        Selection(where=f"region = '{spec.drop_region}'"),
        by="correlation_id",
        within="1d",
        breakdown="version",
    )
    slice_rows = frame[frame["version"] == spec.drop_version]
    assert slice_rows["entities"].tolist() == [
        truth.drop_orders,
        truth.drop_orders - truth.drop_declined,
    ]
    ranked = incident_store.store.funnel_why(
        FunnelRequest(steps=STEPS, by="correlation_id", within="1d"), 2
    )
    explains = ranked[ranked["kind"] == "explains"]
    top = {(row.field, row.value) for row in explains.head(3).itertuples()}
    assert ("region", spec.drop_region) in top
    assert ("version", spec.drop_version) in set(
        zip(explains["field"], explains["value"], strict=True)
    )


def test_the_stuck_orders_are_the_open_ones(incident_store: DemoStore) -> None:
    truth = incident_store.truth
    assert truth.journeys is not None and truth.last_timestamp is not None
    frame = incident_store.store.sessions(by="correlation_id", open_longer_than="12h")
    expected = truth.journeys.stuck_before(truth.last_timestamp - timedelta(hours=12))
    assert sorted(frame["correlation_id"]) == sorted(expected)
    assert len(expected) >= 3
    assert set(frame["last_type"]) == {"order.packed"}
    assert frame.notes == (
        "operations end at (inferred): order.cancelled, order.dispatched, order.payment_declined",
    )


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """30,000 demo events with the default journeys and incident: --why on Dask took 55 s
    of CPU over the 200,000 of ``incident_store`` and 19 s here, and ranks the same three
    explanations first (currency SGD, region ap-southeast-1, version 3.1.0)."""
    return _build(tmp_path_factory, "journeys-small", DemoConfig(events=30_000))


def test_the_dask_engine_gives_the_same_journeys(small_store: DemoStore) -> None:
    """Journeys read the store's files in this process (as timeline and trace do), so the
    engine changes nothing; --why's correlate runs on the engine."""
    from distributed import LocalCluster

    incident_store = small_store
    root = incident_store.store.root
    with (
        LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
        ) as cluster,
        mfq.open_store(root, engine="dask", scheduler=cluster.scheduler_address) as dask,
    ):
        pandas_store = incident_store.store
        options = {"by": "correlation_id", "within": "1d"}
        assert dask.funnel(STEPS, **options).equals(pandas_store.funnel(STEPS, **options))
        asked = FunnelRequest(steps=STEPS, limit=5, **options)
        ours = pandas_store.funnel_why(asked, 2)
        theirs = dask.funnel_why(asked, 2)
        assert (ours["kind"] == "explains").sum() >= 3  # a comparison of something
        assert (
            ours[["field", "value"]].values.tolist() == theirs[["field", "value"]].values.tolist()
        )
        assert theirs["score"].tolist() == pytest.approx(ours["score"].tolist())
        sessions = dask.sessions(by="correlation_id", open_longer_than="12h")
        assert len(sessions) > 0
        assert sessions.equals(pandas_store.sessions(by="correlation_id", open_longer_than="12h"))
