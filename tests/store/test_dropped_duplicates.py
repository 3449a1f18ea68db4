"""A duplicate that ingest lets go decides nothing about the events it keeps: ingesting a
file with repeated ids gives the store that ingesting it without the repeats gives
(column types, values, ``mfq schema``), within a chunk, across chunks and across ingests;
``mfq query FILE`` reads such a file as the store holds it."""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.api import Store, open_store
from mfq.cli.files import MODE_ENV
from mfq.cli.main import cli
from mfq.ingest import fastpath
from mfq.ingest.kept import SourceRows
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.sources import expand_sources
from mfq.query.direct import reader
from mfq.query.direct.store import HeldStorage
from mfq.settings import DEFAULT_SETTINGS, Settings

ONE_CHUNK = DEFAULT_SETTINGS
#: A few records a chunk, a few events a file: duplicates fall in other chunks and files.
SMALL = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=300, flush_rows=3)


def _line(ident: str, second: int, **attributes: object) -> str:
    time = f"2026-01-0{1 + second % 2}T00:00:{second:02d}Z"
    record = {"id": ident, "type": "t", "timestamp": time, "attributes": attributes}
    return json.dumps(record)


def _store(folder: Path, name: str, files: Sequence[Sequence[str]], config: Settings) -> Store:
    store = open_store(folder / name, settings=config)
    for number, lines in enumerate(files):
        path = folder / f"{name}-{number}.ndjson"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        store.ingest([path])
    return store


# -- the hand-built case ---------------------------------------------------------------------

REPEATED = [
    _line("a", 0, x=1),
    _line("b", 1, x=3),
    _line("a", 2, x="text"),  # a's duplicate: dropped, so x stays whole numbers
]


def _schema_row(store: Store, name: str) -> dict[str, Any]:
    rows = {row["field"]: row for row in store.schema_records()}
    return rows[name]


def test_a_dropped_duplicate_does_not_make_a_column_mixed(tmp_path: Path) -> None:
    store = _store(tmp_path, "s", [REPEATED], ONE_CHUNK)
    expected = {
        "field": "x",
        "type": "integer",
        "present": 100.0,
        "distinct": 2,
        "top_values": ["1 (1)", "3 (1)"],
        "mixed": False,
    }
    assert _schema_row(store, "x") == expected
    exact = {row["field"]: row for row in store.schema_records(exact=True)}
    assert exact["x"] == expected
    events = store.events(as_arrow=True, sort=["id"])
    assert events.schema.field("x").type == pa.int64()
    assert events.column("x").to_pylist() == [1, 3]
    assert store.query(aggs=["sum(x)"], as_arrow=True).to_pylist() == [{"sum(x)": 4}]
    assert dict(store.field_types().items())["x"].value == "integer"


def test_a_dropped_duplicate_does_not_make_whole_numbers_floats(tmp_path: Path) -> None:
    """Read together, 1 and 2 beside a dropped 1.5 would come out as floats."""
    lines = [_line("a", 0, x=1), _line("b", 1, x=2), _line("a", 2, x=1.5), _line("c", 3, x=5)]
    store = _store(tmp_path, "s", [lines], ONE_CHUNK)
    events = store.events(as_arrow=True, sort=["id"])
    assert events.schema.field("x").type == pa.int64()
    assert events.column("x").to_pylist() == [1, 2, 5]
    assert _schema_row(store, "x")["type"] == "integer"


def test_an_id_already_stored_does_not_change_the_stored_type(tmp_path: Path) -> None:
    """Across ingests: the second file's "a" is stored already; its text is no value."""
    second = [_line("a", 2, x="text", y=True), _line("c", 3, x=7)]
    store = _store(tmp_path, "s", [REPEATED[:2], second], ONE_CHUNK)
    row = _schema_row(store, "x")
    assert (row["type"], row["mixed"], row["top_values"]) == (
        "integer",
        False,
        ["1 (1)", "3 (1)", "7 (1)"],
    )
    assert "y" not in {r["field"] for r in store.schema_records()}
    assert store.query(aggs=["sum(x)"], as_arrow=True).to_pylist() == [{"sum(x)": 11}]
    drift = store.schema_drift()
    assert "y" not in set(drift["field"])


