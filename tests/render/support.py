"""Helpers for the render tests: an Env on StringIO streams, and golden-file comparison."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path

from mfq.env import Env
from mfq.render import OutputFormat, render

GOLDEN_DIR = Path(__file__).parent / "golden"

# Regenerate the golden files from the current output with
#     MFQ_UPDATE_GOLDEN=1 .venv/bin/pytest tests/render
# then review every change with `git diff tests/render/golden` before committing it.
UPDATE_GOLDEN = os.environ.get("MFQ_UPDATE_GOLDEN") == "1"


@dataclass
class Output:
    """What one render call wrote to stdout and stderr."""

    stdout: str
    stderr: str


@dataclass
class Terminal:
    """An Env on in-memory streams, and what was written to them."""

    env: Env

    @classmethod
    def create(
        cls,
        *,
        colour: bool = False,
        width: int = 80,
        display_tz: tzinfo = UTC,
        stderr_isatty: bool = False,
    ) -> Terminal:
        """A fresh Env; colour=True also claims both streams are terminals."""
        env = Env(
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            stdout_isatty=colour,
            stderr_isatty=stderr_isatty or colour,
            width=width,
            colour=colour,
            display_tz=display_tz,
        )
        return cls(env)

    def output(self) -> Output:
        """Everything written so far."""
        stdout, stderr = self.env.stdout, self.env.stderr
        assert isinstance(stdout, io.StringIO)
        assert isinstance(stderr, io.StringIO)
        return Output(stdout.getvalue(), stderr.getvalue())


def render_to_text(
    result: object,
    fmt: OutputFormat | str,
    *,
    colour: bool = False,
    width: int = 80,
    display_tz: tzinfo = UTC,
    title: str | None = None,
    raw: bool = False,
    empty_message: str = "no events match",
) -> Output:
    """Render ``result`` into a fresh in-memory terminal and return what was written."""
    terminal = Terminal.create(colour=colour, width=width, display_tz=display_tz)
    render(
        result,  # type: ignore[arg-type]  # tests also pass the wrong type on purpose
        OutputFormat(fmt),
        terminal.env,
        title=title,
        raw=raw,
        empty_message=empty_message,
    )
    return terminal.output()


def assert_matches_golden(name: str, actual: str) -> None:
    """Compare ``actual`` with ``golden/<name>`` byte for byte (or rewrite it, see above)."""
    path = GOLDEN_DIR / name
    if UPDATE_GOLDEN:
        path.write_bytes(actual.encode("utf-8"))
    assert path.exists(), f"no golden file {path}; create it with MFQ_UPDATE_GOLDEN=1"
    assert actual == path.read_bytes().decode("utf-8")
