"""``changes``: releases inferred from the data. Each value of a field (``version``) per
group (``service``, ``region``): when it was first and last seen, its events, and the bad
ratio before and after it arrived, classified as a rollout, a rollback, retired or steady.

Definitions (each value ``v`` of a group, in the selection's time range)
    *before* is the group's events of other values in the stretch of time right before
    ``v``'s first event, as long as ``v``'s own presence (``last - first``, at least
    ``MIN_SPAN``); *after* is ``v``'s events. Their bad ratios are compared with the
    two-proportion test correlate ranks by (``z``; ``shift`` says ``worse`` or ``better``
    when the 99% interval of the difference leaves out zero).
    ``v`` *appeared* when the group had at least ``MIN_EVENTS`` events of other values
    before its first event, and *vanished* when it had as many after its last. A value that
    appeared and vanished, and gave way to a value seen before it arrived, was rolled back
    (``rollback``: it arrived at ``first_seen`` and left at ``last_seen``); one that
    appeared otherwise is a ``rollout``; one that vanished without appearing was
    ``retired``; the rest are ``steady``.
Markers
    Events matching ``markers`` (``type = 'deploy'``) are changes too (``kind =
    'marker'``), named by their value of the field (else their type), within the group of
    their own values of the ``by`` fields: before and after are the group's events in the
    ``MARKER_WINDOW`` on either side. They are left out of the inferred changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from mfq.analysis.common import ParsedSelection, parse_expression, require_field, resolve_selection
from mfq.analysis.proportions import two_proportions
from mfq.errors import UsageError
from mfq.query.requests import Request

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from mfq.model.answer import Answer
    from mfq.query.expr import Expr
    from mfq.query.source import QuerySource

DEFAULT_FIELD = "version"
DEFAULT_BY = ("service", "region")
DEFAULT_BAD = "status = 'error'"
#: Events of other values a group needs before (after) a value for it to have appeared
#: (vanished): one stray event is not a release.
MIN_EVENTS = 3
#: The shortest stretch compared before a value that was seen only briefly.
MIN_SPAN_NS = 60 * 1_000_000_000
#: Before and after a marker event.
MARKER_WINDOW_NS = 3600 * 1_000_000_000

KINDS = ("rollout", "rollback", "retired", "steady", "marker")


@dataclass(frozen=True, kw_only=True)
class ChangesRequest(Request):
    """``changes``: releases inferred from ``field`` per group.

    ``field``: the field whose values are releases. ``by``: the groups (default: service
    and region, those the store has). ``bad``: the bad events (default
    ``status = 'error'``). ``markers``: events that are changes too.
    """

    command: ClassVar[str] = "changes"

    field: str = DEFAULT_FIELD
    by: Sequence[str] | None = None  # None: those of DEFAULT_BY the store has
    bad: str | None = None
    markers: str | None = None


def change_columns(field: str, by: Sequence[str]) -> list[str]:
    """The output columns: the groups, the value, then what happened."""
    return [
        *by,
        field,
        "kind",
        "first_seen",
        "last_seen",
        "events",
        "previous",
        "events_before",
        "bad_before",
        "bad_ratio_before",
        "events_after",
        "bad_after",
        "bad_ratio_after",
        "z",
        "shift",
    ]


def changes(store: QuerySource, request: ChangesRequest) -> Answer:
    """Every value of ``request.field`` per group, with its change (module docs), in
    order of first appearance."""
    import pandas as pd

    from mfq.model.answer import answer

    selection = resolve_selection(store, request.selection)
    by = _by_fields(store, selection, request)
    field = request.field
    require_field(store, selection, field)
    bad = parse_expression(store, request.bad or DEFAULT_BAD, selection.types)
    marker = parse_expression(store, request.markers, selection.types) if request.markers else None
    events = _read(store, selection, field, by, bad, marker)
    columns = change_columns(field, by)
    rows = _inferred(events[~events["_marker"]], field, by)
    if marker is not None:
        rows += _markers(events, field, by)
    frame = pd.DataFrame.from_records(rows, columns=columns)
    if not len(frame):
        return answer(frame, judged=bool(len(events)))
    for column in ("first_seen", "last_seen"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = frame.sort_values(["first_seen", *by, field], kind="stable")
    return answer(frame.reset_index(drop=True))


def _by_fields(
    store: QuerySource, selection: ParsedSelection, options: ChangesRequest
) -> list[str]:
    if options.by is None:
        return [name for name in DEFAULT_BY if name in selection.types]
    for name in options.by:
        require_field(store, selection, name)
    if options.field in options.by:
        raise UsageError(f"--by: {options.field!r} is the field whose changes are listed")
    return list(options.by)


def _read(
    store: QuerySource,
    selection: ParsedSelection,
    field: str,
    by: list[str],
    bad: Expr,
    marker: Expr | None,
) -> pd.DataFrame:
    """The selection's events (and the markers, wherever they are): time, groups, value,
    type, weight, whether bad and whether a marker."""
    from mfq.analysis.common import read_rows
    from mfq.query.expr import Or, referenced_fields

    wanted = ["timestamp", field, *by, *sorted(referenced_fields(bad))]
    if marker is not None:
        wanted += ["type", *sorted(referenced_fields(marker))]
    if not selection.unweighted:
        wanted.append("sample_rate")
    columns = list(dict.fromkeys(wanted))
    table = read_rows(store, columns, selection, dictionary=[field, *by])
    if marker is not None and selection.where:
        # Markers are found over the whole range, whatever --where keeps.
        everywhere = ParsedSelection(
            selection.time, (Or(items=(*selection.where, marker)),), selection.types
        )
        table = read_rows(store, columns, everywhere, dictionary=[field, *by])
    return _frame(table, field, by, bad, marker, weighted=not selection.unweighted)


def _frame(
    table: pa.Table, field: str, by: list[str], bad: Expr, marker: Expr | None, *, weighted: bool
) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc

    frame_columns: dict[str, pa.ChunkedArray | pa.Array] = {
        "_ns": table.column("timestamp").cast(pa.int64()),
        "_bad": _holds(table, bad),
        "_marker": _holds(table, marker)
        if marker is not None
        else pa.repeat(False, table.num_rows),
        "_weight": (
            pc.coalesce(table.column("sample_rate").cast(pa.float64()), 1.0)
            if weighted
            else pa.repeat(1.0, table.num_rows)
        ),
    }
    if marker is not None:
        frame_columns["_type"] = table.column("type").cast(pa.string())
    for name in dict.fromkeys([field, *by]):
        # Values as categories (their text, dictionary-encoded): a row holds a code, not a
        # Python string, so a million events take megabytes rather than hundreds of them.
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(pa.string())
        text = column if pa.types.is_string(column.type) else column.cast(pa.string())
        frame_columns[name] = text.dictionary_encode()
    frame: pd.DataFrame = pa.table(frame_columns).to_pandas()
    return frame.sort_values("_ns", kind="stable").reset_index(drop=True)


def _holds(table: pa.Table, expr: Expr) -> pa.Array:
    """Where ``expr`` is true, row by row (null is not true)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from mfq.query.compile import compile_filter

    computed = ds.dataset(table).to_table(columns={"_v": compile_filter(expr, table.schema)})
    values = computed.column("_v")
    if not len(values):
        return pa.array([], pa.bool_())
    return pc.fill_null(values, False).combine_chunks()


