"""Golden output of every format for a small fixed set of rows and a single object.

Regenerate with MFQ_UPDATE_GOLDEN=1 (see support.py) and review the diff.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from mfq.render import OutputFormat

from .support import assert_matches_golden, render_to_text

SUFFIX = {
    OutputFormat.TABLE: "table.txt",
    OutputFormat.JSON: "json",
    OutputFormat.NDJSON: "ndjson",
    OutputFormat.CSV: "csv",
    OutputFormat.MARKDOWN: "md",
}


def events_frame() -> pd.DataFrame:
    """Strings, ints, floats, missing values, UTC times, a list, a bool, a duration column.

    Six columns, as `mfq events` shows by default, so the 80-column table stays readable.
    """
    return pd.DataFrame(
        {
            "timestamp": [
                datetime(2026, 11, 3, 10, 0, 0, tzinfo=UTC),
                datetime(2026, 11, 3, 10, 0, 1, 250_000, tzinfo=UTC),
                None,
            ],
            "type": [
                "order.created",
                "payment.failed",
                "inventory.reservation.expired.after.retry",
            ],
            "count": [1_234_567, 3, -42],
            "duration_ms": [850.0, float("nan"), 125_000.0],
            "tags": [["eu", "beta"], [], None],
            "ok": [True, False, True],
        }
    )


def store_info() -> dict[str, object]:
    """A single-object result shaped like `mfq info`."""
    return {
        "events": 1_234_567,
        "first": datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC),
        "last": datetime(2026, 11, 7, 23, 59, 59, 999_000, tzinfo=UTC),
        "sources": 3,
        "bytes": 52_428_800,
        "projects": ["12345", "67890"],
        "types": {"order.created": 10, "payment.failed": 2},
        "p95_ms": 1250.5,
        "error_ratio": 2 / 3,
        "compacted": False,
        "note": None,
    }


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_rows_match_golden(fmt: OutputFormat) -> None:
    output = render_to_text(events_frame(), fmt, title="Events")
    assert output.stderr == ""
    assert_matches_golden(f"rows.{SUFFIX[fmt]}", output.stdout)


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_single_object_matches_golden(fmt: OutputFormat) -> None:
    output = render_to_text(store_info(), fmt, title="Store")
    assert output.stderr == ""
    assert_matches_golden(f"record.{SUFFIX[fmt]}", output.stdout)


def test_table_lines_fit_80_columns_and_have_no_trailing_blanks() -> None:
    lines = render_to_text(events_frame(), OutputFormat.TABLE).stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(line == line.rstrip() for line in lines)
