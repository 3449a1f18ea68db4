"""mfq timeline: bursts collapsed and markers placed exactly on hand-built events, and the
demo incident found where its truth says, checked against DuckDB over the same Parquet."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

import mfq
from mfq.analysis.timeline import COLUMNS
from mfq.api import Selection, Store
from mfq.cli.main import cli
from mfq.demo import DemoConfig, DemoTruth, write_export
from mfq.errors import UsageError
from tests.conftest import REPO
from tests.selection import selected

T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _event(
    i: int,
    seconds: float,
    *,
    type_: str = "a",
    service: str | None = "api",
    status: str = "ok",
    **extra: object,
) -> dict[str, object]:
    record: dict[str, object] = {
        "id": f"ev-{i:05d}",
        "type": type_,
        "timestamp": _at(seconds).isoformat().replace("+00:00", "Z"),
        "status": status,
        **extra,
    }
    if service is not None:
        record["service"] = service
    return record


def _timeline(
    store: Store, write_ndjson: Callable[..., Path], records: list[dict[str, object]], **options
) -> pd.DataFrame:
    store.ingest([write_ndjson(records)])
    return store.timeline(**selected(options))


def _bursts(frame: pd.DataFrame) -> list[tuple[datetime, datetime, int, str]]:
    return [
        (time.to_pydatetime(), until.to_pydatetime(), int(count), str(type_))
        for time, until, count, type_ in zip(
            frame["time"], frame["until"], frame["count"], frame["type"], strict=True
        )
    ]


def _markers(frame: pd.DataFrame) -> dict[str, int]:
    """Marker -> row (a row can carry several, joined by ", ")."""
    return {
        name: row
        for row, marker in enumerate(frame["marker"])
        if not pd.isna(marker)
        for name in str(marker).split(", ")
    }


# -- bursts ----------------------------------------------------------------------------------


def test_like_events_within_the_gap_collapse_into_one_row(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    frame = _timeline(
        store,
        write_ndjson,
        [
            _event(0, 0),
            _event(1, 30),
            _event(2, 90),  # exactly the gap after the previous: still the same burst
            _event(3, 151),  # 61 s later: a new row
            _event(4, 152, type_="b"),
            _event(5, 153, type_="b", status="error"),
            _event(6, 154, type_="b", status="error"),
            _event(7, 156, type_="c", service=None),
            _event(8, 157, type_="c", service=None),  # a missing service equals another
        ],
    )
    assert list(frame.columns) == [*COLUMNS, "error"]
    assert _bursts(frame) == [
        (_at(0), _at(90), 3, "a"),
        (_at(151), _at(151), 1, "a"),
        (_at(152), _at(152), 1, "b"),
        (_at(153), _at(154), 2, "b"),
        (_at(156), _at(157), 2, "c"),
    ]
    assert frame["status"].tolist() == ["ok", "ok", "ok", "error", "ok"]
    assert frame["error"].tolist() == [False, False, False, True, False]
    assert frame["service"].tolist()[-1] is None


def test_gap_sets_how_close_events_of_a_burst_must_be(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    records = [_event(0, 0), _event(1, 8), _event(2, 20), _event(3, 29)]
    frame = _timeline(store, write_ndjson, records, gap="10s")
    assert frame["count"].tolist() == [2, 2]


def test_a_burst_shows_its_most_severe_severity_and_its_first_message(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    frame = _timeline(
        store,
        write_ndjson,
        [
            _event(0, 0, severity="info"),
            _event(1, 1, severity="warn", message="slow: 2 s"),
            _event(2, 2, severity="debug", message="later"),
        ],
    )
    assert frame[["count", "severity", "message"]].values.tolist() == [[3, "warn", "slow: 2 s"]]


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"status": "error"}, True),
        ({"severity": "error"}, True),
        ({"severity": "fatal"}, True),
        ({"http_status": 500}, True),
        ({"http_status": 503, "severity": "info"}, True),
        ({"http_status": 499}, False),
        ({"severity": "warn"}, False),
        ({"status": "failed"}, False),  # only status "error" counts (SPEC keeps it as written)
    ],
)
def test_which_events_are_errors(
    store: Store, write_ndjson: Callable[..., Path], extra: dict[str, object], error: bool
) -> None:
    record = {**_event(0, 0), **extra}
    frame = _timeline(store, write_ndjson, [_event(1, -120), record])
    assert frame["error"].tolist() == [False, error]


def test_an_error_never_shares_a_row_with_a_non_error(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    frame = _timeline(
        store, write_ndjson, [_event(0, 0), _event(1, 1, http_status=502), _event(2, 2)]
    )
    assert frame["count"].tolist() == [1, 1, 1]
    assert frame["error"].tolist() == [False, True, False]


# -- markers ---------------------------------------------------------------------------------

SCATTERED = [
    _event(0, 0),
    _event(1, 300),
    _event(2, 600, type_="b", status="error"),
    _event(3, 620, type_="b", status="error"),
    _event(4, 900),
    _event(5, 1200),
    _event(6, 2100, type_="c", status="error"),
    _event(7, 2400),
    _event(8, 2700),
]


def test_few_scattered_errors_mark_the_first_and_last_error_plainly(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    frame = _timeline(store, write_ndjson, SCATTERED)
    assert len(frame) == 8
    assert frame["marker"][2] == "first error, peak"
    assert _markers(frame) == {"first error": 2, "peak": 2, "last error": 5, "recovered": 6}
    assert frame.summary == {
        "first_error": _at(600),
        "peak": _at(600),
        "peak_errors": 2,
        "last_error": _at(2100),
        "recovered": _at(2400),
        "time_to_recover_ms": 1_800_000.0,
        "events": 9,
        "errors": 3,
        "incident_errors": 3,
        "incident_stands_out": False,
    }


def _incident_records() -> list[dict[str, object]]:
    """300 events 10 s apart; two lone errors (20, 250) and, from 100 to 129, a stretch
    where two events in three fail."""
    records = []
    for i in range(300):
        failing = i in (20, 250) or (100 <= i < 130 and (i - 100) % 3 != 2)
        records.append(_event(i, 10 * i, status="error" if failing else "ok"))
    return records


def test_an_incident_that_stands_out_is_marked_and_lone_errors_are_not(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    frame = _timeline(store, write_ndjson, _incident_records())
    # Rows: 0-19, 20, 21-99, then the stretch (error pairs and single oks), 129-249, 250, 251-
    assert len(frame) == 25
    assert _markers(frame) == {"first error": 3, "peak": 5, "last error": 21, "recovered": 22}
    assert frame["time"][3] == _at(1000) and frame["until"][3] == _at(1010)
    assert frame["time"][5] == _at(1030)
    assert (frame["time"][22], frame["until"][22]) == (_at(1290), _at(2490))
    assert frame["error"][1] and pd.isna(frame["marker"][1])
    summary = frame.summary
    # The busiest error minute is 10:17 (events 102-107: four errors), the first of the
    # minutes with four; its first pair of errors holds most of them.
    assert summary == {
        "first_error": _at(1000),
        "peak": datetime(2026, 11, 3, 10, 17, tzinfo=UTC),
        "peak_errors": 4,
        "last_error": _at(1280),
        "recovered": _at(1290),
        "time_to_recover_ms": 290_000.0,
        "events": 300,
        "errors": 22,
        "incident_errors": 20,
        "incident_stands_out": True,
    }


def test_limit_keeps_the_marked_rows_and_their_nearest_neighbours(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    frame = _timeline(store, write_ndjson, _incident_records(), limit=6)
    assert frame.total_rows == 25
    assert frame["time"].tolist() == [
        _at(210),
        _at(1000),
        _at(1020),
        _at(1030),
        _at(1270),
        _at(1290),
    ]
    assert frame["marker"].tolist()[1:] == [
        "first error",
        None,
        "peak",
        "last error",
        "recovered",
    ]


def test_limit_without_errors_keeps_the_first_rows(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    records = [_event(i, 120 * i) for i in range(10)]
    frame = _timeline(store, write_ndjson, records, limit=3)
    assert frame["time"].tolist() == [_at(0), _at(120), _at(240)]
    assert frame["marker"].isna().all()
    assert frame.summary["first_error"] is None
    assert frame.summary["events"] == 10


def test_no_matching_events_is_an_empty_timeline(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    frame = _timeline(store, write_ndjson, SCATTERED, where="type = 'nothing'")
    assert frame.empty
    assert list(frame.columns) == [*COLUMNS, "error"]
    assert frame.summary["events"] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gap": "soon"}, "--gap: bad duration"),
        ({"limit": 0}, "--limit must be at least 1"),
        ({"where": "stauts = 'error'"}, "did you mean 'status'"),
    ],
)
def test_bad_options_are_usage_errors(
    store: Store, write_ndjson: Callable[..., Path], options: dict[str, object], message: str
) -> None:
    store.ingest([write_ndjson(SCATTERED)])
    with pytest.raises(UsageError, match=message):
        store.timeline(**selected(options))


# -- the demo incident, against DuckDB -------------------------------------------------------

WHERE = "service = 'checkout' and region = 'eu-west-1'"
DAY = ("2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z")
ERROR_SQL = (
    "(coalesce(status = 'error', false) or coalesce(severity in ('error', 'fatal'), false)"
    " or coalesce(http_status >= 500, false))"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, DemoTruth]:
    root = tmp_path_factory.mktemp("timeline-demo")
    truth = write_export(root / "demo.ndjson", DemoConfig())
    store = mfq.open_store(root / "store")
    store.ingest([root / "demo.ndjson"])
    return store, truth


def _sql(store: Store, query: str, params: list[object]) -> list[tuple[object, ...]]:
    files = [str(store.root / f.path) for f in store.catalog.files("events")]
    source = (
        f"(SELECT *, {ERROR_SQL} AS err FROM read_parquet({files!r}, union_by_name=true)"
        " WHERE service = 'checkout' AND region = 'eu-west-1'"
        f" AND timestamp >= TIMESTAMPTZ '{DAY[0]}' AND timestamp < TIMESTAMPTZ '{DAY[1]}')"
    )
    return duckdb.execute(query.replace("EV", source), params).fetchall()


def test_the_demo_incident_is_marked_where_its_truth_says(
    demo: tuple[Store, DemoTruth],
) -> None:
    store, truth = demo
    assert truth.incident is not None
    start, end = truth.incident.window_start, truth.incident.window_end
    frame = store.timeline(Selection(where=WHERE, since=DAY[0], until=DAY[1]))
    summary = frame.summary
    # From the data and the incident's window alone: its first and last error, the first
    # non-error after it, the busiest error minute in between.
    [(first, last)] = _sql(
        store,
        "SELECT min(timestamp), max(timestamp) FROM EV WHERE err AND timestamp >= ?"
        " AND timestamp < ?",
        [start, end],
    )
    [(recovered,)] = _sql(
        store, "SELECT min(timestamp) FROM EV WHERE NOT err AND timestamp > ?", [last]
    )
    [(peak, peak_errors)] = _sql(
        store,
        "SELECT date_trunc('minute', timestamp) AS m, count(*) AS n FROM EV WHERE err"
        " AND timestamp BETWEEN ? AND ? GROUP BY m ORDER BY n DESC, m LIMIT 1",
        [first, last],
    )
    [(events, errors, in_window)] = _sql(
        store,
        "SELECT count(*), count(*) FILTER (WHERE err),"
        " count(*) FILTER (WHERE err AND timestamp BETWEEN ? AND ?) FROM EV",
        [first, last],
    )
    assert errors > in_window  # base-rate errors outside the incident exist, and are left out
    assert summary["first_error"] == first and start <= first < start + timedelta(minutes=5)
    assert summary["last_error"] == last and end - timedelta(minutes=5) <= last < end
    assert summary["recovered"] == recovered
    assert (summary["peak"], summary["peak_errors"]) == (peak, peak_errors)
    assert (summary["events"], summary["errors"]) == (events, errors)
    assert summary["incident_errors"] == in_window
    assert summary["incident_stands_out"] is True
    assert summary["time_to_recover_ms"] == (recovered - first).total_seconds() * 1000
    marked = {m: frame["time"][row] for m, row in _markers(frame).items()}
    assert marked["first error"] == first
    assert marked["recovered"] == recovered
    last_row = _markers(frame)["last error"]
    assert frame["until"][last_row] == last


def test_demo_bursts_match_duckdb_window_functions(demo: tuple[Store, DemoTruth]) -> None:
    store, _ = demo
    frame = store.timeline(Selection(where=WHERE, since=DAY[0], until=DAY[1]))
    changes = " OR ".join(
        f"{name} IS DISTINCT FROM lag({name}) OVER w" for name in ("type", "service", "status")
    )
    rows = _sql(
        store,
        "SELECT min(timestamp), max(timestamp), count(*) FROM ("
        "  SELECT *, sum(CASE WHEN new THEN 1 ELSE 0 END) OVER w AS burst FROM ("
        "    SELECT *, (lag(timestamp) OVER w IS NULL"
        "      OR epoch_ns(timestamp) - epoch_ns(lag(timestamp) OVER w) > 60000000000"
        f"      OR err <> lag(err) OVER w OR {changes}) AS new"
        "    FROM EV WINDOW w AS (ORDER BY timestamp, id))"
        "  WINDOW w AS (ORDER BY timestamp, id))"
        " GROUP BY burst ORDER BY burst",
        [],
    )
    assert len(rows) > 300
    assert [burst[:3] for burst in _bursts(frame)] == rows


def _guide_transcripts() -> list[tuple[list[str], str]]:
    """(arguments, output) of every ``$ mfq trace``/``$ mfq timeline`` in the guide's
    "Tracing and timelines" section."""
    text = (REPO / "docs" / "guide.md").read_text(encoding="utf-8")
    section = text[text.index("## Tracing and timelines") :]
    found = []
    for block in section.split("```")[1::2]:
        lines = block.strip("\n").splitlines()
        for position, line in enumerate(lines):
            if not line.startswith(("$ mfq trace", "$ mfq timeline")):
                continue
            command = line[2:]
            rest = lines[position + 1 :]
            while command.endswith("\\"):
                command = command[:-1] + rest.pop(0).strip()
            found.append((shlex.split(command)[1:], "\n".join(rest) + "\n"))
    return found


def test_the_guide_shows_real_trace_and_timeline_output(demo: tuple[Store, DemoTruth]) -> None:
    store, _ = demo
    transcripts = _guide_transcripts()
    assert [args[0] for args, _ in transcripts] == ["trace", "timeline"]
    for args, expected in transcripts:
        real = [str(store.root) if arg == ".mfq-demo" else arg for arg in args]
        result = CliRunner().invoke(cli, real)
        assert result.exit_code == 0, result.output
        # The transcript shows stderr (what a table left out) where a terminal shows it.
        notes = result.stderr.splitlines()
        assert all(note in expected.splitlines() for note in notes)
        shown = [line for line in expected.splitlines() if line not in notes]
        assert result.stdout.splitlines() == shown
