"""Questions on files read directly (``mfq.query.direct``) answer exactly as ingesting the
files into a store, then asking the store, does."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.api import Store, open_store
from mfq.errors import MfqError
from mfq.ingest import fastpath
from mfq.ingest.profiles import builtin_profile
from mfq.ingest.projection import Projection
from mfq.query.direct.fields import question_fields
from mfq.query.direct.reader import read_files
from mfq.query.direct.store import HeldStorage
from mfq.settings import DEFAULT_SETTINGS, Settings
from tests.conftest import SHARED_REAL
from tests.ingest.test_fastpath_parity import records
from tests.ingest.test_size_parity import context as size_context
from tests.ingest.test_size_parity import records as size_records
from tests.selection import selected

#: Small chunks, so that a few records already take the projected parse (the first block
#: of a source is parsed whole, as ingest parses it, to learn its types)...
SMALL_CHUNKS = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=512)
#: ...with a first block this small (``fastpath.PROBE_BLOCK_BYTES``: 64 KiB, more than
#: the small exports here hold, which a read of them would parse whole).
SMALL_PROBE = 256


@contextlib.contextmanager
def small_probe() -> Iterator[None]:
    """The first block of each source this small (see ``SMALL_PROBE``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fastpath, "PROBE_BLOCK_BYTES", SMALL_PROBE)
        yield


QUESTIONS: list[dict[str, object]] = [
    {"kind": "query", "group_by": ["type"]},
    {"kind": "query", "group_by": ["region"], "aggs": ["count", "sum(n)", "max(n)"]},
    {"kind": "query", "group_by": ["service"], "aggs": ["p50(duration_ms)", "min(note)"]},
    {"kind": "query", "group_by": ["flag"], "where": ["exists(a)"], "aggs": ["count"]},
    {"kind": "query", "group_by": ["x", "a.b"], "aggs": ["count_distinct(n)"]},
    {"kind": "events", "fields": "id,type,timestamp,region,n,note,attributes.x,actor.a"},
    # A rate over a time range that cuts some events out.
    {
        "kind": "query",
        "group_by": ["type"],
        "aggs": ["rate", "count", "avg(n)"],
        "since": "2026-11-03T09:30:00Z",
        "until": "2026-11-03T10:00:01Z",
    },
    # OTHER and TOTAL rows (percentiles and distinct counts of the groups cut).
    {
        "kind": "query",
        "group_by": ["region"],
        "aggs": ["count", "p90(n)", "count_distinct(note)", "stddev(n)"],
        "order_by": ["-count"],
        "limit": 1,
        "totals": True,
    },
    # Groups a filter or a condition can leave empty.
    {"kind": "query", "group_by": ["type"], "where": ["n > 440"], "aggs": ["count", "min(n)"]},
    {"kind": "query", "where": ["n > 1000"], "aggs": ["count", "p50(n)", "sum(n)"]},
    {"kind": "query", "group_by": ["service"], "having": "count > 1"},
    {"kind": "timeseries", "every": "1h", "by": ["type"], "top": 1, "aggs": ["count"]},
    {"kind": "timeseries", "every": "1d", "aggs": ["p50(n)", "sum(n)"], "where": ["exists(n)"]},
]


def _answers(store: Store, question: dict[str, object]) -> list[str]:
    """The answer's rows (as sorted JSON texts), or the kind of error it raised (a field
    the files lack: the CLI then asks a store, for the store's own message)."""
    try:
        return _rows(store, question)
    except MfqError as err:
        return [f"error: {type(err).__name__}"]


def _rows(store: Store, question: dict[str, object]) -> list[str]:
    options = {k: v for k, v in question.items() if k != "kind"}
    if question["kind"] == "events":
        table = store.events(as_arrow=True, sort=["id"], **selected(options))  # type: ignore[call-overload]
    elif question["kind"] == "timeseries":
        table = store.timeseries(as_arrow=True, **selected(options))  # type: ignore[call-overload]
    else:
        table = store.query(as_arrow=True, **selected(options))  # type: ignore[call-overload]
    assert isinstance(table, pa.Table)
    return sorted(json.dumps(r, default=str, sort_keys=True) for r in table.to_pylist())  # type: ignore[return-value]


def _fields(question: dict[str, object]) -> frozenset[str]:
    found = question_fields(
        where=question.get("where", ()),  # type: ignore[arg-type]
        keys=question.get("group_by", question.get("by", ())),  # type: ignore[arg-type]
        aggs=question.get("aggs", ()),  # type: ignore[arg-type]
        having=question.get("having"),  # type: ignore[arg-type]
        order_by=question.get("order_by", ()),  # type: ignore[arg-type]
        fields=[question["fields"]] if "fields" in question else (),  # type: ignore[list-item]
    )
    assert found is not None
    return found


