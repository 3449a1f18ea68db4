"""Demo configuration: defaults, and impossible configs rejected with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mfq.demo import DemoConfig, IncidentSpec


def test_defaults_describe_a_week_from_a_monday_with_an_incident_inside() -> None:
    config = DemoConfig()
    assert config.start.weekday() == 0
    assert config.end == datetime(2026, 11, 23, tzinfo=UTC)
    assert config.incident == IncidentSpec()
    assert config.incident is not None
    assert config.start <= config.incident.start < config.incident.end <= config.end
    assert config.incident.end == datetime(2026, 11, 19, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"events": -1}, "events must not be negative"),
        ({"days": 0}, "days must be at least 1"),
        ({"start": datetime(2026, 11, 16)}, "start must be timezone-aware"),
        ({"actors": 0}, "actors, projects and users must be at least 1"),
        ({"trace_share": 1.5}, "trace_share must be between 0 and 1"),
        ({"error_rate": -0.1}, "error_rate must be between 0 and 1"),
        ({"chunk_events": 0}, "chunk_events must be at least 1"),
        ({"days": 2}, "is not inside the generated range"),
    ],
)
def test_impossible_configs_are_rejected(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DemoConfig(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"service": "billing"}, "incident service 'billing' is not one of"),
        ({"region": "mars-1"}, "incident region 'mars-1' is not one of"),
        ({"version": ""}, "incident version must not be empty"),
        ({"duration": timedelta(0)}, "incident duration must be positive"),
        ({"error_rate": 2.0}, "incident error_rate must be between 0 and 1"),
        ({"latency_factor": 0.0}, "incident latency_factor must be positive"),
        ({"load_factor": 0.5}, "incident load_factor must be at least 1"),
        ({"start": datetime(2026, 11, 22, 23, 0, tzinfo=UTC)}, "is not inside the generated range"),
    ],
)
def test_impossible_incidents_are_rejected(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DemoConfig(incident=IncidentSpec(**changes))  # type: ignore[arg-type]


def test_a_short_range_without_incident_is_fine() -> None:
    assert DemoConfig(days=1, incident=None).end == datetime(2026, 11, 17, tzinfo=UTC)


def test_the_default_incident_moves_to_thursday_afternoon_of_another_week() -> None:
    start = datetime(2027, 3, 1, tzinfo=UTC)
    spec = IncidentSpec.within(start, 7, error_rate=0.9)
    assert spec.start == datetime(2027, 3, 4, 14, 0, tzinfo=UTC)
    assert spec.error_rate == 0.9
    assert DemoConfig(start=start, incident=spec).incident == spec


def test_in_a_short_range_the_incident_sits_in_the_middle() -> None:
    start = datetime(2026, 11, 16, 6, 30, tzinfo=UTC)
    spec = IncidentSpec.within(start, 2)
    assert spec.start == datetime(2026, 11, 17, 6, 0, tzinfo=UTC)
    assert DemoConfig(start=start, days=2, incident=spec).incident == spec
