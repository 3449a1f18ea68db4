"""``mfq trace ID``: one trace's spans and events as a tree, in depth-first order.

Finding the trace: the catalog's trace index names the files that may hold the id (keys
of the lower-cased ids), and an equality filter is pushed into the Parquet scan of those
(``trace_id`` read as a dictionary: each distinct id is compared once per row group, not
once per row). IDs are
matched case-insensitively: OTLP stores lower-case hex and people paste upper-case, so
the ID as given, lower-cased and upper-cased are tried first; only when none is stored
are the stored ids compared lower-cased (one more read of the ``trace_id`` column).

Rebuilding the tree (every rule is deterministic; "time order" is timestamp, then event
id, then the order read):

- a span (an event with a ``span_id``) hangs under the span its ``parent_span_id`` names;
  one without ``parent_span_id`` is a root;
- an *orphan* (its parent is not in the trace) becomes a root, noted ``orphan``;
- a *cycle* of parent links (a span its own ancestor) is broken at its earliest member,
  which becomes a root, noted ``cycle``;
- several events with one ``span_id``: the span is the earliest of them with a duration
  (else the earliest), and children hang under it; the others that have neither a
  duration nor a ``parent_span_id`` (log records carry the id of the span they were
  written in, as OTLP's do) hang under it too; the rest are kept as *duplicates*, where
  their own ``parent_span_id`` puts them, noted ``duplicate``;
- a plain event (no ``span_id``) hangs under the span its ``parent_span_id`` names when
  there is one (a name missing from the trace is noted ``orphan``); else under the
  innermost span whose interval ``[start, start + duration]`` contains its timestamp
  and whose service is the event's (an event without a service matches any span), noted
  ``by time``; else it is a root;
- roots and the children of every node are in time order.

Offsets are from the earliest timestamp in the trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from mfq.analysis.common import ParsedSelection, read_rows, resolve_selection
from mfq.errors import UsageError
from mfq.query.expr import Compare, CompareOp, Expr, Field, Literal, Or
from mfq.query.requests import Request

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mfq.query.source import QuerySource

#: SPEC's columns of ``trace``, in order; ``EXTRA_COLUMNS`` follow them.
TRACE_COLUMNS = (
    "depth",
    "span_id",
    "parent_span_id",
    "service",
    "type",
    "offset_ms",
    "duration_ms",
    "status",
)
EXTRA_COLUMNS = ("timestamp", "severity", "note", "id")
_READ = (
    "id",
    "timestamp",
    "type",
    "service",
    "status",
    "severity",
    "duration_ms",
    "span_id",
    "parent_span_id",
)


class Note(StrEnum):
    """Why a row sits where it does when its own links do not say so plainly."""

    ORPHAN = "orphan"  # parent_span_id names a span that is not in the trace
    CYCLE = "cycle"  # parent links led back to this span: the cycle was broken here
    DUPLICATE = "duplicate"  # another event with this span_id is the span
    BY_TIME = "by time"  # a plain event placed under the span that contains it in time


@dataclass
class _Node:
    """One event of the trace while its tree is being built."""

    start: int  # ns since the epoch
    end: int  # start + duration, ns (start when there is no duration)
    span_id: str | None
    parent_span_id: str | None
    service: str | None
    has_duration: bool
    parent: int | None = None  # index of the parent node
    children: list[int] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    depth: int = 0


@dataclass(frozen=True, kw_only=True)
class TraceRequest(Request):
    """``trace``: one trace's spans and events. ``trace_id``: the trace (any letter case).
    The selection says where to look in time (default: everywhere); it takes no
    filters."""

    command: ClassVar[str] = "trace"

    trace_id: str


def trace(store: QuerySource, request: TraceRequest) -> pd.DataFrame:
    """The events of trace ``trace_id`` (any letter case) as a tree in depth-first order.

    Columns: :data:`TRACE_COLUMNS` (SPEC's) then ``timestamp``, ``severity``, ``note``
    (see :class:`Note`; several join with ", ") and the event ``id``. The time range is
    unbounded unless ``since``/``until``/``last`` say otherwise. An unknown trace gives
    an empty frame with those columns.
    """
    wanted = request.trace_id.strip()
    if not wanted:
        raise UsageError("trace: the trace ID must not be empty")
    if request.selection.filters:
        raise UsageError("trace finds one trace by its ID: it takes no --where")
    selection = resolve_selection(store, replace(request.selection, unweighted=False))
    table = _read_trace(store, selection, _spellings(wanted))
    if table.num_rows == 0:
        stored = _stored_spellings(store, selection, wanted.lower())
        if stored:
            table = _read_trace(store, selection, stored)
    return trace_tree(table)


def _spellings(trace_id: str) -> list[str]:
    return list(dict.fromkeys([trace_id, trace_id.lower(), trace_id.upper()]))


def _id_filter(values: Sequence[str]) -> Expr:
    """``trace_id = a or trace_id = b ...``: equality (not ``in``) so that the scan reads
    ``trace_id`` as a dictionary; the values are AST literals, never parsed text."""
    tests = [
        Compare(op=CompareOp.EQ, left=Field(name="trace_id"), right=Literal.of(value))
        for value in values
    ]
    return tests[0] if len(tests) == 1 else Or(items=tuple(tests))


def _read_trace(store: QuerySource, selection: ParsedSelection, values: Sequence[str]) -> pa.Table:
    narrowed = ParsedSelection(selection.time, (_id_filter(values),), selection.types)
    return read_rows(store, _READ, narrowed)


def _stored_spellings(store: QuerySource, selection: ParsedSelection, lowered: str) -> list[str]:
    """Stored trace ids equal to ``lowered`` once lower-cased (the slow path: every
    distinct id in the time range is looked at, through the column's dictionaries)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = read_rows(store, ["trace_id"], selection, dictionary=["trace_id"]).column("trace_id")
    found: dict[str, None] = {}
    for chunk in ids.chunks:
        values = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
        values = pc.drop_null(values)
        matches = values.filter(pc.equal(pc.utf8_lower(values), lowered))
        found.update(dict.fromkeys(str(value) for value in matches.to_pylist()))
    return list(found)


def trace_tree(table: pa.Table) -> pd.DataFrame:
    """The events of one trace (a table with the columns ``trace`` reads: id, timestamp,
    type, service, status, severity, duration_ms, span_id, parent_span_id) as the
    ``trace`` rows."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return _empty_frame()
    starts = pc.cast(table.column("timestamp"), pa.int64()).to_pylist()
    durations = table.column("duration_ms").to_pylist()
    ids = table.column("id").to_pylist()
    nodes = [
        _Node(
            start=start,
            end=start + (round(duration * 1e6) if duration is not None and duration > 0 else 0),
            span_id=_text(span),
            parent_span_id=_text(parent),
            service=service,
            has_duration=duration is not None,
        )
        for start, duration, span, parent, service in zip(
            starts,
            durations,
            table.column("span_id").to_pylist(),
            table.column("parent_span_id").to_pylist(),
            table.column("service").to_pylist(),
            strict=True,
        )
    ]
    order = sorted(range(len(nodes)), key=lambda i: (starts[i], ids[i] or "", i))
    roots = _build_tree(nodes, order)
    rows = _depth_first(nodes, roots)
    picked = table.take(pa.array(rows, type=pa.int64())).to_pandas()
    earliest = min(starts)
    return pd.DataFrame(
        {
            "depth": pd.array([nodes[i].depth for i in rows], dtype="int64"),
            "span_id": picked["span_id"],
            "parent_span_id": picked["parent_span_id"],
            "service": picked["service"],
            "type": picked["type"],
            "offset_ms": [(starts[i] - earliest) / 1e6 for i in rows],
            "duration_ms": picked["duration_ms"].astype("float64"),
            "status": picked["status"],
            "timestamp": picked["timestamp"],
            "severity": picked["severity"],
            "note": [", ".join(nodes[i].notes) or None for i in rows],
            "id": picked["id"],
        }
    )


def _text(value: object) -> str | None:
    """A link value, or None for a missing or blank one (some exporters write "")."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "depth": pd.Series([], dtype="int64"),
            "span_id": pd.Series([], dtype="object"),
            "parent_span_id": pd.Series([], dtype="object"),
            "service": pd.Series([], dtype="object"),
            "type": pd.Series([], dtype="object"),
            "offset_ms": pd.Series([], dtype="float64"),
            "duration_ms": pd.Series([], dtype="float64"),
            "status": pd.Series([], dtype="object"),
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "severity": pd.Series([], dtype="object"),
            "note": pd.Series([], dtype="object"),
            "id": pd.Series([], dtype="object"),
        }
    )