def _compare(
    paths: list[Path],
    question: dict[str, object] | list[dict[str, object]],
    chunked: bool | Settings | list[bool | Settings] = True,
) -> None:
    """Each question (one, or a list) read directly from ``paths`` in each chunking
    (``True``: ``SMALL_CHUNKS`` and a small first block; ``False``: as ingest reads) answers
    as the store of ``paths`` does; the files are ingested once for them all (ingest runs
    with the small first block where the chunking is ``True``)."""
    names = [str(p) for p in paths]
    questions = [question] if isinstance(question, dict) else question
    chunkings = chunked if isinstance(chunked, list) else [chunked]
    probed = {c is True for c in chunkings}
    assert len(probed) == 1, "one ingest: every chunking with the small first block or none"
    probe = small_probe() if probed == {True} else contextlib.nullcontext()
    reads = [(q, _chunks(c)) for c in chunkings for q in questions]
    with probe, tempfile.TemporaryDirectory() as scratch, open_store(scratch) as store:
        try:
            summary = store.ingest(names)
        except MfqError as err:  # the direct read fails the same way
            for asked, chunks in reads:
                with pytest.raises(type(err)) as raised:
                    read_files(names, _fields(asked), settings=chunks)
                assert raised.value.message == err.message
            return
        for asked, chunks in reads:
            direct = read_files(names, _fields(asked), settings=chunks)
            held = Store(HeldStorage(direct.table, direct.classes))
            counted = ("read", "ingested", "duplicates", "rejected", "rejects_by_reason")
            for name in (*counted, "skipped_sources", "skipped_files", "profiles"):
                assert getattr(direct.summary, name) == getattr(summary, name), name
            assert direct.summary.refusals == summary.refusals
            if not summary.ingested:
                continue
            assert set(held.field_types().items()) <= set(store.field_types().items())
            assert _answers(held, asked) == _answers(store, asked)


def _chunks(chunked: bool | Settings) -> Settings:
    if isinstance(chunked, Settings):
        return chunked
    return SMALL_CHUNKS if chunked else DEFAULT_SETTINGS


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


