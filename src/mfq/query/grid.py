"""The zero-filled grid of a time series: every bucket of every series. Its size is
buckets × series, known before any of it is built, so one too large for memory (a series
per event id, say) is refused with what to do instead, never attempted."""

from __future__ import annotations

from mfq.errors import UsageError

#: Most rows a time series may have (a few hundred bytes each while it is built).
MAX_SERIES_ROWS = 5_000_000


def check_grid(buckets: int, series: int) -> None:
    """Raise ``UsageError`` when ``buckets`` × ``series`` rows exceed the limit."""
    rows = buckets * series
    if rows > MAX_SERIES_ROWS:
        raise UsageError(
            f"the time series would have {rows:,} rows ({buckets:,} buckets × {series:,}"
            f" series), more than {MAX_SERIES_ROWS:,}: keep the largest series with --top N,"
            " or use wider buckets with --every"
        )
