"""``correlate``: exact shares and scores on hand-built data, the planted incidents found,
counts equal to DuckDB's, and the real OpenStack export."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

import mfq
from mfq.analysis.correlate import COLUMNS, Z_99, plan_comparison
from mfq.api import Selection, Store
from mfq.cli.main import cli
from mfq.errors import UsageError
from mfq.query.expr import parse_filter
from tests.analysis.conftest import PAYMENTS_INCIDENT, DemoStore
from tests.conftest import SHARED_REAL
from tests.selection import selected as selected_options

INCIDENT_WINDOW = {"since": "2026-11-19T14:00Z", "until": "2026-11-19T15:30Z"}
CHECKOUT_ERRORS = "service = 'checkout' and status = 'error'"


def _events() -> list[dict[str, object]]:
    """Checkout: 16 failures (15 on version 2, 12 in eu) and 24 successes (5 on version 2,
    12 in eu). Search: 24 failures and 36 successes, all on version 5. Every failure has
    ``detail = 'boom'`` (a symptom: failures carry it everywhere), successes ``'fine'``."""
    rows: list[dict[str, object]] = []

    def add(n: int, **fields: object) -> None:
        for _ in range(n):
            i = len(rows)
            rows.append(
                {
                    "id": f"e{i}",
                    "type": "t",
                    "timestamp": f"2026-11-03T10:{i // 60:02d}:{i % 60:02d}Z",
                    **fields,
                }
            )

    failure = {"status": "error", "severity": "error", "detail": "boom"}
    success = {"status": "ok", "severity": "info", "detail": "fine"}
    add(12, service="checkout", version="2", region="eu", **failure)
    add(3, service="checkout", version="2", region="us", **failure)
    add(1, service="checkout", version="1", region="us", **failure)
    add(5, service="checkout", version="2", region="eu", **success)
    add(7, service="checkout", version="1", region="eu", **success)
    add(12, service="checkout", version="1", region="us", **success)
    add(12, service="search", version="5", region="eu", **failure)
    add(12, service="search", version="5", region="us", **failure)
    add(8, service="search", version="5", region="eu", **success)
    add(28, service="search", version="5", region="us", **success)
    return rows


@pytest.fixture
def small_store(store: Store, write_ndjson: Callable[..., Path]) -> Store:
    store.ingest([write_ndjson(_events())])
    return store


def _expected_score(sel: int, n_sel: int, base: int, n_base: int) -> float:
    p_s, p_b = sel / n_sel, base / n_base
    spread = math.sqrt(p_s * (1 - p_s) / n_sel + p_b * (1 - p_b) / n_base)
    return p_s - p_b - 2.5758 * spread


def test_exact_shares_scores_and_symptoms(small_store: Store) -> None:
    result = small_store.correlate(Selection(where=CHECKOUT_ERRORS))
    assert list(result.columns) == COLUMNS
    rows = {(r.field, r.value): r for r in result.itertuples()}
    # Explanations first (best score first), then symptoms; ``detail`` is one by the data
    # (every failure of search carries it too), ``severity`` by being an outcome field.
    assert [(r.field, r.value, r.kind) for r in result.itertuples()] == [
        ("version", "2", "explains"),
        ("detail", "boom", "symptom"),  # equal scores: by field name
        ("severity", "error", "symptom"),
    ]
    version = rows["version", "2"]
    assert (version.selection_count, version.baseline_count) == (15, 5)
    assert version.selection_share == pytest.approx(15 / 16, abs=1e-6)
    assert version.baseline_share == pytest.approx(5 / 24, abs=1e-6)
    assert version.score == pytest.approx(_expected_score(15, 16, 5, 24), abs=1e-6)
    assert pytest.approx(2.5758) == Z_99
    # eu is over-represented (12/16 against 12/24) but not with 99% confidence.
    assert _expected_score(12, 16, 12, 24) < 0
    assert ("region", "eu") not in rows
    notes = result.notes
    assert "not ranked (they define the selection): service, status" in notes
    assert notes[0] == "baseline: events of the selection's scope that do not meet its outcome"


def test_explicit_baseline_and_plain_rest(small_store: Store) -> None:
    explicit = small_store.correlate(
        Selection(where=CHECKOUT_ERRORS), baseline="service = 'search' and status = 'error'"
    )
    version = explicit[explicit["field"] == "version"].set_index("value")
    assert version.loc["2", "baseline_count"] == 0
    assert version.loc["2", "baseline_share"] == 0
    assert explicit.notes[0] == "baseline: the --baseline expression"
    # Without an outcome condition the baseline is everything else: 40 checkout against 60.
    scope_only = small_store.correlate(Selection(where="service = 'checkout'"))
    version_2 = scope_only[(scope_only["field"] == "version") & (scope_only["value"] == "2")]
    assert version_2["selection_count"].tolist() == [20]
    assert version_2["baseline_count"].tolist() == [0]
    assert version_2["selection_share"].tolist() == [0.5]


def test_plan_splits_scope_from_outcome() -> None:
    where = (parse_filter("service = 'checkout' and status = 'error' and region = 'eu'"),)
    plan = plan_comparison(where, None)
    assert plan.about_outcome
    assert plan.scope is not None and plan.outcome is not None
    assert plan.defining_fields == {"service", "status", "region"}
    with pytest.raises(UsageError, match="needs a selection"):
        plan_comparison((), None)


def test_planted_incident_version_and_region_rank_first(incident_store: DemoStore) -> None:
    asked = selected_options(INCIDENT_WINDOW, where=CHECKOUT_ERRORS)
    result = incident_store.store.correlate(**asked)
    spec = incident_store.config.incident
    assert spec is not None
    top = [(r.field, r.value) for r in result.head(2).itertuples()]
    assert sorted(top) == sorted([("region", spec.region), ("version", spec.version)])
    # The failure's own marks are symptoms, never explanations.
    symptoms = set(result[result["kind"] == "symptom"]["field"])
    assert {"severity", "http_status", "error_code"} <= symptoms
    notes = " ".join(result.notes)
    assert "trace_id" in notes and "user_id" in notes  # skipped as high-cardinality


def test_second_planted_incident(payments_store: DemoStore) -> None:
    window = {"since": "2026-11-21T22:00Z", "until": "2026-11-22T00:00Z"}
    result = payments_store.store.correlate(
        **selected_options(window, where="service = 'payments' and status = 'error'")
    )
    top = {(r.field, r.value) for r in result.head(2).itertuples()}
    assert top == {("version", PAYMENTS_INCIDENT.version), ("region", PAYMENTS_INCIDENT.region)}


def test_counts_equal_duckdb(incident_store: DemoStore) -> None:
    store = incident_store.store
    result = store.correlate(**selected_options(INCIDENT_WINDOW, where=CHECKOUT_ERRORS))
    parquet = str(store.root / "events" / "*" / "*.parquet")
    window = "timestamp >= '2026-11-19 14:00+00' and timestamp < '2026-11-19 15:30+00'"
    checked = 0
    for row in result.itertuples():
        if row.field not in ("version", "region", "type", "http_status", "error_code"):
            continue
        sql = f"""
            select count(*) filter (where service = 'checkout' and status = 'error'),
                   count(*) filter (where service = 'checkout'
                                    and status is distinct from 'error')
            from read_parquet('{parquet}', union_by_name = true)
            where {window} and cast("{row.field}" as varchar) = '{row.value}'
        """
        selected, baseline = duckdb.sql(sql).fetchall()[0]
        assert (row.selection_count, row.baseline_count) == (selected, baseline), row
        checked += 1
    assert checked >= 4


def test_metric_ranks_the_slow_version(incident_store: DemoStore) -> None:
    result = incident_store.store.correlate(
        metric="duration_ms",
        fields="version,type,environment",
        **selected_options(INCIDENT_WINDOW, where="service = 'checkout' and region = 'eu-west-1'"),
    )
    first = result.iloc[0]
    assert (first["field"], first["value"]) == ("version", "2.4.1")
    assert first["selection_mean"] > 1.5 * first["baseline_mean"]
    assert set(result["field"]) <= {"version", "type", "environment"}


def test_metric_must_be_numeric(small_store: Store) -> None:
    with pytest.raises(UsageError, match="not a numeric field"):
        small_store.correlate(Selection(where=CHECKOUT_ERRORS), metric="region")


def test_openstack_slow_api_calls(tmp_path: Path) -> None:
    path = SHARED_REAL / "openstack" / "openstack_2k.ndjson"
    store = mfq.open_store(tmp_path / "os")
    store.ingest([path])
    result = store.correlate(Selection(where="exists(http_method) and duration_ms > 300"))
    explains = result[result["kind"] == "explains"]
    # Server creation (POST, template E26) is what slow API calls have in common.
    top_types = explains[explains["field"] == "type"]
    assert top_types.iloc[0]["value"] == "E26"
    parquet = str(store.root / "events" / "*" / "*.parquet")
    slow, other = duckdb.sql(
        f"""select count(*) filter (where duration_ms > 300),
                   count(*) filter (where duration_ms <= 300)
            from read_parquet('{parquet}', union_by_name = true)
            where http_method is not null and type = 'E26'"""
    ).fetchall()[0]
    assert (top_types.iloc[0]["selection_count"], top_types.iloc[0]["baseline_count"]) == (
        slow,
        other,
    )


def test_cli_formats_and_errors(small_store: Store) -> None:
    runner = CliRunner()
    base = ["correlate", "--store", str(small_store.root)]
    table = runner.invoke(cli, [*base, "--where", CHECKOUT_ERRORS])
    assert table.exit_code == 0, table.output
    assert "version" in table.stdout and "symptom" in table.stdout
    assert "note: baseline:" in table.stderr
    json_out = runner.invoke(cli, [*base, "--where", CHECKOUT_ERRORS, "--format", "json"])
    assert json_out.exit_code == 0
    assert '"field": "version"' in json_out.stdout
    missing = runner.invoke(cli, base)
    assert missing.exit_code == 2
    assert "needs a selection" in missing.stderr
    typo = runner.invoke(cli, [*base, "--where", CHECKOUT_ERRORS, "--baseline", "stauts = 'x'"])
    assert typo.exit_code == 2
    assert "did you mean 'status'" in typo.stderr
    assert "Traceback" not in typo.output


def _field_answers() -> tuple[list[str], list[pd.DataFrame]]:
    """Per-field answers as the engine hands them over: the key first, then the counts;
    text with gaps, integers, booleans, floats and integers with gaps (Python objects)."""
    import pyarrow as pa

    keys = {
        "service": pa.array(["checkout", None, "search"]),
        "http_status": pa.array([200, 503]),
        "cached": pa.array([True, False]),
        "ratio": pa.array([0.5, 2.0, None]),
        "port": pa.array([443, None]),
        "empty": pa.array([], pa.string()),
    }
    names, answers = [], []
    for name, key in keys.items():
        counts = [pa.array(range(len(key)), pa.int64()) for _ in range(3)]
        table = pa.table([key, *counts], names=[name, "total", "selection", "outcome"])
        names.append(name)
        answers.append(table.to_pandas(integer_object_nulls=True))
    return names, answers


def test_value_frames_are_one_frame_equal_to_a_frame_per_field() -> None:
    from mfq.analysis.correlate import _value_frame, _value_frames

    names, answers = _field_answers()
    joined = _value_frames(names, answers)
    assert len(joined) == 1  # one frame for every field, not one per field
    per_field = pd.concat(
        [_value_frame(n, a) for n, a in zip(names, answers, strict=True)], ignore_index=True
    )
    pd.testing.assert_frame_equal(joined[0], per_field)
    texts = [None if pd.isna(v) else v for v in joined[0]["value"].tolist()]
    assert texts[:8] == ["checkout", None, "search", "200", "503", "true", "false", "0.5"]


def test_a_field_named_like_a_count_keeps_its_own_frame() -> None:
    from mfq.analysis.correlate import _value_frames

    _names, answers = _field_answers()
    answers[1] = answers[1].rename(columns={"http_status": "total", "total": "t"})
    frames = _value_frames(["service", "total"], answers[:2])
    assert len(frames) == 2 and list(frames[1].columns)[:2] == ["field", "value"]
