"""``anomalies``: time buckets (per ``by`` group) whose value departs from the expected level.

The model
    The value per bucket comes from the same time-series query as ``mfq timeseries`` (one
    aggregate, ``count`` by default, gaps filled). With at least three days of buckets that
    divide a day, each series is laid out as a days × time-of-day grid and fitted with
    Tukey's median polish (``level + day effect + time-of-day effect``): the daily cycle is
    the time-of-day effect, a quieter weekend day is its day effect, and medians keep the
    anomalies themselves from bending the fit. Shorter series are compared with the median
    of their neighbouring buckets. Non-negative values are modelled on a log scale
    (``log1p``), so "twice the usual" counts the same at night and at noon.

The score
    Counts: the exact Poisson tail probability of the count around the expected level as
    a normal score, divided by the square root of the series' overdispersion
    (quasi-Poisson); a sparse series whose median fit is 0 is judged against its mean rate.
    Other aggregates: ``(value - expected) / scale`` on the model's scale, ``scale`` the
    robust spread of the residuals (1.4826 × their median absolute deviation), residuals
    weighted by the square root of the events behind each bucket. A bucket is flagged when
    the score reaches ``threshold`` (default 4.5) and the value differs from the
    expectation by at least ``min_change`` (default 25%), so steady data stays quiet.
    Partial buckets at the open ends of a time range are never flagged.

The observed span
    Only the buckets from the first to the last event of the time range (whatever the
    filters: ``where`` picks a series, it does not say when the data was collected) are
    observations. Buckets before and after them are left out of the fit and the scores
    (and the bucket width is that of the buckets kept, as without a range). The two edge
    buckets may be partly covered: a count there can only be lower than the whole
    bucket's, so a count is flagged there upwards only; other aggregates rest on fewer
    events, which their score already weighs. So a 30-year window over a one-second
    export claims nothing, and the answer says which span was observed (``notes``;
    ``summary["observed_first"]`` and ``["observed_last"]``). A silence after the last
    event is not told from the end of the export, and is not flagged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from mfq.analysis.defaults import ANOMALY_MIN_CHANGE as DEFAULT_MIN_CHANGE
from mfq.analysis.defaults import ANOMALY_THRESHOLD as DEFAULT_THRESHOLD
from mfq.errors import UsageError
from mfq.query.expr import Aggregate, NamedAggregate
from mfq.query.requests import Request, TimeseriesRequest

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from mfq.model.answer import Answer
    from mfq.query.source import QuerySource
    from mfq.query.spec import QuerySpec

    FloatArray = npt.NDArray[np.float64]

#: Days of buckets needed before the daily cycle is modelled.
MIN_SEASONAL_DAYS = 3
#: Neighbours on each side for series too short for a daily model.
NEIGHBOURS = 6
_MAD_TO_SIGMA = 1.4826
_COUNT_FUNCS = frozenset({"count", "count_distinct"})
_DAY = timedelta(days=1)
_SIZE = "__events"
#: Buckets fitted at once by the neighbour fit (bounds its memory on long series).
_FIT_BLOCK = 65_536


@dataclass(frozen=True, kw_only=True)
class AnomaliesRequest(Request):
    """``anomalies``: time buckets (per ``by`` group) whose value departs from the
    expected level.

    ``by``: one series per value of these fields. ``agg``: the value per bucket (default
    ``count``). ``every``: the bucket width. ``top``: the largest groups only.
    ``threshold``: the robust score that flags a bucket. ``min_change``: the least
    relative change that counts. ``tz``: day buckets in this time zone. ``include_all``:
    every observed bucket with its score (for charts and tests).
    """

    command: ClassVar[str] = "anomalies"

    by: str | Sequence[str] | None = None
    agg: str | None = None
    every: str | None = None
    top: int | None = None
    threshold: float = DEFAULT_THRESHOLD
    min_change: float = DEFAULT_MIN_CHANGE
    tz: str | None = None
    include_all: bool = False


def anomalies(store: QuerySource, request: AnomaliesRequest) -> Answer:
    """Flagged buckets: ``time``, the ``by`` fields, ``value``, ``expected``, ``score``,
    ``direction`` (``up``/``down``); every bucket with ``include_all``. ``judged`` is
    False when no event matched."""
    import pandas as pd

    from mfq.model.answer import answer
    from mfq.query.build import request_spec

    if request.threshold <= 0:
        raise UsageError("--threshold must be positive")
    if request.min_change < 0:
        raise UsageError("--min-change must not be negative")
    series_request = TimeseriesRequest(
        selection=request.selection,
        by=request.by,
        aggs=[request.agg] if request.agg else None,
        every=request.every,
        top=request.top,
        tz=request.tz,
    )
    spec = request_spec(store, series_request)
    if len(spec.aggregates) != 1:
        raise UsageError("anomalies takes one aggregate (--agg)")
    aggregate = spec.aggregates[0]
    is_count = aggregate.aggregate.func in _COUNT_FUNCS
    plain_count = aggregate.aggregate.func == "count" and aggregate.aggregate.arg is None
    if not plain_count:
        # Events per bucket: a p95 of ten events is noisier than one of ten thousand; and
        # beside count(EXPR) or count_distinct, whether the filters matched any event.
        sizes = NamedAggregate(aggregate=Aggregate(func="count"), name=_SIZE)
        spec = spec.model_copy(update={"aggregates": (aggregate, sizes)})
    series = store.run(spec)
    keys = list(spec.group_by)
    value_column = aggregate.name
    columns = ["time", *keys, "value", "expected", "score", "direction"]
    if series.empty or _no_events(series, value_column if plain_count else _SIZE):
        return answer(pd.DataFrame(columns=columns), judged=False)
    width = _width(series["time"])
    open_start, open_end = spec.time.since is None, spec.time.until is None
    observed = None
    cut_start = cut_end = False
    if not (open_start and open_end):
        # (Some event is in the range: a series of none returned above, not judged.)
        observed = observed_span(store, spec)
        series, cut_start, cut_end = _within(series, observed)
        if not (cut_start or cut_end):
            observed = None
        elif series["time"].nunique() >= 2:
            # A range across a change of clocks holds a 23-hour day the data may not.
            width = _width(series["time"])
    frames = []
    groups = series.groupby(keys, dropna=False, sort=False) if keys else [((), series)]
    for key, unsorted in groups:
        rows = unsorted.sort_values("time")
        values = rows[value_column].to_numpy(dtype=float)
        sizes_in = None if is_count else rows[_SIZE].to_numpy(dtype=float)
        expected, score = score_series(values, rows["time"], width, is_count, sizes_in)
        frame = pd.DataFrame(
            {
                "time": rows["time"].to_numpy(),
                "value": values,
                "expected": expected,
                "score": score,
            }
        )
        for index, name in enumerate(keys):
            value: Any = key[index] if isinstance(key, tuple) else key
            frame.insert(1 + index, name, value)
        for position, open_here, cut_here in ((0, open_start, cut_start), (-1, open_end, cut_end)):
            if not len(frame):
                break
            index = frame.index[position]
            rising = float(frame["score"].iloc[position]) > 0
            if open_here or (cut_here and is_count and not rising):
                frame.loc[index, "score"] = float("nan")
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    result["direction"] = result["score"].map(
        lambda s: None if math.isnan(s) else ("up" if s > 0 else "down")
    )
    result["expected"] = result["expected"].round(3)
    result["score"] = result["score"].round(2)
    if not request.include_all:
        change = (result["value"] - result["expected"]).abs()
        relative = change / result["expected"].abs().where(result["expected"] != 0, 1.0)
        flagged = (result["score"].abs() >= request.threshold) & (relative >= request.min_change)
        result = result[flagged]
    result = result.sort_values(["time", *keys], kind="stable").reset_index(drop=True)
    if observed is None:
        return answer(result[columns])
    first, last = observed
    return answer(
        result[columns],
        notes=[observed_note(first, last)],
        summary={"observed_first": first, "observed_last": last},
    )


def _no_events(series: pd.DataFrame, counts: str) -> bool:
    """Whether the series' event ``counts`` are all zero: the filters matched no event in
    the range (``observed_span`` ignores them), so nothing was judged."""
    return not series[counts].to_numpy(dtype=float).any()


def observed_span(store: QuerySource, spec: QuerySpec) -> tuple[datetime, datetime] | None:
    """The first and last event time within ``spec``'s time range, whatever its filters
    (None: no events). One more scan, of the timestamps only."""
    from mfq.query.expr import Aggregate, NamedAggregate
    from mfq.query.spec import QueryKind, QuerySpec

    bounds = tuple(
        NamedAggregate(aggregate=Aggregate(func=func, field="timestamp"), name=func)
        for func in ("min", "max")
    )
    question = QuerySpec(
        kind=QueryKind.AGGREGATE,
        time=spec.time,
        aggregates=bounds,
        totals=False,
        unweighted=spec.unweighted,
        columns=("min", "max"),
    )
    row = store.run(question)
    if row.empty or row["min"].isna().iloc[0]:
        return None
    return row["min"].iloc[0].to_pydatetime(), row["max"].iloc[0].to_pydatetime()


def observed_note(first: datetime, last: datetime) -> str:
    """What a table says when the data covers less than the time range asked for."""
    return (
        f"events were recorded only from {_moment(first)} to {_moment(last)} (UTC) in the"
        " period asked for: the time before and after was not checked for anomalies, so a"
        " stop of the data after the last event is not reported"
    )


def _moment(moment: datetime) -> str:
    """``2024-01-01 15:00:00``, with milliseconds when there are any."""
    text = f"{moment:%Y-%m-%d %H:%M:%S}"
    return f"{text}.{moment.microsecond // 1000:03d}" if moment.microsecond >= 1000 else text


def _within(
    series: pd.DataFrame, observed: tuple[datetime, datetime] | None
) -> tuple[pd.DataFrame, bool, bool]:
    """The buckets from the one holding the first observed event to the one holding the
    last, and whether buckets were cut before and after them."""
    import numpy as np
    import pandas as pd

    if observed is None:
        return series.iloc[0:0], False, False
    times = series["time"].to_numpy(dtype="datetime64[ns]").astype("int64")
    starts = np.unique(times)
    first, last = (pd.Timestamp(moment).value for moment in observed)
    low = starts[max(0, int(np.searchsorted(starts, first, side="right")) - 1)]
    high = starts[max(0, int(np.searchsorted(starts, last, side="right")) - 1)]
    if low == starts[0] and high == starts[-1]:
        return series, False, False
    kept = series[(times >= low) & (times <= high)]
    return kept, bool(low != starts[0]), bool(high != starts[-1])


def _width(times: pd.Series) -> timedelta:
    import numpy as np

    distinct = np.unique(times.to_numpy(dtype="datetime64[ns]"))
    if len(distinct) < 2:
        return _DAY
    step = np.diff(distinct).min()
    return timedelta(microseconds=int(step / np.timedelta64(1, "us")))


def score_series(
    values: FloatArray,
    times: pd.Series,
    width: timedelta,
    is_count: bool,
    sizes: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Expected values and scores of one series (see the module docs). ``sizes``, the
    events behind each bucket's value, scale the noise of non-count aggregates."""
    import numpy as np

    positive = bool(np.all(values[np.isfinite(values)] >= 0))
    scaled = np.log1p(values) if positive else values.astype(float)
    per_day = _DAY / width if width <= _DAY else 0
    if per_day and float(per_day).is_integer() and len(values) >= MIN_SEASONAL_DAYS * per_day:
        fit = _seasonal_fit(scaled, times, width, int(per_day))
    else:
        fit = _neighbour_fit(scaled)
    expected = np.expm1(fit) if positive else fit
    if is_count and positive:
        return expected, _poisson_scores(values, expected, _dispersion(values, expected))
    residual = scaled - fit
    if sizes is not None:
        # Sampling error of a mean or percentile shrinks as 1/sqrt(events).
        residual = residual * np.sqrt(np.where(np.isfinite(sizes) & (sizes > 0), sizes, np.nan))
    finite = residual[np.isfinite(residual)]
    spread = _MAD_TO_SIGMA * float(np.median(np.abs(finite))) if len(finite) else 0.0
    floor = 1e-9 if not positive else 1e-3
    return expected, residual / max(spread, floor)


