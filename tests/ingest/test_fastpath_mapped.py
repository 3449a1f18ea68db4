"""Profiles on the vectorised path: a mapping applied to parsed columns (``mfq.ingest.mapped``)
and lists written as JSON text (``mfq.ingest.listtext``) store exactly what the record path
stores, on the real exports and on generated records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mfq.ingest import fastpath, profiles
from mfq.ingest.containers import RecordChunk, read_chunks
from mfq.ingest.fastpath import FastPathState, validate_chunk_fast
from mfq.ingest.mapped import vectorisable
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.pipeline import _with_profile
from mfq.ingest.profiles.model import profile_from_toml
from mfq.ingest.screen import screen_chunk
from mfq.ingest.sources import Source, open_source
from mfq.ingest.validate import validate_chunk
from mfq.settings import Settings
from tests.conftest import examples
from tests.ingest.test_fastpath_parity import TIMESTAMP_TEXT, _canonical, _chunk
from tests.realdata import FOLDERS, real_export

#: Folders whose every record the vectorised path takes (all of them).
ALL_VECTORISED = (
    "cloudtrail",
    "cloudtrail-logstash",
    "ecs",
    "gharchive",
    "k8s-audit",
    "openstack",
    "suricata",
    "windows",
    "zeek-rocknsm",
    "zeek-streaming",
)

#: A profile using every feature the vectorised path follows.
FEATURES = profile_from_toml(
    """
name = "features"
not_standard = ["status", "event"]
[fields]
type = ["{verb} {obj.kind}/{obj.sub}", "verb", "kind"]
timestamp = ["when", "meta.time"]
id = "uid"
severity = "level"
duration_s = "took"
correlation_id = "x.y"
actor = ["who", "user.name"]
[defaults]
status = "ok"
[values.severity]
"1" = "error"
"2" = "warn"
" 3" = "info"
"debug" = "verbose"
""",
    "features.toml",
)


def _both(lines: list[str], options: NormalizeOptions, block_bytes: int = 1 << 20) -> list[int]:
    """Compare the two paths; returns how many rows the vectorised path left to the other."""
    calls: list[int] = []
    original = fastpath.normalise_records

    def counting(records, numbers, options):  # type: ignore[no-untyped-def]
        calls.append(len(records))
        return original(records, numbers, options)

    fastpath.normalise_records = counting
    try:
        for chunk in _chunk(lines):
            slow = validate_chunk(chunk, options)
            state = FastPathState(max_retries=3, sub_block_bytes=block_bytes)
            fast = validate_chunk_fast(chunk, options, state)
            assert _canonical(fast) == _canonical(slow)
    finally:
        fastpath.normalise_records = original
    return calls


def _real_chunks(path: Path) -> tuple[list[RecordChunk], NormalizeOptions]:
    """A real file's screened record chunks (as ingest reads them) and its options."""
    settings = Settings()
    opened = open_source(Source(str(path), path))
    try:
        container, chunks = read_chunks(opened.stream, 1 << 20, settings.max_record_bytes)
        chunks, _name, options = _with_profile(container, chunks, NormalizeOptions())
        screened = [screen_chunk(c, settings.max_record_bytes, settings.max_depth) for c in chunks]
    finally:
        opened.close()
    return screened, options


def _compare(chunks: list[RecordChunk], options: NormalizeOptions) -> int:
    """Both paths on each chunk; how many records the vectorised path left to the other."""
    calls: list[int] = []
    original = fastpath.normalise_records

    def counting(records, numbers, options):  # type: ignore[no-untyped-def]
        calls.append(len(records))
        return original(records, numbers, options)

    fastpath.normalise_records = counting
    try:
        for chunk in chunks:
            if not len(chunk):
                continue
            slow = validate_chunk(chunk, options)
            fast = validate_chunk_fast(chunk, options, FastPathState(max_retries=3))
            assert _canonical(fast) == _canonical(slow)
    finally:
        fastpath.normalise_records = original
    return sum(calls)


