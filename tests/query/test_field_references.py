"""The fields an expression reads are found once: per expression node (remembered), and
once per filter mask on a wide table (not once per column of the table)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mfq.query import expr as expr_module
from mfq.query.engines import rows
from mfq.query.expr import parse_filter, referenced_fields


def test_fields_of_a_node_are_found_once_and_handed_out_as_copies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    condition = parse_filter("status = 'error' and `payload.size` > 3")
    walks = []
    real_walk = expr_module.walk

    def counted(node: object) -> object:
        walks.append(node)
        return real_walk(node)  # type: ignore[arg-type]

    monkeypatch.setattr(expr_module, "walk", counted)
    expr_module._fields_read.cache_clear()
    first = referenced_fields(condition)
    assert first == {"status", "payload.size"}
    first.add("changed by the caller")
    for _ in range(500):
        assert referenced_fields(condition) == {"status", "payload.size"}
    assert len(walks) == 1


def test_a_mask_on_a_wide_table_looks_its_fields_up_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = pa.table({f"f{index}": [index, index + 1] for index in range(300)})
    calls = []

    def counted(expr: object) -> set[str]:
        calls.append(expr)
        return referenced_fields(expr)  # type: ignore[arg-type]

    monkeypatch.setattr(rows, "referenced_fields", counted)
    mask = rows.evaluate_mask(table, parse_filter("f7 > 7"))
    assert mask.to_pylist() == [False, True]
    assert len(calls) == 1  # once per column (300) before
