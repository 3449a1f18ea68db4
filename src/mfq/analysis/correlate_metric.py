"""``correlate --metric F``: which field values carry a selection's shift in a numeric field.

For the selection and the baseline (as ``correlate`` sets them up), the metric's mean per
field value. The selection's *excess* over the baseline is
``sum over its events of (metric - baseline mean)``; a value's share of that excess minus
its share of the selection's events is its ``score``: a value that is common *and* slow
(a version whose calls take four times as long) scores high, a value every event has
scores zero. Means decompose exactly into per-value parts, which percentiles do not;
``selection_p50``/``selection_p95`` are shown beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mfq.analysis.common import ParsedSelection
from mfq.errors import UsageError
from mfq.query.expr import Aggregate, Exists, Expr, FieldType, NamedAggregate
from mfq.query.spec import QueryKind, QuerySpec

if TYPE_CHECKING:
    import pandas as pd

    from mfq.analysis.correlate import Comparison
    from mfq.query.source import QuerySource

COLUMNS = [
    "field",
    "value",
    "selection_count",
    "baseline_count",
    "selection_share",
    "baseline_share",
    "selection_mean",
    "baseline_mean",
    "selection_p50",
    "selection_p95",
    "score",
]


def _aggregates(metric: str, percentiles: bool) -> tuple[NamedAggregate, ...]:
    items = [
        NamedAggregate(aggregate=Aggregate(func="count"), name="n"),
        NamedAggregate(aggregate=Aggregate(func="count", arg=Exists(field=metric)), name="present"),
        NamedAggregate(aggregate=Aggregate(func="sum", field=metric), name="total"),
    ]
    if percentiles:
        items += [
            NamedAggregate(aggregate=Aggregate(func="p50", field=metric), name="p50"),
            NamedAggregate(aggregate=Aggregate(func="p95", field=metric), name="p95"),
        ]
    return tuple(items)


def metric_shift(
    store: QuerySource,
    selection: ParsedSelection,
    comparison: Comparison,
    fields: Sequence[str],
    metric: str,
) -> pd.DataFrame:
    """Field values ranked by their part in the selection's shift of ``metric``."""
    import numpy as np
    import pandas as pd

    kind = selection.types.get(metric)
    if kind is None:
        from mfq.analysis.common import parse_expression

        parse_expression(store, f"exists(`{metric}`)", selection.types)
    if kind not in (FieldType.INTEGER, FieldType.FLOAT):
        raise UsageError(f"--metric {metric}: not a numeric field")
    # The baseline's sums are the scope's (or everything's) minus the selection's, so no
    # condition ever has to be negated (a negated condition is null where a field is).
    context = comparison.baseline or comparison.scope
    subtract = comparison.baseline is None
    names = [name for name in fields if name != metric]

    def spec(where: Expr | None, group_by: tuple[str, ...], percentiles: bool) -> QuerySpec:
        return QuerySpec(
            kind=QueryKind.AGGREGATE,
            time=selection.time,
            where=(where,) if where is not None else (),
            group_by=group_by,
            aggregates=_aggregates(metric, percentiles),
            totals=False,
            unweighted=selection.unweighted,
        )

    specs = [spec(comparison.selection, (), True), spec(context, (), False)]
    for name in names:
        specs += [spec(comparison.selection, (name,), True), spec(context, (name,), False)]
    results = store.run_many(specs)
    sel_all, ctx_all = results[0].iloc[0], results[1].iloc[0]
    base_n, base_present, base_total = _baseline(sel_all, ctx_all, subtract)
    sel_n, sel_present = float(sel_all["n"]), float(sel_all["present"])
    if sel_n == 0 or sel_present == 0:
        return pd.DataFrame(columns=COLUMNS)
    sel_mean = float(sel_all["total"] or 0) / sel_present
    base_mean = base_total / base_present if base_present else float("nan")
    excess_total = sel_present * (sel_mean - base_mean)
    frames = []
    for index, name in enumerate(names):
        sel, ctx = results[2 + 2 * index], results[3 + 2 * index]
        merged = sel.merge(ctx, on=name, how="outer", suffixes=("_s", "_c"))
        for column in ("n_s", "present_s", "total_s", "n_c", "present_c", "total_c"):
            merged[column] = merged[column].fillna(0).astype(float)
        if subtract:
            for part in ("n", "present", "total"):
                merged[f"{part}_c"] = merged[f"{part}_c"] - merged[f"{part}_s"]
        frame = pd.DataFrame(
            {
                "field": name,
                "value": merged[name].map(_text),
                "selection_count": merged["n_s"],
                "baseline_count": merged["n_c"],
                "selection_share": merged["n_s"] / sel_n,
                "baseline_share": merged["n_c"] / base_n if base_n else 0.0,
                "selection_mean": _mean(merged["total_s"], merged["present_s"]),
                "baseline_mean": _mean(merged["total_c"], merged["present_c"]),
                "selection_p50": merged["p50"],
                "selection_p95": merged["p95"],
            }
        )
        if excess_total and np.isfinite(excess_total):
            excess = merged["total_s"] - merged["present_s"] * base_mean
            frame["score"] = (excess / excess_total - merged["present_s"] / sel_present).round(6)
        else:
            frame["score"] = 0.0
        frames.append(frame[frame["selection_count"] > 0])
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    table = table[table["score"] > 0].sort_values(
        ["score", "field", "value"], ascending=[False, True, True], kind="stable"
    )
    return table[COLUMNS].reset_index(drop=True)


def _baseline(sel: pd.Series, ctx: pd.Series, subtract: bool) -> tuple[float, float, float]:
    parts = [float(ctx[c] or 0) for c in ("n", "present", "total")]
    if subtract:
        parts = [
            p - float(sel[c] or 0) for p, c in zip(parts, ("n", "present", "total"), strict=True)
        ]
    return parts[0], parts[1], parts[2]


def _mean(total: pd.Series, present: pd.Series) -> pd.Series:
    return (total / present.where(present > 0)).round(6)


def _text(value: object) -> str | None:
    from mfq.analysis.correlate import value_text

    return value_text(value)
