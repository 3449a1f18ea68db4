"""The aggregates: one table read by the parser, the type checker, typo suggestions and docs.

Percentiles are ``p1`` … ``p99`` (the Nth percentile) and ``p999`` (the 99.9th); ``median``
is ``p50``. They interpolate linearly between closest ranks and ignore ``sample_rate``;
``count``, ``count(EXPR)``, ``sum``, ``avg``, ``ratio`` and ``rate`` weight each event by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mfq.query.expr.types import FieldType


class ArgKind(StrEnum):
    """What goes between an aggregate's parentheses."""

    #: Nothing; the parentheses are optional (``rate``, ``rate()``).
    NONE = "none"
    #: Nothing, or a filter expression (``count``, ``count(status = 'error')``).
    OPTIONAL_FILTER = "optional_filter"
    #: A filter expression (``ratio(status = 'error')``).
    FILTER = "filter"
    #: One field of any type (``count_distinct(user_id)``).
    ANY_FIELD = "any_field"
    #: One integer or float field (``sum(duration_ms)``).
    NUMERIC_FIELD = "numeric_field"
    #: One integer, float or timestamp field (``min(timestamp)``).
    ORDERED_FIELD = "ordered_field"


@dataclass(frozen=True)
class AggregateSpec:
    """One aggregate: its name, argument, result type and a one-line description."""

    name: str
    args: ArgKind
    #: The result's type; None means "the argument field's type" (``sum``, ``min``, ``max``).
    result: FieldType | None
    doc: str
    #: Whether each event counts ``sample_rate`` times.
    weighted: bool = False
    #: For percentiles: the quantile in [0, 1].
    quantile: float | None = None

    @property
    def takes_field(self) -> bool:
        """Whether the argument is a field name (rather than nothing or a filter)."""
        return self.args in (ArgKind.ANY_FIELD, ArgKind.NUMERIC_FIELD, ArgKind.ORDERED_FIELD)

    @property
    def bare(self) -> bool:
        """Whether the aggregate can be written without parentheses (``count``, ``rate``)."""
        return self.args in (ArgKind.NONE, ArgKind.OPTIONAL_FILTER)


