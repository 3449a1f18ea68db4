"""``mfq query|events|timeseries FILE``: read directly, the same answers, rejects summary
and errors as through a temporary store (``MFQ_FILE_QUESTIONS=store``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mfq.cli.files import MODE_ENV
from mfq.cli.main import cli

LINES = [
    '{"id": 1, "attributes": {"type": "login", "timestamp": "2026-11-03T10:00:00Z", "ms": 5}}',
    '{"id": 2, "attributes": {"type": "login", "timestamp": "2026-11-03T10:01:00Z", "ms": 7}}',
    '{"id": 2, "attributes": {"type": "login", "timestamp": "2026-11-03T10:01:00Z", "ms": 7}}',
    '{"id": 3, "type": "logout", "timestamp": "2026-11-03T10:02:00Z", "region": "eu"}',
    '{"id": 4, "type": "logout", "region": "eu"}',
    "not json",
]
REJECTS = (
    "mfq: 2 of 6 records rejected (missing_timestamp 1, not_json 1): "
    "ingest the files to see them with 'mfq rejects'\n"
)


def invoke(mode: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={MODE_ENV: mode})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def both(*args: str) -> tuple[int, str, str]:
    """The answer read directly, checked equal to the answer through a store."""
    direct = invoke("direct", *args)
    assert direct == invoke("store", *args)
    return direct


def test_query_on_a_file_counts_each_id_once_and_summarises_rejects(export: Path) -> None:
    code, out, err = both("query", str(export), "--group-by", "type", "--format", "json")
    assert code == 0
    assert json.loads(out) == [{"type": "login", "count": 2}, {"type": "logout", "count": 1}]
    assert err == REJECTS


def test_a_filter_and_a_percentile_on_a_file(export: Path) -> None:
    args = ["--where", "exists(ms)", "--agg", "p50(ms) as p50", "--agg", "sum(ms)"]
    code, out, _err = both("query", str(export), *args, "--format", "json")
    assert (code, json.loads(out)) == (0, [{"p50": 6.0, "sum(ms)": 12}])


def test_events_and_timeseries_on_a_file(export: Path) -> None:
    fields = ["--fields", "id,type,region", "--format", "csv"]
    code, out, _err = both("events", str(export), *fields)
    assert (code, out) == (0, "id,type,region\n1,login,\n2,login,\n3,logout,eu\n")
    code, out, _err = both("timeseries", str(export), "--every", "1m", "--format", "csv")
    assert code == 0
    assert out.splitlines()[1:] == [
        "2026-11-03T10:00:00Z,1",
        "2026-11-03T10:01:00Z,1",
        "2026-11-03T10:02:00Z,1",
    ]


def test_a_field_the_file_lacks_is_named_as_the_store_names_it(export: Path) -> None:
    code, _out, err = both("query", str(export), "--group-by", "regoin")
    assert code == 2
    assert "unknown field 'regoin' — did you mean 'region'?" in err


def test_a_refused_file_fails_as_before(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text('{"id": 1}\n{"id": 2}\n', encoding="utf-8")
    code, out, err = both("query", str(path), "--group-by", "type")
    assert (code, out) == (3, "")
    assert err.splitlines()[-1].startswith("mfq: error: ")


def test_questions_on_files_write_nothing(export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ingest(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a question on a file ingested it")

    monkeypatch.setattr("mfq.store.store.Storage.ingest", no_ingest)
    for args in (
        ["query", "--group-by", "type", "--where", "ms > 1"],
        ["events", "--fields", "type,ms", "--sort", "-ms"],
        ["timeseries", "--by", "type", "--agg", "max(ms)"],
    ):
        code, _out, err = invoke("direct", args[0], str(export), *args[1:], "--format", "csv")
        assert (code, err) == (0, REJECTS)


def test_questions_needing_every_field_still_read_the_whole_file(export: Path) -> None:
    code, out, _err = both("events", str(export), "--format", "json")
    assert code == 0
    assert [e["id"] for e in json.loads(out)] == ["1", "2", "3"]


def test_a_compressed_file_and_a_json_array_read_directly(tmp_path: Path, export: Path) -> None:
    import gzip

    packed = tmp_path / "export.ndjson.gz"
    packed.write_bytes(gzip.compress(export.read_bytes()))
    array = tmp_path / "export.json"
    array.write_text("[" + ",".join(line for line in LINES if line != "not json") + "]")
    for path in (packed, array):
        code, out, _err = both("query", str(path), "--group-by", "type", "--format", "json")
        assert (code, json.loads(out)) == (
            0,
            [{"type": "login", "count": 2}, {"type": "logout", "count": 1}],
        )


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mfq.demo import DemoConfig, write_export

    path = tmp_path_factory.mktemp("demo") / "demo.ndjson"
    write_export(path, DemoConfig(events=3000, seed=3))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["correlate", "--where", "status = 'error'"],  # (through a store: see docs/query.md)
        ["anomalies"],
        ["slo", "--bad", "status = 'error'", "--target", "99", "--now", "2026-12-06T00:00:00Z"],
        ["check", "count > 10", "p95(duration_ms) < 100000", "--input"],
        ["query", "--group-by", "service,status", "--agg", "p99(duration_ms)"],
        ["timeseries", "--every", "1h", "--by", "service", "--agg", "p50(duration_ms)"],
    ],
)
def test_analyses_of_a_file_answer_as_through_a_store(demo_export: Path, args: list[str]) -> None:
    code, out, err = both(*args, str(demo_export), "--format", "json")
    assert code in (0, 1), err
    assert out


def test_a_trace_in_a_file_as_through_a_store(demo_export: Path) -> None:
    where = ["--where", "exists(trace_id)", "--limit", "1", "--format", "json"]
    code, out, _err = both("events", str(demo_export), "--fields", "trace_id", *where)
    trace_id = json.loads(out)[0]["trace_id"]
    code, out, err = both("trace", trace_id, str(demo_export), "--format", "json")
    assert (code, err) == (0, "")
    spans = json.loads(out)
    assert len(spans) > 1
    assert spans[0]["depth"] == 0


def test_the_direct_read_keeps_freed_memory_for_reuse_on_glibc() -> None:
    """glibc takes both allocator settings (blocks up to 32 MiB from the heap, 128 MiB
    kept free); elsewhere nothing is set and the read goes on as it would."""
    import platform
    import sys

    from mfq.cli.files import keep_freed_memory

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory() is glibc


ONE_ARENA_PROBE = """
import ctypes, sys, threading
from mfq.cli.files import keep_freed_memory