@pytest.mark.parametrize("folder", [f for f in FOLDERS if f != "otlp"])
def test_real_exports_store_the_same_on_both_paths(folder: str) -> None:
    for path in real_export(folder):
        chunks, options = _real_chunks(path)
        if not chunks:
            continue  # not JSON (skipped by a folder ingest)
        assert options.mapping is None or vectorisable(options.mapping)
        left = _compare(chunks, options)
        if folder in ALL_VECTORISED:
            assert left == 0, f"{path.name}: {left} records went row by row"


def test_features_profile_is_followed() -> None:
    assert vectorisable(FEATURES)
    under_attributes = profile_from_toml(
        'name = "x"\n[fields]\ntype = "attributes.kind"\n', "x.toml"
    )
    assert not vectorisable(under_attributes)


def test_a_profile_mapping_goes_through_the_vectorised_path() -> None:
    lines = [
        json.dumps(
            {
                "verb": "get",
                "obj": {"kind": "pods", "sub": "log"},
                "when": "2026-11-03T10:00:00Z",
                "uid": f"u{i}",
                "level": 2,
                "took": i,
                "who": "ana",
                "status": 200,
                "tags": ["a", 'q"b\\', "é"],
                "ns": [1, 2],
                "ok": [True, False],
            }
        )
        for i in range(200)
    ]
    assert _both(lines, NormalizeOptions(profile=FEATURES)) == []


def test_a_literal_dotted_key_holding_an_object_is_a_template_part_left_out() -> None:
    """Kubernetes' type template reads ``objectRef.resource``: a literal key of that name
    is found first (the profile's rule: ``find_key``), and holding an object it is a
    part left out, whatever the nested ``objectRef`` beside it holds. The vectorised
    path read the nested one's leaf column: ``get svc`` where the record path said
    ``get`` (found in review)."""
    (k8s,) = [p for p in profiles.builtin_profiles() if p.name == "k8s-audit"]
    base = {
        "apiVersion": "audit.k8s.io/v1",
        "stage": "ResponseComplete",
        "verb": "get",
        "requestURI": "/api/v1/services",
        "timestamp": "2026-11-16T00:00:00Z",
    }
    lines = [
        json.dumps({**base, "auditID": "a", "objectRef": {"resource": "svc"}}),
        json.dumps(
            {
                **base,
                "auditID": "b",
                "objectRef.resource": {"group": "x"},
                "objectRef": {"resource": "svc"},
            }
        ),
        json.dumps({**base, "auditID": "c", "objectRef.resource": "pods"}),
    ]
    options = NormalizeOptions(profile=k8s)
    (chunk,) = _chunk(lines)
    for events in (
        validate_chunk(chunk, options),
        validate_chunk_fast(chunk, options, FastPathState()),
    ):
        assert events.table.column("type").to_pylist() == ["get svc", "get", "get pods"]
    _both(lines, options)


# -- generated records -----------------------------------------------------------------------

MAPPED_KEYS = ["verb", "kind", "when", "uid", "level", "took", "who", "status", "event", "type"]
MAPPED_KEYS += ["timestamp", "name", "service", "severity", "duration_ms", "tags", "x.y", "n"]
TEXT = st.sampled_from(["get", "list", " 3", "3 ", "debug", "", "x\x1fy", "\u3000a", 'q"', "é"])
ELEMENTS = st.text(max_size=4) | st.integers(-5, 5) | st.booleans() | st.none() | st.floats(0, 2)
SCALARS = st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(0, 10) | TEXT
VALUES = SCALARS | TIMESTAMP_TEXT | st.lists(ELEMENTS, max_size=3)
NESTED = st.dictionaries(st.sampled_from(["kind", "sub", "time", "y", "name"]), VALUES, max_size=3)


