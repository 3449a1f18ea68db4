"""Envelopes by shape, exact values, wrong-kind standard fields and redaction by words."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import mfq
from mfq.cli.main import cli
from mfq.ingest.containers import ContainerKind, read_chunks
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.profiles import load_profile
from mfq.ingest.record import NormalizedRecord, Rejection, normalize_object, normalize_record
from mfq.ingest.redaction import is_secret_name
from tests.conftest import event

EVENTS = [event(i) for i in range(4)]


def _records(data: bytes, chunk_bytes: int = 1 << 20) -> tuple[ContainerKind, list[object]]:
    kind, chunks = read_chunks(io.BytesIO(data), chunk_bytes)
    return kind, [json.loads(r) for chunk in chunks for r in chunk.records()]


# -- envelopes by shape ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["Records", "data", "items", "logs", 'wéird "key"'])
@pytest.mark.parametrize("indent", [None, 2])
def test_one_array_of_objects_is_an_envelope_whatever_its_key(key: str, indent: int | None) -> None:
    data = json.dumps({key: EVENTS}, indent=indent).encode()
    for chunk_bytes in (16, 1 << 20):
        assert _records(data, chunk_bytes) == (ContainerKind.ENVELOPE, EVENTS)


def test_envelope_metadata_beside_the_array() -> None:
    data = json.dumps({"exported_at": "2024-01-01", "count": 4, "data": EVENTS}).encode()
    assert _records(data) == (ContainerKind.ENVELOPE, EVENTS)


@pytest.mark.parametrize(
    "record",
    [
        # A CloudTrail record (one line) holds an array of objects: still one record.
        {"eventVersion": "1.08", "eventName": "RunInstances", "eventSource": "ec2",
         "eventTime": "2024-01-01T00:00:00Z", "resources": [{"ARN": "a"}]},
        {"type": "batch", "timestamp": "2024-01-01T00:00:00Z", "items": [{"sku": 1}]},
        {"a": [{"x": 1}], "b": [{"y": 2}]},  # two arrays: not one array of records
    ],
)  # fmt: skip
def test_a_record_holding_an_array_of_objects_is_not_an_envelope(
    record: dict[str, object],
) -> None:
    assert _records(json.dumps(record).encode()) == (ContainerKind.NDJSON, [record])


# -- exact values ---------------------------------------------------------------------------


def _ns(store: mfq.Store) -> list[int]:
    return (
        store.events(as_arrow=True, fields="timestamp")
        .column("timestamp")
        .cast("int64")
        .to_pylist()
    )


def test_epoch_seconds_with_a_fraction_keep_their_decimal_digits(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    raw = b'{"type": "conn", "ts": 1588205198.89971}'
    outcome = normalize_record(raw, NormalizeOptions())
    assert isinstance(outcome, NormalizedRecord)
    assert outcome.standard["timestamp"] == 1588205198899710000  # a double gives ...709952
    # Through the store's vectorised path too.
    path = write_ndjson([{"type": "a", "ts": 1588205198.89971, "id": str(i)} for i in range(50)])
    store = mfq.open_store(tmp_path / "s", create=True)
    store.ingest(path)
    assert set(_ns(store)) == {1588205198899710000}


@pytest.mark.parametrize(
    ("text", "zone", "expected", "naive"),
    [
        ("2023-02-08 17:13:26", None, "2023-02-08T17:13:26Z", 0),
        ("2023-02-08 17:13:26", "Europe/Paris", "2023-02-08T16:13:26Z", 0),
        ("2023-02-08T17:13:26", "Europe/Paris", "2023-02-08T16:13:26Z", 1),
        ("2023-07-08 17:13:26", "America/New_York", "2023-07-08T21:13:26Z", 0),
    ],
)
def test_assume_tz_applies_to_every_naive_time(
    tmp_path: Path,
    write_ndjson: Callable[..., Path],
    text: str,
    zone: str | None,
    expected: str,
    naive: int,
) -> None:
    path = write_ndjson([{"id": str(i), "type": "a", "timestamp": text} for i in range(20)])
    store = mfq.open_store(tmp_path / "s", create=True)
    options = NormalizeOptions(assume_tz=None if zone is None else ZoneInfo(zone))
    summary = store.ingest(path, options=options)
    assert summary.naive_timestamps == 20 * naive
    from datetime import datetime

    want = int(datetime.fromisoformat(expected).timestamp()) * 1_000_000_000
    assert set(_ns(store)) == {want}


def test_integers_beyond_2_53_stay_exact_in_storage_and_output(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    big = 2**53 + 1
    rows = [event(1, flow_id=big), event(2), event(3, flow_id=2**62 + 7)]
    path = write_ndjson(rows)
    store = tmp_path / "s"
    CliRunner().invoke(cli, ["ingest", str(path), "--store", str(store)])
    table = mfq.open_store(store).events(as_arrow=True, fields="flow_id", sort=["timestamp"])
    assert table.column("flow_id").to_pylist() == [big, None, 2**62 + 7]
    result = CliRunner().invoke(
        cli, ["events", "--store", str(store), "--format", "json", "--fields", "flow_id"]
    )
    assert '"flow_id": 9007199254740993' in result.stdout
    assert '"flow_id": 4611686018427387911' in result.stdout


# -- wrong-kind standard fields ----------------------------------------------------------------

BASE = {"type": "a", "timestamp": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"project_id": {"a": 1}}, "invalid project_id: expected a single value, got object"),
        ({"service": ["http"]}, "invalid service: expected a single value, got array"),
        ({"service": {"kind": "x"}}, "invalid service: expected a single value, got object"),
        ({"id": {}}, "invalid id: expected a single value, got object"),
        (
            {"attributes": {"trace_id": {"hi": 1}}},
            "invalid trace_id: expected a single value, got object",
        ),
        ({"event_id": ["a", "b"]}, "invalid id (event_id): expected a single value, got array"),
    ],
)
def test_an_object_or_a_list_under_a_standard_field_is_bad_field(
    tmp_path: Path, write_ndjson: Callable[..., Path], extra: dict[str, object], reason: str
) -> None:
    outcome = normalize_object({**BASE, **extra}, NormalizeOptions())
    assert outcome == Rejection("bad_field", reason)  # type: ignore[arg-type]
    # The vectorised path hands such rows to the record path: the same reject.
    path = write_ndjson([{**BASE, "id": f"ok{i}"} for i in range(10)] + [{**BASE, **extra}])
    store = mfq.open_store(tmp_path / "s", create=True)
    summary = store.ingest(path)
    assert (summary.ingested, summary.rejected) == (10, 1)
    assert store.rejects()["reason"].tolist() == [reason]


def test_service_holding_name_is_the_service_name_alias() -> None:
    outcome = normalize_object({**BASE, "service": {"name": "api", "tier": 1}}, NormalizeOptions())
    assert isinstance(outcome, NormalizedRecord)
    assert (outcome.standard["service"], outcome.attributes) == ("api", {"service.tier": 1})


def test_a_profile_says_which_keys_are_not_standard_fields() -> None:
    options = NormalizeOptions(profile=load_profile("zeek"), detect_profile=False)
    record = {"_path": "conn", "ts": 1.0, "id": {"orig_h": "10.0.0.1"}, "service": ["dns"]}
    outcome = normalize_object(record, options)
    assert isinstance(outcome, NormalizedRecord)
    assert outcome.attributes == {"id.orig_h": "10.0.0.1", "attributes.service": '["dns"]'}


# -- redaction by words ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("user.password", True),
        ("db_passwd", True),
        ("sessionToken", True),
        ("access_token", True),
        ("X-Api-Key", True),
        ("apiKey", True),
        ("apikey", True),
        ("Authorization", True),
        ("headers.cookie", True),
        ("Set-Cookie", True),
        ("credentials", True),
        ("aws_secret_access_key", True),
        ("private_key", True),
        ("client_secret", True),
        ("password.hash", True),
        ("TokenElevationType", False),
        ("input_tokens", False),
        ("token_count", False),
        ("accessKeyId", False),
        ("secretary", False),
        ("cookies_enabled", False),
        ("passwordless", False),
    ],
)
def test_secret_keys_by_their_words(key: str, secret: bool) -> None:
    assert is_secret_name(key) is secret


def test_keep_key_exempts_and_redact_key_adds(
    tmp_path: Path, write_ndjson: Callable[..., Path]
) -> None:
    path = write_ndjson([event(1, password="p", ElevatedToken="yes", input_tokens=3, email="a@b")])
    store = mfq.open_store(tmp_path / "s", create=True)
    options = NormalizeOptions(
        keep_key_patterns=("^ElevatedToken$",), extra_secret_patterns=("^email$",)
    )
    summary = store.ingest(path, options=options)
    assert summary.redacted == 2
    row = store.events(fields="password,ElevatedToken,input_tokens,email").to_dict("records")
    assert row == [
        {"password": "[redacted]", "ElevatedToken": "yes", "input_tokens": 3, "email": "[redacted]"}
    ]


# -- re-ingest with other options -------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        NormalizeOptions(assume_tz=ZoneInfo("Europe/Paris")),
        NormalizeOptions(maps=(("type", "kind"),)),
        NormalizeOptions(redact=False),
        NormalizeOptions(extra_secret_patterns=("^email$",)),
        NormalizeOptions(keep_key_patterns=("^password$",)),
        NormalizeOptions(profile=None, detect_profile=False),
        NormalizeOptions(profile=load_profile("zeek"), detect_profile=False),
    ],
)
def test_the_same_file_with_other_options_is_read_again(
    tmp_path: Path, write_ndjson: Callable[..., Path], options: NormalizeOptions
) -> None:
    path = write_ndjson([event(i, kind="k", ts=1.5) for i in range(3)])
    store = mfq.open_store(tmp_path / "s", create=True)
    first = store.ingest(path)
    assert (first.ingested, first.reread_sources) == (3, 0)
    again = store.ingest(path, options=options)
    assert (again.read, again.reread_sources, again.skipped_sources) == (3, 1, 0)
    assert again.ingested + again.duplicates + again.rejected == 3
    assert again.notes == [
        f"{path}: read again: stored before with other options"
        " (profile, --map, --assume-tz or redaction)"
    ]
    # Events already stored by id stay as they were.
    assert store.info()["events"] == 3 + again.ingested
    assert store.ingest(path, options=options).skipped_sources == 1
    assert store.ingest(path).skipped_sources == 1


def test_lines_that_each_hold_an_array_are_ndjson_records_not_an_envelope() -> None:
    lines = [{"data": [{"x": i}]} for i in range(3)]
    data = ("\n".join(json.dumps(r) for r in lines) + "\n").encode()
    assert _records(data) == (ContainerKind.NDJSON, lines)
