"""``mfq timeline``: an incident reconstructed from the events matching a filter.

Events are listed in time order (timestamp, then event id) with bursts collapsed:
consecutive events with the same ``type``, ``service`` and ``status``, each within
``gap`` of the previous, become one row (``time`` of the first, ``until`` of the last,
``count``). An error and a non-error never share a row, so every row is wholly an error
or not (its ``error`` column).

An event is an **error** when ``status = 'error'`` or ``severity in ('error', 'fatal')``
or ``http_status >= 500``.

Markers (the ``marker`` column; a row can carry several, joined by ", "):

- **first error** / **last error**: the first and last error of the incident. The
  incident is the stretch of events whose error ratio stands out most from the rest's:
  the maximum-scoring segment of the event sequence, where an error scores
  ``log(p_in / p_out)`` and any other event ``log((1 - p_in) / (1 - p_out))``, the two
  ratios re-estimated from the segment and the rest until the segment stops changing.
  It counts only when its log-likelihood ratio reaches ``INCIDENT_MIN_LLR + ln(events)``
  (isolated base-rate errors never do) and it is not the whole range; otherwise no
  stretch stands out and the markers are simply the first and last error in the range.
  Base-rate errors outside the incident stay in the rows (``error`` true) unmarked.
- **peak**: among the incident's errors, the minute (UTC epoch-aligned) with the most;
  the marked row is the one holding most of that minute's errors (the earliest on ties).
- **recovered**: the first non-error event after the last error.

Counts are stored events (``sample_rate`` is not applied: this is a listing, like
``mfq events``). The summary (the answer's ``summary``) holds the markers' times, the
peak's error count, time to recover (recovered − first error), events and errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from mfq.analysis.common import read_rows, resolve_selection
from mfq.analysis.defaults import TIMELINE_GAP as DEFAULT_GAP
from mfq.errors import UsageError
from mfq.query.requests import Request
from mfq.query.timerange import parse_duration

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd
    import pyarrow as pa

    from mfq.model.answer import Answer
    from mfq.query.source import QuerySource

    BoolArray = npt.NDArray[np.bool_]
    IntArray = npt.NDArray[np.int64]

#: Width of the buckets the peak is counted in.
PEAK_BUCKET = timedelta(minutes=1)
#: How much likelier (in nats, plus ln(events)) the incident's stretch must be under its
#: own error ratio than under the rest's. Random clusters of base-rate errors score about
#: 3-15 on 500 to 1,000,000 events; the demo incident scores over 100.
INCIDENT_MIN_LLR = 10.0
_MAX_ROUNDS = 20

COLUMNS = ("time", "until", "count", "type", "service", "status", "severity", "message", "marker")
EXTRA_COLUMNS = ("error",)
_READ = ("timestamp", "id", "type", "service", "status", "severity", "http_status", "message")
_SEVERITY_RANK = {"debug": 0, "info": 1, "warn": 2, "error": 3, "fatal": 4}
_UNKNOWN_SEVERITY, _NO_SEVERITY = -1, -2

FIRST_ERROR, PEAK, LAST_ERROR, RECOVERED = "first error", "peak", "last error", "recovered"
_MARKER_ORDER = (FIRST_ERROR, PEAK, LAST_ERROR, RECOVERED)


@dataclass(frozen=True)
class Episode:
    """Where the markers are: event positions in time order (``recovered`` is None when
    no event follows the last error), the peak minute's start and its error count."""

    first_error: int
    last_error: int
    recovered: int | None
    peak_bucket_ns: int
    peak_errors: int
    stands_out: bool


@dataclass(frozen=True, kw_only=True)
class TimelineRequest(Request):
    """``timeline``: the selection's events in time order, bursts collapsed.

    ``gap``: events closer than this form a burst. ``limit``: at most this many rows (the
    marker rows and the rows nearest them; the first rows when there is no error).
    """

    command: ClassVar[str] = "timeline"

    gap: str | timedelta = DEFAULT_GAP
    limit: int | None = None