def _dispersion(values: FloatArray, expected: FloatArray) -> float:
    """How much more than Poisson the counts vary (quasi-Poisson; at least 1): real event
    streams come in bursts (sessions, traces), so their counts are overdispersed."""
    import numpy as np

    pearson = (values - expected) / np.sqrt(np.maximum(expected, 1.0))
    finite = pearson[np.isfinite(pearson)]
    if not len(finite):
        return 1.0
    return max(1.0, (_MAD_TO_SIGMA * float(np.median(np.abs(finite)))) ** 2)


def _poisson_scores(values: FloatArray, expected: FloatArray, dispersion: float) -> FloatArray:
    """Counts: the exact Poisson tail probability of each count around its expected level,
    as a normal score, divided by the square root of the series' overdispersion."""
    import math

    import numpy as np

    # A median fit of a sparse series is 0; "one event where there are usually none" is
    # judged against the series' mean rate instead (at most one event per bucket).
    finite = np.isfinite(values)
    floor = min(1.0, float(np.mean(values[finite]))) if finite.any() else 0.0
    rate = np.maximum(np.nan_to_num(expected, nan=floor), floor)
    scale = math.sqrt(dispersion)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (values - rate) / np.sqrt(np.maximum(rate, 1e-9)) / scale
    # Exact tails only where the quick normal approximation says the count is unusual.
    for index in np.flatnonzero(finite & (np.abs(score) >= 1.0)):
        score[index] = _poisson_z(float(values[index]), float(rate[index])) / scale
    score[~np.isfinite(values) | ~np.isfinite(expected)] = np.nan
    return score


