"""``mfq.toml``: defaults, derived fields, saved questions (``mfq questions``, ``mfq run``)
and report sections, through the CLI; every mistake one line naming file, line and key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from tests.conftest import event

PROJECT = """\
store = "s"

[fields]
slow = "duration_ms >= 600"
svc = "lower(service)"

[questions.by-service]
command = "query"
description = "Slow events by service"
where = "slow"
group-by = "svc"
agg = ["count", "max(duration_ms) - min(duration_ms) as spread"]

[questions.recent]
command = "events"
fields = "id,svc,slow"
sort = "id"
limit = 3

[questions.daily]
command = "timeseries"
every = "1d"
by = "if(status = 'error', 'bad', 'good')"

[questions.gate]
command = "check"
args = ["count(slow) = 6", "max(duration_ms) < 2000"]

[questions.why]
command = "correlate"
where = "status = 'error'"

[report]
questions = ["by-service", "daily"]
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, write_ndjson: Callable[..., Path]) -> Path:
    """A store of twelve events beside a project file naming it."""
    records = [
        event(
            i,
            service=["Checkout", "search"][i % 2],
            status="error" if i % 3 == 0 else "ok",
            duration_ms=100.0 * i,
            timestamp=f"2026-11-{16 + i % 3}T10:00:00Z",
        )
        for i in range(12)
    ]
    assert invoke("ingest", str(write_ndjson(records)), "--store", str(tmp_path / "s"))[0] == 0
    path = tmp_path / "mfq.toml"
    path.write_text(PROJECT)
    return path


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("by-service", ["query", "--where", "slow", "--group-by", "svc", "--agg", "count",
                        "--agg", "max(duration_ms) - min(duration_ms) as spread"]),
        ("recent", ["events", "--fields", "id,svc,slow", "--sort", "id", "--limit", "3"]),
        ("daily", ["timeseries", "--every", "1d", "--by", "if(status = 'error', 'bad', 'good')"]),
        ("gate", ["check", "count(slow) = 6", "max(duration_ms) < 2000"]),
        ("why", ["correlate", "--where", "status = 'error'"]),
    ],
)  # fmt: skip
def test_run_gives_what_the_same_command_line_gives(
    project: Path, name: str, line: list[str]
) -> None:
    config = ["--config", str(project)]
    ran = invoke(*config, "run", name, "--format", "json")
    typed = invoke(*config, *line, "--format", "json")
    assert ran[0] == typed[0] == 0, (ran, typed)
    assert ran[1] == typed[1]
    assert isinstance(json.loads(ran[1]), list | dict)


def test_run_answers_exactly_and_options_override_the_file(project: Path) -> None:
    code, out, err = invoke("--config", str(project), "run", "by-service", "--format", "json")
    assert code == 0, err
    assert json.loads(out) == [
        {"svc": "checkout", "count": 3, "spread": 400.0},
        {"svc": "search", "count": 3, "spread": 400.0},
    ]
    code, out, err = invoke(
        "--config", str(project), "run", "by-service", "--where", "svc = 'search'",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == [{"svc": "search", "count": 6, "spread": 1000.0}]


def test_a_project_with_no_questions_says_how_to_save_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mfq.toml").write_text('store = "s"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MFQ_STORE", raising=False)
    code, out, err = invoke("questions")
    assert (code, out) == (0, "")
    assert err == f"{tmp_path / 'mfq.toml'} saves no questions: add a [questions.NAME] table\n"
    code, out, err = invoke("questions", "--format", "json")
    assert (code, json.loads(out), err) == (0, [], "")


def test_project_file_is_found_in_a_parent_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    below = project.parent / "a" / "b"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    monkeypatch.delenv("MFQ_STORE", raising=False)
    code, out, err = invoke("questions", "--format", "json")
    assert code == 0, err
    listed = json.loads(out)
    assert [q["name"] for q in listed] == ["by-service", "recent", "daily", "gate", "why"]
    assert listed[0]["command"] == (
        "mfq query --where slow --group-by svc --agg count "
        "--agg 'max(duration_ms) - min(duration_ms) as spread'"
    )
    assert listed[0]["description"] == "Slow events by service"
    code, out, err = invoke("query", "--where", "slow", "--format", "json")  # store and fields
    assert code == 0, err
    assert json.loads(out) == [{"count": 6}]


def test_the_report_shows_saved_questions_as_sections(project: Path) -> None:
    config = ["--config", str(project)]
    period = ["--since", "2026-11-16", "--until", "2026-11-19"]
    code, markdown, err = invoke(*config, "report", *period)
    assert code == 0, err
    assert "## Slow events by service" in markdown
    assert "| checkout |" in markdown
    assert "## daily" in markdown
    code, html, err = invoke(*config, "report", *period, "--format", "html")
    assert code == 0, err
    assert "Slow events by service</h2>" in html
    assert ">checkout<" in html
    assert "daily</h2>" in html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("store = 's'\n[fields\n", "{path}:2: Expected ']' at the end of a table declaration"),
        (
            "stor = 's'\n",
            "{path}:1: stor: unknown key (expected one of fields, ingest, questions, report, "
            "store)",
        ),
        (
            "[fields]\nok = 'status = 1'\n",
            "{path}:2: fields.ok: bad expression at column 10: cannot compare string field "
            "'status' with integer 1",
        ),
        (
            "[questions.q]\ncommand = 'query'\ngroup-bi = 'service'\n",
            "{path}:3: questions.q.group-bi: mfq query has no --group-bi",
        ),
        (
            "[questions.q]\nwhere = 'x'\n",
            '{path}:1: questions.q: needs command = "query" (or events, timeseries, check, ...)',
        ),
        (
            "[report]\nquestions = ['nope']\n",
            "{path}:2: report.questions: no question 'nope' in [questions]",
        ),
        ("[ingest]\nstrictly = true\n", "{path}:2: ingest.strictly: mfq ingest has no --strictly"),
    ],
)
def test_a_bad_project_file_is_one_line_with_exit_2(
    tmp_path: Path, write_ndjson: Callable[..., Path], text: str, message: str
) -> None:
    assert invoke("ingest", str(write_ndjson([event(1)])), "--store", str(tmp_path / "s"))[0] == 0
    path = tmp_path / "mfq.toml"
    path.write_text(text)
    code, _out, err = invoke("--config", str(path), "run", "q", "--store", str(tmp_path / "s"))
    assert code == 2
    assert err.splitlines() == [f"mfq: error: {message.format(path=path)}"]


def test_an_unknown_question_suggests_the_nearest(project: Path) -> None:
    code, _out, err = invoke("--config", str(project), "run", "by-servce")
    assert code == 2
    assert err.splitlines() == [
        f"mfq: error: no saved question 'by-servce' in {project} — did you mean 'by-service'? "
        "(mfq questions lists them)"
    ]


def test_run_without_a_project_file_says_where_it_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MFQ_CONFIG", raising=False)
    code, _out, err = invoke("run", "x")
    assert code == 2
    assert err.splitlines() == [
        "mfq: error: no project file: saved questions live in mfq.toml (here or in a parent "
        "directory; or --config FILE, $MFQ_CONFIG)"
    ]