def timeline(store: QuerySource, request: TimelineRequest) -> Answer:
    """The timeline rows (:data:`COLUMNS`, then ``error``) of the events matching ``where``
    in the time range, bursts within ``gap`` collapsed, with the incident's markers.

    The answer's ``summary`` is the summary and its ``total_rows`` the number of rows
    before ``limit``.
    """
    gap, limit = request.gap, request.limit
    width = parse_duration(gap, "--gap") if isinstance(gap, str) else gap
    if width < timedelta(0):
        raise UsageError("--gap must not be negative")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    # The timeline lists stored events: the selection's weighting does not apply.
    selection = resolve_selection(store, replace(request.selection, unweighted=False))
    table = read_rows(store, _READ, selection)
    return build_timeline(table, width, limit)


def build_timeline(table: pa.Table, gap: timedelta, limit: int | None = None) -> Answer:
    """The timeline of the events in ``table`` (columns as :func:`timeline` reads them)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from mfq.model.answer import answer

    if table.num_rows == 0:
        return _empty_frame()
    table = table.sort_by([("timestamp", "ascending"), ("id", "ascending")])
    times = np.asarray(pc.cast(table.column("timestamp"), pa.int64()).to_numpy(), np.int64)
    errors = error_flags(table)
    keys = [_codes(table.column(name)) for name in ("type", "service", "status")]
    starts = _burst_starts(times, errors, keys, _ns(gap))
    burst_of = np.zeros(len(times), dtype=np.int64)
    burst_of[starts[1:]] = 1
    burst_of = np.cumsum(burst_of)
    episode = find_episode(times, errors)
    rows = _rows(table, times, errors, starts, burst_of)
    total = len(rows)
    markers = [""] * total
    if episode is not None:
        peak_row = _peak_row(times, errors, burst_of, episode)
        marked = {
            FIRST_ERROR: int(burst_of[episode.first_error]),
            PEAK: peak_row,
            LAST_ERROR: int(burst_of[episode.last_error]),
        }
        if episode.recovered is not None:
            marked[RECOVERED] = int(burst_of[episode.recovered])
        for name in _MARKER_ORDER:
            if name in marked:
                row = marked[name]
                markers[row] = f"{markers[row]}, {name}" if markers[row] else name
    marker_column = pd.Series([m or None for m in markers], dtype="object")
    rows.insert(COLUMNS.index("marker"), "marker", marker_column)
    kept = _keep(total, [i for i, m in enumerate(markers) if m], limit)
    result = rows.iloc[kept].reset_index(drop=True) if kept is not None else rows
    return answer(result, summary=_summary(times, errors, episode), total_rows=total)


def _empty_frame() -> Answer:
    import numpy as np
    import pandas as pd

    from mfq.model.answer import answer

    frame = pd.DataFrame(
        {
            "time": pd.Series([], dtype="datetime64[ns, UTC]"),
            "until": pd.Series([], dtype="datetime64[ns, UTC]"),
            "count": pd.Series([], dtype="int64"),
            **{name: pd.Series([], dtype="object") for name in COLUMNS[3:]},
            "error": pd.Series([], dtype="bool"),
        }
    )
    empty = _summary(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_), None)
    return answer(frame, summary=empty, total_rows=0)


def error_flags(table: pa.Table) -> BoolArray:
    """True for the events that are errors (see the module docstring)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return np.zeros(0, dtype=np.bool_)
    status = table.column("status")
    severity = table.column("severity")
    http = table.column("http_status")
    flags = pc.fill_null(pc.equal(status, pa.scalar("error", status.type)), False)
    severe = pc.is_in(severity, value_set=pa.array(["error", "fatal"], severity.type))
    flags = pc.or_(flags, pc.fill_null(severe, False))
    if pa.types.is_integer(http.type) or pa.types.is_floating(http.type):
        flags = pc.or_(flags, pc.fill_null(pc.greater_equal(http, 500), False))
    return np.asarray(flags.to_numpy(zero_copy_only=False), dtype=np.bool_)


