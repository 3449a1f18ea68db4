"""Commands that receive shared options as typed values.

click hands a command one keyword per option. Options that always travel together (the
selection --where/--since/..., the output --format/--tz, the source --store/FILE...) are
declared once, in ``cli/options.py``, together with a small typed class they are gathered
into; the command function then takes that one typed value instead of each option or a
``**kwargs`` dict, so a renamed option is a mypy error, not a run-time ``KeyError``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: Where ``gathered`` leaves its marks on a command function, for ``TypedCommand``.
_GROUPS = "__mfq_option_groups__"


@dataclass(frozen=True)
class OptionGroup:
    """Parameters handed to a command function as one value: ``build`` is called with those
    of its keyword parameters that the command declares, and the result is passed as
    ``name``."""

    name: str
    build: Callable[..., object]

    def parameters(self) -> list[str]:
        """The click parameter names this group gathers (when the command has them)."""
        return list(inspect.signature(self.build).parameters)


def gathered(name: str, build: Callable[..., object]) -> Callable[[F], F]:
    """Mark a command function: pass the options ``build`` takes as one value, ``name``.

    Used by the shared option decorators next to the options they add, under
    ``@command()``."""

    def mark(func: F) -> F:
        groups: list[OptionGroup] = list(getattr(func, _GROUPS, ()))
        if all(group.name != name for group in groups):
            groups.append(OptionGroup(name, build))
        setattr(func, _GROUPS, groups)
        return func

    return mark


class TypedCommand(click.Command):
    """A command whose function takes gathered option groups (see ``gathered``)."""

    @property
    def option_groups(self) -> list[OptionGroup]:
        """The groups the command function takes, in the order they were marked."""
        return list(getattr(self.callback, _GROUPS, ()))

    def invoke(self, ctx: click.Context) -> Any:
        ctx.params = gather_params(self.option_groups, ctx.params)
        return super().invoke(ctx)


def gather_params(groups: list[OptionGroup], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with each group's parameters replaced by the group's one value (a
    parameter the command does not declare takes the group's default)."""
    remaining = dict(params)
    for group in groups:
        values = {key: remaining.pop(key) for key in group.parameters() if key in remaining}
        remaining[group.name] = group.build(**values)
    return remaining


def command() -> Callable[[Callable[..., Any]], TypedCommand]:
    """``@click.command()`` for functions that take gathered option groups."""
    return click.command(cls=TypedCommand)