EXPORT_LINES = st.lists(
    records().map(lambda r: json.dumps(r, ensure_ascii=False))
    | st.sampled_from(
        [
            '{"type": "x", "timestamp": 1e999}',
            "not json",
            "[1]",
            '{"a.b": 1, "a": {"b": 2}, "type": "t", "timestamp": 1}',
        ]
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=EXPORT_LINES,
    repeats=st.lists(st.integers(0, 30), max_size=4),
    question=st.sampled_from(QUESTIONS),
    files=st.sampled_from(["one", "twice", "two"]),
)
def test_direct_answer_equals_the_store_answer(
    lines: list[str], repeats: list[int], question: dict[str, object], files: str
) -> None:
    """Any small export (rejects, repeated ids, nested attributes, odd types), named once,
    twice (the repeat is skipped) or split in two files (ids repeat across them)."""
    lines = lines + [lines[i % len(lines)] for i in repeats] if lines else lines
    with tempfile.TemporaryDirectory() as folder:
        export = _write(Path(folder) / "export.ndjson", lines)
        paths = {"one": [export], "twice": [export, export]}.get(files)
        if paths is None:
            half = len(lines) // 2
            paths = [
                _write(Path(folder) / "a.ndjson", lines[:half] + lines[-1:]),
                _write(Path(folder) / "b.ndjson", lines[half:]),
            ]
        _compare(paths, question)


# -- exact small cases -----------------------------------------------------------------------

T0 = '"timestamp": "2026-11-03T10:00:00Z"'
T1 = '"timestamp": "2026-11-03T10:01:00Z"'
HAND_BUILT = [
    '{"id": 1, "attributes": {"type": "login", ' + T0 + ', "region": "eu", "ms": 5}}',
    '{"id": 2, "attributes": {"type": "login", ' + T1 + ', "region": "us", "ms": 7}}',
    '{"id": 2, "attributes": {"type": "login", ' + T1 + ', "region": "us", "ms": 7}}',
    '{"id": 3, "type": "logout", ' + T0 + ', "region": "eu", "ms": 1.5}',
    '{"id": 4, "type": "logout", "region": "eu"}',
    '{"id": 5, "type": "logout", ' + T1 + ', "region": {"nested": true}}',
    "not json",
]


def test_a_hand_built_export_gives_exact_counts(tmp_path: Path) -> None:
    export = _write(tmp_path / "e.ndjson", HAND_BUILT)
    direct = read_files([str(export)], {"type", "region", "ms"})
    summary = direct.summary
    assert (summary.read, summary.ingested, summary.duplicates, summary.rejected) == (7, 4, 1, 2)
    assert summary.rejects_by_reason == {"missing_timestamp": 1, "not_json": 1}
    held = Store(HeldStorage(direct.table, direct.classes))
    rows = held.query(
        as_arrow=True, group_by=["type", "region"], aggs=["count", "sum(ms)"]
    ).to_pylist()
    assert sorted(rows, key=lambda r: (r["type"], str(r["region"]))) == [
        {"type": "login", "region": "eu", "count": 1, "sum(ms)": 5.0},
        {"type": "login", "region": "us", "count": 1, "sum(ms)": 7.0},
        {"type": "logout", "region": None, "count": 1, "sum(ms)": None},
        {"type": "logout", "region": "eu", "count": 1, "sum(ms)": 1.5},
    ]
    assert "region.nested" not in direct.table.column_names  # not asked for: never parsed


@pytest.mark.parametrize("question", QUESTIONS[:3])
def test_the_hand_built_export_read_in_small_chunks(
    tmp_path: Path, question: dict[str, object]
) -> None:
    export = _write(tmp_path / "e.ndjson", HAND_BUILT * 20)
    _compare([export], question)


def test_keys_with_dots_or_escapes_go_to_the_record_path_and_escaped_values_do_not() -> None:
    records = [
        b'{"a":1}',
        b'{"a.b":1}',
        b'{"x":"\\u0041"}',  # an escape in a value
        b'{"\\u0078":1}',  # an escape in a key (it may spell any key)
        b'{"actor_profile":{}}',
        b'{"u":"a.b","v":2}',
        b'{"p":"C:\\\\Windows\\\\x.exe","m":"say \\"k\\": v"}',  # as in Windows, OpenStack logs
        b'{"m":"at a.b(c.java:1)\\n\\tat d.e(f.java:2)\\n\\t","k":1}',  # a trace: dots, escapes
        b'{"m":"x\\\\",":k":1}',  # an escaped backslash ends a value, a key starts with ':'
    ]
    data, starts, ends = _block(records)
    found = Projection.of(()).hazards(data, starts, ends)
    assert found.tolist() == [False, True, False, True, True, False, False, False, True]


def test_hazards_are_found_in_every_record_of_an_array() -> None:
    """Records of a JSON array are not split by newlines: each hazard is still found in
    its own record, however many one record holds."""
    import numpy as np

    records = [
        b'{"a":"\\n\\t\\""}',
        b'{"b\\"":1,"\\u0063":2}',
        b'{"c":"\\u0041"}',
        b'{"actor_profile":1}',
        b'{"\\t":1}',
    ]
    data = b"[" + b",".join(records) + b"]"
    starts, at = [], 1
    for record in records:
        starts.append(at)
        at += len(record) + 1
    ends = [s + len(r) for s, r in zip(starts, records, strict=True)]
    found = Projection.of(()).hazards(data, np.array(starts), np.array(ends))
    assert found.tolist() == [False, True, False, True, True]


#: Keys and texts dense in what JSON escapes and in what the hazard patterns look for.
ESCAPABLE_TEXT = st.text(alphabet='ab."\\:/ \t\n\x00é\u2028\ud7ff', max_size=6)
ESCAPABLE_VALUES = st.recursive(
    st.integers(0, 3) | st.none() | ESCAPABLE_TEXT,
    lambda inner: st.dictionaries(ESCAPABLE_TEXT, inner, max_size=3) | st.lists(inner, max_size=2),
    max_leaves=6,
)


def _written_keys(value: object) -> list[str]:
    keys: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            keys.append(json.dumps(key, ensure_ascii=False))
            keys += _written_keys(item)
    elif isinstance(value, list):
        for item in value:
            keys += _written_keys(item)
    return keys


@settings(max_examples=400, deadline=None)
@given(
    records=st.lists(st.dictionaries(ESCAPABLE_TEXT, ESCAPABLE_VALUES, max_size=4), max_size=5),
    ascii_only=st.booleans(),
    spaced=st.booleans(),
)
def test_every_key_written_with_an_escape_is_found(
    records: list[dict[str, object]], ascii_only: bool, spaced: bool
) -> None:
    """No key holding an escape is missed, wherever values hold escapes, quotes, colons
    and backslashes; a record whose keys hold none is flagged only for another hazard."""
    if not records:
        return
    separators = (", ", " : ") if spaced else (",", ":")
    lines = [json.dumps(r, ensure_ascii=ascii_only, separators=separators) for r in records]
    data, starts, ends = _block([line.encode() for line in lines])
    found = Projection.of(()).hazards(data, starts, ends)
    for record, flagged in zip(records, found, strict=True):
        written = [
            json.dumps(json.loads(k), ensure_ascii=ascii_only) for k in _written_keys(record)
        ]
        if any("\\" in key for key in written):
            assert flagged, record


def _escaped_export(path: Path, events: int, *, hostile: bool) -> Path:
    """Windows paths and a quoted message in every record's values; ``hostile``: some keys
    spelled with escapes, some lone surrogates and NULs in values."""
    lines = []
    for i in range(events):
        attributes = {"path": "C:\\Windows\\System32\\x.exe", "msg": 'GET "/v2/x" 200', "ms": i % 7}
        line = json.dumps(
            {
                "id": f"e{i}",
                "type": ("a", "b")[i % 2],
                "timestamp": f"2026-11-03T10:{i % 60:02d}:00Z",
                "attributes": attributes,
            }
        )
        if hostile and i % 37 == 5:  # a lone surrogate in a value the question does not read
            line = line.replace('"msg"', '"other": "\\ud800", "msg"')
        if hostile and i % 41 == 6:  # "type", spelled with an escape
            line = line.replace('"type"', '"typ\\u0065"')
        if hostile and i % 43 == 7:  # "service", spelled with an escape, inside attributes
            line = line.replace('"ms"', '"s\\u0065rvice": "x", "ms"')
        if hostile and i % 47 == 8:  # "a.b" beside {"a": {"b": ...}}: ambiguous, dot escaped
            line = line.replace('"attributes": {', '"attributes": {"a\\u002eb": 1, "a": {"b": 2}, ')
        if hostile and i % 53 == 9:
            line = line.replace('"msg"', '"nul": "x\\u0000y", "msg"')
        lines.append(line)
    return _write(path, lines)


def test_escapes_in_values_leave_records_to_the_parse_block_by_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows paths and quoted messages in values (most records of the real Windows and
    OpenStack logs) no longer send their records to the record path one by one (OpenStack's
    2,000 records took 343 projected parses, each of a run between two such records)."""
    from mfq.ingest import fastpath, validate

    export = _escaped_export(tmp_path / "e.ndjson", 3000, hostile=False)
    parses, one_by_one = [], []
    parse, normalise = fastpath._parse, validate.normalize_record
    monkeypatch.setattr(
        fastpath,
        "_parse",
        lambda *args: parses.append(1) or parse(*args),  # type: ignore[func-returns-value]
    )
    monkeypatch.setattr(
        validate,
        "normalize_record",
        lambda *args: one_by_one.append(1) or normalise(*args),  # type: ignore[func-returns-value]
    )
    direct = read_files([str(export)], frozenset({"ms"}))
    assert (direct.summary.ingested, direct.summary.rejected) == (3000, 0)
    assert (len(one_by_one), len(parses) <= 10) == (0, True)
    _compare([export], {"kind": "query", "group_by": ["type"], "aggs": ["count", "sum(ms)"]})


def test_keys_written_with_escapes_and_lone_surrogates_answer_as_ingest(tmp_path: Path) -> None:
    """``typ\\u0065`` is ``type``, ``a\\u002eb`` is the dotted key ``a.b``: such records go
    the record path's way; a lone surrogate fails the parse of a value no question reads
    as it fails ingest's."""
    export = _escaped_export(tmp_path / "e.ndjson", 3000, hostile=True)
    direct = read_files([str(export)], frozenset({"ms"}))
    # 81 lone surrogates (i % 37 == 5) and 64 ambiguous records (i % 47 == 8); the one
    # record with both (i = 1559) is told ambiguous, as ingest tells it
    assert (direct.summary.ingested, direct.summary.rejected) == (2856, 144)
    assert direct.summary.rejects_by_reason == {"ambiguous_field": 64, "not_json": 80}
    questions: list[dict[str, object]] = [
        {"kind": "query", "group_by": ["type"], "aggs": ["count", "sum(ms)"]},
        {"kind": "query", "group_by": ["service"], "aggs": ["count"]},
        {"kind": "events", "fields": "id,type,service,attributes.path,attributes.msg"},
    ]
    _compare([export], questions, chunked=False)
    _compare([export], questions)


# -- duplicates by id, found once the reading ends -----------------------------------------------


def _event(i: int, type_: str, ms: object, **more: object) -> str:
    minute = f"2026-11-03T10:{i % 60:02d}:00Z"
    attributes = {"type": type_, "timestamp": minute, "ms": ms, **more}
    return json.dumps({"id": i, "source": "t", "attributes": attributes})


def test_the_first_of_a_repeated_id_is_kept_across_chunks(tmp_path: Path) -> None:
    """Ingest keeps the first event of an id in reading order; a repeat read chunks later
    (other type, other value) is counted as a duplicate, never in the answer."""
    lines = [_event(i, "a", i) for i in range(1, 41)]
    lines += [_event(i, "b", 1000 + i) for i in range(1, 41, 4)]  # 10 repeats, later chunks
    export = _write(tmp_path / "e.ndjson", lines)
    direct = read_files([str(export)], {"type", "ms"}, settings=SMALL_CHUNKS)
    assert export.stat().st_size > 8 * SMALL_CHUNKS.chunk_bytes  # repeats chunks away
    summary = direct.summary
    assert (summary.read, summary.ingested, summary.duplicates) == (50, 40, 10)
    held = Store(HeldStorage(direct.table, direct.classes))
    rows = held.query(as_arrow=True, group_by=["type"], aggs=["count", "max(ms)"]).to_pylist()
    assert rows == [{"type": "a", "count": 40, "max(ms)": 40}]
    _compare([export], {"kind": "query", "group_by": ["type"], "aggs": ["count", "max(ms)"]})


def test_the_repeat_of_an_id_in_a_second_file_is_dropped(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.ndjson", [_event(i, "a", i) for i in range(1, 21)])
    second = _write(tmp_path / "b.ndjson", [_event(i, "b", i) for i in range(11, 31)])
    direct = read_files([str(first), str(second)], {"type", "ms"}, settings=SMALL_CHUNKS)
    assert (direct.summary.ingested, direct.summary.duplicates) == (30, 10)
    types = direct.table.column("type").to_pylist()
    assert (types.count("a"), types.count("b")) == (20, 10)
    _compare([first, second], {"kind": "query", "group_by": ["type"], "aggs": ["sum(ms)"]})


def test_a_field_only_a_duplicate_holds_is_not_a_field(tmp_path: Path) -> None:
    """``extra`` in a repeated id only: dropped with the duplicate, as ingest drops it
    before writing, so it is no field of the answer (nor of the store)."""
    lines = [_event(i, "a", i) for i in range(1, 31)] + [_event(3, "a", "slow", extra=1)]
    export = _write(tmp_path / "e.ndjson", lines)
    direct = read_files([str(export)], {"type", "ms", "extra"}, settings=SMALL_CHUNKS)
    assert "extra" not in direct.classes
    assert "extra" not in direct.table.column_names and direct.table.num_rows == 30
    _compare([export], {"kind": "query", "group_by": ["type"], "aggs": ["count", "min(ms)"]})
    _compare([export], {"kind": "query", "group_by": ["extra"]})


def test_a_percentile_over_many_chunks_is_exact(tmp_path: Path) -> None:
    """p50/p95 of values spread over many small chunks, with repeats of ids carrying
    outliers that must not count: linear between closest ranks (numpy's default)."""
    lines = [_event(i, "a" if i % 2 else "b", i) for i in range(1, 201)]
    lines += [_event(i, "a", 10**6) for i in range(1, 201, 7)]
    export = _write(tmp_path / "e.ndjson", lines)
    direct = read_files([str(export)], {"type", "ms"}, settings=SMALL_CHUNKS)
    held = Store(HeldStorage(direct.table, direct.classes))
    rows = held.query(as_arrow=True, group_by=["type"], aggs=["p50(ms)", "p95(ms)"])
    by_type = {r["type"]: (r["p50(ms)"], r["p95(ms)"]) for r in rows.to_pylist()}
    import numpy as np

    odd, even = np.arange(1, 201, 2), np.arange(2, 201, 2)
    assert by_type == {
        "a": (float(np.percentile(odd, 50)), float(np.percentile(odd, 95))),
        "b": (float(np.percentile(even, 50)), float(np.percentile(even, 95))),
    }
    question = {"kind": "query", "group_by": ["type"], "aggs": ["p50(ms)", "p95(ms)"]}
    _compare([export], question)
    _compare([export], {**question, "where": ["ms > 20"]})


# -- real logs ---------------------------------------------------------------------------------

#: Every folder of real logs, one added later included (checked with no change here).
REAL = sorted(p.name for p in SHARED_REAL.iterdir() if p.is_dir())


def test_the_real_folders_are_all_there() -> None:
    assert len(REAL) >= 12, REAL


def _some_16_chunks(folder: Path) -> Settings:
    """Chunks small enough that every folder is read in several, few enough that the
    megabyte folders are not read in thousands."""
    size = sum(
        len(gzip.decompress(f.read_bytes())) if f.suffix == ".gz" else f.stat().st_size
        for f in folder.iterdir()
    )
    return dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=max(512, size // 16))


@pytest.mark.parametrize("folder", REAL)
def test_real_folders_answer_as_their_store(folder: str) -> None:
    path = SHARED_REAL / folder
    chunks = _some_16_chunks(path)
    questions: list[dict[str, object]] = [
        {"kind": "query", "group_by": ["type"]},
        {"kind": "query", "group_by": ["service"], "aggs": ["count", "p90(duration_ms)"]},
        {
            "kind": "query",
            "group_by": ["status"],
            "where": ["severity = 'error' or duration_ms > 5 or http_status >= 400"],
            "aggs": ["count_distinct(correlation_id)", "max(timestamp)"],
        },
    ]
    _compare([path], questions, chunked=[False, chunks])


#: Real folders whose records ingest vectorises, every one: their profiles (Kubernetes,
#: Zeek, Windows, CloudTrail, Suricata) and their escapes in values (Windows paths,
#: OpenStack's quoted requests) once sent every record of a question on them to the
#: record path (a 200,000-event Kubernetes replica: 27 s of CPU against ingest's 3).
VECTORISED_REAL = [
    "cloudtrail",
    "cloudtrail-logstash",
    "gharchive",
    "k8s-audit",
    "openstack",
    "suricata",
    "windows",
    "zeek-rocknsm",
    "zeek-streaming",
]


def record_path_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one for each record read by the record path from now on."""
    from mfq.ingest import validate

    one_by_one: list[int] = []
    normalise = validate.normalize_record
    monkeypatch.setattr(
        validate,
        "normalize_record",
        lambda *args: one_by_one.append(1) or normalise(*args),  # type: ignore[func-returns-value]
    )
    return one_by_one


@pytest.mark.parametrize("folder", VECTORISED_REAL)
def test_real_folders_ingest_vectorises_are_read_so_by_a_question(
    folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one = record_path_rows(monkeypatch)
    with tempfile.TemporaryDirectory() as scratch, open_store(scratch) as store:
        ingested = store.ingest([str(SHARED_REAL / folder)]).ingested
        fields = set(store.field_types())
    assert (ingested > 0, len(one_by_one)) == (True, 0)
    direct = read_files([str(SHARED_REAL / folder)], frozenset({"http_status"}))
    assert (direct.summary.ingested, len(one_by_one)) == (ingested, 0)
    # The keys the profile's mapping reads, asked for where they are fields too.
    profiles = [builtin_profile(name) for name in direct.summary.profiles]
    mapped = {key for p in profiles if p is not None for key in p.keys_read}
    questions: list[dict[str, object]] = [
        {"kind": "query", "group_by": [key], "aggs": ["count", "max(http_status)"]}
        for key in sorted(k for k in mapped & fields if k[0] != "@")  # (@x: no name in a question)
    ]
    if questions:
        _compare([SHARED_REAL / folder], questions, chunked=False)


def test_one_file_is_not_hashed_and_a_repeat_still_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single source can repeat nothing: its content hash is not computed. Two names of the
    same content are hashed, and the second is skipped as ingest skips it."""
    from mfq.ingest import pipeline, sources

    hashed: list[bool] = []

    def opening(source: sources.Source, *, hash_content: bool = True) -> sources.OpenedSource:
        hashed.append(hash_content)
        return sources.open_source(source, hash_content=hash_content)

    monkeypatch.setattr(pipeline, "open_source", opening)
    export = _write(tmp_path / "e.ndjson", HAND_BUILT)
    one = read_files([str(export)], {"region"})
    assert hashed == [False]
    assert (one.summary.ingested, one.summary.skipped_sources) == (4, 0)
    hashed.clear()
    copy = _write(tmp_path / "copy.ndjson", HAND_BUILT)
    both = read_files([str(export), str(copy)], {"region"})
    assert hashed == [True]  # the copy was recognised before it was opened
    assert (both.summary.ingested, both.summary.skipped_sources) == (4, 1)


def _mixed_event(i: int) -> str:
    """Events over two hours of 2026-11-03, some without ``n``, ``note`` or ``region``."""
    attributes: dict[str, object] = {
        "type": ("a", "b", "c")[i % 3],
        "timestamp": f"2026-11-03T{9 + i % 2:02d}:{i % 60:02d}:00Z",
        "service": f"s{i % 4}",
    }
    if i % 5:
        attributes["n"] = i * 1.5 if i % 7 else i
    if i % 3:
        attributes["note"] = f"x{i % 6}"
    if i % 4:
        attributes["region"] = ("eu", "us")[i % 2]
    return json.dumps({"id": i, "source": "t", "attributes": attributes})


@pytest.mark.parametrize("question", [*QUESTIONS[:2], *QUESTIONS[6:]])
def test_every_question_is_answered_over_many_chunks(
    tmp_path: Path, question: dict[str, object]
) -> None:
    """Each question of the property test, answered (never an error) over many chunks of
    one export whose ids repeat chunks apart (the repeats carry other values)."""
    lines = [_mixed_event(i) for i in range(1, 301)]
    lines += [
        _mixed_event(i).replace('"t"', '"u"').replace("2026-11-03T09", "2026-11-03T11")
        for i in range(1, 301, 9)
    ]
    export = _write(tmp_path / "e.ndjson", lines)
    assert export.stat().st_size > 20 * SMALL_CHUNKS.chunk_bytes
    with tempfile.TemporaryDirectory() as scratch, open_store(scratch) as store:
        store.ingest([str(export)])
        answer = _rows(store, question)
    assert answer and not any(row.startswith("error") for row in answer)
    if question.get("where") == ["n > 1000"]:  # no event matches: one row of no values
        assert [json.loads(row) for row in answer] == [{"count": 0, "p50(n)": None, "sum(n)": None}]
    _compare([export], question)


def test_a_first_hash_shared_by_two_ids_keeps_both() -> None:
    """Repeats are told by both hashes of an id: two ids whose first hashes collide are
    both kept, and of a real repeat (both hashes equal) the first in reading order."""
    import numpy as np

    from mfq.query.direct.reader import first_of_each_id

    tables = [pa.table({"n": [1, 2, 3]}), pa.table({"n": [4, 5]}), pa.table({"n": [6]})]
    hashes = [
        np.array([[7, 1], [8, 1], [9, 1]], dtype=np.uint64),
        np.array([[7, 2], [9, 1]], dtype=np.uint64),  # 7 collides (other id); 9 repeats
        np.array([[7, 2]], dtype=np.uint64),  # the colliding id, repeated
    ]
    masks = first_of_each_id(hashes)
    kept = [t if m is None else t.filter(pa.array(m)) for t, m in zip(tables, masks, strict=True)]
    assert [t.column("n").to_pylist() for t in kept] == [[1, 2, 3], [4], []]
    assert masks[0] is None


@pytest.mark.parametrize("question", [QUESTIONS[1], *QUESTIONS[6:9], QUESTIONS[-1]])
def test_held_events_scanned_in_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, question: dict[str, object]
) -> None:
    """Held events are decoded and filtered a slice of rows at a time: the answer is
    the one a store gives, whatever the slices."""
    from mfq.query.direct import scan

    monkeypatch.setattr(scan, "SLICE_ROWS", 7)
    export = _write(tmp_path / "e.ndjson", [_mixed_event(i) for i in range(1, 120)])
    _compare([export], question)


# -- what a block costs: hazards ruled out first, imports beside the reading ---------------------

#: Bytes that make or unmake a hazard: quotes, colons, dots, backslashes, newlines, the
#: letters of ``actor_profile``, the blanks allowed before a colon and escaped keys.
HAZARD_BYTES = st.sampled_from(
    [b'"', b":", b".", b"\\", b"\n", b" ", b"\t", b"\r", b"a", b"1", b"{", b"}", b",",
     b'"actor_profile"', b'actor_profile"', b'"a.b":', b'"a.b" :', b"\xc3\xa9",
     b'\\"', b'"\\u0061":', b'\\\\']
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.lists(HAZARD_BYTES, max_size=12), min_size=1, max_size=8))
def test_a_block_ruled_out_by_the_prefilter_holds_no_hazard(pieces: list[list[bytes]]) -> None:
    """The whole-block RE2 prefilter only skips the exact search where it finds nothing:
    the records flagged are those the exact search flags, whatever the bytes."""
    import numpy as np

    from mfq.ingest import projection

    records = [b"".join(piece).replace(b"\n", b" ") for piece in pieces]
    data = b"\n".join(records)
    starts = np.cumsum([0] + [len(r) + 1 for r in records[:-1]]).astype(np.int64)
    ends = starts + np.array([len(r) for r in records], dtype=np.int64)
    with pytest.MonkeyPatch.context() as patch:  # (every dotted key, not only those
        # that may matter: see the tests of dotted keys below)
        patch.setattr(Projection, "_dotted_keys_are_inert", lambda *_: False)
        found = Projection.of(()).hazards(data, starts, ends)
    exact = np.zeros(len(records), dtype=bool)
    for row, record in enumerate(records):
        exact[row] = (
            projection._ESCAPED_KEY.search(record) is not None
            or b'"actor_profile"' in record
            or projection._DOTTED_KEY.search(record) is not None
        )
    assert found.tolist() == exact.tolist()


# -- keys holding a dot: to the record path only where they may matter -------------------------


def _block(records: list[bytes]) -> tuple[bytes, np.ndarray, np.ndarray]:
    data = b"\n".join(records) + b"\n"
    starts = np.cumsum([0] + [len(r) + 1 for r in records[:-1]]).astype(np.int64)
    return data, starts, starts + np.array([len(r) for r in records], dtype=np.int64)


HTTP = b'{"type":"t","timestamp":1,"attributes":{"http.route":"/a","ms":1.5}}'


@pytest.mark.parametrize(
    ("fields", "records", "flagged"),
    [
        # An export's dotted attribute key, read by no question: parsed with its block.
        ((), [HTTP, HTTP, b'{"type":"t","timestamp":1,"n":2.5}'], [False, False, False]),
        # Read by the question (as http.route or attributes.http.route): the record path.
        (("http.route",), [HTTP, b'{"type":"t","timestamp":1}'], [True, False]),
        (("attributes.http.route",), [HTTP], [True]),
        (("route",), [HTTP], [False]),  # ("route" is another field than "http.route")
        # A key "http" in the block may meet it in one name ("http.route"): every record
        # with a dotted key goes to the record path, as before.
        ((), [HTTP, b'{"type":"t","timestamp":1,"http":{"x":1}}'], [True, False]),
        ((), [HTTP, b'{"type":"t","timestamp":1,"v":"http"}'], [False, False]),
        ((), [b'{"a.b.c":1,"a.b" :{"c":2}}'], [True]),  # ("a.b" is a cut of "a.b.c")
        # A dot in a value or a number before a string starting with a colon.
        ((), [b'{"v":1.5,": x.y":2}', HTTP], [False, False]),
        ((), [b'{"v":1.5,": x.y":2,": x":{"y":1}}'], [True]),
    ],
)
def test_a_dotted_key_goes_to_the_record_path_only_where_it_may_matter(
    fields: tuple[str, ...], records: list[bytes], flagged: list[bool]
) -> None:
    data, starts, ends = _block(records)
    projection = Projection.of(fields)
    assert projection.hazards(data, starts, ends).tolist() == flagged
    # The same block again, its dotted keys now known (counted, not searched for).
    assert projection.hazards(data, starts, ends).tolist() == flagged


def _flattened_names(value: object, prefix: str = "") -> list[str]:
    """Every name a record's keys flatten to, as the record path flattens them (null
    values left out), with repeats: a name twice is an ambiguous record."""
    names: list[str] = []
    for key, item in value.items() if isinstance(value, dict) else ():
        if isinstance(item, dict):
            names += _flattened_names(item, f"{prefix}{key}.")
        elif item is not None:
            names.append(prefix + key)
    return names


DOTTED_KEYS = st.sampled_from(["a", "b", "c", "a.b", "b.c", "a.b.c", "x.y", "http.route"])
DOTTED_VALUES = st.recursive(
    st.integers(0, 3) | st.none(),
    lambda inner: st.dictionaries(DOTTED_KEYS, inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(st.dictionaries(DOTTED_KEYS, DOTTED_VALUES, max_size=4), max_size=6),
    fields=st.lists(st.sampled_from(["a", "a.b", "b.c", "c", "y", "http.route"]), max_size=2),
)
def test_dotted_keys_left_to_the_parse_never_meet_or_feed_a_field_read(
    records: list[dict[str, object]], fields: list[str]
) -> None:
    """Where the block's dotted keys are let through, no record's keys flatten to one name
    twice (ingest rejects such a record) and no dotted key lies along a path read."""
    if not records:
        return
    data, starts, ends = _block([json.dumps(r).encode() for r in records])
    projection = Projection.of(fields)
    if projection.hazards(data, starts, ends).any():
        return  # (the record path reads such records as ingest does)
    read = [path for name in fields for path in (name.split("."), ["attributes", *name.split(".")])]
    for record in records:
        names = _flattened_names(record)
        assert len(names) == len(set(names)), record
        dotted = [k for path in _key_paths(record) for k in path if "." in k]
        for key in dotted:
            parts = key.split(".")
            for path in read:
                assert not any(
                    path[i : i + len(parts)] == parts for i in range(len(path) - len(parts) + 1)
                ), (key, path)


def _key_paths(value: object) -> list[list[str]]:
    paths: list[list[str]] = []
    for key, item in value.items() if isinstance(value, dict) else ():
        paths.append([key])
        paths += [[key, *rest] for rest in _key_paths(item)]
    return paths


def test_an_export_with_a_dotted_key_in_every_record_is_parsed_block_by_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's shape: ``http.route`` in most records' attributes. Each block is one
    projected parse, not one per run of records between them (a 20,000-event export
    took 11 s that way, 0.7 s now), and the answer is ingest's."""
    from mfq.ingest import fastpath

    lines = [
        json.dumps(
            {
                "id": f"e{i}",
                "type": ("order.placed", "page.viewed")[i % 2],
                "timestamp": f"2026-11-03T10:{i % 60:02d}:00Z",
                "attributes": {"service": "web", "http.route": f"/r{i % 3}", "ms": i % 7}
                if i % 5
                else {"service": "web", "ms": 1},
            }
        )
        for i in range(3000)
    ]
    export = _write(tmp_path / "e.ndjson", lines)
    parses = []
    parse = fastpath._parse
    monkeypatch.setattr(
        fastpath,
        "_parse",
        lambda *args: parses.append(1) or parse(*args),  # type: ignore[func-returns-value]
    )
    direct = read_files([str(export)], frozenset({"ms"}))
    assert direct.summary.ingested == 3000
    assert len(parses) <= 10
    questions: list[dict[str, object]] = [
        {"kind": "query", "group_by": ["type"], "aggs": ["count", "sum(ms)"]},
        {"kind": "query", "group_by": ["http.route"], "aggs": ["count"]},
    ]
    _compare([export], questions, chunked=False)


def test_the_answering_is_imported_once_beside_the_reading(tmp_path: Path) -> None:
    """``meanwhile`` runs once per reading, in a thread of its own, whatever the number of
    files (an empty one too); what it raises ends the reading and is raised by it."""
    first = _write(tmp_path / "a.ndjson", [_mixed_event(i) for i in range(1, 40)])
    second = _write(tmp_path / "b.ndjson", [_mixed_event(i) for i in range(40, 80)])
    calls: list[str] = []
    events = read_files(
        [str(first), str(second)],
        {"region"},
        settings=SMALL_CHUNKS,
        meanwhile=lambda: calls.append(threading.current_thread().name),
    )
    assert calls == ["mfq-meanwhile"]
    assert events.summary.ingested == 79
    empty = _write(tmp_path / "empty.ndjson", [])
    nothing = read_files([str(empty)], {"region"}, meanwhile=lambda: calls.append("empty"))
    assert nothing.table.num_rows == 0
    assert calls == ["mfq-meanwhile", "empty"]

    def fails() -> None:
        raise LookupError("from beside the reading")

    with pytest.raises(LookupError, match="from beside the reading"):
        read_files([str(first)], {"region"}, settings=SMALL_CHUNKS, meanwhile=fails)
    assert not any(t.name == "mfq-prefetch" for t in threading.enumerate())


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--group-by", "type", "--format", "csv"],
        ["--where", "status = 'error'", "--group-by", "type", "--agg", "p95(duration_ms)"],
    ],
)
def test_a_question_on_a_clean_file_builds_no_event_model(tmp_path: Path, args: list[str]) -> None:
    """The pydantic event model validates records that go record by record; a file the
    vectorised path reads whole never imports it (its build is the slowest of mfq's own
    imports, on the way to the first parsed block), nor pandas."""
    from tests.test_import_cost import NEVER, command_modules, loaded

    _write(tmp_path / "export.ndjson", [_mixed_event(i) for i in range(1, 200)])
    modules = command_modules(["query", "export.ndjson", *args], tmp_path)
    assert {"mfq.ingest.fastpath", "mfq.query.engines.local"} <= modules
    assert loaded(modules, ("mfq.model.event", *NEVER)) == set()


