"""The standard fields as plain data: names, kinds, aliases, required. No pydantic here.

This table is the one place the standard fields and their aliases are listed. The pydantic
:class:`mfq.model.event.Event` declares its fields from it and adds the value rules; the
expression checker, the fast path and the store's Arrow schema read it directly. It lives
apart from the model because building a pydantic model costs tens of milliseconds at
import, and a query needs only the names and kinds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from mfq.model.values import DURATION_UNITS


class FieldKind(StrEnum):
    """How a standard field's value is validated and stored."""

    TEXT = "text"
    TIME = "time"
    SEVERITY = "severity"
    DURATION = "duration"
    SAMPLE_RATE = "sample_rate"
    HTTP_STATUS = "http_status"


@dataclass(frozen=True)
class StandardField:
    """A standard field as the rest of mfq sees it: name, kind, aliases, required."""

    name: str
    kind: FieldKind
    aliases: tuple[str, ...]  # canonical name first, then aliases, in lookup order
    required: bool


def _names(name: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
    # The canonical name first, once, even when an alias list (DURATION_UNITS) includes it.
    return tuple(dict.fromkeys((name, *aliases)))


def _optional(name: str, kind: FieldKind, *aliases: str) -> StandardField:
    return StandardField(name, kind, _names(name, aliases), required=False)


def _required(name: str, kind: FieldKind, *aliases: str) -> StandardField:
    return StandardField(name, kind, _names(name, aliases), required=True)


_TEXT = FieldKind.TEXT

#: Every standard field, in storage (and Arrow schema) order.
STANDARD_FIELDS: tuple[StandardField, ...] = (
    _optional("id", _TEXT, "event_id", "eventID"),
    _required("type", _TEXT, "event_name", "event_type", "event", "name"),
    _required(
        "timestamp",
        FieldKind.TIME,
        "timestamp_occurred",
        "time",
        "ts",
        "@timestamp",
        "created_at",
        "occurred_at",
    ),
    _optional("received_at", FieldKind.TIME),
    _optional("org_id", _TEXT),
    _optional("project_id", _TEXT),
    _optional("actor_profile_id", _TEXT),
    _optional("client_uuid", _TEXT),
    _optional("service", _TEXT, "event_source", "service.name"),
    _optional("environment", _TEXT),
    _optional("version", _TEXT, "application_version", "build_id"),
    _optional("status", _TEXT),
    _optional("severity", FieldKind.SEVERITY),
    # duration_s, duration_us and duration_ns: the normaliser converts them to milliseconds.
    _optional("duration_ms", FieldKind.DURATION, *DURATION_UNITS),
    _optional("trace_id", _TEXT),
    _optional("span_id", _TEXT),
    _optional("parent_span_id", _TEXT),
    _optional("correlation_id", _TEXT, "workflow_id", "workflow_instance_id", "case_id"),
    _optional("sample_rate", FieldKind.SAMPLE_RATE),
    _optional("http_status", FieldKind.HTTP_STATUS),
)
_BY_NAME = {f.name: f for f in STANDARD_FIELDS}


def standard_field(name: str) -> StandardField | None:
    """The standard field called ``name`` (canonical name only), or None."""
    return _BY_NAME.get(name)


def field_order(names: Iterable[str]) -> list[str]:
    """``names`` as ``mfq schema`` lists fields and ``mfq events`` shows them: the standard
    ones in the model's order, then the others by name. An order of the data alone: the
    columns' order in a stored file follows where its blocks and flushes were cut, which
    path each record took (vectorised or record by record) and which day it fell on, and
    the files' order follows the ingests, so a question on a file and the same question on
    its store would list them apart."""
    found = set(names)
    return [
        *(f.name for f in STANDARD_FIELDS if f.name in found),
        *sorted(found.difference(_BY_NAME)),
    ]
