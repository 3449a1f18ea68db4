"""Format profiles: detection from keys, what each profile maps, and profile files."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mfq
from mfq.errors import UsageError
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.profiles import builtin_profiles, detect, load_profile
from mfq.ingest.profiles.apply import find_key, render_template
from mfq.ingest.record import NormalizedRecord, RejectCode, normalize_object
from tests.ingest.profile_corpora import DIALECTS, manufactory

PROFILES = builtin_profiles()


def _detected(records: list[dict[str, object]]) -> str | None:
    found = detect(records, PROFILES)
    return None if found is None else found.name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(sorted(DIALECTS)))
def test_records_of_one_profile_are_never_detected_as_another(
    data: st.DataObject, which: tuple[str, str]
) -> None:
    records = data.draw(st.lists(DIALECTS[which], min_size=1, max_size=8))
    assert _detected(records) == which[0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    which=st.sampled_from(sorted(DIALECTS)),
    name=st.sampled_from(["x", 5, {"a": 1}, [1], None]),
)
def test_a_name_key_leaves_a_record_of_its_profile(
    data: st.DataObject, which: tuple[str, str], name: object
) -> None:
    """A ``name`` (not standard for Zeek) makes a record match Manufactory's rule too
    (a name and a time): a file of such records, however few, is its format's. A Zeek
    record holding one was Manufactory's alone in a file (the tie went to the profile
    tried first) and Zeek's after a Zeek record without one: accepted or rejected by
    the record before it (found in review)."""
    records = data.draw(st.lists(DIALECTS[which], min_size=1, max_size=8))
    named = [{**record, "name": name} for record in records]
    assert _detected(named) == which[0]
    assert _detected([*records[:1], *named]) == which[0]


def test_a_zeek_record_holding_a_name_reads_alike_alone_and_after_another(
    tmp_path: Path,
) -> None:
    named = {"ts": 1591367999.305988, "_path": "conn", "uid": "C1", "name": {"a": 1}}
    plain = {"ts": 1591367999.5, "_path": "dns", "uid": "C0"}
    alone, after = tmp_path / "alone.ndjson", tmp_path / "after.ndjson"
    alone.write_text(json.dumps(named) + "\n", encoding="utf-8")
    after.write_text(json.dumps(plain) + "\n" + json.dumps(named) + "\n", encoding="utf-8")
    for path, count in ((alone, 1), (after, 2)):
        with mfq.open_store(tmp_path / path.stem) as store:
            summary = store.ingest([str(path)])
            assert (summary.ingested, summary.rejected, summary.profiles) == (
                count,
                0,
                {"zeek": 1},
            )
            rows = store.events(as_arrow=True, fields=["type", "correlation_id", "name.a"])
            assert {"type": "conn", "correlation_id": "C1", "name.a": 1} in rows.to_pylist()


#: Keys a shipper (Filebeat, Elastic Agent) adds to the records it forwards: ECS's
#: detection rule (``@timestamp`` and ``ecs``) fits any record it forwarded.
SHIPPED = {"@timestamp": "2026-11-03T10:00:00.000Z", "ecs": {"version": "8.11.0"}}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    which=st.sampled_from(sorted(DIALECTS)),
    shipped=st.booleans(),
    order=st.randoms(use_true_random=False),
)
def test_the_profile_detected_never_depends_on_the_order_profiles_are_tried(
    data: st.DataObject, which: tuple[str, str], shipped: bool, order: object
) -> None:
    """Any order of the built-in profiles detects the same one, for every format's
    records and for those records with a shipper's ``@timestamp`` and ``ecs`` added. A
    Zeek record holding ``@timestamp``, ``ecs``, ``ts`` and ``_path`` tied ECS's rule
    and Zeek's, and went to the one tried first (found in review)."""
    records = data.draw(st.lists(DIALECTS[which], min_size=1, max_size=6))
    if shipped:
        records = [{**record, **SHIPPED} for record in records]
    shuffled = list(PROFILES)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    found, again = detect(records, PROFILES), detect(records, shuffled)
    assert (found and found.name) == (again and again.name)


