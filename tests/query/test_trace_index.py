"""The catalog's trace index: a lookup by trace id opens only the files that may hold the
trace, finds it in any letter case, and answers the same as a scan of every file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.api import Store
from mfq.query.build import build_spec
from mfq.query.expr import parse_filter
from mfq.query.scan import scan, trace_lookup
from mfq.query.spec import QueryKind
from mfq.store.ids import trace_keys


def _day(day: int, traces: list[str | None]) -> list[dict[str, object]]:
    return [
        {
            "id": f"d{day}-{i}",
            "type": "t",
            "timestamp": f"2026-11-0{day}T10:00:0{i}Z",
            **({"trace_id": trace} if trace is not None else {}),
        }
        for i, trace in enumerate(traces)
    ]


@pytest.fixture
def three_days(store: Store, write_ndjson: Callable[..., Path]) -> Store:
    store.ingest([write_ndjson(_day(2, ["aaa1", "aaa1", "bbb2"]))])
    store.ingest([write_ndjson(_day(3, ["CCC3", None, "ddd4"]))])
    store.ingest([write_ndjson(_day(4, [None, None]))])  # no trace at all
    return store


def _read(store: Store, where: str) -> tuple[list[str], int]:
    result = scan(store, ["id"], (parse_filter(where),), build_spec(store, QueryKind.EVENTS).time)
    return sorted(result.table.column("id").to_pylist()), result.files_read


def test_a_lookup_reads_only_the_file_holding_the_trace(three_days: Store) -> None:
    assert _read(three_days, "trace_id = 'aaa1'") == (["d2-0", "d2-1"], 1)
    assert _read(three_days, "trace_id = 'ddd4'") == (["d3-2"], 1)
    assert _read(three_days, "trace_id = 'nothing'") == ([], 0)


def test_keys_ignore_letter_case_and_the_filter_still_decides(three_days: Store) -> None:
    assert _read(three_days, "trace_id = 'ccc3'") == ([], 1)  # candidate file, no equal id
    assert _read(three_days, "trace_id = 'CCC3'") == (["d3-0"], 1)
    assert _read(three_days, "trace_id = 'ccc3' or trace_id = 'CCC3'") == (["d3-0"], 1)


def test_or_and_in_lists_look_up_every_id(three_days: Store) -> None:
    assert _read(three_days, "trace_id in ('aaa1', 'ddd4')") == (["d2-0", "d2-1", "d3-2"], 2)
    where = "type = 't' and (trace_id = 'bbb2' or trace_id = 'ddd4')"
    assert _read(three_days, where) == (["d2-2", "d3-2"], 2)


def test_files_without_an_index_are_read_as_before(three_days: Store) -> None:
    # A catalog written by an older mfq has no index rows: every file may hold the trace.
    three_days.catalog._db.execute("DELETE FROM trace_index")
    assert _read(three_days, "trace_id = 'aaa1'") == (["d2-0", "d2-1"], 3)


def test_each_file_stores_its_distinct_keys_sorted(three_days: Store) -> None:
    rows = dict(three_days.catalog._db.execute("SELECT path, keys FROM trace_index"))
    stored = sorted(len(np.frombuffer(blob, dtype=np.uint32)) for blob in rows.values())
    assert stored == [0, 2, 2]  # the traceless day has an empty index
    expected = trace_keys(pa.array(["aaa1", "bbb2"]))
    assert any(np.array_equal(np.frombuffer(b, np.uint32), expected) for b in rows.values())


def test_a_files_keys_are_its_distinct_hashes_sorted_in_any_letter_case() -> None:
    from mfq.store.ids import first_hashes

    ids = [f"trace-{i % 500}" for i in range(2000)] + ["TRACE-7", None, "Trace-499"]
    keys = trace_keys(pa.array(ids))
    hashes = first_hashes(pa.array([f"trace-{i}" for i in range(500)])).astype(np.uint32)
    assert keys.dtype == np.uint32
    assert keys.tolist() == sorted(set(hashes.tolist()))
    assert trace_keys(pa.array([None, None], pa.string())).tolist() == []
    assert trace_keys(pa.array(["only"])).tolist() == [
        int(first_hashes(pa.array(["only"]))[0]) & 0xFFFFFFFF
    ]


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(0, 5000),
    repeat_at=st.none() | st.integers(0, 4999),
    upper=st.booleans(),
    nulls=st.booleans(),
)
def test_keys_of_ids_that_do_not_repeat_are_their_distinct_hashes(
    count: int, repeat_at: int | None, upper: bool, nulls: bool
) -> None:
    """Ids that do not repeat within their first ones are hashed without Arrow's ``unique``:
    the same keys, a repeat (in letter case alone, too) anywhere or not."""
    from mfq.store.ids import first_hashes

    ids: list[str | None] = [f"{i * 2654435761 % 2**32:08x}{i:06d}" for i in range(count)]
    if repeat_at is not None and count > 1:
        twin = ids[(repeat_at + 1) % count]
        ids[repeat_at % count] = twin.upper() if upper and twin else twin
    if nulls:
        ids[::5] = [None] * len(ids[::5])
    lowered = {i.lower() for i in ids if i is not None}
    hashes = first_hashes(pa.array(sorted(lowered), pa.string())).astype(np.uint32)
    assert trace_keys(pa.array(ids, pa.string())).tolist() == sorted(set(hashes.tolist()))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("trace_id = 'x'", {"x"}),
        ("'x' = trace_id", {"x"}),
        ("service = 'a' and trace_id in ('x', 'y')", {"x", "y"}),
        ("trace_id = 'x' or trace_id = 'y'", {"x", "y"}),
        ("trace_id = 'x' or service = 'a'", set()),  # not limited to traces
        ("trace_id != 'x'", set()),
        ("trace_id not in ('x')", set()),
        ("not (trace_id = 'x')", set()),
    ],
)
def test_which_filters_are_trace_lookups(where: str, expected: set[str]) -> None:
    assert trace_lookup((parse_filter(where),)) == expected
