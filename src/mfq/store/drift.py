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
import pyarrow.compute as pc

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
    names = [n for n in table.column_names if n not in _ALWAYS]
    times = table.column("timestamp").cast("int64")
    bounds = pc.min_max(times).as_py()
    if bounds["min"] // NS_PER_DAY == bounds["max"] // NS_PER_DAY:  # one day: the usual chunk
        counts = {n: table.num_rows - table.column(n).null_count for n in names}
        _record(into, bounds["min"] // NS_PER_DAY, table.num_rows, counts, table)
        return
    day_numbers = np.asarray(times.to_numpy()) // NS_PER_DAY
    if bool(np.all(day_numbers[1:] >= day_numbers[:-1])):
        # Time-ordered input (the usual export): each day is one slice; null counts of
        # slices cost next to nothing.
        cuts = np.flatnonzero(np.diff(day_numbers)) + 1
        starts = np.concatenate(([0], cuts))
        stops = np.concatenate((cuts, [len(day_numbers)]))
        for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
            part = table.slice(start, stop - start)
            counts = {n: len(part) - part.column(n).null_count for n in names}
            _record(into, int(day_numbers[start]), stop - start, counts, table)
        return
    days, index = np.unique(day_numbers, return_inverse=True)
    per_day = {name: _present_by_day(table.column(name), index, len(days)) for name in names}
    events = np.bincount(index, minlength=len(days))
    for position, day in enumerate(days.tolist()):
        counts = {name: int(per_day[name][position]) for name in names}
        _record(into, day, int(events[position]), counts, table)


def _present_by_day(column: pa.ChunkedArray, index: np.ndarray, days: int) -> np.ndarray:
    if column.null_count == 0:
        return np.bincount(index, minlength=days)
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return np.bincount(index[valid], minlength=days)


def _record(
    into: DayFields, day: int, events: int, counts: dict[str, int], table: pa.Table
) -> None:
    label = datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()
    fields = into.setdefault(label, {})
    fields.setdefault(DAY_MARK, Counter())["events"] += events  # the day had events
    for name, present in counts.items():
        if present:
            fields.setdefault(name, Counter())[arrow_class(table.schema.field(name).type)] += (
                present
            )


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
