"""``correlate --combine 2|3``: combinations of field values over-represented in the
selection, ranked with correlate's score beside the single values.

Bounded: combinations are drawn from the ``TOP_SINGLES`` best single values that explain
the selection (one value per field in each combination), and all of them are counted in
one scan. A combination is listed only when it scores higher than every value in it (it
adds something the values alone do not say) and the selection's rate among its events
(selection / (selection + baseline)) is at least ``COMBINATION_FACTOR`` times the rate
among the events of each of its values. It is marked ``interaction`` at
``INTERACTION_FACTOR`` times: the combination explains far more than either value alone
(2.4.1 fails 34% in eu-west-1, while 2.4.1 fails 6% overall and eu-west-1 3%); else
``combination``.
"""

from __future__ import annotations

from itertools import combinations as choose
from typing import TYPE_CHECKING, Any, cast

from mfq.query.expr import And, Compare, CompareOp, Expr, Field, FieldType, Literal
from mfq.query.spec import QueryKind, QuerySpec

if TYPE_CHECKING:
    import pandas as pd

    from mfq.analysis.common import ParsedSelection
    from mfq.analysis.correlate import Comparison
    from mfq.query.source import QuerySource

#: Single values combinations are drawn from, per combination size.
TOP_SINGLES = {2: 8, 3: 6}
#: How many times the selection's rate among a combination's events must exceed that
#: among each of its values' events for an interaction.
INTERACTION_FACTOR = 2.0
#: ... and at least this many times for a combination to be listed at all (a value
#: nearly every event has, ``org_id = 'acme'``, adds nothing to the value beside it).
COMBINATION_FACTOR = 1.25
SIZES = (2, 3)


def combine(
    store: QuerySource,
    selection: ParsedSelection,
    comparison: Comparison,
    singles: pd.DataFrame,
    size: int,
) -> pd.DataFrame:
    """``singles`` (correlate's ranked table) with the combinations of up to ``size``
    values that earn a place, all ranked by score; explanations before symptoms."""
    import pandas as pd

    from mfq.analysis.correlate import COLUMNS, _count_aggregates, _derive, _scores

    picked = _top_values(singles, TOP_SINGLES.get(size, TOP_SINGLES[2]))
    sets = [
        group
        for k in range(2, size + 1)
        for group in choose(picked, k)
        if len({field for field, _value in group}) == k
    ]
    if not sets:
        return singles
    aggregates = [
        aggregate
        for index, group in enumerate(sets)
        for aggregate in _count_aggregates(
            comparison, f"c{index}_", _condition(group, selection), outcome=False
        )
    ]
    totals = _count_aggregates(comparison, "all_", None, outcome=False)
    spec = QuerySpec(
        kind=QueryKind.AGGREGATE,
        time=selection.time,
        aggregates=tuple(totals + aggregates),
        totals=False,
        unweighted=selection.unweighted,
    )
    (result,) = store.run_many([spec])
    counts = _unstack(result, sets)
    if not len(counts):
        return singles
    overall = _derive(_prefixed(result, "all_")).iloc[0]
    selected, baselined = float(overall["sel"]), float(overall["base"])
    table = _derive(counts)
    table = table[table["sel"] > 0].copy()
    if not len(table) or selected == 0:
        return singles
    table["selection_share"] = (table["sel"] / selected).round(6)
    table["baseline_share"] = (table["base"] / baselined).round(6) if baselined else 0.0
    table["score"], table["z"] = _scores(table, selected, baselined)
    table = table.rename(columns={"sel": "selection_count", "base": "baseline_count"})
    rows = cast("list[dict[str, Any]]", table.to_dict("records"))
    table["kind"] = [_kind(row, singles) for row in rows]
    table = table[table["kind"].notna()]
    merged = pd.concat([singles, table[COLUMNS]], ignore_index=True)
    merged["_rank"] = (merged["kind"] == "symptom").astype(int)
    merged = merged.sort_values(
        ["_rank", "score", "field", "value"], ascending=[True, False, True, True], kind="stable"
    )
    return merged[COLUMNS].reset_index(drop=True)


def _top_values(singles: pd.DataFrame, count: int) -> list[tuple[str, str]]:
    """The best explaining values with a value to compare (binned ranges are left out)."""
    explaining = singles[(singles["kind"] == "explains") & singles["value"].notna()]
    found: list[tuple[str, str]] = []
    for field, value in zip(explaining["field"], explaining["value"], strict=True):
        if _is_bin(str(value)):
            continue
        found.append((str(field), str(value)))
        if len(found) == count:
            break
    return found


def _is_bin(value: str) -> bool:
    return value.startswith(("< ", ">= ")) or " .. " in value


def _condition(group: tuple[tuple[str, str], ...], selection: ParsedSelection) -> Expr:
    parts: list[Expr] = [
        Compare(
            op=CompareOp.EQ,
            left=Field(name=field),
            right=_literal(value, selection.types.get(field, FieldType.STRING)),
        )
        for field, value in group
    ]
    return And(items=tuple(parts))


def _literal(text: str, kind: FieldType) -> Literal:
    if kind is FieldType.INTEGER:
        return Literal.of(int(text))
    if kind is FieldType.FLOAT:
        return Literal.of(float(text))
    if kind is FieldType.BOOLEAN:
        return Literal.of(text == "true")
    return Literal.of(text)


def _prefixed(result: pd.DataFrame, prefix: str) -> pd.DataFrame:
    columns = {c: c[len(prefix) :] for c in result.columns if c.startswith(prefix)}
    return result[list(columns)].rename(columns=columns).astype(float)


def _unstack(result: pd.DataFrame, sets: list[tuple[tuple[str, str], ...]]) -> pd.DataFrame:
    """One row per combination from the one-row answer."""
    import pandas as pd

    if result.empty:
        return pd.DataFrame()
    records = []
    for index, group in enumerate(sets):
        record: dict[str, object] = {
            "field": ", ".join(field for field, _value in group),
            "value": ", ".join(value for _field, value in group),
            "_members": group,
        }
        prefix = f"c{index}_"
        for column in result.columns:
            if column.startswith(prefix):
                record[column[len(prefix) :]] = float(result.iloc[0][column] or 0)
        records.append(record)
    return pd.DataFrame.from_records(records)


def _kind(row: dict[str, Any], singles: pd.DataFrame) -> str | None:
    """``interaction``, ``combination``, or None (not worth listing): see the module docs."""
    members: tuple[tuple[str, str], ...] = row["_members"]
    rate = _rate(float(row["selection_count"]), float(row["baseline_count"]))
    best_single = 0.0
    single_rates = []
    for field, value in members:
        match = singles[(singles["field"] == field) & (singles["value"] == value)]
        if not len(match):
            return None
        single = match.iloc[0]
        best_single = max(best_single, float(single["score"]))
        single_rates.append(
            _rate(float(single["selection_count"]), float(single["baseline_count"]))
        )
    if float(row["score"]) <= best_single:
        return None
    if all(rate >= INTERACTION_FACTOR * other for other in single_rates):
        return "interaction"
    if all(rate >= COMBINATION_FACTOR * other for other in single_rates):
        return "combination"
    return None


def _rate(selected: float, baseline: float) -> float:
    total = selected + baseline
    return selected / total if total else 0.0
