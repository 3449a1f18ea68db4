"""Hostile and damaged input (issue 14, readers): nothing lost silently, nothing poisonous
stored, never exit 4; each limit rejects the record that breaks it and reading goes on."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

import mfq
from mfq.api import Store
from mfq.cli.main import cli
from mfq.settings import Settings
from tests.conftest import REPO, event


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def ingest_json(path: Path | str, store: Path) -> dict[str, object]:
    code, out, err = invoke("ingest", str(path), "--store", str(store), "--format", "json")
    assert code == 0, err
    summary: dict[str, object] = json.loads(out)
    return summary


def counts(summary: dict[str, object]) -> tuple[object, ...]:
    return summary["read"], summary["ingested"], summary["rejected"], summary["rejects_by_reason"]


def rejects(store: Store) -> list[tuple[int, str, str]]:
    frame = store.rejects()
    return list(zip(frame["number"], frame["code"], frame["reason"], strict=True))


def duckdb_rows(store: Path, column: str) -> list[object]:
    files = str(store / "events" / "*" / "*.parquet")
    query = f"SELECT \"{column}\" FROM read_parquet('{files}', union_by_name=true) ORDER BY id"
    return [row[0] for row in duckdb.sql(query).fetchall()]


# -- 1. container detection ----------------------------------------------------------------------


def test_ndjson_whose_first_line_is_longer_than_64_kib_is_read_as_ndjson(tmp_path: Path) -> None:
    first = event(0, events=[{"name": "retry"}], message="x" * 100_000)
    lines = [json.dumps(first)] + [json.dumps(event(i)) for i in range(1, 1000)]
    path = tmp_path / "long-first-line.ndjson"
    path.write_text("\n".join(lines) + "\n")
    summary = ingest_json(path, tmp_path / "s")
    assert counts(summary) == (1000, 1000, 0, {})


def test_one_cut_line_after_a_long_first_line_costs_only_itself(tmp_path: Path) -> None:
    lines = [json.dumps(event(i, message="y" * 70_000 * (i == 0))) for i in range(50)]
    lines[10] = lines[10][:25]  # a line cut short: as concatenated documents, it swallowed the rest
    path = tmp_path / "long.ndjson"
    path.write_text("\n".join(lines) + "\n")
    assert counts(ingest_json(path, tmp_path / "s")) == (50, 49, 1, {"not_json": 1})


# -- 2. pipes: opened once -----------------------------------------------------------------------


def test_a_named_pipe_is_read_once_and_whole(tmp_path: Path) -> None:
    fifo = tmp_path / "export.fifo"
    os.mkfifo(fifo)
    payload = "".join(json.dumps(event(i)) + "\n" for i in range(2000)).encode()

    def feed() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(payload)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    store = mfq.open_store(tmp_path / "s", create=True)
    summary = store.ingest([fifo])
    writer.join(timeout=10)
    assert (summary.read, summary.ingested, summary.rejected) == (2000, 2000, 0)
    assert store.info()["events"] == 2000


def test_process_substitution_stores_every_event(tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson"
    path.write_text("".join(json.dumps(event(i)) + "\n" for i in range(20_000)))
    mfq_cli = Path(sys.executable).parent / "mfq"
    script = f'"{mfq_cli}" ingest <(cat "{path}") --store "{tmp_path / "s"}" --format json'
    done = subprocess.run(
        ["bash", "-c", script], check=False, capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert counts(summary) == (20_000, 20_000, 0, {})


# -- 3. invalid UTF-8 never reaches Parquet ------------------------------------------------------


def test_invalid_utf8_in_a_value_is_rejected_and_the_store_stays_readable(tmp_path: Path) -> None:
    good = [json.dumps(event(i)).encode() for i in range(3)]
    bad = b'{"id":"bad","type":"t","timestamp":"2026-11-03T10:00:00Z","v":"x\xffy"}'
    path = tmp_path / "stray-byte.ndjson"
    path.write_bytes(b"\n".join([good[0], bad, good[1], good[2]]) + b"\n")
    store_dir = tmp_path / "s"
    summary = ingest_json(path, store_dir)
    assert counts(summary) == (4, 3, 1, {"not_json": 1})
    store = mfq.open_store(store_dir)
    assert rejects(store) == [
        (
            2,
            "not_json",
            "not JSON: 'utf-8' codec can't decode byte 0xff in position 64: invalid start byte",
        )
    ]
    for command in ("events", "schema", "rejects"):
        code, _out, err = invoke(command, "--store", str(store_dir), "--format", "json")
        assert code == 0, err
    assert duckdb_rows(store_dir, "id") == ["ev-0", "ev-1", "ev-2"]


def test_a_lone_surrogate_inside_a_list_value_is_rejected_like_one_in_a_string(
    tmp_path: Path,
) -> None:
    # Found by test_hostile_properties: a list kept as JSON text carried the surrogate
    # through to pyarrow, which failed the whole ingest with UnicodeEncodeError.
    records = [event(0, s="\ud800"), event(1, s=["\ud800"]), event(2, s=["ok", 1])]
    path = tmp_path / "surrogates.json"
    path.write_text(json.dumps(records))  # ASCII escapes: \ud800 as six characters
    store_dir = tmp_path / "s"
    summary = ingest_json(path, store_dir)
    assert counts(summary) == (3, 1, 2, {"not_json": 2})
    assert rejects(mfq.open_store(store_dir)) == [
        (1, "not_json", "not JSON: invalid unicode escape"),
        (2, "not_json", "not JSON: invalid unicode escape"),
    ]
    assert duckdb_rows(store_dir, "id") == ["ev-2"]


# -- 4. integers beyond int64 --------------------------------------------------------------------


def test_integers_beyond_int64_are_kept_exactly_as_decimal_text(tmp_path: Path) -> None:
    path = tmp_path / "big.ndjson"
    lines = [
        '{"id":"a","type":"t","timestamp":"2026-11-03T10:00:00Z","n":12345678901234567890,'
        '"big":123456789012345678901234567890}',
        '{"id":"b","type":"t","timestamp":"2026-11-03T10:00:01Z","n":1,"big":-99999999999999999999}',
    ]
    path.write_text("\n".join(lines) + "\n")
    store_dir = tmp_path / "s"
    assert counts(ingest_json(path, store_dir)) == (2, 2, 0, {})
    events = mfq.open_store(store_dir).events(as_arrow=True, fields=["id", "n", "big"])
    assert events.to_pylist() == [
        {"id": "a", "n": "12345678901234567890", "big": "123456789012345678901234567890"},
        {"id": "b", "n": "1", "big": "-99999999999999999999"},
    ]


# -- 5. deep nesting -----------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [257, 5000, 100_000])
@pytest.mark.parametrize("container", ["ndjson", "array"])
def test_a_deeply_nested_record_is_rejected_before_any_parser(
    tmp_path: Path, levels: int, container: str
) -> None:
    deep = '{"id":"deep","type":"t","timestamp":"2026-11-03T10:00:00Z","d":'
    deep += "[" * levels + "]" * levels + "}"
    records = [json.dumps(event(1)), deep, json.dumps(event(2, d=[[[1]]]))]
    text = "\n".join(records) + "\n" if container == "ndjson" else "[" + ",".join(records) + "]"
    path = tmp_path / f"deep.{container}"
    path.write_text(text)
    store_dir = tmp_path / "s"
    assert counts(ingest_json(path, store_dir)) == (3, 2, 1, {"too_deep": 1})
    assert rejects(mfq.open_store(store_dir)) == [
        (2, "too_deep", "nested deeper than 256 levels (max_depth)")
    ]


def test_a_first_record_nested_100000_levels_does_not_break_detection(tmp_path: Path) -> None:
    path = tmp_path / "deep-first.ndjson"
    path.write_text('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n" + json.dumps(event(1)) + "\n")
    assert counts(ingest_json(path, tmp_path / "s")) == (2, 1, 1, {"too_deep": 1})


# -- 6. bombs: one record's length is capped -----------------------------------------------------


def small_store(tmp_path: Path) -> Store:
    settings = Settings(max_record_bytes=4096, chunk_bytes=1024)
    return mfq.open_store(tmp_path / "s", create=True, settings=settings)


def test_an_overlong_line_is_rejected_and_reading_resumes_after_it(tmp_path: Path) -> None:
    lines = [json.dumps(event(1)), json.dumps(event(2, blob="z" * 20_000)), json.dumps(event(3))]
    path = tmp_path / "bomb.ndjson"
    path.write_text("\n".join(lines) + "\n")
    store = small_store(tmp_path)
    summary = store.ingest([path])
    assert (summary.read, summary.ingested, summary.rejected) == (3, 2, 1)
    reason = "record longer than the 4,096-byte limit (max_record_bytes)"
    assert rejects(store) == [(2, "too_long", reason)]
    assert store.rejects()["raw"][0].startswith('{"id": "ev-2"')


def test_a_compressed_run_of_spaces_is_blank_not_a_record(tmp_path: Path) -> None:
    path = tmp_path / "spaces.ndjson.bz2"
    path.write_bytes(bz2.compress(json.dumps(event(1)).encode() + b"\n" + b" " * 3_000_000))
    summary = small_store(tmp_path).ingest([path])
    assert (summary.read, summary.ingested, summary.rejected) == (1, 1, 0)


@pytest.mark.parametrize("pretty", [False, True])
def test_an_overlong_array_element_is_rejected_and_the_next_ones_kept(
    tmp_path: Path, pretty: bool
) -> None:
    records = [event(1), event(2, blob="z" * 20_000), event(3)]
    path = tmp_path / "bomb.json"
    path.write_text(json.dumps({"events": records}, indent=2 if pretty else None))
    store = small_store(tmp_path)
    summary = store.ingest([path])
    assert (summary.read, summary.ingested, summary.rejected) == (3, 2, 1)
    assert [(n, code) for n, code, _ in rejects(store)] == [(2, "too_long")]


def test_an_overlong_last_line_without_newline_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "tail.ndjson"
    path.write_text(json.dumps(event(1)) + "\n" + json.dumps(event(2, blob="q" * 9000)))
    store = small_store(tmp_path)
    summary = store.ingest([path])
    assert (summary.read, summary.ingested, summary.rejected) == (2, 1, 1)


# -- 7. a column budget per source ---------------------------------------------------------------


@pytest.mark.parametrize("fast_path", [True, False])
def test_fields_past_the_column_budget_are_kept_as_json_text(
    tmp_path: Path, fast_path: bool
) -> None:
    records = [event(i, req={f"k{i}": i}) for i in range(8)]
    path = tmp_path / "adding.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    settings = Settings(max_fields=5, fast_path=fast_path)
    store = mfq.open_store(tmp_path / "s", create=True, settings=settings)
    summary = store.ingest([path])
    assert (summary.read, summary.ingested, summary.warnings) == (8, 8, 3)
    rows = store.events(as_arrow=True, fields=["id", "req.k0", "req.k4", "_overflow"]).to_pylist()
    assert rows[0] == {"id": "ev-0", "req.k0": 0, "req.k4": None, "_overflow": None}
    assert rows[4]["req.k4"] == 4
    assert [r["_overflow"] for r in rows[5:]] == ['{"req.k5": 5}', '{"req.k6": 6}', '{"req.k7": 7}']


def test_ten_thousand_events_each_adding_a_key_stay_within_the_budget(tmp_path: Path) -> None:
    records = [event(i, req={f"{i:06x}": i}) for i in range(10_000)]
    path = tmp_path / "adding.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    store = mfq.open_store(tmp_path / "s", create=True)
    summary = store.ingest([path])
    assert (summary.ingested, summary.warnings) == (10_000, 9000)
    assert sum(1 for name in store.schema()["field"] if name.startswith("req.")) == 1000


# -- 8. bad keys ---------------------------------------------------------------------------------


def test_bad_keys_reject_their_record_only(tmp_path: Path) -> None:
    lines = [
        b'{"id":"a","type":"t","timestamp":"2026-11-03T10:00:00Z","\\udfff":"v"}',
        b'{"id":"b","type":"t","timestamp":"2026-11-03T10:00:00Z","__row":1}',
        b'{"id":"c","type":"t","timestamp":"2026-11-03T10:00:00Z","k\xfe":1}',
        b'{"id":"d","type":"t","timestamp":"2026-11-03T10:00:00Z","ok":1}',
    ]
    path = tmp_path / "keys.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    store_dir = tmp_path / "s"
    assert counts(ingest_json(path, store_dir)) == (4, 2, 2, {"not_json": 2})
    store = mfq.open_store(store_dir)
    assert [(n, reason[:40]) for n, _, reason in rejects(store)] == [
        (1, "not JSON: invalid unicode escape"),
        (3, "not JSON: 'utf-8' codec can't decode byt"),
    ]
    assert store.events(as_arrow=True, fields=["id", "__row", "ok"]).to_pylist() == [
        {"id": "b", "__row": 1, "ok": None},
        {"id": "d", "__row": None, "ok": 1},
    ]


# -- 10. damaged compressed input ----------------------------------------------------------------


def _zstd(data: bytes) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return bytes(sink.getvalue().to_pybytes())


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [("gz", gzip.compress), ("bz2", bz2.compress), ("zst", _zstd)],
)
def test_a_cut_compressed_file_keeps_what_was_read_and_the_batch_goes_on(
    tmp_path: Path, suffix: str, compress: Callable[[bytes], bytes]
) -> None:
    records = [event(i, note=os.urandom(40).hex()) for i in range(20_000)]
    whole = compress("".join(json.dumps(r) + "\n" for r in records).encode())
    cut = tmp_path / f"partial.ndjson.{suffix}"
    cut.write_bytes(whole[: len(whole) // 2])
    good = tmp_path / "good.ndjson"
    good.write_text(json.dumps(event(99_999)) + "\n")
    store_dir = tmp_path / "s"
    code, out, err = invoke(
        "ingest", str(cut), str(good), "--store", str(store_dir), "--format", "json"
    )
    assert code == 0, err
    summary = json.loads(out)
    read, ingested, rejected = summary["read"], summary["ingested"], summary["rejected"]
    assert read == ingested + rejected
    assert 1000 < ingested < 20_000
    assert summary["rejects_by_reason"]["truncated"] == 1
    frame = mfq.open_store(store_dir).rejects(code="truncated")
    assert list(frame["source"]) == [str(cut)]
    assert frame["reason"][0].startswith(f"{cut}: ")
    assert "input cut short or damaged" in frame["reason"][0]
    assert "ev-99999" in duckdb_rows(store_dir, "id")


def test_records_without_ids_that_are_not_utf8_are_rejected_in_a_block_of_one_shape(
    tmp_path: Path,
) -> None:
    # Ids derived by Arrow (mfq.ingest.canonicaltable, groups of 16 or more rows of one
    # key pattern) would write a text pyarrow's parser let through unchecked: the screen
    # must reject these first, as it rejects them one by one.
    lines = [b'{"type":"a","ts":%d,"msg":"caf\xe9 %d"}' % (1_600_000_000 + i, i) for i in range(40)]
    lines += [b'{"type":"a","ts":%d,"msg":"cafe %d"}' % (1_600_000_000 + i, i) for i in range(40)]
    path = tmp_path / "latin1.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = ingest_json(path, tmp_path / "s")
    assert counts(summary) == (80, 40, 40, {"not_json": 40})
