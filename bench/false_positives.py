"""False-positive rates of ``anomalies``, ``slo`` and ``report`` on stationary data, and
how often planted effects are found, over many seeds.

    .venv/bin/python bench/false_positives.py              # 20 seeds
    .venv/bin/python bench/false_positives.py --seeds 50 --json

Each seed is a week of the stationary generator of the tests (``tests/stationary.py``:
12 services from 100 events an hour down to one every two hours, a daily cycle, Poisson
counts, one failure in 1,000 against a 99.5% target), ingested into a new store:

- anomalies: hourly buckets flagged per service, for all events and for errors (12 x 168
  buckets each), as a share of the buckets looked at;
- slo: incidents per objective-week (all events, then one objective per service);
- report: incidents and anomalies in ``mfq report --week 2026-W47``.

With ``--planted`` other seeds get the two-hour burn and the one-hour spike too, and the
script counts how often each is found: the burn as exactly one incident of the objective
scoped to its service and region (and how often its start and end are within 30 minutes
of the planted ones), the spike's hour flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from mfq.api import Selection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import stationary  # noqa: E402

import mfq  # noqa: E402

BAD = "status = 'error'"
SINCE = stationary.START.isoformat()
UNTIL = (stationary.START + timedelta(days=7)).isoformat()


def _store(root: Path, seed: int, planted: bool) -> mfq.Store:
    plants = (stationary.BURN, stationary.SPIKE) if planted else ()
    store = mfq.open_store(root / f"store-{seed}", create=True)
    store.ingest([stationary.write(root / f"week-{seed}.ndjson", seed, plants=plants)])
    return store


def _null_counts(store: mfq.Store) -> dict[str, int]:
    window = Selection(since=SINCE, until=UNTIL)
    volume = store.anomalies(window, every="1h", by="service")
    errors = store.anomalies(window.narrowed(BAD), every="1h", by="service")
    scopes = [[], *([f"service = '{s}'"] for s in stationary.RATES)]
    incidents = sum(
        int(
            store.slo(Selection(where=where, since=SINCE, until=UNTIL), bad=BAD).iloc[0][
                "incidents"
            ]
        )
        for where in scopes
    )
    report = store.report(week="2026-W47")
    slo = report.section("slo").table("slo").frame
    flagged = report.section("anomalies").tables
    return {
        "anomaly_buckets": 2 * len(stationary.RATES) * 7 * 24,
        "anomalies": len(volume) + len(errors),
        "objectives": len(scopes),
        "slo_incidents": incidents,
        "report_incidents": int(slo["incidents"].sum()),
        "report_anomalies": sum(len(t.frame) for t in flagged if t.key == "anomalies"),
    }


def _planted_found(store: mfq.Store) -> dict[str, int]:
    burn, spike = stationary.BURN, stationary.SPIKE
    where = f"service = '{burn.service}' and region = '{burn.region}'"
    incidents = store.slo(Selection(where=where, since=SINCE, until=UNTIL), bad=BAD, incidents=True)
    end = burn.start + timedelta(hours=burn.hours)
    overlapping = (incidents["start"] < end) & (incidents["end"] > burn.start)
    one = len(incidents) == 1 and bool(overlapping.all())
    close = False
    if one:
        start_error = abs(incidents["start"].iloc[0] - burn.start)
        end_error = abs(incidents["end"].iloc[0] - end)
        close = bool(max(start_error, end_error) <= timedelta(minutes=30))
    volume = store.anomalies(Selection(since=SINCE, until=UNTIL), by="service", every="1h")
    hit = volume[(volume["service"] == spike.service) & (volume["time"] == spike.start)]
    return {
        "burn_one_incident": int(one),
        "burn_bounds_within_30m": int(close),
        "spike_flagged": int(len(hit) > 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--planted", action="store_true", help="also count planted effects found")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    totals: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="mfq-fp-") as scratch:
        for seed in range(1, args.seeds + 1):
            store = _store(Path(scratch), seed, planted=False)
            counts = _null_counts(store)
            if args.planted:
                counts.update(_planted_found(_store(Path(scratch), 1000 + seed, planted=True)))
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            print(f"seed {seed}: {counts}", file=sys.stderr)
    rates = {
        "seeds": args.seeds,
        "anomaly_false_positive_rate": totals["anomalies"] / totals["anomaly_buckets"],
        "slo_incidents_per_objective_week": totals["slo_incidents"] / totals["objectives"],
        "report_incidents_per_week": totals["report_incidents"] / args.seeds,
        "report_anomalies_per_week": totals["report_anomalies"] / args.seeds,
    }
    if args.planted:
        rates["burn_found_as_one_incident"] = totals["burn_one_incident"] / args.seeds
        rates["burn_bounds_within_30m"] = totals["burn_bounds_within_30m"] / args.seeds
        rates["spike_found"] = totals["spike_flagged"] / args.seeds
    if args.json:
        print(json.dumps({**rates, "totals": totals}, indent=2))
        return
    for key, value in rates.items():
        print(f"{key:36} {value:.5g}")


if __name__ == "__main__":
    main()
