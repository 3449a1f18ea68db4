"""The field budget (``Settings.max_fields``) is claimed in input order: which keys become
columns and which are folded into ``_overflow`` is the input's alone, the same on every
read, and what reading the source record by record gives (not the parse workers' timing).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfq.ingest import fastpath
from mfq.ingest.columns import STANDARD_NAMES, FieldBudget
from mfq.ingest.containers import _lines_chunk
from mfq.ingest.fastpath import FastPathState, _too_wide, validate_chunk_fast
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.pipeline import read_source
from mfq.ingest.screen import screen_chunk
from mfq.ingest.sources import Source
from mfq.ingest.validate import normalise_records, validate_chunk
from mfq.settings import DEFAULT_SETTINGS, Settings
from tests.conftest import SHARED_REAL

#: Small chunks (each one block), so the workers parse a few chunks ahead of the settling.
SMALL = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=4096, max_record_bytes=2048)

#: What a read stored: the attribute columns, and each event's attributes (nulls left out).
Stored = tuple[list[str], list[dict[str, object]], int]


def event(i: int, attributes: dict[str, object], *, record_path: bool = False) -> str:
    """One line; a leading space keeps it from the vectorised parse (the record path)."""
    text = json.dumps({"id": f"e{i}", "type": "t", "timestamp": 1_700_000_000 + i, **attributes})
    return " " + text if record_path else text


#: Records with no attributes, past the first chunk (which holds the 64 KiB read for the
#: profile's detection): later records then fall in many small chunks and blocks.
FILLER = [event(-1 - i, {}) for i in range(1_100)]


def stored(path: Path, settings: Settings) -> Stored:
    reading = read_source(Source(path.name, path), NormalizeOptions(), settings)
    columns: set[str] = set()
    rows: list[dict[str, object]] = []
    overflowed = 0
    for chunk in reading.chunks:
        columns.update(n for n in chunk.table.column_names if n not in STANDARD_NAMES)
        overflowed += chunk.counters.overflowed
        for row in chunk.table.to_pylist():
            kept = {k: v for k, v in row.items() if v is not None and k not in STANDARD_NAMES}
            rows.append({"id": row["id"], **kept})
    return sorted(columns), rows, overflowed


def record_by_record(path: Path, settings: Settings) -> Stored:
    """The reference: every chunk through the record path, in one thread's order."""
    return stored(path, dataclasses.replace(settings, fast_path=False))


def write(directory: Path, lines: list[str]) -> Path:
    path = directory / "export.ndjson"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_keys_past_the_budget_are_those_reading_record_by_record_folds(tmp_path: Path) -> None:
    # e2 goes record by record inside the block the others are parsed in; its ``b`` comes
    # before e4's ``e`` in the input, so ``b`` is the fourth column and ``e`` is folded
    # (the block's vectorised rows used to claim a, c, d, e first and fold e2's b).
    lines = [
        event(1, {"a": 1}),
        event(2, {"b": 2}, record_path=True),
        event(3, {"c": 3, "d": 4}),
        event(4, {"e": 5, "a": 6}),
        event(5, {"c": 7, "e": 8}),
    ]
    path = write(tmp_path, lines)
    budget = dataclasses.replace(SMALL, max_fields=4)
    columns, rows, overflowed = stored(path, budget)
    assert columns == ["_overflow", "a", "b", "c", "d"]
    assert rows == [
        {"id": "e1", "a": 1},
        {"id": "e2", "b": 2},
        {"id": "e3", "c": 3, "d": 4},
        {"id": "e4", "a": 6, "_overflow": '{"e": 5}'},
        {"id": "e5", "c": 7, "_overflow": '{"e": 8}'},
    ]
    assert overflowed == 2
    assert (columns, rows, overflowed) == record_by_record(path, budget)


def test_rows_bringing_no_new_key_stay_vectorised_past_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The budget is full after e299; then only e301 (record path) brings a new key: it is
    # folded, and its block's other rows are not read again one by one.
    normalised: list[int] = []
    original = normalise_records

    def counting(records, numbers, options):  # type: ignore[no-untyped-def]
        normalised.append(len(records))
        return original(records, numbers, options)

    monkeypatch.setattr(fastpath, "normalise_records", counting)
    # Keys k0..k9 two at a time, 60 records each, in chunks of about 50 records (a block
    # holding more fields than the budget would be too wide: three standard ones count).
    lines = [event(i, {f"k{i // 60 * 2}": i, f"k{i // 60 * 2 + 1}": i}) for i in range(300)]
    lines += [event(300, {"k0": 0}), event(301, {"z": 1}, record_path=True)]
    lines += [event(i, {"k1": i}) for i in range(302, 330)]
    path = write(tmp_path, FILLER + lines)
    budget = dataclasses.replace(SMALL, max_fields=10)
    outcome = stored(path, budget)
    columns, rows, overflowed = outcome
    assert columns == ["_overflow", *(f"k{k}" for k in range(10))] and overflowed == 1
    assert rows[len(FILLER) + 300 : len(FILLER) + 303] == [
        {"id": "e300", "k0": 0},
        {"id": "e301", "_overflow": '{"z": 1}'},
        {"id": "e302", "k1": 302},
    ]
    assert normalised == [1]
    assert outcome == record_by_record(path, budget)


