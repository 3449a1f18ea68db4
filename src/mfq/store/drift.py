"""Schema drift: which keys each source's events had per UTC day, and what changed.

At ingest, each source records per day of its events the fields present and their value
classes (a few rows per source). ``mfq schema --drift`` compares consecutive days: a key
that appeared, one that vanished (a new release stopped sending it), a type that changed.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from mfq.ingest.columns import arrow_class

if TYPE_CHECKING:
    import pyarrow as pa

NS_PER_DAY = 86_400 * 1_000_000_000
#: The pseudo-field recording that a source had events on a day (with no other field).
DAY_MARK = ""
#: Fields every event has: their presence never drifts.
_ALWAYS = frozenset({"id", "type", "timestamp"})

DayFields = dict[str, dict[str, Counter[str]]]


def add_day_fields(table: pa.Table, into: DayFields) -> None:
    """Count, per UTC day of ``table``'s events, each field's present values by class."""
    if not table.num_rows:
        return
    ns = np.asarray(table.column("timestamp").cast("int64").to_numpy(zero_copy_only=False))
    day_numbers = ns // NS_PER_DAY
    days = np.unique(day_numbers)
    masks = None if len(days) == 1 else {int(d): day_numbers == d for d in days}
    names = [n for n in table.column_names if n not in _ALWAYS]
    for day in days.tolist():
        label = datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()
        fields = into.setdefault(label, {})
        events = table.num_rows if masks is None else int(np.count_nonzero(masks[day]))
        fields.setdefault(DAY_MARK, Counter())["events"] += events  # the day had events
        for name in names:
            column = table.column(name)
            if masks is None:
                present = len(column) - column.null_count
            else:
                valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
                present = int(np.count_nonzero(valid & masks[day]))
            if present:
                fields.setdefault(name, Counter())[arrow_class(column.type)] += present


def drift_rows(rows: list[tuple[str, str, str, str, int]]) -> list[dict[str, object]]:
    """From (source, day, field, class, count) rows, the changes between consecutive days
    of the store: ``appeared``, ``vanished``, ``type_changed``, each with the sources."""
    by_day: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)  # (day, field) -> sources
    for source, day, name, cls, _count in rows:
        fields = by_day[day]
        if name == DAY_MARK:
            continue
        fields[name].add(cls)
        sources[(day, name)].add(source)
    changes: list[dict[str, object]] = []
    days = sorted(by_day)
    for before, day in itertools.pairwise(days):
        old, new = by_day[before], by_day[day]
        for name in sorted(set(old) | set(new)):
            if name not in old:
                change, detail, where = "appeared", ", ".join(sorted(new[name])), (day, name)
            elif name not in new:
                change, detail, where = "vanished", ", ".join(sorted(old[name])), (before, name)
            elif old[name] != new[name]:
                was, now = ", ".join(sorted(old[name])), ", ".join(sorted(new[name]))
                change, detail, where = "type_changed", f"{was} -> {now}", (day, name)
            else:
                continue
            changes.append(
                {
                    "day": day,
                    "field": name,
                    "change": change,
                    "types": detail,
                    "sources": ", ".join(sorted(sources[where])),
                }
            )
    return changes
