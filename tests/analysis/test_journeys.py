"""Sessions, funnels and paths on hand-built journeys (exact answers), and against DuckDB SQL
(window functions) on generated ones."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from mfq.api import FunnelRequest, Selection, Store
from mfq.errors import UsageError
from tests.selection import selected

T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
STEPS = ["order.created", "order.paid", "order.packed", "order.shipped"]


def _stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _event(
    i: int, seconds: float, type_: str, key: str | None, **extra: object
) -> dict[str, object]:
    record: dict[str, object] = {
        "id": f"ev-{i:05d}",
        "type": type_,
        "timestamp": _stamp(seconds),
        "service": "shop",
        "status": "ok",
        **extra,
    }
    if key is not None:
        record["correlation_id"] = key
    return record


def _journeys() -> list[dict[str, object]]:
    """a: the whole way; b: paid, then a failed packing; c: created twice, paid once;
    d: packed exactly at the window's edge (1h); e: packed 1 s after it; f: shipped, then
    restarts with a second order; events without a key in between. Written out of time
    order, as exports arrive."""
    records = [
        _event(1, 0, "order.created", "a", region="eu"),
        _event(2, 60, "order.paid", "a"),
        _event(3, 600, "order.packed", "a"),
        _event(4, 1800, "order.shipped", "a"),
        _event(5, 10, "order.created", "b", region="us"),
        _event(6, 70, "order.paid", "b"),
        _event(7, 200, "order.packed", "b", status="error"),
        _event(8, 20, "order.created", "c", region="eu"),
        _event(9, 30, "order.created", "c", region="us"),
        _event(10, 90, "order.paid", "c"),
        _event(11, 40, "order.created", "d", region="eu"),
        _event(12, 100, "order.paid", "d"),
        _event(13, 3640, "order.packed", "d"),
        _event(14, 50, "order.created", "e", region="us"),
        _event(15, 110, "order.paid", "e"),
        _event(16, 3651, "order.packed", "e"),
        _event(17, 5, "order.created", "f", region="eu"),
        _event(18, 65, "order.paid", "f"),
        _event(19, 300, "order.packed", "f"),
        _event(20, 900, "order.shipped", "f"),
        _event(21, 7200, "order.created", "f", region="eu"),
        _event(22, 7300, "order.paid", "f"),
        _event(23, 1000, "heartbeat", None),
        _event(24, 7400, "heartbeat", None),
    ]
    random.Random(3).shuffle(records)
    return records


@pytest.fixture
def shop(store: Store, write_ndjson: Callable[..., Path]) -> Store:
    store.ingest([write_ndjson(_journeys())])
    return store


# -- funnel ------------------------------------------------------------------------------


def test_funnel_counts_keys_in_order_within_the_window_edge_included(shop: Store) -> None:
    frame = shop.funnel(STEPS, by="correlation_id", within="1h")
    assert frame["step"].tolist() == STEPS
    # d's packing is exactly 1h after its creation: in; e's is 1 s later: out.
    assert frame["entities"].tolist() == [6, 6, 4, 2]
    assert frame["conversion"].tolist() == pytest.approx([1.0, 1.0, 4 / 6, 2 / 4])
    assert frame["from_start"].tolist() == pytest.approx([1.0, 1.0, 4 / 6, 2 / 6])
    # Time from the previous step: paid 60 s after created for a, b, d, e, f; c's attempt
    # is its first creation (both reach step 2; the first one is kept): 70 s.
    assert frame["median_ms"].tolist()[1] == 60_000.0
    assert frame["p95_ms"].tolist()[1] == pytest.approx(60_000 + 0.75 * 10_000)
    # Packed after paid: a 540 s, b 130 s, d 3540 s, f 235 s.
    assert frame["median_ms"].tolist()[2] == pytest.approx((235_000 + 540_000) / 2)
    assert frame["median_ms"].tolist()[3] == pytest.approx((1_200_000 + 600_000) / 2)
    assert pd.isna(frame["median_ms"].iloc[0])


def test_funnel_total_counts_every_attempt(shop: Store) -> None:
    frame = shop.funnel(STEPS, by="correlation_id", within="1h", total=True)
    # Attempts: a, b, c twice, d, e, f twice. c's second creation reaches paid too; f's
    # second order is paid, never packed.
    assert frame["entities"].tolist() == [8, 8, 4, 2]


def test_funnel_breakdown_takes_the_value_at_the_first_step_with_other_and_total(
    shop: Store,
) -> None:
    frame = shop.funnel(STEPS, by="correlation_id", within="1h", breakdown="region", limit=1)
    groups = frame.groupby("region", sort=False)["entities"].apply(list).to_dict()
    # eu: a, c (its first creation), d, f; us: b, e.
    assert list(groups) == ["eu", "OTHER", "TOTAL"]
    assert groups["eu"] == [4, 4, 3, 2]
    assert groups["OTHER"] == [2, 2, 1, 0]
    assert groups["TOTAL"] == [6, 6, 4, 2]


def test_dropped_at_lists_the_keys_that_stopped_before_the_step(shop: Store) -> None:
    dropped = shop.funnel_dropped(FunnelRequest(steps=STEPS, by="correlation_id", within="1h"), 3)
    assert dropped["correlation_id"].tolist() == ["c", "e"]
    assert dropped["last_step"].tolist() == ["order.paid", "order.paid"]
    assert dropped["reached"].tolist() == [
        pd.Timestamp(_stamp(90)),
        pd.Timestamp(_stamp(110)),
    ]


def test_a_step_can_be_an_expression(shop: Store) -> None:
    frame = shop.funnel(
        ["order.created", "type = 'order.packed' and status = 'error'"],
        by="correlation_id",
        within="1h",
    )
    assert frame["entities"].tolist() == [6, 1]


@pytest.mark.parametrize(
    ("steps", "options", "message"),
    [
        (["order.created"], {}, "funnel needs at least two steps"),
        (STEPS, {"within": "0s"}, "--within: bad duration '0s'"),
        (STEPS, {"by": "corelation_id"}, "--by: unknown field 'corelation_id' — did you mean"),
        (STEPS, {"breakdown": "regoin"}, "--breakdown: unknown field 'regoin'"),
    ],
)
def test_funnel_mistakes_are_usage_errors(
    shop: Store, steps: list[str], options: dict[str, str], message: str
) -> None:
    arguments = {"by": "correlation_id", "within": "1h", **options}
    with pytest.raises(UsageError, match=message):
        shop.funnel(steps, **selected(arguments))


def test_why_and_dropped_at_need_a_step_after_the_first(shop: Store) -> None:
    with pytest.raises(UsageError, match="--dropped-at: a step number from 2 to 4"):
        shop.funnel_dropped(FunnelRequest(steps=STEPS, by="correlation_id", within="1h"), 1)
    with pytest.raises(UsageError, match="--why: a step number from 2 to 4"):
        shop.funnel_why(FunnelRequest(steps=STEPS, by="correlation_id", within="1h"), 5)


# -- sessions ----------------------------------------------------------------------------


def test_sessions_cut_by_end_and_fail_with_outcomes(shop: Store) -> None:
    frame = shop.sessions(by="correlation_id", end="order.shipped", fail="status = 'error'")
    rows = frame[["correlation_id", "events", "errors", "last_type", "outcome"]]
    assert rows.values.tolist() == [
        ["a", 4, 0, "order.shipped", "completed"],
        ["f", 4, 0, "order.shipped", "completed"],
        ["b", 3, 1, "order.packed", "failed"],
        ["c", 3, 0, "order.paid", "open"],
        ["d", 3, 0, "order.packed", "open"],
        ["e", 3, 0, "order.packed", "open"],
        # f restarts after its shipment: a second operation.
        ["f", 2, 0, "order.paid", "open"],
    ]
    assert frame["duration_ms"].tolist()[:2] == [1_800_000.0, 895_000.0]
    summary = frame.summary
    assert (summary["completed"], summary["failed"], summary["open"]) == (2, 1, 4)
    assert summary["completion_rate"] == pytest.approx(2 / 7)
    assert summary["data_end"] == T0 + timedelta(seconds=7400)


def test_open_longer_than_keeps_open_operations_started_that_long_before_the_end(
    shop: Store,
) -> None:
    # The data ends at 7400 s; f's second order started at 7200 s (200 s before). Without
    # --fail, b's failed packing ends nothing: b is open too.
    frame = shop.sessions(by="correlation_id", end="order.shipped", open_longer_than="200s")
    assert frame["correlation_id"].tolist() == ["b", "c", "d", "e", "f"]
    frame = shop.sessions(by="correlation_id", end="order.shipped", open_longer_than="201s")
    assert frame["correlation_id"].tolist() == ["b", "c", "d", "e"]
    assert frame.summary["stuck"] == 4


def test_with_start_events_before_a_start_belong_to_no_operation(shop: Store) -> None:
    frame = shop.sessions(by="correlation_id", start="order.paid", end="order.packed")
    assert frame["correlation_id"].tolist() == ["a", "f", "b", "c", "d", "e", "f"]
    assert frame["events"].tolist() == [2, 2, 2, 1, 2, 2, 1]
    # c was created twice before it was paid: only from the payment on.
    assert frame["first_type"].unique().tolist() == ["order.paid"]


def test_gap_cuts_operations_and_leaves_the_last_open_within_the_gap(shop: Store) -> None:
    frame = shop.sessions(by="correlation_id", gap="30m")
    f_rows = frame[frame["correlation_id"] == "f"]
    assert f_rows["events"].tolist() == [4, 2]
    assert f_rows["outcome"].tolist() == ["completed", "open"]
    # d and e: 3540 s between payment and packing, more than the gap.
    assert frame[frame["correlation_id"] == "e"]["events"].tolist() == [2, 1]
    assert frame.notes == ("operations end after 30m without events",)


def test_where_on_the_operations_own_columns(shop: Store) -> None:
    frame = shop.sessions(
        Selection(where="outcome = 'open'"), by="correlation_id", end="order.shipped"
    )
    assert frame["correlation_id"].tolist() == ["b", "c", "d", "e", "f"]
    frame = shop.sessions(
        Selection(where=["region = 'eu'", "events >= 1"]), by="correlation_id", end="order.shipped"
    )
    # Only the events with region eu: the creations of a, f, c (its first), d, and f's
    # second, which no shipment separates from f's first any more.
    assert frame["correlation_id"].tolist() == ["a", "f", "c", "d"]
    assert frame["events"].tolist() == [1, 2, 1, 1]


def test_events_without_the_key_belong_to_no_operation(shop: Store) -> None:
    frame = shop.sessions(by="correlation_id", end="order.shipped")
    assert "heartbeat" not in set(frame["first_type"]) | set(frame["last_type"])
    assert frame["events"].sum() == 22


def test_ends_are_inferred_from_the_types_that_end_their_keys(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    records = []
    for number in range(5):
        key = f"k{number}"
        records += [
            _event(number * 10, number * 100, "job.queued", key),
            _event(number * 10 + 1, number * 100 + 5, "job.done", key),
        ]
    records.append(_event(99, 1000, "job.queued", "k9"))
    store.ingest([write_ndjson(records)])
    frame = store.sessions(by="correlation_id")
    assert frame["outcome"].tolist() == ["completed"] * 5 + ["open"]
    assert frame.notes == ("operations end at (inferred): job.done",)


# -- paths -------------------------------------------------------------------------------


def test_paths_after_a_step_with_end_and_shares(shop: Store) -> None:
    frame = shop.paths(by="correlation_id", after="order.paid", steps=2)
    assert frame.values.tolist() == [
        ["order.packed → (end)", 3, pytest.approx(3 / 6)],
        ["order.packed → order.shipped", 2, pytest.approx(2 / 6)],
        ["(end)", 1, pytest.approx(1 / 6)],
    ]


def test_paths_before_a_step_start_where_the_journey_does(shop: Store) -> None:
    frame = shop.paths(by="correlation_id", before="order.paid", steps=2, limit=1)
    assert frame.values.tolist() == [
        ["(start) → order.created", 5, pytest.approx(5 / 6)],
        ["OTHER", 1, pytest.approx(1 / 6)],
        ["TOTAL", 6, 1.0],
    ]


def test_paths_need_one_anchor(shop: Store) -> None:
    with pytest.raises(UsageError, match="paths needs one of --after STEP or --before STEP"):
        shop.paths(by="correlation_id")


# -- against DuckDB ----------------------------------------------------------------------


def _generated(seed: int, keys: int = 300) -> list[dict[str, object]]:
    """Random journeys over four types, repeats and restarts included; every event at its
    own millisecond (so the order of events is the order of times)."""
    rng = random.Random(seed)
    moments = rng.sample(range(6 * 3_600_000), keys * 12)
    records: list[dict[str, object]] = []
    for number in range(keys):
        for _ in range(rng.randint(1, 10)):
            ms = moments.pop()
            records.append(
                {
                    "id": f"g{len(records):06d}",
                    "type": rng.choice(["a", "a", "b", "c", "d", "x"]),
                    "timestamp": (T0 + timedelta(milliseconds=ms))
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "status": "error" if rng.random() < 0.1 else "ok",
                    "correlation_id": None if rng.random() < 0.03 else f"k{number:04d}",
                }
            )
    rng.shuffle(records)
    return records


def _duck_funnel(files: str, window_ms: int) -> list[tuple[int, int, float | None]]:
    """Per step: keys reaching it, median ms from the previous step (SQL)."""
    sql = f"""
    WITH ev AS (
        SELECT correlation_id AS k, epoch_ms(timestamp::TIMESTAMPTZ) AS ts, type
        FROM read_parquet('{files}', union_by_name = true) WHERE correlation_id IS NOT NULL),
    s1 AS (SELECT k, ts AS t1 FROM ev WHERE type = 'a'),
    s2 AS (SELECT s1.*, (SELECT min(ts) FROM ev WHERE ev.k = s1.k AND type = 'b'
                         AND ts > s1.t1 AND ts <= s1.t1 + {window_ms}) AS t2 FROM s1),
    s3 AS (SELECT s2.*, (SELECT min(ts) FROM ev WHERE ev.k = s2.k AND type = 'c'
                         AND ts > s2.t2 AND ts <= s2.t1 + {window_ms}) AS t3 FROM s2),
    s4 AS (SELECT s3.*, (SELECT min(ts) FROM ev WHERE ev.k = s3.k AND type = 'd'
                         AND ts > s3.t3 AND ts <= s3.t1 + {window_ms}) AS t4 FROM s3),
    levels AS (SELECT *, 1 + (t2 IS NOT NULL)::INT + (t3 IS NOT NULL)::INT
                         + (t4 IS NOT NULL)::INT AS level FROM s4),
    best AS (SELECT * FROM (SELECT *, row_number() OVER (
                 PARTITION BY k ORDER BY level DESC, t1) AS n FROM levels) WHERE n = 1)
    SELECT count(*), count(t2), count(t3), count(t4),
           quantile_cont(t2 - t1, 0.5), quantile_cont(t3 - t2, 0.5), quantile_cont(t4 - t3, 0.5)
    FROM best
    """
    row = duckdb.sql(sql).fetchall()[0]
    counts, medians = row[:4], [None, *row[4:]]
    return [(n + 1, int(c), m) for n, (c, m) in enumerate(zip(counts, medians, strict=True))]


@pytest.mark.parametrize("seed", [1, 2])
def test_funnel_matches_duckdb_window_functions(
    store: Store, write_ndjson: Callable[..., Path], seed: int
) -> None:
    store.ingest([write_ndjson(_generated(seed))])
    files = str(store.root / "events" / "*" / "*.parquet")
    frame = store.funnel(["a", "b", "c", "d"], by="correlation_id", within="20m")
    theirs = _duck_funnel(files, 20 * 60_000)
    ours = [
        (int(n), int(e), None if pd.isna(m) else float(m))
        for n, e, m in zip(frame["number"], frame["entities"], frame["median_ms"], strict=True)
    ]
    assert [(n, e) for n, e, _m in ours] == [(n, e) for n, e, _m in theirs]
    for (_n, _e, mine), (_n2, _e2, duck) in zip(ours, theirs, strict=True):
        assert mine == (None if duck is None else pytest.approx(float(duck)))


@pytest.mark.parametrize("seed", [3, 4])
def test_sessions_by_gap_match_duckdb_window_functions(
    store: Store, write_ndjson: Callable[..., Path], seed: int
) -> None:
    store.ingest([write_ndjson(_generated(seed))])
    files = str(store.root / "events" / "*" / "*.parquet")
    gap = 10 * 60_000
    sql = f"""
    WITH raw AS (SELECT correlation_id AS k, epoch_ms(timestamp::TIMESTAMPTZ) AS ts, status
                 FROM read_parquet('{files}', union_by_name = true)),
    ending AS (SELECT max(ts) AS data_end FROM raw),
    ev AS (SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY k ORDER BY ts) <= {gap}
                          THEN 0 ELSE 1 END AS new FROM raw WHERE k IS NOT NULL),
    numbered AS (SELECT *, sum(new) OVER (PARTITION BY k ORDER BY ts) AS op FROM ev),
    ops AS (SELECT k, op, min(ts) AS start, max(ts) AS stop, count(*) AS events,
                   count(*) FILTER (WHERE status = 'error') AS errors,
                   arg_max(status, ts) AS last_status FROM numbered GROUP BY k, op)
    SELECT k, start, stop, events, errors,
           CASE WHEN data_end - stop <= {gap} THEN 'open'
                WHEN last_status = 'error' THEN 'failed' ELSE 'completed' END
    FROM ops, ending ORDER BY start, k
    """
    theirs = [tuple(row) for row in duckdb.sql(sql).fetchall()]
    frame = store.sessions(by="correlation_id", gap="10m")
    ours = [
        (k, int(s.value // 1_000_000), int(e.value // 1_000_000), int(n), int(x), o)
        for k, s, e, n, x, o in zip(
            frame["correlation_id"],
            frame["start"],
            frame["end"],
            frame["events"],
            frame["errors"],
            frame["outcome"],
            strict=True,
        )
    ]
    assert ours == theirs


def test_why_reads_ids_holding_quotes_and_backslashes(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # --why names each key's first event by id in an expression: ids are literals there.
    records = [
        {**_event(1, 0, "order.created", "a", region="eu"), "id": "it's\\a"},
        {**_event(2, 60, "order.paid", "a"), "id": "p\\'1"},
        {**_event(3, 10, "order.created", "b", region="us"), "id": "b'\\"},
        {**_event(4, 20, "order.created", "c", region="us"), "id": "c'c"},
    ]
    store.ingest([write_ndjson(records)])
    ranked = store.funnel_why(FunnelRequest(steps=STEPS[:2], by="correlation_id", within="1h"), 2)
    # The selection is the two keys that dropped (us), the baseline the one that paid (eu):
    # every id was found, quotes and backslashes included.
    row = ranked.iloc[0]
    assert (row["field"], row["value"]) == ("region", "us")
    assert (row["selection_count"], row["baseline_count"]) == (2, 0)
