"""Input sources: paths, directories, globs and stdin, opened with streaming decompression.

Compression is detected from magic bytes (never the file name), and decompression is
streamed through pyarrow, so a decompression bomb cannot exhaust memory.

A source's content hash (what recognises a source ingested before) is BLAKE3, written
``blake3:<hex>``; an earlier mfq recorded a bare SHA-256 hex digest, which is still
recognised (``ContentDigest`` with ``legacy``, computed only where such a row may match).
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mfq.errors import InputUnreadable

STDIN = "-"
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bz2"),
)
_HASH_BLOCK = 8 * 1024 * 1024
#: What names the algorithm of a content hash recorded by this mfq; a hash without a
#: name is a SHA-256 recorded by an earlier one (``Catalog.has_legacy_hash``).
HASH_PREFIX = "blake3:"
_FINGERPRINT_BYTES = 1024 * 1024
_CUT_PIECE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Source:
    """One input: a file path, or stdin."""

    name: str  # as shown to the user and stored in the catalog
    path: Path | None  # None for stdin
    #: Named on the command line (not found in a directory or by a glob): a file named
    #: explicitly that is not JSON fails; one found in a folder is skipped.
    named: bool = True

    def rereadable(self) -> bool:
        """Whether the source can be opened and read more than once: a regular file, not
        stdin, a named pipe or a process substitution (``<(...)``), which read once."""
        if self.path is None:
            return False
        try:
            return stat.S_ISREG(self.path.stat().st_mode)
        except OSError:
            return False

    def size(self) -> int | None:
        return self.path.stat().st_size if self.path is not None and self.rereadable() else None

    def fingerprint(self) -> str | None:
        """A cheap likeness key: size plus the first and last MiB (None for a source that
        can be read only once: its fingerprint is taken while it is read, see
        ``HashingReader``).

        Equal content always has an equal fingerprint; only a match is worth a full hash.
        """
        if self.path is None or not self.rereadable():
            return None
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            digest.update(str(size).encode())
            digest.update(handle.read(_FINGERPRINT_BYTES))
            if size > 2 * _FINGERPRINT_BYTES:
                handle.seek(size - _FINGERPRINT_BYTES)
                digest.update(handle.read(_FINGERPRINT_BYTES))
        return digest.hexdigest()

    def content_hash(self) -> str | None:
        """The content hash of the raw bytes (None for a source that can be read only once)."""
        hashes = self.content_hashes()
        return None if hashes is None else hashes[0]

    def content_hashes(self, *, legacy: bool = False) -> tuple[str, ...] | None:
        """The content hash, and with ``legacy`` also the SHA-256 an earlier mfq recorded,
        both from one read (None for a source that can be read only once)."""
        if self.path is None or not self.rereadable():
            return None
        digest = ContentDigest(legacy=legacy)
        with self.path.open("rb") as handle:
            while block := handle.read(_HASH_BLOCK):
                digest.update(block)
        return digest.hexdigests()


class ContentDigest:
    """The content hash being taken: BLAKE3 (four times SHA-256's speed, and out of the
    interpreter's lock for any block of 2 KiB or more, as ``hashlib``'s are), with the
    legacy SHA-256 beside it only when asked for."""

    def __init__(self, *, legacy: bool = False) -> None:
        from blake3 import blake3  # (only what reads a source imports it)

        self._blake3 = blake3()
        self._sha256 = hashlib.sha256() if legacy else None

    def update(self, data: bytes) -> None:
        self._blake3.update(data)
        if self._sha256 is not None:
            self._sha256.update(data)

    def hexdigest(self) -> str:
        """The content hash as this mfq records it."""
        return HASH_PREFIX + self._blake3.hexdigest()

    def hexdigests(self) -> tuple[str, ...]:
        """The content hash, then the legacy SHA-256 when it was taken."""
        legacy = () if self._sha256 is None else (self._sha256.hexdigest(),)
        return (self.hexdigest(), *legacy)


def expand_sources(paths: list[str]) -> list[Source]:
    """Files, directories (recursively, sorted) and glob patterns to a list of sources."""
    sources: list[Source] = []
    seen: set[Path] = set()
    for raw in paths:
        if raw == STDIN:
            sources.append(Source("<stdin>", None))
            continue
        named = not Path(raw).is_dir() and Path(raw).exists()
        for path in _expand_one(raw):
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                sources.append(Source(str(path), path, named=named))
    return sources


def _expand_one(raw: str) -> list[Path]:
    path = Path(raw)
    if path.is_dir():
        files = [
            Path(root) / name
            for root, _dirs, names in os.walk(path)
            for name in names
            if not name.startswith(".")
        ]
        return sorted(files)
    if path.exists():
        return [path]
    if glob.has_magic(raw):
        matches = [Path(m) for m in sorted(glob.glob(raw, recursive=True))]
        files = [m for m in matches if m.is_file()]
        if files:
            return files
        raise InputUnreadable(f"{raw}: no files match this pattern")
    raise InputUnreadable(f"{raw}: no such file or directory")


def detect_compression(head: bytes) -> str | None:
    """The compression named by the first bytes, or None for plain text."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