def test_a_zeek_record_a_shipper_forwarded_is_zeek_s_in_any_order() -> None:
    """Its type (``_path``) and time (``ts``) are Zeek's keys; ECS's give only its time
    (its type would be missing: every record rejected)."""
    record = {"ts": 1591367999.305988, "_path": "conn", "uid": "C1", **SHIPPED}
    for profiles in (PROFILES, tuple(reversed(PROFILES))):
        found = detect([record], profiles)
        assert found is not None and found.name == "zeek"


@settings(max_examples=150, deadline=None)
@given(records=st.lists(manufactory(), min_size=1, max_size=8))
def test_manufactory_exports_never_get_a_foreign_profile(records: list[dict[str, object]]) -> None:
    assert _detected(records) == "manufactory"


@pytest.mark.parametrize(
    "record",
    [
        {"kind": "Widget", "size": 3},
        {"message": "hello", "level": "info"},
        {"data": [1, 2, 3]},
    ],
)
def test_unknown_shapes_fall_back_to_the_default_aliases(record: dict[str, object]) -> None:
    assert _detected([record]) is None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(sorted(DIALECTS)))
def test_every_generated_record_of_a_profile_becomes_an_event(
    data: st.DataObject, which: tuple[str, str]
) -> None:
    record = data.draw(DIALECTS[which])
    profile = next(p for p in PROFILES if p.name == which[0])
    outcome = normalize_object(record, NormalizeOptions(profile=profile, detect_profile=False))
    assert isinstance(outcome, NormalizedRecord), outcome
    assert outcome.standard["type"]


def _event(profile: str, record: dict[str, object]) -> NormalizedRecord:
    options = NormalizeOptions(profile=load_profile(profile), detect_profile=False)
    outcome = normalize_object(record, options)
    assert isinstance(outcome, NormalizedRecord), outcome
    return outcome


def test_cloudtrail_maps_name_source_id_actor_and_failure() -> None:
    record = {
        "eventVersion": "1.08",
        "eventTime": "2024-03-05T12:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "eventID": "abc",
        "errorCode": "AccessDenied",
        "userIdentity": {"arn": "arn:aws:iam::1:user/a", "accountId": "1"},
    }
    event = _event("cloudtrail", record)
    picked = {k: event.standard[k] for k in ("type", "id", "service", "status", "actor_profile_id")}
    assert picked == {
        "type": "GetObject",
        "id": "abc",
        "service": "s3.amazonaws.com",
        "status": "AccessDenied",
        "actor_profile_id": "arn:aws:iam::1:user/a",
    }
    assert event.attributes == {"eventVersion": "1.08", "userIdentity.accountId": "1"}
    del record["errorCode"]
    assert _event("cloudtrail", record).standard["status"] == "success"


def test_k8s_v1_type_from_verb_and_resource_and_times_from_the_stages() -> None:
    record = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "auditID": "a-1",
        "stage": "ResponseComplete",
        "verb": "get",
        "objectRef": {"resource": "pods", "subresource": "log"},
        "requestReceivedTimestamp": "2024-03-05T12:00:00.000001Z",
        "stageTimestamp": "2024-03-05T12:00:01Z",
        "responseStatus": {"code": 200},
        "user": {"username": "alice"},
    }
    event = _event("k8s-audit", record)
    assert event.standard["type"] == "get pods/log"
    assert event.standard["timestamp"] == 1709640000000001000
    assert event.standard["correlation_id"] == "a-1"
    assert event.derived_id  # auditID repeats once per stage: never the event id
    assert (event.standard["http_status"], event.standard["actor_profile_id"]) == (200, "alice")


