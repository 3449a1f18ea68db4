"""Properties of any demo export: exact count, order, range, ids and whole traces."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.demo import DemoConfig, write_ndjson


class _Buffer:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


configs = st.builds(
    DemoConfig,
    events=st.integers(min_value=0, max_value=4_000),
    seed=st.integers(min_value=0, max_value=2**32),
    start=st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2030, 1, 1),
        timezones=st.just(UTC),
    ),
    days=st.integers(min_value=1, max_value=3),
    incident=st.none(),
    chunk_events=st.integers(min_value=1, max_value=5_000),
    trace_share=st.floats(min_value=0.0, max_value=0.6),
)


@settings(max_examples=30, deadline=None)
@given(config=configs)
def test_any_export_is_exact_sorted_in_range_and_has_whole_traces(config: DemoConfig) -> None:
    buffer = _Buffer()
    truth = write_ndjson(buffer, config)
    records = [json.loads(line) for line in bytes(buffer.data).splitlines()]
    journeys = truth.journeys.events if truth.journeys is not None else 0
    assert len(records) == truth.events == config.events + journeys
    others = [r["id"] for r in records if "correlation_id" not in r["attributes"]]
    assert others == [f"ev_{n:012d}" for n in range(config.events)]
    times = [datetime.fromisoformat(r["timestamp"]) for r in records]
    assert times == sorted(times)
    start_ms = config.start.replace(microsecond=config.start.microsecond // 1000 * 1000)
    assert all(start_ms <= t < config.start + timedelta(days=config.days) for t in times)
    spans = {r["attributes"]["span_id"] for r in records if "span_id" in r["attributes"]}
    parents = {r["attributes"].get("parent_span_id") for r in records} - {None}
    assert parents <= spans
    assert len(spans) == truth.traced_events
