"""Whether the process is being stopped (Ctrl-C, SIGTERM).

The command line's signal handler says so before the interrupt unwinds. A thread blocked
reading a pipe whose writer is alive but silent may never return (SIGTERM reaches only
mfq, not the program writing to it): code that would wait for such a thread when it
stops lets it go instead, as a daemon thread the process's exit ends."""

from __future__ import annotations

import signal
import threading

_stopping = threading.Event()
#: The signal that stopped the process, once one has.
_stopped_by: list[int] = []


def stop(signum: int = signal.SIGINT) -> None:
    """Mark the process as stopping (called by the signal handler, before it raises)."""
    _stopped_by[:] = [signum]
    _stopping.set()


def reset() -> None:
    """Forget an earlier stop: a command run again in the same process (tests, a program
    calling the command line) waits for its own threads as usual."""
    _stopped_by.clear()
    _stopping.clear()


def stopping() -> bool:
    """Whether the process is being stopped: nothing should wait for input any more."""
    return _stopping.is_set()


def stopped_by() -> int | None:
    """The signal that stopped the process (``signal.SIGINT``, ``signal.SIGTERM``), if any."""
    return _stopped_by[0] if _stopped_by else None
