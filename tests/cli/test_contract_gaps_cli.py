"""Small contract gaps closed by issue 14: --raw, backquoted field names in --group-by and
--fields, dangling symlinks in an ingested folder, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from mfq.cli.main import cli
from tests.conftest import REPO, event


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_raw_writes_formula_cells_as_they_are(write_ndjson: Callable[..., Path]) -> None:
    export = write_ndjson([event(1, note="=1+2"), event(2, note="@SUM(A1)")])
    args = ["events", str(export), "--fields", "note", "--format", "csv"]
    assert invoke(*args) == (0, "note\n'=1+2\n'@SUM(A1)\n", "")
    assert invoke(*args, "--raw") == (0, "note\n=1+2\n@SUM(A1)\n", "")


def test_group_by_and_fields_take_backquoted_names(write_ndjson: Callable[..., Path]) -> None:
    export = write_ndjson(
        [
            event(1, **{"a, b": "x", "odd name": 1}),
            event(2, **{"a, b": "x", "odd name": 2}),
            event(3, **{"a, b": "y", "odd name": 3}),
        ]
    )
    code, out, err = invoke(
        "query", str(export), "--group-by", "`a, b`", "--format", "json", "--order-by", "`a, b`"
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == [{"a, b": "x", "count": 2}, {"a, b": "y", "count": 1}]
    code, out, err = invoke("events", str(export), "--fields", "`odd name`,`a, b`", "--format", "csv")
    assert (code, out, err) == (0, "odd name,\"a, b\"\n1,x\n2,x\n3,y\n", "")


def test_an_unknown_backquoted_field_gets_the_usual_message(
    write_ndjson: Callable[..., Path],
) -> None:
    export = write_ndjson([event(1, **{"odd name": 1})])
    assert invoke("query", str(export), "--group-by", "`odd nam`") == (
        2,
        "",
        "mfq: error: bad expression at column 8: unknown field 'odd nam' — did you mean"
        " 'odd name'?\n",
    )


def test_an_unclosed_backquote_is_a_usage_error(write_ndjson: Callable[..., Path]) -> None:
    export = write_ndjson([event(1)])
    code, out, err = invoke("query", str(export), "--group-by", "`type")
    assert (code, out, err) == (
        2,
        "",
        "mfq: error: bad expression at column 1: unterminated field name\n",
    )
