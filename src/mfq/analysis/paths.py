"""``mfq paths``: the most common sequences of event types after (or before) a step.

For each key whose events take the step, its **first** event taking it is the anchor;
the path is the types of the next ``steps`` events of that key (with ``before``: the
``steps`` events before the anchor, in time order). A journey that stops sooner ends
its path with ``(end)`` (before: begins it with ``(start)``). ``count`` is the keys
following the path, ``share`` their share of all keys that took the step. Paths are
ordered by count (then text); ``limit`` keeps that many and adds ``OTHER`` (the rest)
and ``TOTAL`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from mfq.analysis.journeys import (
    JourneyEvents,
    check_key,
    parse_step,
    read_journeys,
    step_fields,
)
from mfq.errors import UsageError
from mfq.query.requests import Request

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from mfq.model.answer import Answer
    from mfq.query.source import QuerySource

    IntArray = npt.NDArray[np.int64]

END, START = "(end)", "(start)"
ARROW = " → "
OTHER, TOTAL = "OTHER", "TOTAL"
COLUMNS = ("path", "count", "share")


@dataclass(frozen=True, kw_only=True)
class PathsRequest(Request):
    """``paths``: the most common sequences of types after (or before) a step.

    ``by``: the journey key. ``after`` / ``before``: the step's filter (one of them).
    ``steps``: how many steps each path has. ``limit``: at most this many paths.
    """

    command: ClassVar[str] = "paths"

    by: str
    after: str | None = None
    before: str | None = None
    steps: int = 3
    limit: int | None = None


def paths(store: QuerySource, request: PathsRequest) -> Answer:
    """The paths after ``after`` (or before ``before``) by key ``by`` (module docstring)."""
    import numpy as np
    import pandas as pd

    from mfq.analysis.common import resolve_selection
    from mfq.model.answer import answer

    by, after, before = request.by, request.after, request.before
    steps, limit = request.steps, request.limit
    if (after is None) == (before is None):
        raise UsageError("paths needs one of --after STEP or --before STEP")
    if steps < 1:
        raise UsageError("--steps must be at least 1")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    # Journeys count stored events: the selection's weighting does not apply.
    selection = resolve_selection(store, replace(request.selection, unweighted=False))
    check_key(store, by, selection)
    anchor_text = after if after is not None else before
    assert anchor_text is not None
    anchor = parse_step(store, anchor_text, selection, "--after" if after else "--before")
    journeys = read_journeys(store, by, selection, ["type", *step_fields([anchor])])
    matched = journeys.mask(anchor)
    firsts = journeys.firsts()
    # The first matching row of each key: a match whose key has no earlier match.
    seen_before: IntArray = np.cumsum(matched) - matched
    key_start = np.maximum.accumulate(np.where(firsts, np.arange(len(firsts)), 0))
    anchors = np.flatnonzero(matched & (seen_before == seen_before[key_start]))
    sequences = _sequences(journeys, anchors, steps, forward=after is not None)
    total = len(anchors)
    ordered = sorted(sequences.items(), key=lambda item: (-item[1], item[0]))
    records = [{"path": ARROW.join(path), "count": n, "share": n / total} for path, n in ordered]
    if limit is not None and len(records) > limit:
        rest = sum(r["count"] for r in records[limit:])  # type: ignore[misc]
        records = records[:limit]
        records.append({"path": OTHER, "count": rest, "share": rest / total})
        records.append({"path": TOTAL, "count": total, "share": 1.0})
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    frame["count"] = frame["count"].astype("int64")
    frame["share"] = frame["share"].astype("float64")
    return answer(frame, key_count=total)


def _sequences(
    journeys: JourneyEvents, anchors: IntArray, steps: int, *, forward: bool
) -> dict[tuple[str, ...], int]:
    """How many anchors each sequence of types follows (or precedes)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    column = journeys.table.column("type").combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    encoded = pc.dictionary_encode(column)
    names = [str(name) for name in encoded.dictionary.to_pylist()] + ["(none)"]
    codes = np.asarray(
        pc.fill_null(encoded.indices, len(names) - 1).to_numpy(zero_copy_only=False), np.int64
    )
    offsets = np.arange(1, steps + 1) * (1 if forward else -1)
    at = anchors[:, None] + offsets[None, :]
    inside = (at >= 0) & (at < len(codes))
    clipped = np.clip(at, 0, max(len(codes) - 1, 0))
    inside &= journeys.key[clipped] == journeys.key[anchors][:, None]
    inside = np.logical_and.accumulate(inside, axis=1)
    matrix = np.where(inside, codes[clipped], -1)
    unique, counts = np.unique(matrix, axis=0, return_counts=True)
    sequences: dict[tuple[str, ...], int] = {}
    for row, count in zip(unique.tolist(), counts.tolist(), strict=True):
        found = [names[code] for code in row if code >= 0]
        if len(found) < steps:
            found.append(END if forward else START)
        sequences[tuple(found if forward else reversed(found))] = int(count)
    return sequences
