"""The event model: the pydantic validation of the standard fields' values.

Which standard fields exist, their kinds and aliases are listed once, in
:mod:`mfq.model.fields`; :class:`Event` declares its fields from that table and adds the
value rules. The record normaliser validates through it; the fast path implements the same
rules vectorised. Only ingest imports this module (building the model is slow to import).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mfq.model import values
from mfq.model.fields import STANDARD_FIELDS, FieldKind, StandardField, standard_field

__all__ = [
    "STANDARD_FIELDS",
    "Event",
    "FieldKind",
    "StandardField",
    "standard_field",
    "validation_context",
]


def _declared(name: str) -> Any:
    """The pydantic field of standard field ``name``: its aliases, and required or not."""
    spec = standard_field(name)
    if spec is None:
        raise LookupError(f"Event declares {name!r}, which is not in mfq.model.fields")
    choices = AliasChoices(*spec.aliases)
    if spec.required:
        return Field(validation_alias=choices)
    return Field(default=None, validation_alias=choices)


class Event(BaseModel):
    """One event's standard fields, after aliases are resolved (attributes live beside it).

    Validate with ``Event.model_validate(fields, context={"assume_tz": tz})`` where ``fields``
    maps canonical names (or any alias) to decoded JSON values. Times come out as UTC
    nanoseconds since the epoch, the storage representation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    # Names, kinds and aliases come from the table in mfq.model.fields; here only the
    # Python types and the value rules (the validators below).
    id: str | None = _declared("id")
    type: str = _declared("type")
    timestamp: int = _declared("timestamp")
    received_at: int | None = _declared("received_at")
    org_id: str | None = _declared("org_id")
    project_id: str | None = _declared("project_id")
    actor_profile_id: str | None = _declared("actor_profile_id")
    client_uuid: str | None = _declared("client_uuid")
    service: str | None = _declared("service")
    environment: str | None = _declared("environment")
    version: str | None = _declared("version")
    status: str | None = _declared("status")
    severity: str | None = _declared("severity")
    duration_ms: float | None = _declared("duration_ms")
    trace_id: str | None = _declared("trace_id")
    span_id: str | None = _declared("span_id")
    parent_span_id: str | None = _declared("parent_span_id")
    correlation_id: str | None = _declared("correlation_id")
    sample_rate: int | None = _declared("sample_rate")
    http_status: int | None = _declared("http_status")

    @field_validator(
        "id",
        "type",
        "org_id",
        "project_id",
        "actor_profile_id",
        "client_uuid",
        "service",
        "environment",
        "version",
        "status",
        "trace_id",
        "span_id",
        "parent_span_id",
        "correlation_id",
        mode="before",
    )
    @classmethod
    def _text(cls, value: object, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        text = values.text_value(value)
        if info.field_name == "type" and not text.strip():
            raise values.ValueRuleError("must not be empty")
        return text

    @field_validator("timestamp", "received_at", mode="before")
    @classmethod
    def _time(cls, value: object, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        context = info.context or {}
        ns, _naive = values.timestamp_ns(value, context.get("assume_tz"))
        return ns

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, value: object) -> str | None:
        return None if value is None else values.severity_value(value)[0]

    @field_validator("duration_ms", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        # Units are converted by the normaliser (it knows which alias carried the value).
        return None if value is None else values.duration_ms_value(value, "duration_ms")

    @field_validator("sample_rate", mode="before")
    @classmethod
    def _sample_rate(cls, value: object) -> int | None:
        if value is None:
            return None
        number = values.whole_number(value)
        if number < 1:
            raise values.ValueRuleError("must be at least 1")
        return number

    @field_validator("http_status", mode="before")
    @classmethod
    def _http_status(cls, value: object) -> int | None:
        if value is None:
            return None
        number = values.whole_number(value)
        if not 100 <= number <= 599:
            raise values.ValueRuleError("must be between 100 and 599")
        return number


# The table and the model must name the same fields in the same order (the Arrow schema
# and the fast path follow the table; the slow path follows the model).
if tuple(Event.model_fields) != tuple(f.name for f in STANDARD_FIELDS):
    raise RuntimeError("mfq.model.Event and mfq.model.fields.STANDARD_FIELDS disagree")


def validation_context(assume_tz: tzinfo | None) -> dict[str, object]:
    """The context ``Event.model_validate`` needs."""
    return {"assume_tz": assume_tz}
