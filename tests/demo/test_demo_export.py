"""The demo export's shape: deterministic, sorted, unique, realistic, and matching its truth."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

import mfq.demo
from mfq.demo import DemoConfig, generate_records, write_export, write_ndjson
from tests.demo.exports import Export, parse_time

SMALL = DemoConfig(events=3_000, seed=5, days=2, incident=None)


class _Buffer:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def _ndjson(config: DemoConfig) -> bytes:
    buffer = _Buffer()
    write_ndjson(buffer, config)
    return bytes(buffer.data)


def test_same_config_gives_the_same_bytes() -> None:
    assert _ndjson(SMALL) == _ndjson(SMALL)


def test_a_different_seed_gives_different_events_of_the_same_count() -> None:
    first, second = _ndjson(SMALL), _ndjson(DemoConfig(events=3_000, seed=6, days=2, incident=None))
    assert first != second

    def others(text: bytes) -> int:  # events besides the planted journeys
        return sum(1 for line in text.splitlines() if b'"correlation_id"' not in line)

    assert others(first) == others(second) == 3_000


def test_output_does_not_depend_on_the_process_or_its_hash_seed(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mfq.demo import DemoConfig, write_export\n"
        "write_export(Path(sys.argv[1]), DemoConfig(events=3_000, seed=5, days=2, incident=None))\n"
    )
    package_root = Path(mfq.demo.__file__).parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(package_root)}
    target = tmp_path / "other-process.ndjson"
    subprocess.run([sys.executable, "-c", script, str(target)], check=True, env=env)
    assert target.read_bytes() == _ndjson(SMALL)


def test_writes_exactly_the_configured_number_of_events(default_export: Export) -> None:
    journeys = default_export.truth.journeys
    assert journeys is not None
    # The planted order journeys come on top of the configured events.
    assert len(default_export.records) == default_export.truth.events == 50_000 + journeys.events
    assert sum(1 for r in default_export.records if "correlation_id" in r["attributes"]) == (
        journeys.events
    )


def test_ids_are_unique_and_number_the_events_in_order(default_export: Export) -> None:
    ids = [record["id"] for record in default_export.records]
    journeys = [i for i in ids if i.startswith("ev_9")]
    assert [i for i in ids if not i.startswith("ev_9")] == [
        f"ev_{number:012d}" for number in range(50_000)
    ]
    assert journeys == [f"ev_{900_000_000_000 + number:012d}" for number in range(len(journeys))]


def test_timestamps_are_sorted_and_inside_the_configured_range(default_export: Export) -> None:
    config = default_export.truth.config
    times = [parse_time(record["timestamp"]) for record in default_export.records]
    assert times == sorted(times)
    assert config.start <= times[0]
    assert times[-1] < config.start + timedelta(days=7)
    assert default_export.truth.first_timestamp == times[0]
    assert default_export.truth.last_timestamp == times[-1]


def test_timestamps_are_utc_iso_with_milliseconds_and_z(default_export: Export) -> None:
    text = default_export.records[0]["timestamp"]
    assert isinstance(text, str)
    assert len(text) == 24
    assert text.endswith("Z")
    assert parse_time(text).tzinfo == UTC


def test_records_have_the_manufactory_envelope_and_standard_attributes(
    default_export: Export,
) -> None:
    envelope = {"id", "type", "timestamp", "org_id", "project_id", "actor_profile_id"}
    standard = {"service", "environment", "version", "region", "status", "severity"}
    for record in default_export.records[:2_000]:
        assert envelope | {"client_uuid", "attributes"} <= record.keys()
        attributes = default_export.attributes(record)
        assert standard | {"duration_ms", "message"} <= attributes.keys()
        assert isinstance(record["project_id"], int)
        duration = attributes["duration_ms"]
        assert isinstance(duration, float)
        assert duration > 0


def test_counts_in_the_truth_are_exact(default_export: Export) -> None:
    truth, records = default_export.truth, default_export.records
    attributes = [default_export.attributes(record) for record in records]
    assert Counter(record["type"] for record in records) == truth.counts_by_type
    assert Counter(a["service"] for a in attributes) == truth.counts_by_service
    assert Counter((a["service"], a["version"]) for a in attributes) == truth.counts_by_version
    assert Counter(a["region"] for a in attributes) == truth.counts_by_region
    assert Counter(a["environment"] for a in attributes) == truth.counts_by_environment
    assert Counter(a["status"] for a in attributes) == truth.counts_by_status
    assert Counter(a["severity"] for a in attributes) == truth.counts_by_severity
    assert Counter(a["error_code"] for a in attributes if "error_code" in a) == (
        truth.counts_by_error_code
    )
    dates = Counter(str(record["timestamp"])[:10] for record in records)
    assert dates == truth.counts_by_date
    assert len({record["project_id"] for record in records}) == truth.projects
    assert len({record["actor_profile_id"] for record in records}) == truth.actors
    assert len({a["user_id"] for a in attributes if "user_id" in a}) == truth.users
    errors = Counter(a["service"] for a in attributes if a["status"] == "error")
    assert errors == truth.errors_by_service
    assert sum(errors.values()) == truth.errors


def test_truth_counts_the_uncompressed_bytes(default_export: Export) -> None:
    assert default_export.path.stat().st_size == default_export.truth.bytes


def test_average_line_is_between_400_and_600_bytes(default_export: Export) -> None:
    average = default_export.truth.bytes / default_export.truth.events
    assert 400 <= average <= 600


def test_has_at_least_20_types_with_zipf_like_skew(default_export: Export) -> None:
    counts = sorted(default_export.truth.counts_by_type.values(), reverse=True)
    assert len(counts) >= 20
    assert counts[0] > 8 * median(counts)


def test_has_hundreds_of_actors_dozens_of_projects_with_skewed_activity(
    default_export: Export,
) -> None:
    truth = default_export.truth
    assert truth.actors >= 200
    assert truth.projects >= 24
    actors = Counter(record["actor_profile_id"] for record in default_export.records)
    busiest = sum(count for _, count in actors.most_common(truth.actors // 10))
    assert busiest > 0.4 * truth.events


def test_traffic_follows_a_daily_cycle_and_quieter_weekends(default_export: Export) -> None:
    hours = Counter(parse_time(record["timestamp"]).hour for record in default_export.records)
    assert min(hours[14], hours[17]) > 1.6 * max(hours[2], hours[3])
    days = default_export.truth.counts_by_date
    assert days["2026-11-21"] < 0.8 * days["2026-11-18"]
    assert days["2026-11-22"] < 0.8 * days["2026-11-18"]


def test_base_error_rate_is_about_one_percent_and_some_events_warn(
    default_export: Export,
) -> None:
    truth = default_export.truth
    incident = truth.incident
    assert incident is not None
    base_errors = truth.errors - incident.incident_errors
    assert 0.007 < base_errors / truth.events < 0.013
    assert 0.01 < truth.counts_by_severity["warn"] / truth.events < 0.06


def test_errors_carry_a_5xx_status_and_an_error_code(default_export: Export) -> None:
    for record in default_export.records:
        attributes = default_export.attributes(record)
        if attributes["status"] == "error":
            assert attributes["severity"] == "error"
            assert "error_code" in attributes
            status = attributes.get("http_status", 500)
            assert isinstance(status, int)
            assert 500 <= status <= 599
        else:
            assert "error_code" not in attributes


def test_every_service_runs_two_or_three_versions_over_the_week(default_export: Export) -> None:
    versions = Counter(service for service, _ in default_export.truth.counts_by_version)
    assert len(versions) == 9  # eight services, and orders (the journeys)
    assert set(versions.values()) <= {2, 3}


def test_generate_records_yields_the_events_of_the_file(default_export: Export) -> None:
    assert list(generate_records(default_export.truth.config)) == default_export.records


def test_small_chunks_keep_the_events_sorted_unique_and_exact(chunked_export: Export) -> None:
    records = chunked_export.records
    journeys = chunked_export.truth.journeys
    assert journeys is not None
    assert len(records) == chunked_export.truth.events == 30_000 + journeys.events
    times = [parse_time(record["timestamp"]) for record in records]
    assert times == sorted(times)
    assert times[-1] < datetime(2026, 11, 19, tzinfo=UTC)
    assert len({record["id"] for record in records}) == 30_000 + journeys.events


def test_an_empty_export_is_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.ndjson"
    truth = write_export(path, DemoConfig(events=0, incident=None))
    assert path.read_bytes() == b""
    assert truth.events == 0
    assert truth.first_timestamp is None
    assert truth.counts_by_type == {}