def _build_tree(nodes: list[_Node], order: list[int]) -> list[int]:
    """Link every node to its parent (see the module's rules); the roots, in time order."""
    owner = _span_owners(nodes, order)
    spans: list[int] = []
    inside: list[int] = []
    for i in order:
        node = nodes[i]
        if node.span_id is None:
            continue
        if owner[node.span_id] == i:
            spans.append(i)
        elif not node.has_duration and node.parent_span_id is None:
            inside.append(i)  # a log record written inside the span carries its span_id
        else:
            node.notes.append(Note.DUPLICATE)
            spans.append(i)
    for i in spans:
        _link(nodes[i], owner)
    _break_cycles(nodes, spans)
    _set_depths(nodes, spans)
    for i in inside:
        span = owner[nodes[i].span_id or ""]
        nodes[i].parent, nodes[i].depth = span, nodes[span].depth + 1
    for i in order:
        if nodes[i].span_id is None:
            _place_event(nodes, i, owner, spans)
    for i in order:
        parent = nodes[i].parent
        if parent is not None:
            nodes[parent].children.append(i)  # in time order, as `order` is
    return [i for i in order if nodes[i].parent is None]


def _span_owners(nodes: list[_Node], order: list[int]) -> dict[str, int]:
    """The event that is the span of each span id: the earliest with a duration, else the
    earliest (log records carry the id of their span but have no duration)."""
    owner: dict[str, int] = {}
    for timed in (True, False):
        for i in order:
            span = nodes[i].span_id
            if span is not None and span not in owner and (nodes[i].has_duration or not timed):
                owner[span] = i
    return owner


