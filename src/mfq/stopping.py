"""Whether the process is being stopped (Ctrl-C, SIGTERM).

The command line's signal handler says so before the interrupt unwinds. A thread blocked
reading a pipe whose writer is alive but silent may never return (SIGTERM reaches only
mfq, not the program writing to it): code that would wait for such a thread when it
stops lets it go instead, as a daemon thread the process's exit ends."""

from __future__ import annotations

import threading

_stopping = threading.Event()


def stop() -> None:
    """Mark the process as stopping (called by the signal handler, before it raises)."""
    _stopping.set()


def stopping() -> bool:
    """Whether the process is being stopped: nothing should wait for input any more."""
    return _stopping.is_set()
