"""Exports from the wild on the command line: loud refusals, folders with files that are
not JSON, --profile, --map, rejects --summary, profiles in info, schema --drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from tests.conftest import SHARED_REAL, event

K8S = SHARED_REAL / "k8s-audit" / "audit2rbac-demo.log"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _audit_copy(tmp_path: Path, lines: int = 40) -> Path:
    path = tmp_path / "audit.log"
    with K8S.open(encoding="utf-8") as handle:
        path.write_text("".join(next(handle) for _ in range(lines)), encoding="utf-8")
    return path


def test_a_refused_source_says_why_in_one_line_and_exits_3(tmp_path: Path) -> None:
    audit = _audit_copy(tmp_path)
    code, out, err = invoke(
        "ingest",
        str(audit),
        "--store",
        str(tmp_path / "s"),
        "--profile",
        "none",
        "--format",
        "json",
    )
    assert code == 3
    assert json.loads(out)["ingested"] == 0
    assert err == (
        f"mfq: {audit}: 0 of 40 records stored, all missing_type (tried type, event_name, "
        "event_type, event, name; records have kind, apiVersion, metadata, level, timestamp, "
        "auditID, ...); name the type key with --map type=KEY\n"
    )


def test_missing_time_names_the_time_keys(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"type": "a", "when": 1}\n{"type": "b", "when": 2, "who": "z"}\n')
    code, _out, err = invoke(
        "ingest", str(path), "--store", str(tmp_path / "s"), "--format", "json"
    )
    assert code == 3
    assert err == (
        f"mfq: {path}: 0 of 2 records stored, all missing_timestamp (tried timestamp, "
        "timestamp_occurred, time, ts, @timestamp, created_at, occurred_at; records have "
        "type, when, who); name the timestamp key with --map timestamp=KEY\n"
    )


def test_other_reasons_point_to_the_rejects_summary(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(
        '{"type": "a", "timestamp": "soon"}\n{"type": "a"}\n{"type": "a", "timestamp": "x"}\n'
    )
    code, _out, err = invoke(
        "ingest", str(path), "--store", str(tmp_path / "s"), "--format", "json"
    )
    assert code == 3
    assert err == (
        f"mfq: {path}: 0 of 3 records stored, mostly (2 of 3) bad_timestamp; "
        "see why with 'mfq rejects --summary'\n"
    )


def test_a_run_that_stores_something_exits_0_and_still_names_the_refused_file(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(event(1)) + "\n")
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "x"}\n')
    code, _out, err = invoke(
        "ingest", str(good), str(bad), "--store", str(tmp_path / "s"), "--format", "json"
    )
    assert code == 0
    assert err.splitlines()[0].startswith(f"mfq: {bad}: 0 of 1 records stored, all missing_type")


def test_a_query_on_files_all_refused_exits_3_not_no_events_match(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"kind": "x"}\n')
    code, out, err = invoke("query", str(path), "--group-by", "type")
    assert (code, out) == (3, "")
    assert err == (
        f"mfq: error: {path}: 0 of 1 records stored, all missing_type (tried type, "
        "event_name, event_type, event, name; records have kind); name the type key with "
        "--map type=KEY\n"
    )


def test_map_names_the_keys_of_an_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(
        '{"op": "get", "at": {"utc": "2024-01-01T00:00:00Z"}, "took": 1.5}\n'
        '{"op": "put", "at": {"utc": "2024-01-01T00:00:01Z"}, "took": 2}\n'
    )
    store = str(tmp_path / "s")
    code, out, err = invoke(
        "ingest", str(path), "--store", store, "--format", "json",
        "--map", "type=op", "--map", "timestamp=at.utc", "--map", "duration_s=took",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["ingested"] == 2
    code, out, _ = invoke(
        "events", "--store", store, "--format", "json", "--fields", "type,duration_ms"
    )
    assert json.loads(out) == [
        {"type": "get", "duration_ms": 1500.0},
        {"type": "put", "duration_ms": 2000.0},
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "type"], "mfq: error: --map: expected FIELD=KEY, got 'type'\n"),
        (
            ["--map", "colour=c"],
            "mfq: error: --map: 'colour' is not a standard field (nor duration_s, duration_us,"
            " duration_ns or actor)\n",
        ),
        (
            ["--profile", "./absent.toml"],
            "mfq: error: --profile: cannot read ./absent.toml: No such file or directory\n",
        ),
    ],
)
def test_bad_map_and_profile_options_are_usage_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(event(1)) + "\n")
    code, _out, err = invoke("ingest", str(path), "--store", str(tmp_path / "s"), *args)
    assert (code, err) == (2, message)


def test_rejects_summary_counts_by_source_and_reason_with_the_keys(tmp_path: Path) -> None:
    audit = _audit_copy(tmp_path, 10)
    store = str(tmp_path / "s")
    invoke("ingest", str(audit), "--store", store, "--profile", "none")
    code, out, _ = invoke("rejects", "--store", store, "--summary", "--format", "json")
    assert code == 0
    (row,) = json.loads(out)
    assert (row["source"], row["code"], row["count"]) == (str(audit), "missing_type", 10)
    assert row["keys"].split(", ")[:3] == ["kind", "apiVersion", "metadata"]


def test_a_folder_skips_files_that_are_not_json_and_names_them(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.ndjson").write_text(json.dumps(event(1)) + "\n")
    (folder / "README.md").write_text("# exports\n")
    (folder / "SHA256SUMS").write_text("abc  a.ndjson\n")
    (folder / "blob.bin").write_bytes(bytes(range(256)))
    code, out, err = invoke(
        "ingest", str(folder), "--store", str(tmp_path / "s"), "--format", "json"
    )
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["ingested"], summary["skipped_files"], summary["sources"]) == (1, 3, 4)
    assert err.splitlines() == [
        f"mfq: skipped {folder / name}: does not look like JSON or NDJSON"
        for name in ("README.md", "SHA256SUMS", "blob.bin")
    ]


def test_a_file_named_explicitly_that_is_not_json_still_fails_with_its_path(
    tmp_path: Path,
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# not an export\n")
    code, _out, err = invoke("ingest", str(readme), "--store", str(tmp_path / "s"))
    assert (code, err) == (3, f"mfq: error: {readme}: does not look like JSON or NDJSON\n")


def test_info_reports_each_sources_profile(tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    invoke("ingest", str(SHARED_REAL / "suricata"), str(SHARED_REAL / "ecs"), "--store", store)
    code, out, _ = invoke("info", "--store", store, "--format", "json")
    assert code == 0
    assert json.loads(out)["profiles"] == {"ecs": 1, "suricata": 1}


def test_forced_profile_is_reported_and_rereads_the_file(tmp_path: Path) -> None:
    audit = _audit_copy(tmp_path, 6)
    store = str(tmp_path / "s")
    code, out, _ = invoke("ingest", str(audit), "--store", store, "--format", "json")
    assert (code, json.loads(out)["profiles"]) == (0, {"k8s-audit": 1})
    code, out, err = invoke(
        "ingest", str(audit), "--store", store, "--format", "json", "--profile", "k8s-audit"
    )
    summary = json.loads(out)
    assert code == 0
    assert (summary["reread_sources"], summary["duplicates"], summary["ingested"]) == (1, 6, 0)
    assert err == (
        f"mfq: {audit}: read again: stored before with other options (profile, --map, "
        "--assume-tz or redaction)\n"
    )
    # The same options again: nothing to read.
    code, out, _ = invoke(
        "ingest", str(audit), "--store", store, "--format", "json", "--profile", "k8s-audit"
    )
    assert json.loads(out)["skipped_sources"] == 1


def test_schema_drift_shows_a_field_that_vanished(tmp_path: Path) -> None:
    day1 = [event(1, region="eu", build=3), event(2, region="us", build=4)]
    day2 = [
        {**event(3, region="eu", build="3a"), "timestamp": "2026-11-04T10:00:00Z"},
        {"id": "x", "type": "t", "timestamp": "2026-11-04T11:00:00Z", "build": "9"},
    ]
    first, second = tmp_path / "d1.json", tmp_path / "d2.json"
    first.write_text("\n".join(json.dumps(r) for r in day1) + "\n")
    second.write_text("\n".join(json.dumps(r) for r in day2) + "\n")
    store = str(tmp_path / "s")
    invoke("ingest", str(first), "--store", store)
    invoke("ingest", str(second), "--store", store)
    code, out, _ = invoke("schema", "--drift", "--store", store, "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {
            "day": "2026-11-04",
            "field": "build",
            "change": "type_changed",
            "types": "integer -> string",
            "sources": str(second),
        },
    ]
    third = tmp_path / "d3.json"
    third.write_text(json.dumps({**event(9), "timestamp": "2026-11-05T00:00:00Z"}) + "\n")
    invoke("ingest", str(third), "--store", store)
    code, out, _ = invoke("schema", "--drift", "--store", store, "--format", "json")
    assert json.loads(out)[1:] == [
        {
            "day": "2026-11-05",
            "field": "build",
            "change": "vanished",
            "types": "string",
            "sources": str(second),
        },
        {
            "day": "2026-11-05",
            "field": "region",
            "change": "vanished",
            "types": "string",
            "sources": str(second),
        },
    ]
