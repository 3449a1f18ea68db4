"""The event: its standard fields (plain data) and the pydantic model that validates them.

``STANDARD_FIELDS`` and friends come from the light :mod:`mfq.model.fields`; ``Event`` is
imported on first use, so the query path (which only needs names and kinds) never builds
the pydantic model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mfq.model.fields import STANDARD_FIELDS, FieldKind, StandardField, standard_field

if TYPE_CHECKING:
    from mfq.model.event import Event

__all__ = ["STANDARD_FIELDS", "Event", "FieldKind", "StandardField", "standard_field"]


def __getattr__(name: str) -> object:
    # PEP 562: ``mfq.model.Event`` loads the pydantic model only when someone asks for it.
    if name == "Event":
        from mfq.model.event import Event

        globals()["Event"] = Event  # later lookups skip this function
        return Event
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