def test_a_dropped_float_leaves_the_whole_numbers_after_it_exact(tmp_path: Path) -> None:
    """A duplicate holding ``x: 2.5`` that ingest leaves out, in the block whose full
    parse teaches the projection its types: the later blocks' ``x`` were parsed as
    declared, as floats, so 9007199254740993 came out 9007199254740992.0 and the kept
    whole numbers as floats (found in review)."""
    lines = []
    for i in range(20_000):
        x: object = 9007199254740993 if i == 15_000 else i % 3
        lines.append(_event(i, "t", 1, x=x))
    lines.insert(100, _event(5, "t", 1, x=2.5))  # the repeat of id 5, left out
    export = _write(tmp_path / "e.ndjson", lines)
    direct = read_files([str(export)], {"x"})
    held = Store(HeldStorage(direct.table, direct.classes))
    answer = held.query(as_arrow=True, aggs=["max(x)", "sum(x)", "count"]).to_pylist()
    total = 9007199254740993 + sum(i % 3 for i in range(20_000) if i != 15_000)
    assert answer == [{"max(x)": 9007199254740993, "sum(x)": total, "count": 20_000}]
    assert direct.summary.duplicates == 1
    questions: list[dict[str, object]] = [
        {"kind": "query", "aggs": ["max(x)", "sum(x)"]},
        {"kind": "query", "group_by": ["x"], "aggs": ["count"]},
    ]
    _compare([export], questions, chunked=False)


