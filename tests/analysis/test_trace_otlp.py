"""OTLP spans and Manufactory events in one store: ``mfq trace`` finds the OpenTelemetry
example by its id in either letter case, and shows a trace mixing both as one tree."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.api import Store
from mfq.cli.main import cli
from tests.conftest import SHARED_REAL

TRACE_ID = "5B8EFFF798038103D269B633813FC60C"


@pytest.mark.parametrize("given", [TRACE_ID, TRACE_ID.lower()])
def test_otlp_example_found_in_either_case(store: Store, given: str) -> None:
    summary = store.ingest(
        [SHARED_REAL / "otlp" / "trace.json", SHARED_REAL / "otlp" / "logs.json"]
    )
    assert summary.rejected == 0
    spans = store.trace(given)
    server = spans[spans["type"] == "I'm a server span"]
    assert len(server) == 1
    # logs.json's record carries the same trace and span: it hangs under the span.
    assert spans["depth"].tolist() == [0, 1]
    row = server.iloc[0]
    assert row["duration_ms"] == 1000.0
    assert row["service"] == "my.service"
    assert row["parent_span_id"] == "eee19b7ec3c1b173"  # its parent is in no export: a root
    assert row["depth"] == 0


def test_mixed_trace_is_one_tree(store: Store, write_ndjson: Callable[..., Path]) -> None:
    """A Manufactory checkout event is the root span; an OTLP export holds its child span
    (from another service) and that span's own child."""
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    root = {
        "id": "mf-1",
        "type": "checkout.started",
        "timestamp": "2026-11-19T14:00:00Z",
        "service": "checkout",
        "trace_id": trace_id,
        "span_id": "b7ad6b7169203331",
        "duration_ms": 250,
        "status": "ok",
    }
    otlp = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "payments"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "payments.http"},
                        "spans": [
                            {
                                "traceId": trace_id.upper(),
                                "spanId": "00F067AA0BA902B7",
                                "parentSpanId": "B7AD6B7169203331",
                                "name": "charge card",
                                "kind": 3,
                                "startTimeUnixNano": "1795096800050000000",
                                "endTimeUnixNano": "1795096800170000000",
                                "status": {"code": 1},
                            },
                            {
                                "traceId": trace_id.upper(),
                                "spanId": "53995C3F42CD8AD8",
                                "parentSpanId": "00F067AA0BA902B7",
                                "name": "SELECT cards",
                                "kind": 3,
                                "startTimeUnixNano": "1795096800060000000",
                                "endTimeUnixNano": "1795096800090000000",
                            },
                        ],
                    }
                ],
            }
        ]
    }
    otlp_path = write_ndjson([json.dumps(otlp)], name="spans.json")
    summary = store.ingest([write_ndjson([root]), otlp_path])
    assert (summary.ingested, summary.rejected) == (3, 0)
    tree = store.trace(trace_id)
    assert tree[["depth", "span_id", "service", "type", "offset_ms", "duration_ms"]].to_dict(
        "records"
    ) == [
        {
            "depth": 0,
            "span_id": "b7ad6b7169203331",
            "service": "checkout",
            "type": "checkout.started",
            "offset_ms": 0.0,
            "duration_ms": 250.0,
        },
        {
            "depth": 1,
            "span_id": "00f067aa0ba902b7",
            "service": "payments",
            "type": "charge card",
            "offset_ms": 50.0,
            "duration_ms": 120.0,
        },
        {
            "depth": 2,
            "span_id": "53995c3f42cd8ad8",
            "service": "payments",
            "type": "SELECT cards",
            "offset_ms": 60.0,
            "duration_ms": 30.0,
        },
    ]
    result = CliRunner().invoke(cli, ["trace", trace_id.upper(), "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    assert "charge card" in result.stdout and "SELECT cards" in result.stdout
