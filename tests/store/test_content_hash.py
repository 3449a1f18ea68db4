"""The content hash that recognises a source ingested before: BLAKE3 of the raw bytes,
recorded as ``blake3:<hex>``; a store written by an earlier mfq holds bare SHA-256 hex
digests, and its sources are still recognised, with the SHA-256 taken only where a row
of the same fingerprint holds one."""

from __future__ import annotations

import builtins
import gzip
import hashlib
import io
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from blake3 import blake3
from click.testing import CliRunner

import mfq
from mfq.cli.main import cli
from mfq.ingest import sources
from tests.conftest import event


def invoke(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _recorded_hashes(root: Path) -> list[str | None]:
    with mfq.open_store(root) as store:
        return [s.content_hash for s in store.catalog.sources()]


def _as_an_earlier_mfq_wrote_it(root: Path, exports: list[Path]) -> None:
    """Rewrite the catalog's rows as the mfq before BLAKE3 wrote them: the same row, with
    the bare SHA-256 hex digest of the raw bytes as its content hash."""
    db = sqlite3.connect(root / "catalog.sqlite")
    with db:
        for export in exports:
            rewritten = db.execute(
                "UPDATE sources SET content_hash = ? WHERE name = ?",
                (hashlib.sha256(export.read_bytes()).hexdigest(), str(export)),
            ).rowcount
            assert rewritten == 1, export
    db.close()


def _ndjson(path: Path, first: int, count: int) -> Path:
    path.write_text("".join(json.dumps(event(i)) + "\n" for i in range(first, first + count)))
    return path


@pytest.mark.parametrize("kind", ["plain", "gzip", "stdin"])
def test_the_recorded_hash_is_blake3_of_the_raw_bytes(tmp_path: Path, kind: str) -> None:
    plain = _ndjson(tmp_path / "e.ndjson", 0, 20)
    raw = gzip.compress(plain.read_bytes()) if kind == "gzip" else plain.read_bytes()
    root = tmp_path / "s"
    if kind == "stdin":
        code, _out, err = invoke("ingest", "-", "--store", str(root), stdin=raw)
    else:
        path = tmp_path / "e.ndjson.gz" if kind == "gzip" else plain
        path.write_bytes(raw)
        code, _out, err = invoke("ingest", str(path), "--store", str(root))
    assert (code, err) == (0, "")
    assert _recorded_hashes(root) == ["blake3:" + blake3(raw).hexdigest()]


def test_the_hash_taken_while_reading_equals_the_files(tmp_path: Path) -> None:
    data = b"".join(json.dumps(event(i)).encode() + b"\n" for i in range(3000))
    path = tmp_path / "e.ndjson"
    path.write_bytes(data)
    reader = sources.HashingReader(io.BytesIO(data))
    while reader.read(70_001):
        pass
    source = sources.Source(path.name, path)
    assert reader.finish() == source.content_hash() == "blake3:" + blake3(data).hexdigest()
    assert source.content_hashes(legacy=True) == (
        "blake3:" + blake3(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
    )


def _summary(root: Path, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict, str]:
    code, out, err = invoke(
        "ingest", *map(str, paths), "--store", str(root), "--format", "json", *extra
    )
    summary = json.loads(out)
    del summary["seconds"]  # (the one count that may differ from run to run)
    return code, summary, err


def test_a_store_an_earlier_mfq_wrote_recognises_its_sources(tmp_path: Path) -> None:
    """Re-ingesting what a store with SHA-256 rows holds says and counts exactly what
    re-ingesting into a store this mfq wrote does, and stores nothing twice."""
    exports = [_ndjson(tmp_path / "a.ndjson", 0, 30), _ndjson(tmp_path / "b.ndjson", 30, 5)]
    old, new = tmp_path / "old", tmp_path / "new"
    for root in (old, new):
        assert _summary(root, *exports)[0] == 0
    _as_an_earlier_mfq_wrote_it(old, exports)
    assert _recorded_hashes(old) == [hashlib.sha256(e.read_bytes()).hexdigest() for e in exports]
    with mfq.open_store(old) as store:
        files_before = store.catalog.files("events")

    again_old, again_new = _summary(old, *exports), _summary(new, *exports)
    assert again_old == again_new
    code, summary, err = again_old
    assert (code, err) == (0, "")
    assert (summary["skipped_sources"], summary["read"], summary["ingested"]) == (2, 0, 0)
    with mfq.open_store(old) as store:
        assert store.catalog.files("events") == files_before
    assert json.loads(invoke("query", "--store", str(old), "--format", "json")[1]) == [
        {"count": 35}
    ]
    # The check of the store still passes; other options still read the source again.
    assert invoke("doctor", "--store", str(old))[0::2] == (
        0,
        "the store is sound: 2 files checked\n",
    )
    forced = ("--profile", "k8s-audit")
    assert _summary(old, exports[1], extra=forced) == _summary(new, exports[1], extra=forced)


def test_a_changed_file_beside_an_earlier_mfqs_rows_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same size, first and last MiB (so the same fingerprint), other bytes: not a repeat."""
    middle = 3 * 1024 * 1024
    head = b"".join(json.dumps(event(i)).encode() + b"\n" for i in range(2))
    pad = b" " * middle
    first, second = tmp_path / "first.ndjson", tmp_path / "second.ndjson"
    first.write_bytes(head + pad + b"\n" + json.dumps(event(7)).encode() + b"\n" + pad)
    second.write_bytes(head + pad + b"\n" + json.dumps(event(8)).encode() + b"\n" + pad)
    assert sources.Source("", first).fingerprint() == sources.Source("", second).fingerprint()
    root = tmp_path / "s"
    assert _summary(root, first)[1]["ingested"] == 3
    _as_an_earlier_mfq_wrote_it(root, [first])
    spy = _Spy(monkeypatch, second)
    code, summary, _err = _summary(root, second)
    assert (code, summary["skipped_sources"], summary["ingested"]) == (0, 0, 1)
    # The SHA-256 was taken (the earlier mfq's row shares the fingerprint) and did not
    # match, so the file was read and recorded in BLAKE3 beside the earlier row.
    assert spy.digests == [True, False]
    assert _recorded_hashes(root) == [
        hashlib.sha256(first.read_bytes()).hexdigest(),
        "blake3:" + blake3(second.read_bytes()).hexdigest(),
    ]


class _Spy:
    """Counts the whole reads of one file (its opens, less those that take its
    fingerprint: the first and last MiB) and the content digests taken (legacy or not)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
        self.reads = 0
        self.digests: list[bool] = []
        fingerprinting = [False]
        # Every open of a file in Python goes through ``io.open`` (``Path.open`` too) or
        # the built-in ``open``, which is the same function under another name.
        opening, fingerprint = io.open, sources.Source.fingerprint
        digest_init = sources.ContentDigest.__init__

        def counted_open(file: object, *args: object, **kwargs: object) -> object:
            named = isinstance(file, str | Path) and Path(file) == path
            self.reads += named and not fingerprinting[0]
            return opening(file, *args, **kwargs)  # type: ignore[call-overload]

        def uncounted_fingerprint(this: sources.Source) -> str | None:
            fingerprinting[0] = True
            try:
                return fingerprint(this)
            finally:
                fingerprinting[0] = False

        def counted_digest(this: sources.ContentDigest, *, legacy: bool = False) -> None:
            self.digests.append(legacy)
            digest_init(this, legacy=legacy)

        monkeypatch.setattr(io, "open", counted_open)
        monkeypatch.setattr(builtins, "open", counted_open)
        monkeypatch.setattr(sources.Source, "fingerprint", uncounted_fingerprint)
        monkeypatch.setattr(sources.ContentDigest, "__init__", counted_digest)


def test_the_sha256_is_taken_only_where_an_earlier_mfqs_row_may_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_ndjson: Callable[..., Path]
) -> None:
    old = _ndjson(tmp_path / "old.ndjson", 0, 10)
    root = tmp_path / "s"
    with mfq.open_store(root, create=True) as store:
        store.ingest([old])
    _as_an_earlier_mfq_wrote_it(root, [old])

    # A new file beside an earlier mfq's rows: one read, hashed in BLAKE3 as it is
    # parsed; no read for a SHA-256.
    new = _ndjson(tmp_path / "new.ndjson", 10, 10)
    spy = _Spy(monkeypatch, new)
    with mfq.open_store(root) as store:
        assert store.ingest([new]).ingested == 10
    assert (spy.reads, spy.digests) == (1, [False])

    # The new file again: its fingerprint is a BLAKE3 row's, so BLAKE3 only, in one read.
    spy = _Spy(monkeypatch, new)
    with mfq.open_store(root) as store:
        assert store.ingest([new]).skipped_sources == 1
    assert (spy.reads, spy.digests) == (1, [False])

    # The old file again: both hashes, in the one read that recognises it.
    spy = _Spy(monkeypatch, old)
    with mfq.open_store(root) as store:
        assert store.ingest([old]).skipped_sources == 1
    assert (spy.reads, spy.digests) == (1, [True])
