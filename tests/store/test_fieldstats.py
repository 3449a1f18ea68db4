"""``mfq schema`` from the catalog's per-file field statistics, against the exact scan."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mfq
from mfq.api import Store
from mfq.ingest.columns import to_text
from mfq.query.expr import FieldType
from mfq.store import ids
from mfq.store.fieldstats import _ipc, hll_estimate, hll_registers, value_hashes
from tests.conftest import event
from tests.store.test_upkeep import day_event


def test_the_catalog_answers_as_the_exact_scan_when_value_lists_are_whole(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    first = [
        day_event(
            i,
            3 + i % 3,
            service=["checkout", "search", None][i % 4 % 3],
            duration_ms=[1.5, 2.0, 7.25][i % 3],
            http_status=[200, 404, 500][i % 3],
            attributes={
                "code": i if i % 2 else f"E{i % 7}",  # mixed within one batch
                "n": i % 10,
                "ratio": i % 4,  # integers here, floats in the next batch
                "flag": i % 5 == 0,
                "region": "eu" if i % 3 else "us",
                "later": None,
            },
        )
        for i in range(120)
    ]
    second = [
        day_event(
            200 + i,
            4 + i % 3,
            attributes={"ratio": i / 4, "n": f"x{i % 3}", "tenant": "acme", "flag": True},
        )
        for i in range(60)
    ]
    store.ingest([write_ndjson(first)])
    store.ingest([write_ndjson(second)])
    fast = store.schema().to_dict("records")
    exact = store.schema(exact=True).to_dict("records")
    assert fast == exact
    rows = {row["field"]: row for row in fast}
    assert rows["n"]["type"] == "mixed(integer,string)" and rows["n"]["mixed"] is True
    assert rows["ratio"]["type"] == "float" and rows["ratio"]["mixed"] is False
    assert rows["flag"]["top_values"] == ["false (96)", "true (84)"]
    assert "later" not in rows


def test_an_estimate_says_so(store: Store, write_ndjson: Callable[..., Path]) -> None:
    rows = [
        event(i, attributes={"user": "hot" if i % 2 else f"u{i}", "kind": "k"}) for i in range(4000)
    ]
    store.ingest([write_ndjson(rows[:2000])])  # two files of one day: values may repeat
    store.ingest([write_ndjson(rows[2000:])])
    fast = store.schema().set_index("field")
    exact = store.schema(exact=True).set_index("field")
    assert exact.loc["user", "distinct"] == 2001
    estimate = fast.loc["user", "distinct"]
    assert isinstance(estimate, str) and estimate.startswith("~")
    assert abs(int(estimate[1:]) - 2001) < 0.06 * 2001
    assert next(iter(fast.loc["user", "top_values"])) == "hot (~2000)"
    assert next(iter(exact.loc["user", "top_values"])) == "hot (2000)"
    assert fast.loc["kind", "distinct"] == 1 and list(fast.loc["kind", "top_values"]) == [
        "k (4000)"
    ]
    assert fast.loc["id", "distinct"] == 4000  # unique by the store's guarantee: exact
    assert fast.loc["timestamp", "distinct"] == "~3607"  # two files, overlapping times
    assert exact.loc["timestamp", "distinct"] == 3600


def test_one_file_or_times_of_disjoint_files_are_counted_exactly(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson([event(i, attributes={"u": f"u{i}"}) for i in range(1500)])])
    row = store.schema().set_index("field").loc["u"]
    assert (row["distinct"], list(row["top_values"])) == (1500, [])
    later = [day_event(5000 + i, 4) for i in range(1500)]  # another day: times cannot repeat
    store.ingest([write_ndjson(later)])
    fast = store.schema().set_index("field")
    assert (
        fast.loc["timestamp", "distinct"]
        == store.schema(exact=True).set_index("field").loc["timestamp", "distinct"]
    )


def test_types_follow_the_events_left_after_a_prune(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson([day_event(i, 3, attributes={"code": f"E{i}"}) for i in range(5)])])
    store.ingest([write_ndjson([day_event(10 + i, 5, attributes={"code": i}) for i in range(5)])])
    assert store.schema().set_index("field").loc["code", "type"] == "mixed(integer,string)"
    assert store.field_types()["code"] is FieldType.STRING
    store.prune(datetime(2026, 11, 4, tzinfo=UTC))
    row = store.schema().set_index("field").loc["code"]
    assert (row["type"], row["mixed"], row["present"]) == ("integer", False, 100.0)
    assert store.field_types()["code"] is FieldType.INTEGER


def test_a_store_without_statistics_is_read_whole_until_compact_adds_them(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson([event(i, attributes={"n": i % 3}) for i in range(30)])])
    expected = store.schema(exact=True).to_dict("records")
    with sqlite3.connect(store.layout.catalog) as db:  # as an earlier mfq left it
        db.execute("DELETE FROM field_stats")
    assert store.catalog.files_without_stats()
    assert store.schema().to_dict("records") == expected
    result = store.compact()
    assert result.days == 0 and not store.catalog.files_without_stats()
    assert store.schema().to_dict("records") == expected


@pytest.mark.parametrize("count", [0, 1, 10, 100, 1000, 10_000, 100_000])
def test_the_distinct_sketch_is_within_a_few_percent(count: int) -> None:
    values = pa.array([f"value-{i}" for i in range(count)], pa.string())
    estimate = hll_estimate(hll_registers(values))
    assert abs(estimate - count) <= max(1, 0.05 * count)


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_float_hashes_are_those_of_the_text_a_mixed_column_holds(values: list[float]) -> None:
    """Sketches of one field merge across files whatever its storage type: a float hashes
    as the text ``to_text`` makes of it (so as the same value stored as text)."""
    array = pa.array(values, pa.float64())
    assert (value_hashes(array) == ids.hash_ids(to_text(array))[:, 0]).all()
    integers = pa.array([int(v) for v in values if math.isfinite(v) and abs(v) < 2**62])
    assert (value_hashes(integers) == ids.hash_ids(to_text(integers))[:, 0]).all()


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, 3.0, -0.0, 0.5, 2.0**63, 1e300],  # mostly whole: the others hashed again
        [0.5, 1.25, -7.75, 3.0, float("inf"), float("nan"), -0.0],  # mostly not whole
        [4.0, -5.0, 1e15, -(2.0**63), 2.0**63],  # whole only (int64's ends as floats too)
        [0.1, 2.5],  # none whole
    ],
)
def test_float_hashes_of_either_kind_first(values: list[float]) -> None:
    array = pa.array(values, pa.float64())
    assert (value_hashes(array) == ids.hash_ids(to_text(array))[:, 0]).all()


def test_mfq_schema_answers_without_pandas(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    """pandas alone takes longer to import than the whole answer from the catalog."""
    root = tmp_path / "s"
    store = mfq.open_store(root)
    rows = [event(i, attributes={"f": i / 3, "u": f"u{i}", "b": i % 2 == 0}) for i in range(2000)]
    store.ingest([write_ndjson(rows[:1000])])
    store.ingest([write_ndjson(rows[1000:])])
    probe = (
        "import sys; from mfq.cli.main import main; sys.argv = ['mfq', 'schema', '--store',"
        f" {str(root)!r}, '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pandas' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "False"
    assert {row["field"] for row in json.loads(done.stdout)} >= {"f", "u", "b"}


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-(2**63), 2**63 - 1) | st.integers(0, 700), max_size=2000),
    timestamps=st.lists(st.integers(0, 2**62), min_size=1, max_size=700),
)
@example(values=[i * 7919 % 1000 for i in range(3000)] + [5] * 40, timestamps=[1, 2, 2])
def test_counting_by_sorting_gives_arrows_counts(values: list[int], timestamps: list[int]) -> None:
    """Many distinct integers are counted by sorting: the same values, counts and sketch
    as Arrow's ``value_counts``; times the same distinct count and sketch as ``unique``."""
    import pyarrow.compute as pc

    from mfq.store.fieldstats import EXACT_VALUES, table_stats

    column = pa.array(values, pa.int64())
    (stats,) = table_stats(pa.table({"n": column})) if values else (None,)
    if stats is not None:
        expected = pc.value_counts(column)
        pairs = sorted(
            zip(
                expected.field("values").to_pylist(),
                expected.field("counts").to_pylist(),
                strict=True,
            )
        )
        assert stats.distinct == len(pairs)
        if stats.exact:
            assert stats.values is not None
            assert stats.values.to_pylist() == [
                {"value": v, "n": n}
                for v, n in zip(
                    expected.field("values").to_pylist(),
                    expected.field("counts").to_pylist(),
                    strict=True,
                )
            ]
        else:
            assert len(pairs) > EXACT_VALUES
            assert stats.sketch == hll_registers(expected.field("values")).tobytes()
            top = stats.values.to_pylist() if stats.values is not None else []
            assert all((row["value"], row["n"]) in set(pairs) for row in top)
            assert sorted(row["n"] for row in top) == sorted(n for _, n in pairs)[-len(top) :]
    times = pa.array(timestamps, pa.timestamp("ns", tz="UTC"))
    (time_stats,) = table_stats(pa.table({"t": times}))
    assert time_stats.distinct == len(set(timestamps))
    assert time_stats.sketch == hll_registers(pc.unique(times)).tobytes()


