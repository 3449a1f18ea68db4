"""The process environment, built once by the CLI and injected everywhere else.

Nothing outside this module reads ``sys.stdout`` or the clock directly, so output and
relative times are reproducible in tests.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TextIO


def _utc_now() -> datetime:
    return datetime.now(UTC)


DEFAULT_WIDTH = 80


def _width(stdout_isatty: bool) -> int:
    """``COLUMNS`` when set (a pipe has no width of its own), else the terminal's, else 80."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if stdout_isatty:
        import shutil  # (with bz2 and lzma: a pipe, or COLUMNS, needs none of it)

        return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return DEFAULT_WIDTH


@dataclass
class Env:
    """Streams, terminal facts, display timezone and 'now' for one invocation."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    width: int = DEFAULT_WIDTH
    colour: bool = False
    now: datetime = field(default_factory=_utc_now)
    display_tz: tzinfo = UTC
    #: ``--raw``: CSV cells that start like a formula are written as they are.
    raw: bool = False

    @classmethod
    def from_process(
        cls, *, now: datetime | None = None, display_tz: tzinfo = UTC, raw: bool = False
    ) -> Env:
        """The environment of the running process (real streams, terminal size, clock)."""
        out_tty = sys.stdout.isatty()
        no_colour = "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb"
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdout_isatty=out_tty,
            stderr_isatty=sys.stderr.isatty(),
            width=_width(out_tty),
            colour=out_tty and not no_colour,
            now=now or _utc_now(),
            display_tz=display_tz,
            raw=raw,
        )
