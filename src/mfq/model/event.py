"""The event model: the one place the standard fields, their aliases and rules are defined.

Everything else derives from it: the record normaliser reads the alias lists, the fast path
reads the field kinds, and the store's Arrow schema is built from the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from mfq.model import values


class FieldKind(StrEnum):
    """How a standard field's value is validated and stored."""

    TEXT = "text"
    TIME = "time"
    SEVERITY = "severity"
    DURATION = "duration"
    SAMPLE_RATE = "sample_rate"
    HTTP_STATUS = "http_status"


def _aliases(*names: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(*names))


class Event(BaseModel):
    """One event's standard fields, after aliases are resolved (attributes live beside it).

    Validate with ``Event.model_validate(fields, context={"assume_tz": tz})`` where ``fields``
    maps canonical names (or any alias) to decoded JSON values. Times come out as UTC
    nanoseconds since the epoch, the storage representation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: Annotated[str | None, FieldKind.TEXT] = _aliases("id", "event_id", "eventID")
    type: Annotated[str, FieldKind.TEXT] = Field(
        validation_alias=AliasChoices("type", "event_name", "event_type", "event", "name")
    )
    timestamp: Annotated[int, FieldKind.TIME] = Field(
        validation_alias=AliasChoices(
            "timestamp",
            "timestamp_occurred",
            "time",
            "ts",
            "@timestamp",
            "created_at",
            "occurred_at",
        )
    )
    received_at: Annotated[int | None, FieldKind.TIME] = _aliases("received_at")
    org_id: Annotated[str | None, FieldKind.TEXT] = _aliases("org_id")
    project_id: Annotated[str | None, FieldKind.TEXT] = _aliases("project_id")
    actor_profile_id: Annotated[str | None, FieldKind.TEXT] = _aliases("actor_profile_id")
    client_uuid: Annotated[str | None, FieldKind.TEXT] = _aliases("client_uuid")
    service: Annotated[str | None, FieldKind.TEXT] = _aliases(
        "service", "event_source", "service.name"
    )
    environment: Annotated[str | None, FieldKind.TEXT] = _aliases("environment")
    version: Annotated[str | None, FieldKind.TEXT] = _aliases(
        "version", "application_version", "build_id"
    )
    status: Annotated[str | None, FieldKind.TEXT] = _aliases("status")
    severity: Annotated[str | None, FieldKind.SEVERITY] = _aliases("severity")
    duration_ms: Annotated[float | None, FieldKind.DURATION] = _aliases(*values.DURATION_UNITS)
    trace_id: Annotated[str | None, FieldKind.TEXT] = _aliases("trace_id")
    span_id: Annotated[str | None, FieldKind.TEXT] = _aliases("span_id")
    parent_span_id: Annotated[str | None, FieldKind.TEXT] = _aliases("parent_span_id")
    correlation_id: Annotated[str | None, FieldKind.TEXT] = _aliases(
        "correlation_id", "workflow_id", "workflow_instance_id", "case_id"
    )
    sample_rate: Annotated[int | None, FieldKind.SAMPLE_RATE] = _aliases("sample_rate")
    http_status: Annotated[int | None, FieldKind.HTTP_STATUS] = _aliases("http_status")

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


@dataclass(frozen=True)
class StandardField:
    """A standard field as the rest of mfq sees it: name, kind, aliases, required."""

    name: str
    kind: FieldKind
    aliases: tuple[str, ...]  # canonical name first, then aliases, in lookup order
    required: bool


def _standard_fields() -> tuple[StandardField, ...]:
    fields = []
    for name, info in Event.model_fields.items():
        kind = next(m for m in info.metadata if isinstance(m, FieldKind))
        alias = info.validation_alias
        names = tuple(str(c) for c in alias.choices) if isinstance(alias, AliasChoices) else ()
        fields.append(StandardField(name, kind, names or (name,), info.is_required()))
    return tuple(fields)


STANDARD_FIELDS: tuple[StandardField, ...] = _standard_fields()
_BY_NAME = {f.name: f for f in STANDARD_FIELDS}


def standard_field(name: str) -> StandardField | None:
    """The standard field called ``name`` (canonical name only), or None."""
    return _BY_NAME.get(name)


def validation_context(assume_tz: tzinfo | None) -> dict[str, object]:
    """The context ``Event.model_validate`` needs."""
    return {"assume_tz": assume_tz}