assert keep_freed_memory(one_arena=True)
libc = ctypes.CDLL(None)
libc.malloc.restype = libc.sbrk.restype = ctypes.c_void_p
libc.malloc.argtypes, libc.sbrk.argtypes = [ctypes.c_size_t], [ctypes.c_ssize_t]
found = []
# A thread's block (a chunk's size, under the 32 MiB kept on the heap) comes from the
# one heap, below the program break: not from an arena of the thread's, mapped apart.
worker = threading.Thread(target=lambda: found.append(libc.malloc(16 << 20)))
worker.start()
worker.join()
sys.stdout.write("heap" if found[0] < libc.sbrk(0) else "apart")
"""


def test_the_direct_read_threads_allocate_from_one_heap_on_glibc() -> None:
    """The reading and parse threads share the main heap (``one_arena``): an arena of
    their own would fault a chunk's pages in afresh as it empties and fills again."""
    import platform
    import subprocess
    import sys

    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        return  # (nothing is set elsewhere: the test above holds that)
    out = subprocess.run(
        [sys.executable, "-c", ONE_ARENA_PROBE], capture_output=True, text=True, check=True
    )
    assert out.stdout == "heap"


EXIT_PROBE = """
import atexit, gc, json, sys
from mfq.cli.main import main


def report():
    # At exit (a question leaves without the interpreter's teardown after it).
    found = {{"frozen": gc.get_freeze_count(), "tracked": len(gc.get_objects())}}
    sys.stderr.write("\\n" + json.dumps(found) + "\\n")


atexit.register(report)
sys.argv = ["mfq", "query", {path!r}, "--group-by", "type", "--format", "csv"]
main()
"""


def test_the_objects_left_at_the_end_are_not_collected_again(export: Path) -> None:
    """The interpreter's exit would pass once more over every object the command left
    (60-90 ms after a question on a file's answer, freeing what the process's end frees
    anyway): the entry point freezes them, so that pass finds next to nothing."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", EXIT_PROBE.format(path=str(export))],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert result.stdout.splitlines()[0] == "type,count"
    assert report["frozen"] > 50 * max(report["tracked"], 1)


def test_a_question_that_does_not_parse_fails_as_through_a_store(export: Path) -> None:
    """The reading starts before the question is parsed; a bad ``--where`` still fails with
    the store path's one line and exit code."""
    code, out, err = both("query", str(export), "--where", "ms = = 1", "--group-by", "type")
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        "mfq: error: bad expression at column 6: expected a value after '=', found '='"
    )
    code, _out, err = both("events", str(export), "--fields", "type", "--where", "ms >")
    assert (code, err.splitlines()[-1]) == (
        2,
        "mfq: error: bad expression at column 5: expected a value after '>', found the end",
    )