def _groups(events: pd.DataFrame, by: list[str]) -> list[tuple[tuple[object, ...], pd.DataFrame]]:
    if not by:
        return [((), events)]
    found = []
    # observed: the groups that hold events, not every combination of the categories.
    for key, rows in events.groupby(by, sort=True, dropna=False, observed=True):
        found.append((key if isinstance(key, tuple) else (key,), rows))
    return found


def _inferred(events: pd.DataFrame, field: str, by: list[str]) -> list[dict[str, object]]:
    """One row per value per group (the module docs' definitions)."""
    rows: list[dict[str, object]] = []
    events = events[events[field].notna()]
    for key, group in _groups(events, by):
        ns = group["_ns"].to_numpy()
        values = group[field].to_numpy(dtype=object)
        weight = group["_weight"].to_numpy(dtype=float)
        bad = group["_bad"].to_numpy(dtype=bool)
        firsts = {value: ns[values == value].min() for value in set(values)}
        for value in sorted(firsts, key=lambda v: (firsts[v], str(v))):
            mine = values == value
            rows.append(
                {
                    **dict(zip(by, key, strict=True)),
                    field: value,
                    **_value_change(ns, values, weight, bad, mine, firsts),
                }
            )
    return rows


def _value_change(
    ns: np.ndarray,
    values: np.ndarray,
    weight: np.ndarray,
    bad: np.ndarray,
    mine: np.ndarray,
    firsts: dict[object, int],
) -> dict[str, object]:
    first, last = int(ns[mine].min()), int(ns[mine].max())
    others = ~mine
    appeared = int((others & (ns < first)).sum()) >= MIN_EVENTS
    later = others & (ns > last)
    vanished = int(later.sum()) >= MIN_EVENTS
    span = max(last - first, MIN_SPAN_NS)
    before = others & (ns >= first - span) & (ns < first)
    kind = "steady"
    if appeared and vanished and firsts[_most_common(values[later], weight[later])] < first:
        kind = "rollback"
    elif appeared:
        kind = "rollout"
    elif vanished:
        kind = "retired"
    return {
        "kind": kind,
        "first_seen": first,
        "last_seen": last,
        "events": float(weight[mine].sum()),
        "previous": _most_common(values[before], weight[before]) if before.any() else None,
        **_compare(weight, bad, before, mine),
    }


