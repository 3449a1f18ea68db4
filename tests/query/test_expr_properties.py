"""Properties: no input breaks the parser, and printed trees parse back to themselves."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.query.expr import (
    AGGREGATES,
    EXPR_ADAPTER,
    STANDARD_FIELD_TYPES,
    Aggregate,
    And,
    ArgKind,
    Compare,
    CompareOp,
    Exists,
    Expr,
    ExpressionError,
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
    parse_aggregate,
    parse_condition,
    parse_filter,
    to_text,
    without_spans,
)
from mfq.query.expr.ast import children, walk

Parse = Callable[[str, Mapping[str, FieldType] | None], object]
PARSERS: list[Parse] = [parse_filter, parse_condition, parse_aggregate]
SCHEMA: Mapping[str, FieldType] = {**STANDARD_FIELD_TYPES, "flag": FieldType.BOOLEAN}

# -- arbitrary text ---------------------------------------------------------------------

# Pieces of the language, so random text often gets deep into the grammar.
PIECES = [
    *"abcs_.()'\"`\\,=!<>~- 0123456789eE\n\x00\x1b\u2028é日",
    "and ",
    "or ",
    "not ",
    " in ",
    " is ",
    "null",
    "true",
    "count",
    "rate",
    "p95(",
    "ratio(",
    "sum(",
    "exists(",
    "timestamp",
    "duration_ms",
    "status",
    "flag",
    " contains ",
    " startswith ",
    " as ",
    "'2026-11-03'",
    "'('",
]
grammar_text = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=400)
@given(
    text=st.one_of(st.text(), grammar_text),
    parse=st.sampled_from(PARSERS),
    schema=st.sampled_from([None, SCHEMA]),
)
def test_any_text_parses_or_raises_expression_error_only(
    text: str, parse: Parse, schema: Mapping[str, FieldType] | None
) -> None:
    try:
        parsed = parse(text, schema)
    except ExpressionError as err:
        line = str(err)
        assert line.splitlines() == [line]
        assert line.startswith(f"bad expression at column {err.position + 1}: ")
        assert 0 <= err.position <= len(text)
        expression, caret = err.caret_lines()
        assert caret.endswith("^")
        assert caret.strip() == "^"
        assert "\n" not in expression
    else:
        assert isinstance(parsed, Node | NamedAggregate)


@settings(max_examples=200)
@given(text=grammar_text, parse=st.sampled_from(PARSERS))
def test_every_parsed_node_spans_text_inside_the_input(text: str, parse: Parse) -> None:
    try:
        parsed = parse(text, None)
    except ExpressionError:
        return
    root = parsed.aggregate if isinstance(parsed, NamedAggregate) else parsed
    assert isinstance(root, Node)
    for node in walk(root):
        start, end = node.span
        assert 0 <= start < end <= len(text)


# -- generated trees --------------------------------------------------------------------

# Field names: plain ones, ones that need backquotes, and arbitrary text. Standard fields
# are left out because, even without a schema, their types are checked.
names = st.one_of(
    st.sampled_from(
        ["region", "http.route", "a_b.c2", "user id", "and", "count", "Rate", "x`y", "b\\s", "é"]
    ),
    st.text(min_size=1),
).filter(lambda name: name not in STANDARD_FIELD_TYPES)
fields = names.map(lambda name: Field(name=name))
plain_values = st.one_of(
    st.text(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
literals = plain_values.map(Literal.of)
times = st.datetimes(
    min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31), timezones=st.just(UTC)
).map(Literal.of)
compare_ops = st.sampled_from(list(CompareOp))


def _compare(op: CompareOp, left: Node, right: Node) -> Compare:
    return Compare.model_validate({"op": op, "left": left, "right": right})


def predicates(operands: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    """Every kind of test, on operands drawn from ``operands``."""
    timestamp = Field(name="timestamp")
    return st.one_of(
        st.builds(_compare, compare_ops, operands, st.one_of(literals, fields)),
        st.builds(_compare, compare_ops, literals, fields),
        st.builds(_compare, compare_ops, st.just(timestamp), times),
        st.builds(
            lambda operand, values, negated: InList.model_validate(
                {"operand": operand, "values": values, "negated": negated}
            ),
            operands,
            st.lists(literals, min_size=1, max_size=4).map(tuple),
            st.booleans(),
        ),
        st.builds(
            lambda operand, op, pattern: Match.model_validate(
                {"operand": operand, "op": op, "pattern": pattern}
            ),
            operands,
            st.sampled_from([MatchOp.CONTAINS, MatchOp.STARTSWITH]),
            st.text(),
        ),
        st.builds(
            lambda operand, pattern: Match.model_validate(
                {"operand": operand, "op": MatchOp.REGEX, "pattern": pattern}
            ),
            operands,
            st.text().map(re.escape),
        ),
        st.builds(Exists, field=names),
        st.builds(
            lambda operand, negated: IsNull.model_validate(
                {"operand": operand, "negated": negated}
            ),
            operands,
            st.booleans(),
        ),
    )


def combined(leaves: st.SearchStrategy[Node], depth: int) -> st.SearchStrategy[Node]:
    """``leaves`` combined with and/or/not, nested at most ``depth`` levels."""
    if depth == 0:
        return leaves
    inner = combined(leaves, depth - 1)
    items = st.lists(inner, min_size=2, max_size=3).map(tuple)
    return st.one_of(
        leaves,
        items.map(lambda found: And(items=found)),
        items.map(lambda found: Or(items=found)),
        inner.map(lambda found: Not(item=found)),
    )


filters = combined(predicates(fields), depth=3)


def aggregates_of(spec_name: str, filter_arg: Node, use_filter: bool, field: str) -> Aggregate:
    spec = AGGREGATES[spec_name]
    if spec.takes_field:
        return Aggregate(func=spec.name, field=field)
    if spec.args is ArgKind.FILTER or (spec.args is ArgKind.OPTIONAL_FILTER and use_filter):
        return Aggregate.model_validate({"func": spec.name, "arg": filter_arg})
    return Aggregate(func=spec.name)


aggregates = st.builds(
    aggregates_of,
    st.sampled_from(sorted(AGGREGATES)),
    combined(predicates(fields), depth=1),
    st.booleans(),
    names,
)
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
).map(Literal.of)
conditions = combined(
    st.one_of(
        predicates(fields),
        st.builds(_compare, compare_ops, aggregates, numbers),
        st.builds(_compare, compare_ops, aggregates, aggregates),
    ),
    depth=2,
)


@settings(max_examples=300)
@given(filters)
def test_filter_trees_round_trip_through_text(tree: Node) -> None:
    text = to_text(tree)
    assert without_spans(parse_filter(text)) == tree
    assert to_text(parse_filter(text)) == text


@settings(max_examples=300)
@given(conditions)
def test_condition_trees_round_trip_through_text(tree: Node) -> None:
    text = to_text(tree)
    assert without_spans(parse_condition(text)) == tree


@given(aggregates, st.text(min_size=1))
def test_named_aggregates_round_trip_through_text(aggregate: Aggregate, name: str) -> None:
    named = NamedAggregate(aggregate=aggregate, name=name)
    parsed = parse_aggregate(to_text(named))
    assert parsed.name == name
    assert without_spans(parsed.aggregate) == aggregate


@given(st.one_of(filters, conditions))
def test_trees_round_trip_through_json(tree: Node) -> None:
    expr: Expr = EXPR_ADAPTER.validate_python(tree)
    assert EXPR_ADAPTER.validate_json(EXPR_ADAPTER.dump_json(expr)) == tree


def _every_node(node: Node) -> list[Node]:
    """``walk`` written plainly: the node, then each child's nodes, in order."""
    return [node, *(found for child in children(node) for found in _every_node(child))]


@given(st.one_of(filters, conditions))
def test_walk_meets_every_node_once_in_order(tree: Node) -> None:
    """``walk`` yields leaves without walking them; what it meets is as a plain walk's."""
    walked = list(walk(tree))
    assert [id(node) for node in walked] == [id(node) for node in _every_node(tree)]
    assert all(not list(children(node)) for node in walked if type(node) in {Literal, Field})