def _poisson_z(observed: float, mean: float) -> float:
    """The normal score of an observed count's tail probability under Poisson(mean)."""
    import math

    if mean <= 0:
        return 0.0 if observed <= 0 else math.inf
    k = round(observed)
    if mean > 1000:  # normal approximation, with continuity correction
        return (k - mean + (-0.5 if k > mean else 0.5)) / math.sqrt(mean)

    def log_pmf(j: int) -> float:
        return j * math.log(mean) - mean - math.lgamma(j + 1)

    # Sum the tail on the observed side directly (1 - cdf would lose it to rounding).
    if k <= mean:
        terms = [log_pmf(j) for j in range(k + 1)]
    else:
        terms = [log_pmf(j) for j in range(k, k + 50 + int(10 * math.sqrt(k)))]
    top = max(terms)
    log_tail = min(0.0, top + math.log(sum(math.exp(v - top) for v in terms)))
    if log_tail >= math.log(0.5):
        return 0.0
    z = _normal_z(log_tail)
    return z if k > mean else -z


def _normal_z(log_tail: float) -> float:
    """The normal score whose upper tail is ``exp(log_tail)``. Below 1e-300 (a score
    of 37) from the tail's asymptotic form, ``log Q(z) = -z²/2 - log(z √(2π))``: the
    tail itself would round to nothing, and every larger count scored 37.05."""
    import math
    from statistics import NormalDist

    if log_tail > -690.0:
        return -NormalDist().inv_cdf(math.exp(log_tail))
    z = math.sqrt(-2.0 * log_tail)
    for _ in range(4):  # converges to the float's precision in a few steps
        z = math.sqrt(-2.0 * (log_tail + math.log(z * math.sqrt(2.0 * math.pi))))
    return z