def test_zeek_service_list_and_version_are_not_standard_fields() -> None:
    record = {"_path": "known_services", "ts": 1.5, "service": ["HTTP"], "version": 4}
    event = _event("zeek", record)
    assert (event.standard["service"], event.standard["version"]) == (None, None)
    assert event.attributes == {"attributes.service": '["HTTP"]', "attributes.version": 4}
    conn = _event("zeek", {"@stream": "conn", "ts": 1588205198.25, "duration": 1.5, "uid": "C1"})
    assert (conn.standard["duration_ms"], conn.standard["correlation_id"]) == (1500.0, "C1")


def test_ecs_reads_the_dotted_log_level_beside_a_nested_log_object() -> None:
    record = {
        "@timestamp": "2024-03-05T12:00:00Z",
        "log.level": "warning",
        "ecs.version": "1.6.0",
        "log": {"logger": "app"},
    }
    event = _event("ecs", record)
    assert (event.standard["type"], event.standard["severity"]) == ("app", "warn")


def test_find_key_and_templates() -> None:
    record = {"a.b": 1, "a": {"c": {"d": 2}}, "e": None}
    assert find_key(record, "a.b") == (("a.b",), 1)
    assert find_key(record, "a.c.d") == (("a", "c", "d"), 2)
    assert find_key(record, "e") is None
    assert render_template({"v": "get"}, "{v} {r}/{s}") == "get"
    assert render_template({"r": "pods"}, "{v} {r}") == "pods"
    assert render_template({}, "{v}") is None


def test_a_user_profile_file(tmp_path: Path) -> None:
    profile = tmp_path / "mine.toml"
    profile.write_text(
        'name = "mine"\n[fields]\ntype = "op"\ntimestamp = "when.utc"\nduration_s = "took"\n',
        encoding="utf-8",
    )
    export = tmp_path / "x.json"
    export.write_text(json.dumps({"op": "run", "when": {"utc": 1700000000}, "took": 2}) + "\n")
    store = mfq.open_store(tmp_path / "s", create=True)
    summary = store.ingest(
        export, options=NormalizeOptions(profile=load_profile(str(profile)), detect_profile=False)
    )
    assert (summary.ingested, summary.profiles) == (1, {"mine": 1})
    row = store.events(fields="type,duration_ms").to_dict("records")
    assert row == [{"type": "run", "duration_ms": 2000.0}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ", "bad.toml: not a valid TOML profile: "),
        ('name = "x"\n[fields]\nkind = "k"', "bad.toml: 'kind' is not a standard field"),
        ('name = "x"\ncolour = 1', "bad.toml: unknown profile key 'colour'"),
        ('[fields]\ntype = "k"', "bad.toml: a profile needs a name"),
    ],
)
def test_bad_profile_files_are_usage_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_profile(str(path))
    assert str(caught.value).replace(str(tmp_path) + "/", "").startswith(message)


def test_unknown_profile_name() -> None:
    with pytest.raises(UsageError) as caught:
        load_profile("nope")
    assert str(caught.value) == (
        "--profile: unknown profile 'nope' (known: cloudtrail, ecs, github, k8s-audit, "
        "manufactory, otlp, suricata, windows, zeek, none, or a .toml file)"
    )


def test_builtin_profiles_are_the_documented_files() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "guide.md").read_text()
    for profile in PROFILES:
        assert profile.text.strip() in guide, profile.name


@pytest.mark.parametrize(
    "name",
    ["collector-messages.ndjson", "envelope.json", "rest-bodies.json", "wide-events.ndjson"],
)
def test_the_example_manufactory_exports_get_the_manufactory_profile(
    tmp_path: Path, name: str
) -> None:
    export = Path(__file__).resolve().parents[2] / "examples" / "exports" / name
    store = mfq.open_store(tmp_path / "s", create=True)
    assert store.ingest(export).profiles == {"manufactory": 1}


