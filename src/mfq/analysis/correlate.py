"""``correlate``: what distinguishes a selection of events from a baseline, across every
field at once (in the spirit of Honeycomb's BubbleUp).

How the comparison is set up
    The selection is the ``where`` filter. Its conjuncts are split into *outcome*
    conditions (on ``status``, ``severity``, ``http_status``, ``duration_ms`` or a field
    named like ``error``/``exception``/``failure``/``latency``) and *scope* conditions (all
    others, e.g. ``service = 'checkout'``). The default baseline is the scope's events that
    do not meet the outcome: for ``service = 'checkout' and status = 'error'`` it is
    checkout's events that did not fail, so the answer says what is different about the
    failing checkout events, not what is different about checkout. A selection without
    outcome or without scope conditions is compared with everything else in the time range.
    ``baseline`` sets the baseline explicitly.

The statistic
    For each field value, its share of the selection ``p_s`` and of the baseline ``p_b``
    (counts weighted by ``sample_rate`` like every count). ``score`` is the lower end of the
    99% confidence interval of ``p_s - p_b`` (normal approximation): the difference of
    proportions, discounted by its uncertainty, so a value seen three times cannot outrank
    one seen three hundred times on a lucky share. ``z`` is the two-proportion z statistic.
    Only values with a positive score (over-represented with confidence) are listed.

What is not ranked
    Fields the selection is defined by (100% by construction); time and event-id fields;
    high-cardinality text fields (found on a sample: ids, user ids) — they are named in
    ``attrs["notes"]``. Numeric fields with many distinct values are binned at quintiles.
    A field whose values restate the outcome wherever it occurs (``severity = 'error'``
    beside ``status = 'error'``; an error code that only failures carry) is a *symptom*, not
    an explanation: it is checked on the outcome's events outside the selection's scope
    (other services' failures), where 90% of them carrying values that occur (90%+) only with
    the outcome marks the field. Symptoms are listed after the explanations, ``kind =
    'symptom'``.

Like with like
    Which fields an event carries is decided by its type (an ``alert`` has ``alert.*``, a
    DNS query has ``query``). When ``type`` is one of the fields the selection is defined
    by, a field's absence, and every value of a field that no baseline event carries, only
    restate which types were selected: those rows are ``kind = 'scope'``, listed last.
    Values present on both sides are still compared (``proto = tcp`` among flows of every
    type). On a selection of fewer than ``SMALL_SELECTION`` events, absent values are
    listed after every present value of the same kind: a field missing from a handful of
    events says little.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from mfq.analysis.common import ParsedSelection, parse_expression, resolve_selection
from mfq.errors import UsageError
from mfq.query.expr import (
    Aggregate,
    And,
    Compare,
    CompareOp,
    Expr,
    Field,
    FieldType,
    IsNull,
    Literal,
    NamedAggregate,
    referenced_fields,
)
from mfq.query.requests import Request
from mfq.query.spec import QueryKind, QuerySpec

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mfq.model.answer import Answer
    from mfq.query.source import QuerySource

#: Fields that describe how an event turned out rather than where it came from.
OUTCOME_FIELDS = frozenset({"status", "severity", "http_status", "duration_ms"})
_OUTCOME_NAME = re.compile(
    r"(^|[._])(errors?|exceptions?|failures?|faults?|latency|latency_ms)([._]|$)", re.IGNORECASE
)
#: Never ranked: event identity and times.
_NEVER = frozenset({"id", "timestamp", "received_at"})
#: A text field with more distinct values than this in the sample is high-cardinality ...
HIGH_CARDINALITY_VALUES = 200
#: ... when they are also this share of the values present (ids, user ids).
HIGH_CARDINALITY_SHARE = 0.05
#: Numeric fields with more distinct values than this are binned at quintiles.
MAX_NUMERIC_CATEGORIES = 30
SAMPLE_ROWS = 50_000
#: z for the 99% confidence bound of the score.
Z_99 = 2.5758
#: Symptom test: share of outcome events that must carry outcome-only values ...
SYMPTOM_COVERAGE = 0.9
#: ... a value is outcome-only when this share of its events meet the outcome ...
SYMPTOM_PURITY = 0.9
#: ... judged on at least this many outcome events outside the scope.
SYMPTOM_MIN_EVENTS = 20
#: A selection of fewer events than this lists absent values after present ones.
SMALL_SELECTION = 100
#: The field whose presence in the selection makes other fields' presence a given.
TYPE_FIELD = "type"
#: Listing order of the kinds of rows.
_KIND_ORDER = {"explains": 0, "symptom": 1, "scope": 2}

COLUMNS = [
    "field",
    "value",
    "selection_count",
    "baseline_count",
    "selection_share",
    "baseline_share",
    "score",
    "z",
    "kind",
]


def is_outcome_field(name: str) -> bool:
    """True for fields that describe an event's outcome (see the module docs)."""
    return name in OUTCOME_FIELDS or bool(_OUTCOME_NAME.search(name))