def test_a_kept_event_of_mixed_values_stays_mixed(tmp_path: Path) -> None:
    """Text a kept event holds still makes the column text, and its number reads as the
    file without the duplicate gives it."""
    lines = [_line("a", 0, x=1), _line("b", 1, x="one"), _line("a", 2, x=True)]
    store = _store(tmp_path, "s", [lines], ONE_CHUNK)
    row = _schema_row(store, "x")
    assert (row["type"], row["mixed"]) == ("mixed(integer,string)", True)
    assert store.events(as_arrow=True, sort=["id"]).column("x").to_pylist() == ["1", "one"]


def test_the_file_read_directly_answers_as_the_store(tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_text("".join(line + "\n" for line in REPEATED), encoding="utf-8")
    direct = reader.read_files([str(path)], {"x"})
    held = Store(HeldStorage(direct.table, direct.classes))
    assert held.query(aggs=["sum(x)"], as_arrow=True).to_pylist() == [{"sum(x)": 4}]
    assert (direct.summary.ingested, direct.summary.duplicates) == (2, 1)
    assert direct.classes["x"] == {"integer": 1}


def test_a_repeat_that_decides_a_type_early_is_found_as_it_comes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the first chunks show a duplicate that decided a type, every column read, the
    file is read once, its duplicates found as they come from that chunk on; else it
    would be read twice. A read of the question's keys alone reads it again, whole (its
    parse declared the types the left-out duplicate taught it)."""
    path = tmp_path / "e.ndjson"
    more = [_line(f"n{i}", i % 60, x=i) for i in range(40)]
    path.write_text("".join(line + "\n" for line in [*more, *REPEATED]), encoding="utf-8")
    reads: list[bool] = []
    read_sources = reader._read_sources

    def counted(*args: Any, **kwargs: Any) -> reader.FileEvents | None:
        reads.append(args[5])  # as_they_come
        return read_sources(*args, **kwargs)

    monkeypatch.setattr(reader, "_read_sources", counted)
    answers = []
    for fields, watched in [(f, w) for f in (None, {"x"}) for w in (reader.WATCHED_EVENTS, 0)]:
        monkeypatch.setattr(reader, "WATCHED_EVENTS", watched)
        reads.clear()
        direct = reader.read_files([str(path)], fields, settings=SMALL)
        assert reads == ([False] if watched and fields is None else [False, True])
        held = Store(HeldStorage(direct.table, direct.classes))
        answers.append(held.query(aggs=["sum(x)"], as_arrow=True).to_pylist())
        assert (direct.summary.ingested, direct.summary.duplicates) == (42, 1)
        assert direct.classes["x"] == {"integer": 1}
    assert answers == [[{"sum(x)": sum(range(40)) + 4}]] * 4


def test_a_read_of_the_questions_keys_stops_at_a_repeat_that_decides_a_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read of the question's keys stops at the chunk whose left-out repeat decided a
    type (the files are read again whole, so what it would read on counts for nothing);
    the read again takes every chunk, and the answer is the store's."""
    path = tmp_path / "e.ndjson"
    more = [_line(f"n{i}", i % 60, x=i) for i in range(2000)]  # (past the first 64 KiB read)
    path.write_text("".join(line + "\n" for line in [*REPEATED, *more]), encoding="utf-8")
    taken: dict[bool, list[list[str]]] = {True: [], False: []}  # ids per chunk, per read
    add = reader._Batch.add

    def counted(batch: reader._Batch, chunk: Any) -> int:
        taken[batch.projected].append(chunk.table.column("id").to_pylist())
        return add(batch, chunk)

    monkeypatch.setattr(reader._Batch, "add", counted)
    direct = reader.read_files([str(path)], {"x"}, settings=SMALL)
    first_read = [ident for ids in taken[True] for ident in ids]
    assert first_read.count("a") == 2 and "a" in taken[True][-1]  # stopped at the repeat
    assert len(first_read) < 1000
    assert sum(len(ids) for ids in taken[False]) == 2003  # every chunk, the repeat in it
    held = Store(HeldStorage(direct.table, direct.classes))
    assert held.query(aggs=["sum(x)"], as_arrow=True).to_pylist() == [
        {"sum(x)": sum(range(2000)) + 4}
    ]
    assert (direct.summary.ingested, direct.summary.duplicates) == (2002, 1)


