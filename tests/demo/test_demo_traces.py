"""Traces in the demo export: span trees across services, children inside their parents."""

from __future__ import annotations

import re

import pytest

from mfq.demo import DemoConfig, SpanTruth, generate_trace_example, write_ndjson
from tests.demo.exports import Export, parse_time


def _span_of(export: Export, record: dict[str, object]) -> SpanTruth:
    attributes = export.attributes(record)
    parent = attributes.get("parent_span_id")
    return SpanTruth(
        span_id=str(attributes["span_id"]),
        parent_span_id=None if parent is None else str(parent),
        service=str(attributes["service"]),
        type=str(record["type"]),
    )


def test_truth_trees_match_the_records_exactly(default_export: Export) -> None:
    truth = default_export.truth
    by_trace = default_export.spans_by_trace()
    assert len(truth.traces) == min(truth.trace_count, truth.config.truth_trace_limit)
    for trace_id, spans in truth.traces.items():
        assert [_span_of(default_export, record) for record in by_trace[trace_id]] == list(spans)


def test_trace_counts_and_share_are_exact_and_about_15_percent(default_export: Export) -> None:
    truth = default_export.truth
    by_trace = default_export.spans_by_trace()
    assert len(by_trace) == truth.trace_count
    assert sum(len(spans) for spans in by_trace.values()) == truth.traced_events
    assert 0.12 < truth.traced_events / truth.events <= 0.15


@pytest.mark.parametrize("export_name", ["default_export", "chunked_export"])
def test_every_trace_is_one_tree_with_children_inside_their_parents(
    export_name: str, request: pytest.FixtureRequest
) -> None:
    export: Export = request.getfixturevalue(export_name)
    for spans in export.spans_by_trace().values():
        by_id = {export.attributes(record)["span_id"]: record for record in spans}
        roots = [r for r in spans if "parent_span_id" not in export.attributes(r)]
        assert len(roots) == 1
        assert roots[0] is spans[0]
        for record in spans[1:]:
            parent = by_id[export.attributes(record)["parent_span_id"]]
            start = parse_time(record["timestamp"]).timestamp() * 1000
            parent_start = parse_time(parent["timestamp"]).timestamp() * 1000
            duration = export.attributes(record)["duration_ms"]
            parent_duration = export.attributes(parent)["duration_ms"]
            assert isinstance(duration, float)
            assert isinstance(parent_duration, float)
            assert parent_start < start
            assert start + duration <= parent_start + parent_duration + 1e-6


def test_traces_cross_services_and_have_grandchildren(default_export: Export) -> None:
    truth = default_export.truth
    deep = 0
    for spans in truth.traces.values():
        parents = {span.span_id: span.parent_span_id for span in spans}
        assert spans[0].service == "gateway"
        assert spans[0].type == "http.request"
        assert len({span.service for span in spans}) >= 2
        deep += any(parents.get(parent or "") is not None for parent in parents.values())
    assert deep > len(truth.traces) / 2


def test_trace_and_span_ids_are_hex_of_the_usual_lengths(default_export: Export) -> None:
    for trace_id, spans in default_export.truth.traces.items():
        assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
        for span in spans:
            assert re.fullmatch(r"[0-9a-f]{16}", span.span_id)


def test_truth_keeps_only_the_first_traces_plus_incident_traces() -> None:
    class _Discard:
        def write(self, data: bytes) -> int:
            return len(data)

    truth = write_ndjson(_Discard(), DemoConfig(events=50_000, truth_trace_limit=10))
    assert truth.trace_count > 1_000
    assert truth.incident_trace_ids
    assert set(truth.incident_trace_ids) <= set(truth.traces)
    assert len(truth.traces) == 10 + len(
        set(truth.incident_trace_ids) - set(list(truth.traces)[:10])
    )


def test_incident_traces_contain_a_failing_span_of_the_affected_slice(
    default_export: Export,
) -> None:
    by_trace = default_export.spans_by_trace()
    ids = default_export.truth.incident_trace_ids
    assert ids
    for trace_id in ids:
        codes = [default_export.attributes(r).get("error_code") for r in by_trace[trace_id]]
        assert "db_pool_exhausted" in codes


def test_trace_example_is_a_whole_checkout_trace() -> None:
    spans = generate_trace_example()
    assert spans[0]["type"] == "http.request"
    root = spans[0]["attributes"]
    assert isinstance(root, dict)
    assert root["http.route"] == "/api/checkout"
    assert "parent_span_id" not in root
    assert len(spans) == 8
    attributes = [span["attributes"] for span in spans]
    assert len({a["trace_id"] for a in attributes if isinstance(a, dict)}) == 1


def test_trace_example_for_an_unknown_route_is_an_error() -> None:
    with pytest.raises(ValueError, match="no trace serves"):
        generate_trace_example(DemoConfig(events=500, incident=None), route="/nowhere")