def conjuncts(where: Sequence[Expr]) -> list[Expr]:
    """The top-level ``and`` items of every filter."""
    items: list[Expr] = []
    for expr in where:
        if isinstance(expr, And):
            items.extend(conjuncts(expr.items))
        else:
            items.append(expr)
    return items


def _all(items: Sequence[Expr]) -> Expr | None:
    if not items:
        return None
    return items[0] if len(items) == 1 else And(items=tuple(items))


@dataclass(frozen=True)
class Comparison:
    """The selection split into scope and outcome, and the baseline to compare with."""

    selection: Expr
    scope: Expr | None
    outcome: Expr
    baseline: Expr | None  # None: the scope's events outside the selection
    defining_fields: frozenset[str]
    #: The selection has conditions on outcome fields (so other outcome fields are symptoms).
    about_outcome: bool = False

    def describe(self) -> str:
        """One line for notes: what the baseline is."""
        if self.baseline is not None:
            return "baseline: the --baseline expression"
        if self.scope is not None:
            return "baseline: events of the selection's scope that do not meet its outcome"
        return "baseline: every other event in the time range"


def plan_comparison(where: Sequence[Expr], baseline: Expr | None) -> Comparison:
    """Split the selection's conjuncts into scope and outcome (see the module docs)."""
    items = conjuncts(where)
    if not items:
        raise UsageError("correlate needs a selection: --where EXPR (e.g. \"status = 'error'\")")
    outcome = [i for i in items if all(is_outcome_field(f) for f in referenced_fields(i))]
    scope = [i for i in items if i not in outcome]
    about_outcome = bool(outcome)
    if not outcome or not scope:
        outcome, scope = items, []
    selection = _all(items)
    assert selection is not None
    outcome_expr = _all(outcome)
    assert outcome_expr is not None
    fields = frozenset(f for item in items for f in referenced_fields(item))
    return Comparison(selection, _all(scope), outcome_expr, baseline, fields, about_outcome)


