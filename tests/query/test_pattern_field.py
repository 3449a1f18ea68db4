"""``pattern(F)`` and ``new_pattern(F)`` as derived fields: the grouping and the ids of
``mfq patterns`` on the same selection (hand-built messages, and loghub's BGL sample where
the miner merges groups), filters by id, ``count(...)`` in ``check``, ``correlate``, and
the Dask engine's refusal."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import mfq
from mfq.api import Selection, Store
from mfq.cli.main import cli
from mfq.errors import UsageError
from tests.analysis.test_patterns import CACHE, DISK, LOGIN, TIMEOUT, _events
from tests.conftest import SHARED_REAL
from tests.selection import selected


@pytest.fixture
def log_store(store: Store, write_ndjson: Callable[..., Path]) -> Store:
    store.ingest([write_ndjson(_events())])
    return store


def _ids(store: Store, **options: object) -> dict[str, str]:
    """Template text -> id, as ``mfq patterns`` shows them."""
    found = store.patterns(**selected(options))  # type: ignore[arg-type]
    return dict(zip(found["template"], found["id"], strict=True))


def _grouped(store: Store, **options: object) -> dict[str, int]:
    result = store.query(group_by="pattern(message)", **selected(options))
    pairs = zip(result["pattern(message)"], result["count"], strict=True)
    return {key: int(n) for key, n in pairs if isinstance(key, str)}


def test_group_by_pattern_counts_equal_patterns_counts(log_store: Store) -> None:
    ids = _ids(log_store)
    assert _grouped(log_store) == {ids[DISK]: 8, ids[TIMEOUT]: 6, ids[LOGIN]: 4, ids[CACHE]: 2}
    # The event without a message has no pattern: a null group of its own.
    result = log_store.query(group_by="pattern(message)")
    assert result["pattern(message)"].isna().sum() == 1


def test_group_by_pattern_on_a_selection_equals_patterns_on_it(log_store: Store) -> None:
    ids = _ids(log_store, where="service = 'db' or service = 'api'", since="2026-11-03")
    grouped = _grouped(log_store, where="service = 'db' or service = 'api'", since="2026-11-03")
    assert grouped == {ids[DISK]: 6, ids[TIMEOUT]: 1, ids[CACHE]: 2}


def test_where_by_a_template_id(log_store: Store) -> None:
    ids = _ids(log_store)
    result = log_store.query(
        Selection(where=f"pattern(message) = '{ids[TIMEOUT]}'"), group_by="service"
    )
    assert dict(zip(result["service"], result["count"], strict=True)) == {"api": 5, "web": 1}
    # With another condition: the templates are mined over that condition's events.
    both = log_store.query(
        Selection(where=["service = 'api'", f"pattern(message) = '{ids[TIMEOUT]}'"])
    )
    assert int(both["count"].iloc[0]) == 5
    nothing = log_store.query(Selection(where="pattern(message) = 'not-an-id'"))
    assert int(nothing["count"].iloc[0]) == 0


def test_a_derived_field_and_count_of_a_condition(log_store: Store) -> None:
    ids = _ids(log_store)
    result = log_store.query(
        let=["p = pattern(message)"], aggs=[f"count(p = '{ids[CACHE]}') as cache", "count"]
    )
    assert (int(result["cache"].iloc[0]), int(result["count"].iloc[0])) == (2, 21)


def test_new_pattern_is_patterns_new_against_every_earlier_event(log_store: Store) -> None:
    marked = log_store.patterns(Selection(since="2026-11-03"), baseline_since="2026-11-01")
    new_ids = set(marked.loc[marked["change"] == "new", "id"])
    assert new_ids == {_ids(log_store)[CACHE]}
    result = log_store.query(
        Selection(where="new_pattern(message)", since="2026-11-03"), group_by="pattern(message)"
    )
    assert dict(zip(result["pattern(message)"], result["count"], strict=True)) == {
        _ids(log_store)[CACHE]: 2
    }


def test_new_pattern_needs_the_start_of_the_period(log_store: Store) -> None:
    with pytest.raises(UsageError) as err:
        log_store.query(Selection(where="new_pattern(message)"))
    assert str(err.value) == (
        "new_pattern() needs the start of the period (--since or --last): "
        "new means no message before it"
    )


def test_pattern_takes_a_field_name(log_store: Store) -> None:
    with pytest.raises(UsageError) as err:
        log_store.query(group_by="pattern(lower(message))")
    assert str(err.value) == "pattern() takes a field name, e.g. pattern(message)"


def test_check_no_new_error_patterns(log_store: Store) -> None:
    runner = CliRunner()
    root = str(log_store.root)
    # On 11-03 the only new template is the cache miss, in service api.
    failing = "count(new_pattern(message) and service = 'api') == 0"
    passing = "count(new_pattern(message) and service = 'db') == 0"
    ran = runner.invoke(cli, ["check", "--store", root, "--since", "2026-11-03", passing])
    assert ran.exit_code == 0, ran.output
    ran = runner.invoke(
        cli, ["check", "--store", root, "--since", "2026-11-03", "--format", "json", failing]
    )
    assert ran.exit_code == 1
    assert '"value": 2' in ran.stdout


def test_correlate_with_a_pattern_in_where(log_store: Store) -> None:
    ids = _ids(log_store)
    result = log_store.correlate(Selection(where=f"pattern(message) = '{ids[TIMEOUT]}'"))
    top = result.iloc[0]
    # 5 of the 6 timeouts are api's (against 3 of the 15 other events).
    assert (top["field"], top["value"], int(top["selection_count"])) == ("service", "api", 5)


def test_the_query_command_groups_by_pattern(log_store: Store) -> None:
    ids = _ids(log_store)
    ran = CliRunner().invoke(
        cli,
        [
            *("query", "--store", str(log_store.root), "--group-by", "pattern(message)"),
            *("--where", "exists(message)", "--format", "csv"),
        ],
    )
    assert ran.exit_code == 0, ran.output
    lines = ran.stdout.strip().splitlines()
    assert lines == [
        "pattern(message),count",
        f"{ids[DISK]},8",
        f"{ids[TIMEOUT]},6",
        f"{ids[LOGIN]},4",
        f"{ids[CACHE]},2",
    ]


def test_dask_engine_refuses_pattern_with_one_line(log_store: Store) -> None:
    ran = CliRunner().invoke(
        cli,
        [
            *("query", "--store", str(log_store.root), "--engine", "dask"),
            *("--group-by", "pattern(message)"),
        ],
    )
    assert ran.exit_code == 2
    assert ran.stderr == (
        "mfq: error: pattern() is not supported on the dask engine; use --engine local\n"
    )


def test_bgl_grouping_equals_patterns_where_groups_merge(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    """loghub's BGL sample: the miner widens and merges groups as it goes, and the
    query's grouping still equals ``mfq patterns``' message for message."""
    path = SHARED_REAL / "bgl" / "BGL_2k.log_structured.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    events = [
        {
            "id": f"b{i}",
            "type": "log",
            "timestamp": int(row["Timestamp"]) * 1000 + i % 1000,
            "service": row["Component"].lower(),
            "message": row["Content"],
        }
        for i, row in enumerate(rows)
    ]
    store.ingest([write_ndjson(events)])
    found = store.patterns()
    expected = {i: int(n) for i, n in zip(found["id"], found["count"], strict=True)}
    assert len(expected) > 50
    assert any("<*>" in text for text in found["template"])  # groups were widened
    assert _grouped(store) == expected
    # Each template's events, selected by id, are as many as patterns counts.
    ident, count = found["id"].iloc[3], int(found["count"].iloc[3])
    selected = store.query(Selection(where=f"pattern(message) = '{ident}'"))
    assert int(selected["count"].iloc[0]) == count


def test_templates_remembered_by_patterns_keep_their_ids_in_queries(log_store: Store) -> None:
    before = _ids(log_store)
    reopened = mfq.open_store(log_store.root)
    assert set(_grouped(reopened)) == set(before.values())


def test_a_place_that_does_not_bind_patterns_says_so(log_store: Store) -> None:
    with pytest.raises(UsageError) as err:
        log_store.changes(field="service", bad="pattern(message) = 'x'")
    assert str(err.value) == (
        "pattern() cannot be used here: only in --where, --let, --group-by, "
        "count(...) and ratio(...) of query-like commands"
    )
