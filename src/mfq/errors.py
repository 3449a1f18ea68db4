"""The error tree: every failure a user can cause has a class, an exit code and a hint.

The CLI maps these to one stderr line in exactly one place (``mfq.cli.main``); anything that
is not an ``MfqError`` is a bug in mfq and exits with ``ExitCode.INTERNAL``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, as SPEC's 'Output and exit codes' defines them."""

    OK = 0
    FAILED = 1  # a failed check, or a --strict ingest with rejects
    USAGE = 2
    DATA = 3
    INTERNAL = 4
    INTERRUPTED = 130  # Ctrl-C (SIGINT) or SIGTERM


class MfqError(Exception):
    """Base of every error meant for the user; ``str(err)`` is the one-line message."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class UsageError(MfqError):
    """The command line or an argument is wrong (exit 2)."""

    exit_code = ExitCode.USAGE


class UnsupportedOperation(UsageError):
    """An engine cannot do what the query asks; it says so rather than guess (exit 2)."""


class DataError(MfqError):
    """The data or the store cannot be used (exit 3)."""

    exit_code = ExitCode.DATA


class StoreNotFound(DataError):
    """No store exists at the given path."""


class StoreCorrupt(DataError):
    """The store exists but its catalog or files cannot be read."""


class InputUnreadable(DataError):
    """An input path cannot be opened or decoded at all."""


class StoreBusy(DataError):
    """Another writer holds the store's lock for longer than we are willing to wait."""


class NoSpace(DataError):
    """The disk of the store filled up during a write; the batch was not committed."""


class StrictIngestFailed(MfqError):
    """``--strict`` ingest saw rejects, so nothing was committed (exit 1)."""

    exit_code = ExitCode.FAILED