@settings(max_examples=80, deadline=None)
@given(
    count=st.integers(0, 3000),
    repeat_at=st.none() | st.integers(0, 2999),
    width=st.integers(1, 40),
    chunks=st.integers(1, 3),
    nulls=st.booleans(),
)
@example(count=2600, repeat_at=2500, width=12, chunks=1, nulls=False)
def test_text_of_distinct_values_has_arrows_counts(
    count: int, repeat_at: int | None, width: int, chunks: int, nulls: bool
) -> None:
    """Text whose values all differ (found so by their hashes) gets the statistics Arrow's
    ``value_counts`` gives: the same values in the same order, counts, top values, sketch;
    a repeat anywhere (after the first values looked at too) is counted by Arrow."""
    from mfq.store import fieldstats

    values: list[str | None] = [f"{i:0{width}x}-{i * 7919 % 1009}" for i in range(count)]
    if repeat_at is not None and count > 1:
        values[repeat_at % count] = values[(repeat_at + 1) % count]
    if nulls:
        values[:: max(1, count // 7)] = [None] * len(values[:: max(1, count // 7)])
    step = max(1, count // chunks)
    column = pa.chunked_array(
        [pa.array(values[i : i + step], pa.string()) for i in range(0, count, step)] or [[]],
        pa.string(),
    )
    table = pa.table({"t": column})
    found = fieldstats.table_stats(table)
    original = fieldstats._may_be_unique
    try:
        fieldstats._may_be_unique = lambda column: False  # type: ignore[assignment]
        expected = fieldstats.table_stats(table)
    finally:
        fieldstats._may_be_unique = original
    assert [(s.field, s.present, s.classes, s.exact, s.sketch, s.distinct) for s in found] == [
        (s.field, s.present, s.classes, s.exact, s.sketch, s.distinct) for s in expected
    ]
    assert [s.values for s in found] == [s.values for s in expected]


def test_text_repeating_only_after_its_first_values_is_counted_by_arrow_at_once() -> None:
    """A column of 60,000 ids drawn at random, its first 3,000 all different: its
    repeats are found among values spread over it, not by hashing it whole."""
    from mfq.store import fieldstats

    draws = np.random.default_rng(7).integers(0, 60_000, 500_000)
    values = [f"user-{i}" for i in range(3000)] + [f"user-{i}" for i in draws[3000:]]
    column = pa.chunked_array([pa.array(values[:200_000]), pa.array(values[200_000:])])
    unique = pa.chunked_array([pa.array([f"id-{i}" for i in range(500_000)])])
    assert (fieldstats._may_be_unique(column), fieldstats._may_be_unique(unique)) == (False, True)


def _arrow_counted(column: pa.ChunkedArray) -> tuple[pa.Table, bool, bytes | None, int]:
    """A column's values, exactness, sketch and distinct count as Arrow's hash table
    counts them (its ``value_counts`` in order of first appearance, ``select_k_unstable``
    over all of them): what a float column's statistics were before they were counted
    by sorting."""
    import pyarrow.compute as pc

    from mfq.store.fieldstats import EXACT_VALUES, TOP_KEPT

    found = pc.value_counts(column.drop_null())
    table = pa.Table.from_arrays([found.field("values"), found.field("counts")], ["value", "n"])
    if table.num_rows <= EXACT_VALUES:
        return table, True, None, table.num_rows
    picked = pc.select_k_unstable(table, k=TOP_KEPT, sort_keys=[("n", "descending")])
    sketch = hll_registers(found.field("values")).tobytes()
    return table.take(picked), False, sketch, table.num_rows


@settings(max_examples=80, deadline=None)
@given(
    kinds=st.integers(1, 4000),
    rows=st.integers(0, 5000),
    seed=st.integers(0, 2**32 - 1),
    chunks=st.integers(1, 3),
    nulls=st.booleans(),
    odd=st.sampled_from([None, -0.0, 0.0, math.nan, math.inf, "both zeros"]),
)
@example(kinds=3000, rows=3100, seed=1, chunks=2, nulls=False, odd=-0.0)
# (found in review: every value kept, in order of first appearance; both zeros apart)
@example(kinds=400, rows=700, seed=4, chunks=2, nulls=False, odd=None)
@example(kinds=400, rows=700, seed=5, chunks=1, nulls=False, odd="both zeros")
@example(kinds=3000, rows=3100, seed=6, chunks=1, nulls=False, odd="both zeros")
@example(kinds=300, rows=3000, seed=2, chunks=1, nulls=True, odd=None)
@example(kinds=5000, rows=4000, seed=3, chunks=1, nulls=False, odd=math.nan)
def test_floats_counted_by_sorting_have_arrows_statistics(
    kinds: int, rows: int, seed: int, chunks: int, nulls: bool, odd: float | str | None
) -> None:
    """Floats counted by sorting their bits get the statistics Arrow's hash table gives:
    every value in order of first appearance where the file keeps them all, else the
    same top values (ties among equal counts included, in the same order), sketch and
    distinct count; 0.0 and -0.0 two values as for Arrow, NaN left to Arrow."""
    from mfq.store.fieldstats import table_stats

    rng = np.random.default_rng(seed)
    pool = np.round(rng.random(kinds) * 1000, 3)
    values: list[float | None] = list(pool[rng.integers(0, kinds, rows)])
    if odd is not None and rows:
        planted = [0.0, -0.0, 0.0, -0.0] if odd == "both zeros" else [odd] * 3
        for at, value in zip(rng.integers(0, rows, len(planted)), planted, strict=True):
            values[at] = value  # type: ignore[assignment]
    if nulls:
        values[::7] = [None] * len(values[::7])
    step = max(1, rows // chunks)
    column = pa.chunked_array(
        [pa.array(values[i : i + step], pa.float64()) for i in range(0, rows, step)] or [[]],
        pa.float64(),
    )
    found = table_stats(pa.table({"f": column}))
    if column.null_count == len(column):
        assert found == []
        return
    (stats,) = found
    table, exact, sketch, distinct = _arrow_counted(column)
    assert (stats.exact, stats.sketch, stats.distinct) == (exact, sketch, distinct)
    assert stats.values is not None
    assert stats.values.schema == table.schema
    assert stats.to_row()[3] == _ipc(table)  # (the catalog's bytes; NaN equals no table)


@settings(max_examples=100, deadline=None)
@given(
    counts=st.lists(st.integers(1, 5) | st.just(1), min_size=1, max_size=3000),
    chunks=st.integers(1, 3),
)
@example(counts=[1] * 40 + [2] * 5 + [1] * 100, chunks=1)
@example(counts=[3] * 10 + [1] * 50 + [3] * 40, chunks=2)
def test_the_top_values_are_picked_among_those_that_can_be(counts: list[int], chunks: int) -> None:
    """The top values picked among the first ones and those counted more than once are
    the rows ``select_k_unstable`` picks among all of them, in its order."""
    import pyarrow.compute as pc

    from mfq.store.fieldstats import TOP_KEPT, _top

    step = max(1, len(counts) // chunks)
    n = pa.chunked_array(
        [pa.array(counts[i : i + step], pa.int64()) for i in range(0, len(counts), step)]
    )
    value = pa.chunked_array([pa.array(np.arange(len(counts)) * 7 % 1_000_003, pa.int64())])
    table = pa.Table.from_arrays([value, n], ["value", "n"])
    picked = pc.select_k_unstable(
        table, k=min(TOP_KEPT, len(counts)), sort_keys=[("n", "descending")]
    )
    assert _top(table).to_pylist() == table.take(picked).to_pylist()
