"""``check``: CI assertions over aggregates, one query for all of them.

Each assertion is a condition in the expression language (``"ratio(status = 'error') <
0.02"``). Every aggregate the assertions name goes into ONE aggregate ``QuerySpec`` (no
group-by) over the shared time range and filters, run with ``store.run`` so any engine
answers it; the conditions are then decided on that one result row.

Decisions (documented in docs/guide.md, "A CI gate"):

- An assertion is a comparison (``= != < <= > >=``) with an aggregate on at least one side,
  or several combined with ``and``/``or``/``not``. There are no groups, so a bare field
  outside an aggregate is a mistake, and so is a test without a comparison (``is null``,
  ``in``): each is an ``ExpressionError`` (exit 2) naming the assertion and the column.
- An assertion whose aggregates do not all have a value FAILS, whatever the operators
  around them: ``avg``/``p95``/``min``/``max`` of no values, ``ratio`` of no events,
  ``stddev`` of fewer than two values. A gate that cannot measure must not pass; the
  ``detail`` column says what had no value and why. ``count`` of nothing is 0, a value.
- ``value`` is the assertion's first aggregate (in the order written); ``expected`` is
  the other side for the common ``AGGREGATE op LITERAL`` shape (written from the
  aggregate's side: ``1 <= count`` expects ``>= 1``), else empty; ``detail`` gives every
  aggregate's value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from mfq.errors import UsageError
from mfq.query.build import derived_columns
from mfq.query.expr import (
    Aggregate,
    And,
    Compare,
    Expr,
    ExpressionError,
    Field,
    FieldType,
    Literal,
    NamedAggregate,
    Not,
    Or,
    aggregates_in,
    parse_condition,
    to_text,
)
from mfq.query.expr.errors import shown
from mfq.query.expr.text import name_text, time_text
from mfq.query.numbers import FLIPPED
from mfq.query.requests import Request, Selection
from mfq.query.spec import QueryKind, QuerySpec

if TYPE_CHECKING:
    import pandas as pd

    from mfq.analysis.journey_check import JourneyAssertion
    from mfq.model.answer import Answer
    from mfq.query.source import QuerySource

#: The result's columns: SPEC's three, then what a CI log needs to explain a failure.
COLUMNS = ("assertion", "value", "passed", "expected", "detail")
#: Significant digits of numbers quoted in ``detail`` (``p95`` 854.9999999999999 → 855).
SHOWN_DIGITS = 12

_NOT_A_COMPARISON = (
    "an assertion compares aggregates: use = != < <= > >= (combined with and, or, not)"
)


class InvalidAssertion(ExpressionError):
    """An assertion that does not parse or cannot be checked (exit 2); the message names
    which assertion (``index``, from 1) and the column of the mistake in it."""

    def __init__(self, error: ExpressionError, index: int) -> None:
        super().__init__(error.reason, error.text, error.position)
        self.index = index
        self.message = f"assertion {index}: {self.message}"
        self.args = (self.message,)


@dataclass(frozen=True)
class Assertion:
    """One parsed assertion: its text as given and its condition tree."""

    text: str
    condition: Expr

    def aggregates(self) -> list[Aggregate]:
        """The aggregates it needs, once each, in the order written."""
        unique: dict[str, Aggregate] = {}
        for aggregate in aggregates_in(self.condition):
            unique.setdefault(to_text(aggregate), aggregate)
        return list(unique.values())


@dataclass(frozen=True, kw_only=True)
class CheckRequest(Request):
    """``check``: CI assertions over aggregates (or journeys), decided over the selection.

    ``assertions``: one or several (``"ratio(status = 'error') < 0.02"``).
    """

    command: ClassVar[str] = "check"

    assertions: Sequence[str]


def check(store: QuerySource, request: CheckRequest) -> Answer:
    """Decide every assertion over the events in the time range matching ``where``.

    One row per assertion, in the order given: ``assertion``, ``value``, ``passed``,
    ``expected``, ``detail`` (see the module's docstring). ``attrs`` carries what the run
    covered: ``since`` and ``until`` (aware UTC or None), ``where`` (canonical texts) and
    ``events`` (how many matched, weighted by ``sample_rate`` unless ``unweighted``).
    Raises ``InvalidAssertion`` (exit 2) for a malformed assertion, before anything is
    read: syntax first (no store needed), then the names against the store's fields.
    """
    from mfq.model.answer import CheckScope, answer

    # Parsed as given, so a column in an error counts from the start of what was typed.
    texts = (
        [request.assertions] if isinstance(request.assertions, str) else list(request.assertions)
    )
    if not texts:
        raise UsageError("check needs an assertion, e.g. \"ratio(status = 'error') < 0.02\"")
    from mfq.analysis.journey_check import is_journey_assertion, parse_journey_assertion

    journeys = {
        index: parse_journey_assertion(text, index)
        for index, text in enumerate(texts, start=1)
        if is_journey_assertion(text)
    }
    for index, text in enumerate(texts, start=1):
        if index not in journeys:
            _parse(text, index, None)  # a syntax error is reported even without a store
    from mfq.analysis.common import resolve_selection

    selection = resolve_selection(store, request.selection)
    parsed = [
        Assertion(text.strip(), _parse(text, index, selection.types))
        for index, text in enumerate(texts, start=1)
        if index not in journeys
    ]
    spec = QuerySpec(
        kind=QueryKind.AGGREGATE,
        time=selection.time,
        where=selection.where,
        aggregates=(aggregates := _named_aggregates(parsed)),
        unweighted=selection.unweighted,
        derived=derived_columns(selection.types, (a.aggregate.field for a in aggregates)),
    )
    measured = store.run(spec)
    values = {str(name): _plain(measured[name].iloc[0]) for name in measured.columns}
    result = _decide(parsed, measured, values)
    if journeys:
        result = _with_journeys(result, journeys, store, request.selection)
    scope = CheckScope(
        since=selection.time.since,
        until=selection.time.until,
        where=[to_text(expr) for expr in selection.where],
        events=values["count"],
    )
    return answer(result, scope=scope)


def _with_journeys(
    result: pd.DataFrame,
    journeys: Mapping[int, JourneyAssertion],
    store: QuerySource,
    selection: Selection,
) -> pd.DataFrame:
    """The rows of the journey assertions (:mod:`mfq.analysis.journey_check`) put in
    their places among the others'."""
    import pandas as pd

    from mfq.analysis.journey_check import decide_journey_assertions

    decided = decide_journey_assertions(store, list(journeys.values()), selection)
    rows: list[dict[str, object]] = [
        {str(name): value for name, value in row.items()} for row in result.to_dict("records")
    ]
    for index, row in sorted(zip(journeys, decided, strict=True)):
        rows.insert(index - 1, row)
    return pd.DataFrame(
        {column: pd.Series([row[column] for row in rows], dtype=object) for column in COLUMNS}
    ).astype({"passed": bool})


def _parse(text: str, index: int, types: Mapping[str, FieldType] | None) -> Expr:
    try:
        condition = parse_condition(text, types)
        _check_shape(condition, text)
    except ExpressionError as err:
        raise InvalidAssertion(err, index) from None
    if not aggregates_in(condition):
        raise InvalidAssertion(
            ExpressionError(
                "an assertion needs an aggregate, e.g. count(type = 'order.created') >= 1",
                text,
                0,
            ),
            index,
        )
    return condition


def _check_shape(expr: Expr, text: str) -> None:
    """Only what can be decided on one row of aggregates: comparisons, and/or/not."""
    if isinstance(expr, And | Or):
        for item in expr.items:
            _check_shape(item, text)
    elif isinstance(expr, Not):
        _check_shape(expr.item, text)
    elif isinstance(expr, Compare):
        for side in (expr.left, expr.right):
            if isinstance(side, Field):
                example = f"ratio({name_text(side.name)} = ...)"
                raise ExpressionError(
                    f"field {shown(side.name)} outside an aggregate: check has no groups "
                    f"(count or ratio the events where it holds, e.g. {example})",
                    text,
                    side.span[0],
                )
    else:
        raise ExpressionError(_NOT_A_COMPARISON, text, expr.span[0])


def _named_aggregates(parsed: list[Assertion]) -> tuple[NamedAggregate, ...]:
    """Every aggregate once, named by its canonical text (how conditions find their
    column), plus ``count`` for the number of events the run covered."""
    named: dict[str, NamedAggregate] = {}
    for assertion in parsed:
        for aggregate in assertion.aggregates():
            name = to_text(aggregate)
            named.setdefault(name, NamedAggregate(aggregate=aggregate, name=name))
    if "count" not in named:
        named["count"] = NamedAggregate(aggregate=Aggregate(func="count"), name="count")
    return tuple(named.values())


def _plain(value: object) -> object:
    """A numpy scalar as Python; every kind of missing as None."""
    import pandas as pd

    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, pd.Timestamp):
        value = item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _decide(
    parsed: list[Assertion], measured: pd.DataFrame, values: dict[str, object]
) -> pd.DataFrame:
    import pandas as pd

    # The engines' --having evaluator decides conditions on any engine's result row.
    from mfq.query.engines.finish import condition_holds

    rows = []
    events = values["count"]
    for assertion in parsed:
        aggregates = assertion.aggregates()
        names = [to_text(a) for a in aggregates]
        missing = [a for a in aggregates if values[to_text(a)] is None]
        if missing:
            passed = False
            detail = "; ".join(_no_value(a, events) for a in missing)
        else:
            passed = condition_holds(assertion.condition, measured)
            detail = ", ".join(f"{name} = {shown_value(values[name])}" for name in names)
        expected = _expected(assertion.condition)
        if expected is not None and not missing:
            detail += f" (expected {expected})"
        rows.append(
            {
                "assertion": assertion.text,
                "value": values[names[0]],
                "passed": passed,
                "expected": expected,
                "detail": detail,
            }
        )
    # Built column by column: pandas would turn a count of 0 beside a missing p95 into 0.0.
    return pd.DataFrame(
        {column: pd.Series([row[column] for row in rows], dtype=object) for column in COLUMNS}
    ).astype({"passed": bool})


