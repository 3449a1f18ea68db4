"""A question on files starts reading before its texts are parsed (``mfq.query.direct.texts``,
``mfq.cli.files._EarlyRead``): the names a light scan finds are a superset of the fields the
parser finds, and a read that missed one, or a question that does not parse, ends the
early reading at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.cli.files import _EarlyRead
from mfq.query.direct.reader import read_files
from mfq.query.direct.texts import QuestionTexts
from tests.query.test_direct import QUESTIONS, _mixed_event, _write

TRICKY = [
    QuestionTexts(where=("`odd name` = 'x' and `a\\`b` > 1",)),
    QuestionTexts(where=("note = 'region' or note ~ '\\d+ service'",)),
    QuestionTexts(where=('"quoted \\" field" = `x.y` and attributes.http.status >= 500',)),
    QuestionTexts(keys=("lower(service), `a, b`",), aggs=("p95(duration_ms) as slow",)),
    QuestionTexts(aggs=("count_distinct(user.id)",), having="count > 10"),
    QuestionTexts(order_by=("-count", "`odd name` desc", "type asc")),
    QuestionTexts(fields=("id,type,user-agent, `a, b`",), order_by=("-ms",)),
    QuestionTexts(where=("ms > 1.5e3 and d < 5",), lets=("slow = ms > 800",)),
    QuestionTexts(lets=(("late", "hour(timestamp) > 20"), "`odd` = exists(región)")),
    QuestionTexts(keys=("_under", "Größe.ä"), where=("not (x in ('a', 'b'))",)),
    # (found in review: names split_fields builds that a scan by commas and the
    # tokenizer's escapes missed)
    QuestionTexts(fields=("`a\\b`",)),
    QuestionTexts(fields=("a`b`",)),
    QuestionTexts(fields=("`x`y",)),
    QuestionTexts(order_by=("-`a\\b`",)),
    QuestionTexts(order_by=("coalesce(ab, type)",), keys=("coalesce(ab, type)",)),
    QuestionTexts(aggs=("p95(ms)",), order_by=("-p95(ms)", "count() desc")),
]


def _texts(question: dict[str, object]) -> QuestionTexts:
    fields = question.get("fields")
    return QuestionTexts(
        where=tuple(question.get("where", ())),  # type: ignore[arg-type]
        keys=tuple(question.get("group_by", question.get("by", ()))),  # type: ignore[arg-type]
        aggs=tuple(question.get("aggs", ())),  # type: ignore[arg-type]
        having=question.get("having"),  # type: ignore[arg-type]
        order_by=tuple(question.get("order_by", ())),  # type: ignore[arg-type]
        fields=(fields,) if isinstance(fields, str) else (),
    )


@pytest.mark.parametrize("texts", [*TRICKY, *map(_texts, QUESTIONS)])
def test_the_names_mentioned_hold_every_field_the_parser_finds(texts: QuestionTexts) -> None:
    exact = texts.exact_fields()
    assert exact is not None
    mentioned = texts.names_mentioned()
    assert mentioned is not None
    assert exact <= mentioned


NAME = st.sampled_from(["a", "b.c", "`x y`", "`q\\`t`", "_z", "ü.v", "k1"])
VALUE = st.sampled_from(["1", "2.5", "'s'", "'it\\'s'", '"d"', "-3"])
CONDITION = st.builds(
    lambda n, op, v: f"{n} {op} {v}", NAME, st.sampled_from(["=", "!=", ">"]), VALUE
) | NAME.map(lambda n: f"exists({n})")


@settings(max_examples=80, deadline=None)
@given(
    conditions=st.lists(CONDITION, min_size=1, max_size=3),
    keys=st.lists(NAME, max_size=2),
    agg=st.sampled_from(["count", "sum({})", "p95({}) as p", "count_distinct({})"]),
    of=NAME,
)
def test_generated_questions_mention_their_fields(
    conditions: list[str], keys: list[str], agg: str, of: str
) -> None:
    texts = QuestionTexts(
        where=(" and ".join(conditions),), keys=tuple(keys), aggs=(agg.format(of),)
    )
    exact = texts.exact_fields()  # (None for a question the type checks refuse)
    mentioned = texts.names_mentioned()
    assert mentioned is not None
    assert exact is None or exact <= mentioned


def test_globs_and_pattern_fields_wait_for_the_parser() -> None:
    assert QuestionTexts(fields=("user.*",)).names_mentioned() is None
    assert QuestionTexts(keys=("pattern(message)",)).names_mentioned() is None
    assert QuestionTexts(keys=("type",)).names_mentioned(("p", "new_pattern (m)")) is None


def _export(tmp_path: Path) -> Path:
    return _write(tmp_path / "e.ndjson", [_mixed_event(i) for i in range(1, 300)])


def _no_reading_threads() -> bool:
    """No thread reads a file (the parse workers are kept for the process, idle)."""
    return not any(t.name == "mfq-prefetch" for t in threading.enumerate())


def test_a_field_the_early_read_missed_is_read_again(tmp_path: Path) -> None:
    inputs = [str(_export(tmp_path))]
    texts = QuestionTexts(keys=("region",), aggs=("sum(n)",))
    early = _EarlyRead(texts, (), frozenset({"type"}))  # as if the scan had missed two
    events = early.events(inputs)
    assert events is not None and _no_reading_threads()
    exact = read_files(inputs, {"region", "n"})
    assert events.table.equals(exact.table)
    assert events.classes == exact.classes
    assert events.summary == exact.summary


def test_more_names_read_early_hold_only_the_questions_columns(tmp_path: Path) -> None:
    inputs = [str(_export(tmp_path))]
    texts = QuestionTexts(keys=("region",))
    early = _EarlyRead(texts, (), frozenset({"region", "n", "note", "count"}))
    events = early.events(inputs)
    exact = read_files(inputs, {"region"})
    assert events is not None
    assert events.table.equals(exact.table)
    assert events.classes == exact.classes
    assert events.summary == exact.summary


def test_a_question_that_does_not_parse_stops_the_early_read(tmp_path: Path) -> None:
    lines = [_mixed_event(i % 290 + 1).replace('"type"', f'"t{i}"', 0) for i in range(3000)]
    inputs = [str(_write(tmp_path / "big.ndjson", lines))]
    taken: list[int] = []
    early = _EarlyRead(QuestionTexts(where=("type = = 'a'",)), (), frozenset({"type"}))
    original = early._while_reading

    def counted() -> None:
        taken.append(1)
        original()

    early._while_reading = counted  # type: ignore[method-assign]
    assert early.events(inputs) is None
    assert taken == [1] and _no_reading_threads()