def _seasonal_fit(
    scaled: FloatArray, times: pd.Series, width: timedelta, per_day: int
) -> FloatArray:
    """Median polish over a days × slots grid; the fitted value of every bucket."""
    import numpy as np

    stamps = times.to_numpy(dtype="datetime64[ns]").astype("int64")
    width_ns = int(width / timedelta(microseconds=1)) * 1000
    slots = (stamps // width_ns) % per_day
    days = stamps // (width_ns * per_day)
    days = days - days.min()
    grid = np.full((int(days.max()) + 1, per_day), np.nan)
    grid[days, slots] = scaled
    level, day_effect, slot_effect = _median_polish(grid)
    fitted: FloatArray = level + day_effect[days] + _smooth_daily(slot_effect)[slots]
    return fitted


def _smooth_daily(effect: FloatArray) -> FloatArray:
    """The time-of-day effect averaged over the neighbouring hour (circularly): with a
    week of 15-minute buckets each slot has only seven values, too few to trust alone."""
    import numpy as np

    reach = len(effect) // 48  # slots on each side within half an hour
    if reach < 1:
        return effect
    padded = np.concatenate([effect[-reach:], effect, effect[:reach]])
    window = np.ones(2 * reach + 1) / (2 * reach + 1)
    return np.convolve(padded, window, mode="valid")


def _median_polish(grid: FloatArray, iterations: int = 10) -> tuple[float, FloatArray, FloatArray]:
    import numpy as np

    residual = grid.copy()
    rows = np.zeros(grid.shape[0])
    cols = np.zeros(grid.shape[1])
    level = 0.0
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for _ in range(iterations):
                row_median = np.nan_to_num(np.nanmedian(residual, axis=1))
                residual -= row_median[:, None]
                rows += row_median
                shift = float(np.nanmedian(cols))
                cols -= shift
                level += shift
                col_median = np.nan_to_num(np.nanmedian(residual, axis=0))
                residual -= col_median[None, :]
                cols += col_median
                shift = float(np.nanmedian(rows))
                rows -= shift
                level += shift
    return level, rows, cols


def _neighbour_fit(scaled: FloatArray) -> FloatArray:
    """The median of the ``NEIGHBOURS`` buckets on each side (the bucket itself left out),
    missing and infinite values left out. Whole-array work, a block of buckets at a time:
    a series filled over a wide window (30 years of weeks, 1,565 buckets, mostly zeros)
    cost one ``numpy.median`` call per bucket before. The median is taken as ``numpy``
    takes it (the middle value, or half the sum of the two middle values), so the fit is
    the same to the bit."""
    import numpy as np

    values = np.asarray(scaled, dtype=float)
    fit = np.full(len(values), np.nan)
    if not len(values):
        return fit
    gap = np.full(NEIGHBOURS, np.nan)
    padded = np.concatenate([gap, np.where(np.isfinite(values), values, np.nan), gap])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * NEIGHBOURS + 1)
    for start in range(0, len(values), _FIT_BLOCK):
        block = windows[start : start + _FIT_BLOCK]
        around = np.sort(np.delete(block, NEIGHBOURS, axis=1), axis=1)  # missing ones last
        count = np.isfinite(around).sum(axis=1)
        rows = np.flatnonzero(count)
        low = around[rows, (count[rows] - 1) // 2]
        high = around[rows, count[rows] // 2]
        with np.errstate(over="ignore"):  # values near the float limit, as numpy.median
            fit[start + rows] = np.where(count[rows] % 2 == 1, low, (low + high) / 2)
    return fit
