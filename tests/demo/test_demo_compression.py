"""Compressed demo exports: the suffix picks the codec, the content is the same NDJSON."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from mfq.demo import DemoConfig, write_export

CONFIG = DemoConfig(events=4_000, seed=3, days=2, incident=None)


def _decompress(path: Path) -> bytes:
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes())
    if path.suffix == ".bz2":
        return bz2.decompress(path.read_bytes())
    with pa.input_stream(str(path), compression="zstd") as stream:
        data: bytes = stream.read()
    return data


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("plain") / "export.ndjson"
    write_export(path, CONFIG)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [(".gz", b"\x1f\x8b"), (".zst", b"\x28\xb5\x2f\xfd"), (".bz2", b"BZh")],
)
def test_compressed_export_decompresses_to_the_plain_ndjson(
    tmp_path: Path, plain: bytes, suffix: str, magic: bytes
) -> None:
    path = tmp_path / f"export.ndjson{suffix}"
    truth = write_export(path, CONFIG)
    assert path.read_bytes().startswith(magic)
    assert _decompress(path) == plain
    assert truth.bytes == len(plain)
    assert truth.path == path
    assert path.stat().st_size < len(plain) / 3


@pytest.mark.parametrize("suffix", [".gz", ".zst", ".bz2"])
def test_compressed_exports_are_byte_for_byte_reproducible(tmp_path: Path, suffix: str) -> None:
    first, second = tmp_path / f"a.ndjson{suffix}", tmp_path / f"b.ndjson{suffix}"
    write_export(first, CONFIG)
    write_export(second, CONFIG)
    assert first.read_bytes() == second.read_bytes()


def test_writing_leaves_only_the_finished_file(tmp_path: Path) -> None:
    write_export(tmp_path / "export.ndjson.gz", CONFIG)
    assert [path.name for path in tmp_path.iterdir()] == ["export.ndjson.gz"]


def test_a_failed_write_leaves_no_file_behind(tmp_path: Path) -> None:
    target = tmp_path / "missing-directory" / "export.ndjson"
    with pytest.raises(FileNotFoundError):
        write_export(target, CONFIG)
    assert not target.parent.exists()
