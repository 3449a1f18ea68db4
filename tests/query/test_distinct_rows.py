"""Repeated rows dropped before distinct counts: batch by batch on dictionary indices,
without changing a distinct count, minimum or maximum, nulls included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.api import Store
from mfq.query.engines.distinct import distinct_dictionary_rows

Row = tuple[str | None, str | None]


def dictionary_batch(rows: list[Row]) -> pa.RecordBatch:
    """A batch of two dictionary columns, each with the batch's own dictionary."""
    group, value = zip(*rows, strict=True) if rows else ((), ())
    return pa.RecordBatch.from_arrays(
        [
            pa.array(list(group), pa.string()).dictionary_encode(),
            pa.array(list(value), pa.string()).dictionary_encode(),
        ],
        names=["group", "value"],
    )


def decoded(table: pa.Table) -> list[Row]:
    plain = [column.cast(pa.string()).to_pylist() for column in table.columns]
    return list(zip(*plain, strict=True)) if plain else []


def test_repeats_go_within_each_batch_and_nulls_stay() -> None:
    first = dictionary_batch([("a", "x"), ("a", "x"), (None, "x"), (None, "x"), ("a", None)])
    second = dictionary_batch([("b", "y"), ("a", "x"), ("b", "y"), ("a", None)])
    table = pa.Table.from_batches([first, second])

    reduced = distinct_dictionary_rows(table)

    assert reduced is not None
    batches = reduced.to_batches()
    assert sorted(decoded(pa.Table.from_batches([batches[0]])), key=repr) == sorted(
        [("a", "x"), (None, "x"), ("a", None)], key=repr
    )
    assert sorted(decoded(pa.Table.from_batches([batches[1]])), key=repr) == sorted(
        [("b", "y"), ("a", "x"), ("a", None)], key=repr
    )


def test_columns_that_are_not_dictionaries_are_left_alone() -> None:
    table = pa.table({"group": ["a", "a"], "value": ["x", "x"]})
    assert distinct_dictionary_rows(table) is None


def test_once_repeats_are_rare_the_remaining_batches_stay_whole() -> None:
    small = dictionary_batch([("a", str(n)) for n in range(10)])
    unique = dictionary_batch([("a", str(n)) for n in range(5000)])
    repeated = dictionary_batch([("a", "x")] * 10)
    table = pa.Table.from_batches([small, repeated, unique, repeated])

    reduced = distinct_dictionary_rows(table)

    assert reduced is not None  # a small batch is too small to judge by
    assert [batch.num_rows for batch in reduced.to_batches()] == [10, 1, 5000, 10]


def test_repeated_batches_are_reduced_after_each_other() -> None:
    repeated = dictionary_batch([("a", "x"), ("b", "x")] * 50)
    table = pa.Table.from_batches([repeated, repeated, repeated])

    reduced = distinct_dictionary_rows(table)

    assert reduced is not None
    assert [batch.num_rows for batch in reduced.to_batches()] == [2, 2, 2]


rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from("abc")),
        st.one_of(st.none(), st.sampled_from("uvwxyz")),
    ),
    max_size=40,
)


@given(st.lists(rows, min_size=1, max_size=4))
@settings(max_examples=200, deadline=None)
def test_the_same_distinct_rows_remain(batches: list[list[Row]]) -> None:
    table = pa.Table.from_batches([dictionary_batch(batch) for batch in batches])

    reduced = distinct_dictionary_rows(table)

    assert reduced is not None
    assert set(decoded(reduced)) == set(decoded(table))
    assert reduced.num_rows <= table.num_rows


EVENTS = [  # (project, actor) over two files: repeats, a missing project, a missing actor
    ("p1", "u1"),
    ("p1", "u1"),
    ("p1", "u2"),
    ("p2", "u1"),
    (None, "u3"),
    (None, "u3"),
    ("p2", None),
]


def test_distinct_counts_by_group_across_files(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    for day, half in (("02", EVENTS[:4]), ("03", EVENTS[2:])):
        records = []
        for n, (project, actor) in enumerate(half):
            record: dict[str, object] = {
                "id": f"{day}-{n}",
                "type": "t",
                "timestamp": f"2026-11-{day}T10:0{n}:00Z",
            }
            if project is not None:
                record["project_id"] = project
            if actor is not None:
                record["actor_profile_id"] = actor
            records.append(record)
        store.ingest([write_ndjson(records)])

    answer = store.query(group_by="project_id", aggs="count_distinct(actor_profile_id)")
    keys = answer["project_id"].astype(object).where(answer["project_id"].notna(), None)
    counted = dict(zip(keys, answer["count_distinct(actor_profile_id)"], strict=True))
    assert counted == {"p1": 2, "p2": 1, None: 1}
    overall = store.query(aggs="count_distinct(actor_profile_id)")
    assert overall["count_distinct(actor_profile_id)"].tolist() == [3]


HOUR = 3_600_000_000_000


def timed_table(rows: list[tuple[int, str | None]]) -> pa.Table:
    times, values = zip(*rows, strict=True)
    return pa.table(
        {
            "time": pa.array(list(times), pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
            "value": pa.array(list(values), pa.string()).dictionary_encode(),
        }
    )


def test_times_become_their_buckets_and_repeats_within_a_bucket_go() -> None:
    before_1970 = -HOUR - 5
    in_1970 = [(10, "a"), (HOUR - 1, "a"), (HOUR, "a"), (HOUR + 7, None), (HOUR + 9, None)]
    table = timed_table([*in_1970, (before_1970, "b"), (-HOUR, "b")])

    reduced = distinct_dictionary_rows(table, {"time": HOUR})

    assert reduced is not None
    rows = sorted(
        zip(
            reduced.column("time").cast(pa.int64()).to_pylist(),
            reduced.column("value").cast(pa.string()).to_pylist(),
            strict=True,
        ),
        key=repr,
    )
    assert rows == sorted(
        [(0, "a"), (HOUR, "a"), (HOUR, None), (-2 * HOUR, "b"), (-HOUR, "b")], key=repr
    )


def test_a_missing_time_keeps_the_batch_whole() -> None:
    table = pa.table(
        {
            "time": pa.array([1, None, 1], pa.timestamp("ns", tz="UTC")),
            "value": pa.array(["a", "a", "a"]).dictionary_encode(),
        }
    )
    reduced = distinct_dictionary_rows(table, {"time": HOUR})
    assert reduced is not None
    assert reduced.equals(table)
