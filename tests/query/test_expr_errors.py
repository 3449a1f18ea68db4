"""Every mistake is an ExpressionError (exit 2) with one exact line that names the column."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from mfq.errors import ExitCode, UsageError
from mfq.query.expr import (
    ExpressionError,
    FieldType,
    UnknownField,
    parse_aggregate,
    parse_condition,
    parse_filter,
)

SCHEMA: Mapping[str, FieldType] = {
    "timestamp": FieldType.TIMESTAMP,
    "type": FieldType.STRING,
    "service": FieldType.STRING,
    "status": FieldType.STRING,
    "duration_ms": FieldType.FLOAT,
    "http_status": FieldType.INTEGER,
    "error.code": FieldType.STRING,
    "is_admin": FieldType.BOOLEAN,
}

Parse = Callable[[str, Mapping[str, FieldType] | None], object]
PARSERS: dict[str, Parse] = {
    "filter": parse_filter,
    "condition": parse_condition,
    "aggregate": parse_aggregate,
}

# (parser, text, 0-based position, message). The column in the message is position + 1.
MISTAKES: list[tuple[str, str, int, str]] = [
    # empty input
    ("filter", "", 0, "empty expression"),
    ("filter", "   ", 3, "empty expression"),
    ("aggregate", "", 0, "empty expression"),
    # unbalanced parentheses, trailing junk
    ("filter", "(status = 'a'", 13, "missing ')' to match the '(' at column 1"),
    ("filter", "((status = 'a')", 15, "missing ')' to match the '(' at column 1"),
    ("filter", "status = 'a')", 12, "unmatched ')'"),
    ("condition", "count >= 1)", 10, "unmatched ')'"),
    ("filter", "status = 'a' junk", 13, "expected 'and', 'or' or the end, found 'junk'"),
    ("filter", "status = 'a' 'b'", 13, "expected 'and', 'or' or the end, found 'b'"),
    ("filter", "(status = 'a' service = 'b')", 14, "expected 'and', 'or' or ')', found 'service'"),
    # unknown function, unknown field
    ("filter", "p955(duration_ms) > 1", 0, "unknown function 'p955' — did you mean 'p95'?"),
    ("condition", "p955(duration_ms) > 1", 0, "unknown function 'p955' — did you mean 'p95'?"),
    ("filter", "lowr(service) = 'a'", 0, "unknown function 'lowr' — did you mean 'lower'?"),
    ("filter", "frobnicate(service) = 'a'", 0, "unknown function 'frobnicate'"),
    (
        "filter",
        "lower(http_status) = 'a'",
        6,
        "'lower' needs a string, not integer field 'http_status'",
    ),
    ("filter", "lower() = 'a'", 0, "'lower' takes 1 argument: lower(S)"),
    ("filter", "lower(service, type) = 'a'", 0, "'lower' takes 1 argument: lower(S)"),
    (
        "filter",
        "if(service, 1, 2) = 1",
        10,
        "expected an operator such as = or in after 'service', found ','",
    ),
    (
        "filter",
        "if(http_status > 1, 'a', 2) = 1",
        0,
        "'if' cannot mix string 'a' and integer 2",
    ),
    (
        "filter",
        "coalesce(service) = 'a'",
        0,
        "'coalesce' takes at least 2 arguments: coalesce(A, B, ...)",
    ),
    ("filter", "bucket(duration_ms, 0) = 1", 20, "'bucket' needs a positive number as its width"),
    (
        "filter",
        "bucket(duration_ms, http_status) = 1",
        20,
        "'bucket' needs a positive number as its width",
    ),
    ("filter", "regex(service, type) = 'a'", 15, "'regex' needs a quoted pattern"),
    (
        "filter",
        "regex(service, '(') = 'a'",
        15,
        "bad regular expression '(': missing ), unterminated subpattern at position 0",
    ),
    ("filter", "hour(service) = 1", 5, "'hour' needs a timestamp, not string field 'service'"),
    ("filter", "service + 1 = 1", 8, "cannot apply '+' to string field 'service' and integer 1"),
    (
        "filter",
        "timestamp + 1 > 1",
        10,
        "cannot apply '+' to timestamp field 'timestamp' and integer 1",
    ),
    (
        "filter",
        "duration_ms * 2",
        15,
        "expected an operator such as = or in after 'duration_ms * 2', found the end",
    ),
    (
        "filter",
        "duration_ms and is_admin",
        12,
        "expected an operator such as = or in after 'duration_ms', found 'and'",
    ),
    ("filter", "len(service) + ", 15, "expected a value after '+', found the end"),
    (
        "condition",
        "count + 1",
        9,
        "expected an operator such as = or in after 'count + 1', found the end",
    ),
    (
        "aggregate",
        "count / duration_ms",
        8,
        "expected an aggregate such as count or p95(duration_ms), found 'duration_ms'",
    ),
    ("aggregate", "1 + 2", 0, "expected an aggregate such as count or p95(duration_ms), found '1'"),
    ("aggregate", "cout", 0, "unknown function 'cout' — did you mean 'count'?"),
    ("filter", "stauts = 'error'", 0, "unknown field 'stauts' — did you mean 'status'?"),
    ("filter", "exists(eror.code)", 7, "unknown field 'eror.code' — did you mean 'error.code'?"),
    ("condition", "cont >= 1", 0, "unknown field 'cont' — did you mean 'count'?"),
    ("condition", "p95(nope) < 1", 4, "unknown field 'nope'"),
    # type mismatches
    (
        "filter",
        "duration_ms > 'abc'",
        14,
        "cannot compare float field 'duration_ms' with string 'abc'",
    ),
    (
        "filter",
        "'abc' < duration_ms",
        0,
        "cannot compare string 'abc' with float field 'duration_ms'",
    ),
    ("filter", "status = 1", 9, "cannot compare string field 'status' with integer 1"),
    ("filter", "is_admin = 'yes'", 11, "cannot compare boolean field 'is_admin' with string 'yes'"),
    ("filter", "timestamp > 5", 12, "cannot compare timestamp field 'timestamp' with integer 5"),
    (
        "filter",
        "http_status not in (200, 'x')",
        25,
        "cannot compare integer field 'http_status' with string 'x'",
    ),
    (
        "filter",
        "http_status contains '5'",
        0,
        "'contains' needs a string operand, not integer field 'http_status'",
    ),
    ("filter", "duration_ms ~ '5'", 0, "'~' needs a string operand, not float field 'duration_ms'"),
    (
        "condition",
        "count > 'many'",
        8,
        "cannot compare integer aggregate 'count' with string 'many'",
    ),
    (
        "condition",
        "max(timestamp) > 5",
        17,
        "cannot compare timestamp aggregate 'max(timestamp)' with integer 5",
    ),
    ("condition", "sum(service) > 1", 4, "'sum' needs a numeric field, not string field 'service'"),
    (
        "condition",
        "min(service) > 'a'",
        4,
        "'min' needs a numeric or timestamp field, not string field 'service'",
    ),
    # null is tested with `is null`
    ("filter", "status = null", 9, "use 'is null' to test for null"),
    ("filter", "status != null", 10, "use 'is not null' to test for null"),
    ("filter", "duration_ms < null", 14, "cannot compare with null using '<'"),
    ("filter", "http_status in (null)", 16, "use 'is null' to test for null"),
    # regular expressions, times
    (
        "filter",
        "service ~ '('",
        10,
        "bad regular expression '(': missing ), unterminated subpattern at position 0",
    ),
    (
        "filter",
        "service ~ 'a{99999999999}'",
        10,
        "bad regular expression 'a{99999999999}': the repetition number is too large",
    ),
    ("filter", "timestamp >= '2026-13-01'", 13, "bad time '2026-13-01'"),
    ("filter", "timestamp in ('2026-11-03', 'soon')", 28, "bad time 'soon'"),
    ("condition", "min(timestamp) < 'yesterday'", 17, "bad time 'yesterday'"),
    # strings, names, numbers, characters
    ("filter", "status = 'error", 9, "unterminated string"),
    ("filter", 'status = "error', 9, "unterminated string"),
    ("filter", "status = 'error\\'", 9, "unterminated string"),
    ("filter", "`user id = 1", 0, "unterminated field name"),
    ("filter", "`` = 1", 0, "empty field name"),
    (
        "filter",
        "http_status = 99999999999999999999",
        14,
        "number out of range '99999999999999999999'",
    ),
    ("filter", "duration_ms > 1e999", 14, "number out of range '1e999'"),
    ("filter", "duration_ms > 12ms", 14, "bad number '12ms'"),
    ("filter", "duration_ms > 1.2.3", 14, "bad number '1.2.3'"),
    ("filter", "duration_ms > 1e", 14, "bad number '1e'"),
    ("filter", "status = 'a' && service = 'b'", 13, "unexpected character '&'"),
    ("filter", "$status = 1", 0, "unexpected character '$'"),
    ("filter", "service.", 7, "unexpected character '.'"),
    ("filter", "status = 'a' \x1b[31m", 13, "unexpected character '\\x1b'"),
    # lists
    ("filter", "http_status in ()", 16, "empty list after 'in'"),
    ("filter", "http_status in 200", 15, "expected '(' after 'in', found '200'"),
    ("filter", "http_status in (200,)", 20, "expected a literal value in the list, found ')'"),
    ("filter", "http_status in (200 201)", 20, "expected ',' or ')' in the list, found '201'"),
    ("filter", "http_status in (200", 19, "missing ')' to match the '(' at column 16"),
    ("filter", "service in (status)", 12, "expected a literal value in the list, found 'status'"),
    # incomplete predicates
    (
        "filter",
        "status",
        6,
        "expected an operator such as = or in after 'status', found the end",
    ),
    ("filter", "status =", 8, "expected a value after '=', found the end"),
    ("filter", "status = = 'a'", 9, "expected a value after '=', found '='"),
    ("filter", "status = 'a' and", 16, "expected a value after 'and', found the end"),
    ("filter", "not", 3, "expected a value after 'not', found the end"),
    ("filter", "and status = 'a'", 0, "expected a value, found 'and'"),
    ("filter", "status is 'a'", 10, "expected 'null' or 'not null' after 'is', found 'a'"),
    ("filter", "status is not 'a'", 14, "expected 'null' after 'is', found 'a'"),
    ("filter", "status not 'a'", 11, "expected 'in' after 'not', found 'a'"),
    ("filter", "service contains 5", 17, "expected a quoted string after 'contains', found '5'"),
    ("filter", "service ~ service", 10, "expected a quoted string after '~', found 'service'"),
    ("filter", "exists status", 7, "expected '(' after 'exists', found 'status'"),
    ("filter", "exists(status", 13, "missing ')' to match the '(' at column 7"),
    ("filter", "exists('status')", 7, "expected a field name in 'exists(', found 'status'"),
    # aggregates where they do not belong, filters where an aggregate is required
    ("filter", "count(status = 'error') > 1", 0, "aggregate 'count' cannot be used in a filter"),
    ("filter", "count > 1", 0, "aggregate 'count' cannot be used in a filter"),
    ("filter", "p95(duration_ms) > 1", 0, "aggregate 'p95' cannot be used in a filter"),
    (
        "condition",
        "count(count > 1) > 1",
        6,
        "aggregate 'count' cannot be used inside another aggregate",
    ),
    (
        "condition",
        "ratio(p95(duration_ms) > 1) > 0",
        6,
        "aggregate 'p95' cannot be used inside another aggregate",
    ),
    (
        "aggregate",
        "status = 'error'",
        0,
        "expected an aggregate such as count or p95(duration_ms), found 'status'",
    ),
    (
        "aggregate",
        "duration_ms",
        0,
        "expected an aggregate such as count or p95(duration_ms), found 'duration_ms'",
    ),
    ("aggregate", "count >= 1", 6, "expected 'as' or the end, found '>='"),
    ("aggregate", "count as", 8, "expected a name after 'as', found the end"),
    ("aggregate", "count as x y", 11, "expected the end, found 'y'"),
    ("aggregate", "count as ''", 9, "empty name after 'as'"),
    # aggregate arguments
    ("condition", "ratio() < 0.1", 6, "'ratio' needs a filter, e.g. ratio(status = 'error')"),
    ("condition", "ratio < 0.1", 0, "aggregate 'ratio' needs an argument in parentheses"),
    ("condition", "rate(status = 'a') > 1", 5, "'rate' takes no arguments"),
    ("condition", "sum(duration_ms, http_status) > 1", 15, "'sum' takes one field"),
    ("condition", "sum() > 1", 4, "expected a field name in 'sum(', found ')'"),
    ("condition", "sum(1) > 1", 4, "expected a field name in 'sum(', found '1'"),
    ("condition", "p95(duration_ms > 800)", 16, "expected ')' to close 'p95(', found '>'"),
    ("condition", "count(", 6, "expected a value after '(', found the end"),
    ("condition", "sum(duration_ms", 15, "missing ')' to match the '(' at column 4"),
    (
        "condition",
        "count",
        5,
        "expected an operator such as = or in after 'count', found the end",
    ),
    # hostile depth
    (
        "filter",
        "(" * 70 + "a = 1" + ")" * 70,
        64,
        "expression nested too deeply (more than 64 levels)",
    ),
    ("filter", "not " * 70 + "a = 1", 256, "expression nested too deeply (more than 64 levels)"),
]


@pytest.mark.parametrize(
    ("parser", "text", "position", "message"),
    MISTAKES,
    ids=[f"{parser}:{text[:40]}" for parser, text, _, _ in MISTAKES],
)
def test_mistake_gives_one_exact_line_at_the_right_column(
    parser: str, text: str, position: int, message: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        PARSERS[parser](text, SCHEMA)
    err = caught.value
    assert str(err) == f"bad expression at column {position + 1}: {message}"
    assert err.position == position
    assert err.column == position + 1
    assert err.reason == message
    assert err.text == text
    assert isinstance(err, UsageError)
    assert err.exit_code == ExitCode.USAGE == 2


def test_there_are_plenty_of_pinned_mistakes() -> None:
    assert len(MISTAKES) >= 30


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        ("filter", "stauts = 'error'"),
        ("filter", "exists(nope)"),
        ("condition", "p95(nope) < 1"),
        ("aggregate", "sum(nope)"),
    ],
)
def test_unknown_field_is_its_own_class_with_name_and_suggestion(parser: str, text: str) -> None:
    with pytest.raises(UnknownField) as caught:
        PARSERS[parser](text, SCHEMA)
    assert caught.value.name in {"stauts", "nope"}
    assert caught.value.suggestion == ("status" if caught.value.name == "stauts" else None)


def test_without_a_schema_any_field_is_accepted_but_standard_types_still_hold() -> None:
    assert parse_filter("stauts = 'error'") is not None
    with pytest.raises(ExpressionError, match="cannot compare float field 'duration_ms'"):
        parse_filter("duration_ms > 'abc'")


def test_caret_line_points_at_the_mistake() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_filter("status = 'a' and stauts = 'b'", SCHEMA)
    assert caught.value.caret_lines() == [
        "status = 'a' and stauts = 'b'",
        "                 ^",
    ]


def test_caret_line_escapes_control_characters_and_counts_wide_ones() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_filter("名前 = 'a'\tand\nx = 1", {"名前": FieldType.STRING})
    assert caught.value.caret_lines() == [
        "名前 = 'a'\\tand\\nx = 1",
        # 名前 is four columns wide, each escape two.
        " " * 17 + "^",
    ]


def test_caret_at_the_end_when_something_is_missing() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_filter("status =")
    assert caught.value.caret_lines() == ["status =", "        ^"]


def test_message_stays_on_one_line_and_short_whatever_the_name() -> None:
    name = "a\nb\u2028c" + "x" * 200
    with pytest.raises(UnknownField) as caught:
        parse_filter(f"`{name}` = 1", SCHEMA)
    line = str(caught.value)
    assert line.splitlines() == [line]
    assert line.startswith("bad expression at column 1: unknown field 'a\\nb\\u2028cxxx")
    assert line.endswith("…'")
    assert len(line) < 120
