"""Time buckets in a display zone across a daylight-saving change (Europe/Paris falls back
on 2026-10-25 at 03:00 CEST = 01:00 UTC): day buckets stay on local midnight, and the
repeated hour is two buckets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from mfq.api import Selection, Store


def _hourly_events(start: datetime, hours: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"h{i}",
            "type": "tick",
            "timestamp": (start + timedelta(hours=i, minutes=10)).isoformat(),
        }
        for i in range(hours)
    ]


def test_day_buckets_follow_local_midnight(store: Store, write_ndjson: Callable[..., Path]) -> None:
    start = datetime(2026, 10, 22, tzinfo=UTC)
    store.ingest([write_ndjson(_hourly_events(start, 24 * 7))])
    result = store.timeseries(
        Selection(since="2026-10-22T00:00Z", until="2026-10-29T00:00Z"),
        every="1d",
        tz="Europe/Paris",
    )
    parquet = str(store.root / "events" / "*" / "*.parquet")
    duckdb.sql("SET TimeZone = 'Europe/Paris'")
    expected = duckdb.sql(
        f"""select date_trunc('day', timestamp) as day, count(*)
            from read_parquet('{parquet}') group by 1 order by 1"""
    ).fetchall()
    ours = [(row.time, row.count) for row in result.itertuples() if row.count]
    assert [count for _, count in ours] == [count for _, count in expected]
    assert [t.tz_convert("Europe/Paris").hour for t, _ in ours] == [0] * len(ours)
    assert sum(result["count"]) == 24 * 7
    # The fall-back day has 25 hours.
    by_day = {t.tz_convert("Europe/Paris").date().isoformat(): c for t, c in ours}
    assert by_day["2026-10-25"] == 25


def test_repeated_hour_is_two_buckets(store: Store, write_ndjson: Callable[..., Path]) -> None:
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)
    store.ingest([write_ndjson(_hourly_events(start, 6))])
    result = store.timeseries(
        Selection(since="2026-10-24T22:00Z", until="2026-10-25T04:00Z"),
        every="1h",
        tz="Europe/Paris",
    )
    assert [str(t) for t in result["time"]] == [
        f"2026-10-2{d} {h:02d}:00:00+00:00"
        for d, h in [(4, 22), (4, 23), (5, 0), (5, 1), (5, 2), (5, 3)]
    ]
    assert result["count"].tolist() == [1] * 6


def test_a_grid_from_1970_to_now_holds_its_last_bucket() -> None:
    """np.arange sizes an int64 range in doubles: from 0 to past 2026-11-03T10:00Z in hours
    it made one bucket too few, and the event in the last one failed the series with an
    IndexError (a Hypothesis draw in the clean-clone run found it)."""
    from mfq.query.engines.series import bucket_grid

    last = int(datetime(2026, 11, 3, 10, tzinfo=UTC).timestamp()) * 10**9
    hours = bucket_grid(0, last + 1, timedelta(hours=1), None, 1)
    assert (len(hours), int(hours[0]), int(hours[-1])) == (last // 3_600_000_000_000 + 1, 0, last)
    days = bucket_grid(0, last + 1, timedelta(days=1), "Europe/Berlin", 1)
    assert int(days[-1]) == int(datetime(2026, 11, 2, 23, tzinfo=UTC).timestamp()) * 10**9
