"""Every pinned expression mistake, given on the command line, exits 2 with one line that
names the column, and never a traceback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from tests.query.test_expr_errors import MISTAKES

OPTION = {"filter": "--where", "aggregate": "--agg", "condition": "--having"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("expr-cli")
    export = root / "e.ndjson"
    record = {
        "id": "1",
        "type": "a",
        "timestamp": "2026-11-03T10:00:00Z",
        "service": "s",
        "status": "ok",
        "duration_ms": 1.5,
        "http_status": 200,
        "error": {"code": "E"},
        "is_admin": True,
    }
    export.write_text(json.dumps(record) + "\n")
    result = CliRunner().invoke(cli, ["ingest", str(export), "--store", str(root / "s")])
    assert result.exit_code == 0
    return str(root / "s")


@pytest.mark.parametrize(
    ("parser", "text", "position", "message"),
    [m for m in MISTAKES if "\x00" not in m[1]],
    ids=[f"{p}:{t[:30]}" for p, t, _, _ in MISTAKES if "\x00" not in t],
)
def test_cli_reports_each_mistake_in_one_line(
    store: str, parser: str, text: str, position: int, message: str
) -> None:
    args = ["query", "--store", store, OPTION[parser], text]
    if parser == "condition":
        args += ["--group-by", "service"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"mfq: error: bad expression at column {position + 1}: ")
