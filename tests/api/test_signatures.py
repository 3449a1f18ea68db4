"""The public API is typed: every ``Store`` method has explicit keyword options with types
and a docstring naming each of them (an IDE completes them, mypy checks every caller)."""

from __future__ import annotations

import inspect
import re

import pytest

import mfq
from mfq.api import Store

PUBLIC = sorted(
    name
    for name, member in inspect.getmembers(Store, inspect.isfunction)
    if not name.startswith("_")
)


def test_the_facade_has_the_questions_the_commands_ask() -> None:
    asked = {"query", "events", "timeseries", "correlate", "anomalies", "trace", "timeline"}
    asked |= {"slo", "slo_incidents", "check", "report", "patterns", "changes", "sessions"}
    asked |= {"funnel", "funnel_dropped", "funnel_why", "paths", "ingest", "info", "schema"}
    assert asked <= set(PUBLIC)
    # One way to ask for Arrow: a parameter, not a twin per question.
    assert [name for name in PUBLIC if name.endswith("_table") and name != "run_table"] == []


@pytest.mark.parametrize("name", PUBLIC)
def test_every_option_is_an_explicit_typed_parameter_named_in_the_docstring(name: str) -> None:
    method = getattr(Store, name)
    signature = inspect.signature(method)
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    assert [p.name for p in parameters if p.kind in variadic] == []
    assert [p.name for p in parameters if p.annotation is inspect.Parameter.empty] == []
    assert [p.name for p in parameters if re.search(r"\bAny\b", str(p.annotation))] == []
    assert signature.return_annotation is not inspect.Signature.empty
    doc = inspect.getdoc(method) or ""
    assert doc, f"Store.{name} has no docstring"
    assert [p.name for p in parameters if f"``{p.name}``" not in doc] == []


def test_open_store_is_typed_too() -> None:
    signature = inspect.signature(mfq.open_store)
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
