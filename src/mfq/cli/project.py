"""``mfq.toml`` on the command line: its defaults applied before a command runs, and
``mfq questions`` / ``mfq run NAME``."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any

import click

from mfq.cli.options import format_option, make_env
from mfq.errors import UsageError
from mfq.project import Project, Question, find_project, load_project
from mfq.render import OutputFormat, render
from mfq.render.result import rows_from_records

if TYPE_CHECKING:
    from mfq.query.requests import QueryQuestion
    from mfq.report import SavedQuestion

_PROJECT = "project"


def apply_project(ctx: click.Context, config: str | None) -> None:
    """Find and read the project file; its store, ``[ingest]`` and ``[report]`` become
    the defaults of every command's options (the command line and ``$MFQ_STORE`` win)."""
    path = find_project(explicit=config)
    ctx.ensure_object(dict)
    if path is None:
        return
    project = load_project(path)
    ctx.obj[_PROJECT] = project
    from mfq.store.store import STORE_ENV  # not at the top: every command comes here

    defaults: dict[str, dict[str, Any]] = {}
    if project.store is not None and not os.environ.get(STORE_ENV):
        group = ctx.command
        assert isinstance(group, click.Group)
        for name in group.list_commands(ctx):
            defaults[name] = {"store_path": str(project.store)}
    for command, options in project.defaults.items():
        if options:
            params = _params(ctx, command)
            for option, value in options.items():
                param = params.get(option)
                if param is None:
                    raise project.fail(f"{command}.{option}", f"mfq {command} has no --{option}")
                defaults.setdefault(command, {})[param] = value
    ctx.default_map = defaults


def current_project() -> Project | None:
    """The project file the running command reads, if any."""
    context = click.get_current_context(silent=True)
    if context is None:
        return None
    root = context.find_root()
    found = root.obj.get(_PROJECT) if isinstance(root.obj, dict) else None
    return found if isinstance(found, Project) else None


def _params(ctx: click.Context, command: str) -> dict[str, str]:
    """A command's options by their long name (without ``--``) to their parameter name."""
    group = ctx.find_root().command
    assert isinstance(group, click.Group)
    found = group.get_command(ctx, command)
    if found is None:
        return {}
    names: dict[str, str] = {}
    for param in found.params:
        if isinstance(param, click.Option) and param.name is not None:
            for flag in (*param.opts, *param.secondary_opts):
                if flag.startswith("--"):
                    names[flag[2:]] = param.name
    return names


def _project_or_fail() -> Project:
    project = current_project()
    if project is None:
        raise UsageError(
            "no project file: saved questions live in mfq.toml (here or in a parent "
            "directory; or --config FILE, $MFQ_CONFIG)"
        )
    return project


def _question(project: Project, name: str) -> Question:
    question = project.questions.get(name)
    if question is not None:
        return question
    message = f"no saved question {name!r} in {project.path}"
    import difflib  # (a suggestion for a mistyped name only)

    close = difflib.get_close_matches(name, list(project.questions), n=1)
    if close:
        message += f" — did you mean {close[0]!r}?"
    raise UsageError(message, hint="mfq questions lists them")


def _checked(ctx: click.Context, project: Project, question: Question) -> click.Command:
    """The question's command, every option of the question one it takes."""
    group = ctx.find_root().command
    assert isinstance(group, click.Group)
    command = group.get_command(ctx, question.command)
    key = f"questions.{question.name}"
    if command is None or question.command in ("run", "questions"):
        raise project.fail(f"{key}.command", f"no command {question.command!r}")
    params = _params(ctx, question.command)
    for option in question.options:
        if option not in params:
            raise project.fail(f"{key}.{option}", f"mfq {question.command} has no --{option}")
    return command


@click.command()
@format_option
def questions(fmt: str) -> None:
    """The saved questions of the project file: name, command line, description."""
    project = _project_or_fail()
    rows = [
        {
            "name": q.name,
            "command": shlex.join(["mfq", *q.argv()]),
            "description": q.description,
        }
        for q in project.questions.values()
    ]
    table = rows_from_records(("name", "command", "description"), rows)
    render(
        table,
        OutputFormat(fmt),
        make_env(None),
        title=f"questions in {project.path}",
        empty_message=f"{project.path} saves no questions: add a [questions.NAME] table",
    )


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.argument("name")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, name: str, overrides: tuple[str, ...]) -> None:
    """Run the saved question NAME of mfq.toml. Options after NAME (--since 1d, --format
    json, ...) replace the file's options of the same name."""
    project = _project_or_fail()
    question = _question(project, name)
    command = _checked(ctx, project, question)
    given = frozenset(word[2:].split("=", 1)[0] for word in overrides if word.startswith("--"))
    argv = [*question.argv(without=given)[1:], *overrides]
    root = ctx.find_root()
    with command.make_context(question.command, argv, parent=root) as sub:
        command.invoke(sub)


def report_questions(ctx: click.Context) -> list[SavedQuestion]:
    """The saved questions ``[report] questions`` adds to the report, as the report asks
    them (a typed request each)."""
    from mfq.report import SavedQuestion

    project = current_project()
    if project is None:
        return []
    saved = []
    for name in project.report_questions:
        question = project.questions[name]
        _checked(ctx, project, question)
        params = _params(ctx, question.command)
        options = {params[option]: value for option, value in question.options.items()}
        title = question.description or name
        saved.append(SavedQuestion(name, title, _request(name, question.command, options)))
    return saved


def _request(name: str, command: str, options: dict[str, Any]) -> QueryQuestion:
    """A saved question's request: its options split into the selection's and the
    question's own (options the library does not take, such as ``--format``, left out)."""
    from dataclasses import fields

    from mfq.query.requests import EventsRequest, QueryRequest, Selection, TimeseriesRequest

    kinds: dict[str, type[QueryQuestion]] = {
        "query": QueryRequest,
        "timeseries": TimeseriesRequest,
        "events": EventsRequest,
    }
    kind = kinds.get(command)
    if kind is None:
        raise UsageError(
            f"saved question {name!r}: a report shows query, timeseries or "
            f"events questions, not {command}"
        )
    given: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    chosen = {f.name for f in fields(Selection)}
    own = {f.name for f in fields(kind)} - {"selection"}
    selection = Selection(**{k: v for k, v in given.items() if k in chosen})
    return kind(selection=selection, **{k: v for k, v in given.items() if k in own})
