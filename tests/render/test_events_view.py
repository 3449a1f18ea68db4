"""``mfq events`` on wide, sparse stores: the columns that fit, blocks when none do,
``--fields`` globs, identifiers pasted back as written, names cut in the middle."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from mfq.cli.main import cli
from mfq.env import Env
from mfq.render.display import display_cell, is_identifier_field
from mfq.render.events import present_fields
from mfq.render.widths import cut_middle, plan_widths
from tests.conftest import event


def _wide_events() -> list[dict[str, object]]:
    """Six events of 80 optional fields each: only `a.rare` twice, `common.name` in all,
    `flow_id` in five, every other field in one."""
    rows = []
    for i in range(6):
        extra: dict[str, object] = {f"sparse.field_{i}_{k}": f"v{k}" for k in range(80)}
        extra["common.name"] = f"host-{i}"
        if i < 5:
            extra["flow_id"] = 812065966895884 + i
        if i < 2:
            extra["a.rare"] = "x"
        rows.append(event(i, type=f"kind.{i % 2}", **extra))
    return rows


@pytest.fixture
def wide_store(tmp_path: Path, write_ndjson: Callable[..., Path]) -> str:
    path = str(tmp_path / "s")
    result = CliRunner().invoke(cli, ["ingest", str(write_ndjson(_wide_events())), "--store", path])
    assert result.exit_code == 0, result.stderr
    return path


def _events(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["events", *args])
    return result.exit_code, result.stdout, result.stderr


def test_present_fields_come_after_timestamp_and_type_most_present_first() -> None:
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "service": [None, None, None],
            "rare": [None, "x", None],
            "type": ["t", "t", "t"],
            "often": [1, 2, None],
            "timestamp": [1, 2, 3],
        }
    )
    assert present_fields(table) == ["timestamp", "type", "id", "often", "rare"]


def test_a_wide_sparse_store_shows_timestamp_type_and_the_fields_present(
    wide_store: str,
) -> None:
    code, out, err = _events("--store", wide_store, "--limit", "5")
    assert code == 0, err
    lines = out.splitlines()
    header = lines[1].split()
    assert header[:2] == ["timestamp", "type"]
    assert "common.name" in header and "flow_id" in header
    assert not any(h.startswith("sparse.") for h in header)  # each in one event only
    rows = lines[3:]
    assert len(rows) == 5 and all(row.strip() for row in rows)
    assert "812065966895885" in out  # an identifier, without separators


def test_a_terminal_too_narrow_for_three_columns_gets_one_block_per_event(
    wide_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    code, out, err = _events("--store", wide_store, "--limit", "2")
    assert code == 0, err
    blocks = re.split(r"^-\[ EVENT \d \]-*$", out, flags=re.M)
    assert [b for b in blocks if b.strip()] and out.startswith("-[ EVENT 1 ]")
    second = blocks[2].strip("\n").splitlines()
    # Names get a third of the width; long values wrap.
    assert second[:3] == [
        "timestamp  | 2026-11-03 10:00:",
        "           | 05",
        "type       | kind.1",
    ]
    assert "spa…ld_5_0 | v0" in second  # every present field, cut in the middle
    assert not any("—" in line for line in second)  # and no missing ones
    assert all(len(line) <= 30 for line in out.splitlines())


def test_expand_asks_for_blocks_and_globs_pick_fields(wide_store: str) -> None:
    code, out, err = _events(
        "--store", wide_store, "--limit", "1", "--expand", "--fields", "type,common.*,flow_*"
    )
    assert code == 0, err
    assert out.splitlines() == [
        "-[ EVENT 1 ]" + "-" * 68,
        "type        | kind.1",
        "common.name | host-5",
        "flow_id     | —",
    ]


def test_a_glob_matching_nothing_is_a_usage_error(wide_store: str) -> None:
    code, _out, err = _events("--store", wide_store, "--fields", "userIdentity.*")
    assert (code, err) == (2, "mfq: error: --fields: no field matches 'userIdentity.*'\n")


def test_columns_is_honoured_when_output_is_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "132")
    assert Env.from_process().width == 132
    monkeypatch.setenv("COLUMNS", "wide")
    assert Env.from_process().width == 80


@pytest.mark.parametrize(
    ("field", "identifier"),
    [
        ("flow_id", True),
        ("actor.id", True),
        ("id.orig_p", True),
        ("src_port", True),
        ("EventID", True),
        ("ProcessId", True),
        ("pid", True),
        ("orig_bytes", False),
        ("count", False),
        ("paid", False),
    ],
)
def test_identifier_names(field: str, identifier: bool) -> None:
    assert is_identifier_field(field) is identifier
    shown = display_cell(812065966895884, field, UTC).text
    assert shown == ("812065966895884" if identifier else "812,065,966,895,884")


def test_long_names_are_cut_in_the_middle_and_stay_distinct() -> None:
    names = [
        "userIdentity.sessionContext.attributes.creationDate",
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        "userIdentity.sessionContext.sessionIssuer.type",
    ]
    cut = [cut_middle(n, 20) for n in names]
    assert cut == ["userIde…creationDate", "userIde…uthenticated", "userIde…nIssuer.type"]
    assert len(set(cut)) == 3 and all(len(c) == 20 for c in cut)
    assert cut_middle("short", 20) == "short"


def test_width_plan_narrows_the_widest_text_column_first() -> None:
    assert plan_widths([10, 30, 5], [10, 8, 5], 80) is None
    assert plan_widths([10, 30, 5], [10, 8, 5], 30) == [10, 11, 5]


def test_a_correlate_table_keeps_different_long_fields_apart() -> None:
    from mfq.render import OutputFormat, render

    names = [
        "userIdentity.sessionContext.attributes.creationDate",
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        "userIdentity.sessionContext.sessionIssuer.type",
    ]
    table = pa.table({"field": names, "value": ["x", "y", "z"], "events": [1, 2, 3]})
    out = io.StringIO()
    render(table, OutputFormat.TABLE, Env(stdout=out, width=40))
    shown = [line.split()[0] for line in out.getvalue().splitlines()[2:]]
    assert len(set(shown)) == 3, shown
    assert all(s.startswith("userId") and "…" in s for s in shown)


def test_high_cardinality_integers_are_shown_as_written(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    # `record` is not named like an id, but its values are: all different, ten digits.
    rows = [event(i, record=4_000_000_000 + i, bytes=1_000_000_000 + (i % 2)) for i in range(6)]
    store = str(tmp_path / "s")
    assert (
        CliRunner().invoke(cli, ["ingest", str(write_ndjson(rows)), "--store", store]).exit_code
        == 0
    )
    code, out, err = _events("--store", store, "--fields", "record,bytes")
    assert code == 0, err
    assert [line.split() for line in out.splitlines()[3:5]] == [
        ["4000000000", "1,000,000,000"],  # a quantity that repeats keeps its separators
        ["4000000001", "1,000,000,001"],
    ]