def _codes(column: pa.ChunkedArray) -> IntArray:
    """An integer per distinct value (nulls alike), for comparing neighbours."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=np.int64)
    encoded = pc.dictionary_encode(column.combine_chunks())
    indices = pc.fill_null(encoded.indices, -1)
    return np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def _ns(width: timedelta) -> int:
    return (width.days * 86_400 + width.seconds) * 1_000_000_000 + width.microseconds * 1000


def _burst_starts(
    times: IntArray, errors: BoolArray, keys: list[IntArray], gap_ns: int
) -> IntArray:
    """Positions of the events that start a row."""
    import numpy as np

    new = np.ones(len(times), dtype=np.bool_)
    if len(times) > 1:
        changed = np.diff(times) > gap_ns
        changed |= errors[1:] != errors[:-1]
        for codes in keys:
            changed |= codes[1:] != codes[:-1]
        new[1:] = changed
    return np.flatnonzero(new)


def find_episode(times: IntArray, errors: BoolArray) -> Episode | None:
    """The markers' event positions (see the module docstring); None without errors."""
    import numpy as np

    if not errors.any():
        return None
    segment = _standout_segment(errors)
    if segment is None:
        positions = np.flatnonzero(errors)
        first, last, stands_out = int(positions[0]), int(positions[-1]), False
    else:
        first, last = segment
        stands_out = True
    after = np.flatnonzero(~errors[last + 1 :])
    recovered = int(last + 1 + after[0]) if len(after) else None
    bucket_ns = _ns(PEAK_BUCKET)
    inside = np.flatnonzero(errors[first : last + 1]) + first
    buckets = times[inside] // bucket_ns
    values, counts = np.unique(buckets, return_counts=True)
    best = int(np.argmax(counts))  # the earliest of the busiest: np.unique sorts
    return Episode(
        first_error=first,
        last_error=last,
        recovered=recovered,
        peak_bucket_ns=int(values[best]) * bucket_ns,
        peak_errors=int(counts[best]),
        stands_out=stands_out,
    )


def _standout_segment(errors: BoolArray) -> tuple[int, int] | None:
    """The maximum-scoring stretch of events (first and last position, both errors), or
    None when no stretch's error ratio stands out from the rest's."""
    import numpy as np

    count, total_errors = len(errors), int(errors.sum())
    p_out = _ratio(total_errors, count)
    p_in = min(0.99, 4 * p_out)  # a start: errors at four times the average
    segment: tuple[int, int] | None = None
    score = 0.0
    for _ in range(_MAX_ROUNDS):
        if p_in <= p_out:
            return None
        scores = np.where(
            errors, math.log(p_in / p_out), math.log((1 - p_in) / (1 - p_out))
        ).astype(np.float64)
        found, score = _best_segment(scores)
        if found == segment:
            break
        segment = found
        inside = int(errors[found[0] : found[1] + 1].sum())
        length = found[1] - found[0] + 1
        p_in = _ratio(inside, length)
        p_out = _ratio(total_errors - inside, count - length)
    if segment is None or score < INCIDENT_MIN_LLR + math.log(count):
        return None
    if segment == (0, count - 1):
        return None  # every event is in it: there is no rest to stand out from
    return segment


def _ratio(errors: int, events: int) -> float:
    """An error ratio kept off 0 and 1 (half an event each way), so its logs are finite."""
    return (errors + 0.5) / (events + 1)


def _best_segment(scores: npt.NDArray[np.float64]) -> tuple[tuple[int, int], float]:
    """Kadane's maximum-sum contiguous segment, as (first, last) positions and its sum;
    the earliest-ending best segment, started as early as its sum allows."""
    import numpy as np

    prefix = np.concatenate([[0.0], np.cumsum(scores)])
    lowest = np.minimum.accumulate(prefix)
    gains = prefix[1:] - lowest[:-1]
    end = int(np.argmax(gains))
    start = int(np.argmin(prefix[: end + 1]))
    return (start, end), float(gains[end])


