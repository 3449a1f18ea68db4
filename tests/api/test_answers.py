"""Analyses say what they found besides their rows as typed attributes of the frame
(``mfq.model.answer.Answer``), never in untyped ``DataFrame.attrs``."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from mfq.model.answer import Answer, CheckScope, answer

SOURCE = Path(__file__).resolve().parents[2] / "src" / "mfq"


def test_no_module_reads_or_writes_dataframe_attrs() -> None:
    found = [
        f"{path.relative_to(SOURCE)}:{node.lineno}"
        for path in sorted(SOURCE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "attrs"
    ]
    assert found == []


def test_an_answer_keeps_its_notes_through_what_notebooks_do_with_a_frame() -> None:
    frame = answer(
        pd.DataFrame({"n": [3, 1, 2]}),
        notes=["compared with the rest"],
        total_rows=7,
        summary={"events": 6},
        key_count=2,
    )
    for derived in (
        frame.head(2),
        frame[frame["n"] > 1],
        frame.sort_values("n").reset_index(drop=True),
        frame.copy(),
    ):
        assert isinstance(derived, Answer)
        assert derived.notes == ("compared with the rest",)
        assert (derived.total_rows, derived.summary, derived.key_count) == (7, {"events": 6}, 2)
    assert frame["n"].tolist() == [3, 1, 2]  # and it is the DataFrame it was


def test_a_plain_frame_is_an_answer_without_notes_and_given_ones_replace_old() -> None:
    plain = answer(pd.DataFrame({"n": [1]}))
    assert (plain.notes, plain.total_rows, plain.summary, plain.scope) == ((), None, {}, None)
    scope = CheckScope(since=None, until=None, where=["a = 1"], events=1)
    again = answer(answer(plain, notes=["first"]), scope=scope)
    assert (again.notes, again.scope) == (("first",), scope)
    assert answer(again, notes=["second"]).notes == ("second",)