def test_a_service_object_without_name_is_rejected_in_every_block(tmp_path: Path) -> None:
    """Found in review (704 or 705 rejects from run to run, where ingest said 706): the
    projection declares ``service`` a struct holding ``name`` (its alias), so every
    ``service`` object parsed after the first block had a ``name`` child, null where the
    record holds none, and the vectorised path took the struct's type for each record's."""
    lines = [
        _event(i, "t", 1, service={"y": 2.5, "x": "t"}) if i % 4 == 0 else _event(i, "t", 1)
        for i in range(200)
    ]
    export = _write(tmp_path / "e.ndjson", lines)
    with small_probe():
        direct = read_files([str(export)], {"type"}, settings=SMALL_CHUNKS)
    assert direct.summary.rejects_by_reason == {"bad_field": 50}
    assert direct.summary.ingested == 150
    _compare([export], {"kind": "query", "group_by": ["type"]})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=st.lists(size_records(), min_size=1, max_size=6), question=st.sampled_from(QUESTIONS))
@example(
    drawn=[{"type": "a", "timestamp": "2026-11-03T10:00:00Z", "service": {"foo": 1}}],
    question=QUESTIONS[0],
)
def test_odd_standard_fields_inside_a_big_file_answer_as_the_store(
    drawn: list[dict[str, object]], question: dict[str, object]
) -> None:
    """Standard fields in odd shapes, first (where a full parse learns their types, the
    rejected records' too), then among records holding objects under the same names,
    read in small chunks (the projected parse from the second block on)."""
    texts = [json.dumps(r) for r in drawn]
    lines = texts + size_context(60) + texts + size_context(20)
    with tempfile.TemporaryDirectory() as folder:
        _compare([_write(Path(folder) / "export.ndjson", lines)], question)


