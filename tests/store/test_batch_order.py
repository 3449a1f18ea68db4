"""Batches come back in the order they were committed, whatever their names: a batch's
token (its files' names) is the second it started and a random part, so two ingests in
one second sort by chance, and ``mfq rejects`` ("oldest first") listed the later
batch's rejects first half the time."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest

import mfq
from mfq.store import store as store_module
from tests.conftest import event


class _OneSecond(datetime):
    """Every batch starts in the same second."""

    @classmethod
    def now(cls, tz: object = None) -> _OneSecond:
        return cls(2026, 12, 7, 2, 0, 0, tzinfo=UTC)


def test_two_batches_of_one_second_list_their_rejects_oldest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    random_parts = iter(["ffffffff", "00000000"])  # (the later batch's name sorts first)
    monkeypatch.setattr(store_module, "datetime", _OneSecond)
    monkeypatch.setattr(secrets, "token_hex", lambda _n: next(random_parts))
    with mfq.open_store(tmp_path / "store", create=True) as store:
        for name, i in (("first", 1), ("second", 2)):
            export = tmp_path / f"{name}.ndjson"
            export.write_text(json.dumps(event(i)) + "\nnot json\n")
            assert store.ingest([export]).rejected == 1
        rejects = store.rejects()
        assert sorted(p.name for p in (tmp_path / "store" / "rejects").iterdir()) == [
            "rejects-20261207T020000-00000000-00002.parquet",
            "rejects-20261207T020000-ffffffff-00002.parquet",
        ]
    assert list(rejects["source"]) == [
        str(tmp_path / "first.ndjson"),
        str(tmp_path / "second.ndjson"),
    ]
