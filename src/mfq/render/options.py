"""Options that apply to every output format."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    """``title`` for tables, ``raw`` to turn off CSV neutralisation, the empty message."""

    title: str | None = None
    raw: bool = False
    empty_message: str = "no events match"
