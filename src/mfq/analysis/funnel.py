"""``mfq funnel``: how many journeys get through a sequence of steps, and how fast.

Counting (per key, as ``funnel_sequence`` and ClickHouse's ``windowFunnel``): every event
of a key taking step 1 starts an **attempt**. An attempt reaches step k when, after the
event that took step k-1 (later in the key's time order), an event takes step k no later
than ``within`` after the attempt's first event (exactly ``within`` later still counts).
The earliest such event is taken, which reaches at least as far as any other choice. One
event takes at most one step of an attempt. A key reaches the furthest step any of its
attempts reaches; its **attempt** is the first one that gets that far, and its times and
breakdown value come from it. With ``total``, every attempt counts, not every key.

Rows: ``number``, ``step``, ``entities`` (keys, or attempts with ``total``),
``conversion`` (from the previous step), ``from_start`` (from step 1), ``median_ms`` and
``p95_ms`` (time from the previous step's event). ``breakdown`` adds the field's value at
the attempt's first event as the first column; groups are ordered by their step-1 count,
and a ``limit`` folds the rest into ``OTHER``, then ``TOTAL`` (as ``mfq query``).
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
from mfq.query.expr.text import string_text
from mfq.query.requests import Request
from mfq.query.timerange import parse_duration

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from mfq.model.answer import Answer
    from mfq.query.source import QuerySource

    IntArray = npt.NDArray[np.int64]

COLUMNS = ("number", "step", "entities", "conversion", "from_start", "median_ms", "p95_ms")
OTHER, TOTAL = "OTHER", "TOTAL"
#: Groups a breakdown shows in tables unless told otherwise.
DEFAULT_BREAKDOWN_LIMIT = 10


@dataclass(frozen=True)
class Attempts:
    """Every attempt: its key, the row that took each step (-1: not reached), its depth."""

    key: IntArray
    #: Shape (steps, attempts).
    rows: IntArray
    #: Steps reached (1 .. number of steps).
    reached: IntArray


@dataclass(frozen=True, kw_only=True)
class FunnelRequest(Request):
    """``funnel``: how many keys take ``steps`` in order.

    ``steps``: type names or expressions, in order (two at least). ``by``: the journey
    key. ``within``: how long after the first step the last may come. ``breakdown``: one
    funnel per value of this field, with OTHER (and TOTAL with ``total``). ``limit``: at
    most this many breakdown values (for ``why``: rows).
    """

    command: ClassVar[str] = "funnel"

    steps: Sequence[str]
    by: str
    within: str | timedelta
    breakdown: str | None = None
    total: bool = False
    limit: int | None = None


def funnel(store: QuerySource, request: FunnelRequest) -> pd.DataFrame:
    """The funnel of ``steps`` (type names or expressions) by key ``by`` (module docstring)."""
    journeys, parsed, window = _prepare(store, request)
    attempts = find_attempts(journeys, parsed, window)
    chosen = attempts if request.total else best_attempts(attempts)
    return funnel_rows(journeys, parsed, chosen, request.breakdown, request.limit)


def dropped_at(store: QuerySource, request: FunnelRequest, number: int) -> pd.DataFrame:
    """The keys that reached step ``number - 1`` and not step ``number``: the key, when its
    attempt started, the step it reached last and when (``breakdown``, ``total`` and
    ``limit`` aside)."""
    import pandas as pd

    _check_number(number, len(request.steps), "--dropped-at")
    journeys, parsed, chosen = _per_key(store, request)
    picked = chosen.reached == number - 1
    first_rows = chosen.rows[0][picked]
    last_rows = chosen.rows[number - 2][picked]
    return pd.DataFrame(
        {
            request.by: journeys.key_values(first_rows),
            "started": pd.to_datetime(journeys.times[first_rows], utc=True),
            "last_step": parsed[number - 2].text,
            "reached": pd.to_datetime(journeys.times[last_rows], utc=True),
        }
    )


def why(store: QuerySource, request: FunnelRequest, number: int) -> Answer:
    """What distinguishes the keys that dropped at step ``number`` from those that took it:
    ``correlate`` between their attempts' first events (the dropped ones are the
    selection, the converted ones the baseline; ``limit`` rows at most)."""
    from mfq.analysis.correlate import CorrelateRequest, correlate
    from mfq.model.answer import answer

    _check_number(number, len(request.steps), "--why")
    journeys, _parsed, chosen = _per_key(store, request, with_ids=True)
    dropped = chosen.rows[0][chosen.reached == number - 1]
    converted = chosen.rows[0][chosen.reached >= number]
    if len(dropped) == 0 or len(converted) == 0:
        raise UsageError(
            f"--why {number}: no keys "
            f"{'dropped' if len(dropped) == 0 else 'converted'} at step {number}"
        )
    # The time range as asked; the dropped keys' first events are the filter.
    within = replace(request.selection, unweighted=False)
    compared = CorrelateRequest(
        selection=replace(within, where=_id_condition(journeys, dropped)),
        baseline=_id_condition(journeys, converted),
        limit=request.limit,
    )
    ranked = correlate(store, compared)
    # correlate's notes speak of its own options (an id list as --where and --baseline).
    kept = [note for note in ranked.notes if "high cardinality" in note]
    return answer(
        ranked,
        notes=[
            f"selection: the first events of the {len(dropped):,} keys that reached step "
            f"{number - 1} and not step {number}; baseline: of the {len(converted):,} that "
            f"took step {number}",
            *kept,
        ],
    )


def _per_key(
    store: QuerySource, request: FunnelRequest, *, with_ids: bool = False
) -> tuple[JourneyEvents, list[Step], Attempts]:
    """The events read, the steps parsed and each key's attempt."""
    only_keys = replace(request, breakdown=None)
    journeys, parsed, window = _prepare(store, only_keys, with_ids=with_ids)
    return journeys, parsed, best_attempts(find_attempts(journeys, parsed, window))