def _percentile(number: int, quantile: float, label: str) -> AggregateSpec:
    return AggregateSpec(
        f"p{number}",
        ArgKind.NUMERIC_FIELD,
        FieldType.FLOAT,
        f"the {label} percentile of F (linear interpolation)",
        quantile=quantile,
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _table() -> dict[str, AggregateSpec]:
    specs = [
        AggregateSpec(
            "count",
            ArgKind.OPTIONAL_FILTER,
            FieldType.INTEGER,
            "events, or events matching EXPR with count(EXPR)",
            weighted=True,
        ),
        AggregateSpec(
            "count_distinct", ArgKind.ANY_FIELD, FieldType.INTEGER, "distinct values of F, exact"
        ),
        AggregateSpec("sum", ArgKind.NUMERIC_FIELD, None, "sum of F, nulls ignored", weighted=True),
        AggregateSpec(
            "avg", ArgKind.NUMERIC_FIELD, FieldType.FLOAT, "mean of F, nulls ignored", weighted=True
        ),
        AggregateSpec("min", ArgKind.ORDERED_FIELD, None, "smallest value of F"),
        AggregateSpec("max", ArgKind.ORDERED_FIELD, None, "largest value of F"),
        AggregateSpec(
            "median",
            ArgKind.NUMERIC_FIELD,
            FieldType.FLOAT,
            "the 50th percentile of F (same as p50)",
            quantile=0.5,
        ),
        AggregateSpec(
            "stddev", ArgKind.NUMERIC_FIELD, FieldType.FLOAT, "sample standard deviation of F"
        ),
        AggregateSpec(
            "ratio",
            ArgKind.FILTER,
            FieldType.FLOAT,
            "share of events matching EXPR, from 0 to 1",
            weighted=True,
        ),
        AggregateSpec(
            "rate",
            ArgKind.NONE,
            FieldType.FLOAT,
            "events per second over the time range",
            weighted=True,
        ),
    ]
    specs += [_percentile(n, n / 100, _ordinal(n)) for n in range(1, 100)]
    specs.append(_percentile(999, 0.999, "99.9th"))
    return {spec.name: spec for spec in specs}


#: Every aggregate by its (lower-case) name.
AGGREGATES: Mapping[str, AggregateSpec] = _table()

#: Aggregates written without parentheses; a field with such a name needs backquotes in
#: ``--having`` and ``check``.
BARE_AGGREGATES: frozenset[str] = frozenset(name for name, s in AGGREGATES.items() if s.bare)


def aggregate_spec(name: str) -> AggregateSpec | None:
    """The aggregate called ``name`` (any case), or None."""
    return AGGREGATES.get(name.lower()) if name.isascii() else None


def result_type(spec: AggregateSpec, field_type: FieldType | None) -> FieldType | None:
    """The type an aggregate produces, given its field's type (None when unknown)."""
    return spec.result if spec.result is not None else field_type


# -- row functions ----------------------------------------------------------------------------


class Param(StrEnum):
    """What one argument of a row function must be."""

    #: Any value (a field, a literal, a function, arithmetic, a condition).
    ANY = "any"
    #: An integer or float value.
    NUMBER = "number"
    #: A string value.
    TEXT = "text"
    #: A timestamp value.
    TIME = "time"
    #: A condition (a boolean value).
    CONDITION = "condition"
    #: A quoted regular expression.
    PATTERN = "pattern"
    #: A positive number written as a literal.
    WIDTH = "width"


@dataclass(frozen=True)
class FunctionSpec:
    """One row function: its name, its arguments, how to call it and what it does."""

    name: str
    params: tuple[Param, ...]
    #: How it is written, for docs and messages (``bucket(F, WIDTH)``).
    signature: str
    doc: str
    #: The last argument may be repeated (``coalesce(a, b, c)``).
    variadic: bool = False


def _functions() -> dict[str, FunctionSpec]:
    specs = [
        FunctionSpec(
            "bucket",
            (Param.NUMBER, Param.WIDTH),
            "bucket(F, WIDTH)",
            "F rounded down to a multiple of WIDTH (bucket(duration_ms, 100): 0, 100, 200 …)",
        ),
        FunctionSpec(
            "coalesce",
            (Param.ANY, Param.ANY),
            "coalesce(A, B, ...)",
            "the first argument that is not null",
            variadic=True,
        ),
        FunctionSpec("lower", (Param.TEXT,), "lower(S)", "S in lower case"),
        FunctionSpec("upper", (Param.TEXT,), "upper(S)", "S in upper case"),
        FunctionSpec("len", (Param.TEXT,), "len(S)", "the number of characters of S"),
        FunctionSpec(
            "regex",
            (Param.TEXT, Param.PATTERN),
            "regex(S, 'PATTERN')",
            "the first capture group of PATTERN in S (the whole match without a group); "
            "null when it does not match",
        ),
        FunctionSpec(
            "if",
            (Param.CONDITION, Param.ANY, Param.ANY),
            "if(COND, A, B)",
            "A where COND is true, else B (a null COND is not true)",
        ),
        FunctionSpec("hour", (Param.TIME,), "hour(T)", "the hour of T in UTC, 0 to 23"),
        FunctionSpec(
            "weekday",
            (Param.TIME,),
            "weekday(T)",
            "the day of the week of T in UTC, 1 (Monday) to 7",
        ),
        FunctionSpec("date", (Param.TIME,), "date(T)", "the UTC date of T as text, '2026-11-03'"),
        FunctionSpec(
            "pattern",
            (Param.TEXT,),
            "pattern(F)",
            "the id of F's message template, as mfq patterns shows it for the same selection",
        ),
        FunctionSpec(
            "new_pattern",
            (Param.TEXT,),
            "new_pattern(F)",
            "true when F's template has no message before the period's start (--since/--last)",
        ),
    ]
    return {spec.name: spec for spec in specs}


#: Every row function by its (lower-case) name.
FUNCTIONS: Mapping[str, FunctionSpec] = _functions()


def function_spec(name: str) -> FunctionSpec | None:
    """The row function called ``name`` (any case), or None."""
    return FUNCTIONS.get(name.lower()) if name.isascii() else None
