"""The one place that builds a rich Console, and one-line messages to stderr.

The Console never interprets data: markup, emoji codes and highlighting are off, and
colour is on only when the Env says so, so output in tests is exactly reproducible.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.text import Text

from mfq.env import Env
from mfq.render.escape import escape_control


def make_console(
    stream: TextIO, *, colour: bool, width: int, terminal: bool | None = None
) -> Console:
    """A Console writing to ``stream``: no markup, no emoji, ANSI styles only if ``colour``;
    cursor moves (a live display) only if ``terminal`` (default: ``colour``)."""
    return Console(
        file=stream,
        width=width,
        force_terminal=colour if terminal is None else terminal,
        force_jupyter=False,  # notebooks use the Python API; output still goes to `stream`
        no_color=not colour,
        # Fixed rather than detected from $TERM/$COLORTERM: the Env already decided.
        color_system="standard" if colour else None,
        legacy_windows=False,
        highlight=False,
        markup=False,
        emoji=False,
    )


def print_message(env: Env, text: str, *, style: str | None = None) -> None:
    r"""Print ``text`` as one line on ``env.stderr``; data in it is never interpreted.

    Control characters show as escapes (a newline as ``\n``), so one call prints exactly
    one line: print a multi-line message with one call per line. ``style`` is a rich style
    (``"bold red"``), applied only when ``env.colour`` and stderr is a terminal, so a
    redirected stderr never receives escape codes.
    """
    console = make_console(env.stderr, colour=env.colour and env.stderr_isatty, width=env.width)
    console.print(Text(escape_control(text), style=style or ""), soft_wrap=True)
