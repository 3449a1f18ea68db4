"""``mfq check`` from the command line: exit codes, exact output, and JUnit XML checked
against the structure CI systems read (pinned exactly for small cases).

The data: ten events, one a minute from 2026-11-03 10:00 UTC (``i`` = 0..9). Odd ``i`` are
``order.created`` (five), even ``page.view``; i = 3 failed (a ratio of 0.1);
``duration_ms`` = 100 * i, so the p95 of 0..900 is 855 (rank 0.95 * 9 = 8.55).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from mfq.render.junit import JUnitRun, check_junit, error_junit

ORDERS = "count(type = 'order.created') >= 1"
ERRORS = "ratio(status = 'error') < 0.02"
LATENCY = "p95(duration_ms) < 800"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check-cli") / "run.ndjson"
    records = [
        {
            "id": f"e{i}",
            "type": "order.created" if i % 2 else "page.view",
            "timestamp": f"2026-11-03T10:0{i}:00Z",
            "status": "error" if i == 3 else "ok",
            "duration_ms": 100 * i,
        }
        for i in range(10)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def store(export: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("check-cli-store") / "store")
    assert invoke("ingest", str(export), "--store", root)[0] == 0
    return root


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _stable(xml: str) -> str:
    """The document with its run time and timestamp (the only varying parts) fixed."""
    xml = re.sub(r' time="[0-9.]+"', ' time="T"', xml)
    return re.sub(r' timestamp="[0-9T:-]+"', ' timestamp="TS"', xml)


def _validate_junit(path: Path) -> ET.Element:
    """The checks a CI system's JUnit reader relies on; returns the one testsuite."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    for element in (root, suite):
        assert element.get("tests") == str(len(cases))
        assert element.get("failures") == str(len(failures))
        assert element.get("errors") == str(len(errors))
        assert element.get("skipped") == "0"
        assert float(element.get("time", "x")) >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", suite.get("timestamp", ""))
    for case in cases:
        assert case.get("classname") == "mfq.check" and case.get("name")
        assert len(list(case)) <= 1
        for outcome in case:
            assert outcome.tag in ("failure", "error") and outcome.get("message")
    return suite


# -- exit codes and output -------------------------------------------------------------------


def test_all_passing_exits_0_with_the_table_and_a_tally(store: str) -> None:
    code, out, err = invoke("check", ORDERS, LATENCY.replace("800", "900"), "--store", store)
    assert code == 0, err
    assert out.splitlines() == [
        "                           check",
        "assertion                           value  passed  expected",
        "─" * 59,
        "count(type = 'order.created') >= 1      5  true    >= 1",
        "p95(duration_ms) < 900                855  true    < 900",
    ]
    assert err == "passed: 2 of 2 assertions\n"


def test_a_failing_assertion_exits_1_and_says_what_was_measured(store: str) -> None:
    code, out, err = invoke("check", "--store", store, ORDERS, ERRORS, LATENCY)
    assert code == 1
    assert out.splitlines()[3:] == [
        "count(type = 'order.created') >= 1      5  true    >= 1",
        "ratio(status = 'error') < 0.02        0.1  false   < 0.02",
        "p95(duration_ms) < 800                855  false   < 800",
    ]
    assert err.splitlines() == [
        "FAILED ratio(status = 'error') < 0.02: ratio(status = 'error') = 0.1 (expected < 0.02)",
        "FAILED p95(duration_ms) < 800: p95(duration_ms) = 855 (expected < 800)",
        "failed: 2 of 3 assertions",
    ]


def test_json_has_a_row_per_assertion_and_nothing_on_stderr(store: str) -> None:
    code, out, err = invoke("check", "--store", store, ORDERS, ERRORS, "--format", "json")
    assert (code, err) == (1, "")
    assert json.loads(out) == [
        {
            "assertion": ORDERS,
            "value": 5,
            "passed": True,
            "expected": ">= 1",
            "detail": "count(type = 'order.created') = 5 (expected >= 1)",
        },
        {
            "assertion": ERRORS,
            "value": 0.1,
            "passed": False,
            "expected": "< 0.02",
            "detail": "ratio(status = 'error') = 0.1 (expected < 0.02)",
        },
    ]


def test_input_files_time_range_and_filters_apply_to_every_assertion(export: Path) -> None:
    # 10:02-10:06 is i = 2..5, of which i = 3 and 5 are orders, i = 3 failed.
    code, out, err = invoke(
        "check",
        "count = 2",
        "ratio(status = 'error') = 0.5",
        "--input",
        str(export),
        "--since",
        "2026-11-03T10:02Z",
        "--until",
        "2026-11-03T10:06Z",
        "--where",
        "type = 'order.created'",
        "--format",
        "csv",
    )
    assert code == 0, err
    assert out.splitlines() == [
        "assertion,value,passed,expected,detail",
        # A cell starting with '=' is neutralised for spreadsheets (SPEC, "Untrusted data").
        "count = 2,2,true,'= 2,count = 2 (expected = 2)",
        "ratio(status = 'error') = 0.5,0.5,true,'= 0.5,"
        "ratio(status = 'error') = 0.5 (expected = 0.5)",
    ]


