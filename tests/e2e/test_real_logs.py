"""Every JSON folder of ``../shared/real/`` through the first commands a new user runs:
``events --limit 5``, ``correlate`` on a selection, and ``report`` (Markdown and HTML)
over the whole period. Exit 0, no traceback, and an events table worth reading."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.api import Store
from mfq.cli.main import cli
from tests.realdata import FOLDERS, real_store


def whole_period(real: Store) -> list[str]:
    """``--since`` and ``--until`` holding every event of the store: from its first day to
    the day after its last. (A fixed 2000-2030 held them too, but the report's series and
    anomalies then ran over 30 years of bins: 8 s of CPU for gharchive's 50 events, the
    suite's slowest test.)"""
    info = real.info()
    first, last = info["first"], info["last"]
    assert isinstance(first, datetime) and isinstance(last, datetime)
    until = last.date() + timedelta(days=1)
    return ["--since", first.date().isoformat(), "--until", until.isoformat()]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module", params=FOLDERS)
def real(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder: str = request.param
    return real_store(folder, tmp_path_factory.mktemp(folder))


def _ok(code: int, out: str, err: str) -> None:
    assert code == 0, err
    assert "Traceback" not in out + err and "internal error" not in err


def test_events_shows_timestamp_type_and_rows(real: Store) -> None:
    code, out, err = invoke("events", "--store", str(real.root), "--limit", "5")
    _ok(code, out, err)
    lines = out.splitlines()
    header = lines[1].split()
    assert header[:2] == ["timestamp", "type"], out
    rows = lines[3:]
    assert len(rows) == min(5, real.info()["events"]) and all(r.strip() for r in rows), out
    # Every row shows its time and its type (no column squeezed to nothing).
    assert all(len(r.split()) >= 3 for r in rows), out


def _largest_type(real: Store) -> str:
    code, out, err = invoke(
        "query", "--store", str(real.root), "--group-by", "type", "--limit", "1", "--format", "json"
    )
    _ok(code, out, err)
    return str(json.loads(out)[0]["type"])


def test_correlate_on_a_selection(real: Store) -> None:
    selected = _largest_type(real).replace("'", "\\'")
    period = whole_period(real)
    code, out, err = invoke(
        "correlate", "--store", str(real.root), "--where", f"type = '{selected}'", *period
    )
    _ok(code, out, err)
    code, out, err = invoke(
        "correlate", "--store", str(real.root), "--where", f"type != '{selected}'",
        *period, "--format", "json",
    )  # fmt: skip
    _ok(code, out, err)
    assert isinstance(json.loads(out), list)


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_report_over_the_whole_period(real: Store, fmt: str, tmp_path: Path) -> None:
    out_file = tmp_path / f"report.{fmt}"
    code, out, err = invoke(
        "report", "--store", str(real.root), *whole_period(real), "--format", fmt,
        "--out", str(out_file),
    )  # fmt: skip
    _ok(code, out, err)
    document = out_file.read_text(encoding="utf-8")
    assert "## Volume" in document or "<h2" in document
    if fmt == "html":
        assert document.count("<img ") >= 2  # events and types at least: charts in every install