def _id_condition(journeys: JourneyEvents, rows: IntArray) -> str:
    """``id in (...)`` naming the events at ``rows``."""
    ids = journeys.column_values("id", rows)
    quoted = ", ".join(string_text(str(value)) for value in ids)
    return f"id in ({quoted})"


def _check_number(number: int, steps: int, option: str) -> None:
    if not 2 <= number <= steps:
        raise UsageError(f"{option}: a step number from 2 to {steps}")


def _prepare(
    store: QuerySource, request: FunnelRequest, *, with_ids: bool = False
) -> tuple[JourneyEvents, list[Step], int]:
    from mfq.analysis.common import resolve_selection

    steps, by, within, breakdown = request.steps, request.by, request.within, request.breakdown
    if len(steps) < 2:
        raise UsageError("funnel needs at least two steps, e.g. order.created order.paid")
    width = parse_duration(within, "--within") if isinstance(within, str) else within
    if width <= timedelta(0):
        raise UsageError("--within must be positive")
    # Journeys count stored events: the selection's weighting does not apply.
    selection = resolve_selection(store, replace(request.selection, unweighted=False))
    check_key(store, by, selection)
    if breakdown is not None:
        check_key(store, breakdown, selection, "--breakdown")
    parsed = [parse_step(store, text, selection) for text in steps]
    # Event ids only for --why, which names the first events it compares.
    ids = ["id"] if with_ids else []
    columns = [*ids, "type", *step_fields(parsed), *([breakdown] if breakdown else [])]
    journeys = read_journeys(store, by, selection, columns)
    return journeys, parsed, ns_of(width)


def find_attempts(journeys: JourneyEvents, steps: Sequence[Step], window_ns: int) -> Attempts:
    """Every attempt and how far it gets (module docstring), all attempts at once, step
    by step: the next row taking a step is found by binary search in that step's rows."""
    import numpy as np

    masks = [journeys.mask(step) for step in steps]
    starts = np.flatnonzero(masks[0])
    count = len(starts)
    rows = np.full((len(steps), count), -1, dtype=np.int64)
    rows[0] = starts
    deadline = journeys.times[starts] + window_ns
    current = starts.copy()
    alive = np.ones(count, dtype=np.bool_)
    reached = np.ones(count, dtype=np.int64)
    for number in range(1, len(steps)):
        candidates = np.flatnonzero(masks[number])
        if len(candidates) == 0 or not alive.any():
            break
        at = np.searchsorted(candidates, current[alive], side="right")
        found = at < len(candidates)
        picked = candidates[np.minimum(at, len(candidates) - 1)]
        index = np.flatnonzero(alive)
        found &= journeys.key[picked] == journeys.key[current[alive]]
        found &= journeys.times[picked] <= deadline[alive]
        taken = index[found]
        rows[number, taken] = picked[found]
        current[taken] = picked[found]
        reached[taken] = number + 1
        alive[:] = False
        alive[taken] = True
    return Attempts(journeys.key[starts], rows, reached)