def _most_common(values: np.ndarray, weight: np.ndarray) -> object:
    totals: dict[object, float] = {}
    for value, w in zip(values, weight, strict=True):
        totals[value] = totals.get(value, 0.0) + float(w)
    return max(sorted(totals, key=str), key=lambda v: totals[v])


def _compare(
    weight: np.ndarray, bad: np.ndarray, before: np.ndarray, after: np.ndarray
) -> dict[str, object]:
    """Events, bad events and bad ratio before and after, and the test between them."""
    n_before, n_after = float(weight[before].sum()), float(weight[after].sum())
    bad_before = float(weight[before & bad].sum())
    bad_after = float(weight[after & bad].sum())
    shift = two_proportions(bad_after, n_after, bad_before, n_before)
    verdict = None
    if shift is not None and shift.significant:
        verdict = "worse" if shift.lower > 0 else "better"
    return {
        "events_before": n_before,
        "bad_before": bad_before,
        "bad_ratio_before": round(bad_before / n_before, 6) if n_before else None,
        "events_after": n_after,
        "bad_after": bad_after,
        "bad_ratio_after": round(bad_after / n_after, 6) if n_after else None,
        "z": None if shift is None else round(shift.z, 3),
        "shift": verdict,
    }


def present(value: object) -> bool:
    """Not None and not NaN (a missing value in a pandas row)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _markers(events: pd.DataFrame, field: str, by: list[str]) -> list[dict[str, object]]:
    """One row per marker event: the group's events an hour either side of it."""
    import numpy as np

    rows: list[dict[str, object]] = []
    ordinary = events[~events["_marker"]]
    ns = ordinary["_ns"].to_numpy()
    weight = ordinary["_weight"].to_numpy(dtype=float)
    bad = ordinary["_bad"].to_numpy(dtype=bool)
    for record in events[events["_marker"]].to_dict("records"):
        at = int(record["_ns"])
        scope = np.ones(len(ordinary), dtype=bool)
        for name in by:
            value = record.get(name)
            if present(value):
                scope &= ordinary[name].to_numpy(dtype=object) == value
        before = scope & (ns >= at - MARKER_WINDOW_NS) & (ns < at)
        after = scope & (ns >= at) & (ns < at + MARKER_WINDOW_NS)
        named = record.get(field)
        rows.append(
            {
                **{name: record.get(name) for name in by},
                field: named if present(named) else record.get("_type"),
                "kind": "marker",
                "first_seen": at,
                "last_seen": at,
                "events": 1.0,
                "previous": None,
                **_compare(weight, bad, before, after),
            }
        )
    return rows
