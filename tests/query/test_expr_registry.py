"""The aggregate registry: one table of names, arguments, result types and docs."""

from __future__ import annotations

import pytest

from mfq.query.expr import (
    AGGREGATES,
    Aggregate,
    ArgKind,
    Compare,
    FieldType,
    aggregate_spec,
    parse_condition,
    parse_filter,
    without_spans,
)
from mfq.query.expr.registry import BARE_AGGREGATES, result_type


def test_percentiles_are_p1_to_p99_and_p999() -> None:
    percentiles = {name for name, spec in AGGREGATES.items() if spec.quantile is not None}
    assert percentiles == {f"p{n}" for n in range(1, 100)} | {"p999", "median"}
    assert AGGREGATES["p95"].quantile == 0.95
    assert AGGREGATES["p1"].quantile == 0.01
    assert AGGREGATES["p999"].quantile == 0.999
    assert AGGREGATES["median"].quantile == AGGREGATES["p50"].quantile == 0.5
    assert "p0" not in AGGREGATES
    assert "p100" not in AGGREGATES


def test_every_aggregate_the_spec_names_is_registered_with_a_one_line_doc() -> None:
    spec_names = {"count", "count_distinct", "sum", "avg", "min", "max", "median", "stddev"}
    assert spec_names | {"ratio", "rate", "p50", "p999"} <= set(AGGREGATES)
    for name, spec in AGGREGATES.items():
        assert spec.name == name == name.lower()
        assert spec.doc
        assert "\n" not in spec.doc


def test_weighting_by_sample_rate_follows_the_spec() -> None:
    weighted = {name for name, spec in AGGREGATES.items() if spec.weighted}
    assert weighted == {"count", "sum", "avg", "ratio", "rate"}


def test_only_count_and_rate_can_be_written_bare() -> None:
    assert {"count", "rate"} == BARE_AGGREGATES


@pytest.mark.parametrize(
    ("name", "field_type", "expected"),
    [
        ("count", None, FieldType.INTEGER),
        ("count_distinct", FieldType.STRING, FieldType.INTEGER),
        ("sum", FieldType.INTEGER, FieldType.INTEGER),
        ("sum", FieldType.FLOAT, FieldType.FLOAT),
        ("avg", FieldType.INTEGER, FieldType.FLOAT),
        ("min", FieldType.TIMESTAMP, FieldType.TIMESTAMP),
        ("max", None, None),
        ("p95", FieldType.INTEGER, FieldType.FLOAT),
        ("ratio", None, FieldType.FLOAT),
        ("rate", None, FieldType.FLOAT),
    ],
)
def test_result_type_depends_on_the_field_only_where_it_should(
    name: str, field_type: FieldType | None, expected: FieldType | None
) -> None:
    assert result_type(AGGREGATES[name], field_type) == expected


def test_lookup_is_case_insensitive() -> None:
    spec = aggregate_spec("P95")
    assert spec is not None
    assert spec.name == "p95"
    assert aggregate_spec("nope") is None
    assert aggregate_spec("ＣＯＵＮＴ") is None


def test_arg_kinds_match_the_grammar() -> None:
    assert AGGREGATES["count"].args is ArgKind.OPTIONAL_FILTER
    assert AGGREGATES["ratio"].args is ArgKind.FILTER
    assert AGGREGATES["rate"].args is ArgKind.NONE
    assert AGGREGATES["count_distinct"].args is ArgKind.ANY_FIELD
    assert AGGREGATES["min"].args is ArgKind.ORDERED_FIELD
    assert AGGREGATES["stddev"].args is ArgKind.NUMERIC_FIELD


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"func": "nope"}, "unknown aggregate 'nope'"),
        ({"func": "ratio"}, "ratio takes a filter"),
        ({"func": "sum"}, "sum takes a field"),
        ({"func": "rate", "field": "x"}, "rate takes no argument"),
        ({"func": "count", "field": "x"}, "count takes no argument or a filter"),
    ],
)
def test_hand_built_aggregate_must_fit_the_registry(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Aggregate.model_validate(fields)


def test_hand_built_aggregate_with_a_filter_is_accepted() -> None:
    arg = parse_filter("status = 'error'")
    aggregate = Aggregate.model_validate({"func": "ratio", "arg": arg})
    parsed = parse_condition("ratio(status = 'error') > 0")
    assert isinstance(parsed, Compare)
    assert without_spans(parsed.left) == without_spans(aggregate)


def test_every_aggregate_is_documented() -> None:
    """docs/query.md lists every aggregate of the registry (percentiles as a family)."""
    from pathlib import Path

    from mfq.query.expr import AGGREGATES

    text = (Path(__file__).resolve().parents[2] / "docs" / "query.md").read_text()
    for name, spec in AGGREGATES.items():
        if spec.quantile is not None and name not in ("median", "p999"):
            continue
        assert f"`{name}" in text, name
    assert "`p1(F)` … `p99(F)`" in text


def test_every_function_is_documented() -> None:
    """docs/query.md lists every row function of the registry, as its signature."""
    from pathlib import Path

    from mfq.query.expr import FUNCTIONS

    text = (Path(__file__).resolve().parents[2] / "docs" / "query.md").read_text()
    for spec in FUNCTIONS.values():
        assert f"`{spec.signature}`" in text or f"`{spec.name}(" in text, spec.name
