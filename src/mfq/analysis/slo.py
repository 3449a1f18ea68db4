"""Service level objectives: compliance, error budget, burn rates, and the incidents that
spent the budget (with time to recover and MTTR).

An objective is a filter that marks each event good (``good``) or bad (``bad``), a
``target`` (the percentage of events that should be good) and a ``window`` of time. Every
count comes from query descriptions (:class:`~mfq.query.spec.QuerySpec`) run with
``store.run``: one ``TIMESERIES`` for the per-bucket counts, and two small ``AGGREGATE``
queries for the burn rates of the window's last hour and day, so any engine that runs
query descriptions runs SLOs unchanged. Counts weight events by ``sample_rate`` exactly
as ``count`` and ``count(EXPR)`` do.

Incidents are the periods in which a multiwindow, multi-burn-rate alert (Google's SRE
workbook, "Alerting on SLOs") would have fired: ``1h/5m@14.4`` and ``6h/30m@6`` by default,
each a pair of windows that must both burn the budget faster than the rate. See
:mod:`mfq.analysis.burn` for how firing buckets become incidents, with the time to detect
and the time to recover.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from mfq.analysis.burn import (
    BurnAlert,
    find_burns,
    firing,
    parse_alert,
    wilson_lower_bound,
)
from mfq.analysis.common import parse_expression, parse_number, resolve_selection
from mfq.analysis.defaults import SLO_DEFAULTS as DEFAULTS
from mfq.errors import UsageError
from mfq.query.expr import Aggregate, Expr, ExpressionError, Field, IsNull, NamedAggregate
from mfq.query.requests import Request
from mfq.query.spec import QueryKind, QuerySpec
from mfq.query.timerange import TimeRange, parse_duration, parse_instant

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from mfq.model.answer import Answer
    from mfq.query.source import QuerySource

    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]

SUMMARY_COLUMNS = (
    "objective",
    "target",
    "compliance",
    "budget_remaining",
    "burn_rate",
    "incidents",
    "mttr_minutes",
    "burn_rate_1d",
    "events",
    "bad",
    "window_start",
    "window_end",
    "mttd_minutes",
)
INCIDENT_COLUMNS = (
    "start",
    "end",
    "minutes",
    "events",
    "bad",
    "peak_bad_ratio",
    "detected",
    "detect_minutes",
)
__all__ = ["INCIDENT_COLUMNS", "SUMMARY_COLUMNS", "slo", "slo_incidents", "wilson_lower_bound"]


# Column names of the bucket query; the leading "__" keeps them apart from user names.
_EVENTS, _JUDGED = "__events", "__judged"
_RATE_SQUARED, _UNSAMPLED = "__rate_squared", "__unsampled"


@dataclass(frozen=True)
class Objective:
    """One objective, every option parsed and checked."""

    name: str
    #: The filter given; with ``judges_good`` it marks good events, else bad ones.
    judge: Expr
    judges_good: bool
    target: float
    #: The window: ``start`` inclusive, ``end`` exclusive (aware UTC).
    start: datetime
    end: datetime
    where: tuple[Expr, ...]
    every: timedelta
    alerts: tuple[BurnAlert, ...]
    unweighted: bool

    @property
    def allowed(self) -> float:
        """The error budget as a ratio: the share of events that may be bad."""
        return (100.0 - self.target) / 100.0  # exact for targets like 90 (1 - 0.9 is not)

    @property
    def time(self) -> TimeRange:
        """The window as a query's time range."""
        return TimeRange(since=self.start, until=self.end)


@dataclass(frozen=True, kw_only=True)
class SloRequest(Request):
    """``slo``: one objective, over the selection.

    ``good`` or ``bad``: which events meet (fail) the objective. ``target``: the
    percentage that must be good. ``window``: the compliance window. ``every``: the
    bucket width. ``alerts``: burn-rate alert rules (``LONG/SHORT@RATE``). ``name``: the
    objective's name. ``incidents``: the incidents instead of the summary (``mfq slo
    --incidents``). Defaults: :data:`DEFAULTS`.
    """

    command: ClassVar[str] = "slo"

    good: str | None = None
    bad: str | None = None
    target: float | str | None = None
    window: str | None = None
    every: str | None = None
    alerts: str | Sequence[str] | None = None
    name: str | None = None
    incidents: bool = False