def test_a_repeat_deciding_a_type_in_the_first_of_three_files_stops_that_read_and_no_other(
    tmp_path: Path,
) -> None:
    """The read stops in the first file (the second and third are not opened for it, so
    no content hash of theirs is asked for before it is read); the read again takes every
    file, a copy of the first skipped as a repeated source, as ingest does."""
    first = tmp_path / "1.ndjson"
    more = [_line(f"n{i}", i % 60, x=i) for i in range(2000)]
    first.write_text("".join(line + "\n" for line in [*REPEATED, *more]), encoding="utf-8")
    copy = tmp_path / "2.ndjson"
    copy.write_bytes(first.read_bytes())
    third = tmp_path / "3.ndjson"
    third.write_text(
        "".join(_line(f"m{i}", i % 60, x=i) + "\n" for i in range(500)) + "not json\n",
        encoding="utf-8",
    )
    names = [str(first), str(copy), str(third)]
    direct = reader.read_files(names, {"x"}, settings=SMALL)
    with tempfile.TemporaryDirectory() as scratch, open_store(scratch) as store:
        summary = store.ingest(names)
        counted = ("read", "ingested", "duplicates", "rejected", "rejects_by_reason")
        for name in (*counted, "skipped_sources", "skipped_files"):
            assert getattr(direct.summary, name) == getattr(summary, name), name
        held = Store(HeldStorage(direct.table, direct.classes))
        question = {"aggs": ["sum(x)", "count"], "as_arrow": True}
        assert held.query(**question).to_pylist() == store.query(**question).to_pylist()
    assert (direct.summary.ingested, direct.summary.skipped_sources) == (2502, 1)


# -- the property ----------------------------------------------------------------------------

VALUES = (
    st.integers(-3, 3)
    | st.sampled_from([0.5, 2.0, -1.25])
    | st.sampled_from(["a", "1", "true", ""])
    | st.booleans()
    | st.none()
)
RECORDS = st.tuples(
    st.sampled_from("abcdefg"),
    st.integers(0, 59),
    st.dictionaries(st.sampled_from(["x", "y", "z"]), VALUES, max_size=3),
)
CONFIGS = st.sampled_from(
    [
        ONE_CHUNK,
        SMALL,
        dataclasses.replace(SMALL, chunk_bytes=1000, flush_rows=1000),
        dataclasses.replace(SMALL, fast_path=False),
    ]
)


def _lines(records: list[tuple[str, int, dict[str, object]]]) -> list[str]:
    return [_line(ident, second, **attributes) for ident, second, attributes in records]


def _without_repeats(lines: list[str], stored: set[str]) -> list[str]:
    """The lines whose id neither an earlier line nor the store holds (first kept)."""
    seen, kept = set(stored), []
    for line in lines:
        ident = json.loads(line)["id"]
        if ident not in seen:
            kept.append(line)
        seen.add(ident)
    return kept


