"""Options that apply to every output format."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    """``title`` for tables, ``raw`` to turn off CSV neutralisation, the empty message."""

    title: str | None = None
    raw: bool = False
    empty_message: str = "no events match"
    #: Integer columns shown as written, without separators (identifiers by their values:
    #: see ``mfq.render.events``); fields named like identifiers always are.
    identifiers: frozenset[str] = frozenset()
