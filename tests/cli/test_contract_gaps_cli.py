"""Small contract gaps closed by issue 14: --raw, backquoted field names in --group-by and
--fields, dangling symlinks in an ingested folder, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from mfq.cli.main import cli
from mfq.stopping import stop, stopped_by, stopping
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
    fields = "`odd name`,`a, b`"
    code, out, err = invoke("events", str(export), "--fields", fields, "--format", "csv")
    assert (code, out, err) == (0, 'odd name,"a, b"\n1,x\n2,x\n3,y\n', "")


def test_an_unknown_backquoted_field_gets_the_usual_message(
    write_ndjson: Callable[..., Path],
) -> None:
    export = write_ndjson([event(1, **{"odd name": 1})])
    assert invoke("query", str(export), "--group-by", "`odd nam`") == (
        2,
        "",
        "mfq: error: bad expression at column 1: unknown field 'odd nam' — did you mean"
        " 'odd name'?\n",
    )


def test_an_unknown_group_key_is_pointed_at_as_written(
    write_ndjson: Callable[..., Path],
) -> None:
    """The key, not the expression it is checked as (which made it "column 8")."""
    export = write_ndjson([event(1, region="eu")])
    assert invoke("query", str(export), "--group-by", "type,regoin") == (
        2,
        "",
        "mfq: error: bad expression at column 1: unknown field 'regoin' — did you mean 'region'?\n",
    )


def test_an_unclosed_backquote_is_a_usage_error(write_ndjson: Callable[..., Path]) -> None:
    export = write_ndjson([event(1)])
    code, out, err = invoke("query", str(export), "--group-by", "`type")
    assert (code, out, err) == (
        2,
        "",
        "mfq: error: bad expression at column 1: unterminated field name\n",
    )


def test_a_dangling_symlink_in_a_folder_is_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.ndjson").write_text(json.dumps(event(1)) + "\n")
    (folder / "b.ndjson").symlink_to(tmp_path / "gone.ndjson")
    store = str(tmp_path / "store")
    code, out, err = invoke("ingest", str(folder), "--store", store, "--format", "json")
    assert (code, err) == (0, f"mfq: skipped {folder / 'b.ndjson'}: a symbolic link to nothing\n")
    summary = json.loads(out)
    assert (summary["read"], summary["ingested"]) == (1, 1)
    assert summary["dangling_links"] == [str(folder / "b.ndjson")]


# The ingest sends itself SIGTERM just before its catalog commit, in a real process (the
# handler is installed by the console entry point).
_TERMINATED_INGEST = """
import os, signal, sys
from mfq.store.catalog import Catalog
def commit_batch(self, batch):
    os.kill(os.getpid(), signal.SIGTERM)
    raise AssertionError("the signal did not stop the ingest")
Catalog.commit_batch = commit_batch
sys.argv = ["mfq", "ingest", sys.argv[1], "--store", sys.argv[2]]
from mfq.cli.main import main
main()
"""


def test_sigterm_ends_like_ctrl_c_with_the_store_as_before(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_text("".join(json.dumps(event(i)) + "\n" for i in range(20)))
    store = tmp_path / "store"
    run = subprocess.run(
        [sys.executable, "-c", _TERMINATED_INGEST, str(export), str(store)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert (run.returncode, run.stdout, run.stderr) == (130, "", "mfq: error: interrupted\n")
    code, out, _err = invoke("info", "--store", str(store), "--format", "json")
    assert (code, json.loads(out)["events"]) == (0, 0)
    assert invoke("doctor", "--store", str(store)) == (
        0,
        "",
        "the store is sound: 0 files checked\n",
    )
    code, out, _err = invoke("ingest", str(export), "--store", str(store), "--format", "json")
    assert (code, json.loads(out)["ingested"]) == (0, 20)


def test_a_command_run_again_in_the_process_starts_unstopped(
    write_ndjson: Callable[..., Path],
) -> None:
    """A stop is the process's until the next command: a program (or a test) running the
    command line again must not find the last command's stop."""
    stop(signal.SIGTERM)
    export = write_ndjson([event(1)])
    code, out, _err = invoke("query", str(export), "--format", "json")
    assert (code, json.loads(out), stopping(), stopped_by()) == (0, [{"count": 1}], False, None)