def best_attempts(attempts: Attempts) -> Attempts:
    """Per key, the first attempt among those reaching furthest."""
    import numpy as np

    if len(attempts.key) == 0:
        return attempts
    order = np.lexsort((np.arange(len(attempts.key)), -attempts.reached, attempts.key))
    keys = attempts.key[order]
    first = np.ones(len(keys), dtype=np.bool_)
    first[1:] = keys[1:] != keys[:-1]
    chosen = np.sort(order[first])
    return Attempts(attempts.key[chosen], attempts.rows[:, chosen], attempts.reached[chosen])


def funnel_rows(
    journeys: JourneyEvents,
    steps: Sequence[Step],
    attempts: Attempts,
    breakdown: str | None,
    limit: int | None,
) -> pd.DataFrame:
    """The funnel table of ``attempts`` (per breakdown group, OTHER and TOTAL)."""
    import numpy as np
    import pandas as pd

    if breakdown is None:
        return _group_rows(journeys, steps, attempts, np.ones(len(attempts.key), np.bool_))
    values = pd.Series(journeys.column_values(breakdown, attempts.rows[0]), dtype="object")
    labels = values.map(lambda v: None if v is None else _label(v))
    counts = labels.value_counts(dropna=False)
    groups = sorted(
        counts.index, key=lambda g: (-int(counts[g]), g is None, "" if g is None else str(g))
    )
    shown = groups if limit is None else groups[:limit]
    frames = []
    label_array = labels.to_numpy(dtype=object)
    for group in shown:
        member = np.array([v == group if group is not None else v is None for v in label_array])
        frames.append(_with_group(breakdown, group, _group_rows(journeys, steps, attempts, member)))
    rest = groups[len(shown) :]
    if rest:
        member = np.isin(label_array, np.array(rest, dtype=object))
        frames.append(_with_group(breakdown, OTHER, _group_rows(journeys, steps, attempts, member)))
    if rest or limit is not None:
        everyone = np.ones(len(label_array), dtype=np.bool_)
        frames.append(
            _with_group(breakdown, TOTAL, _group_rows(journeys, steps, attempts, everyone))
        )
    if not frames:
        empty = _group_rows(journeys, steps, attempts, np.zeros(0, np.bool_))
        return _with_group(breakdown, None, empty).iloc[0:0]
    return pd.concat(frames, ignore_index=True)


def _label(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _with_group(name: str, value: object, frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    frame.insert(0, name, pd.Series([value] * len(frame), dtype="object"))
    return frame


def _group_rows(
    journeys: JourneyEvents,
    steps: Sequence[Step],
    attempts: Attempts,
    member: npt.NDArray[np.bool_],
) -> pd.DataFrame:
    """One row per step for the attempts in ``member``."""
    import numpy as np
    import pandas as pd

    reached = attempts.reached[member]
    rows = attempts.rows[:, member]
    start = len(reached)
    records = []
    previous = start
    for number, step in enumerate(steps, start=1):
        entities = int((reached >= number).sum())
        if number == 1:
            gaps = np.zeros(0, dtype=np.float64)
        else:
            took = reached >= number
            gaps = (
                journeys.times[rows[number - 1][took]] - journeys.times[rows[number - 2][took]]
            ) / 1e6
        records.append(
            {
                "number": number,
                "step": step.text,
                "entities": entities,
                "conversion": entities / previous if previous else None,
                "from_start": entities / start if start else None,
                "median_ms": percentile(gaps, 50),
                "p95_ms": percentile(gaps, 95),
            }
        )
        previous = entities
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    for name in ("conversion", "from_start", "median_ms", "p95_ms"):
        frame[name] = frame[name].astype("float64")
    return frame
