"""A second export shape for the ingest benchmark, independent of the demo generator's.

The demo export puts the standard fields at the top level with text ids and about ten
attributes. This shape is what other collectors write: numeric ids, an ISO time with a
numeric offset and microseconds, every other standard field nested in ``attributes``
under an alias (``event_type``, ``service.name`` as one dotted key, ``duration_us``),
severities in mixed case, and 32 more attribute keys of every class (text, integers,
floats, booleans), some of them sparse::

    {"id": 4100000123, "@timestamp": "2026-11-16T00:00:00.412345+00:00",
     "attributes": {"event_type": "http.request", "service.name": "billing", ...}}

Generated with numpy (one seed, so the same file every time) and written in blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from common import ensure_generated, name_suffix

#: Changed whenever the shape changes, so a stale export is generated again.
SHAPE_VERSION = 1

#: One key per attribute: (kind, values or range, share of records holding it).
_TEXT_KEYS: dict[str, tuple[list[str], float]] = {
    "k8s.namespace": (["default", "payments", "search", "edge", "batch"], 1.0),
    "k8s.pod": ([f"pod-{i:04x}" for i in range(400)], 1.0),
    "host.name": ([f"ip-10-0-{i // 250}-{i % 250}" for i in range(1000)], 1.0),
    "cloud.region": (["eu-west-1", "us-east-1", "ap-south-1", "sa-east-1"], 1.0),
    "tenant": ([f"tenant-{i}" for i in range(300)], 1.0),
    "feature_flag": (["new-checkout", "dark-mode", "beta-search", "none"], 0.7),
    "queue": (["high", "default", "low", "dead-letter"], 0.4),
    "endpoint": ([f"/v2/{r}/{{id}}" for r in ("users", "orders", "carts", "refunds")], 1.0),
    "method": (["GET", "POST", "PUT", "DELETE", "PATCH"], 1.0),
    "peer.service": (["postgres", "redis", "kafka", "s3", "elasticsearch"], 0.6),
    "db.statement": (["SELECT * FROM orders WHERE id = $1", "UPDATE carts SET n = $2"], 0.3),
    "error.kind": (["Timeout", "ConnectionReset", "ValidationError"], 0.05),
    "error.message": (["upstream timed out after 30s", "connection reset by peer"], 0.05),
    "latency_bucket": (["<10ms", "<100ms", "<1s", ">1s"], 1.0),
    "ab_group": (["control", "variant-a", "variant-b"], 0.8),
    "locale": (["en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR"], 0.9),
    "os": (["linux", "windows", "macos", "ios", "android"], 0.9),
    "browser": (["firefox", "chrome", "safari", "edge"], 0.5),
}
_INT_KEYS: dict[str, tuple[int, int, float]] = {
    "user.id": (1, 5_000_000, 1.0),
    "bytes_in": (0, 2_000_000, 1.0),
    "bytes_out": (0, 8_000_000, 1.0),
    "retries": (0, 5, 0.9),
    "priority": (0, 9, 1.0),
    "shard": (0, 63, 1.0),
    "rows_scanned": (0, 1_000_000, 0.3),
    "request_size": (0, 65_536, 1.0),
    "response_size": (0, 1_048_576, 1.0),
}
_FLOAT_KEYS: dict[str, tuple[float, float]] = {
    "cpu_pct": (100.0, 1.0),
    "mem_mb": (4096.0, 1.0),
    "gc_pause_ms": (50.0, 0.2),
}
_BOOL_KEYS: dict[str, float] = {"cache_hit": 1.0, "retried": 0.5}
_EVENT_TYPES = [
    "http.request",
    "db.query",
    "cache.lookup",
    "queue.publish",
    "queue.consume",
    "auth.login",
    "auth.refresh",
    "job.run",
    "payment.capture",
    "search.query",
]
_SERVICES = ["billing", "gateway", "search", "auth", "orders", "inventory", "mailer", "jobs"]
_SEVERITIES = ["INFO", "Info", "info", "WARN", "warning", "ERROR", "error", "DEBUG"]
_SEVERITY_WEIGHTS = [0.4, 0.1, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05]
_ENVIRONMENTS = ["production", "staging", "dev"]
#: 2026-11-16T00:00:00Z in microseconds since the epoch; events span a week.
_START_US = 1_794_787_200_000_000
_SPAN_US = 7 * 86_400 * 1_000_000
_BLOCK = 50_000


def attribute_keys() -> int:
    """How many keys an event's ``attributes`` can hold (standard aliases included)."""
    return 9 + len(_TEXT_KEYS) + len(_INT_KEYS) + len(_FLOAT_KEYS) + len(_BOOL_KEYS)


