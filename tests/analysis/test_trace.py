"""mfq trace: a trace's events rebuilt into a tree, against the demo's recorded span trees,
DuckDB over the same Parquet, and hand-built traces with orphans, cycles and plain events."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mfq
from mfq.analysis.trace import TRACE_COLUMNS, trace_tree
from mfq.api import Selection, Store
from mfq.demo import DemoConfig, DemoTruth, SpanTruth, write_export
from mfq.errors import UsageError

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _span(
    span_id: str | None,
    parent: str | None,
    at_ms: int,
    duration_ms: float | None,
    *,
    type_: str = "op",
    service: str = "api",
    trace_id: str = TRACE,
    status: str = "ok",
) -> dict[str, object]:
    """An event of trace ``trace_id`` at 10:00:00 UTC plus ``at_ms`` milliseconds."""
    record: dict[str, object] = {
        "id": f"{type_}-{at_ms}-{span_id}",
        "type": type_,
        "timestamp": f"2026-11-03T10:00:{at_ms // 1000:02d}.{at_ms % 1000:03d}Z",
        "service": service,
        "status": status,
        "trace_id": trace_id,
    }
    if span_id is not None:
        record["span_id"] = span_id
    if parent is not None:
        record["parent_span_id"] = parent
    if duration_ms is not None:
        record["duration_ms"] = duration_ms
    return record


def _ingest(
    store: Store, write_ndjson: Callable[..., Path], records: list[dict[str, object]]
) -> None:
    store.ingest([write_ndjson(records)])


def _tree(frame: pd.DataFrame) -> list[tuple[int, str | None, str | None]]:
    """(depth, span_id, note) per row, missing values as None."""
    return [
        (int(depth), None if pd.isna(span) else span, None if pd.isna(note) else note)
        for depth, span, note in zip(frame["depth"], frame["span_id"], frame["note"], strict=True)
    ]


# -- hand-built traces -------------------------------------------------------------------------


def test_a_simple_tree_comes_back_depth_first_with_exact_offsets_and_durations(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    _ingest(
        store,
        write_ndjson,
        [
            _span("b", "root", 50, 40.0, type_="b.op", service="db"),
            _span("root", None, 0, 100.0, type_="http.request", service="gateway"),
            _span("a1", "a", 15, 5.0, type_="a1.op"),
            _span("a", "root", 10, 30.0, type_="a.op", status="error"),
            _span("x", "y", 0, 1.0, trace_id="another-trace"),
        ],
    )
    frame = store.trace(TRACE)
    assert list(frame.columns[: len(TRACE_COLUMNS)]) == list(TRACE_COLUMNS)
    assert list(frame.columns[len(TRACE_COLUMNS) :]) == ["timestamp", "severity", "note", "id"]
    assert frame["span_id"].tolist() == ["root", "a", "a1", "b"]
    assert frame["depth"].tolist() == [0, 1, 2, 1]
    assert frame["offset_ms"].tolist() == [0.0, 10.0, 15.0, 50.0]
    assert frame["duration_ms"].tolist() == [100.0, 30.0, 5.0, 40.0]
    assert frame["service"].tolist() == ["gateway", "api", "api", "db"]
    assert frame["type"].tolist() == ["http.request", "a.op", "a1.op", "b.op"]
    assert frame["status"].tolist() == ["ok", "error", "ok", "ok"]
    assert frame["parent_span_id"].tolist()[1:] == ["root", "a", "root"]
    assert frame["note"].isna().all()


def test_orphans_become_roots_in_time_order_and_are_marked(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    _ingest(
        store,
        write_ndjson,
        [
            _span("root", None, 5, 100.0),
            _span("lost", "never-exported", 2, 10.0),
            _span("child-of-lost", "lost", 3, 1.0),
            _span("late-orphan", "gone", 40, 1.0),
            _span("c", "root", 20, 1.0),
        ],
    )
    assert _tree(store.trace(TRACE)) == [
        (0, "lost", "orphan"),
        (1, "child-of-lost", None),
        (0, "root", None),
        (1, "c", None),
        (0, "late-orphan", "orphan"),
    ]


def test_a_cycle_is_broken_at_its_earliest_member(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # y -> x -> z -> y is a loop; w hangs off it; s is its own parent; r is a normal root.
    _ingest(
        store,
        write_ndjson,
        [
            _span("r", None, 0, 5.0),
            _span("x", "z", 30, 5.0),
            _span("y", "x", 10, 5.0),
            _span("z", "y", 20, 5.0),
            _span("w", "z", 25, 1.0),
            _span("s", "s", 40, 1.0),
        ],
    )
    assert _tree(store.trace(TRACE)) == [
        (0, "r", None),
        (0, "y", "cycle"),
        (1, "z", None),
        (2, "w", None),
        (2, "x", None),
        (0, "s", "cycle"),
    ]


def test_plain_events_hang_under_the_innermost_span_of_their_service_around_them(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    _ingest(
        store,
        write_ndjson,
        [
            _span("root", None, 0, 100.0, service="gateway"),
            _span("a", "root", 10, 30.0, service="api"),
            _span("b", "a", 12, 10.0, service="db"),
            _span(None, None, 15, None, type_="log.api", service="api"),  # in b, but b is db
            _span(None, None, 14, None, type_="log.db", service="db"),
            _span(None, None, 60, None, type_="log.gateway", service="gateway"),
            _span(None, None, 500, None, type_="log.after", service="api"),  # outside all
            _span(None, "b", 90, None, type_="log.linked", service="other"),  # explicit link
        ],
    )
    frame = store.trace(TRACE)
    assert list(zip(frame["type"], frame["depth"], frame["note"].fillna(""), strict=True)) == [
        ("op", 0, ""),
        ("op", 1, ""),
        ("op", 2, ""),
        ("log.db", 3, "by time"),
        ("log.linked", 3, ""),
        ("log.api", 2, "by time"),
        ("log.gateway", 1, "by time"),
        ("log.after", 0, ""),
    ]
    assert frame["offset_ms"].tolist() == [0.0, 10.0, 12.0, 14.0, 90.0, 15.0, 60.0, 500.0]


def test_a_plain_event_goes_to_the_deepest_span_around_it_and_ties_to_the_later_start(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    _ingest(
        store,
        write_ndjson,
        [
            _span("p", None, 0, 100.0),
            _span("q", "p", 10, 40.0),
            _span("r", "p", 30, 40.0),
            _span(None, None, 20, None, type_="in-q"),
            _span(None, None, 35, None, type_="in-q-and-r"),
            _span(None, None, 80, None, type_="in-p"),
        ],
    )
    frame = store.trace(TRACE)
    assert list(zip(frame["type"], frame["depth"], frame["span_id"].fillna(""), strict=True)) == [
        ("op", 0, "p"),
        ("op", 1, "q"),
        ("in-q", 2, ""),
        ("op", 1, "r"),
        ("in-q-and-r", 2, ""),
        ("in-p", 1, ""),
    ]


def test_duplicate_span_ids_are_all_kept_and_children_follow_the_first(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    _ingest(
        store,
        write_ndjson,
        [
            _span("root", None, 0, 50.0),
            _span("d", "root", 5, 10.0, type_="first"),
            _span("d", "root", 8, 10.0, type_="second"),
            _span("kid", "d", 9, 1.0),
        ],
    )
    frame = store.trace(TRACE)
    assert list(zip(frame["type"], frame["depth"], frame["note"].fillna(""), strict=True)) == [
        ("op", 0, ""),
        ("first", 1, ""),
        ("op", 2, ""),
        ("second", 1, "duplicate"),
    ]


def test_log_records_carrying_their_spans_id_hang_under_the_span(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # OTLP log records keep the span_id of the span they were written in, and no duration;
    # one is stamped before its span starts (clock skew between processes).
    _ingest(
        store,
        write_ndjson,
        [
            _span("root", None, 0, 50.0),
            _span("s", None, 4, None, type_="log.early"),
            _span("s", "root", 5, 10.0, type_="work"),
            _span("s", None, 7, None, type_="log.inside"),
            _span(None, "s", 8, None, type_="span.event"),
        ],
    )
    frame = store.trace(TRACE)
    assert list(zip(frame["type"], frame["depth"], frame["note"].fillna(""), strict=True)) == [
        ("op", 0, ""),
        ("work", 1, ""),
        ("log.early", 2, ""),
        ("log.inside", 2, ""),
        ("span.event", 2, ""),
    ]


def test_blank_parent_ids_mean_root(store: Store, write_ndjson: Callable[..., Path]) -> None:
    _ingest(store, write_ndjson, [_span("a", "", 0, 5.0), _span("b", "a", 1, 1.0)])
    assert _tree(store.trace(TRACE)) == [(0, "a", None), (1, "b", None)]


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        (TRACE, TRACE.upper()),  # fast path: the upper-cased spelling is tried at once
        (TRACE.upper(), TRACE),
        ("4BF92f3577B34DA6a3ce929d0e0e4736", TRACE),  # mixed case: the slow path
        (TRACE, "  4Bf92F3577b34da6a3ce929d0e0e4736 "),
    ],
)
def test_trace_ids_match_in_any_letter_case(
    store: Store, write_ndjson: Callable[..., Path], stored: str, asked: str
) -> None:
    _ingest(
        store,
        write_ndjson,
        [
            _span("root", None, 0, 10.0, trace_id=stored),
            _span("kid", "root", 1, 1.0, trace_id=stored),
            _span("other", None, 0, 1.0, trace_id="5bf92f3577b34da6a3ce929d0e0e4736"),
        ],
    )
    assert _tree(store.trace(asked)) == [(0, "root", None), (1, "kid", None)]


def test_an_unknown_trace_is_an_empty_frame_with_the_columns(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    _ingest(store, write_ndjson, [_span("root", None, 0, 10.0)])
    frame = store.trace("0" * 32)
    assert frame.empty
    assert list(frame.columns) == [*TRACE_COLUMNS, "timestamp", "severity", "note", "id"]


def test_a_blank_trace_id_is_a_usage_error(store: Store) -> None:
    with pytest.raises(UsageError, match="must not be empty"):
        store.trace("  ")


def test_the_time_range_limits_the_events(store: Store, write_ndjson: Callable[..., Path]) -> None:
    _ingest(store, write_ndjson, [_span("root", None, 0, 10.0), _span("kid", "root", 2000, 1.0)])
    frame = store.trace(TRACE, Selection(since="2026-11-03T10:00:01Z"))
    assert _tree(frame) == [(0, "kid", "orphan")]
    assert frame["offset_ms"].tolist() == [0.0]


def test_trace_tree_of_a_table_without_rows_is_empty() -> None:
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("timestamp", pa.timestamp("ns", tz="UTC")),
            ("type", pa.string()),
            ("service", pa.string()),
            ("status", pa.string()),
            ("severity", pa.string()),
            ("duration_ms", pa.float64()),
            ("span_id", pa.string()),
            ("parent_span_id", pa.string()),
        ]
    )
    assert trace_tree(schema.empty_table()).empty


# -- the demo's traces -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, DemoTruth]:
    root = tmp_path_factory.mktemp("trace-demo")
    truth = write_export(root / "demo.ndjson", DemoConfig(events=20_000, seed=3))
    store = mfq.open_store(root / "store")
    store.ingest([root / "demo.ndjson"])
    return store, truth


def _expected_depths(spans: tuple[SpanTruth, ...]) -> list[int]:
    parents = {span.span_id: span.parent_span_id for span in spans}
    depths = []
    for span in spans:
        depth, parent = 0, span.parent_span_id
        while parent is not None:
            depth, parent = depth + 1, parents[parent]
        depths.append(depth)
    return depths


def _files(store: Store) -> list[str]:
    return [str(store.root / f.path) for f in store.catalog.files("events")]


def test_every_recorded_demo_tree_is_rebuilt_exactly(demo: tuple[Store, DemoTruth]) -> None:
    store, truth = demo
    assert len(truth.traces) > 300
    columns = ["id", "timestamp", "type", "service", "status", "severity", "duration_ms"]
    table = pa.concat_tables(
        pq.read_table(path, columns=[*columns, "span_id", "parent_span_id", "trace_id"])
        for path in _files(store)
    )
    by_trace: dict[str, list[int]] = {}
    for row, trace_id in enumerate(table.column("trace_id").to_pylist()):
        by_trace.setdefault(trace_id, []).append(row)
    spans_table = table.drop_columns(["trace_id"])
    shuffle = random.Random(1).shuffle
    for trace_id, spans in truth.traces.items():
        # Shuffled: the tree must not depend on the order events are read in. (Taken from
        # the Arrow table: through pandas, a frame and a table a trace, the test took 55%
        # of its time outside trace_tree.)
        rows = by_trace[trace_id]
        shuffle(rows)
        result = trace_tree(spans_table.take(rows))
        rebuilt = [
            SpanTruth(s, None if pd.isna(p) else p, svc, t)
            for s, p, svc, t in zip(
                result["span_id"],
                result["parent_span_id"],
                result["service"],
                result["type"],
                strict=True,
            )
        ]
        assert rebuilt == list(spans), trace_id
        assert result["depth"].tolist() == _expected_depths(spans), trace_id
        assert result["note"].isna().all()


def test_store_trace_finds_demo_traces_and_matches_duckdb_offsets(
    demo: tuple[Store, DemoTruth],
) -> None:
    store, truth = demo
    chosen = list(truth.traces)[::60] + list(truth.incident_trace_ids[:3])
    assert len(chosen) >= 8
    for trace_id in chosen:
        frame = store.trace(trace_id.upper())
        assert frame["span_id"].tolist() == [s.span_id for s in truth.traces[trace_id]]
        theirs = _duckdb_trace(store, trace_id)
        ours = {
            span: (offset, duration, status)
            for span, offset, duration, status in zip(
                frame["span_id"],
                frame["offset_ms"],
                frame["duration_ms"],
                frame["status"],
                strict=True,
            )
        }
        assert len(theirs) == len(frame)
        for span, offset, duration, status in theirs:
            assert math.isclose(ours[span][0], offset, abs_tol=1e-9)
            assert ours[span][1] == duration
            assert ours[span][2] == status


def _duckdb_trace(store: Store, trace_id: str) -> list[tuple[str, float, float, str]]:
    relation = duckdb.execute(
        "SELECT span_id, (epoch_ns(timestamp) - min(epoch_ns(timestamp)) OVER ()) / 1e6,"
        " duration_ms, status"
        f" FROM read_parquet({_files(store)!r}, union_by_name=true) WHERE trace_id = ?",
        [trace_id],
    )
    return [(str(a), float(b), float(c), str(d)) for a, b, c, d in relation.fetchall()]


def test_incident_traces_show_the_failing_span(demo: tuple[Store, DemoTruth]) -> None:
    store, truth = demo
    assert truth.incident_trace_ids
    for trace_id in truth.incident_trace_ids[:5]:
        frame = store.trace(trace_id)
        failing = frame[frame["status"] == "error"]
        assert not failing.empty
        assert (failing["service"] == "checkout").any()
