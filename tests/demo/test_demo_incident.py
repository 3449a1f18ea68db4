"""The planted incident: one version of one service fails in one region, and only there."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

from mfq.demo import DemoConfig, IncidentSpec, SliceCounts
from tests.demo.exports import Export, make_export, parse_time

SPEC = IncidentSpec()


def _in_window(record: dict[str, object], spec: IncidentSpec) -> bool:
    return spec.start <= parse_time(record["timestamp"]) < spec.end


def _slices(export: Export, spec: IncidentSpec) -> Counter[tuple[bool, str, str, bool]]:
    """(in window, version, region, failed) -> events, for the incident's service."""
    counts: Counter[tuple[bool, str, str, bool]] = Counter()
    for record in export.records:
        attributes = export.attributes(record)
        if attributes["service"] == spec.service:
            key = (
                _in_window(record, spec),
                str(attributes["version"]),
                str(attributes["region"]),
                attributes["status"] == "error",
            )
            counts[key] += 1
    return counts


def test_truth_counts_the_incident_slices_exactly(default_export: Export) -> None:
    incident = default_export.truth.incident
    assert incident is not None
    counts = _slices(default_export, SPEC)
    for window, truth_slices in ((True, incident.in_window), (False, incident.outside_window)):
        expected = {
            (version, region): SliceCounts(
                counts[(window, version, region, True)] + counts[(window, version, region, False)],
                counts[(window, version, region, True)],
            )
            for (inside, version, region, _) in counts
            if inside == window
        }
        assert truth_slices == expected


def test_affected_slice_fails_at_the_planted_rate_inside_the_window(
    default_export: Export,
) -> None:
    incident = default_export.truth.incident
    assert incident is not None
    assert incident.slice_key == ("2.4.1", "eu-west-1")
    assert incident.affected.events >= 60
    assert 0.4 < incident.affected.error_ratio < 0.8
    assert incident.affected_outside.events >= 30
    assert incident.affected_outside.error_ratio < 0.05
    assert incident.affected.error_ratio > 10 * max(incident.affected_outside.error_ratio, 0.01)


def test_other_versions_and_regions_of_the_service_keep_running_at_base_rate(
    default_export: Export,
) -> None:
    incident = default_export.truth.incident
    assert incident is not None
    peers = incident.in_window
    assert peers[("2.4.0", "eu-west-1")].events >= 30
    assert peers[("2.4.1", "us-east-1")].events >= 5
    assert peers[("2.4.0", "us-east-1")].events >= 10
    assert incident.peers_in_window.events > incident.affected.events
    assert incident.peers_in_window.error_ratio < 0.05


def test_only_the_affected_slice_in_the_window_has_the_incident_error_code(
    default_export: Export,
) -> None:
    incident = default_export.truth.incident
    assert incident is not None
    failing = [
        record
        for record in default_export.records
        if default_export.attributes(record).get("error_code") == "db_pool_exhausted"
    ]
    assert len(failing) == incident.incident_errors
    assert 0.8 * incident.affected.errors < incident.incident_errors <= incident.affected.errors
    for record in failing:
        attributes = default_export.attributes(record)
        assert (attributes["service"], attributes["version"], attributes["region"]) == (
            "checkout",
            "2.4.1",
            "eu-west-1",
        )
        assert _in_window(record, SPEC)
        assert attributes["http_status"] == 503 or "http_status" not in attributes


def test_other_services_stay_near_base_rate_in_the_window(default_export: Export) -> None:
    others = [
        default_export.attributes(record)
        for record in default_export.records
        if _in_window(record, SPEC) and default_export.attributes(record)["service"] != "checkout"
    ]
    errors = sum(1 for attributes in others if attributes["status"] == "error")
    assert len(others) > 300
    assert errors / len(others) < 0.04


def test_affected_slice_is_slower_by_about_the_latency_factor(default_export: Export) -> None:
    def durations(inside: bool) -> list[float]:
        values = []
        for record in default_export.records:
            attributes = default_export.attributes(record)
            slice_ = (attributes["service"], attributes["version"], attributes["region"])
            duration = attributes["duration_ms"]
            if slice_ == ("checkout", "2.4.1", "eu-west-1") and _in_window(record, SPEC) == inside:
                assert isinstance(duration, float)
                values.append(duration)
        return values

    ratio = median(durations(True)) / median(durations(False))
    assert 2.5 < ratio < 6.0


def test_the_service_gets_more_traffic_in_the_region_during_the_window(
    default_export: Export,
) -> None:
    hour = timedelta(hours=1, minutes=30)
    before = SPEC.start - hour

    def checkout_in_region(start: datetime, end: datetime) -> int:
        return sum(
            1
            for record in default_export.records
            if start <= parse_time(record["timestamp"]) < end
            and default_export.attributes(record)["service"] == "checkout"
            and default_export.attributes(record)["region"] == "eu-west-1"
        )

    assert checkout_in_region(SPEC.start, SPEC.end) > 2 * checkout_in_region(before, SPEC.start)


def test_without_an_incident_nothing_fails_beyond_the_base_rate(tmp_path: Path) -> None:
    export = make_export(tmp_path / "calm.ndjson", DemoConfig(events=20_000, incident=None))
    assert export.truth.incident is None
    assert export.truth.incident_trace_ids == ()
    assert "db_pool_exhausted" not in export.truth.counts_by_error_code
    assert export.truth.errors / export.truth.events < 0.015


def test_a_custom_incident_is_planted_where_it_says(tmp_path: Path) -> None:
    spec = IncidentSpec(
        service="payments",
        version="3.13.0-rc1",
        region="us-east-1",
        start=datetime(2026, 11, 17, 18, 0, tzinfo=UTC),
        duration=timedelta(hours=2),
        error_rate=0.9,
        latency_factor=2.0,
    )
    export = make_export(tmp_path / "payments.ndjson", DemoConfig(events=40_000, incident=spec))
    incident = export.truth.incident
    assert incident is not None
    assert incident.slice_key == ("3.13.0-rc1", "us-east-1")
    assert incident.affected.events >= 15
    assert incident.affected.error_ratio > 0.7
    assert incident.peers_in_window.error_ratio < 0.06
    versions = {
        version for service, version in export.truth.counts_by_version if service == "payments"
    }
    assert "3.13.0-rc1" in versions
    failing = [
        export.attributes(record)
        for record in export.records
        if export.attributes(record).get("error_code") == "db_pool_exhausted"
    ]
    assert failing
    assert {(a["service"], a["version"], a["region"]) for a in failing} == {
        ("payments", "3.13.0-rc1", "us-east-1")
    }
