"""Expression errors: a one-line message pointing at a column, plus a caret for the CLI.

Every message quotes user text through :func:`shown`, so ``str(err)`` is always a single
line however hostile the expression (newlines, escape sequences, a megabyte literal).
"""

from __future__ import annotations

import unicodedata

from mfq.errors import UsageError

#: Longest piece of user text quoted inside a message; longer text ends in "…".
MAX_SHOWN_CHARS = 60


def escaped(text: str) -> str:
    """``text`` with every unprintable character (controls, line separators) as an escape."""
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def shown(text: str, *, quote: str = "'") -> str:
    """User text as a message quotes it: escaped, shortened, between ``quote`` characters."""
    if len(text) > MAX_SHOWN_CHARS:
        text = text[:MAX_SHOWN_CHARS] + "…"
    return f"{quote}{escaped(text)}{quote}"


def _escape(ch: str) -> str:
    return ch.encode("unicode_escape").decode("ascii")


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class ExpressionError(UsageError):
    """An expression cannot be parsed or does not fit the fields it names (exit code 2).

    ``str(err)`` is one line: ``bad expression at column 12: <reason>``. ``position`` is
    the 0-based character offset of the mistake in ``text`` (``len(text)`` when something
    is missing at the end); ``column`` is the same place counted from 1.
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        self.reason = escaped(message)
        self.text = text
        self.position = max(0, min(position, len(text)))
        super().__init__(f"bad expression at column {self.column}: {self.reason}")

    @property
    def column(self) -> int:
        """The 1-based column of the mistake."""
        return self.position + 1

    def caret_lines(self) -> list[str]:
        """The expression (unprintables escaped), then a line with ``^`` under the mistake."""
        before = escaped(self.text[: self.position])
        indent = sum(_width(ch) for ch in before)
        return [escaped(self.text), " " * indent + "^"]


class UnknownField(ExpressionError):
    """The expression names a field the schema does not have; ``suggestion`` is the nearest."""

    def __init__(
        self, message: str, text: str, position: int, *, name: str, suggestion: str | None
    ) -> None:
        super().__init__(message, text, position)
        self.name = name
        self.suggestion = suggestion