def slo(store: QuerySource, request: SloRequest) -> Answer:
    """The objective's summary (:func:`slo_summary`), or with ``incidents`` its incidents
    (:func:`slo_incidents`)."""
    return slo_incidents(store, request) if request.incidents else slo_summary(store, request)


def slo_summary(store: QuerySource, request: SloRequest) -> Answer:
    """One objective's summary row: ``objective, target, compliance, budget_remaining,
    burn_rate, incidents, mttr_minutes, burn_rate_1d, events, bad, window_start,
    window_end`` (see :func:`objective` for the options).

    ``compliance`` is the percentage of good events (as ``target``); ``budget_remaining``
    the fraction of the error budget left (1 untouched, 0 spent, negative overspent);
    ``burn_rate`` and ``burn_rate_1d`` the bad ratio of the window's last hour and last day
    divided by the budget ratio (1 spends the budget exactly over the window). Ratios are
    null when there are no events to judge (and the answer's ``judged`` False).
    """
    import pandas as pd

    from mfq.model.answer import answer

    goal = objective(store, request)
    buckets = bucket_counts(store, goal)
    episodes = find_incidents(buckets, goal)
    events, bad = int(buckets["events"].sum()), int(buckets["bad"].sum())
    row = {
        "objective": goal.name,
        "target": goal.target,
        "compliance": _ratio(100.0 * (events - bad), events),
        "budget_remaining": 1.0 - _ratio(bad, events) / goal.allowed,
        "burn_rate": _burn_rate(store, goal, timedelta(hours=1)),
        "incidents": len(episodes),
        "mttr_minutes": _mean(episodes["minutes"]),
        "burn_rate_1d": _burn_rate(store, goal, timedelta(days=1)),
        "events": events,
        "bad": bad,
        "window_start": pd.Timestamp(goal.start),
        "window_end": pd.Timestamp(goal.end),
        "mttd_minutes": _mean(episodes["detect_minutes"]),
    }
    return answer(pd.DataFrame([row], columns=list(SUMMARY_COLUMNS)), judged=events > 0)


def _mean(values: pd.Series[float]) -> float:
    return float(values.mean()) if len(values) else math.nan


def slo_incidents(store: QuerySource, request: SloRequest) -> Answer:
    """The objective's incidents, oldest first: ``start, end, minutes, events, bad,
    peak_bad_ratio, detected, detect_minutes`` (``minutes`` is the time to recover,
    ``detect_minutes`` the time to detect; the options as :func:`slo`, ``incidents``
    aside)."""
    from mfq.model.answer import answer

    goal = objective(store, request)
    buckets = bucket_counts(store, goal)
    # No event in the window: no incident because nothing was judged, which the terminal
    # says as "no events match" rather than "no burn-rate alert would have fired".
    return answer(find_incidents(buckets, goal), judged=bool(buckets["events"].to_numpy().any()))


# -- options -----------------------------------------------------------------------------


def objective(store: QuerySource, request: SloRequest) -> Objective:
    """Parse and check an SLO request into an :class:`Objective`.

    Exactly one of ``good`` and ``bad`` (a filter expression); ``target`` in percent
    (0 < target < 100); the window ends at ``until``, else ``now``, else the current time,
    and starts ``window`` earlier unless ``since`` (or ``last``) says where. ``every``
    and ``alerts`` (``LONG/SHORT@RATE`` each) shape incident detection; ``where`` chooses which
    events count at all. Defaults: :data:`DEFAULTS`. Every mistake is a ``UsageError``.
    """
    good, bad, every = request.good, request.bad, request.every
    if (good is None) == (bad is None):
        raise UsageError("give exactly one of --good EXPR or --bad EXPR")
    option, text = ("--good", good) if good is not None else ("--bad", bad)
    assert text is not None
    selection = resolve_selection(store, request.selection)
    judge = _judge(store, option, text)
    target = request.target
    goal_target = parse_number(DEFAULTS.target if target is None else target, "--target")
    if not 0.0 < goal_target < 100.0:
        raise UsageError(f"--target: {goal_target:g} is not a percentage between 0 and 100")
    allowed = (100.0 - goal_target) / 100.0
    goal_alerts = burn_alerts(request.alerts, allowed)
    start, end = _window(selection.time, request.window or DEFAULTS.window, request.selection.now)
    width = parse_duration(every or DEFAULTS.every, "--every")
    if (end - start) / width > DEFAULTS.max_buckets:
        raise UsageError(
            f"--every {every or DEFAULTS.every}: more than {DEFAULTS.max_buckets:,} buckets "
            "in the window; use a wider bucket"
        )
    return Objective(
        name=request.name or f"{option[2:]}: {text.strip()}",
        judge=judge,
        judges_good=good is not None,
        target=goal_target,
        start=start,
        end=end,
        where=selection.where,
        every=width,
        alerts=goal_alerts,
        unweighted=selection.unweighted,
    )


