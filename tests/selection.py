"""Option dicts for ``Store`` questions, written once and asked many ways in the tests:
``selected`` turns the selection's options among them into the one ``Selection``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from mfq.api import Selection

SELECTION_OPTIONS = frozenset(field.name for field in fields(Selection))


def selected(options: Mapping[str, Any] = {}, **more: Any) -> dict[str, Any]:
    """``options`` (and ``more``) as keyword arguments of a ``Store`` question: the
    selection's options gathered into ``selection=Selection(...)``, the rest as given."""
    given = {**options, **more}
    chosen = {k: v for k, v in given.items() if k in SELECTION_OPTIONS}
    own = {k: v for k, v in given.items() if k not in SELECTION_OPTIONS}
    return {"selection": Selection(**chosen), **own}