def test_the_demo_export_gets_the_manufactory_profile(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mfq.cli.main import cli

    export = tmp_path / "demo.ndjson.gz"
    demo = ["demo", "--out", str(export), "--events", "2000", "--store", str(tmp_path / "d")]
    result = CliRunner().invoke(cli, demo)
    assert result.exit_code == 0, result.stderr
    store = mfq.open_store(tmp_path / "s", create=True)
    assert store.ingest(export).profiles == {"manufactory": 1}


def test_map_looks_inside_attributes_after_the_top_level() -> None:
    options = NormalizeOptions(maps=(("type", "op"), ("timestamp", "at")))
    record = {"type": "event", "attributes": {"op": "run", "at": "2024-01-01T00:00:00Z", "x": 1}}
    outcome = normalize_object(record, options)
    assert isinstance(outcome, NormalizedRecord), outcome
    assert (outcome.standard["type"], outcome.attributes) == ("run", {"x": 1})


@pytest.mark.parametrize("chunk_bytes", [1 << 20, 16 << 20])
def test_the_profile_comes_from_the_first_records_that_parse_wherever_chunks_end(
    tmp_path: Path, chunk_bytes: int
) -> None:
    """After a first record, long lines that are not JSON fill the small first read with
    more than 128 lines but under 30 records (20 foreign, under 10 Zeek: no profile by
    half); the first 64 records that parse hold 44 Zeek ones, and that decides, whatever
    the chunk size."""
    from mfq.ingest.containers import read_chunks
    from mfq.ingest.pipeline import read_source
    from mfq.ingest.sources import Source
    from mfq.settings import Settings

    junk = [("not json " + "x" * 9500) for _ in range(117)]
    foreign = [json.dumps({"x": n}) for n in range(20)]
    zeek = [
        json.dumps({"ts": 1.7e9 + n, "_path": "conn", "uid": f"C{n:08d}", "pad": "z" * 280})
        for n in range(200)
    ]
    path = tmp_path / "mixed.ndjson"
    path.write_text("\n".join(foreign[:1] + junk + foreign[1:] + zeek) + "\n")
    _kind, chunks = read_chunks(io.BytesIO(path.read_bytes()), chunk_bytes)
    first = next(iter(chunks)).data  # the first read, topped up only under 128 lines
    assert first.count(b"\n") >= 127 and first.count(b'"_path"') < 10
    reading = read_source(
        Source(str(path), path), NormalizeOptions(), Settings(chunk_bytes=chunk_bytes)
    )
    assert reading.profile == "zeek"
    chunks = list(reading.chunks)  # the peeked chunks are read again, each once
    assert sum(chunk.table.num_rows for chunk in chunks) == 200
    assert Counter(r.code for chunk in chunks for r in chunk.rejects) == {
        "not_json": 117,
        RejectCode.MISSING_TYPE: 20,
    }


def test_the_profiles_look_ahead_stops_at_lines_too_long_to_be_records(tmp_path: Path) -> None:
    """A line over the record limit is a chunk holding only a reject: the look ahead
    counts such chunks, so a file of them is not read up front before any chunk is asked
    for (a review found the whole 68 MiB read there)."""
    from mfq.ingest.pipeline import read_source
    from mfq.ingest.sources import Source
    from mfq.settings import Settings

    path = tmp_path / "long-lines.ndjson"
    with path.open("wb") as out:
        out.write(json.dumps({"id": "e0", "type": "t", "timestamp": 1700000000}).encode() + b"\n")
        for _ in range(200):
            out.write(b"x" * (70 << 10) + b"\n")
    settings = Settings(chunk_bytes=64 << 10, max_record_bytes=4 << 10)
    reading = read_source(Source(str(path), path), NormalizeOptions(), settings)
    read_up_front = reading._opened.hashing.bytes_read
    assert read_up_front <= 3 << 20  # of 14 MiB (16 peeked chunks, and the threads' start)
    chunks = list(reading.chunks)
    assert sum(chunk.table.num_rows for chunk in chunks) == 1
    assert Counter(r.code for chunk in chunks for r in chunk.rejects) == {"too_long": 200}
