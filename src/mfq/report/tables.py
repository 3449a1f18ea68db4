"""Tables of the report from query results: the period's numbers beside the previous
period's, with their changes. Pure functions of DataFrames (no store), so each is tested
on hand-made frames."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from mfq.report.model import Column, ColumnKind, Table, change

if TYPE_CHECKING:
    import pandas as pd

#: How the rows folded away by a row limit are labelled, and the grand total.
OTHER_LABEL = "(other {n} {what})"
TOTAL_LABEL = "(total)"


def _beside(
    current: pd.DataFrame, before: pd.DataFrame, keys: Sequence[str], how: Literal["left", "outer"]
) -> pd.DataFrame:
    """``current`` merged with the previous period's columns ``before`` on ``keys``.

    A key column can come back with another dtype from each period: a period with no
    events gives an empty text column where the other has numbers (a port as the group
    field), and pandas refuses to merge those. An empty side takes the other's dtype;
    two filled sides of different dtypes meet as Python objects (80 == 80.0 still)."""
    mismatched = [key for key in keys if current[key].dtype != before[key].dtype]
    if mismatched:  # copied only when a key column is cast
        current, before = current.copy(), before.copy()
    for key in mismatched:
        if before.empty:
            before[key] = before[key].astype(current[key].dtype)
        elif current.empty:
            current[key] = current[key].astype(before[key].dtype)
        else:
            current[key] = current[key].astype(object)
            before[key] = before[key].astype(object)
    return current.merge(before, on=list(keys), how=how)


def _compare(
    current: pd.DataFrame, previous: pd.DataFrame, keys: Sequence[str], value: str
) -> pd.DataFrame:
    """``current`` with the previous period's ``value`` beside it (``previous_<value>``),
    over the keys of either period (a key missing from one side counts 0 there)."""
    before = previous[[*keys, value]].rename(columns={value: f"previous_{value}"})
    merged = _beside(current, before, keys, "outer")
    merged[value] = merged[value].fillna(0)
    merged[f"previous_{value}"] = merged[f"previous_{value}"].fillna(0)
    return merged


def _changes(current: pd.Series, previous: pd.Series, kind: ColumnKind) -> list[float | None]:
    return [
        change(_number(now), _number(before), kind)
        for now, before in zip(current, previous, strict=True)
    ]


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def volume_by_type(
    current: pd.DataFrame, previous: pd.DataFrame, *, rows: int, key: str = "type"
) -> Table:
    """Events per type this period and before, largest first; types past ``rows`` are
    folded into one OTHER row, and a TOTAL row ends a cut table (as ``mfq query --limit``)."""
    import pandas as pd

    merged = _compare(current, previous, [key], "events")
    merged = merged.sort_values(
        ["events", "previous_events", key], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    total = float(merged["events"].sum())
    totals = 0
    if len(merged) > rows:
        rest = merged.iloc[rows:]
        folded = {
            key: OTHER_LABEL.format(n=len(rest), what="types"),
            "events": rest["events"].sum(),
            "previous_events": rest["previous_events"].sum(),
        }
        whole = {
            key: TOTAL_LABEL,
            "events": merged["events"].sum(),
            "previous_events": merged["previous_events"].sum(),
        }
        merged = pd.concat([merged.iloc[:rows], pd.DataFrame([folded, whole])], ignore_index=True)
        totals = 2
    merged["share"] = merged["events"] / total if total else math.nan
    merged["change"] = _changes(merged["events"], merged["previous_events"], ColumnKind.CHANGE)
    columns = (
        Column(key, key),
        Column("events", "events", ColumnKind.COUNT),
        Column("share", "share", ColumnKind.RATIO),
        Column("previous_events", "previous", ColumnKind.COUNT),
        Column("change", "change", ColumnKind.CHANGE),
    )
    return Table("types", "Volume by type", columns, merged, totals=totals)


def new_and_vanished(
    current: pd.DataFrame, previous: pd.DataFrame, *, rows: int, key: str = "type"
) -> Table:
    """Types seen in only one of the two periods: ``new`` (not in the previous period) or
    ``vanished`` (not in this one), the largest first."""
    merged = _compare(current, previous, [key], "events")
    new = (merged["previous_events"] == 0) & (merged["events"] > 0)
    gone = (merged["events"] == 0) & (merged["previous_events"] > 0)
    found = merged[new | gone].copy()
    found["status"] = ["new" if flag else "vanished" for flag in new[new | gone]]
    found["size"] = found[["events", "previous_events"]].max(axis=1)
    found = found.sort_values(["size", key], ascending=[False, True], kind="stable")
    cut = len(found) > rows
    note = f"the {rows} largest of {len(found)}" if cut else None
    columns = (
        Column(key, key),
        Column("status", "status"),
        Column("events", "events", ColumnKind.COUNT),
        Column("previous_events", "previous", ColumnKind.COUNT),
    )
    frame = found.head(rows).reset_index(drop=True)
    return Table("new_types", "New and vanished types", columns, frame, note=note)


def error_breakdown(
    current: pd.DataFrame, previous: pd.DataFrame, keys: Sequence[str], *, rows: int
) -> Table:
    """Errors per value of ``keys``: count, events, error ratio now and before (change in
    points) and share of all errors; the values with most errors first."""
    import pandas as pd

    before = previous.assign(previous_ratio=_ratio(previous["errors"], previous["events"]))
    merged = _beside(current, before[[*keys, "previous_ratio"]], keys, "left")
    merged["error_ratio"] = _ratio(merged["errors"], merged["events"])
    all_errors = float(merged["errors"].sum())
    merged["error_share"] = merged["errors"] / all_errors if all_errors else math.nan
    merged["change_pp"] = _changes(
        merged["error_ratio"], merged["previous_ratio"], ColumnKind.CHANGE_PP
    )
    merged = merged.sort_values(
        ["errors", "events", *keys], ascending=[False, False, *([True] * len(keys))], kind="stable"
    )
    with_errors = merged[merged["errors"] > 0]
    cut = len(with_errors) > rows
    frame = pd.DataFrame(with_errors.head(rows)).reset_index(drop=True)
    name = " / ".join(keys)
    note = f"the {rows} of {len(with_errors)} values with most errors" if cut else None
    columns = (
        *(Column(key, key) for key in keys),
        Column("errors", "errors", ColumnKind.COUNT),
        Column("events", "events", ColumnKind.COUNT),
        Column("error_ratio", "error ratio", ColumnKind.RATIO),
        Column("previous_ratio", "previous", ColumnKind.RATIO),
        Column("change_pp", "change", ColumnKind.CHANGE_PP),
        Column("error_share", "share of errors", ColumnKind.RATIO),
    )
    return Table("errors_by_" + "_".join(keys), f"Errors by {name}", columns, frame, note=note)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator.astype("float64") / denominator.astype("float64").where(denominator > 0)


def latency_by(
    current: pd.DataFrame, previous: pd.DataFrame, key: str, percentiles: Sequence[str]
) -> Table:
    """Latency percentiles per value of ``key`` (the busiest first), with the previous
    period's p95 and its relative change."""
    timed = current[current["timed"] > 0]
    before = previous[[key, "p95_ms"]].rename(columns={"p95_ms": "previous_p95_ms"})
    merged = _beside(timed, before, [key], "left")
    merged["change"] = _changes(merged["p95_ms"], merged["previous_p95_ms"], ColumnKind.CHANGE)
    merged = merged.sort_values(["timed", key], ascending=[False, True], kind="stable")
    columns = (
        Column(key, key),
        Column("timed", "timed events", ColumnKind.COUNT),
        *(Column(f"{p}_ms", p, ColumnKind.DURATION_MS) for p in percentiles),
        Column("max_ms", "max", ColumnKind.DURATION_MS),
        Column("previous_p95_ms", "previous p95", ColumnKind.DURATION_MS),
        Column("change", "change", ColumnKind.CHANGE),
    )
    return Table("latency", f"Latency by {key}", columns, merged.reset_index(drop=True))