def _numbers_as_one(text: str) -> str:
    """A mixed type's classes with integers and floats as one: how many values a field
    reads as integers is the reader's (pyarrow reads 1 beside 1.5 as 1.0, a float), and
    where its blocks end moves with every line left out."""
    found = re.fullmatch(r"mixed\((.*)\)", text)
    if found is None:
        return text
    classes = set(found.group(1).split(","))
    if "float" in classes:
        classes.discard("integer")
    return "mixed(" + ",".join(sorted(classes)) + ")"


def _contents(store: Store) -> dict[str, Any]:
    """What a store holds: events (their column types and values, by id), schema rows
    (by field; the rows' order follows where keys first appear), drift, field types."""
    events = store.events(as_arrow=True, sort=["id"])
    columns = {f.name: str(f.type) for f in events.schema}
    schema = {}
    for row in store.schema_records():
        schema[row["field"]] = {**row, "type": _numbers_as_one(row["type"])}
    exact = {row["field"]: _numbers_as_one(row["type"]) for row in store.schema_records(exact=True)}
    # (less the sources: the two stores' files have their own names)
    drift = store.schema_drift().drop(columns="sources").sort_values(["day", "field"])
    types = {name: kind.value for name, kind in store.field_types().items()}
    return {
        "columns": columns,
        "rows": events.to_pylist(),
        "schema": schema,
        "exact": exact,
        "drift": drift.to_dict("records"),
        "types": types,
    }


def _direct(
    path: Path,
    config: Settings,
    as_they_come: bool,
    watched: int,
    fields: frozenset[str] | None = None,
) -> dict[str, Any]:
    """``mfq query FILE``'s events: duplicates found when the reading ends (read again
    as they come where one may have decided a type, unless the first ``watched`` events
    showed it: then found as they come from that chunk on), or found as they come
    (stdin); every field, or ``fields`` parsed alone (the projection)."""
    sources = expand_sources([str(path)])
    options = NormalizeOptions()
    read = reader._read_sources(sources, fields, options, config, None, as_they_come, watched)
    if read is None:
        assert not as_they_come
        read = reader.read_files([str(path)], None, settings=config)
    held = Store(HeldStorage(read.table, read.classes))
    events = read.table.sort_by("id")
    for index, f in enumerate(events.schema):  # (the columns of a projected read, held)
        if pa.types.is_dictionary(f.type):
            events = events.set_column(index, f.name, events[index].cast(f.type.value_type))
    return {
        "columns": {f.name: str(f.type) for f in events.schema},
        "rows": events.to_pylist(),
        "types": {name: kind.value for name, kind in held.field_types().items()},
        "ingested": read.summary.ingested,
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    earlier=st.lists(RECORDS, max_size=4), records=st.lists(RECORDS, max_size=14), config=CONFIGS
)
@example(
    earlier=[], records=[("a", 0, {"x": 1}), ("b", 1, {"x": 3}), ("a", 2, {"x": "t"})], config=SMALL
)
def test_ingest_stores_what_the_file_without_its_repeats_stores(
    earlier: list[tuple[str, int, dict[str, object]]],
    records: list[tuple[str, int, dict[str, object]]],
    config: Settings,
) -> None:
    """Random ids from a small pool, values of random types for a few keys, chunks of a
    few records, and a store that may hold some of the ids already."""
    before, lines = _lines(earlier), _lines(records)
    stored = {json.loads(line)["id"] for line in before}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        repeated = _store(folder, "repeated", [before, lines], config)
        plain = _store(folder, "plain", [before, _without_repeats(lines, stored)], config)
        assert _contents(repeated) == _contents(plain)
        if lines and not before:
            # ``mfq query FILE``: the events and types an ingest into an empty store keeps.
            path = folder / "repeated-1.ndjson"
            store = _contents(repeated)
            for as_they_come, watched in ((False, 0), (False, 2), (False, 1000), (True, 0)):
                _same_events(_direct(path, config, as_they_come, watched), store)
            # Standard input, the question's fields parsed alone (the projection) from a
            # small first block on: the kept events' types and values are the store's.
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(fastpath, "PROBE_BLOCK_BYTES", 512)
                projected = _direct(path, config, True, 0, frozenset(["id", "x", "y", "z"]))
            _same_events(projected, store, every=False)