def _rows(
    table: pa.Table, times: IntArray, errors: BoolArray, starts: IntArray, burst: IntArray
) -> pd.DataFrame:
    """One row per burst (every column but ``marker``)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    count = len(times)
    ends = np.append(starts[1:], count) - 1
    order = np.arange(count)
    most_severe = np.lexsort((order, -_severity_ranks(table.column("severity")), burst))[starts]
    message_missing = table.column("message").is_null().to_numpy(zero_copy_only=False)
    first_message = np.lexsort((order, message_missing, burst))[starts]

    def pick(name: str, positions: IntArray) -> pd.Series[Any]:
        taken = table.column(name).take(pa.array(positions, type=pa.int64()))
        return pd.Series(taken.to_pandas(), dtype="object").where(taken.is_valid(), None)

    return pd.DataFrame(
        {
            "time": pd.to_datetime(times[starts], utc=True),
            "until": pd.to_datetime(times[ends], utc=True),
            "count": (ends - starts + 1).astype(np.int64),
            "type": pick("type", starts),
            "service": pick("service", starts),
            "status": pick("status", starts),
            "severity": pick("severity", most_severe),
            "message": pick("message", first_message),
            "error": errors[starts].astype(np.bool_),
        }
    )


def _severity_ranks(column: pa.ChunkedArray) -> IntArray:
    """debug < info < warn < error < fatal; other words below debug, null lowest."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        return np.full(len(column), _NO_SEVERITY, dtype=np.int64)
    encoded = pc.dictionary_encode(column.combine_chunks())
    ranks = np.array(
        [_SEVERITY_RANK.get(word, _UNKNOWN_SEVERITY) for word in encoded.dictionary.to_pylist()]
        + [_NO_SEVERITY],
        dtype=np.int64,
    )
    # A null's index becomes the extra last entry.
    indices = pc.fill_null(encoded.indices, len(ranks) - 1).to_numpy(zero_copy_only=False)
    return ranks[np.asarray(indices, dtype=np.int64)]


def _peak_row(times: IntArray, errors: BoolArray, burst_of: IntArray, episode: Episode) -> int:
    """The row holding most of the peak minute's errors (the earliest on ties)."""
    import numpy as np

    bucket_ns = _ns(PEAK_BUCKET)
    span = slice(episode.first_error, episode.last_error + 1)
    in_peak = errors[span] & (times[span] // bucket_ns * bucket_ns == episode.peak_bucket_ns)
    rows, counts = np.unique(burst_of[span][in_peak], return_counts=True)
    return int(rows[int(np.argmax(counts))])


def _keep(total: int, marked: list[int], limit: int | None) -> list[int] | None:
    """Rows to keep under ``limit``: the marked rows and those nearest them, in order
    (the first rows when nothing is marked); None to keep everything."""
    import numpy as np

    if limit is None or total <= limit:
        return None
    if not marked:
        return list(range(limit))
    positions = np.arange(total)
    distance = np.min(np.abs(positions[:, None] - np.array(marked)[None, :]), axis=1)
    nearest = np.lexsort((positions, distance))[:limit]
    return sorted(int(i) for i in nearest)


def _summary(times: IntArray, errors: BoolArray, episode: Episode | None) -> dict[str, object]:
    """The incident in one object: marker times, peak, time to recover, counts."""
    import pandas as pd

    def at(position: int | None) -> datetime | None:
        if position is None:
            return None
        moment: datetime = pd.Timestamp(int(times[position]), tz="UTC").to_pydatetime()
        return moment

    if episode is None:
        first = peak = last = recovered = None
        peak_errors = incident_errors = 0
        stands_out = False
        to_recover = None
    else:
        first, last = at(episode.first_error), at(episode.last_error)
        recovered = at(episode.recovered)
        peak = pd.Timestamp(episode.peak_bucket_ns, tz="UTC").to_pydatetime()
        peak_errors = episode.peak_errors
        incident_errors = int(errors[episode.first_error : episode.last_error + 1].sum())
        stands_out = episode.stands_out
        to_recover = (
            None
            if episode.recovered is None
            else (int(times[episode.recovered]) - int(times[episode.first_error])) / 1e6
        )
    return {
        "first_error": first,
        "peak": peak,
        "peak_errors": peak_errors,
        "last_error": last,
        "recovered": recovered,
        "time_to_recover_ms": to_recover,
        "events": len(times),
        "errors": int(errors.sum()),
        "incident_errors": incident_errors,
        "incident_stands_out": stands_out,
    }