def test_a_block_whose_fields_all_fit_keeps_its_vectorised_rows(tmp_path: Path) -> None:
    # Under the budget nothing is folded, whichever path each row took.
    lines = [event(i, {f"k{i % 5}": i}, record_path=i % 7 == 0) for i in range(40)]
    path = write(tmp_path, lines)
    budget = dataclasses.replace(SMALL, max_fields=5)
    columns, rows, overflowed = stored(path, budget)
    assert columns == ["k0", "k1", "k2", "k3", "k4"] and overflowed == 0
    assert rows == [{"id": f"e{i}", f"k{i % 5}": i} for i in range(40)]


def test_a_block_too_wide_and_the_rest_of_the_source_go_record_by_record(
    tmp_path: Path,
) -> None:
    # After the filler (the first chunk), chunks of about 50 records: e60 alone holds more
    # keys than the budget, so from its block on records are read one by one, claiming
    # keys in row order (w0 fills the budget after a, b, c).
    wide: dict[str, object] = {f"w{k}": k for k in range(6)}
    lines = [event(i, {"abc"[i % 3]: i}) for i in range(60)]
    lines += [event(60, wide), *(event(i, {"a": i, "d": i}) for i in range(61, 200))]
    path = write(tmp_path, FILLER + lines)
    budget = dataclasses.replace(SMALL, max_fields=4)
    outcome = stored(path, budget)
    columns, rows, overflowed = outcome
    assert columns == ["_overflow", "a", "b", "c", "w0"]
    assert rows[len(FILLER) + 59 : len(FILLER) + 62] == [
        {"id": "e59", "c": 59},
        {"id": "e60", "w0": 0, "_overflow": json.dumps({f"w{k}": k for k in range(1, 6)})},
        {"id": "e61", "a": 61, "_overflow": '{"d": 61}'},
    ]
    assert overflowed == 140
    assert outcome == record_by_record(path, budget)


def test_too_wide_counts_only_the_fields_a_block_holds() -> None:
    # A block parsed with the types learned from another holds a column for each learned
    # key: they must not count, or the switch would follow which block was parsed first.
    state = FastPathState(budget=None)
    learned_only = pa.table(
        {
            "a": pa.array([1, 2]),
            "unseen": pa.nulls(2, pa.int64()),
            "nested": pa.array([None, None], pa.struct([("x", pa.int64()), ("y", pa.int64())])),
        }
    )
    state.budget = FieldBudget(1)
    assert not _too_wide(learned_only, state)
    held = learned_only.set_column(2, "nested", pa.array([{"x": 1, "y": None}, None]))
    assert _too_wide(held, state)  # a and nested.x: two fields past a budget of one


def reviewer_lines() -> list[str]:
    """Every 40th record goes record by record and brings a key of its own (s*), the
    others one shared per 40 (f*): 1,000 distinct keys against a budget of 40, in many
    chunks the workers parse ahead of the settling; now and then a line too long for a
    record, a chunk of its own settled by the record path between the others."""
    lines = []
    for i in range(20_000):
        k = i // 40
        if i % 2_500 == 1_000:
            lines.append('{"id": "long", "pad": "' + "x" * 3000 + '"}')
        if i % 40 == 0:
            lines.append(event(i, {f"s{k}": 1}, record_path=True))
        else:
            lines.append(event(i, {f"f{k}": 1}))
    return lines


def test_the_same_source_stores_the_same_columns_on_every_read(tmp_path: Path) -> None:
    path = write(tmp_path, reviewer_lines())
    budget = dataclasses.replace(SMALL, max_fields=40)
    reference = record_by_record(path, budget)
    columns, _rows, overflowed = reference
    # Record by record, the keys come s0 f0 s1 f1 ...: the first 20 of each are columns.
    assert columns == sorted(
        ["_overflow", *(f"s{k}" for k in range(20)), *(f"f{k}" for k in range(20))]
    )
    assert overflowed == 20_000 - 800
    for _ in range(6):
        assert stored(path, budget) == reference