def _same_events(direct: dict[str, Any], store: dict[str, Any], *, every: bool = True) -> None:
    """The columns read directly are the store's, with its types and values; a column a
    stored event holds a value of is one of them (with ``every``: all columns read)."""
    names = set(direct["columns"])
    assert {n: t for n, t in store["columns"].items() if n in names} == direct["columns"]
    held = [{n: v for n, v in row.items() if n in names} for row in store["rows"]]
    assert direct["rows"] == held
    valued = {n for row in store["rows"] for n, v in row.items() if v is not None}
    assert valued <= names or not every
    types = {n: t for n, t in direct["types"].items() if every or n in names}
    assert {n: t for n, t in store["types"].items() if n in names} == types


@pytest.mark.parametrize("mode", ["direct", "store"])
def test_mfq_query_on_a_file_or_stdin_sums_the_kept_values(tmp_path: Path, mode: str) -> None:
    """Through the CLI: a file (duplicates found when the reading ends, then read again)
    and standard input (found as they come), directly and through a temporary store."""
    text = "".join(line + "\n" for line in REPEATED)
    path = tmp_path / "e.ndjson"
    path.write_text(text, encoding="utf-8")
    args = ["query", "--agg", "sum(x)", "--group-by", "type", "--format", "json"]
    for source, given_input in ((str(path), None), ("-", text)):
        result = CliRunner().invoke(cli, [*args, source], input=given_input, env={MODE_ENV: mode})
        assert (result.exit_code, result.stderr) == (0, "")
        assert json.loads(result.stdout) == [{"type": "t", "sum(x)": 4}]


def test_duplicates_of_one_class_per_field_are_settled_without_a_second_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual duplicate (the same record again, or other values of the same classes)
    only takes its counts away: no record is validated again."""

    def refuse(self: SourceRows, events: object) -> None:
        raise AssertionError("validated again")

    monkeypatch.setattr(SourceRows, "validate", refuse)
    lines = [_line("a", 0, x=1, f=0.5, s="u"), _line("b", 1, x=2, f=1.5), _line("c", 2, s="v")]
    lines += [_line("a", 3, x=9, f=2.25, s="w"), lines[1]]
    store = _store(tmp_path, "s", [lines], ONE_CHUNK)
    rows = {row["field"]: row for row in store.schema_records()}
    assert {name: rows[name]["type"] for name in "xfs"} == {
        "x": "integer",
        "f": "float",
        "s": "string",
    }
    assert rows["s"]["top_values"] == ["u (1)", "v (1)"]
    events = store.events(as_arrow=True, sort=["id"], fields=["id", "x", "f", "s"])
    assert events.to_pylist() == [
        {"id": "a", "x": 1, "f": 0.5, "s": "u"},
        {"id": "b", "x": 2, "f": 1.5, "s": None},
        {"id": "c", "x": None, "f": None, "s": "v"},
    ]


def test_a_named_pipe_is_read_once_and_sums_the_kept_values(tmp_path: Path) -> None:
    """A named pipe (or a process substitution) is read once, its duplicates found as
    they come: reading it again for the rare case found it empty ("unknown field 'x'")
    or waited forever for a writer (found in review)."""
    import os
    import subprocess
    import sys
    import threading

    pipe = tmp_path / "events.pipe"
    os.mkfifo(pipe)
    text = "".join(line + "\n" for line in REPEATED).encode()

    def feed() -> None:
        with pipe.open("wb") as writer:
            writer.write(text)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    args = ["query", str(pipe), "--agg", "sum(x)", "--group-by", "type", "--format", "json"]
    done = subprocess.run(
        [sys.executable, "-m", "mfq", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    feeder.join(timeout=10)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == [{"type": "t", "sum(x)": 4}]
