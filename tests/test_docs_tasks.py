"""docs/tasks.md shows real output: every command on the page runs, in order, and what it
prints must be what the page shows.

The page's blocks:

- A ```console block is a terminal transcript. A line starting with ``$ `` is a command (a
  line ending in ``\\`` continues on the next); the lines after it, up to the next command,
  are its output, stdout and stderr together in the order they were written. Commands are
  ``mfq ...`` (run in this process), ``echo $?`` (the previous command's exit code) and
  ``cat FILE``.
- A ```python block runs as a script (in this process); what it prints must equal the
  ```text block that follows it.
- A block right after an HTML comment that starts with ``<!-- not run`` is left alone.

Everything runs in one fresh working directory, in the page's order, with ``$MFQ_STORE``,
``$MFQ_ENGINE`` and ``$MFQ_DASK_SCHEDULER`` unset: ``./.mfq`` is the store the page's own
``mfq ingest`` builds, and ``examples/exports/messy.ndjson`` is copied in.

In expected output, ``[...]`` is text left out: a line that is only ``[...]`` stands for any
number of lines (an excerpt), ``[...]`` inside a line for any text on that line (an elapsed
time, a clock reading). Trailing spaces are ignored.

Regenerate the outputs from real runs with

    MFQ_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_docs_tasks.py

then review ``git diff docs/tasks.md``. Outputs that still match are left as they are;
the others are rewritten in the shape of the old text: an excerpt keeps as many lines
before and after each ``[...]`` line (a middle part is found again by its first line), and
a line with ``[...]`` inside it is kept while it still matches.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import itertools
import os
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from mfq.cli.main import cli
from tests.conftest import REPO

DOC = REPO / "docs" / "tasks.md"
UPDATE = os.environ.get("MFQ_UPDATE_DOCS") == "1"
ELIDED = "[...]"
NOT_RUN = re.compile(r"^<!--\s*not run\b")
# The page's commands see none of the caller's mfq settings.
UNSET = ("MFQ_STORE", "MFQ_ENGINE", "MFQ_DASK_SCHEDULER")
# Files the page's commands read, copied into the working directory at the same paths.
INPUTS = ("examples/exports/messy.ndjson",)


# -- the page ---------------------------------------------------------------------------------


@dataclass
class Step:
    """One thing to run, and the output the page shows for it: lines ``start`` to ``end``
    of the page (0-based, end excluded), which regeneration replaces."""

    label: str
    kind: str  # "mfq", "echo", "cat", "python" or "unsupported"
    argv: list[str]
    source: str
    expected: list[str]
    start: int
    end: int
    actual: list[str] = field(default_factory=list)


def parse_page(text: str) -> list[Step]:
    """Every step of the page, in order."""
    tokens = MarkdownIt("commonmark").parse(text)
    lines = text.splitlines()
    not_run = {
        id(token)
        for before, token in itertools.pairwise(tokens)
        if before.type == "html_block" and NOT_RUN.match(before.content)
    }
    fences = [t for t in tokens if t.type == "fence" and t.map and id(t) not in not_run]
    steps: list[Step] = []
    for fence, following in itertools.zip_longest(fences, fences[1:]):
        opening, closing = _span(fence)
        language = fence.info.strip()
        if language == "console":
            steps.extend(_console_steps(lines, opening + 1, closing))
        elif language == "python":
            assert following is not None and following.info.strip() == "text", (
                f"line {opening + 1}: a python block needs a ```text block after it for what "
                "it prints (or '<!-- not run: why -->' before it)"
            )
            out_opening, out_closing = _span(following)
            steps.append(
                Step(
                    label=f"line {opening + 1}: python block",
                    kind="python",
                    argv=[],
                    source=fence.content,
                    expected=lines[out_opening + 1 : out_closing],
                    start=out_opening + 1,
                    end=out_closing,
                )
            )
    return steps


def _span(fence: Token) -> tuple[int, int]:
    """The lines of a fence's opening and closing markers (0-based)."""
    assert fence.map is not None
    opening, after = fence.map
    return opening, after - 1


