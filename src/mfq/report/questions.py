"""Saved questions (``[questions]`` of ``mfq.toml``) as report sections: each asked over
the report's period, its answer shown as a table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mfq.errors import UsageError
from mfq.report.context import Call, ReportContext
from mfq.report.model import Column, ColumnKind, Section, Span, Table, paragraph

if TYPE_CHECKING:
    import pandas as pd

#: The ``Store`` methods a saved question may call in a report.
METHODS = ("query", "timeseries", "events")
#: Time options the report's period replaces.
_PERIOD_OPTIONS = {"since", "until", "last", "now"}


@dataclass(frozen=True)
class SavedQuestion:
    """A saved question for the report: its name, its title, the ``Store`` method it
    calls (``query``, ``timeseries`` or ``events``) and that method's keyword options."""

    name: str
    title: str
    method: str
    options: Mapping[str, Any]


def question_sections(
    context: ReportContext, questions: Sequence[SavedQuestion]
) -> tuple[Section, ...]:
    """One section per saved question, answered over the report's current period."""
    for question in questions:
        if question.method not in METHODS:
            raise UsageError(
                f"saved question {question.name!r}: a report shows query, timeseries or "
                f"events questions, not {question.method}"
            )
    calls = [
        Call(
            f"question-{q.name}",
            q.method,
            {
                **{k: v for k, v in q.options.items() if k not in _PERIOD_OPTIONS},
                **context.period_options(context.current),
            },
        )
        for q in questions
    ]
    answers = context.run(calls)
    return tuple(
        _section(question, frame) for question, frame in zip(questions, answers, strict=True)
    )


def _section(question: SavedQuestion, frame: pd.DataFrame) -> Section:
    columns = tuple(Column(str(name), str(name), _kind(frame[name])) for name in frame.columns)
    table = Table(key=question.name, title=question.title, columns=columns, frame=frame)
    about = paragraph("The saved question ", Span(question.name, code=True), " over this period.")
    return Section(f"question-{question.name}", question.title, (about,), tables=(table,))


def _kind(column: pd.Series) -> ColumnKind:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return ColumnKind.TIME
    if pd.api.types.is_integer_dtype(column.dtype):
        return ColumnKind.COUNT
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
        return ColumnKind.NUMBER
    return ColumnKind.TEXT
