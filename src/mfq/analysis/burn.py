"""Incidents as multiwindow, multi-burn-rate alerts would have paged for them (Google's
SRE workbook, chapter "Alerting on SLOs").

An alert ``LONG/SHORT@RATE`` fires at the end of a bucket when the bad ratio over the last
``LONG`` and over the last ``SHORT`` are both above ``RATE`` times the error budget. The
long window makes the alert significant (a burn that lasts); the short one makes it reset
soon after the burn stops. The defaults page for a burn that would spend 2% of a 30-day
budget in an hour (``1h/5m@14.4``) or 5% in six hours (``6h/30m@6``).

A window can hold few events (two failures among seven), so each window's ratio must be
over the line with confidence: the lower end of its 95% Wilson score interval, on the
effective number of events (sampling), must lie above it, and with at most 200 events the
exact binomial test must agree (Wilson's bound is too kind to tiny counts: one failure in
one event has a lower bound of 21%, yet happens 7% of the time at a 7.2% line). Without
this, the 6h/30m pair pages for every small blip in the six hours after a large incident,
and any low-volume series pages on its first failures.

An incident is a period during which some alert fires; firing periods separated by less
than the longest short window are one incident. Its start is the first bucket of the burn
(walking back from the first firing bucket over buckets whose own ratio is over the
lowest alert line with confidence and whose neighbour's is too, through gaps shorter than
that same span, at most the longest long window), its end the end of the burn's last such
bucket (else of its first). ``detected`` is the end of the
first bucket at which an alert fired: ``detected - start`` is the time to detect, ``end -
start`` the time to recover.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING

from mfq.errors import UsageError
from mfq.query.timerange import duration_text, parse_duration

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]

_ALERT = re.compile(r"^\s*([^/@\s]+)\s*/\s*([^/@\s]+)\s*@\s*([^/@\s]+?)x?\s*$")


@dataclass(frozen=True)
class BurnAlert:
    """One window pair and its burn rate."""

    long: timedelta
    short: timedelta
    rate: float

    def __str__(self) -> str:
        return f"{duration_text(self.long)}/{duration_text(self.short)}@{self.rate:g}"

    @staticmethod
    def rate_of(text: str) -> float:
        """The burn rate of a well-formed ``LONG/SHORT@RATE`` (the defaults' check)."""
        return float(text.rsplit("@", 1)[1].rstrip("x"))


def parse_alert(text: str, allowed: float) -> BurnAlert:
    """``LONG/SHORT@RATE`` (``1h/5m@14.4``), checked against the error budget ``allowed``."""
    match = _ALERT.match(text)
    hint = "use LONG/SHORT@RATE, e.g. 1h/5m@14.4"
    if match is None:
        raise UsageError(f"--alert: bad alert {text!r} ({hint})")
    long = parse_duration(match.group(1), "--alert")
    short = parse_duration(match.group(2), "--alert")
    try:
        rate = float(match.group(3))
    except ValueError:
        raise UsageError(f"--alert: bad burn rate {match.group(3)!r} ({hint})") from None
    if not math.isfinite(rate) or rate <= 0:
        raise UsageError(f"--alert {text.strip()}: the burn rate must be a positive number")
    if short > long:
        raise UsageError(f"--alert {text.strip()}: the short window is longer than the long one")
    if rate * allowed >= 1.0:
        raise UsageError(
            f"--alert {text.strip()}: {rate:g} times the error budget ({100 * allowed:g}%) is "
            "100% or more, so it could never fire: lower the rate"
        )
    return BurnAlert(long=long, short=short, rate=rate)


def wilson_lower_bound(bad: FloatArray, events: FloatArray, confidence: float) -> FloatArray:
    """The lower end of the Wilson score interval of ``bad / events`` at two-sided
    ``confidence`` (0 where there are no events).

    Wilson's interval keeps its coverage at small counts and near 0 and 1, where the
    normal approximation's does not; it is the p whose score test just rejects.
    """
    import numpy as np

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n = np.where(events > 0, events, 1.0)
    p = np.clip(np.where(events > 0, bad / n, 0.0), 0.0, 1.0)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lower = (p + z * z / (2 * n) - spread) / (1 + z * z / n)
    # Rounding can put the bound a hair outside [0, p]; it never lies there.
    return np.where(events > 0, np.clip(lower, 0.0, p), 0.0)


#: Up to this many (effective) events a window is also judged by the exact binomial test.
EXACT_EVENTS = 200


def exact_over_line(
    bad: FloatArray, events: FloatArray, line: float, confidence: float, candidates: BoolArray
) -> BoolArray:
    """The exact one-sided binomial test where few events make Wilson's bound too kind
    (one failure in one event has a Wilson lower bound of 21%): ``bad`` of ``events`` is
    over ``line`` when seeing that many or more at ``line`` has a probability under
    ``(1 - confidence) / 2``. Only ``candidates`` with at most ``EXACT_EVENTS`` events
    are tested (the others pass: Wilson's bound is close to exact there)."""
    import numpy as np

    result = np.ones(len(bad), dtype=bool)
    alpha = (1.0 - confidence) / 2
    for index in np.flatnonzero(candidates & (events <= EXACT_EVENTS)):
        n, k = round(float(events[index])), round(float(bad[index]))
        result[index] = _upper_tail(k, n, line) < alpha
    return result


def _upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space."""
    if k <= 0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for j in range(k, n + 1):
        log_term = (
            math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
            + j * log_p + (n - j) * log_q
        )  # fmt: skip
        total += math.exp(log_term)
    return min(total, 1.0)


@dataclass(frozen=True)
class Burn:
    """One incident, as bucket indexes: the burn ``first..last`` and the first firing."""

    first: int
    last: int
    detected: int


def _window_sums(values: FloatArray, size: int) -> FloatArray:
    """The sum of the ``size`` buckets ending at each bucket (fewer at the start)."""
    import numpy as np

    total = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(1, len(values) + 1)
    return total[ends] - total[np.maximum(ends - size, 0)]


def _buckets(span: timedelta, width: timedelta) -> int:
    """A window in buckets: at least one (a window shorter than a bucket is one bucket)."""
    return max(1, math.ceil(span / width))


def firing(
    events: FloatArray,
    bad: FloatArray,
    effective: FloatArray,
    *,
    alerts: tuple[BurnAlert, ...],
    allowed: float,
    width: timedelta,
    confidence: float,
) -> BoolArray:
    """Whether some alert fires at the end of each bucket."""
    import numpy as np

    fired = np.zeros(len(events), dtype=bool)
    ratio = np.divide(bad, events, out=np.zeros(len(events)), where=events > 0)
    weighted_bad = ratio * effective  # the bad share of the evidence, as in the counts
    for alert in alerts:
        line = alert.rate * allowed
        over = np.ones(len(events), dtype=bool)
        for span in (alert.long, alert.short):
            size = _buckets(span, width)
            window_events = _window_sums(events, size)
            window_ratio = np.divide(
                _window_sums(bad, size),
                window_events,
                out=np.zeros(len(events)),
                where=window_events > 0,
            )
            window_effective = _window_sums(effective, size)
            window_bad = _window_sums(weighted_bad, size)
            lower = wilson_lower_bound(window_bad, window_effective, confidence)
            over &= (window_ratio > line) & (lower > line)
            over &= exact_over_line(window_bad, window_effective, line, confidence, over)
        fired |= over
    return fired


def find_burns(
    events: FloatArray,
    bad: FloatArray,
    effective: FloatArray,
    fired: BoolArray,
    *,
    alerts: tuple[BurnAlert, ...],
    allowed: float,
    width: timedelta,
    confidence: float,
) -> list[Burn]:
    """The incidents behind the firing buckets (module docs), oldest first."""
    import numpy as np

    if not fired.any():
        return []
    gap = _buckets(max(a.short for a in alerts), width)
    reach = _buckets(max(a.long for a in alerts), width)
    ratio = np.divide(bad, events, out=np.zeros(len(events)), where=events > 0)
    line = min(a.rate for a in alerts) * allowed
    lower = wilson_lower_bound(ratio * effective, effective, confidence)
    # Buckets are judged by Wilson alone: the exact test is too strict for a 5-minute
    # bucket's few events and would start incidents late.
    hot = (events > 0) & (ratio > line) & (lower > line)
    # A burning bucket alone, with calm on both sides, is chance more often than a burn's
    # first or last bucket: only buckets next to another burning one mark a burn's ends.
    paired = hot & (np.roll(hot, 1) | np.roll(hot, -1))
    paired[0] = hot[0] and len(hot) > 1 and bool(hot[1])
    paired[-1] = hot[-1] and len(hot) > 1 and bool(hot[-2])
    burns: list[Burn] = []
    for first_fire, last_fire in _merged_runs(fired, gap):
        first = _walk_back(paired, first_fire, gap, max(first_fire - reach + 1, 0))
        if burns and first <= burns[-1].last:
            first = burns[-1].last + 1
        last = _last_hot(paired, first, last_fire)
        burns.append(Burn(first=first, last=max(last, first), detected=first_fire))
    return burns


def _merged_runs(mask: BoolArray, gap: int) -> list[tuple[int, int]]:
    """Runs of True, those apart by fewer than ``gap`` buckets joined."""
    import numpy as np

    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    firsts = np.flatnonzero(edges == 1).tolist()
    lasts = (np.flatnonzero(edges == -1) - 1).tolist()
    merged: list[tuple[int, int]] = []
    for first, last in zip(firsts, lasts, strict=True):
        if merged and first - merged[-1][1] - 1 < gap:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def _walk_back(hot: BoolArray, start: int, gap: int, limit: int) -> int:
    """The earliest hot bucket reachable back from ``start`` through shorter gaps."""
    earliest = start
    quiet = 0
    for index in range(start, limit - 1, -1):
        if hot[index]:
            earliest, quiet = index, 0
        else:
            quiet += 1
            if quiet >= gap:
                break
    return earliest


def _last_hot(hot: BoolArray, first: int, last_fire: int) -> int:
    """The last hot bucket of the burn (the firing run can outlast it by a short window),
    else its first."""
    for index in range(last_fire, first - 1, -1):
        if hot[index]:
            return index
    return first