def wide_export_path(out: Path, events: int, seed: int) -> Path:
    """``OUT/wide-N[-sSEED].ndjson`` (beside the demo export, ``events-...``)."""
    return out / f"wide-{name_suffix(events, seed)}.ndjson"


def ensure_wide_export(path: Path, events: int, seed: int) -> bool:
    """Generate the export unless its sidecar records the same shape, size and seed;
    True when it was generated."""
    config = {"shape": "wide", "version": SHAPE_VERSION, "events": events, "seed": seed}
    return ensure_generated(path, config, lambda target: write_wide_export(target, events, seed))


def write_wide_export(path: Path, events: int, seed: int) -> None:
    """Write ``events`` records of this shape to ``path`` as NDJSON."""
    rng = np.random.default_rng(seed)
    with path.open("w", encoding="utf-8") as out:
        for first in range(0, events, _BLOCK):
            out.writelines(_block(rng, first, min(_BLOCK, events - first), events))


def _block(rng: np.random.Generator, first: int, n: int, events: int) -> Iterator[str]:
    """``n`` lines, events ``first`` to ``first + n`` of ``events`` (time increases)."""
    index = np.arange(first, first + n)
    micros = _START_US + index * (_SPAN_US // max(events, 1)) + rng.integers(0, 1000, n)
    seconds, fraction = np.divmod(micros, 1_000_000)
    stamps = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    columns: list[list[str | None]] = [
        [f'"event_type": "{v}"' for v in rng.choice(_EVENT_TYPES, n)],
        [f'"service.name": "{v}"' for v in rng.choice(_SERVICES, n)],
        [f'"environment": "{v}"' for v in rng.choice(_ENVIRONMENTS, n, p=[0.8, 0.15, 0.05])],
        [f'"severity": "{v}"' for v in rng.choice(_SEVERITIES, n, p=_SEVERITY_WEIGHTS)],
        [f'"duration_us": {v}' for v in rng.integers(50, 5_000_000, n)],
        _sparse(rng, [f'"http_status": {v}' for v in rng.choice([200, 201, 404, 500], n)], 0.6),
        [f'"trace_id": "{v:032x}"' for v in rng.integers(0, 2**62, n)],
        [f'"span_id": "{v:016x}"' for v in rng.integers(0, 2**62, n)],
        _sparse(rng, [f'"sample_rate": {v}' for v in rng.choice([1, 10], n)], 0.3),
    ]
    for key, (choices, share) in _TEXT_KEYS.items():
        columns.append(_sparse(rng, [f'"{key}": "{v}"' for v in rng.choice(choices, n)], share))
    for key, (low, high, share) in _INT_KEYS.items():
        values = rng.integers(low, high + 1, n)
        columns.append(_sparse(rng, [f'"{key}": {v}' for v in values], share))
    for key, (scale, share) in _FLOAT_KEYS.items():
        floats = rng.random(n) * scale
        columns.append(_sparse(rng, [f'"{key}": {v:.3f}' for v in floats], share))
    for key, share in _BOOL_KEYS.items():
        flags = rng.random(n) < 0.5
        columns.append(_sparse(rng, [f'"{key}": {str(v).lower()}' for v in flags], share))
    ids = 4_100_000_000 + index
    for row in range(n):
        attributes = ", ".join(c[row] for c in columns if c[row] is not None)  # type: ignore[misc]
        yield (
            f'{{"id": {ids[row]}, "@timestamp": "{stamps[row]}.{fraction[row]:06d}+00:00", '
            f'"attributes": {{{attributes}}}}}\n'
        )


def _sparse(rng: np.random.Generator, values: list[str], share: float) -> list[str | None]:
    """``values`` with each left out (None) at the rate ``1 - share``."""
    if share >= 1.0:
        return list(values)
    keep = rng.random(len(values)) < share
    return [v if k else None for v, k in zip(values, keep, strict=True)]
