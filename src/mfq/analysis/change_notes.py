"""What the releases ``changes`` finds say about other answers: which change an anomaly
or an incident began after (``preceding_change``, ``change_text``, ``with_changes``), and
the changes a chart of a time range marks (``notable_changes``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from mfq.analysis.changes import DEFAULT_FIELD, ChangesRequest, changes, present
from mfq.analysis.common import resolve_selection
from mfq.query.requests import EVERYTHING, Selection

if TYPE_CHECKING:
    import pandas as pd

    from mfq.query.source import QuerySource

#: How long before an anomaly or incident a change is still named as its possible cause.
LOOKBACK_NS = 24 * 3600 * 1_000_000_000
#: One row of ``changes`` as a mapping of its columns.
ChangeRow = dict[str, Any]
#: The changes that can precede a departure (steady and retired values cannot).
ARRIVALS = ("rollout", "rollback", "marker")


def preceding_change(
    found: pd.DataFrame, field: str, at: pd.Timestamp, scope: Sequence[str] = ()
) -> ChangeRow | None:
    """The change (a value's arrival, or a marker) at most ``LOOKBACK_NS`` before ``at``
    whose groups include every value of ``scope`` (``["eu-west-1"]`` for an anomaly of
    region eu-west-1; none: any change), as a row of ``changes``: the latest after which
    errors rose (``shift = worse``), else the latest."""
    if not len(found) or "kind" not in found.columns:
        return None
    groups = list(found.columns[: list(found.columns).index(field)])
    stamp = at.value
    best: ChangeRow | None = None
    rows = cast("list[ChangeRow]", found[found["kind"].isin(ARRIVALS)].to_dict("records"))
    for row in rows:
        arrived = row["first_seen"].value
        if not stamp - LOOKBACK_NS <= arrived <= stamp:
            continue
        values = {str(row[name]) for name in groups}
        if not all(str(value) in values for value in scope):
            continue
        rank = (row["shift"] == "worse", arrived)
        if best is None or rank >= (best["shift"] == "worse", best["first_seen"].value):
            best = row
    return best


def change_text(row: ChangeRow, field: str, at: pd.Timestamp) -> str:
    """``1h 46m after version 2.4.1 arrived in checkout eu-west-1 (rolled back at
    2026-11-19 16:59)``: how long after which change something began."""
    names = list(row)
    groups = [str(row[name]) for name in names[: names.index(field)] if row[name] is not None]
    where = f" in {' '.join(groups)}" if groups else ""
    minutes = int((at - row["first_seen"]).total_seconds() // 60)
    delay = f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
    what = "came" if row["kind"] == "marker" else "arrived"
    text = f"{delay} after {field} {row[field]} {what}{where}"
    if row["kind"] == "rollback":
        left = row["last_seen"].strftime("%Y-%m-%d %H:%M")
        text += f" (rolled back at {left} UTC)"
    return text


def annotate(
    departures: pd.DataFrame, found: pd.DataFrame, field: str, scope_fields: Sequence[str]
) -> pd.Series:
    """For each row of ``departures`` (anomalies: a ``time`` and the ``scope_fields``
    values), the change it began after (``change_text``), or None."""
    import pandas as pd

    texts: list[str | None] = []
    for row in departures.to_dict("records"):
        at = pd.Timestamp(row["time"])
        scope = [str(row[name]) for name in scope_fields if row.get(name) is not None]
        change = preceding_change(found, field, at, scope)
        texts.append(None if change is None else change_text(change, field, at))
    return pd.Series(texts, index=departures.index, dtype=object)


def with_changes(
    store: QuerySource,
    departures: pd.DataFrame,
    by: Sequence[str],
    selection: Selection = EVERYTHING,
    *,
    field: str = DEFAULT_FIELD,
) -> pd.DataFrame:
    """``departures`` (anomalies) with an ``after_change`` column: the change each began
    after (``annotate``), looked up among the changes of the selection's time range (its
    filters aside) plus the lookback before it. Unchanged when the store has no
    ``field``."""
    if field not in store.field_types() or not len(departures):
        return departures
    window = replace(selection, where=(), unweighted=False)
    time = resolve_selection(store, window).time
    earlier = None if time.since is None else (time.since - _lookback()).isoformat()
    end = None if time.until is None else time.until.isoformat()
    wider = Selection(since=earlier, until=end, now=selection.now)
    found = changes(store, ChangesRequest(selection=wider, field=field))
    annotated = departures.copy()
    annotated["after_change"] = annotate(departures, found, field, list(by))
    return annotated


def _lookback() -> timedelta:
    return timedelta(microseconds=LOOKBACK_NS // 1000)


#: Changes a chart names at most (rollbacks and those after which errors rose first).
CHART_CHANGES = 5


def notable_changes(store: QuerySource, selection: Selection = EVERYTHING) -> list[str]:
    """One line per change in the selection worth marking on a chart: rollbacks, then
    rollouts after which errors rose (``version 2.4.1 arrived in checkout eu-west-1 at
    2026-11-19 12:14 UTC, rolled back at 16:59``); none without a ``version`` field.
    Changes count stored events (``unweighted`` aside)."""
    if DEFAULT_FIELD not in store.field_types():
        return []
    found = changes(store, ChangesRequest(selection=replace(selection, unweighted=False)))
    if not len(found):
        return []
    rollbacks = found[found["kind"] == "rollback"]
    worse = found[(found["kind"] == "rollout") & (found["shift"] == "worse")]
    lines = []
    groups = list(found.columns[: list(found.columns).index(DEFAULT_FIELD)])
    for frame in (rollbacks, worse):
        for row in frame.to_dict("records"):
            where_text = " ".join(str(row[name]) for name in groups if present(row[name]))
            line = (
                f"{DEFAULT_FIELD} {row[DEFAULT_FIELD]} arrived in {where_text} at "
                f"{row['first_seen']:%Y-%m-%d %H:%M} UTC"
            )
            if row["kind"] == "rollback":
                line += f", rolled back at {row['last_seen']:%Y-%m-%d %H:%M} UTC"
            else:
                before, after = row["bad_ratio_before"], row["bad_ratio_after"]
                line += f", errors {before:.1%} before, {after:.1%} after"
            lines.append(line)
    return lines[:CHART_CHANGES]