@pytest.mark.parametrize(
    ("fields", "ids", "expected"),
    [
        ({"type"}, True, 2 * fastpath.SUB_BLOCK_BYTES),  # projected: twice ingest's blocks
        (None, True, fastpath.SUB_BLOCK_BYTES),  # every field: parsed whole, as ingest
        ({"type"}, False, fastpath.SUB_BLOCK_BYTES),  # derived ids: parsed whole (84b241f)
    ],
)
def test_a_projected_read_parses_blocks_twice_ingests(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fields: set[str] | None,
    ids: bool,
    expected: int,
) -> None:
    """A projected parse costs half a full one per byte, so its blocks are twice as big
    (their fixed work weighs as a full parse's does); a source parsed whole is cut as
    ingest cuts it. The answers do not depend on the cut (``_compare`` reads in small
    chunks against a store ingested in the default ones)."""
    asked: list[int] = []
    cut = fastpath._sub_blocks

    def recorded(rows: object, block_bytes: int, start: int = 0) -> list[tuple[int, int]]:
        if start:  # (the rest of the first chunk, cut once the probe block was read)
            asked.append(block_bytes)
        return cut(rows, block_bytes, start)  # type: ignore[arg-type]

    monkeypatch.setattr(fastpath, "_sub_blocks", recorded)
    lines = [
        json.dumps({**({"id": n} if ids else {}), "type": "t", "timestamp": 1793700000 + n, "k": n})
        for n in range(3000)
    ]
    read_files([str(_write(tmp_path / "e.ndjson", lines))], fields)
    assert asked and set(asked) == {expected}
