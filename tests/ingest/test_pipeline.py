"""The pipeline's threads: the reading runs ahead of the settling, and neither changes
what a source gives (order, rejects, counts); a failure anywhere ends every thread."""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from blake3 import blake3

from mfq.ingest import fastpath
from mfq.ingest.batch import EventChunk
from mfq.ingest.options import NormalizeOptions
from mfq.ingest.pipeline import read_source
from mfq.ingest.sources import _FINGERPRINT_BYTES, HashingReader, Source
from mfq.settings import DEFAULT_SETTINGS, Settings
from mfq.store import open_storage

#: Small chunks, so a few hundred records make many of them (and many blocks).
SMALL = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=4096, max_record_bytes=2048)


def record(i: int) -> str:
    return f'{{"id": "e{i}", "type": "t{i % 3}", "timestamp": {1_700_000_000 + i}}}'


def export(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "export.ndjson"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mfq-prefetch"]


def read_all(path: Path, settings: Settings = SMALL) -> list[EventChunk]:
    reading = read_source(Source(path.name, path), NormalizeOptions(), settings)
    return list(reading.chunks)


def test_chunks_come_in_input_order_with_record_path_chunks_between(tmp_path: Path) -> None:
    # A record longer than the limit becomes a chunk of its own, settled record by record
    # (nothing to vectorise) between chunks whose blocks the workers parse: each is
    # settled after the chunks before it, so ids and reject numbers keep the input order.
    # (The first chunk holds the 64 KiB read for detection, about 1,100 records.)
    lines = [record(i) for i in range(6000)]
    lines[1500] = '{"id": "long", "pad": "' + "x" * 3000 + '"}'
    lines[4200] = '{"id": "long2", "pad": "' + "y" * 3000 + '"}'
    lines[3000] = "not json"
    chunks = read_all(export(tmp_path, lines))
    assert len(chunks) > 50
    ids = [i for c in chunks for i in c.table.column("id").to_pylist()]
    assert ids == [f"e{i}" for i in range(6000) if i not in (1500, 3000, 4200)]
    rejects = [(r.number, r.code) for c in chunks for r in c.rejects]
    assert rejects == [(1501, "too_long"), (3001, "not_json"), (4201, "too_long")]
    assert sum(c.counters.read for c in chunks) == 6000
    assert sum(c.counters.rejected for c in chunks) == 3


def test_the_same_chunks_as_one_chunk_holding_everything(tmp_path: Path) -> None:
    lines = [record(i) for i in range(5000)]
    lines[1777] = '{"id": "e77", "type": "t", "timestamp": "not a time"}'
    path = export(tmp_path, lines)
    small = read_all(path)
    whole = read_all(path, DEFAULT_SETTINGS)
    assert len(small) > len(whole) == 1
    assert pa.concat_tables(c.table for c in small).equals(whole[0].table)
    assert [r.number for c in small for r in c.rejects] == [r.number for r in whole[0].rejects]


def test_a_failing_parse_ends_every_thread_and_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = export(tmp_path, [record(i) for i in range(5000)])
    real = fastpath._run_block
    calls = iter(range(10**6))

    def failing(*args: object) -> object:
        if next(calls) == 12:
            raise RuntimeError("block failed")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fastpath, "_run_block", failing)
    with open_storage(tmp_path / "store", create=True, settings=SMALL) as store:
        with pytest.raises(RuntimeError, match="block failed"):
            store.ingest([str(path)])
        assert store.files() == []
    assert not list((tmp_path / "store").rglob("*.parquet"))
    for thread in pipeline_threads():
        thread.join(timeout=30)
    assert pipeline_threads() == []


class FailingStream(io.RawIOBase):
    """A file whose reads fail after ``good`` bytes."""

    def __init__(self, data: bytes, good: int) -> None:
        self._data, self._good, self._at = data, good, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._at >= self._good:
            raise OSError("device gone")
        piece = self._data[self._at : self._at + min(len(buffer), 1000)]
        buffer[: len(piece)] = piece
        self._at += len(piece)
        return len(piece)


def test_a_failing_read_reaches_the_consumer_and_ends_every_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = "".join(record(i) + "\n" for i in range(6000)).encode()
    path = tmp_path / "export.ndjson"
    path.write_bytes(data)
    monkeypatch.setattr(Path, "open", lambda self, mode="r": FailingStream(data, 200_000))
    reading = read_source(Source(path.name, path), NormalizeOptions(), SMALL)
    got: list[EventChunk] = []
    with pytest.raises(OSError, match="device gone"):
        for chunk in reading.chunks:
            got.append(chunk)
    assert got  # the chunks read before the failure came first, in order
    ids = [i for c in got for i in c.table.column("id").to_pylist()]
    assert ids == [f"e{i}" for i in range(len(ids))]
    for thread in pipeline_threads():
        thread.join(timeout=30)
    assert pipeline_threads() == []


def test_a_consumer_that_stops_early_ends_every_thread(tmp_path: Path) -> None:
    path = export(tmp_path, [record(i) for i in range(6000)])
    reading = read_source(Source(path.name, path), NormalizeOptions(), SMALL)
    chunks: Iterator[EventChunk] = reading.chunks
    first = next(chunks)
    assert first.table.column("id")[0].as_py() == "e0"
    chunks.close()  # type: ignore[attr-defined]
    for thread in pipeline_threads():
        thread.join(timeout=30)
    assert pipeline_threads() == []
    assert reading._raw is not None and reading._raw.closed  # the file was let go


@pytest.mark.parametrize("size", [0, 10, _FINGERPRINT_BYTES, 2 * _FINGERPRINT_BYTES + 1, 5_000_000])
@pytest.mark.parametrize("block", [1, 4096, 700_000, 3_000_000])
def test_the_fingerprint_taken_while_reading_is_the_files(
    tmp_path: Path, size: int, block: int
) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    reader = HashingReader(io.BytesIO(data))
    if block == 1 and size > 100_000:
        block = 99_991  # (byte by byte would take long; an odd size instead)
    while reader.read(block):
        pass
    assert reader.fingerprint() == Source(path.name, path).fingerprint()
    assert reader.finish() == Source(path.name, path).content_hash()
    assert reader.finish() == "blake3:" + blake3(data).hexdigest()
