"""``check``'s journey assertions: stuck operations and conversion, for pipelines.

- ``open(KEY, AGE[, END])``: how many operations of ``KEY`` are open and started at least
  ``AGE`` before the data's end (``mfq sessions --by KEY --open-longer-than AGE [--end
  END]``; without END the ends are inferred). ``"open(correlation_id, 1h) == 0"``: no
  stuck work.
- ``conversion(KEY, WITHIN, STEP, STEP...)``: the share of the keys taking the first step
  that take the last, in order, within ``WITHIN`` (``mfq funnel``'s ``from_start`` of the
  last step). ``"conversion(correlation_id, 1d, order.created, order.shipped) >= 0.9"``.

STEP and END are type names or expressions, quoted (``'type = ''x'''``) when they hold a
comma. The comparison is one of ``= == != < <= > >=`` with a number. A conversion of no
keys has no value and fails, as ``check``'s other assertions without a value do.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mfq.errors import UsageError

if TYPE_CHECKING:
    from mfq.query.requests import Selection
    from mfq.query.source import QuerySource

_SHAPE = re.compile(
    r"^\s*(open|conversion)\s*\((?P<args>.*)\)\s*(?P<op>==|=|!=|<=|>=|<|>)\s*"
    r"(?P<number>[-+]?\d+(?:\.\d+)?)\s*$",
    re.DOTALL,
)
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class JourneyAssertion:
    """A parsed journey assertion."""

    text: str
    function: str
    arguments: tuple[str, ...]
    op: str
    number: float


def is_journey_assertion(text: str) -> bool:
    """True for ``open(...)`` and ``conversion(...)`` assertions."""
    return bool(re.match(r"^\s*(open|conversion)\s*\(", text))


def parse_journey_assertion(text: str, index: int) -> JourneyAssertion:
    """The assertion's parts; a malformed one is a usage error naming its number."""
    found = _SHAPE.match(text)
    if found is None:
        raise UsageError(
            f"assertion {index}: write open(KEY, AGE[, END]) or "
            "conversion(KEY, WITHIN, STEP, STEP...) compared with a number, "
            'e.g. "open(correlation_id, 1h) == 0"'
        )
    function = found.group(1)
    arguments = tuple(_split(found.group("args")))
    wanted = 2 if function == "open" else 4
    if len(arguments) < wanted or (function == "open" and len(arguments) > 3):
        usage = (
            "open(KEY, AGE[, END])"
            if function == "open"
            else ("conversion(KEY, WITHIN, STEP, STEP...)")
        )
        raise UsageError(f"assertion {index}: {usage}")
    return JourneyAssertion(
        text.strip(), function, arguments, found.group("op"), float(found.group("number"))
    )


def _split(text: str) -> list[str]:
    """Arguments at top-level commas; a quoted argument loses its quotes."""
    parts: list[str] = []
    current: list[str] = []
    quote = False
    depth = 0
    for char in text:
        if char == "'":
            quote = not quote
        elif not quote and char == "(":
            depth += 1
        elif not quote and char == ")":
            depth -= 1
        if char == "," and not quote and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [_unquote(part) for part in parts if part]


def _unquote(part: str) -> str:
    if len(part) >= 2 and part[0] == part[-1] == "'" and "'" not in part[1:-1].replace("''", ""):
        return part[1:-1].replace("''", "'")
    return part


def decide_journey_assertions(
    store: QuerySource,
    assertions: Sequence[JourneyAssertion],
    selection: Selection,
) -> list[dict[str, object]]:
    """A ``check`` row (assertion, value, passed, expected, detail) for each assertion
    (journeys count stored events: the selection's ``unweighted`` does not apply)."""
    rows: list[dict[str, object]] = []
    for assertion in assertions:
        value, detail = _measure(store, assertion, selection)
        expected = f"{assertion.op} {_number(assertion.number)}"
        passed = value is not None and _OPERATORS[assertion.op](value, assertion.number)
        rows.append(
            {
                "assertion": assertion.text,
                "value": value,
                "passed": passed,
                "expected": expected,
                "detail": f"{detail} (expected {expected})" if value is not None else detail,
            }
        )
    return rows


def _measure(
    store: QuerySource, assertion: JourneyAssertion, selection: Selection
) -> tuple[float | None, str]:
    from mfq.analysis.funnel import FunnelRequest, funnel
    from mfq.analysis.sessions import SessionsRequest, sessions

    key, span, *rest = assertion.arguments
    if assertion.function == "open":
        end = rest[0] if rest else None
        asked = SessionsRequest(selection=selection, by=key, open_longer_than=span, end=end)
        frame = sessions(store, asked)
        stuck = len(frame)
        return float(stuck), f"{stuck} open longer than {span}"
    table = funnel(store, FunnelRequest(selection=selection, steps=rest, by=key, within=span))
    started = int(table["entities"].iloc[0])
    finished = int(table["entities"].iloc[-1])
    if started == 0:
        return None, f"no {key} took {rest[0]}: no conversion to measure"
    share = finished / started
    return share, f"{finished} of {started} {key} ({share:.1%})"


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)