@st.composite
def mapped_records(draw: st.DrawFn) -> dict[str, object]:
    """Records in the shape of ``FEATURES``, with every kind of value where it reads."""
    record: dict[str, object] = {
        "verb": draw(TEXT | st.integers(0, 9)),
        "when": draw(TIMESTAMP_TEXT | st.integers(0, 2**40)),
    }
    for key in draw(st.lists(st.sampled_from(MAPPED_KEYS), max_size=6)):
        record[key] = draw(VALUES)
    for key in draw(st.lists(st.sampled_from(["obj", "meta", "user", "x"]), max_size=3)):
        record[key] = draw(NESTED)
    for key in draw(st.lists(st.sampled_from(["obj.kind", "obj.sub", "user.name"]), max_size=2)):
        record[key] = draw(NESTED | VALUES)  # a literal dotted key beside the nested one
    if draw(st.booleans()):
        record["attributes"] = draw(
            st.dictionaries(st.sampled_from(MAPPED_KEYS), VALUES, max_size=4)
        )
    return record


MAPPED_LINES = st.lists(mapped_records().map(json.dumps), min_size=1, max_size=20)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=MAPPED_LINES, block_bytes=st.sampled_from([200, 1 << 20]))
@example(lines=['{"verb": "get", "when": 1, "tags": ["a\\u0001"]}'], block_bytes=1 << 20)
@example(lines=['{"verb": " 3", "when": 1, "level": " 3", "obj": {"kind": 1}}'], block_bytes=200)
@example(  # pyarrow's reader built the list short (``fastpath.read_block``): pc.if_else read
    # past its values, a segfault once in a while
    lines=['{"verb": [null, ""], "when": "2026-11-03T10:00:00Z"}'],
    block_bytes=1 << 20,
)
@example(
    lines=[
        '{"verb": "get", "when": 1, "obj.kind": {"a": 1}, "obj": {"kind": "pods"}}',
        '{"verb": "get", "when": 1, "obj": {"kind": "pods"}}',
    ],
    block_bytes=1 << 20,
)
def test_paths_agree_with_a_profile(lines: list[str], block_bytes: int) -> None:
    _both(lines, NormalizeOptions(profile=FEATURES), block_bytes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=MAPPED_LINES,
    name=st.sampled_from(["k8s-audit", "windows", "github", "cloudtrail", "suricata", "ecs"]),
)
def test_paths_agree_with_the_builtin_profiles(lines: list[str], name: str) -> None:
    (profile,) = [p for p in profiles.builtin_profiles() if p.name == name]
    _both(lines, NormalizeOptions(profile=profile))


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lists=st.lists(
        st.none() | st.lists(ELEMENTS, max_size=4) | st.lists(st.text(max_size=5), max_size=3),
        min_size=1,
        max_size=10,
    )
)
def test_lists_are_stored_as_the_record_path_writes_them(lists: list[object]) -> None:
    lines = [
        json.dumps({"type": "a", "ts": 1, "l": value, "attributes": {"m": value}})
        for value in lists
    ]
    _both(lines, NormalizeOptions())


#: Every character ``str.isspace`` calls whitespace, beside some that are not.
_SPACES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_TEXTS = st.text(alphabet=st.sampled_from(_SPACES + "ab\u00e9\u20ac\U0001f600\u200b"), max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.none() | _TEXTS, max_size=20),
    cut=st.tuples(st.integers(0, 5), st.integers(0, 20)),
)
def test_unstripped_is_what_strip_leaves_whole(
    texts: list[str | None], cut: tuple[int, int]
) -> None:
    """Texts kept on the vectorised path are exactly those ``pick``'s ``strip`` leaves as
    they are (not empty, no whitespace at either end), decided from their first and last
    bytes, for sliced columns too; nulls are not."""
    import pyarrow as pa

    from mfq.ingest.mapped import _unstripped

    column = pa.array(texts, pa.string())
    start, length = cut
    column = column.slice(min(start, len(texts)), length)
    expected = [t is not None and t != "" and t.strip() == t for t in column.to_pylist()]
    assert _unstripped(column).tolist() == expected