class HashingReader:
    """A binary reader that hashes what passes through it: the content hash, and the
    fingerprint of a source that can be read only once, cost no second read."""

    def __init__(self, raw: BinaryIO, *, hash_content: bool = True) -> None:
        self._raw = raw
        #: None when the content hash is not wanted (``finish`` then reads nothing more).
        self.digest = ContentDigest() if hash_content else None
        self.bytes_read = 0
        self.final: str | None = None
        self._first = bytearray()
        #: The latest blocks read, newest last, holding at least the last fingerprint's
        #: bytes: kept as they are (no copy of each block's end, under the interpreter's
        #: lock, on every read), cut to those bytes only when the fingerprint is taken.
        self._tail: list[bytes] = []
        self._tail_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self.digest is not None:
            self.digest.update(data)
        self.bytes_read += len(data)
        if len(self._first) < _FINGERPRINT_BYTES:
            self._first += data[: _FINGERPRINT_BYTES - len(self._first)]
        if data:
            self._tail.append(data)
            self._tail_bytes += len(data)
            while self._tail_bytes - len(self._tail[0]) >= _FINGERPRINT_BYTES:
                self._tail_bytes -= len(self._tail.pop(0))
        return data

    @property
    def _last(self) -> bytes:
        """The last ``_FINGERPRINT_BYTES`` read (fewer when fewer were)."""
        return b"".join(self._tail)[-_FINGERPRINT_BYTES:]

    def finish(self) -> str:
        """The hash of the whole input: bytes the reader never asked for are read now
        (nothing is read, and the hash stays unknown, when it is not wanted)."""
        if self.digest is None:
            return ""
        if self.final is None:
            while self.read(_HASH_BLOCK):
                pass
            self.final = self.digest.hexdigest()
        return self.final

    def fingerprint(self) -> str:
        """``Source.fingerprint`` of the bytes read (the same key a file of them has)."""
        digest = hashlib.sha256()
        digest.update(str(self.bytes_read).encode())
        digest.update(self._first)
        if self.bytes_read > 2 * _FINGERPRINT_BYTES:
            digest.update(self._last)
        return digest.hexdigest()


class _CutGuard:
    """A decompressing stream that ends, instead of failing, where its input is cut short
    or damaged; ``cut`` then says why (the records before the damage stay readable)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.cut: str | None = None

    def read(self, size: int = -1) -> bytes:
        # In small pieces: a failing read loses what it decompressed, so only the piece
        # that meets the damage is lost.
        pieces: list[bytes] = []
        wanted = size if size >= 0 else sys.maxsize
        while self.cut is None and wanted > 0:
            try:
                piece = self._stream.read(min(wanted, _CUT_PIECE_BYTES))
            except (OSError, ValueError) as err:  # pyarrow: ArrowIOError, ArrowInvalid
                self.cut = str(err).strip() or type(err).__name__
                break
            if not piece:
                break
            pieces.append(piece)
            wanted -= len(piece)
        return b"".join(pieces)

    def close(self) -> None:
        self._stream.close()


@dataclass
class OpenedSource:
    """A source opened for reading decompressed bytes."""

    stream: BinaryIO
    compression: str | None
    hashing: HashingReader
    raw: BinaryIO | None  # the underlying file, for progress (None for stdin)
    source_name: str = ""
    guard: _CutGuard | None = None  # compressed input only

    @property
    def cut(self) -> str | None:
        """Why the compressed input ended early (None when it was whole)."""
        return None if self.guard is None else self.guard.cut

    def close(self) -> None:
        """Close the file (never stdin)."""
        if self.raw is not None:
            self.raw.close()


def open_source(source: Source, *, hash_content: bool = True) -> OpenedSource:
    """Open a source, peeking at its magic bytes to pick streaming decompression; the
    content is hashed as it is read unless ``hash_content`` is false."""
    import pyarrow as pa

    try:
        raw: BinaryIO = sys.stdin.buffer if source.path is None else source.path.open("rb")
    except OSError as err:
        raise InputUnreadable(f"{source.name}: {err.strerror or err}") from err
    hashing = HashingReader(raw, hash_content=hash_content)
    buffered = _PeekReader(hashing)
    compression = detect_compression(buffered.peek(4))
    file = None if source.path is None else raw
    if compression is None:
        return OpenedSource(buffered, None, hashing, file, source.name)  # type: ignore[arg-type]
    stream = pa.CompressedInputStream(pa.PythonFile(buffered, mode="r"), compression)
    guard = _CutGuard(stream)
    return OpenedSource(guard, compression, hashing, file, source.name, guard)  # type: ignore[arg-type]


class _PeekReader:
    """Lets us look at the first bytes of a non-seekable stream without losing them."""

    def __init__(self, raw: BinaryIO | HashingReader) -> None:
        self._raw = raw
        self._pending = b""
        self.closed = False

    def peek(self, size: int) -> bytes:
        while len(self._pending) < size:
            more = self._raw.read(size - len(self._pending))
            if not more:
                break
            self._pending += more
        return self._pending[:size]

    def read(self, size: int = -1) -> bytes:
        if self._pending:
            if size < 0:
                data = self._pending + self._raw.read()
                self._pending = b""
                return data
            data, self._pending = self._pending[:size], self._pending[size:]
            if len(data) < size:
                data += self._raw.read(size - len(data))
            return data
        return self._raw.read(size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        close = getattr(self._raw, "close", None)
        if close is not None and self._raw is not sys.stdin.buffer:
            close()
