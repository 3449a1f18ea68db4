"""The project file, ``mfq.toml``: a team's shared defaults and saved questions.

Found in the current directory or the nearest parent (or named by ``--config FILE`` or
``$MFQ_CONFIG``)::

    store = ".mfq-demo"                 # the default store (relative to the file)

    [fields]                            # derived fields every command knows
    slow = "duration_ms > 800"

    [ingest]                            # defaults of `mfq ingest` options
    redact-key = ["^x-internal"]

    [questions.slow-checkout]           # `mfq run slow-checkout`
    command = "query"
    description = "Slow checkout requests by route"
    where = "service = 'checkout' and slow"
    group-by = "http.route"

    [report]                            # defaults of `mfq report` options, and
    questions = ["slow-checkout"]       # saved questions it adds as sections

Every mistake is one line naming the file, the line and the key (exit code 2).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mfq.errors import UsageError

FILE_NAME = "mfq.toml"
CONFIG_ENV = "MFQ_CONFIG"
#: What a question's option may hold: text, a number, a flag, or a list of texts.
OptionValue = str | int | float | bool | list[str]
_TOP_KEYS = {"store", "fields", "ingest", "questions", "report"}
_QUESTION_KEYS = {"command", "description", "args"}


class ProjectError(UsageError):
    """A mistake in the project file: ``mfq.toml:12: questions.x.where: why``."""


@dataclass(frozen=True)
class Question:
    """A saved question: a command, its options (names as on the command line, without
    ``--``) and positional arguments (``check``'s assertions)."""

    name: str
    command: str
    options: Mapping[str, OptionValue]
    args: tuple[str, ...] = ()
    description: str = ""
    line: int = 0

    def argv(self, without: frozenset[str] = frozenset()) -> list[str]:
        """The command line after ``mfq``, options named in ``without`` left out."""
        words = [self.command, *self.args]
        for name, value in self.options.items():
            if name in without:
                continue
            flag = f"--{name}"
            if value is True:
                words.append(flag)
            elif value is False:
                continue
            elif isinstance(value, list):
                for item in value:
                    words += [flag, item]
            else:
                words += [flag, str(value)]
        return words


@dataclass(frozen=True)
class Project:
    """A parsed project file."""

    path: Path
    store: Path | None = None
    #: Derived fields in file order: (name, expression, line).
    fields: tuple[tuple[str, str, int], ...] = ()
    #: Defaults of a command's options, by command (``ingest``, ``report``).
    defaults: Mapping[str, Mapping[str, OptionValue]] = field(default_factory=dict)
    questions: Mapping[str, Question] = field(default_factory=dict)
    #: Saved questions the report adds as sections, in order.
    report_questions: tuple[str, ...] = ()

    def fail(self, key: str, reason: str) -> ProjectError:
        """A one-line error about ``key`` (dotted) of this file."""
        return ProjectError(f"{self.path}:{line_of(self.path, key)}: {key}: {reason}")


def find_project(start: Path | None = None, explicit: str | None = None) -> Path | None:
    """The project file: ``explicit`` (``--config``), else ``$MFQ_CONFIG``, else
    ``mfq.toml`` in ``start`` (the current directory) or the nearest parent."""
    named = explicit or os.environ.get(CONFIG_ENV) or None
    if named is not None:
        path = Path(named)
        if not path.is_file():
            raise ProjectError(f"{path}: no such project file")
        return path
    directory = (start or Path.cwd()).resolve()
    for candidate in (directory, *directory.parents):
        path = candidate / FILE_NAME
        if path.is_file():
            return path
    return None


def load_project(path: Path) -> Project:
    """Read and check a project file; ProjectError for any mistake."""
    import tomllib  # only when there is a project file to read

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ProjectError(f"{path}: not UTF-8 text ({err.reason})") from None
    except tomllib.TOMLDecodeError as err:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(err))
        where = f"{found.group(1)}" if found else "1"
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(err))
        raise ProjectError(f"{path}:{where}: {reason}") from None
    project = Project(path=path)
    for key in data:
        if key not in _TOP_KEYS:
            raise project.fail(key, f"unknown key (expected one of {', '.join(sorted(_TOP_KEYS))})")
    store = data.get("store")
    if store is not None and not isinstance(store, str):
        raise project.fail("store", "expected a directory as text")
    fields = _table(project, data, "fields")
    from mfq.query.expr import ExpressionError, parse_value

    derived = []
    for name, text in fields.items():
        if not isinstance(text, str):
            raise project.fail(f"fields.{name}", "expected an expression as text")
        try:  # what needs no store is said at once, whatever the command
            parse_value(text)
        except ExpressionError as err:
            raise project.fail(f"fields.{name}", str(err)) from None
        derived.append((name, text, line_of(path, f"fields.{name}")))
    defaults = {}
    for command in ("ingest", "report"):
        table = _table(project, data, command)
        defaults[command] = {
            name: _option(project, f"{command}.{name}", value)
            for name, value in table.items()
            if not (command == "report" and name == "questions")
        }
    questions = {
        name: _question(project, name, body)
        for name, body in _table(project, data, "questions").items()
    }
    report_questions = _table(project, data, "report").get("questions", [])
    if not isinstance(report_questions, list) or not all(
        isinstance(q, str) for q in report_questions
    ):
        raise project.fail("report.questions", "expected a list of question names")
    for name in report_questions:
        if name not in questions:
            raise project.fail("report.questions", f"no question {name!r} in [questions]")
    return Project(
        path=path,
        store=(path.parent / store) if store else None,
        fields=tuple(derived),
        defaults=defaults,
        questions=questions,
        report_questions=tuple(report_questions),
    )


def _table(project: Project, data: Mapping[str, object], key: str) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise project.fail(key, "expected a table")
    return value


def _option(project: Project, key: str, value: object) -> OptionValue:
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise project.fail(key, "expected text, a number, true/false or a list of texts")


def _question(project: Project, name: str, body: object) -> Question:
    key = f"questions.{name}"
    if not isinstance(body, dict):
        raise project.fail(key, "expected a table")
    command = body.get("command")
    if not isinstance(command, str) or not command:
        raise project.fail(key, 'needs command = "query" (or events, timeseries, check, ...)')
    description = body.get("description", "")
    if not isinstance(description, str):
        raise project.fail(f"{key}.description", "expected text")
    args = body.get("args", [])
    if not isinstance(args, list) or not all(isinstance(item, str) for item in args):
        raise project.fail(f"{key}.args", "expected a list of texts")
    options = {
        option: _option(project, f"{key}.{option}", value)
        for option, value in body.items()
        if option not in _QUESTION_KEYS
    }
    return Question(
        name=name,
        command=command,
        options=options,
        args=tuple(args),
        description=description,
        line=line_of(project.path, key),
    )


def line_of(path: Path, key: str) -> int:
    """The line of a dotted key in the file (its table header for a table), 1 when it
    cannot be found (the reader's errors already carry their line)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    parts = key.split(".")
    table: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]\s*(#.*)?", text)
        if header is not None:
            table = [part.strip().strip("\"'") for part in header.group(1).split(".")]
            if table == parts:
                return number
            continue
        assigned = re.match(r"""(["']?)([^"'=\s]+)\1\s*=""", text)
        if assigned is not None and [*table, assigned.group(2)] == parts:
            return number
    return 1
