"""File summaries: grouped by the engine's plan nodes without importing its Python module,
the same rows in the same order as ``Table.group_by``."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.store.summary import EVENTS, SUMMARY_FIELDS, WEIGHT, read_summary, summarise, summary_table


def _by_group_by(table: pa.Table) -> pa.Table:
    """The summary as ``Table.group_by`` computes it (what ingest wrote before)."""
    fields = [name for name in SUMMARY_FIELDS if name in table.column_names]
    if "sample_rate" in table.column_names:
        weight = table.column("sample_rate").fill_null(1)
    else:
        weight = pa.repeat(pa.scalar(1, pa.int64()), table.num_rows)
    work = pa.table({**{name: table.column(name) for name in fields}, WEIGHT: weight})
    grouped = work.group_by(fields, use_threads=False)
    summary = grouped.aggregate([(WEIGHT, "sum"), (WEIGHT, "count")])
    return summary.rename_columns([*fields, WEIGHT, EVENTS])


def test_a_summary_counts_each_combination_in_order_of_first_appearance() -> None:
    table = pa.table(
        {
            "type": ["a", "b", "a", None, "b", "a"],
            "service": ["x", "x", "x", "y", "x", None],
            "sample_rate": pa.array([None, 10, 2, None, None, 5], pa.int64()),
        }
    )
    assert summary_table(table).to_pylist() == [
        {"type": "a", "service": "x", WEIGHT: 3, EVENTS: 2},
        {"type": "b", "service": "x", WEIGHT: 11, EVENTS: 2},
        {"type": None, "service": "y", WEIGHT: 1, EVENTS: 1},
        {"type": "a", "service": None, WEIGHT: 5, EVENTS: 1},
    ]


def test_a_table_without_summarised_fields_has_one_row_of_totals() -> None:
    table = pa.table({"message": ["m", "n", "o"]})
    assert summary_table(table).to_pylist() == [{WEIGHT: 3, EVENTS: 3}]


_values = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "ü"]))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_values, _values, _values, st.one_of(st.none(), st.integers(1, 1000))),
        max_size=3000,
    ),
    chunks=st.integers(1, 3),
    fields=st.lists(st.sampled_from(SUMMARY_FIELDS[:3]), unique=True, max_size=3),
)
def test_the_summary_equals_table_group_by(
    rows: list[tuple[str | None, str | None, str | None, int | None]],
    chunks: int,
    fields: list[str],
) -> None:
    columns = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    data = {name: pa.array(columns[i], pa.string()) for i, name in enumerate(SUMMARY_FIELDS[:3])}
    whole = pa.table(
        {**{n: data[n] for n in fields}, "sample_rate": pa.array(columns[3], pa.int64())}
    )
    step = max(1, len(rows) // chunks)
    table = pa.Table.from_batches(
        [b for i in range(0, len(rows), step) for b in whole.slice(i, step).to_batches()],
        schema=whole.schema,
    )
    assert summary_table(table).equals(_by_group_by(table))
    blob = summarise(table)
    if blob is not None:
        assert read_summary(blob).equals(_by_group_by(table))


def test_summarising_leaves_arrow_s_query_engine_module_unimported() -> None:
    # pyarrow.acero imports pyarrow.dataset and its Parquet, CSV and encryption modules:
    # 0.15-0.2 s holding the interpreter's lock in the middle of an ingest.
    code = (
        "import sys, pyarrow as pa\n"
        "from mfq.store.summary import summarise\n"
        "summarise(pa.table({'type': ['a', 'b', 'a']}))\n"
        "print(sorted({'pyarrow.acero', 'pyarrow.dataset'} & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
