"""The examples a property test generates on a fixed seed do not depend on which modules
the process loaded before it (``tests/conftest.py`` fixes Hypothesis's pool of local
constants): CI's runs generate the same examples whatever order xdist ran the tests in."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def test_examples_on_a_fixed_seed_do_not_depend_on_the_modules_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[int] = []

    @settings(derandomize=True, max_examples=300, database=None)
    @given(st.integers())
    def draw(number: int) -> None:
        drawn.append(number)

    draw()
    first = list(drawn)
    # A module of local code (not a test's, not an installed package's) loaded since,
    # with a literal of its own: Hypothesis would add it to the pool it draws from.
    (tmp_path / "fresh_literals.py").write_text("VALUE = 918273645\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module("fresh_literals")
        drawn.clear()
        draw()
    finally:
        sys.modules.pop("fresh_literals", None)
    assert len(first) == 300
    assert drawn == first