def burn_alerts(
    alerts: str | Sequence[str] | None, allowed: float, option: str = "--alert"
) -> tuple[BurnAlert, ...]:
    """The alerts given, each checked; by default the SRE workbook's pairs that can fire
    at this budget (at a 90% target, 14.4 times the budget is more than every event)."""
    if alerts:
        texts = [alerts] if isinstance(alerts, str) else list(alerts)
        try:
            return tuple(parse_alert(text, allowed) for text in texts)
        except UsageError as err:
            raise UsageError(str(err).replace("--alert", option, 1)) from None
    usable = tuple(
        parse_alert(text, allowed)
        for text in DEFAULTS.alerts
        if BurnAlert.rate_of(text) * allowed < 1.0
    )
    if not usable:
        raise UsageError(
            f"{option}: no default alert can fire with an error budget of {100 * allowed:g}%: "
            f"give one with a lower burn rate (e.g. {option} 6h/30m@1.5)"
        )
    return usable


def _judge(store: QuerySource, option: str, text: str) -> Expr:
    try:
        return parse_expression(store, text)
    except ExpressionError as err:
        # Two expressions can be wrong here (--where too): name the one that is.
        raise UsageError(f"{option}: {err}") from None


def _window(
    selected: TimeRange, window: str, now: datetime | str | None
) -> tuple[datetime, datetime]:
    """``[since or end - window, until or now)``."""
    end = selected.until
    if end is None:
        clock = datetime.now(UTC)
        end = parse_instant(now, clock, "--now") if isinstance(now, str) else (now or clock)
    start = (
        selected.since if selected.since is not None else end - parse_duration(window, "--window")
    )
    if start >= end:
        raise UsageError("the time range is empty: --since must be before the window's end")
    return start, end


# -- counting ------------------------------------------------------------------------------


def _aggregates(goal: Objective, *, for_confidence: bool) -> tuple[NamedAggregate, ...]:
    named = [
        NamedAggregate(name=_EVENTS, aggregate=Aggregate(func="count")),
        NamedAggregate(name=_JUDGED, aggregate=Aggregate(func="count", arg=goal.judge)),
    ]
    if for_confidence and not goal.unweighted:
        # sum(sample_rate) weights each rate by itself: the sum of squared weights of the
        # sampled events; unsampled events (weight 1) add one each. See _effective_events.
        unsampled = Aggregate(func="count", arg=IsNull(operand=Field(name="sample_rate")))
        named += [
            NamedAggregate(
                name=_RATE_SQUARED, aggregate=Aggregate(func="sum", field="sample_rate")
            ),
            NamedAggregate(name=_UNSAMPLED, aggregate=unsampled),
        ]
    return tuple(named)


def bucket_spec(goal: Objective) -> QuerySpec:
    """The query description of the per-bucket counts (plain data, engine-agnostic)."""
    return QuerySpec(
        kind=QueryKind.TIMESERIES,
        time=goal.time,
        where=goal.where,
        aggregates=_aggregates(goal, for_confidence=True),
        # Buckets stay aligned to the UTC epoch whatever --tz says (it only changes how
        # times are shown): episodes are found to the bucket, not to the local day.
        every=goal.every,
        unweighted=goal.unweighted,
    )


def bucket_counts(store: QuerySource, goal: Objective) -> pd.DataFrame:
    """Per bucket of the window (empty ones included): ``time``, ``events``, ``bad``,
    ``effective`` (the events' effective sample size, see :func:`_effective_events`)."""
    import pandas as pd

    series = store.run(bucket_spec(goal))
    events = series[_EVENTS].to_numpy(dtype="int64")
    judged = series[_JUDGED].to_numpy(dtype="int64")
    return pd.DataFrame(
        {
            "time": series["time"],
            "events": events,
            "bad": events - judged if goal.judges_good else judged,
            "effective": _effective_events(series, events, goal),
        }
    )


