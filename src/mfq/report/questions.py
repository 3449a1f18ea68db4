"""Saved questions (``[questions]`` of ``mfq.toml``) as report sections: each asked over
the report's period, its answer shown as a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mfq.query.build import answer_query
from mfq.query.requests import QueryQuestion, Selection
from mfq.report.context import Call, ReportContext
from mfq.report.model import Column, ColumnKind, Section, Span, Table, paragraph

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SavedQuestion:
    """A saved question for the report: its name, its title and its request (a
    ``query``, ``timeseries`` or ``events`` question; its time range is replaced by the
    report's period)."""

    name: str
    title: str
    request: QueryQuestion


def question_sections(
    context: ReportContext, questions: Sequence[SavedQuestion]
) -> tuple[Section, ...]:
    """One section per saved question, answered over the report's current period."""
    calls = [
        Call(f"question-{q.name}", answer_query, replace(q.request, selection=_over(q, context)))
        for q in questions
    ]
    answers = context.run(calls)
    return tuple(
        _section(question, frame) for question, frame in zip(questions, answers, strict=True)
    )


def _over(question: SavedQuestion, context: ReportContext) -> Selection:
    """The question's selection over the report's current period (its own filters; the
    report's weighting when the report ignores ``sample_rate``)."""
    asked = question.request.selection
    period = context.current
    return replace(
        asked.during(period.since, period.until),
        now=None,
        unweighted=asked.unweighted or context.unweighted,
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