lines_of_keys = st.lists(
    st.tuples(
        st.lists(st.sampled_from([f"k{k}" for k in range(12)]), max_size=4, unique=True),
        st.booleans(),  # through the record path
        st.integers(0, 40),  # padding, so chunks end at different records
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=lines_of_keys,
    max_fields=st.integers(0, 10),
    chunk_bytes=st.sampled_from([512, 1024, 4096]),
)
def test_stored_columns_equal_reading_record_by_record(
    lines: list[tuple[list[str], bool, int]], max_fields: int, chunk_bytes: int
) -> None:
    texts = [
        event(i, {**dict.fromkeys(keys, i), "pad": "x" * pad}, record_path=slow)
        for i, (keys, slow, pad) in enumerate(lines)
    ]
    budget = dataclasses.replace(
        SMALL, max_fields=max_fields, chunk_bytes=chunk_bytes, max_record_bytes=512
    )
    with tempfile.TemporaryDirectory() as directory:
        path = write(Path(directory), FILLER + texts)
        assert stored(path, budget) == record_by_record(path, budget)


def test_a_block_its_worker_finds_past_the_budget_reads_as_record_by_record() -> None:
    # The budget is full before the block is parsed: the worker gives the block up on
    # seeing z, and the settling reads it one by one, as it would have from the rows.
    lines = [event(1, {"a": 1}), event(2, {"z": 2}), event(3, {"a": 3}, record_path=True)]
    data = "\n".join(lines).encode()
    chunk = screen_chunk(_lines_chunk(data, 1)[0], 2048, 64)

    def full() -> FieldBudget:
        budget = FieldBudget(1)
        budget.admit_all(["a"])
        return budget

    fast = validate_chunk_fast(chunk, NormalizeOptions(), FastPathState(budget=full()))
    slow = validate_chunk(chunk, NormalizeOptions(), full())
    assert fast.table.to_pylist() == slow.table.to_pylist()
    assert fast.table.column("_overflow").to_pylist() == [None, '{"z": 2}', None]
    assert fast.counters == slow.counters


def test_a_records_own_overflow_is_folded_with_its_keys_past_the_budget() -> None:
    """A record holding an ``_overflow`` key of its own and keys past the budget keeps
    both: its own value was overwritten by the folded keys (found in review)."""
    budget = FieldBudget(limit=1)
    rows: list[dict[str, object]] = [{"a": 1}, {"_overflow": "mine", "b": 2}, {"_overflow": 3}]
    assert budget.fold(rows) == 1
    assert rows == [
        {"a": 1},
        {"_overflow": '{"_overflow": "mine", "b": 2}'},
        {"_overflow": 3},  # (nothing past the budget: its own value stays as it was)
    ]


def _block(rows: list[dict[str, object]]) -> pa.Table:
    """A parsed block of ``rows``: a column for every key, null where a row lacks it."""
    keys = dict.fromkeys(k for row in rows for k in row)
    return pa.table({k: [row.get(k) for row in rows] for k in keys})


def test_wide_records_sharing_their_keys_are_not_too_wide() -> None:
    """300 keys in 12 records, each holding most of them: GitHub's events look so (490
    keys in their first 12). Before, any block of more than 256 keys and fewer than
    twice as many rows went record by record: every GitHub event, 200 µs each."""
    state = FastPathState(budget=FieldBudget(1000))
    shared = _block([{f"k{k}": k for k in range(300) if k % 12 != i} for i in range(12)])
    assert not _too_wide(shared, state)


def test_records_bringing_keys_of_their_own_are_too_wide() -> None:
    state = FastPathState(budget=FieldBudget(1000))
    # 12 records of 30 keys each, none shared: 360 keys, half of them in the later rows.
    own = _block([{f"r{i}k{k}": k for k in range(30)} for i in range(12)])
    assert _too_wide(own, state)
    # 20 keys shared by all, 25 more in each record: the later half brings 150 of 320.
    mixed = _block(
        [
            {**{f"s{k}": k for k in range(20)}, **{f"r{i}k{k}": k for k in range(25)}}
            for i in range(12)
        ]
    )
    assert _too_wide(mixed, state)
    # Three records of 100 keys each are too few to tell: record by record, as before.
    few = _block([{f"k{k}": k for k in range(100 * i, 100 * i + 100)} for i in range(3)])
    assert _too_wide(few, state)
    assert not _too_wide(few, FastPathState(budget=None))


def test_github_events_are_vectorised_and_stored_as_record_by_record() -> None:
    path = next((SHARED_REAL / "gharchive").glob("*.jsonl"))
    assert stored(path, DEFAULT_SETTINGS) == record_by_record(path, DEFAULT_SETTINGS)
