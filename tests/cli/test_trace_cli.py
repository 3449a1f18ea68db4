"""mfq trace and mfq timeline from the command line: the waterfall, machine formats,
empty results, bad options, untrusted text, and what a long timeline table leaves out."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from mfq.analysis.trace import TRACE_COLUMNS
from mfq.cli.main import cli
from mfq.env import Env
from mfq.render.timeline import column_widths
from mfq.render.waterfall import EVENT_GLYPH, SPAN_GLYPH, render_waterfall

TRACE = "0af7651916cd43dd8448eb211c80319c"
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _stamp(ms: float) -> str:
    return (T0 + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")


def _span(
    span_id: str | None,
    parent: str | None,
    at_ms: float,
    duration_ms: float | None,
    **extra: object,
) -> dict[str, object]:
    record: dict[str, object] = {
        "id": f"{span_id}-{at_ms}",
        "type": "op",
        "timestamp": _stamp(at_ms),
        "service": "api",
        "status": "ok",
        "trace_id": TRACE,
        **extra,
    }
    for key, value in (("span_id", span_id), ("parent_span_id", parent)):
        if value is not None:
            record[key] = value
    if duration_ms is not None:
        record["duration_ms"] = duration_ms
    return record


@pytest.fixture
def trace_export(write_ndjson: Callable[..., Path]) -> Path:
    return write_ndjson(
        [
            _span("root", None, 0, 100.0, type="http.request", service="gateway"),
            _span("a", "root", 10, 30.0, type="db.query", service="db", status="error"),
            _span("b", "root", 50, 50.0, type="render"),
            _span(None, None, 75, None, type="log.line"),
        ]
    )


# -- trace -----------------------------------------------------------------------------------


def test_trace_draws_a_waterfall_that_fits_80_columns(trace_export: Path) -> None:
    code, out, err = invoke("trace", TRACE, str(trace_export))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"trace {TRACE}"
    assert lines[1] == "3 spans, 1 event, 3 services, 100 ms, 1 error, from 2026-11-03 10:00:00"
    assert lines[2].split()[:5] == ["span", "service", "offset", "duration", "status"]
    assert all(cell_len(line) <= 80 for line in lines)
    body = lines[3:]
    assert [line.split()[0] for line in body] == ["http.request", "db.query", "render", "log.line"]
    assert [len(line) - len(line.lstrip()) for line in body] == [0, 2, 2, 4]
    # The root lasts the whole trace: its bar is the full width; the others are scaled.
    bar_start = body[0].index(SPAN_GLYPH)
    width = body[0].count(SPAN_GLYPH)
    assert bar_start + width == len(body[0]) and width >= 20
    assert body[1].index(SPAN_GLYPH) == bar_start + int(0.10 * width)
    assert body[2].index(SPAN_GLYPH) == bar_start + int(0.50 * width)
    assert body[2].count(SPAN_GLYPH) == width - int(0.50 * width)
    assert body[3].index(EVENT_GLYPH) == bar_start + int(0.75 * width)
    assert body[1].split()[1:5] == ["db", "10", "ms", "30"]


def test_trace_json_gives_the_rows_in_tree_order(trace_export: Path) -> None:
    code, out, _ = invoke("trace", TRACE.upper(), str(trace_export), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert list(rows[0])[: len(TRACE_COLUMNS)] == list(TRACE_COLUMNS)
    assert [(r["depth"], r["span_id"], r["offset_ms"], r["duration_ms"]) for r in rows] == [
        (0, "root", 0.0, 100.0),
        (1, "a", 10.0, 30.0),
        (1, "b", 50.0, 50.0),
        (2, None, 75.0, None),
    ]
    assert rows[3]["note"] == "by time"
    assert rows[0]["timestamp"] == "2026-11-03T10:00:00Z"


def test_trace_reads_the_store_too(tmp_path: Path, trace_export: Path) -> None:
    store = str(tmp_path / "s")
    assert invoke("ingest", str(trace_export), "--store", store)[0] == 0
    code, out, _ = invoke("trace", TRACE, "--store", store, "--format", "csv")
    assert code == 0
    assert out.splitlines()[0].startswith(",".join(TRACE_COLUMNS))
    assert len(out.splitlines()) == 5


@pytest.mark.parametrize(("fmt", "stdout"), [("table", ""), ("json", "[]\n")])
def test_an_unknown_trace_matches_no_events_and_exits_0(
    trace_export: Path, fmt: str, stdout: str
) -> None:
    code, out, err = invoke("trace", "f" * 32, str(trace_export), "--format", fmt)
    assert (code, out) == (0, stdout)
    assert err == ("no events match\n" if fmt == "table" else "")


def test_a_file_where_the_trace_id_belongs_is_a_usage_error(trace_export: Path) -> None:
    code, _, err = invoke("trace", str(trace_export))
    assert code == 2
    assert "the trace ID comes first: mfq trace ID [FILE]..." in err


def test_the_waterfall_shows_untrusted_text_inert(write_ndjson: Callable[..., Path]) -> None:
    path = write_ndjson(
        [
            _span("r", None, 0, 10.0, type="[red]x[/red]\x1b[2J", service="\x1b]0;x\x07"),
        ]
    )
    code, out, _ = invoke("trace", TRACE, str(path))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "[red]x[/red]\\x1b[2J" in out
    assert "\\x1b]0;x\\x07" in out


def _frame(depths: list[int]) -> pd.DataFrame:
    count = len(depths)
    return pd.DataFrame(
        {
            "depth": depths,
            "span_id": [f"s{i}" for i in range(count)],
            "parent_span_id": [None] * count,
            "service": ["a-rather-long-service-name"] * count,
            # Some names are double-width (CJK): widths are terminal cells, not characters.
            "type": [f"{'注文処理' if i % 3 else 'operation'}.long.name.{i}" for i in range(count)],
            "offset_ms": [float(i) for i in range(count)],
            "duration_ms": [float(count - i) for i in range(count)],
            "status": ["ok"] * count,
            "timestamp": pd.to_datetime([T0] * count, utc=True),
            "note": [None] * count,
            "id": [f"e{i}" for i in range(count)],
        }
    )


@pytest.mark.parametrize("width", [60, 80, 120])
def test_deep_trees_fit_the_terminal_width(width: int) -> None:
    stdout = io.StringIO()
    env = Env(stdout=stdout, stderr=io.StringIO(), width=width)
    render_waterfall(_frame(list(range(40))), env, title="trace deep")
    lines = stdout.getvalue().splitlines()
    assert len(lines) == 43
    assert all(cell_len(line) <= width for line in lines)
    assert all(SPAN_GLYPH in line for line in lines[3:])


# -- timeline --------------------------------------------------------------------------------


@pytest.fixture
def long_export(write_ndjson: Callable[..., Path]) -> Path:
    """450 events a minute and a half apart (so none collapse), errors from 200 to 229."""
    records = []
    for i in range(450):
        failing = 200 <= i < 230
        records.append(
            {
                "id": f"ev-{i:04d}",
                "type": "page.viewed",
                "timestamp": _stamp(i * 90_000),
                "service": "web",
                "status": "error" if failing else "ok",
                "message": "boom" if failing else "fine",
            }
        )
    return write_ndjson(records)


def test_timeline_table_shows_200_rows_says_what_was_cut_and_summarises(long_export: Path) -> None:
    code, out, err = invoke("timeline", str(long_export))
    assert code == 0
    assert err == (
        "showing 200 of 450 rows (the markers and the rows nearest them); "
        "--limit N for more, --format json for all\n"
    )
    lines = out.splitlines()
    assert "timeline, service web, times in UTC" in lines[0]
    # Every row has the service "web" (in the title) and is one event (nothing "lasted").
    assert lines[1].split() == ["time", "count", "type", "status", "message", "marker"]
    rows = [line for line in lines if line.startswith("11-0")]
    assert len(rows) == 200
    assert all(cell_len(line) <= 80 for line in lines)
    first_error = T0 + timedelta(seconds=200 * 90)
    assert any(
        line.startswith(f"{first_error:%m-%d %H:%M:%S}") and "first error" in line for line in rows
    )
    summary = lines[lines.index(next(line for line in lines if line.strip() == "summary")) :]
    assert f"first error            {first_error:%Y-%m-%d %H:%M:%S}" in summary
    assert "time to recover        45m 00s" in summary


def test_timeline_machine_formats_give_every_row(long_export: Path) -> None:
    code, out, err = invoke("timeline", str(long_export), "--format", "json")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert len(rows) == 450
    assert list(rows[0]) == [
        "time",
        "until",
        "count",
        "type",
        "service",
        "status",
        "severity",
        "message",
        "marker",
        "error",
    ]
    assert [r["time"] for r in rows if r["marker"]] == [
        "2026-11-03T15:00:00Z",
        "2026-11-03T15:43:30Z",
        "2026-11-03T15:45:00Z",
    ]
    assert [r["marker"] for r in rows if r["marker"]] == [
        "first error, peak",
        "last error",
        "recovered",
    ]


def test_timeline_limit_and_tz(long_export: Path) -> None:
    code, out, err = invoke(
        "timeline",
        str(long_export),
        "--limit",
        "3",
        "--tz",
        "Europe/Paris",
        "--where",
        "status = 'error'",
    )
    assert code == 0
    assert "showing 3 of 30 rows" in err
    lines = out.splitlines()
    assert "times in Europe/Paris" in lines[0]
    assert [line[:14] for line in lines if line.startswith("11-0")] == [
        "11-03 16:00:00",
        "11-03 16:01:30",
        "11-03 16:43:30",
    ]


def test_timeline_with_nothing_matching_says_so(long_export: Path) -> None:
    code, out, err = invoke("timeline", str(long_export), "--where", "status = 'nope'")
    assert (code, out, err) == (0, "", "no events match\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gap", "soon"], "mfq: error: --gap: bad duration 'soon'"),
        (["--where", "stauts = 'error'"], "unknown field 'stauts' — did you mean 'status'?"),
        (["--limit", "0"], "Invalid value for '--limit'"),
        (["--since", "yesterday-ish"], "--since: bad time"),
    ],
)
def test_timeline_bad_options_are_one_line_and_exit_2(
    long_export: Path, args: list[str], message: str
) -> None:
    code, out, err = invoke("timeline", str(long_export), *args)
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1


def test_timeline_table_shows_how_long_bursts_lasted_and_varying_services(
    write_ndjson: Callable[..., Path],
) -> None:
    records = [
        {"id": f"e{i}", "type": "job.run", "timestamp": _stamp(i * 10_000), "service": svc}
        for i, svc in enumerate(["a", "a", "a", "b"])
    ]
    code, out, _ = invoke("timeline", str(write_ndjson(records)))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].strip() == "timeline, times in UTC"
    assert lines[1].split() == ["time", "count", "lasted", "type", "service", "marker"]
    assert lines[3].split() == ["11-03", "10:00:00", "3", "20.00", "s", "job.run", "a", "—"]
    assert lines[4].split() == ["11-03", "10:00:30", "1", "—", "job.run", "b", "—"]


WIDE_ROW = {
    "time": "11-03 10:00:00",
    "count": 12,
    "lasted": "2m 05s",
    "type": "checkout.payment.authorization.requested",
    "service": "payments-gateway-eu",
    "status": "error",
    "message": "upstream call timed out after 30 s while authorising the card",
    "marker": "first error, peak",
}


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        # Natural widths (capped): time 14, count 5, lasted 6, type 28, service 16,
        # status 6, message 60, marker 17, and 2 between columns: 166 cells.
        (140, {"type": 28, "service": 16, "status": 6, "message": 34}),  # message -26
        (100, {"type": 14, "service": 16, "status": 6, "message": 8}),  # then type -14
        # The message at 8 would need type 12, service 8, status 5 and still 9 more:
        # without it, 104 cells need type -16 and service -8.
        (80, {"type": 12, "service": 8, "status": 6}),
    ],
)
def test_timeline_columns_narrow_text_first_and_never_cut_time_or_marker(
    width: int, expected: dict[str, int]
) -> None:
    widths = column_widths(pd.DataFrame([WIDE_ROW]), width)
    assert sum(widths.values()) + 2 * (len(widths) - 1) <= width
    assert widths == {"time": 14, "count": 5, "lasted": 6, **expected, "marker": 17}


def test_a_timeline_on_a_narrow_terminal_still_fits() -> None:
    from mfq.render import OutputFormat
    from mfq.render.timeline import render_timeline

    frame = pd.DataFrame(
        {
            "time": pd.to_datetime([T0], utc=True),
            "until": pd.to_datetime([T0 + timedelta(minutes=2)], utc=True),
            **{k: [v] for k, v in WIDE_ROW.items() if k not in ("time", "lasted")},
            "severity": ["error"],
            "error": [True],
        }
    )
    stdout = io.StringIO()
    render_timeline(frame, OutputFormat.TABLE, Env(stdout=stdout, stderr=io.StringIO(), width=50))
    lines = stdout.getvalue().splitlines()
    assert len(lines) == 4
    assert all(cell_len(line) <= 50 for line in lines)
