"""Shared fixtures: small exports written to temporary files, and fresh stores."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import settings

import mfq
from mfq.api import Store

# CI runs the property tests on a fixed seed so a landing never depends on luck; run them
# locally (or with HYPOTHESIS_PROFILE=explore) to search new inputs every time.
# No deadline: a per-example time limit is a timed assertion, and on a loaded machine (two
# cores shared by several test runs) it failed examples that take 0.2 ms when idle.
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)

#: At most this many generated examples a property test on CI's fixed seed, for the tests
#: that ask :func:`examples` (the slowest, 0.1-0.3 s an example): CI would run the same
#: few hundred examples at every landing; the random profiles search all they ask for.
CI_EXAMPLES = 100


def examples(count: int) -> int:
    """``count`` examples, or :data:`CI_EXAMPLES` at most on the ``ci`` profile."""
    return min(count, CI_EXAMPLES) if PROFILE == "ci" else count


REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "real"


def event(i: int, **extra: object) -> dict[str, object]:
    """A small valid event with a distinct id and time."""
    record: dict[str, object] = {
        "id": f"ev-{i}",
        "type": "order.created",
        "timestamp": f"2026-11-03T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
    }
    record.update(extra)
    return record


@pytest.fixture(autouse=True)
def _no_inherited_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables are 80 columns wide in tests, whatever ``COLUMNS`` the shell exported."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def write_ndjson(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw strings as lines) as an NDJSON file."""
    counter = iter(range(1_000_000))

    def write(records: Iterable[object], name: str | None = None) -> Path:
        path = tmp_path / (name or f"export-{next(counter)}.ndjson")
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A new, empty store."""
    return mfq.open_store(tmp_path / "store", create=True)
