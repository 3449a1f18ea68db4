"""The report as GitHub-flavoured Markdown: headings, pipe tables, lists, no charts.

Every value from events is escaped for where it lands: table cells and prose through
:func:`mfq.render.markdown.escape_markdown` (``|``, backticks, ``<``, emphasis, links,
control characters), code spans and the command block fenced with more backticks than
they contain. Numbers come from :mod:`mfq.report.format`, as in the HTML report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import tzinfo

from mfq.render.escape import escape_control
from mfq.render.markdown import escape_markdown
from mfq.report.format import is_numeric, metric_texts, table_cells, zone_of
from mfq.report.model import Paragraph, Report, Section, Table

_BACKTICKS = re.compile(r"`+")


def render_markdown(report: Report) -> str:
    """The whole report as one Markdown document."""
    zone = zone_of(report.tz)
    blocks = [f"# {escape_markdown(report.title)}", _period(report), _headline(report, zone)]
    for section in report.sections:
        blocks.extend(_section(section, zone))
    blocks.extend(_appendix(report))
    return "\n\n".join(blocks) + "\n"


def _period(report: Report) -> str:
    zone = report.tz or "UTC"
    text = (
        f"Period: {escape_markdown(report.period.label)}, compared with "
        f"{escape_markdown(report.previous.label)}. Times in {escape_markdown(zone)}."
    )
    where = report.options.get("where")
    if isinstance(where, list) and where:
        text += " Only events matching " + " and ".join(code_span(str(w)) for w in where) + "."
    return text


def _headline(report: Report, zone: tzinfo) -> str:
    rows = [[metric.label, *metric_texts(metric, zone)] for metric in report.headline]
    return _table(["metric", "this period", "previous", "change"], rows, [False, True, True, True])


def _section(section: Section, zone: tzinfo) -> Iterable[str]:
    yield f"## {escape_markdown(section.title)}"
    for paragraph in section.paragraphs:
        yield prose(paragraph)
    if section.items:
        yield "\n".join(f"- {prose(item)}" for item in section.items)
    for table in section.tables:
        yield from _titled_table(table, zone)
    for note in section.notes:
        yield f"_{escape_markdown(note)}_"


def _titled_table(table: Table, zone: tzinfo) -> Iterable[str]:
    yield f"### {escape_markdown(table.title)}"
    header = [column.label for column in table.columns]
    right = [is_numeric(column.kind) for column in table.columns]
    yield _table(header, table_cells(table, zone), right)
    if table.note:
        yield f"_{escape_markdown(table.note)}_"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    lines = [
        "| " + " | ".join(escape_markdown(cell) for cell in header) + " |",
        "| " + " | ".join("---:" if align else "---" for align in right) + " |",
    ]
    lines += ["| " + " | ".join(escape_markdown(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def prose(paragraph: Paragraph) -> str:
    """A paragraph's spans: text escaped, code as code spans."""
    return "".join(
        code_span(span.text) if span.code else escape_markdown(span.text) for span in paragraph
    )


def code_span(text: str) -> str:
    """``text`` as an inline code span that no backtick inside it can close early."""
    inert = escape_control(text)
    longest = max((len(run) for run in _BACKTICKS.findall(inert)), default=0)
    fence = "`" * (longest + 1)
    # A space on each side keeps a leading or trailing backtick off the fence (CommonMark
    # strips one space from each side when both are present).
    padded = f" {inert} " if inert.startswith("`") or inert.endswith("`") else inert
    return f"{fence}{padded}{fence}"


def _appendix(report: Report) -> Iterable[str]:
    commands = "\n".join(escape_control(line) for line in report.commands())
    longest = max((len(run) for run in _BACKTICKS.findall(commands)), default=0)
    fence = "`" * max(3, longest + 1)
    yield "## How this report was made"
    yield (
        "Every number above comes from these queries (the report runs the aggregates of "
        "each period as one scan); each command reproduces one of them."
    )
    yield f"<details><summary>{len(report.queries)} queries</summary>"
    yield f"{fence}console\n{commands}\n{fence}"
    yield "</details>"
