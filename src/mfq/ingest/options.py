"""Options that change how records are normalised at ingest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import tzinfo

#: Keys that look like secrets (case-insensitive, anywhere in a dotted key path).
DEFAULT_SECRET_PATTERN = r"password|passwd|secret|token|api_key|apikey|authorization|cookie"
REDACTED = "[redacted]"


@dataclass(frozen=True)
class NormalizeOptions:
    """How to turn raw records into events (see SPEC: event model, untrusted data)."""

    assume_tz: tzinfo | None = None
    redact: bool = True
    extra_secret_patterns: tuple[str, ...] = ()
    secret_regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = [DEFAULT_SECRET_PATTERN, *self.extra_secret_patterns]
        regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        object.__setattr__(self, "secret_regex", regex)

    def is_secret_key(self, name: str) -> bool:
        """True when values under this (flattened) key must be stored redacted."""
        return self.redact and self.secret_regex.search(name) is not None
