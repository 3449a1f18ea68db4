"""Random expressions over the store's fields (functions, arithmetic, conditions, in any
combination, well typed or not): as a group key, a derived field, a filter or arithmetic
over aggregates, each either gives an answer or fails with our one-line usage error,
never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mfq
from mfq.api import Selection, Store
from mfq.errors import UsageError

FIELDS = ["service", "duration_ms", "http_status", "timestamp", "flag", "amount", "nothing"]
LITERALS = ["0", "1", "-3", "2.5", "'api'", "''", "null", "true", "'2026-11-18'"]
UNARY = ["lower", "upper", "len", "hour", "weekday", "date"]
OPERATORS = ["+", "-", "*", "/", "=", "!=", "<", ">=", "and", "or"]


def _expressions() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(FIELDS + LITERALS)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(UNARY), inner),
            st.builds(lambda a, o, b: f"({a} {o} {b})", inner, st.sampled_from(OPERATORS), inner),
            st.builds(lambda a, b: f"coalesce({a}, {b})", inner, inner),
            st.builds(lambda c, a, b: f"if({c}, {a}, {b})", inner, inner, inner),
            st.builds(lambda a, w: f"bucket({a}, {w})", inner, st.sampled_from(["1", "0.5", "0"])),
            st.builds(
                lambda a, p: f"regex({a}, '{p}')", inner, st.sampled_from(["(a)", "p.", "["])
            ),
            st.builds(lambda a: f"not {a}", inner),
            st.builds(lambda a: f"{a} is null", inner),
        )

    return st.recursive(leaves, extend, max_leaves=6)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A few events with nulls in every field."""
    root = tmp_path_factory.mktemp("props")
    lines = []
    for i in range(12):
        event = {
            "id": f"e{i}",
            "type": "t",
            "timestamp": f"2026-11-18T{i:02d}:00:00Z",
            "service": [None, "api", "Web"][i % 3],
            "duration_ms": None if i % 4 == 0 else i * 10.5,
            "http_status": None if i % 5 == 0 else 200 + i,
            "amount": i % 3,
        }
        if i % 2:
            event["flag"] = i % 3 == 0
        lines.append(json.dumps(event))
    path = Path(root) / "e.ndjson"
    path.write_text("\n".join(lines) + "\n")
    with mfq.open_store(root / "store") as opened:
        opened.ingest([path])
        yield opened


def _answers_or_fails_in_one_line(run: object) -> None:
    assert callable(run)
    try:
        run()
    except UsageError as err:
        assert "\n" not in str(err)
        assert str(err)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_expressions())
def test_any_expression_answers_or_fails_in_one_line(store: Store, text: str) -> None:
    _answers_or_fails_in_one_line(
        lambda: store.query(as_arrow=True, group_by=[text], aggs=["count"])
    )
    _answers_or_fails_in_one_line(
        lambda: store.query(as_arrow=True, let=[f"v = {text}"], aggs=["max(v)"])
    )
    _answers_or_fails_in_one_line(
        lambda: store.query(Selection(where=[text]), as_arrow=True, aggs=["count"])
    )
    _answers_or_fails_in_one_line(
        lambda: store.query(
            as_arrow=True, let=[f"v = {text}"], aggs=["count(v) / count - max(v) as r"]
        )
    )


def test_a_derived_filter_is_the_stored_fields_filter_pushed_into_the_scan(store: Store) -> None:
    """``--let`` names an expression: filtering on it is filtering on the stored columns
    (the scan's pushdown and dictionary reading see the same tree)."""
    from mfq.query.build import build_spec
    from mfq.query.expr import parse_filter, without_spans
    from mfq.query.scan import equality_only_fields
    from mfq.query.spec import QueryKind

    spec = build_spec(
        store, QueryKind.AGGREGATE, let=["svc = service", "slow = duration_ms > 50"],
        where=["svc = 'api'", "slow"],
    )  # fmt: skip
    direct = [parse_filter("service = 'api'"), parse_filter("duration_ms > 50")]
    assert [without_spans(e) for e in spec.where] == [without_spans(e) for e in direct]
    assert spec.derived == ()  # nothing computed after the scan
    assert equality_only_fields(spec.where) == {"service"}  # read as a dictionary
