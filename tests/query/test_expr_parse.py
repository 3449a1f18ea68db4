"""The expression language parses as the spec describes: operators, precedence, literals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from mfq.query.expr import (
    EXPR_ADAPTER,
    Aggregate,
    And,
    Compare,
    CompareOp,
    Exists,
    Expr,
    Field,
    FieldType,
    InList,
    IsNull,
    Literal,
    Match,
    MatchOp,
    NamedAggregate,
    Node,
    Not,
    Or,
    aggregates_in,
    parse_aggregate,
    parse_condition,
    parse_filter,
    referenced_fields,
    to_text,
    without_spans,
)

SCHEMA: Mapping[str, FieldType] = {
    "timestamp": FieldType.TIMESTAMP,
    "received_at": FieldType.TIMESTAMP,
    "type": FieldType.STRING,
    "service": FieldType.STRING,
    "status": FieldType.STRING,
    "duration_ms": FieldType.FLOAT,
    "http_status": FieldType.INTEGER,
    "http.route": FieldType.STRING,
    "error.code": FieldType.STRING,
    "user id": FieldType.STRING,
    "is_admin": FieldType.BOOLEAN,
}


def f(name: str) -> Field:
    return Field(name=name)


def lit(value: str | int | float | bool | datetime | None) -> Literal:
    return Literal.of(value)


def cmp(left: Node, op: str, right: Node) -> Compare:
    return Compare.model_validate({"op": op, "left": left, "right": right})


def same(parsed: Node, expected: Node) -> bool:
    return without_spans(parsed) == without_spans(expected)


# -- filters: text → tree ---------------------------------------------------------------

FILTER_TREES: list[tuple[str, Node]] = [
    ("status = 'error'", cmp(f("status"), "=", lit("error"))),
    ("status != 'ok'", cmp(f("status"), "!=", lit("ok"))),
    ("status == 'ok'", cmp(f("status"), "=", lit("ok"))),
    ("status <> 'ok'", cmp(f("status"), "!=", lit("ok"))),
    ("duration_ms < 5", cmp(f("duration_ms"), "<", lit(5))),
    ("duration_ms <= 5.5", cmp(f("duration_ms"), "<=", lit(5.5))),
    ("duration_ms > -1", cmp(f("duration_ms"), ">", lit(-1))),
    ("duration_ms >= 1e3", cmp(f("duration_ms"), ">=", lit(1000.0))),
    ("duration_ms>=1E-3", cmp(f("duration_ms"), ">=", lit(0.001))),
    ("duration_ms > -2.5e+2", cmp(f("duration_ms"), ">", lit(-250.0))),
    ("5 < duration_ms", cmp(lit(5), "<", f("duration_ms"))),
    ("http_status in (500, 502)", InList(operand=f("http_status"), values=(lit(500), lit(502)))),
    (
        "http_status not in (200)",
        InList(operand=f("http_status"), values=(lit(200),), negated=True),
    ),
    (
        "service IN ('a', \"b\")",
        InList(operand=f("service"), values=(lit("a"), lit("b"))),
    ),
    (
        "service contains 'pay'",
        Match(op=MatchOp.CONTAINS, operand=f("service"), pattern="pay"),
    ),
    (
        "service startswith 'pay'",
        Match(op=MatchOp.STARTSWITH, operand=f("service"), pattern="pay"),
    ),
    ("service ~ '^pay.*$'", Match(op=MatchOp.REGEX, operand=f("service"), pattern="^pay.*$")),
    ("service ~ '\\d+'", Match(op=MatchOp.REGEX, operand=f("service"), pattern="\\d+")),
    ("exists(error.code)", Exists(field="error.code")),
    ("exists(`user id`)", Exists(field="user id")),
    ("status is null", IsNull(operand=f("status"))),
    ("status is not null", IsNull(operand=f("status"), negated=True)),
    ("is_admin = true", cmp(f("is_admin"), "=", lit(True))),
    ("is_admin != FALSE", cmp(f("is_admin"), "!=", lit(False))),
    ("http.route = '/orders'", cmp(f("http.route"), "=", lit("/orders"))),
    ("`user id` = 'u1'", cmp(f("user id"), "=", lit("u1"))),
    ("`http.route` = '/x'", cmp(f("http.route"), "=", lit("/x"))),
    ("(status = 'a')", cmp(f("status"), "=", lit("a"))),
    ("((status = 'a'))", cmp(f("status"), "=", lit("a"))),
]


@pytest.mark.parametrize(("text", "expected"), FILTER_TREES, ids=[t for t, _ in FILTER_TREES])
def test_filter_parses_to_the_expected_tree(text: str, expected: Node) -> None:
    assert same(parse_filter(text, SCHEMA), expected)


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    parsed = parse_filter("not a = 1 and b = 2 or c = 3")
    expected = Or(
        items=(
            And(items=(Not(item=cmp(f("a"), "=", lit(1))), cmp(f("b"), "=", lit(2)))),
            cmp(f("c"), "=", lit(3)),
        )
    )
    assert same(parsed, expected)


def test_parentheses_override_precedence_and_stay_nested() -> None:
    parsed = parse_filter("not (a = 1 and (b = 2 or c = 3))")
    inner = Or(items=(cmp(f("b"), "=", lit(2)), cmp(f("c"), "=", lit(3))))
    expected = Not(item=And(items=(cmp(f("a"), "=", lit(1)), inner)))
    assert same(parsed, expected)


def test_a_chain_of_ands_is_one_node_with_every_item() -> None:
    parsed = parse_filter("a = 1 and b = 2 AND c = 3 And d = 4")
    assert isinstance(parsed, And)
    assert len(parsed.items) == 4


def test_not_not_is_two_nots() -> None:
    parsed = parse_filter("NOT not a = 1")
    assert same(parsed, Not(item=Not(item=cmp(f("a"), "=", lit(1)))))


# -- canonical text ---------------------------------------------------------------------

CANONICAL: list[tuple[str, str]] = [
    ("status='error'", "status = 'error'"),
    ('status = "it\'s"', "status = 'it\\'s'"),
    ("status = 'it\\'s'", "status = 'it\\'s'"),
    ('status = "say \\"hi\\""', "status = 'say \"hi\"'"),
    ("status = 'back\\\\slash'", "status = 'back\\\\slash'"),
    ("status = 'keep\\n'", "status = 'keep\\\\n'"),
    ("x = 007", "x = 7"),
    ("x = -0", "x = 0"),
    ("x = 1.50", "x = 1.5"),
    ("x = 1e20", "x = 1e+20"),
    ("x = -9223372036854775808", "x = -9223372036854775808"),
    ("x = 9223372036854775807", "x = 9223372036854775807"),
    ("x IS NULL or x is NOT NULL", "x is null or x is not null"),
    ("x = TRUE", "x = true"),
    ("`and` = 1", "`and` = 1"),
    ("`count` = 1", "`count` = 1"),
    ("`a\\`b` = 1", "`a\\`b` = 1"),
    ("`plain` = 1", "plain = 1"),
    ("`a.b` = 1", "a.b = 1"),
    ("`a..b` = 1", "`a..b` = 1"),
    ("`1a` = 1", "`1a` = 1"),
    ("café = 1", "café = 1"),
    ("a.b2.c_d = 1", "a.b2.c_d = 1"),
    ("x ~ 'a\\\\d'", "x ~ 'a\\\\d'"),
    ("x CONTAINS 'y' or x StartsWith 'z'", "x contains 'y' or x startswith 'z'"),
    ("x in ( 1 ,2,  3 )", "x in (1, 2, 3)"),
    ("x NOT IN ('a')", "x not in ('a')"),
    ("EXISTS ( a )", "exists(a)"),
    ("not (a = 1 or b = 2)", "not (a = 1 or b = 2)"),
    ("(a = 1 and b = 2) and c = 3", "(a = 1 and b = 2) and c = 3"),
    ("a = 1 or (b = 2 or c = 3)", "a = 1 or (b = 2 or c = 3)"),
    ("(a = 1 or b = 2) and c = 3", "(a = 1 or b = 2) and c = 3"),
    ("a = 1 and b = 2 or c = 3", "a = 1 and b = 2 or c = 3"),
    ("a = b", "a = b"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL, ids=[t for t, _ in CANONICAL])
def test_filter_prints_back_in_canonical_form(text: str, canonical: str) -> None:
    parsed = parse_filter(text)
    assert to_text(parsed) == canonical
    assert same(parse_filter(canonical), parsed)


def test_string_escapes_decode_only_backslash_and_quotes() -> None:
    parsed = parse_filter("x = 'a\\'b\\\\c\\d\\\"e\\`f'")
    assert isinstance(parsed, Compare)
    assert parsed.right == Literal.of("a'b\\c\\d\"e`f", parsed.right.span)


def test_strings_may_hold_any_character_including_newlines() -> None:
    parsed = parse_filter("x = 'line one\nline two\x00'")
    assert isinstance(parsed, Compare)
    assert isinstance(parsed.right, Literal)
    assert parsed.right.value == "line one\nline two\x00"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("-42", -42),
        ("3.25", 3.25),
        ("-0.5", -0.5),
        ("1e3", 1000.0),
        ("2.5E-2", 0.025),
        ("-1e+2", -100.0),
    ],
)
def test_number_literals_keep_int_and_float_apart(text: str, value: int | float) -> None:
    parsed = parse_filter(f"x = {text}")
    assert isinstance(parsed, Compare)
    assert isinstance(parsed.right, Literal)
    assert parsed.right.value == value
    assert type(parsed.right.value) is type(value)


def test_keywords_are_case_insensitive_but_field_names_are_not() -> None:
    upper = parse_filter("Status IS NOT NULL AND NOT Service IN ('A') OR EXISTS(X)")
    lower = parse_filter("Status is not null and not Service in ('A') or exists(X)")
    assert same(upper, lower)
    assert referenced_fields(upper) == {"Status", "Service", "X"}


# -- time literals ----------------------------------------------------------------------

TIMES: list[tuple[str, datetime]] = [
    ("2026-11-03T10:00Z", datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
    ("2026-11-03T10:00:30Z", datetime(2026, 11, 3, 10, 0, 30, tzinfo=UTC)),
    ("2026-11-03T12:00+02:00", datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
    ("2026-11-03T05:00:00-0500", datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
    ("2026-11-03T10:00:00", datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
    ("2026-11-03 10:00:00", datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
    ("2026-11-03T10:00:00.123456Z", datetime(2026, 11, 3, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2026-11-03T10:00:00.123456789Z", datetime(2026, 11, 3, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2026-11-03", datetime(2026, 11, 3, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), TIMES, ids=[t for t, _ in TIMES])
def test_string_compared_with_a_timestamp_field_is_an_aware_utc_time(
    text: str, expected: datetime
) -> None:
    parsed = parse_filter(f"timestamp >= '{text}'", SCHEMA)
    assert isinstance(parsed, Compare)
    assert isinstance(parsed.right, Literal)
    assert parsed.right.value == expected
    assert parsed.right.value.tzinfo is UTC


def test_time_literal_on_the_left_and_in_lists_and_without_a_schema() -> None:
    parsed = parse_filter("'2026-11-03' <= timestamp and received_at in ('2026-11-04')")
    expected = And(
        items=(
            cmp(lit(datetime(2026, 11, 3, tzinfo=UTC)), "<=", f("timestamp")),
            InList(operand=f("received_at"), values=(lit(datetime(2026, 11, 4, tzinfo=UTC)),)),
        )
    )
    assert same(parsed, expected)


def test_time_literal_prints_as_iso_utc_with_z() -> None:
    parsed = parse_filter("timestamp < '2026-11-03T12:00:00.5+02:00'")
    assert to_text(parsed) == "timestamp < '2026-11-03T10:00:00.500000Z'"


def test_a_string_compared_with_a_string_field_stays_a_string() -> None:
    parsed = parse_filter("service = '2026-11-03'", SCHEMA)
    assert isinstance(parsed, Compare)
    assert parsed.right == Literal.of("2026-11-03", parsed.right.span)


def test_without_a_schema_unknown_fields_are_accepted_untyped() -> None:
    parsed = parse_filter("anything = 'x' and other > 3 and third ~ 'y'")
    assert referenced_fields(parsed) == {"anything", "other", "third"}


# -- spans ------------------------------------------------------------------------------


def test_every_node_spans_its_source_text() -> None:
    text = "not (status = 'a' or http_status in (1, 2)) and exists(x)"
    parsed = parse_filter(text)
    assert isinstance(parsed, And)
    assert parsed.span == (0, len(text))
    negation, exists = parsed.items
    assert text[slice(*negation.span)] == "not (status = 'a' or http_status in (1, 2))"
    assert text[slice(*exists.span)] == "exists(x)"
    assert isinstance(negation, Not)
    assert text[slice(*negation.item.span)] == "(status = 'a' or http_status in (1, 2))"
    assert isinstance(negation.item, Or)
    compare, in_list = negation.item.items
    assert text[slice(*compare.span)] == "status = 'a'"
    assert isinstance(compare, Compare)
    assert text[slice(*compare.left.span)] == "status"
    assert text[slice(*compare.right.span)] == "'a'"
    assert text[slice(*in_list.span)] == "http_status in (1, 2)"


# -- conditions and aggregates -----------------------------------------------------------

CONDITIONS: list[tuple[str, Node]] = [
    ("count >= 1", cmp(Aggregate(func="count"), ">=", lit(1))),
    ("COUNT() >= 1", cmp(Aggregate(func="count"), ">=", lit(1))),
    ("rate > 0.5", cmp(Aggregate(func="rate"), ">", lit(0.5))),
    ("rate() > 0.5", cmp(Aggregate(func="rate"), ">", lit(0.5))),
    (
        "count(type = 'order.created') >= 1",
        cmp(Aggregate(func="count", arg=cmp(f("type"), "=", lit("order.created"))), ">=", lit(1)),
    ),
    (
        "ratio(status = 'error') < 0.02",
        cmp(Aggregate(func="ratio", arg=cmp(f("status"), "=", lit("error"))), "<", lit(0.02)),
    ),
    ("p95(duration_ms) < 800", cmp(Aggregate(func="p95", field="duration_ms"), "<", lit(800))),
    ("P999(duration_ms) < 1", cmp(Aggregate(func="p999", field="duration_ms"), "<", lit(1))),
    ("median(duration_ms) < 1", cmp(Aggregate(func="median", field="duration_ms"), "<", lit(1))),
    ("sum(http_status) > 1", cmp(Aggregate(func="sum", field="http_status"), ">", lit(1))),
    ("avg(duration_ms) > 1", cmp(Aggregate(func="avg", field="duration_ms"), ">", lit(1))),
    ("stddev(duration_ms) > 1", cmp(Aggregate(func="stddev", field="duration_ms"), ">", lit(1))),
    (
        "count_distinct(`user id`) > 1",
        cmp(Aggregate(func="count_distinct", field="user id"), ">", lit(1)),
    ),
    (
        "min(timestamp) >= '2026-11-03'",
        cmp(Aggregate(func="min", field="timestamp"), ">=", lit(datetime(2026, 11, 3, tzinfo=UTC))),
    ),
    (
        "max(duration_ms) > min(duration_ms)",
        cmp(
            Aggregate(func="max", field="duration_ms"),
            ">",
            Aggregate(func="min", field="duration_ms"),
        ),
    ),
    (
        "service = 'api' and count > 10",
        And(
            items=(
                cmp(f("service"), "=", lit("api")),
                cmp(Aggregate(func="count"), ">", lit(10)),
            )
        ),
    ),
    ("`count` > 1", cmp(f("count"), ">", lit(1))),
    ("count is not null", IsNull(operand=Aggregate(func="count"), negated=True)),
    ("count in (1, 2)", InList(operand=Aggregate(func="count"), values=(lit(1), lit(2)))),
]


@pytest.mark.parametrize(("text", "expected"), CONDITIONS, ids=[t for t, _ in CONDITIONS])
def test_condition_parses_to_the_expected_tree(text: str, expected: Node) -> None:
    schema = {**SCHEMA, "count": FieldType.INTEGER}
    parsed = parse_condition(text, schema)
    assert same(parsed, expected)
    assert same(parse_condition(to_text(parsed), schema), parsed)


def test_a_filter_reads_a_bare_count_as_a_field_the_schema_has() -> None:
    parsed = parse_filter("count > 1", {"count": FieldType.INTEGER})
    assert same(parsed, cmp(f("count"), ">", lit(1)))


AGGREGATES: list[tuple[str, Aggregate, str]] = [
    ("count", Aggregate(func="count"), "count"),
    ("  count  ", Aggregate(func="count"), "count"),
    ("count()", Aggregate(func="count"), "count()"),
    ("p95(duration_ms)", Aggregate(func="p95", field="duration_ms"), "p95(duration_ms)"),
    (" p95( duration_ms ) ", Aggregate(func="p95", field="duration_ms"), "p95( duration_ms )"),
    ("p95(duration_ms) as p95", Aggregate(func="p95", field="duration_ms"), "p95"),
    ("p95(duration_ms) AS `p95 ms`", Aggregate(func="p95", field="duration_ms"), "p95 ms"),
    (
        "count(status = 'error') as errors",
        Aggregate(func="count", arg=cmp(f("status"), "=", lit("error"))),
        "errors",
    ),
    ("rate", Aggregate(func="rate"), "rate"),
    ("Sum(duration_ms)", Aggregate(func="sum", field="duration_ms"), "Sum(duration_ms)"),
    ("count as count", Aggregate(func="count"), "count"),
]


@pytest.mark.parametrize(
    ("text", "aggregate", "name"), AGGREGATES, ids=[t for t, _, _ in AGGREGATES]
)
def test_aggregate_is_named_by_its_alias_or_its_text_as_written(
    text: str, aggregate: Aggregate, name: str
) -> None:
    parsed = parse_aggregate(text, SCHEMA)
    assert same(parsed.aggregate, aggregate)
    assert parsed.name == name
    again = parse_aggregate(to_text(parsed), SCHEMA)
    assert again.name == name
    assert same(again.aggregate, parsed.aggregate)


def test_named_aggregate_prints_with_its_alias() -> None:
    assert to_text(parse_aggregate("p95(duration_ms) as p95")) == "p95(duration_ms) as p95"
    assert to_text(parse_aggregate("count")) == "count as `count`"


# -- helpers ----------------------------------------------------------------------------


def test_referenced_fields_include_those_inside_aggregates_and_exists() -> None:
    parsed = parse_condition(
        "count(status = 'error' and exists(error.code)) > 1 and p95(duration_ms) < 8 "
        "and service = 'a' and rate > 1"
    )
    assert referenced_fields(parsed) == {"status", "error.code", "duration_ms", "service"}
    named = parse_aggregate("count_distinct(`user id`) as users")
    assert referenced_fields(named) == {"user id"}


def test_aggregates_in_lists_every_aggregate_of_a_condition_in_order() -> None:
    parsed = parse_condition("count > 1 and ratio(status = 'e') < 0.1 or p95(duration_ms) > 1")
    assert [to_text(a) for a in aggregates_in(parsed)] == [
        "count",
        "ratio(status = 'e')",
        "p95(duration_ms)",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "not (status = 'a' or http_status in (1, 2)) and exists(x)",
        "timestamp >= '2026-11-03T10:00Z' and duration_ms < 1.5 and flag = true and x is null",
        "service ~ '\\d+' and service startswith 'a'",
    ],
)
def test_trees_survive_a_trip_through_json(text: str) -> None:
    parsed: Expr = parse_filter(text)
    assert EXPR_ADAPTER.validate_json(EXPR_ADAPTER.dump_json(parsed)) == parsed


def test_named_aggregate_survives_a_trip_through_json() -> None:
    named = parse_aggregate("count(status = 'error' and timestamp > '2026-01-01') as errors")
    assert NamedAggregate.model_validate_json(named.model_dump_json()) == named


def test_nodes_are_frozen() -> None:
    node = parse_filter("a = 1")
    with pytest.raises(ValueError, match="frozen"):
        node.span = (1, 2)  # type: ignore[misc]


def test_a_literal_must_hold_a_value_of_its_type() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        Literal.model_validate({"type": "integer", "value": "x"})
    with pytest.raises(ValueError, match="cannot hold"):
        Literal.model_validate({"type": "integer", "value": True})
    with pytest.raises(ValueError, match="timezone-aware"):
        Literal.of(datetime(2026, 1, 1))


def test_compare_op_values_are_the_operators() -> None:
    assert [op.value for op in CompareOp] == ["=", "!=", "<", "<=", ">", ">="]