def _expected(condition: Expr) -> str | None:
    """``op LITERAL`` seen from the aggregate, for ``AGGREGATE op LITERAL`` (either way
    round); None for any other shape."""
    if not isinstance(condition, Compare):
        return None
    left, right, op = condition.left, condition.right, condition.op
    if isinstance(left, Literal) and isinstance(right, Aggregate):
        left, right, op = right, left, FLIPPED[op]
    if isinstance(left, Aggregate) and isinstance(right, Literal):
        return f"{op.value} {to_text(right)}"
    return None


def _no_value(aggregate: Aggregate, events: object) -> str:
    """Why an aggregate has no value, in words for a CI log."""
    text = to_text(aggregate)
    if not events:
        return f"{text} has no value: no events match the time range and filters"
    if aggregate.field is None:
        return f"{text} has no value"
    if aggregate.func == "stddev":
        return f"{text} has no value: fewer than two of the {events} events have {aggregate.field}"
    return f"{text} has no value: none of the {events} events has {aggregate.field}"


def shown_value(value: object) -> str:
    """A value as ``detail`` quotes it: numbers to 12 significant digits (enough for any
    threshold, short enough to read), times as ISO-8601 UTC with ``Z``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{SHOWN_DIGITS}g}"
    if isinstance(value, datetime):
        return time_text(value)
    return str(value)
