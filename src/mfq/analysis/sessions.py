"""``mfq sessions``: operations (an order, a workflow run, a visit) by a journey key.

An **operation** is a run of one key's events (in time order, see
:mod:`mfq.analysis.journeys`). Where it starts and ends:

- ``end`` (and ``fail``): an event matching either ends the operation; the key's next
  event starts a new one. ``start``: an operation starts at an event matching it (a
  second start before the end restarts it: the first is left open); events outside an
  operation (before a start, after an end) belong to none. Without ``start``, an
  operation starts at the key's first event, or the first after an end.
- ``gap``: a silence longer than ``gap`` between two events of a key ends the operation.
  With ``end`` too, an operation cut by the gap never ended: it stays open.
- Neither ``end`` nor ``gap``: the ends are inferred: the types that are the last event
  of their key at least 90% of the times they occur (and not mostly the first: a
  one-event journey ends nothing), seen at least three times. Without such a type, the
  default gap (30 minutes) applies. ``attrs["notes"]`` says which was used.

**outcome**: ``failed`` when the event that ended it matches ``fail`` or is an error
(``status = 'error'``, severity error/fatal or HTTP 5xx, as ``timeline``), ``completed``
when it ended otherwise, ``open`` when it has not ended: no end event, or (by gap) its last
event lies within ``gap`` of the data's end. The **data's end** is the last event read
(with or without the key), in the time range and filters given.

``open_longer_than``: only the open operations that started at least that long before
the data's end (stuck work). ``duration_ms`` is last event - first event (so far, for an
open one). Counts are stored events (``sample_rate`` is not applied: operations are
listed, like ``mfq events``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from mfq.analysis.journeys import (
    JourneyEvents,
    Step,
    check_key,
    ns_of,
    parse_step,
    percentile,
    read_journeys,
    step_fields,
)
from mfq.errors import UsageError
from mfq.query.expr import Expr, FieldType, referenced_fields, to_text
from mfq.query.requests import Request
from mfq.query.timerange import parse_duration

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from mfq.analysis.common import ParsedSelection
    from mfq.model.answer import Answer
    from mfq.query.source import QuerySource

    IntArray = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]

#: The gap that ends an operation when no end is given and none can be inferred.
DEFAULT_GAP = timedelta(minutes=30)
#: A type ends operations when it is the last event of its key this often ...
END_TYPE_SHARE = 0.9
#: ... and seen at least this many times.
END_TYPE_MIN_EVENTS = 3

OUTCOMES = ("completed", "failed", "open")
#: An operation's own columns (besides its key), which ``where`` may test.
OPERATION_FIELDS: dict[str, FieldType] = {
    "start": FieldType.TIMESTAMP,
    "end": FieldType.TIMESTAMP,
    "events": FieldType.INTEGER,
    "errors": FieldType.INTEGER,
    "first_type": FieldType.STRING,
    "last_type": FieldType.STRING,
    "services": FieldType.STRING,
    "outcome": FieldType.STRING,
}
_READ = ("type", "service", "status", "severity", "http_status")


@dataclass(frozen=True)
class Boundaries:
    """How operations start and end (see the module docstring)."""

    start: Step | None = None
    end: Step | None = None
    fail: Step | None = None
    gap_ns: int | None = None


@dataclass(frozen=True, kw_only=True)
class SessionsRequest(Request):
    """``sessions``: operations by journey key ``by``.

    ``start`` / ``end`` / ``fail``: the events that start, complete and fail an operation.
    ``gap``: a silence this long ends one. ``open_longer_than``: only the open ones older
    than this (the stuck ones). ``limit``: at most this many. The selection's ``where``
    filters the events read, or, for conditions only on the operation's columns
    (``outcome = 'open'``, ``events > 3``), the operations.
    """

    command: ClassVar[str] = "sessions"

    by: str
    start: str | None = None
    end: str | None = None
    fail: str | None = None
    gap: str | timedelta | None = None
    open_longer_than: str | timedelta | None = None
    limit: int | None = None


def sessions(store: QuerySource, request: SessionsRequest) -> Answer:
    """One row per operation of key ``by``: the key, ``start``, ``end``, ``duration_ms``,
    ``events``, ``errors``, ``first_type``, ``last_type``, ``services``, ``outcome``, in
    order of start.

    The answer's ``summary``: operations per outcome, ``p50_ms``/``p95_ms`` of the ended
    operations' durations, ``completion_rate``, ``stuck`` (with ``open_longer_than``),
    ``data_end``; its ``notes`` say how operations were cut, its ``total_rows`` counts
    rows before ``limit``.
    """
    from mfq.model.answer import answer

    by, limit = request.by, request.limit
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    events_where, operation_where = split_where(store, request.selection.filters)
    from mfq.analysis.common import resolve_selection

    # Operations count stored events: the selection's weighting does not apply.
    read = replace(request.selection, where=tuple(events_where), unweighted=False)
    selection = resolve_selection(store, read)
    check_key(store, by, selection)
    boundaries = _boundaries(
        store, selection, request.start, request.end, request.fail, request.gap
    )
    steps = [s for s in (boundaries.start, boundaries.end, boundaries.fail) if s is not None]
    journeys = read_journeys(store, by, selection, [*_READ, *step_fields(steps)], data_end=True)
    frame = build_sessions(journeys, by, boundaries)
    if operation_where:
        frame = _filter_operations(frame, operation_where, by)
    age = _duration(request.open_longer_than, "--open-longer-than")
    summary = _summary(frame, journeys.data_end, age)
    if age is not None:
        stuck = _stuck(frame, journeys.data_end, age)
        frame = frame[stuck].reset_index(drop=True)
    total = len(frame)
    if limit is not None:
        frame = frame.head(limit)
    return answer(frame, summary=summary, total_rows=total)


def split_where(
    store: QuerySource, where: str | Sequence[str] | None
) -> tuple[list[str], list[Expr]]:
    """``where`` texts into the events' filters (as text) and the operations' conditions."""
    from mfq.analysis.journeys import conjuncts_of
    from mfq.query.expr import parse_filter

    texts = [where] if isinstance(where, str) else list(where or [])
    if not texts:
        return [], []
    store_types = store.field_types()
    types = {**store_types, **{k: v for k, v in OPERATION_FIELDS.items() if k not in store_types}}
    on_events: list[str] = []
    on_operations: list[Expr] = []
    for text in texts:
        for item in conjuncts_of(parse_filter(text, types)):
            names = referenced_fields(item)
            if names and names <= set(OPERATION_FIELDS):
                on_operations.append(item)
            else:
                on_events.append(to_text(item))
    return on_events, on_operations


def _duration(value: str | timedelta | None, option: str) -> timedelta | None:
    if value is None:
        return None
    width = parse_duration(value, option) if isinstance(value, str) else value
    if width < timedelta(0):
        raise UsageError(f"{option} must not be negative")
    return width


def _boundaries(
    store: QuerySource,
    selection: ParsedSelection,
    start: str | None,
    end: str | None,
    fail: str | None,
    gap: str | timedelta | None,
) -> Boundaries:
    width = _duration(gap, "--gap")
    if width is not None and width <= timedelta(0):
        raise UsageError("--gap must be positive")
    return Boundaries(
        start=parse_step(store, start, selection, "--start") if start else None,
        end=parse_step(store, end, selection, "--end") if end else None,
        fail=parse_step(store, fail, selection, "--fail") if fail else None,
        gap_ns=ns_of(width) if width is not None else None,
    )


def build_sessions(journeys: JourneyEvents, key: str, boundaries: Boundaries) -> Answer:
    """The operations of ``journeys`` cut by ``boundaries`` (module docstring), a row each."""
    import numpy as np

    from mfq.analysis.timeline import error_flags
    from mfq.model.answer import answer

    notes: list[str] = []
    count = len(journeys)
    none = np.zeros(count, dtype=np.bool_)
    firsts = journeys.firsts()
    starts = journeys.mask(boundaries.start) if boundaries.start else None
    ends = journeys.mask(boundaries.end) if boundaries.end else none
    fails = journeys.mask(boundaries.fail) if boundaries.fail else none
    gap_ns = boundaries.gap_ns
    if boundaries.end is None and boundaries.fail is None and gap_ns is None:
        ends, notes = _inferred_ends(journeys, firsts)
        if not ends.any():
            gap_ns = ns_of(DEFAULT_GAP)
    elif gap_ns is not None:
        notes.append(f"operations end after {_text(gap_ns)} without events")
    stops = ends | fails
    boundary = firsts.copy()
    if gap_ns is not None and count > 1:
        boundary[1:] |= np.diff(journeys.times) > gap_ns
    if starts is not None:
        boundary |= starts
    elif count > 1:
        boundary[1:] |= stops[:-1]
    kept = _kept_rows(boundary, stops, starts)
    rows = np.flatnonzero(kept)
    operation_firsts = rows[np.flatnonzero(boundary[rows])] if len(rows) else rows
    errors = error_flags(journeys.table)
    frame = _operations(journeys, key, rows, boundary[rows], errors)
    if len(rows) == 0:
        frame["outcome"] = frame["first_type"]  # empty, of the same dtype
        return answer(frame, notes=notes)
    # The last kept row of each operation: the one before the next operation's first.
    positions = np.searchsorted(rows, operation_firsts)
    last_rows = rows[np.append(positions[1:], len(rows)) - 1]
    stopped = stops[last_rows]
    failed = stopped & (fails[last_rows] | errors[last_rows])
    if gap_ns is not None and boundaries.end is None and boundaries.fail is None:
        data_end = journeys.data_end if journeys.data_end is not None else 0
        closed = (data_end - journeys.times[last_rows]) > gap_ns
        stopped = stopped | closed
        failed = failed | (closed & errors[last_rows])
    outcome = np.where(failed, "failed", np.where(stopped, "completed", "open"))
    frame["outcome"] = outcome.astype(object)
    frame = frame.sort_values(["start", key], kind="stable").reset_index(drop=True)
    return answer(frame, notes=notes)


def _kept_rows(boundary: BoolArray, stops: BoolArray, starts: BoolArray | None) -> BoolArray:
    """Rows inside an operation: from its first row up to and including its first stop
    (with ``start``, only segments that begin with a start)."""
    import numpy as np

    segment = np.cumsum(boundary) - 1
    first_rows = np.flatnonzero(boundary)
    stopped_total = np.cumsum(stops)
    stops_before_row: IntArray = stopped_total - stops
    stops_before_segment: IntArray = stops_before_row[first_rows]
    kept: BoolArray = stops_before_row[np.arange(len(boundary))] == stops_before_segment[segment]
    if starts is not None:
        kept &= starts[first_rows][segment]
    return kept


def _inferred_ends(journeys: JourneyEvents, firsts: BoolArray) -> tuple[BoolArray, list[str]]:
    """Rows whose type ends operations (module docstring), and a note naming the types."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    count = len(journeys)
    if count == 0:
        return np.zeros(0, dtype=np.bool_), []
    column = journeys.table.column("type").combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    encoded = pc.dictionary_encode(column)
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), np.int64)
    lasts = np.append(firsts[1:], True)
    size = len(encoded.dictionary) + 1
    seen = np.bincount(codes + 1, minlength=size)
    last = np.bincount(codes[lasts] + 1, minlength=size)
    first = np.bincount(codes[firsts] + 1, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        ending = (
            (seen >= END_TYPE_MIN_EVENTS)
            & (last >= END_TYPE_SHARE * seen)
            & (first < END_TYPE_SHARE * seen)
        )
    ending[0] = False  # events without a type end nothing
    names = sorted(str(encoded.dictionary[i - 1]) for i in np.flatnonzero(ending))
    if not names:
        return np.zeros(count, dtype=np.bool_), [
            f"no type ends operations: they end after {_text(ns_of(DEFAULT_GAP))} without events"
        ]
    return ending[codes + 1], [f"operations end at (inferred): {', '.join(names)}"]


def _text(ns: int) -> str:
    seconds = ns // 1_000_000_000
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _operations(
    journeys: JourneyEvents,
    key: str,
    rows: IntArray,
    first_flags: BoolArray,
    errors: BoolArray,
) -> pd.DataFrame:
    """Every column but ``outcome``, one row per operation (rows are contiguous per
    operation, each operation's first flagged)."""
    import numpy as np
    import pandas as pd

    if len(rows) == 0:
        return _empty(key)
    firsts = np.flatnonzero(first_flags)
    lasts = np.append(firsts[1:], len(rows)) - 1
    times = journeys.times[rows]
    start = times[firsts]
    end = times[lasts]
    return pd.DataFrame(
        {
            key: journeys.key_values(rows[firsts]),
            "start": pd.to_datetime(start, utc=True),
            "end": pd.to_datetime(end, utc=True),
            "duration_ms": (end - start) / 1e6,
            "events": (lasts - firsts + 1).astype(np.int64),
            "errors": np.add.reduceat(errors[rows].astype(np.int64), firsts),
            "first_type": journeys.column_values("type", rows[firsts]),
            "last_type": journeys.column_values("type", rows[lasts]),
            "services": _services(journeys, rows, firsts),
        }
    )


def _services(journeys: JourneyEvents, rows: IntArray, firsts: IntArray) -> list[str | None]:
    """Each operation's distinct services, sorted, joined by ", "."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    column = journeys.table.column("service").combine_chunks()
    if pa.types.is_null(column.type):
        return [None] * len(firsts)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    column = column.take(pa.array(rows, type=pa.int64()))
    encoded = pc.dictionary_encode(column.cast(pa.string()))
    names = encoded.dictionary.to_pylist()
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), np.int64)
    order = sorted(range(len(names)), key=lambda i: names[i])
    rank = np.empty(len(names) + 1, dtype=np.int64)
    rank[0] = -1
    rank[np.array(order, dtype=np.int64) + 1] = np.arange(len(names))
    ranked = rank[codes + 1]
    if len(names) <= 62:
        # One bit per service: an operation's set is the OR of its events' bits.
        bits = np.where(ranked >= 0, np.left_shift(1, np.maximum(ranked, 0)), 0).astype(np.int64)
        sets = np.bitwise_or.reduceat(bits, firsts)
        ordered = [names[i] for i in order]
        unique, inverse = np.unique(sets, return_inverse=True)
        texts = [
            ", ".join(ordered[b] for b in range(len(ordered)) if int(u) >> b & 1) or None
            for u in unique
        ]
        return [texts[i] for i in inverse]
    operation = np.repeat(np.arange(len(firsts)), np.diff(np.append(firsts, len(rows))))
    result: list[set[str]] = [set() for _ in firsts]
    for op, code in zip(operation.tolist(), codes.tolist(), strict=True):
        if code >= 0:
            result[op].add(names[code])
    return [", ".join(sorted(found)) or None for found in result]


def _empty(key: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            key: pd.Series([], dtype="object"),
            "start": pd.Series([], dtype="datetime64[ns, UTC]"),
            "end": pd.Series([], dtype="datetime64[ns, UTC]"),
            "duration_ms": pd.Series([], dtype="float64"),
            "events": pd.Series([], dtype="int64"),
            "errors": pd.Series([], dtype="int64"),
            "first_type": pd.Series([], dtype="object"),
            "last_type": pd.Series([], dtype="object"),
            "services": pd.Series([], dtype="object"),
        }
    )


def _filter_operations(frame: pd.DataFrame, conditions: list[Expr], key: str) -> Answer:
    """The operations meeting every condition on their own columns."""
    import numpy as np
    import pyarrow as pa

    from mfq.model.answer import answer
    from mfq.query.engines.rows import evaluate_mask

    table = pa.Table.from_pandas(frame.drop(columns=[key]), preserve_index=False)
    keep = np.ones(len(frame), dtype=np.bool_)
    for condition in conditions:
        keep &= np.asarray(evaluate_mask(table, condition).to_numpy(zero_copy_only=False), bool)
    return answer(frame[keep].reset_index(drop=True))  # with the notes it had


def _stuck(frame: pd.DataFrame, data_end: int | None, age: timedelta) -> pd.Series[bool]:
    """Open operations that started at least ``age`` before the data's end."""
    import pandas as pd

    if data_end is None or frame.empty:
        return pd.Series([False] * len(frame), index=frame.index, dtype=bool)
    limit = pd.Timestamp(data_end, tz="UTC") - pd.Timedelta(age)
    stuck: pd.Series[bool] = (frame["outcome"] == "open") & (frame["start"] <= limit)
    return stuck


def _summary(frame: pd.DataFrame, data_end: int | None, age: timedelta | None) -> dict[str, object]:
    """Counts per outcome, duration percentiles of ended operations, completion rate."""
    import numpy as np
    import pandas as pd

    counts = (
        {name: int((frame["outcome"] == name).sum()) for name in OUTCOMES}
        if len(frame)
        else dict.fromkeys(OUTCOMES, 0)
    )
    ended = frame[frame["outcome"] != "open"]["duration_ms"].to_numpy(np.float64)
    operations = len(frame)
    return {
        "operations": operations,
        **counts,
        "p50_ms": percentile(ended, 50),
        "p95_ms": percentile(ended, 95),
        "completion_rate": counts["completed"] / operations if operations else None,
        "stuck": int(_stuck(frame, data_end, age).sum()) if age is not None else None,
        "data_end": None if data_end is None else pd.Timestamp(data_end, tz="UTC").to_pydatetime(),
    }
