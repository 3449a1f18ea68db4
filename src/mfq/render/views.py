"""Narrow views of wide analysis results for the ``table`` format (80 columns); machine
formats always get every column."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
