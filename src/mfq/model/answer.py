"""An answer: a DataFrame that also says what an analysis found besides its rows.

Notebooks get a DataFrame as before; what used to travel in untyped ``DataFrame.attrs``
is typed attributes here: ``notes`` (what was compared, skipped or inferred),
``total_rows`` (rows before ``limit``), ``summary`` (the markers of a timeline, the
counts of sessions), ``key_count`` (keys a ``paths`` answer walked), ``scope`` (what
a ``check`` looked at) and ``judged`` (False when no event matched, so an analysis found
nothing because it had nothing to judge). pandas carries them through copies, filters and ``head``
(``_metadata``), so the renderers read them from the frame they are given.

This module imports pandas: import it where a frame is being built, not at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

__all__ = ["Answer", "CheckScope", "answer"]


@dataclass(frozen=True)
class CheckScope:
    """What a ``check`` looked at: its time range as resolved, its filters, its events."""

    since: datetime | None
    until: datetime | None
    where: list[str] = field(default_factory=list)
    events: object = None  # the weighted event count (a number, None when unknown)


class Answer(pd.DataFrame):
    """A result table with the analysis' own findings as typed attributes."""

    _metadata = ["notes", "total_rows", "summary", "key_count", "scope", "judged"]  # noqa: RUF012

    #: What was compared, skipped or inferred, one sentence each.
    notes: tuple[str, ...] = ()
    #: The number of rows before ``limit`` cut them (None: nothing was cut).
    total_rows: int | None = None
    #: ``timeline``'s markers (first_error, peak, recovered, ...) or ``sessions``' counts
    #: (operations, completed, failed, open, stuck...).
    summary: Mapping[str, object] = {}
    #: ``paths``: how many keys the paths were counted over.
    key_count: int | None = None
    #: ``check``: the time range, filters and events the assertions were measured on.
    scope: CheckScope | None = None
    #: False when no event matched the question's time range and filters: an empty answer
    #: then means "nothing to judge", not "no anomalies" or "nothing stands out".
    judged: bool = True

    @property
    def _constructor(self) -> type[Answer]:
        return Answer


def answer(
    frame: pd.DataFrame,
    *,
    notes: Sequence[str] | None = None,
    total_rows: int | None = None,
    summary: Mapping[str, object] | None = None,
    key_count: int | None = None,
    scope: CheckScope | None = None,
    judged: bool | None = None,
) -> Answer:
    """``frame`` as an :class:`Answer` (the same object when it is one already: its
    attributes stay, those given are set)."""
    result = frame if isinstance(frame, Answer) else Answer(frame)
    if notes is not None:
        result.notes = tuple(notes)
    if total_rows is not None:
        result.total_rows = total_rows
    if summary is not None:
        result.summary = summary
    if key_count is not None:
        result.key_count = key_count
    if scope is not None:
        result.scope = scope
    if judged is not None:
        result.judged = judged
    return result