def test_fields_named_as_keywords_and_functions_are_no_columns_of_the_answer(
    tmp_path: Path,
) -> None:
    """The names read early include ``count`` and ``and`` (the texts' every word); the
    answer holds the question's fields only, as through a store."""
    path = tmp_path / "words.ndjson"
    lines = [
        json.dumps({"id": i, "type": "t" if i % 2 else "u", "count": i, "and": "x", "ms": i})
        for i in range(1, 7)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stamped = [line.replace('"id"', '"timestamp": "2026-11-03T10:00:00Z", "id"') for line in lines]
    path.write_text("\n".join(stamped) + "\n", encoding="utf-8")
    args = ["--where", "ms > 1 and type = 'u'", "--agg", "count", "--agg", "sum(ms)"]
    code, out, _err = both("query", str(path), "--group-by", "type", *args, "--format", "json")
    assert (code, json.loads(out)) == (0, [{"type": "u", "count": 3, "sum(ms)": 12}])
    code, out, _err = both("events", str(path), "--fields", "id,count", "--format", "csv")
    assert (code, out.splitlines()[:2]) == (0, ["id,count", "1,1"])


def _from_stdin(export: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=export.read_bytes())
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        # split_fields reads a partly backquoted name as one: a light scan missed it, and
        # reading standard input again found it empty (found in review)
        ["events", "-", "--fields", "id,reg`ion`", "--format", "csv"],
        # ordered by a column of the answer: the store path read standard input again
        # and said "no events match" (found in review)
        ["query", "-", "--group-by", "type", "--agg", "max(ms)", "--order-by", "-max(ms)"],
        ["query", "-", "--group-by", "`type`", "--order-by", "-count", "--format", "json"],
    ],
)
def test_standard_input_answers_as_the_same_file(export: Path, args: list[str]) -> None:
    as_file = [str(export) if arg == "-" else arg for arg in args]
    code, out, err = _from_stdin(export, *args)
    assert (code, out, err) == invoke("direct", *as_file)
    assert code == 0 and out and "no events match" not in out


def test_an_unknown_field_on_standard_input_is_named(export: Path) -> None:
    code, out, err = _from_stdin(export, "query", "-", "--group-by", "regoin")
    assert (code, out) == (2, "")
    assert "unknown field 'regoin'" in err


def test_a_question_ordered_by_its_columns_reads_the_file_once(
    export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mfq.query.direct import reader

    calls: list[object] = []
    read = reader.read_files

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "read_files", counted)
    args = ["--group-by", "type", "--agg", "max(ms)", "--order-by", "-max(ms)"]
    code, out, _err = invoke("direct", "query", str(export), *args, "--format", "json")
    assert (code, json.loads(out)) == (
        0,
        [{"type": "login", "max(ms)": 7}, {"type": "logout", "max(ms)": None}],
    )
    assert len(calls) == 1


def test_a_dropped_float_on_standard_input_leaves_the_whole_numbers_exact(
    tmp_path: Path,
) -> None:
    """A duplicate holding ``x: 2.5`` in the block that teaches the projection its types,
    read from standard input (read once, never again): the later blocks' ``x`` were
    parsed as the floats declared, so 9007199254740993 came out 9007199254740992.0."""
    lines = [
        json.dumps(
            {
                "id": i,
                "type": "t",
                "timestamp": "2026-11-03T10:00:00Z",
                "x": 9007199254740993 if i == 15_000 else i % 3,
            }
        )
        for i in range(20_000)
    ]
    lines.insert(
        100, json.dumps({"id": 5, "type": "t", "timestamp": "2026-11-03T10:00:00Z", "x": 2.5})
    )
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["--agg", "max(x)", "--agg", "sum(x)", "--agg", "count", "--format", "json"]
    code, out, err = _from_stdin(path, "query", "-", *args)
    total = 9007199254740993 + sum(i % 3 for i in range(20_000) if i != 15_000)
    assert (code, err) == (0, "")
    assert json.loads(out) == [{"max(x)": 9007199254740993, "sum(x)": total, "count": 20_000}]
    assert (code, out, err) == invoke("store", "query", str(path), *args)


