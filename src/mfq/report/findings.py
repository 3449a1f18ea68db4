"""Tables of what the analyses found: anomalous buckets, SLO compliance and incidents, and
what ``correlate`` says distinguishes errors. Pure functions of the analyses' DataFrames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mfq.render.values import normalise
from mfq.report.model import Column, ColumnKind, Table

if TYPE_CHECKING:
    import pandas as pd

    from mfq.report.settings import AnomalySignal

#: What a correlate row shows for events that lack the field.
NOT_SET = "(not set)"
ALL_EVENTS = "all events"


def anomaly_table(found: Sequence[tuple[AnomalySignal, pd.DataFrame]], *, rows: int) -> Table:
    """Flagged buckets of every signal in time order; when there are more than ``rows``,
    the ``rows`` strongest (by absolute score)."""
    import pandas as pd

    frames = []
    for signal, frame in found:
        if frame.empty:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "time": frame["time"],
                    "signal": signal.label,
                    "group": frame[signal.by].map(_text) if signal.by in frame else "",
                    "value": frame["value"].astype("float64"),
                    "expected": frame["expected"].astype("float64"),
                    "score": frame["score"].astype("float64"),
                    "direction": frame["direction"],
                }
            )
        )
    columns = (
        Column("time", "bucket", ColumnKind.TIME),
        Column("signal", "signal"),
        Column("group", "group"),
        Column("value", "value", ColumnKind.NUMBER),
        Column("expected", "expected", ColumnKind.NUMBER),
        Column("score", "score", ColumnKind.NUMBER),
        Column("direction", "direction"),
    )
    if not frames:
        empty = pd.DataFrame({column.name: [] for column in columns})
        return Table("anomalies", "Anomalous buckets", columns, empty)
    table = pd.concat(frames, ignore_index=True)
    total = len(table)
    if total > rows:
        strongest = table["score"].abs().sort_values(ascending=False, kind="stable").index[:rows]
        table = table.loc[strongest]
    table = table.sort_values(["time", "signal", "group"], kind="stable").reset_index(drop=True)
    note = f"the {rows} strongest of {total} flagged buckets" if total > rows else None
    return Table("anomalies", "Anomalous buckets", columns, table, note=note)


def observed_note(found: Sequence[tuple[AnomalySignal, pd.DataFrame]]) -> str | None:
    """What the anomaly signals say about the span the data covers (they share the
    period, so the first note is theirs all), or None when it covers the whole period."""
    for _signal, frame in found:
        notes: tuple[str, ...] = getattr(frame, "notes", ())
        if notes:
            return notes[0]
    return None


def _text(value: object) -> str:
    cell = normalise(value)
    return NOT_SET if cell is None else str(cell)


def slo_table(summaries: Sequence[tuple[str, pd.DataFrame]]) -> Table:
    """One row per objective scope: events, bad, compliance against target, budget left,
    incidents and MTTR."""
    import pandas as pd

    rows = []
    for scope, summary in summaries:
        row = summary.iloc[0]
        rows.append(
            {
                "scope": scope,
                "events": row["events"],
                "bad": row["bad"],
                "compliance": row["compliance"],
                "target": row["target"],
                "budget_remaining": row["budget_remaining"],
                "incidents": row["incidents"],
                "mttr_minutes": row["mttr_minutes"],
            }
        )
    columns = (
        Column("scope", "scope"),
        Column("events", "events", ColumnKind.COUNT),
        Column("bad", "bad", ColumnKind.COUNT),
        Column("compliance", "compliance", ColumnKind.PERCENT),
        Column("target", "target", ColumnKind.PERCENT),
        Column("budget_remaining", "budget left", ColumnKind.RATIO),
        Column("incidents", "incidents", ColumnKind.COUNT),
        Column("mttr_minutes", "MTTR", ColumnKind.MINUTES),
    )
    frame = pd.DataFrame(rows, columns=[column.name for column in columns])
    return Table("slo", "Compliance", columns, frame)


def incident_table(found: Sequence[tuple[str, pd.DataFrame]]) -> Table:
    """Every objective's incidents, oldest first: time to recover, events, bad, peak."""
    import pandas as pd

    frames = [frame.assign(scope=scope) for scope, frame in found if not frame.empty]
    columns = (
        Column("scope", "scope"),
        Column("start", "start", ColumnKind.TIME),
        Column("end", "end", ColumnKind.TIME),
        Column("minutes", "time to recover", ColumnKind.MINUTES),
        Column("detect_minutes", "time to detect", ColumnKind.MINUTES),
        Column("events", "events", ColumnKind.COUNT),
        Column("bad", "bad", ColumnKind.COUNT),
        Column("peak_bad_ratio", "peak bad ratio", ColumnKind.RATIO),
    )
    names = [column.name for column in columns]
    if not frames:
        return Table("incidents", "Incidents", columns, pd.DataFrame({n: [] for n in names}))
    table = pd.concat(frames, ignore_index=True)[names]
    table = table.sort_values(["start", "scope"], kind="stable").reset_index(drop=True)
    return Table("incidents", "Incidents", columns, table)


def correlate_table(key: str, title: str, frame: pd.DataFrame) -> Table:
    """``correlate``'s ranking: field values far more common among the errors than in the
    baseline (``kind`` says whether a value explains them or is a symptom)."""
    shown = frame.copy()
    shown["value"] = shown["value"].map(_text)
    columns = (
        Column("field", "field"),
        Column("value", "value"),
        Column("selection_count", "errors", ColumnKind.COUNT),
        Column("selection_share", "share of errors", ColumnKind.RATIO),
        Column("baseline_share", "share of baseline", ColumnKind.RATIO),
        Column("score", "score", ColumnKind.NUMBER),
        Column("kind", "kind"),
    )
    from mfq.model.answer import answer

    notes = answer(frame).notes  # a plain frame has none
    note = "; ".join(notes) if notes else None
    return Table(key, title, columns, shown.reset_index(drop=True), note=note)
