"""Tunable constants in one place, with their documented defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Defaults users might want to change; pass a modified copy where an API accepts one."""

    #: Bytes of input text parsed at once. Bounds ingest memory: a chunk and its Arrow
    #: table are alive at once, a few times this size in all.
    chunk_bytes: int = 16 * 1024 * 1024
    #: The longest record read, in bytes: a longer line or array element is rejected
    #: (``too_long``, its first 64 KiB kept) and reading goes on after it, so one huge
    #: record never needs more memory than this.
    max_record_bytes: int = 64 * 1024 * 1024
    #: The deepest nesting of objects and arrays in one record: a deeper record is rejected
    #: (``too_deep``) before any parser sees it.
    max_depth: int = 256
    #: Distinct attribute columns one source may add: past them, a record's new fields
    #: are kept as one JSON text column, ``_overflow`` (counted as warnings), so ingest
    #: time and memory stay linear when every record brings new keys.
    max_fields: int = 1000
    #: Maximum events held before they are written to a batch's Parquet files.
    flush_rows: int = 131_072
    #: ...and the most bytes of them (Arrow's): wide records (a real Windows security log's
    #: 140 keys, 1.9 KB a record held) reach it first, so a batch's memory stays bounded
    #: by bytes, not rows (the demo's events, 0.4 KB, flush by rows as before).
    flush_bytes: int = 96 << 20
    #: Parquet row-group size for event files.
    row_group_rows: int = 128 * 1024
    #: zstd level for Parquet files (1 is fast and still small).
    zstd_level: int = 1
    #: Events per file ``mfq compact`` writes (a day with more gets several files).
    compact_file_rows: int = 1_048_576
    #: Seconds an ingest waits for another writer's lock before giving up.
    lock_timeout_seconds: float = 600.0
    #: How many most frequent values ``mfq schema`` shows per field.
    top_values: int = 5
    #: Fast-path parse errors tolerated in one block before the rest goes record by record.
    fast_path_max_retries: int = 8
    #: Validate with the vectorised path (False: every record through pydantic, slower).
    fast_path: bool = True


DEFAULT_SETTINGS = Settings()
