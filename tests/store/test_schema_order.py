"""``mfq schema`` lists the fields in an order of the data's alone: the standard fields
in the model's order, then the other fields by name, whatever the block and chunk cuts,
the path each record took (vectorised or record by record), the day partitions and the
order the files were ingested in. The columns' order in the files followed the cuts
(found in review)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfq.api import open_store
from mfq.ingest import fastpath
from mfq.ingest.columns import STANDARD_NAMES
from mfq.settings import DEFAULT_SETTINGS

KEYS = st.sampled_from(["zeta", "alpha", "m.b", "m.a", "Beta", "_x", "n1", "n10", "n2"])
VALUES = st.integers(0, 3) | st.sampled_from(["t", 2.5, True])


def drawn_lines(drawn: list[dict[str, object]], day: Callable[[int], int]) -> list[str]:
    """One NDJSON line a drawn record, the ``i``-th on 2026-11-0``day(i)``; a dotted key
    is nested (``m.b``: ``{"m": {"b": ...}}``)."""
    lines = []
    for i, keys in enumerate(drawn):
        record: dict[str, object] = {"type": "t", "timestamp": f"2026-11-0{day(i)}T10:00:00Z"}
        for key, value in keys.items():
            head, _, tail = key.partition(".")
            target = record.setdefault(head, {}) if tail else record
            if isinstance(target, dict):
                target[tail or key] = value
        lines.append(json.dumps(record))
    return lines


def _schema_order(lines: list[str], probe: int, chunk_bytes: int, exact: bool) -> list[str]:
    """The fields of ``mfq schema`` after an ingest of ``lines`` read in chunks of
    ``chunk_bytes`` with a first block of ``probe`` bytes."""
    chunked = dataclasses.replace(DEFAULT_SETTINGS, chunk_bytes=chunk_bytes)
    original = fastpath.PROBE_BLOCK_BYTES
    fastpath.PROBE_BLOCK_BYTES = probe
    try:
        with tempfile.TemporaryDirectory() as folder:
            export = Path(folder) / "e.ndjson"
            export.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            with open_store(Path(folder) / "store", settings=chunked) as store:
                store.ingest([str(export)])
                return [row["field"] for row in store.schema_records(exact=exact)]
    finally:
        fastpath.PROBE_BLOCK_BYTES = original


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    drawn=st.lists(st.dictionaries(KEYS, VALUES, max_size=4), min_size=1, max_size=20),
    exact=st.booleans(),
)
def test_the_schema_lists_fields_in_an_order_of_the_data_alone(
    drawn: list[dict[str, object]], exact: bool
) -> None:
    lines = drawn_lines(drawn, lambda i: 1 + i % 3)
    orders = {
        tuple(_schema_order(lines, probe, chunk_bytes, exact))
        for probe, chunk_bytes in ((64 * 1024, 16 << 20), (256, 512), (100, 300))
    }
    assert len(orders) == 1
    (order,) = orders
    attributes = [name for name in order if name not in STANDARD_NAMES]
    assert list(order[: len(STANDARD_NAMES)]) == list(STANDARD_NAMES)
    assert attributes == sorted(attributes)


def test_fields_are_listed_by_name_after_the_standard_fields(tmp_path: Path) -> None:
    lines = [
        {"type": "t", "timestamp": "2026-11-03T10:00:00Z", "zeta": 1, "m": {"b": 2}},
        {"type": "t", "timestamp": "2026-11-02T10:00:00Z", "alpha": "x", "m": {"a": 1}},
    ]
    export = tmp_path / "e.ndjson"
    export.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with open_store(tmp_path / "store") as store:
        store.ingest([str(export)])
        for exact in (False, True):
            names = [row["field"] for row in store.schema_records(exact=exact)]
            assert names == [*STANDARD_NAMES, "alpha", "m.a", "m.b", "zeta"]