def test_no_events_in_range_fails_an_assertion_that_has_no_value(store: str) -> None:
    code, _out, err = invoke(
        "check", "--store", store, LATENCY, "--last", "1h", "--now", "2026-12-01T00:00Z"
    )
    assert code == 1
    assert err.splitlines() == [
        "FAILED p95(duration_ms) < 800: p95(duration_ms) has no value: no events match the time"
        " range and filters",
        "failed: 1 of 1 assertions",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["ratio(stauts = 'error') < 0.02"],
            "mfq: error: assertion 1: bad expression at column 7: unknown field 'stauts' — did"
            " you mean 'status'?",
        ),
        (
            [ORDERS, "p95(duration_ms) <"],
            "mfq: error: assertion 2: bad expression at column 19: expected a value after '<',"
            " found the end",
        ),
        ([], "mfq: error: Missing argument 'ASSERTION...'. (see 'mfq check --help')"),
    ],
)
def test_a_malformed_assertion_exits_2_with_one_line(
    store: str, args: list[str], message: str
) -> None:
    code, out, err = invoke("check", "--store", store, *args)
    assert (code, out) == (2, "")
    assert err == message + "\n"


# -- JUnit XML --------------------------------------------------------------------------------


def test_junit_records_passes_failures_and_missing_values(store: str, tmp_path: Path) -> None:
    junit = tmp_path / "reports" / "mfq.xml"  # the directory is created
    code, _out, _err = invoke(
        "check", "--store", store, ORDERS, ERRORS, LATENCY,
        "count(type = 'signup') = 0", "--junit", str(junit), "--suite", "checkout events",
        "--where", "status = 'ok' or status = 'error'",
    )  # fmt: skip
    assert code == 1
    suite = _validate_junit(junit)
    assert suite.get("failures") == "2"
    assert _stable(junit.read_text(encoding="utf-8")) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="checkout events" tests="4" failures="2" errors="0" skipped="0"'
        ' time="T">\n'
        '  <testsuite name="checkout events" tests="4" failures="2" errors="0" skipped="0"'
        ' time="T" timestamp="TS">\n'
        "    <properties>\n"
        f'      <property name="store" value="{store}" />\n'
        '      <property name="engine" value="local" />\n'
        "      <property name=\"where\" value=\"status = 'ok' or status = 'error'\" />\n"
        '      <property name="events" value="10" />\n'
        "    </properties>\n"
        '    <testcase classname="mfq.check" name="count(type = \'order.created\') &gt;= 1"'
        ' time="T" />\n'
        '    <testcase classname="mfq.check" name="ratio(status = \'error\') &lt; 0.02"'
        ' time="T">\n'
        "      <failure message=\"ratio(status = 'error') = 0.1 (expected &lt; 0.02)\""
        ' type="AssertionFailed">'
        "assertion: ratio(status = 'error') &lt; 0.02\n"
        "value: 0.1\n"
        "expected: &lt; 0.02</failure>\n"
        "    </testcase>\n"
        '    <testcase classname="mfq.check" name="p95(duration_ms) &lt; 800" time="T">\n'
        '      <failure message="p95(duration_ms) = 855 (expected &lt; 800)"'
        ' type="AssertionFailed">'
        "assertion: p95(duration_ms) &lt; 800\n"
        "value: 854.9999999999999\n"  # exact here; the message rounds to 12 digits
        "expected: &lt; 800</failure>\n"
        "    </testcase>\n"
        '    <testcase classname="mfq.check" name="count(type = \'signup\') = 0" time="T" />\n'
        "  </testsuite>\n"
        "</testsuites>\n"
    )


def test_junit_properties_give_the_resolved_time_range(export: Path, tmp_path: Path) -> None:
    junit = tmp_path / "mfq.xml"
    code, _out, _err = invoke(
        "check", "-i", str(export), "count >= 1", "--last", "30m", "--now", "2026-11-03T10:05Z",
        "--junit", str(junit),
    )  # fmt: skip
    assert code == 0
    properties = {p.get("name"): p.get("value") for p in _validate_junit(junit).iter("property")}
    assert properties == {
        "inputs": str(export),
        "engine": "local",
        "since": "2026-11-03T09:35:00Z",
        "until": "2026-11-03T10:05:00Z",
        "events": "5",
    }


def test_junit_is_written_with_an_error_per_assertion_when_the_store_is_missing(
    tmp_path: Path,
) -> None:
    junit = tmp_path / "mfq.xml"
    missing = str(tmp_path / "none")
    code, _out, err = invoke("check", "--store", missing, ORDERS, ERRORS, "--junit", str(junit))
    assert code == 3
    assert err.startswith("mfq: error: no store at ") and err.count("\n") == 1
    suite = _validate_junit(junit)
    assert suite.get("errors") == "2" and suite.get("failures") == "0"
    [first, second] = suite.findall("testcase/error")
    assert (
        first.attrib
        == second.attrib
        == {
            "message": f"no store at {missing} (ingest an export first: mfq ingest FILE)",
            "type": "StoreNotFound",
        }
    )


