"""The command line: exit codes, one-line errors, output formats, real subprocesses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from tests.conftest import SHARED_REAL, event


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_ingest_json_summary_and_exit_code(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    path = write_ndjson([event(1), event(2), "bad"])
    code, out, err = invoke("ingest", str(path), "--store", str(tmp_path / "s"), "--format", "json")
    assert code == 0, err
    summary = json.loads(out)
    assert list(summary)[:7] == [
        "sources",
        "read",
        "ingested",
        "duplicates",
        "rejected",
        "warnings",
        "seconds",
    ]
    assert (summary["read"], summary["ingested"], summary["rejected"]) == (3, 2, 1)


def test_strict_ingest_with_rejects_exits_1_and_commits_nothing(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    store = str(tmp_path / "s")
    code, _out, err = invoke(
        "ingest", str(write_ndjson([event(1), "bad"])), "--store", store, "--strict"
    )
    assert code == 1
    assert "--strict: 1 records rejected, nothing committed" in err
    code, out, _ = invoke("info", "--store", store, "--format", "json")
    assert code == 0 and json.loads(out)["events"] == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["info", "--store", "{missing}"], 3, "mfq: error: no store at"),
        (["ingest", "{missing}/x.ndjson", "--store", "{tmp}/s"], 3, "no such file or directory"),
        (["ingest", "--bogus"], 2, "No such option '--bogus'"),
        (["info", "--format", "yaml"], 2, "Invalid value for '--format'"),
        (["ingest", "x", "--assume-tz", "Mars/Olympus"], 2, "unknown time zone 'Mars/Olympus'"),
        (["ingest", "x", "--redact-key", "("], 2, "bad regular expression"),
        (["nope"], 2, "No such command 'nope'"),
    ],
)
def test_errors_are_one_line_with_the_right_exit_code(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    filled = [a.format(missing=tmp_path / "missing", tmp=tmp_path) for a in args]
    exit_code, _out, err = invoke(*filled)
    assert exit_code == code
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unreadable_input_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "logs.csv"
    path.write_text("LineId,Date\n1,2\n")
    code, _out, err = invoke("ingest", str(path), "--store", str(tmp_path / "s"))
    assert code == 3 and "does not look like JSON or NDJSON" in err


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "csv", "markdown"])
def test_info_and_schema_in_every_format(tmp_path: Path, fmt: str) -> None:
    store = str(tmp_path / "s")
    assert (
        invoke("ingest", str(SHARED_REAL / "openstack" / "openstack_2k.ndjson"), "--store", store)[
            0
        ]
        == 0
    )
    code, out, err = invoke("info", "--store", store, "--format", fmt)
    assert code == 0, err
    assert "2,000" in out or "2000" in out
    code, out, err = invoke("schema", "--store", store, "--format", fmt)
    assert code == 0, err
    assert "correlation_id" in out and "http_status" in out


def test_schema_json_reports_types_presence_and_mixed_fields(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    store = str(tmp_path / "s")
    records = [event(i, attributes={"code": i if i % 2 else f"E{i}", "n": i}) for i in range(4)]
    invoke("ingest", str(write_ndjson(records)), "--store", store)
    code, out, _ = invoke("schema", "--store", store, "--format", "json")
    assert code == 0
    rows = {row["field"]: row for row in json.loads(out)}
    assert rows["code"]["mixed"] is True and rows["code"]["type"] == "mixed(integer,string)"
    assert rows["n"] == {
        "field": "n",
        "type": "integer",
        "present": 100.0,
        "distinct": 4,
        "top_values": ["0 (1)", "1 (1)", "2 (1)", "3 (1)"],
        "mixed": False,
    }
    assert rows["service"]["present"] == 0.0


def test_event_values_cannot_inject_terminal_escapes_into_schema_tables(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    store = str(tmp_path / "s")
    hostile = "\x1b]8;;http://evil\x07click\x1b]8;;\x07 [bold red]boom[/] \x1b[31m"
    invoke("ingest", str(write_ndjson([event(1, note=hostile)])), "--store", store)
    code, out, _ = invoke("schema", "--store", store)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "http://evil" in out


def test_importing_the_cli_loads_no_heavy_modules() -> None:
    code = (
        "import sys, mfq.cli.main; heavy = ('pandas', 'pyarrow', 'numpy', 'pydantic', 'rich'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# -- the installed entry point, through real pipes --------------------------------------------


def mfq_executable() -> str:
    found = shutil.which("mfq", path=str(Path(sys.executable).parent))
    assert found is not None, "the mfq console script is not installed in this environment"
    return found


def test_installed_entry_point_help_and_version() -> None:
    result = subprocess.run(
        [mfq_executable(), "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert all(name in result.stdout for name in ("ingest", "info", "schema", "demo"))


def test_installed_entry_point_ingests_from_a_pipe(tmp_path: Path) -> None:
    data = (SHARED_REAL / "openstack" / "openstack_2k.ndjson").read_bytes()
    store = str(tmp_path / "s")
    result = subprocess.run(
        [mfq_executable(), "ingest", "-", "--store", store, "--format", "ndjson"],
        input=data,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ingested"] == 2000
    again = subprocess.run(
        [mfq_executable(), "info", "--store", store, "--format", "csv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0
    header, row = again.stdout.strip().splitlines()
    assert header == "events,first,last,sources,profiles,bytes,projects,types"
    assert row.startswith("2000,2017-05-16T00:00:00.008Z,2017-05-16T00:14:47.687Z,1,")


def test_installed_entry_point_reports_a_missing_store_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [mfq_executable(), "schema", "--store", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.strip().startswith("mfq: error: no store at")


def test_an_answer_written_to_a_full_device_is_a_data_error(tmp_path: Path) -> None:
    """The machine's failure, not a bug of mfq: one line, exit 3 (it was exit 4, an
    "internal error" asking to rerun with --debug; found in review)."""
    data = (SHARED_REAL / "openstack" / "openstack_2k.ndjson").read_bytes()
    store = str(tmp_path / "s")
    ingest = [mfq_executable(), "ingest", "-", "--store", store]
    assert subprocess.run(ingest, input=data, capture_output=True, check=False).returncode == 0
    with open("/dev/full", "w", encoding="utf-8") as full:  # (Linux: CI's and ours)
        result = subprocess.run(
            [mfq_executable(), "info", "--store", store, "--format", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert (result.returncode, result.stderr) == (
        3,
        "mfq: error: No space left on device (free some space, or write elsewhere)\n",
    )


def test_rejects_command_lists_what_ingest_rejected(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    store = str(tmp_path / "s")
    _code, _out, err = invoke(
        "ingest", str(write_ndjson([event(1), "junk", "[2]"])), "--store", store
    )
    assert "2 records rejected: see them with 'mfq rejects'" in err
    code, out, _ = invoke("rejects", "--store", store, "--format", "csv", "--code", "not_object")
    assert code == 0
    assert out.splitlines()[1].endswith(",3,not_object,not an object (got array),[2]")
    path = tmp_path / "export-0.ndjson"
    code, out, _ = invoke("rejects", "--store", store)  # on a terminal: one entry per record
    assert code == 0
    lines = out.splitlines()
    entries = [line for line in lines if not line.startswith("    ")]
    assert [entry.split("  ")[0] for entry in entries] == [f"{path}:2", f"{path}:3"]
    assert max(len(line) for line in lines if line not in entries) <= 80
    assert [line for line in lines if line.startswith("    raw: ")] == [
        "    raw: junk",
        "    raw: [2]",
    ]
    words = " ".join(line.strip() for line in lines)
    assert "not_json  not JSON: Expecting value: line 1 column 1 (char 0)" in words
    assert "not_object  not an object (got array)" in words


def test_demo_writes_ingests_and_finds_the_planted_incident(tmp_path: Path) -> None:
    out = tmp_path / "demo.ndjson.gz"
    code, stdout, stderr = invoke(
        "demo", "--out", str(out), "--events", "50000", "--store", str(tmp_path / "s")
    )
    assert code == 0, stderr
    assert out.exists() and "wrote 50,000 events" in stderr
    rows = [line.split() for line in stdout.splitlines()]
    # mfq query --group-by version,region: the planted slice first.
    assert ["2.4.1", "eu-west-1"] in [row[:2] for row in rows]
    # mfq correlate ranks the version first among explanations.
    assert next(r[:2] for r in rows if r[-1:] == ["explains"]) == ["version", "2.4.1"]
    # mfq slo finds the incident's window as an incident: 14:00, 90 minutes (its table
    # is no longer the last: the planted journeys follow it).
    assert ["2026-11-19", "14:00:00", "90"] in [row[:3] for row in rows]


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    source = SHARED_REAL / "openstack" / "openstack_2k.ndjson"
    subprocess.run(
        [mfq_executable(), "ingest", str(source), "--store", store], check=True, capture_output=True
    )
    result = subprocess.run(
        f"'{mfq_executable()}' events --store '{store}' --format ndjson | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stderr == ""
    assert json.loads(result.stdout)["type"]
