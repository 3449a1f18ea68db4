"""Every command function takes typed parameters, one per option or one per option group,
and exactly the ones click hands it (a renamed option fails here, not at run time)."""

from __future__ import annotations

import inspect
import typing

import click
import pytest

from mfq.cli.command import TypedCommand, gather_params, gathered
from mfq.cli.main import cli
from mfq.cli.options import Output, Selection, Source


def all_commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command registered under ``group``, subgroups walked, by its full name."""
    ctx = click.Context(group)
    found: dict[str, click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found[prefix + name] = command
        if isinstance(command, click.Group):
            found.update(all_commands(command, f"{prefix}{name} "))
    return found


COMMANDS = {"mfq": cli, **all_commands(cli)}


def test_the_walk_finds_every_command() -> None:
    # The root group and its list, as `mfq --help` shows it.
    assert len(COMMANDS) == 26
    assert {"query", "events", "funnel", "check", "report", "trace", "run"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_function_has_typed_named_parameters(name: str) -> None:
    command = COMMANDS[name]
    assert command.callback is not None
    signature = inspect.signature(command.callback)
    kinds = {p.name: p.kind for p in signature.parameters.values()}
    variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    assert [p for p, kind in kinds.items() if kind in variadic] == []
    unannotated = [
        p.name for p in signature.parameters.values() if p.annotation is inspect.Parameter.empty
    ]
    assert unannotated == []
    # The annotations name real types (a typo in a string annotation would pass the check
    # above).
    hints = typing.get_type_hints(command.callback)
    assert set(hints) == {*signature.parameters, "return"}


def handed_to_callback(command: click.Command) -> set[str]:
    """The keywords click passes to the command function (after gathering groups)."""
    params = {p.name: None for p in command.params if p.expose_value and p.name is not None}
    if isinstance(command, TypedCommand):
        params = gather_params(command.option_groups, params)
    if command.callback is not None and hasattr(command.callback, "__click_pass_context__"):
        params["ctx"] = None
    return set(params)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_function_takes_exactly_what_click_hands_it(name: str) -> None:
    command = COMMANDS[name]
    assert command.callback is not None
    wanted = set(inspect.signature(command.callback).parameters)
    if "ctx" in wanted:  # @click.pass_context
        wanted.discard("ctx")
        handed = handed_to_callback(command) - {"ctx"}
    else:
        handed = handed_to_callback(command)
    assert handed == wanted


def test_query_commands_take_the_shared_groups() -> None:
    for name in ("query", "events", "timeseries", "correlate", "slo", "check", "sessions"):
        hints = typing.get_type_hints(COMMANDS[name].callback)
        assert (hints["source"], hints["selection"], hints["output"]) == (
            Source,
            Selection,
            Output,
        ), name


def test_groups_gather_the_options_a_command_has_and_default_the_rest() -> None:
    def show(selection: Selection, output: Output, limit: int) -> None: ...

    groups = TypedCommand(
        "x", callback=gathered("output", Output)(gathered("selection", Selection)(show))
    ).option_groups
    params = {"where": ("a = 1",), "since": "1d", "fmt": "json", "limit": 3}
    gathered_params = gather_params(groups, params)
    assert gathered_params == {
        "limit": 3,
        "selection": Selection(where=("a = 1",), since="1d"),
        "output": Output(fmt="json", tz_name=None),
    }
    assert gathered_params["selection"].options() == {"where": ("a = 1",), "since": "1d"}
    # The dict click passes is not changed.
    assert params["fmt"] == "json"


def test_a_command_invoked_hands_its_groups_typed_values() -> None:
    seen: list[object] = []

    def show(selection: Selection, output: Output, limit: int | None) -> None:
        seen.extend([selection, output, limit])

    command = click.option("--limit", type=int)(
        click.option("--since")(click.option("--format", "fmt", default="table")(show))
    )
    typed = click.command(cls=TypedCommand)(
        gathered("selection", Selection)(gathered("output", Output)(command))
    )
    typed.main(["--since", "2d", "--limit", "4"], standalone_mode=False)
    assert seen == [Selection(since="2d"), Output(fmt="table"), 4]
