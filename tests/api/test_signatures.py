"""The public API is typed: every ``Store`` method has explicit keyword options with types
and a docstring naming each of them (an IDE completes them, mypy checks every caller).

The events a question looks at are one typed ``Selection``: every question takes it (or a
request that holds it), and none spells the selection's options out again, so a new
question adds only its own options."""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing

import pytest

import mfq
import mfq.api
from mfq.api import EventsRequest, QueryRequest, Request, Selection, Store, TimeseriesRequest
from mfq.query.build import build_spec

PUBLIC = sorted(
    name
    for name, member in inspect.getmembers(Store, inspect.isfunction)
    if not name.startswith("_")
)


def test_the_facade_has_the_questions_the_commands_ask() -> None:
    asked = {"query", "events", "timeseries", "correlate", "anomalies", "trace", "timeline"}
    asked |= {"slo", "check", "report", "patterns", "changes", "sessions"}
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


#: The questions: every ``Store`` method that reads events to answer.
QUESTIONS = sorted(
    {"query", "events", "timeseries", "correlate", "anomalies", "trace", "timeline", "slo"}
    | {"check", "report", "patterns", "changes", "sessions", "funnel", "funnel_dropped"}
    | {"funnel_why", "paths"}
)
SELECTION_OPTIONS = {field.name for field in dataclasses.fields(Selection)}


#: Every public name of ``mfq.api`` (the analyses' requests load on first use).
API = {name: getattr(mfq.api, name) for name in mfq.api.__all__}


def _annotation(text: object) -> object:
    """A parameter's (string) annotation as the type it names in ``mfq.api``."""
    return eval(str(text), API | vars(typing))  # our own annotations


def _requests() -> list[type[Request]]:
    return [
        value
        for value in API.values()
        if isinstance(value, type) and issubclass(value, Request) and value is not Request
    ]


def test_the_selection_holds_what_every_question_shares() -> None:
    assert {"where", "since", "until", "last", "now", "unweighted"} == SELECTION_OPTIONS


@pytest.mark.parametrize("name", QUESTIONS)
def test_every_question_takes_the_selection_and_spells_none_of_its_options(name: str) -> None:
    parameters = inspect.signature(getattr(Store, name)).parameters
    assert set(parameters) & SELECTION_OPTIONS == set()
    takes = {
        _annotation(p.annotation)
        for p in parameters.values()
        if p.name != "self" and p.annotation in ("Selection", "FunnelRequest")
    }
    # The Selection itself, or a request that holds one.
    assert Selection in takes or any(
        isinstance(kind, type) and issubclass(kind, Request) for kind in takes
    )


@pytest.mark.parametrize("request_type", _requests(), ids=lambda kind: kind.__name__)
def test_every_request_is_the_selection_plus_its_own_options(request_type: type[Request]) -> None:
    names = [field.name for field in dataclasses.fields(request_type)]
    assert names[0] == "selection"
    assert _annotation(dataclasses.fields(request_type)[0].type) is Selection
    assert set(names) & SELECTION_OPTIONS == set()
    assert request_type.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert request_type.command  # the command of the same question, for listings
    # Each option of the request is named in its docstring, as the Store methods' are.
    doc = inspect.getdoc(request_type) or ""
    assert [name for name in names[1:] if f"``{name}``" not in doc] == []


def test_each_question_has_its_request_type() -> None:
    commands = {kind.command for kind in _requests()}
    assert commands == {
        "query", "events", "timeseries", "correlate", "anomalies", "trace", "timeline",
        "slo", "check", "report", "patterns", "changes", "sessions", "funnel", "paths",
    }  # fmt: skip


def test_a_selection_is_one_value_however_where_is_given() -> None:
    assert Selection(where="a = 1") == Selection(where=["a = 1"]) == Selection(where=("a = 1",))
    assert Selection(where="a = 1").narrowed("b = 2").filters == ("a = 1", "b = 2")
    assert Selection(last="1d").during("2026-11-01", None) == Selection(since="2026-11-01")
    assert Selection(since="7d", unweighted=True).options() == {"since": "7d", "unweighted": True}


@pytest.mark.parametrize("request_type", [QueryRequest, EventsRequest, TimeseriesRequest])
def test_a_query_request_s_options_are_build_spec_s(request_type: type[Request]) -> None:
    # ``request_spec`` hands a query request's own options to ``build_spec`` by name.
    accepted = set(inspect.signature(build_spec).parameters)
    own = {field.name for field in dataclasses.fields(request_type)} - {"selection"}
    assert own <= accepted