def test_junit_is_written_for_a_malformed_assertion(store: str, tmp_path: Path) -> None:
    junit = tmp_path / "mfq.xml"
    code, _out, _err = invoke("check", "--store", store, ORDERS, "count >", "--junit", str(junit))
    assert code == 2
    [case, bad] = _validate_junit(junit).findall("testcase")
    assert (case.get("name"), bad.get("name")) == (ORDERS, "count >")
    error = bad.find("error")
    assert error is not None and error.get("type") == "InvalidAssertion"
    assert error.get("message") == (
        "assertion 2: bad expression at column 8: expected a value after '>', found the end"
    )


def test_an_unwritable_junit_path_is_a_usage_error(store: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    code, _out, err = invoke("check", "--store", store, ORDERS, "--junit", str(blocker / "x.xml"))
    assert code == 2
    assert err.startswith(f"mfq: error: --junit: cannot write {blocker / 'x.xml'}: ")
    assert err.count("\n") == 1


def test_junit_documents_are_exact_and_keep_hostile_text_inert() -> None:
    run = JUnitRun(
        suite="gate <&>",
        seconds=1.25,
        timestamp=datetime(2026, 11, 3, 12, 30, 5, 123456, tzinfo=UTC),
        properties={"store": "/tmp/\x1b[31mred"},
    )
    result = pd.DataFrame(
        {
            "assertion": ["count(type = '\x1b]0;pwned\x07') = 0", "p95(d) < 1"],
            "value": pd.Series([3, None], dtype=object),
            "passed": [False, False],
            "expected": ["= 0", "< 1"],
            "detail": [
                "count(type = '\x1b]0;pwned\x07') = 3 (expected = 0)",
                "p95(d) has no value",
            ],
        }
    )
    assert check_junit(result, run) == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="gate &lt;&amp;&gt;" tests="2" failures="2" errors="0" skipped="0"'
        ' time="1.250">\n'
        '  <testsuite name="gate &lt;&amp;&gt;" tests="2" failures="2" errors="0" skipped="0"'
        ' time="1.250" timestamp="2026-11-03T12:30:05">\n'
        "    <properties>\n"
        '      <property name="store" value="/tmp/\\x1b[31mred" />\n'
        "    </properties>\n"
        '    <testcase classname="mfq.check" name="count(type = \'\\x1b]0;pwned\\x07\') = 0"'
        ' time="0.000">\n'
        "      <failure message=\"count(type = '\\x1b]0;pwned\\x07') = 3 (expected = 0)\""
        ' type="AssertionFailed">'
        "assertion: count(type = '\\x1b]0;pwned\\x07') = 0\n"
        "value: 3\n"
        "expected: = 0</failure>\n"
        "    </testcase>\n"
        '    <testcase classname="mfq.check" name="p95(d) &lt; 1" time="0.000">\n'
        '      <failure message="p95(d) has no value" type="NoValue">'
        "assertion: p95(d) &lt; 1\n"
        "value: null\n"
        "expected: &lt; 1</failure>\n"
        "    </testcase>\n"
        "  </testsuite>\n"
        "</testsuites>\n"
    )
    errored = error_junit(["count >= 1", "bad \udcff"], "no store at x", "StoreNotFound", run)
    root = ET.fromstring(errored.encode("utf-8"))  # parses: the lone surrogate was escaped
    names = [case.get("name") for case in root.iter("testcase")]
    assert names == ["count >= 1", "bad \\udcff"]
    assert root.get("errors") == "2" and root.get("failures") == "0"


# -- the installed command, through a real process --------------------------------------------


def _mfq() -> str:
    found = shutil.which("mfq", path=str(Path(sys.executable).parent))
    assert found is not None, "the mfq console script is not installed in this environment"
    return found


# Exit codes 0 and 3 through a real process: tests/cli/test_check_ci_example.py (gate.sh).
@pytest.mark.parametrize(
    ("assertions", "expected_code", "outcome"),
    [([ORDERS, ERRORS], 1, "failure"), ([ORDERS, "count >="], 2, "error")],
)
def test_the_installed_command_exits_with_specs_codes(
    store: str, tmp_path: Path, assertions: list[str], expected_code: int, outcome: str
) -> None:
    junit = tmp_path / "mfq.xml"
    command = [_mfq(), "check", "--store", store, "--junit", str(junit), "--format", "ndjson"]
    result = subprocess.run([*command, *assertions], capture_output=True, text=True, check=False)
    assert result.returncode == expected_code, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") <= 1
    suite = _validate_junit(junit)
    last = suite.findall("testcase")[-1]
    assert [child.tag for child in last] == [outcome]
