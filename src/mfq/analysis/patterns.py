"""``patterns``: a text field's messages grouped into templates (``mfq.query.templates``),
each with its count, share, first and last seen, services and one example; against a
baseline period, each marked new, gone, grown, shrunk or steady.

The events are read a file at a time and each file's messages are masked and reduced to
their distinct masked texts before the miner sees them, so memory stays bounded by one
file and the miner's groups, whatever the number of events. Templates are remembered in
the store's catalog: a later run (next week's) starts from them, so a template keeps its
id (the hash of its text when first seen).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from mfq.analysis.common import ParsedSelection, require_field, resolve_selection
from mfq.analysis.proportions import two_proportions
from mfq.errors import UsageError
from mfq.query.requests import Request
from mfq.query.templates import (
    DEFAULT_MINER_SETTINGS,
    MinerSettings,
    TemplateMiner,
    template_id,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mfq.query.source import QuerySource
    from mfq.query.timerange import TimeRange

#: Services listed per template (the rest are counted).
SHOWN_SERVICES = 5
#: Services remembered per template (bounds memory on a field present in every service).
KEPT_SERVICES = 64
#: A template grew (shrank) when its share is this many times (a fraction of) the
#: baseline's, and the two-proportion test is confident of the difference.
GROWTH_FACTOR = 1.5

COLUMNS = [
    "id",
    "template",
    "count",
    "share",
    "first_seen",
    "last_seen",
    "services",
    "example",
]
BASELINE_COLUMNS = ["baseline_count", "baseline_share", "change"]


@dataclass
class _Tally:
    """What one template gathered in one period."""

    count: float = 0.0
    first_ns: int | None = None
    last_ns: int | None = None
    services: set[str] = field(default_factory=set)
    example: str | None = None

    def add(self, other: _Tally) -> None:
        self.count += other.count
        self.first_ns = _least(self.first_ns, other.first_ns)
        self.last_ns = _most(self.last_ns, other.last_ns)
        if len(self.services) < KEPT_SERVICES:
            self.services.update(sorted(other.services)[: KEPT_SERVICES - len(self.services)])
        if self.example is None:
            self.example = other.example


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _most(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True, kw_only=True)
class PatternsRequest(Request):
    """``patterns``: the messages of ``field`` grouped into templates.

    ``field``: the message field. ``baseline_since`` (and ``baseline_until``, default the
    selection's start): mark each template new, gone, grown, shrunk or steady against
    that period. ``limit``: at most this many templates. ``remember``: keep the template
    ids in the store. ``settings``: the miner's sizes.
    """

    command: ClassVar[str] = "patterns"

    field: str = "message"
    baseline_since: str | None = None
    baseline_until: str | None = None
    limit: int | None = None
    remember: bool = True
    settings: MinerSettings = DEFAULT_MINER_SETTINGS


def patterns(store: QuerySource, request: PatternsRequest) -> pd.DataFrame:
    """The templates of ``request.field`` in the selection, largest first (see the module
    docs); with ``baseline_since``, compared with that period (``baseline_until``
    defaults to the selection's start)."""
    selection = resolve_selection(store, request.selection)
    require_field(store, selection, request.field)
    baseline = _baseline_time(store, selection, request)
    miner = TemplateMiner(request.settings)
    known = store.catalog.templates(request.field) if store.exists() else {}
    seeded = {miner.seed(text): ident for ident, text in known.items()}
    current = _mine(store, selection, selection.time, request.field, miner)
    before = (
        _mine(store, selection, baseline, request.field, miner) if baseline is not None else None
    )
    frame = _frame(miner, seeded, current, before)
    if request.remember and len(frame):
        _remember(store, request.field, frame, known)
    if request.limit is not None:
        frame = frame.head(request.limit).reset_index(drop=True)
    return frame


def _baseline_time(
    store: QuerySource,
    selection: ParsedSelection,
    options: PatternsRequest,
) -> TimeRange | None:
    if options.baseline_since is None:
        if options.baseline_until is not None:
            raise UsageError("--baseline-until needs --baseline-since")
        return None
    until = options.baseline_until
    if until is None:
        if selection.time.since is None:
            raise UsageError("--baseline-since needs --baseline-until or --since")
        until = selection.time.since.isoformat()
    baseline = options.selection.during(options.baseline_since, until)
    return resolve_selection(store, baseline).time


def _mine(
    store: QuerySource, selection: ParsedSelection, time: TimeRange, name: str, miner: TemplateMiner
) -> dict[int, _Tally]:
    """Every template's tally over ``time``, a file at a time."""
    tallies: dict[int, _Tally] = {}
    for group, tally in _file_tallies(store, selection, time, name, miner):
        tallies.setdefault(group, _Tally()).add(tally)
    merged: dict[int, _Tally] = {}
    for group, tally in tallies.items():  # groups merged since they were tallied
        merged.setdefault(miner.group_of(group), _Tally()).add(tally)
    return merged


def _file_tallies(
    store: QuerySource, selection: ParsedSelection, time: TimeRange, name: str, miner: TemplateMiner
) -> Iterator[tuple[int, _Tally]]:
    from mfq.query.pattern_field import file_texts

    with_service = "service" in selection.types
    weighted = not selection.unweighted
    for distinct in file_texts(store, selection.where, time, name, with_service, weighted=weighted):
        yield from _tallies(distinct, miner)


def _tallies(distinct: pa.Table, miner: TemplateMiner) -> Iterator[tuple[int, _Tally]]:
    services = (
        distinct.column("service_distinct").to_pylist()
        if "service_distinct" in distinct.column_names
        else [None] * distinct.num_rows
    )
    rows = zip(
        distinct.column("masked").to_pylist(),
        distinct.column("weight_sum").to_pylist(),
        distinct.column("ns_min").to_pylist(),
        distinct.column("ns_max").to_pylist(),
        distinct.column("message_first").to_pylist(),
        services,
        strict=True,
    )
    for masked, weight, first, last, example, found in rows:
        kept = {s for s in (found or ()) if s is not None}
        yield miner.add(masked), _Tally(float(weight), first, last, kept, example)


def _frame(
    miner: TemplateMiner,
    seeded: dict[int, str],
    current: dict[int, _Tally],
    before: dict[int, _Tally] | None,
) -> pd.DataFrame:
    import pandas as pd

    roots = {miner.group_of(g): ident for g, ident in seeded.items()}
    total = sum(t.count for t in current.values())
    total_before = sum(t.count for t in (before or {}).values())
    records = []
    for group in sorted(set(current) | set(before or {})):
        tally = current.get(group, _Tally())
        text = miner.template(group)
        record: dict[str, object] = {
            "id": roots.get(group) or template_id(text),
            "template": text,
            "count": tally.count,
            "share": round(tally.count / total, 6) if total else 0.0,
            "first_seen": tally.first_ns,
            "last_seen": tally.last_ns,
            "services": _services(tally.services),
            "example": tally.example,
        }
        if before is not None:
            earlier = before.get(group, _Tally())
            record["baseline_count"] = earlier.count
            record["baseline_share"] = (
                round(earlier.count / total_before, 6) if total_before else 0.0
            )
            record["change"] = classify(tally.count, total, earlier.count, total_before)
            if record["example"] is None:
                record["example"] = earlier.example
        records.append(record)
    columns = COLUMNS + (BASELINE_COLUMNS if before is not None else [])
    frame = pd.DataFrame.from_records(records, columns=columns)
    if not len(frame):
        return frame
    frame["first_seen"] = pd.to_datetime(frame["first_seen"], utc=True)
    frame["last_seen"] = pd.to_datetime(frame["last_seen"], utc=True)
    keys = ["count", "baseline_count", "template"] if before is not None else ["count", "template"]
    ascending = [False, False, True] if before is not None else [False, True]
    frame = frame.sort_values(keys, ascending=ascending, kind="stable")
    return frame.reset_index(drop=True)


def classify(count: float, total: float, before: float, total_before: float) -> str:
    """``new``, ``gone``, ``grown``, ``shrunk`` or ``steady``: a template's share against
    the baseline's (grown/shrunk: by ``GROWTH_FACTOR`` at least, with the two-proportion
    test's confidence)."""
    if before == 0 and count > 0:
        return "new"
    if count == 0 and before > 0:
        return "gone"
    shift = two_proportions(count, total, before, total_before)
    if shift is None or not shift.significant:
        return "steady"
    if shift.p1 >= GROWTH_FACTOR * shift.p2:
        return "grown"
    if shift.p1 * GROWTH_FACTOR <= shift.p2:
        return "shrunk"
    return "steady"


def _services(services: set[str]) -> str | None:
    if not services:
        return None
    names = sorted(services)
    shown = ", ".join(names[:SHOWN_SERVICES])
    more = len(names) - SHOWN_SERVICES
    return shown + (f" (+{more} more)" if more > 0 else "")


def _remember(store: QuerySource, name: str, frame: pd.DataFrame, known: dict[str, str]) -> None:
    """Keep the templates not yet in the catalog (a read-only store keeps none)."""
    import sqlite3

    import pandas as pd

    fresh = frame[~frame["id"].isin(known)]
    rows = [
        (str(ident), str(text), None if pd.isna(first) else int(first.value))
        for ident, text, first in zip(
            fresh["id"], fresh["template"], fresh["first_seen"], strict=True
        )
    ]
    if not rows:
        return
    try:
        store.catalog.remember_templates(name, rows)
    except sqlite3.OperationalError as err:
        if "readonly" not in str(err):
            raise
