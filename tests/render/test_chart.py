"""The terminal chart of time series."""

from __future__ import annotations

import io

import pandas as pd

from mfq.env import Env
from mfq.render.chart import render_series_chart, sparkline


def test_sparkline_scales_to_the_largest_value_and_squeezes_by_max() -> None:
    assert sparkline([0, 1, 2, 4, 8], 5) == " ▁▂▄█"
    assert sparkline([1, 9, 1, 1], 2) == "█▁"
    assert sparkline([], 4) == ""


def test_chart_draws_one_line_per_series_largest_first_with_data_inert() -> None:
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(["2026-11-03T10:00Z", "2026-11-03T11:00Z"] * 2),
            "service": ["small", "small", "\x1b[31mbig", "\x1b[31mbig"],
            "count": [1, 2, 10, 20],
        }
    )
    out = io.StringIO()
    render_series_chart(frame, "time", ["service"], "count", Env(stdout=out, width=60))
    lines = out.getvalue().splitlines()
    assert lines[0] == "count, 2026-11-03 10:00 to 2026-11-03 11:00 (UTC)"
    assert lines[1].startswith("\\x1b[31mbig ") and lines[1].endswith(" max 20")
    assert lines[2].startswith("small") and "\x1b" not in out.getvalue()
