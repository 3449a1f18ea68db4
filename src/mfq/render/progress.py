"""A rich progress bar for long operations, shown only when stderr is a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from mfq.env import Env
from mfq.render.escape import escape_control

if TYPE_CHECKING:
    from rich.progress import TaskID


class ProgressUpdate(Protocol):
    """What a progress bar needs to know (mfq.store.IngestProgress satisfies it)."""

    @property
    def source(self) -> str: ...
    @property
    def source_index(self) -> int: ...
    @property
    def sources(self) -> int: ...
    @property
    def records(self) -> int: ...
    @property
    def bytes_done(self) -> int | None: ...
    @property
    def bytes_total(self) -> int | None: ...


#: Set once a bar this process drew has been cleared from the terminal: its cursor is then
#: at the start of an empty line, whatever was echoed on the bar's line (a ``^C``).
_cleared_a_line: list[bool] = []


def cleared_a_line() -> bool:
    """Whether a progress bar was drawn and cleared, leaving the terminal's line empty."""
    return bool(_cleared_a_line)


@contextmanager
def progress_bar(env: Env, label: str) -> Iterator[Callable[[ProgressUpdate], None] | None]:
    """Yield a callback that draws progress on stderr, or None when not on a terminal."""
    if not env.stderr_isatty:
        yield None
        return
    # Imported here: an ingest into a pipe or a file (scripts, CI) draws nothing, and
    # rich's progress machinery is a tenth of its start-up.
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from mfq.render.console import make_console

    # A terminal whatever stdout is (``mfq ingest x > summary.json`` shows its bar), in
    # colour only where the answer is too.
    console = make_console(env.stderr, colour=env.colour, width=env.width, terminal=True)
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]:>12,} records", markup=False),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            task: TaskID = bar.add_task(label, total=None, records=0)

            def update(event: ProgressUpdate) -> None:
                name = escape_control(event.source)[-40:]
                bar.update(
                    task,
                    description=f"{label} {event.source_index + 1}/{event.sources} {name}",
                    completed=event.bytes_done or 0,
                    total=event.bytes_total,
                    records=event.records,
                )

            yield update
    finally:
        _cleared_a_line[:] = [True]