def _console_steps(lines: list[str], first: int, after: int) -> list[Step]:
    steps: list[Step] = []
    at = first
    while at < after:
        assert lines[at].startswith("$ "), f"line {at + 1}: output before any command"
        written = [lines[at][2:]]
        while written[-1].endswith("\\") and at + 1 < after:
            at += 1
            written.append(lines[at])
        command = " ".join(part.removesuffix("\\").strip() for part in written)
        at += 1
        out_first = at
        while at < after and not lines[at].startswith("$ "):
            at += 1
        argv = shlex.split(command)
        kind = {"mfq": "mfq", "echo": "echo", "cat": "cat"}.get(argv[0], "unsupported")
        steps.append(
            Step(
                label=f"line {out_first - len(written) + 1}: $ {command}",
                kind=kind,
                argv=argv,
                source=command,
                expected=lines[out_first:at],
                start=out_first,
                end=at,
            )
        )
    return steps


# -- matching expected output -----------------------------------------------------------------


def _pattern(expected: list[str]) -> re.Pattern[str]:
    parts = []
    for line in expected:
        if line.rstrip() == ELIDED:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            pieces = line.rstrip().split(ELIDED)
            parts.append(r"[^\n]*".join(re.escape(p) for p in pieces) + r"\n")
    return re.compile("".join(parts))


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` is ``expected`` with its ``[...]`` filled in."""
    text = "".join(line.rstrip() + "\n" for line in actual)
    return _pattern(expected).fullmatch(text) is not None


def reshaped(expected: list[str], actual: list[str]) -> list[str]:
    """``actual`` in the shape of ``expected``: the same excerpts, and placeholders kept on
    lines where they still match (see the module docstring)."""
    actual = [line.rstrip() for line in actual]
    if matches(expected, actual):
        return expected
    segments: list[list[str]] = [[]]
    for line in expected:
        if line.rstrip() == ELIDED:
            segments.append([])
        else:
            segments[-1].append(line)
    if len(segments) == 1:
        return _keep_placeholders(expected, actual) if len(expected) == len(actual) else actual
    head, *middle, tail = segments
    if len(head) + len(tail) > len(actual):
        return actual
    result = _keep_placeholders(head, actual[: len(head)])
    at = len(head)
    stop = len(actual) - len(tail)
    for segment in middle:
        result.append(ELIDED)
        if not segment:
            continue
        found = next((i for i in range(at, stop) if matches(segment[:1], actual[i : i + 1])), None)
        if found is None or found + len(segment) > stop:
            continue  # this part of the excerpt is gone from the output
        result.extend(_keep_placeholders(segment, actual[found : found + len(segment)]))
        at = found + len(segment)
    result.append(ELIDED)
    result.extend(_keep_placeholders(tail, actual[stop:]))
    return result


def _keep_placeholders(expected: list[str], actual: list[str]) -> list[str]:
    return [
        old if ELIDED in old and matches([old], [new]) else new
        for old, new in zip(expected, actual, strict=True)
    ]


# -- running the page -------------------------------------------------------------------------


class Session:
    """Runs the page's steps, remembering the last exit code.

    ``mfq`` runs in this process with stdout and stderr both going to one buffer, so its
    lines land in the order they were written, as on a terminal. (CliRunner's mixed output
    is not that: its stdout is block-buffered and its stderr is not, so a note written after
    a table comes out before it.) Neither stream is a terminal, so tables are 80 columns
    wide and plain, as in any non-interactive run.
    """

    def __init__(self) -> None:
        self.exit_code = 0

    def run(self, step: Step) -> list[str]:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            if step.kind == "mfq":
                self.exit_code = cli.main(
                    args=step.argv[1:], prog_name="mfq", standalone_mode=False
                )
            elif step.kind == "echo" and step.argv == ["echo", "$?"]:
                print(self.exit_code)
            elif step.kind == "cat" and len(step.argv) == 2:
                print(Path(step.argv[1]).read_text(encoding="utf-8"), end="")
            elif step.kind == "python":
                exec(compile(step.source, f"{DOC.name}: {step.label}", "exec"), {})
            else:
                raise AssertionError(f"{step.label}: the page runs only mfq, echo $?, cat FILE")
        return [line.rstrip() for line in printed.getvalue().splitlines()]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Step]]:
    """The page's steps, each run once, in order, in a fresh working directory."""
    workdir = tmp_path_factory.mktemp("tasks")
    for name in INPUTS:
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, workdir / name)
    steps = parse_page(DOC.read_text(encoding="utf-8"))
    session = Session()
    with pytest.MonkeyPatch.context() as patch, contextlib.chdir(workdir):
        for name in UNSET:
            patch.delenv(name, raising=False)
        for step in steps:
            step.actual = session.run(step)
    yield steps


def _rewrite(steps: list[Step]) -> None:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for step in sorted(steps, key=lambda s: s.start, reverse=True):
        lines[step.start : step.end] = reshaped(step.expected, step.actual)
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_every_output_on_the_page_is_what_the_command_prints(page: list[Step]) -> None:
    wrong = [step for step in page if not matches(step.expected, step.actual)]
    if UPDATE and wrong:
        _rewrite(page)
        return
    report = []
    for step in wrong:
        actual = reshaped(step.expected, step.actual)  # the same excerpt, for a short diff
        diff = difflib.unified_diff(
            step.expected, actual, "docs/tasks.md", "actual output", lineterm=""
        )
        report.append(f"{step.label}\n" + "\n".join(diff))
    assert not wrong, (
        "docs/tasks.md differs from real output (MFQ_UPDATE_DOCS=1 rewrites it):\n\n"
        + "\n\n".join(report)
    )


# -- what the page says about its own outputs -------------------------------------------------


def _step(steps: list[Step], needle: str) -> Step:
    [found] = [step for step in steps if needle in step.source]
    return found


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_page_shows_the_same_answers_from_mfq_duckdb_and_pandas() -> None:
    """Section 5 says DuckDB and pandas give the numbers mfq gave; the page's (real) outputs
    must bear that out: mfq's engine against DuckDB and pandas over the same Parquet files."""
    steps = parse_page(DOC.read_text(encoding="utf-8"))

    query = _step(steps, "mfq query --where \"service = 'checkout'\" --group-by version,region")
    by_mfq = {
        (version, region): (_number(count), _number(errors))
        for version, region, count, errors in (line.split() for line in query.expected[3:])
    }
    duckdb_output = _step(steps, "read_parquet('.mfq/events/*/*.parquet'").expected
    boxed = [[cell.strip() for cell in line.split("│")[1:-1]] for line in duckdb_output]
    cells = [row for row in boxed if row][2:]  # after the names and the types
    by_duckdb = {(row[0], row[1]): (_number(row[2]), _number(row[3])) for row in cells}
    assert by_duckdb == by_mfq
    assert len(by_mfq) == 6

    # The first error DuckDB finds for 2.4.1 in eu-west-1 is where the timeline starts.
    [first_error] = [row[4] for row in cells if row[:2] == ["2.4.1", "eu-west-1"]]
    timeline = _step(steps, "mfq timeline").expected
    [started] = [line.split(None, 2)[2] for line in timeline if line.startswith("first error")]
    assert first_error == f"{started}+00"

    api = _step(steps, "store.query(").expected
    from_api = [line.split()[1:] for line in api[1:]]  # without the index column
    frame = _step(steps, "pd.read_parquet(").expected
    from_pandas = [line.split() for line in frame[2:]]  # after the column and index names
    assert from_pandas == from_api
    assert [row[0] for row in from_api] == ["2.4.0", "2.4.1"]


def test_placeholders_stand_for_what_they_say_and_no_more() -> None:
    assert matches(["a", ELIDED, "z"], ["a", "b", "c", "z"])
    assert matches(["a", ELIDED, "z"], ["a", "z"])
    assert not matches(["a", ELIDED, "z"], ["a", "b"])
    assert matches(["seconds  [...]"], ["seconds  0.42"])
    assert not matches(["seconds  [...]"], ["seconds  0.42", "rejected  1"])
    assert not matches(["x [...] y"], ["x 1", "2 y"])  # within one line only
    assert not matches(["a.b (1)"], ["axb (1)"])  # everything else is literal
    assert matches(["a  "], ["a"])  # trailing spaces do not count


def test_regenerating_keeps_the_shape_of_an_excerpt() -> None:
    expected = ["head", ELIDED, "middle 1", "middle 2", ELIDED, "tail", "took [...] s"]
    actual = ["head", "x", "middle 1", "middle two", "y", "z", "tail", "took 0.5 s"]
    assert reshaped(expected, actual) == [
        "head",
        ELIDED,
        "middle 1",
        "middle two",
        ELIDED,
        "tail",
        "took [...] s",
    ]
    assert reshaped(["took [...] s"], ["took 0.5 s"]) == ["took [...] s"]
    assert reshaped(["a", "b"], ["a", "b", "c"]) == ["a", "b", "c"]
