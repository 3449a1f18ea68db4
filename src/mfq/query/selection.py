"""Which events a question looks at: the :class:`Selection` every question shares
(filters, time range, clock, weighting), as a plain typed value.

The command line gathers ``--where``/``--since``/``--until``/``--last``/``--now``/
``--unweighted`` into it before anything heavy loads, so this module imports nothing but
``dataclasses`` (``datetime`` only for the type checker). The requests built from it are
in :mod:`mfq.query.requests`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["EVERYTHING", "Selection", "changed_options", "listed"]


def listed(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """One text or several as a tuple of texts (None: none)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class Selection:
    """Which events a question looks at.

    ``where``: filter expressions (a text or several, all must hold). ``since`` /
    ``until``: the time range (ISO instants, dates, or ages such as ``2h`` counted back
    from ``now``); ``last``: the range ``last`` long ending at ``now``. ``now``: the moment
    relative times count from (default: the clock). ``unweighted``: count stored events,
    ignoring ``sample_rate`` (questions that count stored events anyway, such as
    ``sessions``, ``funnel``, ``paths``, ``timeline`` and ``trace``, need no such flag).

    One selection serves many questions: ``week = Selection(since="2026-11-16",
    until="2026-11-23")``, then ``store.query(week, group_by="service")`` and
    ``store.correlate(week.narrowed("status = 'error'"))``.
    """

    where: str | Sequence[str] = ()
    since: str | None = None
    until: str | None = None
    last: str | None = None
    now: datetime | str | None = None
    unweighted: bool = False

    def __post_init__(self) -> None:
        # One shape for ``where`` (a tuple), so equal selections compare and hash equal.
        object.__setattr__(self, "where", listed(self.where))

    @property
    def filters(self) -> tuple[str, ...]:
        """``where`` as a tuple of filter texts."""
        return listed(self.where)

    def narrowed(self, *where: str) -> Selection:
        """This selection with more filters (all must hold)."""
        return replace(self, where=(*self.filters, *where))

    def during(self, since: str | None, until: str | None) -> Selection:
        """This selection over another time range (``last`` dropped)."""
        return replace(self, since=since, until=until, last=None)

    def options(self) -> dict[str, object]:
        """The options that differ from their defaults, by keyword (for listings)."""
        return changed_options(self)


#: The selection of every event, weighted: what a question looks at unless told otherwise.
EVERYTHING = Selection()


def changed_options(value: object) -> dict[str, object]:
    """The dataclass fields of ``value`` whose value is not their default."""
    changed: dict[str, object] = {}
    for item in fields(value):  # type: ignore[arg-type]
        current = getattr(value, item.name)
        if item.default is not current and item.default != current:
            changed[item.name] = current
    return changed
