"""examples/ci/ and the guide's "A CI gate" do what they show: ``gate.sh`` runs on the
example export with the README's exact output and exit codes, the workflows run that
script and publish the file it writes, every assertion the README suggests is valid, and
the guide's transcripts are real output."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import mfq
from tests.conftest import REPO

CI = REPO / "examples" / "ci"
README = (CI / "README.md").read_text(encoding="utf-8")
TALLY = re.compile(r"^(FAILED |passed: |failed: )")


def _transcripts() -> list[tuple[list[str], list[str], int]]:
    """Each ```console block: the gate's arguments, its output lines, its exit code."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", README, re.DOTALL):
        command, _, rest = block.partition("\n$ echo $?\n")
        lines = command.replace("\\\n", " ").splitlines()
        arguments = re.findall(r'"([^"]*)"', lines[0].split("gate.sh", 1)[1])
        found.append((arguments, lines[1:], int(rest.strip())))
    return found


def _gate(
    tmp_path: Path, *arguments: str, export: Path | None = None
) -> subprocess.CompletedProcess[str]:
    mfq_command = shutil.which("mfq", path=str(Path(sys.executable).parent))
    assert mfq_command is not None
    environment = {
        **os.environ,
        "EXPORT": str(export or CI / "test-run.ndjson"),
        "MFQ": mfq_command,
    }
    return subprocess.run(
        ["sh", str(CI / "gate.sh"), *arguments],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("transcript", _transcripts(), ids=["passing", "failing"])
def test_gate_prints_and_exits_as_the_readme_shows(
    tmp_path: Path, transcript: tuple[list[str], list[str], int]
) -> None:
    arguments, shown, code = transcript
    result = _gate(tmp_path, *arguments)
    assert result.returncode == code, result.stderr
    summary, *table = result.stdout.splitlines()
    assert json.loads(summary)["ingested"] == 12  # the ingest summary line comes first
    assert table == [line for line in shown if not TALLY.match(line)]
    assert result.stderr.splitlines() == [line for line in shown if TALLY.match(line)]
    junit = ET.parse(tmp_path / "mfq-check.xml").getroot()
    assert [c.get("name") for c in junit.iter("testcase")] == (
        arguments
        or [
            "count(type = 'order.created') >= 1",
            "ratio(status = 'error') < 0.02",
            "p95(duration_ms) < 800",
        ]
    )
    if code == 1:
        [failed] = [c for c in junit.iter("testcase") if c.find("failure") is not None]
        [snippet] = re.findall(r"```xml\n(.*?)```", README, re.DOTALL)
        documented = ET.fromstring(snippet)
        assert failed.attrib == documented.attrib
        assert failed[0].attrib == documented[0].attrib
        assert failed[0].text == documented[0].text


def test_gate_fails_the_job_on_an_error_spike(tmp_path: Path) -> None:
    spiking = tmp_path / "spike.ndjson"
    lines = (CI / "test-run.ndjson").read_text(encoding="utf-8").splitlines()
    spiking.write_text(
        "\n".join(
            line.replace('"status": "ok"', '"status": "error"') if index % 4 == 0 else line
            for index, line in enumerate(lines)
        ),
        encoding="utf-8",
    )
    result = _gate(tmp_path, export=spiking)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "FAILED ratio(status = 'error') < 0.02: ratio(status = 'error') = 0.25 (expected < 0.02)",
        "failed: 1 of 3 assertions",
    ]
    suite = ET.parse(tmp_path / "mfq-check.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")


def test_gate_reports_an_unreadable_export_as_errors(tmp_path: Path) -> None:
    result = _gate(tmp_path, export=tmp_path / "missing.ndjson")
    assert result.returncode == 3
    assert "gate: mfq ingest failed (exit 3)" in result.stderr
    suite = ET.parse(tmp_path / "mfq-check.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "3")


def test_the_workflows_run_the_gate_and_publish_the_file_it_writes() -> None:
    github = yaml.safe_load((CI / "github-actions.yml").read_text(encoding="utf-8"))
    steps = github["jobs"]["test"]["steps"]
    [gate] = [s for s in steps if s.get("run") == "sh examples/ci/gate.sh"]
    [report] = [s for s in steps if s.get("uses", "").startswith("mikepenz/action-junit-report")]
    assert report["with"]["report_paths"] == gate["env"]["JUNIT"]
    assert report["if"] == "${{ !cancelled() }}"  # shown when the gate fails too

    gitlab = yaml.safe_load((CI / "gitlab-ci.yml").read_text(encoding="utf-8"))["event-gate"]
    assert "sh examples/ci/gate.sh" in gitlab["script"]
    assert gitlab["artifacts"]["reports"]["junit"] == gitlab["variables"]["JUNIT"]
    assert gitlab["artifacts"]["when"] == "always"


def test_the_assertions_the_readme_suggests_are_valid(tmp_path: Path) -> None:
    suggested = re.findall(r'^- `"(.*)"`', README, re.MULTILINE)
    assert len(suggested) == 3
    with mfq.open_store(tmp_path / "s") as store:
        store.ingest([CI / "test-run.ndjson"])
        # 0 payment failures; 5 event types, not 12; no 5xx and a p99 of 646 ms.
        assert store.check(suggested)["passed"].tolist() == [True, False, True]


def _guide_section() -> str:
    guide = (REPO / "docs" / "guide.md").read_text(encoding="utf-8")
    section = guide.split("\n## A CI gate\n", 1)[1]
    return section.split("\n## ", 1)[0]


def test_the_guides_transcripts_are_real_output(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mfq.cli.main import cli

    with mfq.open_store(tmp_path / "s") as store:
        store.ingest([CI / "test-run.ndjson"])
    blocks = re.findall(r"```console\n(.*?)```", _guide_section(), re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        command, *shown = block.replace("\\\n", " ").splitlines()
        arguments = shlex.split(command.removeprefix("$ mfq "))
        arguments = [str(REPO / a) if a.startswith("examples/") else a for a in arguments]
        result = CliRunner().invoke(cli, [*arguments, "--store", str(tmp_path / "s")])
        code = 2  # a transcript without `echo $?` shows an error
        if "$ echo $?" in shown:
            at = shown.index("$ echo $?")
            code, shown = int(shown[at + 1]), shown[:at]
        assert result.exit_code == code
        assert (result.stdout + result.stderr).splitlines() == shown
