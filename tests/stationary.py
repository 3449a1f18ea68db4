"""Stationary event streams with nothing wrong in them (and, on request, one planted
effect): the null data on which ``anomalies``, ``slo`` and ``report`` should flag nothing.

Independent of ``mfq.demo``: every service emits events as a Poisson process whose rate
follows a daily cycle (a sine, trough at 04:00 UTC, peak at 16:00, peak/trough = 3),
including low-volume services (a few events an hour). Each event fails independently with
a fixed probability well inside the SLO budget; durations are log-normal per service. No
weekly cycle, no bursts, no trend.

Planted effects (each of moderate size):

- ``burn``: in one service and one region, 30% of events fail for two hours;
- ``spike``: one service's volume is three times its rate for one hour;
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

START = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
REGIONS = ("eu-west-1", "us-east-1", "ap-south-1")
#: Events per hour at the daily mean, per service: busy ones down to a trickle.
RATES = {
    "checkout": 100.0,
    "search": 80.0,
    "catalog": 50.0,
    "payments": 120.0,
    "auth": 30.0,
    "email": 15.0,
    "reports": 12.0,
    "export": 8.0,
    "billing": 4.0,
    "admin": 2.0,
    "audit": 1.0,
    "backup": 0.5,
}
#: Every event fails with this probability: a fifth of a 99.5% target's budget.
ERROR_PROBABILITY = 0.001
DAILY_AMPLITUDE = 0.5  # rate x (1 + 0.5 sin): peak/trough = 3


@dataclass(frozen=True)
class Plant:
    """One planted effect: which, where, when."""

    kind: str  # "burn" or "spike"
    service: str
    region: str | None
    start: datetime
    hours: float = 2.0

    def covers(self, moment: datetime) -> bool:
        """True when ``moment`` falls in the planted window."""
        return self.start <= moment < self.start + timedelta(hours=self.hours)


BURN = Plant("burn", "payments", "eu-west-1", START + timedelta(days=4, hours=13), hours=2.0)
SPIKE = Plant("spike", "search", None, START + timedelta(days=5, hours=10), hours=1.0)


def _rate(hours: np.ndarray) -> np.ndarray:
    return 1.0 + DAILY_AMPLITUDE * np.sin(2 * math.pi * (hours - 10.0) / 24.0)


def columns(seed: int, *, days: int = 7, plants: tuple[Plant, ...] = ()) -> dict[str, np.ndarray]:
    """The events of ``days`` days from ``START`` as columns (numpy arrays)."""
    rng = np.random.default_rng(seed)
    minutes = days * 24 * 60
    starts = np.arange(minutes) / 60.0  # hours since START, per minute
    parts: list[dict[str, np.ndarray]] = []
    for index, (service, hourly) in enumerate(RATES.items()):
        rate = hourly / 60.0 * _rate(starts % 24.0)
        for plant in plants:
            if plant.kind == "spike" and plant.service == service:
                rate = np.where(_window(plant, starts), rate * 3.0, rate)
        counts = rng.poisson(rate)
        total = int(counts.sum())
        minute = np.repeat(np.arange(minutes), counts)
        seconds = minute * 60.0 + rng.uniform(0, 60, total)
        regions = rng.choice(len(REGIONS), total)
        fails = rng.random(total) < ERROR_PROBABILITY
        for plant in plants:
            if plant.kind == "burn" and plant.service == service:
                hit = _window(plant, seconds / 3600.0)
                hit &= regions == REGIONS.index(plant.region or "")
                fails = np.where(hit, rng.random(total) < 0.3, fails)
        parts.append(
            {
                "service": np.full(total, service),
                "seconds": seconds,
                "region": np.asarray(REGIONS)[regions],
                "status": np.where(fails, "error", "ok"),
                "duration_ms": rng.lognormal(math.log(40 + 10 * index), 0.5, total).round(3),
            }
        )
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _window(plant: Plant, hours: np.ndarray) -> np.ndarray:
    offset = (plant.start - START).total_seconds() / 3600.0
    return (hours >= offset) & (hours < offset + plant.hours)


def write(path: Path, seed: int, *, days: int = 7, plants: tuple[Plant, ...] = ()) -> Path:
    """The events as NDJSON at ``path`` (every value is plain ASCII: no escaping needed)."""
    data = columns(seed, days=days, plants=plants)
    base = np.datetime64(START.replace(tzinfo=None), "us")
    times = np.datetime_as_string(base + (data["seconds"] * 1e6).astype("timedelta64[us]"))
    with path.open("w", encoding="utf-8") as handle:
        for i in range(len(times)):
            service = data["service"][i]
            handle.write(
                f'{{"id": "{seed}-{i}", "type": "{service}.request", '
                f'"timestamp": "{times[i]}Z", "service": "{service}", '
                f'"region": "{data["region"][i]}", "status": "{data["status"][i]}", '
                f'"duration_ms": {data["duration_ms"][i]}}}\n'
            )
    return path


def one_second_burst(field: str) -> list[dict[str, str]]:
    """Fourteen events within one second (like the 50 GitHub events of ``real/gharchive``):
    twelve values of ``field``, two of them with two events. Nothing in it is anomalous,
    over any window around it."""
    return [
        {
            "id": str(i),
            "type": "push",
            field: f"{field[0]}{i if i < 12 else i - 12}",
            "timestamp": f"2024-01-01T15:00:00.{i:02d}0Z",
        }
        for i in range(14)
    ]


#: A short scripted session (like ``real/k8s-audit``: a 34-minute demo whose actions come
#: in bursts, no events between them): when it starts, how long it lasts, its actions.
BURSTY_START = datetime(2017, 9, 11, 19, 55, tzinfo=UTC)
BURSTY_MINUTES = 34
BURSTY_ACTIONS = ("create roles", "get roles", "delete roles", "patch rolebindings", "get pods")


def bursty_session(seed: int, *, bursts: int = 10, big: int = 0) -> list[dict[str, str]]:
    """``bursts`` bursts at random times of the session, each one action repeated 20 to
    250 times over 5 to 90 seconds, nothing in between: no effect, only bursts. With
    ``big``, one more burst of that many events within ten seconds at the 20th minute
    (``BURSTY_BIG``), far above the others."""
    rng = np.random.default_rng(seed)
    span = BURSTY_MINUTES * 60.0
    rows: list[dict[str, str]] = []
    planned = [
        (float(rng.uniform(0, span - 90)), float(rng.uniform(5, 90)), int(rng.integers(20, 251)))
        for _ in range(bursts)
    ]
    if big:
        planned.append(((BURSTY_BIG - BURSTY_START).total_seconds(), 10.0, big))
    # The session's first and last moments, so every question observes the same span.
    moments = [(0.0, BURSTY_ACTIONS[0]), (span, BURSTY_ACTIONS[0])]
    for start, length, count in planned:
        action = BURSTY_ACTIONS[int(rng.integers(len(BURSTY_ACTIONS)))]
        moments += [(start + float(t), action) for t in rng.uniform(0, length, size=count)]
    for index, (offset, action) in enumerate(sorted(moments)):
        moment = BURSTY_START + timedelta(seconds=offset)
        rows.append(
            {
                "id": f"b{index}",
                "type": action,
                "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
        )
    return rows


#: When ``bursty_session``'s big burst starts.
BURSTY_BIG = BURSTY_START + timedelta(minutes=20, seconds=5)
