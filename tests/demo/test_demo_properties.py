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


#: At most this many chunks per export. The generator's cost grows with its chunks (about
#: 2 ms each): 4,000 events in chunks of one took 9 s, where 250 chunks of any size show
#: every boundary the same way (empty chunks, the last one merged, traces across them).
MAX_CHUNKS = 250


@st.composite
def configs(draw: st.DrawFn) -> DemoConfig:
    chunk_events = draw(st.integers(min_value=1, max_value=5_000))
    return DemoConfig(
        events=draw(st.integers(min_value=0, max_value=min(4_000, MAX_CHUNKS * chunk_events))),
        seed=draw(st.integers(min_value=0, max_value=2**32)),
        start=draw(
            st.datetimes(
                min_value=datetime(2020, 1, 1),
                max_value=datetime(2030, 1, 1),
                timezones=st.just(UTC),
            )
        ),
        days=draw(st.integers(min_value=1, max_value=3)),
        incident=None,
        chunk_events=chunk_events,
        trace_share=draw(st.floats(min_value=0.0, max_value=0.6)),
    )


@settings(max_examples=30, deadline=None)
@given(config=configs())
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