def _effective_events(
    series: pd.DataFrame, events: npt.NDArray[np.int64], goal: Objective
) -> FloatArray:
    """Kish's effective sample size, (sum of weights)^2 / sum of squared weights.

    A sampled event stands for ``sample_rate`` events in every count, but it is still one
    observation: a bucket holding one failed event of rate 100 is not 100 failures' worth
    of evidence. Without sampling this is the event count.
    """
    import numpy as np

    weights = events.astype("float64")
    if goal.unweighted or _RATE_SQUARED not in series:
        return weights
    squared = series[_RATE_SQUARED].fillna(0).to_numpy(dtype="float64") + series[
        _UNSAMPLED
    ].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(squared > 0, weights * weights / squared, 0.0)


def _burn_rate(store: QuerySource, goal: Objective, span: timedelta) -> float:
    """The bad ratio over the window's last ``span`` divided by the budget ratio."""
    spec = QuerySpec(
        kind=QueryKind.AGGREGATE,
        time=TimeRange(since=max(goal.start, goal.end - span), until=goal.end),
        where=goal.where,
        aggregates=_aggregates(goal, for_confidence=False),
        unweighted=goal.unweighted,
    )
    row = store.run(spec).iloc[0]
    events, judged = int(row[_EVENTS]), int(row[_JUDGED])
    bad = events - judged if goal.judges_good else judged
    return _ratio(bad, events) / goal.allowed


def _ratio(numerator: float, denominator: float) -> float:
    """NaN (null in every output) when there is nothing to divide by."""
    return math.nan if denominator == 0 else numerator / denominator


# -- incidents -----------------------------------------------------------------------------


def find_incidents(buckets: pd.DataFrame, goal: Objective) -> pd.DataFrame:
    """The incidents multiwindow burn-rate alerts find in the buckets (see
    :mod:`mfq.analysis.burn`), oldest first."""
    import numpy as np
    import pandas as pd

    events = buckets["events"].to_numpy(dtype="float64")
    bad = buckets["bad"].to_numpy(dtype="float64")
    effective = buckets["effective"].to_numpy(dtype="float64")
    shape = {
        "alerts": goal.alerts,
        "allowed": goal.allowed,
        "width": goal.every,
        "confidence": DEFAULTS.confidence,
    }
    fired = firing(events, bad, effective, **shape)  # type: ignore[arg-type]
    burns = find_burns(events, bad, effective, fired, **shape)  # type: ignore[arg-type]
    if not burns:
        return _empty_incidents()
    starts, ends = _bucket_bounds(buckets, goal)
    ratio = np.divide(bad, events, out=np.zeros(len(events)), where=events > 0)
    rows = []
    for burn in burns:
        span = slice(burn.first, burn.last + 1)
        start, end, detected = starts[burn.first], ends[burn.last], ends[burn.detected]
        rows.append(
            {
                "start": pd.Timestamp(int(start), tz="UTC"),
                "end": pd.Timestamp(int(end), tz="UTC"),
                "minutes": (end - start) / 60e9,
                "events": int(events[span].sum()),
                "bad": int(bad[span].sum()),
                "peak_bad_ratio": float(ratio[span].max()),
                "detected": pd.Timestamp(int(detected), tz="UTC"),
                "detect_minutes": (detected - start) / 60e9,
            }
        )
    return pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))


def _empty_incidents() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "start": pd.Series([], dtype="datetime64[ns, UTC]"),
            "end": pd.Series([], dtype="datetime64[ns, UTC]"),
            "minutes": pd.Series([], dtype="float64"),
            "events": pd.Series([], dtype="int64"),
            "bad": pd.Series([], dtype="int64"),
            "peak_bad_ratio": pd.Series([], dtype="float64"),
            "detected": pd.Series([], dtype="datetime64[ns, UTC]"),
            "detect_minutes": pd.Series([], dtype="float64"),
        }
    )


def _bucket_bounds(
    buckets: pd.DataFrame, goal: Objective
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each bucket's first and last instant (ns), clipped to the window (its first and
    last buckets can stick out of it): a bucket ends where the next begins."""
    import numpy as np
    import pandas as pd

    labels = buckets["time"].to_numpy(dtype="datetime64[ns]").astype("int64")
    start, end = pd.Timestamp(goal.start).value, pd.Timestamp(goal.end).value
    starts = np.maximum(labels, start)
    ends = np.append(labels[1:], end)
    return starts, np.minimum(ends, end)
