"""Narrow views of wide analysis results for the ``table`` format (80 columns); machine
formats always get every column."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import tzinfo

    import pandas as pd


def _percent(values: pd.Series) -> pd.Series:
    return values.map(lambda v: None if math.isnan(v) else f"{100 * float(v):.1f}%")


def correlate_view(frame: pd.DataFrame) -> pd.DataFrame:
    """``correlate`` for a terminal: field, value, shares as percentages, score, kind."""
    import pandas as pd

    if "selection_mean" in frame.columns:  # --metric
        return pd.DataFrame(
            {
                "field": frame["field"],
                "value": frame["value"],
                "events": frame["selection_count"],
                "share": _percent(frame["selection_share"]),
                "mean": frame["selection_mean"].round(1),
                "baseline mean": frame["baseline_mean"].round(1),
                "p95": frame["selection_p95"].round(1),
                "score": frame["score"].round(3),
            }
        )
    return pd.DataFrame(
        {
            "field": frame["field"],
            "value": frame["value"],
            "selection": _percent(frame["selection_share"]),
            "baseline": _percent(frame["baseline_share"]),
            "events": frame["selection_count"],
            "score": frame["score"].round(3),
            "kind": frame["kind"],
        }
    )


def check_view(frame: pd.DataFrame) -> pd.DataFrame:
    """``check`` for a terminal: the long ``detail`` column goes to the failure lines."""
    return frame.drop(columns=["detail"])


def check_failures(frame: pd.DataFrame) -> list[str]:
    """One ``FAILED assertion: detail`` line per assertion that did not hold."""
    failed = frame[~frame["passed"].astype(bool)]
    return [
        f"FAILED {assertion}: {detail}"
        for assertion, detail in zip(failed["assertion"], failed["detail"], strict=True)
    ]


def patterns_view(frame: pd.DataFrame) -> pd.DataFrame:
    """``patterns`` for a terminal: template, count, share, change (against the
    baseline), services, and the id last (the template is what a reader scans)."""
    import pandas as pd

    shown = pd.DataFrame(
        {
            "template": frame["template"],
            "count": frame["count"],
            "share": _percent(frame["share"]),
        }
    )
    if "change" in frame.columns:
        shown["change"] = frame["change"]
    shown["services"] = frame["services"].map(_services_short)
    shown["id"] = frame["id"]
    return shown


def _services_short(text: object) -> object:
    """One service by name, several by their number (``8 services``)."""
    if not isinstance(text, str) or "," not in text:
        return text
    names, _, more = text.partition(" (+")
    total = len(names.split(", ")) + (int(more.split()[0]) if more else 0)
    return f"{total} services"


def changes_view(frame: pd.DataFrame, field: str, zone: tzinfo) -> pd.DataFrame:
    """``changes`` for a terminal: where (the groups), value, kind, when it arrived (and
    left, for a rollback) to the minute, bad ratios before and after, and the shift."""
    import pandas as pd

    groups = list(frame.columns[: list(frame.columns).index(field)])

    def minute(values: pd.Series) -> pd.Series:
        return values.map(lambda t: t.tz_convert(zone).strftime("%m-%d %H:%M"))

    shown = ["where", field, "kind", "arrived", "left", "before", "after", "shift"]
    if not len(frame):  # joining no groups' texts row-wise gives a frame, not a column
        return pd.DataFrame(columns=shown)
    return pd.DataFrame(
        {
            "where": frame[groups].astype(str).agg(" ".join, axis=1) if groups else "",
            field: frame[field],
            "kind": frame["kind"],
            "arrived": minute(frame["first_seen"]),
            "left": _left(frame, zone),
            "before": _percent(frame["bad_ratio_before"].astype(float)),
            "after": _percent(frame["bad_ratio_after"].astype(float)),
            "shift": frame["shift"],
        }
    )


def _left(frame: pd.DataFrame, zone: tzinfo) -> pd.Series:
    """When a rolled-back value left: the time alone on the day it arrived."""
    import pandas as pd

    texts = []
    for kind, first, last in zip(
        frame["kind"], frame["first_seen"], frame["last_seen"], strict=True
    ):
        arrived, left = first.tz_convert(zone), last.tz_convert(zone)
        if kind != "rollback":
            texts.append("")
        elif arrived.date() == left.date():
            texts.append(left.strftime("%H:%M"))
        else:
            texts.append(left.strftime("%m-%d %H:%M"))
    return pd.Series(texts, index=frame.index, dtype=object)


def anomalies_view(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``anomalies`` for a terminal: the table without ``after_change``, and one note per
    change the flagged buckets began after (from the first bucket after it)."""
    if "after_change" not in frame.columns:
        return frame, []
    notes: list[str] = []
    seen: set[str] = set()
    for time, text in zip(frame["time"], frame["after_change"], strict=True):
        if not isinstance(text, str):
            continue
        change = text.split(" after ", 1)[1]
        if change in seen:
            continue
        seen.add(change)
        notes.append(f"the anomaly at {time:%Y-%m-%d %H:%M} UTC began {text}")
    return frame.drop(columns=["after_change"]), notes


#: ``slo --incidents`` in a terminal: the end and the detection time follow from the start
#: and the two durations, and three timestamps do not fit 80 columns.
INCIDENT_VIEW_COLUMNS = ("start", "minutes", "detect_minutes", "events", "bad", "peak_bad_ratio")


def incidents_view(frame: pd.DataFrame) -> pd.DataFrame:
    """SLO incidents for a terminal: start, time to recover and to detect, counts, peak."""
    return frame[[c for c in INCIDENT_VIEW_COLUMNS if c in frame.columns]]