def _numbers_layout(huge: bool) -> tuple[int, int]:
    """How many events :func:`_numbers_export` writes, and which holds 9007199254740993.

    With an integer beyond int64, 4,000 events (about 280 KB; the first 900 or so in the
    source's first block of 64 KiB, the probe): every event of the block holding it goes
    record by record, which cost about 4 s of CPU a command at 20,000 events, and the
    smaller file fails on the same defect (whole numbers of that block left to the
    vectorised parse, ``fastpath._inexact_number_rows``). Without it, 20,000: the nested
    fraction's defect (``Projection.integral`` taking a fraction under any key of the
    name for the path's own) fails these on standard input, and did not at 4,000."""
    return (4_000, 3_000) if huge else (20_000, 15_000)


def _numbers_export(path: Path, nested: object, huge: bool) -> Path:
    """Events whose ``x`` is a whole number (9007199254740993 once), after a dropped
    duplicate holding ``x: 2.5`` (the projection then declares ``x`` a float); from the
    second block on, some records hold ``nested`` under ``o.x`` and, with ``huge``, one
    ``x`` is beyond int64 (:func:`_numbers_layout`)."""
    events, exact_at = _numbers_layout(huge)
    lines = []
    for i in range(events):
        record: dict[str, object] = {"id": i, "type": "t", "timestamp": "2026-11-03T10:00:00Z"}
        record["x"] = 9007199254740993 if i == exact_at else i % 3
        if huge and i == exact_at + 1:
            record["x"] = 2**64
        if i % 1000 == 999:
            record["o"] = {"x": nested}
        lines.append(json.dumps(record))
    lines.insert(
        100, json.dumps({"id": 5, "type": "t", "timestamp": "2026-11-03T10:00:00Z", "x": 2.5})
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("nested", "huge", "expected"),
    [
        # A float under a nested key of the same name: the projection's look for a
        # fraction after any key named ``x`` kept the top-level ``x`` a float.
        (1.5, False, {"x": 9007199254740993}),
        (2.0, False, {"x": 9007199254740993}),
        (7, False, {"x": 9007199254740993}),
        # An integer beyond int64 beside it: every ``x`` of its block read as a float.
        (1.5, True, {"x": "9007199254740993"}),
    ],
)
def test_whole_numbers_stay_exact_on_standard_input_and_in_a_file(
    tmp_path: Path, nested: object, huge: bool, expected: dict[str, object]
) -> None:
    path = _numbers_export(tmp_path / "export.ndjson", nested, huge)
    exact_at = _numbers_layout(huge)[1]
    args = ["--where", f"id = '{exact_at}'", "--fields", "id,x", "--format", "json"]
    code, out, err = _from_stdin(path, "events", "-", *args)
    assert (code, err) == (0, "")
    assert json.loads(out) == [{"id": str(exact_at), **expected}]
    assert (code, out, err) == invoke("direct", "events", str(path), *args)
    assert (code, out, err) == invoke("store", "events", str(path), *args)
    grouped = ["--group-by", "x", "--order-by", "x", "--format", "csv"]
    code, out, err = _from_stdin(path, "query", "-", *grouped)
    assert (code, out, err) == invoke("store", "query", str(path), *grouped)
    assert str(9007199254740993) in out


def test_profiled_records_read_directly_answer_as_the_store(tmp_path: Path) -> None:
    """A Kubernetes record whose literal ``objectRef.resource`` holds an object beside
    the nested one (its type is ``get``, the part left out), and a Zeek record holding
    a ``name`` alone in its file (Zeek's, not Manufactory's): each answers alike read
    directly and through a store, among others of its format and alone."""
    audit = {
        "apiVersion": "audit.k8s.io/v1",
        "stage": "ResponseComplete",
        "verb": "get",
        "requestURI": "/api/v1/services",
        "timestamp": "2026-11-16T00:00:00Z",
        "objectRef": {"resource": "svc"},
    }
    k8s = [dict(audit, auditID=f"a{i}") for i in range(300)]
    k8s[150]["objectRef.resource"] = {"group": "x"}
    zeek = {"ts": 1591367999.305988, "_path": "conn", "uid": "C1", "name": {"a": 1}}
    for name, records, expected in [
        ("k8s", k8s, [{"type": "get", "count": 1}, {"type": "get svc", "count": 299}]),
        ("zeek", [zeek], [{"type": "conn", "count": 1}]),
    ]:
        path = tmp_path / f"{name}.ndjson"
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        args = ["--group-by", "type", "--order-by", "type", "--format", "json"]
        code, out, err = both("query", str(path), *args)
        assert (code, json.loads(out), err) == (0, expected, "")
