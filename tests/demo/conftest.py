"""Shared demo exports: generating and parsing them once keeps the demo tests fast."""

from __future__ import annotations

import pytest

from mfq.demo import DemoConfig
from tests.demo.exports import Export, make_export


@pytest.fixture(scope="session")
def default_export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    """The default demo export (50,000 events, seed 7, the default incident)."""
    return make_export(tmp_path_factory.mktemp("demo") / "export.ndjson", DemoConfig())


@pytest.fixture(scope="session")
def chunked_export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    """An export cut into many small chunks, so traces cross chunk boundaries."""
    config = DemoConfig(events=30_000, seed=11, days=3, chunk_events=2_500, incident=None)
    return make_export(tmp_path_factory.mktemp("demo") / "chunked.ndjson", config)
