"""Every container and compression, detected from content, gives the same events."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfq.api import Store
from mfq.errors import InputUnreadable
from mfq.ingest.containers import ContainerKind, detect_container, read_chunks
from mfq.ingest.jsonscan import ScanMode, split_elements
from tests.conftest import event, examples

EVENTS = [
    event(i, attributes={"region": "eu", "note": 'quote " and ] } , inside'}) for i in range(5)
]


def records_of(data: bytes, chunk_bytes: int = 1 << 20) -> tuple[ContainerKind, list[object]]:
    kind, chunks = read_chunks(io.BytesIO(data), chunk_bytes)
    records = [json.loads(r) for chunk in chunks for r in chunk.records()]
    return kind, records


def ndjson(records: list[dict[str, object]]) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (ndjson(EVENTS), ContainerKind.NDJSON),
        (json.dumps(EVENTS).encode(), ContainerKind.JSON_ARRAY),
        (json.dumps(EVENTS, indent=2).encode(), ContainerKind.JSON_ARRAY),
        (json.dumps({"export": {"v": 1}, "events": EVENTS}).encode(), ContainerKind.ENVELOPE),
        (json.dumps({"meta": 1, "events": EVENTS}, indent=2).encode(), ContainerKind.ENVELOPE),
        ("\n".join(json.dumps(e, indent=2) for e in EVENTS).encode(), ContainerKind.DOCUMENTS),
    ],
)
def test_each_container_yields_the_same_records(data: bytes, kind: ContainerKind) -> None:
    for chunk_bytes in (7, 64, 1 << 20):
        found_kind, records = records_of(data, chunk_bytes)
        assert found_kind is kind
        assert records == EVENTS


def test_an_ndjson_source_is_read_small_first_then_in_whole_chunks() -> None:
    """The first read is 1 MiB (the parse workers wait for it), each next four times the
    one before up to the chunk size; the records are the same as in one read."""
    line = json.dumps({"id": 1, "pad": "x" * 1000})
    data = ("\n".join([line] * 12_000) + "\n").encode()  # about 12 MiB
    _kind, chunks = read_chunks(io.BytesIO(data), 8 << 20)
    sizes = [len(chunk.data) for chunk in chunks]
    assert [round(size / (1 << 20)) for size in sizes] == [1, 4, 7]  # 1, 4, then the rest
    assert sum(sizes) + len(sizes) == len(data)  # every line, each chunk's last newline cut
    assert all(size <= 8 << 20 for size in sizes)


def test_a_source_of_long_records_is_read_small_first_and_keeps_its_profile(
    tmp_path: Path,
) -> None:
    """Records of 20 KB: the small first read holds 52, fewer than a profile's sample
    (64); the profile is detected from the first 64 all the same (the pipeline looks
    ahead through the chunks), and every record is read once."""
    from mfq.ingest.options import NormalizeOptions
    from mfq.ingest.pipeline import read_source
    from mfq.ingest.sources import Source
    from mfq.settings import Settings

    lines = [
        json.dumps({"ts": 1.7e9 + n, "_path": "conn", "uid": f"C{n:08d}", "pad": "z" * 20_000})
        for n in range(600)
    ]  # about 11.5 MiB
    path = tmp_path / "long.ndjson"
    path.write_text("\n".join(lines) + "\n")
    _kind, chunks = read_chunks(io.BytesIO(path.read_bytes()), 8 << 20)
    sizes = [len(chunk.data) for chunk in chunks]
    assert sizes[0] < 2 << 20 and max(sizes) <= 8 << 20  # (not topped up to the chunk)
    reading = read_source(
        Source(str(path), path), NormalizeOptions(), Settings(chunk_bytes=8 << 20)
    )
    assert reading.profile == "zeek"
    assert sum(chunk.table.num_rows for chunk in reading.chunks) == 600


def test_ndjson_blank_lines_crlf_bom_and_missing_final_newline() -> None:
    lines = [json.dumps(e) for e in EVENTS]
    data = b"\xef\xbb\xbf" + ("\r\n\r\n".join(lines) + "\n   \n\t\n" + lines[0]).encode()
    kind, chunks = read_chunks(io.BytesIO(data), 1 << 20)
    chunk_list = list(chunks)
    numbers = [int(n) for c in chunk_list for n in c.numbers]
    assert kind is ContainerKind.NDJSON
    assert numbers == [1, 3, 5, 7, 9, 12]  # line numbers count the blank lines
    assert [json.loads(r) for c in chunk_list for r in c.records()] == [*EVENTS, EVENTS[0]]


def test_single_pretty_printed_event_is_one_record() -> None:
    assert records_of(json.dumps(EVENTS[0], indent=4).encode())[1] == [EVENTS[0]]


def test_non_json_input_is_unreadable() -> None:
    with pytest.raises(InputUnreadable, match="does not look like JSON"):
        detect_container(b"LineId,Date,Time\n1,2,3\n")


@pytest.mark.parametrize(
    "head", [b'{"resourceSpans": []}', b'{\n  "resourceLogs": [\n', b'  {"resourceSpans":[{}]}']
)
def test_otlp_input_is_detected_from_content(head: bytes) -> None:
    assert detect_container(head) is ContainerKind.OTLP


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=examples(200), deadline=None)
@given(
    elements=st.lists(json_values, max_size=6),
    indent=st.sampled_from([None, 1, 2]),
    read_size=st.integers(1, 40),
    envelope=st.booleans(),
)
def test_splitter_finds_exactly_the_elements_json_would(
    elements: list[object], indent: int | None, read_size: int, envelope: bool
) -> None:
    if envelope:
        document = json.dumps({"a": {"events": [1]}, "events": elements, "z": ["]"]}, indent=indent)
        mode = ScanMode.ENVELOPE
    else:
        document = json.dumps(elements, indent=indent)
        mode = ScanMode.ARRAY
    found = [json.loads(e) for e in split_elements(io.BytesIO(document.encode()), mode, read_size)]
    assert found == elements


def _compress(data: bytes, codec: str) -> bytes:
    if codec == "gzip":
        return gzip.compress(data)
    if codec == "bz2":
        return bz2.compress(data)
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize("codec", ["gzip", "zstd", "bz2"])
@pytest.mark.parametrize("container", ["ndjson", "array"])
def test_compression_is_detected_by_magic_bytes_not_the_name(
    tmp_path: Path, store: Store, codec: str, container: str
) -> None:
    data = ndjson(EVENTS) if container == "ndjson" else json.dumps(EVENTS).encode()
    path = tmp_path / "export.txt"  # a misleading name on purpose
    path.write_bytes(_compress(data, codec))
    summary = store.ingest([path])
    assert (summary.read, summary.ingested, summary.rejected) == (5, 5, 0)
    assert store.catalog.sources()[0].compression == codec


def test_directories_are_read_recursively_and_globs_expand(tmp_path: Path, store: Store) -> None:
    (tmp_path / "in" / "deep").mkdir(parents=True)
    (tmp_path / "in" / "a.ndjson").write_bytes(ndjson(EVENTS[:2]))
    (tmp_path / "in" / "deep" / "b.json").write_bytes(json.dumps(EVENTS[2:4]).encode())
    (tmp_path / "g1.ndjson").write_bytes(ndjson(EVENTS[4:]))
    summary = store.ingest([tmp_path / "in", str(tmp_path / "g*.ndjson")])
    assert (summary.sources, summary.ingested) == (3, 5)


def test_missing_path_is_a_data_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputUnreadable, match="no such file"):
        store.ingest([tmp_path / "nope.ndjson"])


def test_stdin_is_read_as_a_stream(tmp_path: Path) -> None:
    data = _compress(ndjson(EVENTS), "gzip")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mfq",
            "ingest",
            "-",
            "--store",
            str(tmp_path / "s"),
            "--format",
            "json",
        ],
        input=data,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["ingested"]) == (5, 5)