@dataclass
class _Plan:
    categorical: list[str] = field(default_factory=list)
    binned: list[str] = field(default_factory=list)
    samples: dict[str, pa.ChunkedArray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CorrelateRequest(Request):
    """``correlate``: what distinguishes the selection (its ``where``) from a baseline.

    ``baseline``: the events to compare with (default: the rest). ``metric``: rank by the
    share of this numeric field's shift instead. ``fields``: only these fields.
    ``limit``: at most this many rows. ``combine``: 2 or 3, add combinations of values.
    """

    command: ClassVar[str] = "correlate"

    baseline: str | None = None
    metric: str | None = None
    fields: str | Sequence[str] | None = None
    limit: int | None = None
    combine: int | None = None


def correlate(store: QuerySource, request: CorrelateRequest) -> Answer:
    """Field values ranked by how much more common they are in the selection (``where``)
    than in the baseline; with ``metric``, ranked by how much of the selection's shift in
    that numeric field they carry. ``fields`` restricts the fields compared.
    The answer's ``notes`` say what was compared and what was skipped. ``combine`` (2 or 3)
    adds combinations of values (``mfq.analysis.correlate_combine``)."""
    from mfq.model.answer import answer

    # The filters define the selection; every query here reads the whole time range.
    selection = resolve_selection(store, request.selection)
    baseline, metric, combine = request.baseline, request.metric, request.combine
    base = parse_expression(store, baseline, selection.types) if baseline else None
    comparison = plan_comparison(selection.where, base)
    if combine is not None:
        _check_combine(combine, metric)
    plan = _plan_fields(store, selection, comparison, request.fields)
    selected: float | None = None  # the selection's events, where a step counted them
    if metric is not None:
        from mfq.analysis.correlate_metric import metric_shift

        frame = metric_shift(store, selection, comparison, plan.categorical, metric)
    else:
        frame, selected = _rank(store, selection, comparison, plan)
    if combine is not None:
        from mfq.analysis.correlate_combine import combine as combined

        frame = combined(store, selection, comparison, frame, combine)
    if request.limit is not None:
        frame = frame.head(request.limit).reset_index(drop=True)
    if len(frame):
        judged = True
    else:
        judged = (_selected(store, selection, comparison) if selected is None else selected) > 0
    return answer(frame, notes=[comparison.describe(), *plan.notes], judged=judged)


def _selected(store: QuerySource, selection: ParsedSelection, comparison: Comparison) -> float:
    """How many events the selection holds (asked only when nothing was ranked and no
    step counted them: an empty selection is "no events match", not "nothing stands
    out")."""
    totals = store.run(_counts_spec(selection, comparison, ()))
    return 0.0 if totals.empty else float(_derive(totals).iloc[0]["sel"])


def _check_combine(size: int, metric: str | None) -> None:
    from mfq.analysis.correlate_combine import SIZES

    if size not in SIZES:
        raise UsageError(f"--combine: {size} is not 2 or 3")
    if metric is not None:
        raise UsageError("--combine ranks values by over-representation: drop --metric")


def _plan_fields(
    store: QuerySource,
    selection: ParsedSelection,
    comparison: Comparison,
    wanted: str | Sequence[str] | None,
) -> _Plan:
    """Which fields to compare, and how (values, or quintile bins)."""
    from mfq.analysis.common import event_fields, sample_columns
    from mfq.query.build import split_fields

    plan = _Plan()
    names = event_fields(store, selection.time)
    if wanted:
        requested = split_fields([wanted] if isinstance(wanted, str) else list(wanted))
        for name in requested:
            if name not in selection.types:
                parse_expression(store, f"exists(`{name}`)", selection.types)
        names = [n for n in names if n in requested]
    defining = sorted(n for n in names if n in comparison.defining_fields)
    if defining:
        plan.notes.append(f"not ranked (they define the selection): {', '.join(defining)}")
    candidates = [n for n in names if n not in _NEVER and n not in comparison.defining_fields]
    candidates = [n for n in candidates if selection.types.get(n) is not FieldType.TIMESTAMP]
    sample = sample_columns(store, candidates, selection.time, SAMPLE_ROWS)
    high: list[str] = []
    for name in candidates:
        kind = selection.types.get(name, FieldType.STRING)
        column = sample.get(name)
        distinct, present = _distinct(column)
        if kind in (FieldType.INTEGER, FieldType.FLOAT):
            if kind is FieldType.FLOAT or distinct > MAX_NUMERIC_CATEGORIES:
                plan.binned.append(name)
                if column is not None:
                    plan.samples[name] = column
            else:
                plan.categorical.append(name)
        elif (
            kind is FieldType.STRING
            and distinct > HIGH_CARDINALITY_VALUES
            and distinct > HIGH_CARDINALITY_SHARE * present
        ):
            high.append(name)
        else:
            plan.categorical.append(name)
    if high:
        plan.notes.append(f"not ranked (high cardinality): {', '.join(high)}")
    return plan


def _distinct(column: pa.ChunkedArray | pa.Array | None) -> tuple[int, int]:
    if column is None:
        return 0, 0
    import pyarrow.compute as pc

    present = len(column) - column.null_count
    return len(pc.unique(column.drop_null())), present


def _count(name: str, condition: Expr | None) -> NamedAggregate:
    return NamedAggregate(aggregate=Aggregate(func="count", arg=condition), name=name)


def _count_aggregates(
    comparison: Comparison, prefix: str = "", extra: Expr | None = None, *, outcome: bool = True
) -> list[NamedAggregate]:
    """total, scope, selection, outcome (and baseline) counts, each within ``extra``."""

    def within(expr: Expr | None) -> Expr | None:
        if extra is None:
            return expr
        if expr is None:
            return extra
        return And(items=(extra, expr))

    aggregates = [
        _count(f"{prefix}total", within(None)),
        _count(f"{prefix}selection", within(comparison.selection)),
    ]
    if outcome:
        aggregates.append(_count(f"{prefix}outcome", within(comparison.outcome)))
    if comparison.scope is not None:
        aggregates.append(_count(f"{prefix}scope", within(comparison.scope)))
    if comparison.baseline is not None:
        aggregates.append(_count(f"{prefix}baseline", within(comparison.baseline)))
    return aggregates


def _rank(
    store: QuerySource, selection: ParsedSelection, comparison: Comparison, plan: _Plan
) -> tuple[pd.DataFrame, float]:
    """The ranked values, and how many events the selection holds."""
    import pandas as pd

    # The overall counts ride in the same batch: every query here reads the same rows.
    bins = {name: _bins(name, plan.samples.get(name)) for name in plan.binned}
    specs = [
        _counts_spec(selection, comparison, ()),
        *(_counts_spec(selection, comparison, (name,)) for name in plan.categorical),
        *(_binned_spec(selection, comparison, rows) for rows in bins.values()),
    ]
    totals, *results = store.run_many(specs)
    if totals.empty:
        return pd.DataFrame(columns=COLUMNS), 0.0
    overall = _derive(totals).iloc[0]
    selected, baselined = float(overall["sel"]), float(overall["base"])
    if selected == 0:
        return pd.DataFrame(columns=COLUMNS), selected
    categorical, binned = results[: len(plan.categorical)], results[len(plan.categorical) :]
    frames = _value_frames(plan.categorical, categorical)
    for (name, rows), result in zip(bins.items(), binned, strict=True):
        frames.append(_binned_frame(name, rows, result))
    if not frames:
        return pd.DataFrame(columns=COLUMNS), selected
    table = _derive(pd.concat(frames, ignore_index=True))
    symptoms = _symptom_fields(table, comparison.about_outcome)
    if comparison.about_outcome:
        symptoms |= {name for name in table["field"].unique() if is_outcome_field(str(name))}
    table = table[table["sel"] > 0].copy()
    table["selection_share"] = table["sel"] / selected
    table["baseline_share"] = table["base"] / baselined if baselined else 0.0
    table["score"], table["z"] = _scores(table, selected, baselined)
    table["kind"] = table["field"].map(lambda f: "symptom" if f in symptoms else "explains")
    if TYPE_FIELD in comparison.defining_fields:
        table.loc[_type_bound(table), "kind"] = "scope"
    table = table[table["score"] > 0]
    table = table.rename(columns={"sel": "selection_count", "base": "baseline_count"})
    for column in ("selection_count", "baseline_count", "selection_share", "baseline_share"):
        table[column] = table[column].round(6)
    table["_rank"] = table["kind"].map(_KIND_ORDER)
    # On a small selection a missing value is as often chance as cause: present values first.
    small = selected < SMALL_SELECTION
    table["_absent"] = table["value"].isna() & small
    table = table.sort_values(
        ["_rank", "_absent", "score", "field", "value"],
        ascending=[True, True, False, True, True],
        kind="stable",
    )
    return table[COLUMNS].reset_index(drop=True), selected


def _value_frames(names: list[str], results: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """The counts per value of every categorical field, ``field`` and ``value`` (as text)
    first: one frame built from columns, rather than a renamed, mapped and extended copy
    of each field's answer (their fixed cost was most of ``correlate`` on a log of 500
    fields). Fields named like a column here keep a frame each, as before."""
    import numpy as np
    import pandas as pd

    if not names:
        return []
    counts = [column for column in results[0].columns if column != names[0]]
    if any(
        name in ("field", "value", *counts) or list(result.columns) != [name, *counts]
        for name, result in zip(names, results, strict=True)
    ):
        return [_value_frame(name, result) for name, result in zip(names, results, strict=True)]
    data: dict[str, Any] = {
        "field": [
            name for name, result in zip(names, results, strict=True) for _ in range(len(result))
        ],
        "value": [
            value_text(value)
            for name, result in zip(names, results, strict=True)
            for value in result[name].tolist()
        ],
    }
    for column in counts:
        data[column] = np.concatenate([result[column].to_numpy() for result in results])
    return [pd.DataFrame(data)]


def _value_frame(name: str, result: pd.DataFrame) -> pd.DataFrame:
    """One field's counts per value, ``field`` and ``value`` (as text) first."""
    counts = result.rename(columns={name: "value"})
    counts["value"] = counts["value"].map(value_text)
    counts.insert(0, "field", name)
    return counts


def _type_bound(table: pd.DataFrame) -> pd.Series[bool]:
    """Rows that restate which event types were selected (module docs, *scope*): a field's
    absence, and every value of a field no baseline event carries."""
    present = table[table["value"].notna()]
    carried = present.groupby("field")["base"].sum()
    selection_only = set(carried[carried <= 0].index)
    return table["value"].isna() | table["field"].isin(selection_only)


def _counts_spec(
    selection: ParsedSelection, comparison: Comparison, group_by: tuple[str, ...]
) -> QuerySpec:
    return QuerySpec(
        kind=QueryKind.AGGREGATE,
        time=selection.time,
        group_by=group_by,
        aggregates=tuple(_count_aggregates(comparison)),
        totals=False,
        unweighted=selection.unweighted,
    )


def _derive(counts: pd.DataFrame) -> pd.DataFrame:
    """Selection, baseline and reference-population counts from positive counts only
    (so null-valued conditions never need negating)."""
    frame = counts.copy()
    frame["sel"] = frame["selection"].astype(float)
    has_scope = "scope" in frame.columns
    if "outcome" not in frame.columns:
        frame["ref_outcome"] = frame["ref_other"] = 0.0
        frame["base"] = _baseline_counts(frame, has_scope)
        return frame
    frame["base"] = _baseline_counts(frame, has_scope)
    if has_scope:
        # The outcome outside the scope: other services' failures, say.
        frame["ref_outcome"] = frame["outcome"] - frame["selection"]
        frame["ref_other"] = frame["total"] - frame["scope"] - frame["ref_outcome"]
    else:
        frame["ref_outcome"] = frame["outcome"]
        frame["ref_other"] = frame["total"] - frame["outcome"]
    return frame


def _baseline_counts(frame: pd.DataFrame, has_scope: bool) -> pd.Series[float]:
    if "baseline" in frame.columns:
        return frame["baseline"].astype(float)
    if has_scope:
        return (frame["scope"] - frame["selection"]).astype(float)
    return (frame["total"] - frame["selection"]).astype(float)


def _bin_edges(sample: pa.ChunkedArray | None) -> list[float]:
    """Quintile edges of a numeric field, from the planning sample (bins are only where
    the counting is cut: the counts themselves are exact)."""
    import numpy as np
    import pyarrow as pa

    if sample is None or not (
        pa.types.is_integer(sample.type) or pa.types.is_floating(sample.type)
    ):
        return []
    values = sample.drop_null().to_numpy().astype(float)
    values = values[np.isfinite(values)]
    if not len(values):
        return []
    cuts = np.quantile(values, [0.2, 0.4, 0.6, 0.8])
    return sorted({float(f"{cut:.3g}") for cut in cuts})


_Bins = list[tuple[str | None, Expr | None]]


def _bins(name: str, sample: pa.ChunkedArray | None) -> _Bins:
    """Labelled conditions: one per quintile bin of a numeric field, one for missing."""
    edges = _bin_edges(sample)
    rows: _Bins = []
    bounds: list[tuple[float | None, float | None]] = []
    previous: float | None = None
    for edge in edges:
        bounds.append((previous, edge))
        previous = edge
    bounds.append((previous, None))
    target = Field(name=name)
    for low, high in bounds:
        parts: list[Expr] = []
        if low is not None:
            parts.append(Compare(op=CompareOp.GE, left=target, right=Literal.of(low)))
        if high is not None:
            parts.append(Compare(op=CompareOp.LT, left=target, right=Literal.of(high)))
        if not parts:
            parts.append(IsNull(operand=target, negated=True))
        rows.append((_bin_label(low, high), _all(parts)))
    rows.append((None, IsNull(operand=target)))
    return rows


def _binned_spec(selection: ParsedSelection, comparison: Comparison, rows: _Bins) -> QuerySpec:
    aggregates: list[NamedAggregate] = []
    for index, (_label, condition) in enumerate(rows):
        # Bins skip the symptom test (its outcome counts): a number restating the
        # outcome is an outcome field, and those are judged by name.
        aggregates.extend(_count_aggregates(comparison, f"b{index}_", condition, outcome=False))
    return QuerySpec(
        kind=QueryKind.AGGREGATE,
        time=selection.time,
        aggregates=tuple(aggregates),
        totals=False,
        unweighted=selection.unweighted,
    )


def _binned_frame(name: str, rows: _Bins, result: pd.DataFrame) -> pd.DataFrame:
    """Counts per bin, one row each, from the one-row result of ``_binned_spec``."""
    import pandas as pd

    records = []
    for index, (label, _condition) in enumerate(rows):
        prefix = f"b{index}_"
        record: dict[str, object] = {"field": name, "value": label}
        for column in result.columns:
            if column.startswith(prefix):
                record[column[len(prefix) :]] = float(result.iloc[0][column] or 0)
        records.append(record)
    return pd.DataFrame.from_records(records)


def _bin_label(low: float | None, high: float | None) -> str:
    def show(value: float) -> str:
        return f"{value:g}"

    if low is None and high is not None:
        return f"< {show(high)}"
    if high is None and low is not None:
        return f">= {show(low)}"
    if low is not None and high is not None:
        return f"{show(low)} .. {show(high)}"
    return "any"


def _scores(table: pd.DataFrame, selected: float, baselined: float) -> tuple[Any, Any]:
    import numpy as np

    p_s = table["sel"].to_numpy(float) / selected
    if baselined > 0:
        p_b = table["base"].to_numpy(float) / baselined
        spread = np.sqrt(p_s * (1 - p_s) / selected + p_b * (1 - p_b) / baselined)
        pooled = (table["sel"].to_numpy(float) + table["base"].to_numpy(float)) / (
            selected + baselined
        )
        pooled_se = np.sqrt(pooled * (1 - pooled) * (1 / selected + 1 / baselined))
    else:
        p_b = np.zeros_like(p_s)
        spread = np.sqrt(p_s * (1 - p_s) / selected)
        pooled_se = spread
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(pooled_se > 0, (p_s - p_b) / pooled_se, 0.0)
    score = (p_s - p_b) - Z_99 * spread
    return np.round(score, 6), np.round(z, 3)


def _symptom_fields(table: pd.DataFrame, about_outcome: bool) -> set[str]:
    """Fields whose values restate the outcome (module docs): judged on the outcome's
    events outside the selection's scope, or, when those are too few, on the selection
    against the baseline (values never seen without the outcome)."""
    symptoms = set()
    for name, rows in table[table["value"].notna()].groupby("field", sort=False):
        outcome = rows["ref_outcome"].to_numpy(float)
        other = rows["ref_other"].to_numpy(float)
        if outcome.sum() < SYMPTOM_MIN_EVENTS:
            if not about_outcome:
                continue
            outcome = rows["sel"].to_numpy(float)
            other = rows["base"].to_numpy(float)
        total = outcome.sum()
        if total == 0:
            continue
        with_values = outcome + other
        pure = (with_values > 0) & (outcome >= SYMPTOM_PURITY * with_values)
        if outcome[pure].sum() >= SYMPTOM_COVERAGE * total:
            symptoms.add(str(name))
    return symptoms


def value_text(value: object) -> str | None:
    if value is None:
        return None
    try:
        import pandas as pd

        if pd.isna(value):  # type: ignore[call-overload]
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