def _link(node: _Node, owner: dict[str, int]) -> None:
    parent = node.parent_span_id
    if parent is None:
        return
    if parent not in owner:
        node.notes.append(Note.ORPHAN)
        return
    node.parent = owner[parent]


def _break_cycles(nodes: list[_Node], spans: list[int]) -> None:
    """Make the earliest member of every cycle of parent links a root."""
    children: dict[int, list[int]] = {}
    for i in spans:
        parent = nodes[i].parent
        if parent is not None:
            children.setdefault(parent, []).append(i)
    reached: set[int] = set()

    def reach(start: int) -> None:
        stack = [start]
        while stack:
            current = stack.pop()
            if current not in reached:
                reached.add(current)
                stack.extend(children.get(current, ()))

    for i in spans:
        if nodes[i].parent is None:
            reach(i)
    rank = {node: place for place, node in enumerate(spans)}
    for i in spans:
        if i in reached:
            continue
        # Not reachable from a root: the parent links from here end in a cycle.
        path: dict[int, None] = {}
        current: int | None = i
        while current is not None and current not in path:
            path[current] = None
            current = nodes[current].parent
        if current is None:  # cannot happen: a chain ending at a root was reached
            continue
        walked = list(path)
        loop = walked[walked.index(current) :]
        first = min(loop, key=rank.__getitem__)
        nodes[first].parent = None
        nodes[first].notes.append(Note.CYCLE)
        # The rest of the loop (and whatever hangs off it) now descends from `first`.
        reach(first)


def _set_depths(nodes: list[_Node], spans: list[int]) -> None:
    children: dict[int, list[int]] = {}
    for i in spans:
        parent = nodes[i].parent
        if parent is not None:
            children.setdefault(parent, []).append(i)
    stack = [(i, 0) for i in spans if nodes[i].parent is None]
    while stack:
        current, depth = stack.pop()
        nodes[current].depth = depth
        stack.extend((child, depth + 1) for child in children.get(current, ()))


def _place_event(nodes: list[_Node], i: int, owner: dict[str, int], spans: list[int]) -> None:
    """Hang a plain event under its named parent, else the innermost span around it."""
    event = nodes[i]
    if event.parent_span_id is not None and event.parent_span_id in owner:
        event.parent = owner[event.parent_span_id]
    else:
        if event.parent_span_id is not None:
            event.notes.append(Note.ORPHAN)
        best: int | None = None
        for s in spans:
            span = nodes[s]
            if not span.start <= event.start <= span.end:
                continue
            if event.service is not None and span.service != event.service:
                continue
            # Deepest wins; at equal depth the later start (the narrower context) wins,
            # and `spans` is in time order, so a later candidate replaces an earlier one.
            if best is None or span.depth >= nodes[best].depth:
                best = s
        if best is None:
            return
        event.parent = best
        event.notes.append(Note.BY_TIME)
    event.depth = nodes[event.parent].depth + 1


def _depth_first(nodes: list[_Node], roots: list[int]) -> list[int]:
    result: list[int] = []
    stack = list(reversed(roots))
    while stack:
        current = stack.pop()
        result.append(current)
        stack.extend(reversed(nodes[current].children))
    return result
