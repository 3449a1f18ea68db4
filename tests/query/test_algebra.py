"""The aggregate algebra: for every kind of aggregate, reducing parts of the rows to
states and merging the states gives what reducing all the rows at once gives (what the
Dask engine relies on), and the answer over no events is the registry's."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.errors import UsageError
from mfq.query.engines.algebra import RATE_NEEDS_RANGE, TOTAL, Algebra, Kind, algebra_of
from mfq.query.engines.dask_tasks import (
    StateInput,
    StateLayout,
    mask_column,
    part_column,
    value_column,
)
from mfq.query.expr import AGGREGATES, parse_aggregate

ALGEBRAIC = [Algebra(kind) for kind in Kind if kind not in (Kind.COUNT_DISTINCT, Kind.QUANTILE)]


def _rows(keys: list[int], values: list[float | None], weights: list[int]) -> pa.Table:
    return pa.table(
        {
            "k": pa.array(keys, pa.int64()),
            TOTAL: pa.array(weights, pa.int64()),
            mask_column(0): pa.array([v is not None and v > 0 for v in values]),
            value_column(0): pa.array(values, pa.float64()),
        }
    )


def _answers(layout: StateLayout, states: pa.Table) -> dict[int, list[object]]:
    states = states.sort_by("k")
    answers = {}
    for index, item in enumerate(layout.aggregates):
        parts = {
            part.name: states.column(part_column(index, part.name))
            for part in item.algebra.parts
            if part_column(index, part.name) in states.column_names
        }
        finished = item.algebra.finish(parts, states.column(TOTAL), 60.0, states.num_rows)
        answers[index] = pa.chunked_array([finished]).to_pylist()
    return answers


@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
            st.integers(1, 5),
        ),
        min_size=1,
        max_size=60,
    ),
    cuts=st.lists(st.integers(0, 60), max_size=4),
)
@settings(max_examples=120, deadline=None)
def test_merged_states_equal_the_states_of_all_rows(
    rows: list[tuple[int, float | None, int]], cuts: list[int]
) -> None:
    layout = StateLayout(
        keys=("k",),
        aggregates=tuple(
            StateInput(a, mask=0 if a.kind in (Kind.COUNT_IF, Kind.RATIO) else None, value=0)
            for a in ALGEBRAIC
        ),
    )
    table = _rows(*map(list, zip(*rows, strict=True)))
    whole = layout.reduce(table)
    bounds = sorted({0, len(rows), *(c for c in cuts if c < len(rows))})
    parts = [layout.reduce(table.slice(a, b - a)) for a, b in pairwise(bounds)]
    merged = layout.merge(pa.concat_tables(parts))
    expected, found = _answers(layout, whole), _answers(layout, merged)
    for index in expected:
        for a, b in zip(expected[index], found[index], strict=True):
            if a is None or (isinstance(a, float) and math.isnan(a)):
                assert b is None or (isinstance(b, float) and math.isnan(b))
            else:
                assert b == pytest.approx(a, rel=1e-9, abs=1e-6), ALGEBRAIC[index]


@pytest.mark.parametrize(
    ("text", "empty"),
    [
        ("count", 0),
        ("count(status = 'error')", 0),
        ("count_distinct(user)", 0),
        ("rate", 0.0),
        ("ratio(status = 'error')", None),
        ("sum(n)", None),
        ("avg(n)", None),
        ("min(n)", None),
        ("max(n)", None),
        ("stddev(n)", None),
        ("p95(n)", None),
    ],
)
def test_the_answer_over_no_events(text: str, empty: object) -> None:
    assert algebra_of(parse_aggregate(text).aggregate).empty == empty


def test_every_aggregate_of_the_registry_has_an_algebra() -> None:
    for name, spec in AGGREGATES.items():
        text = f"{name}(status = 'x')" if spec.args == "filter" else name
        if spec.takes_field:
            text = f"{name}(n)"
        assert algebra_of(parse_aggregate(text).aggregate).kind in set(Kind)


def test_a_rate_needs_a_time_range_said_once() -> None:
    with pytest.raises(UsageError, match=r"^rate needs a time range"):
        Algebra(Kind.RATE).finish({}, pa.array([3]), None, 1)
    assert RATE_NEEDS_RANGE.startswith("rate needs")
    assert Algebra(Kind.RATE).finish({}, pa.array([3]), 60.0, 1).to_pylist() == [0.05]
    assert np.isnan(
        Algebra(Kind.STDDEV)
        .finish({"n": pa.array([1]), "var": pa.array([0.0])}, pa.array([1]), None, 1)
        .to_pylist()[0]
    )
