"""Shared fixtures: small exports written to temporary files, and fresh stores."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

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

REPO = Path(__file__).resolve().parents[1]
#: The project's own code, whose literals Hypothesis draws from now and then.
PROJECT_CODE = ("src", "bench", "examples")


def _project_constants() -> Any:
    """The literals of every module of the project's own code (what Hypothesis calls local
    code: not the tests, not installed packages), read once.

    Hypothesis (6.x) draws some values from the literals of the local modules loaded so
    far, and scans ``sys.modules`` again whenever it grew: which of mfq's modules a worker
    has loaded when a property test runs depends on the tests it ran before (imports are
    lazy, and xdist hands out tests by timing), so CI's fixed seed could generate other
    examples from one run to the next. Every module's literals, loaded or not, make the
    pool the same in every run and every worker."""
    from hypothesis.internal.constants_ast import (
        Constants,
        constants_from_module,
        is_local_module_file,
    )

    pool = Constants()
    for top in PROJECT_CODE:
        for path in sorted((REPO / top).rglob("*.py")):
            if is_local_module_file(str(path)):
                module = ModuleType(path.stem)
                module.__file__ = str(path)
                pool |= constants_from_module(module)
    return pool


def _fix_local_constants() -> None:
    """Hypothesis's pool of local constants, made the project's whole code (see
    :func:`_project_constants`), read on first use."""
    from hypothesis.internal.conjecture import providers

    pool: list[Any] = []

    def project_constants() -> Any:
        if not pool:
            pool.append(_project_constants())
            providers.CONSTANTS_CACHE.cache.clear()
        return pool[0]

    providers._get_local_constants = project_constants


_fix_local_constants()

#: At most this many generated examples a property test on CI's fixed seed, for the tests
#: that ask :func:`examples` (the slowest, 0.1-0.3 s an example): CI would run the same
#: few hundred examples at every landing; the random profiles search all they ask for.
CI_EXAMPLES = 100


def examples(count: int) -> int:
    """``count`` examples, or :data:`CI_EXAMPLES` at most on the ``ci`` profile."""
    return min(count, CI_EXAMPLES) if PROFILE == "ci" else count


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
