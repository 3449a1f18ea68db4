"""The OTLP/JSON reader: columnar where it can be, record by record elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from mfq.ingest.containers import RecordChunk
from mfq.ingest.otlp.stream import record_chunks


def otlp_chunks(stream: BinaryIO, chunk_bytes: int) -> Iterator[RecordChunk]:
    """The events of an OTLP/JSON input as record chunks of about ``chunk_bytes``."""
    return record_chunks(stream, chunk_bytes)
