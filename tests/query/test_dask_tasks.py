"""What the Dask engine's tasks keep from one file to the next: the filter compiled once,
the masks compiled once per schema, and a token of their own for Dask to name their
collections by (not a pickle of the whole request, thousands of ids with a funnel's
``--why``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from dask.base import tokenize

from mfq.query.compile import compile_filter
from mfq.query.engines import dask_tasks
from mfq.query.engines.dask_tasks import FileRead, FileRows, RowShape
from mfq.query.expr import Expr, parse_filter
from mfq.query.timerange import TimeRange

SCHEMA = pa.schema(
    [
        ("timestamp", pa.timestamp("ns", tz="UTC")),
        ("service", pa.string()),
        ("duration_ms", pa.float64()),
        ("retries", pa.int64()),
        ("ok", pa.bool_()),
    ]
)
TABLE = pa.table(
    {
        "timestamp": pa.array(
            [datetime(2026, 11, 19, hour, tzinfo=UTC) for hour in (1, 2, 3, 4)],
            pa.timestamp("ns", tz="UTC"),
        ),
        "service": ["api", "db", None, "web"],
        "duration_ms": [1.5, 2.0, 3.25, None],
        "retries": [0, 1, 2, 3],
        "ok": [True, False, None, True],
    },
    schema=SCHEMA,
)


def _rows(condition: str) -> list[int]:
    """The indices of ``TABLE``'s rows the condition keeps."""
    mask = ds.dataset(TABLE).to_table(
        columns={"m": compile_filter(parse_filter(condition), SCHEMA)}
    )["m"]
    return [i for i, kept in enumerate(pc.fill_null(mask, False).to_pylist()) if kept]


def test_membership_of_every_kind_of_literal_is_as_before() -> None:
    """Lists are built from the literals' values (not one Arrow scalar each): the same
    rows for text, integers, floats, booleans and times, nulls and negation as SQL has
    them."""
    assert _rows("service in ('db', 'web', 'nope')") == [1, 3]
    assert _rows("service not in ('db', 'web')") == [0]  # a null is neither
    assert _rows("retries in (1, 3, 7)") == [1, 3]
    assert _rows("retries in (1.0, 2.5)") == [1]
    assert _rows("duration_ms in (2, 3.25)") == [1, 2]
    assert _rows("ok in (false)") == [1]
    assert _rows("timestamp in ('2026-11-19T02:00:00Z', '2026-11-19T04:00:00Z')") == [1, 3]
    many = ", ".join(f"'s{i}'" for i in range(5000))
    assert _rows(f"service in ({many}, 'api')") == [0]


def _read(where: str) -> FileRead:
    return FileRead(SCHEMA, (parse_filter(where),), TimeRange(), tuple(SCHEMA.names))


def test_the_filter_is_compiled_once_for_every_file() -> None:
    read = _read("service in ('api', 'db')")
    assert read.predicate() is read.predicate()


def test_masks_are_compiled_once_per_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []

    def counting(expr: Expr, schema: pa.Schema) -> pc.Expression:
        compiled.append(str(expr))
        return compile_filter(expr, schema)

    monkeypatch.setattr(dask_tasks, "compile_filter", counting)
    masks = (parse_filter("retries > 0"), parse_filter("service = 'api'"))
    shape = RowShape(keys=("service",), weighted=False, masks=masks)
    derived = [shape.derive(TABLE) for _ in range(3)]
    assert len(compiled) == 2
    assert derived[0].equals(derived[2])
    assert derived[0].column(dask_tasks.mask_column(0)).to_pylist() == [False, True, True, True]
    assert derived[0].column(dask_tasks.mask_column(1)).to_pylist() == [True, False, False, False]
    shape.derive(TABLE.cast(SCHEMA.set(2, pa.field("duration_ms", pa.float32()))))
    assert len(compiled) == 4  # another schema, compiled anew


def test_each_task_has_a_token_of_its_own() -> None:
    """Two computations never share a Dask name, even of equal requests; one keeps its
    name (Dask asks for it more than once)."""
    read = _read("service = 'api'")
    shape = RowShape(keys=("service",), weighted=True)
    first, second = FileRows(read, shape), FileRows(read, shape)
    assert first == second  # the token takes no part in equality
    assert tokenize(first) == tokenize(first)
    assert tokenize(first) != tokenize(second)
