"""The Markdown and HTML renderers: the same numbers in both, untrusted values escaped
wherever they land, a self-contained and reproducible HTML page, charts as SVG images."""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mfq.api import Store
from mfq.report.format import metric_texts
from mfq.report.html import NO_CHARTS, render_html
from mfq.report.markdown import render_markdown
from mfq.report.model import Report
from tests.report.conftest import DemoWeek, write_store
from tests.report.support import HtmlReport, markdown_tables

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PIPE = "a|b `c` *d* [e](javascript:alert(2))"
#: Tags the report template writes; a value that became markup would add others.
TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "h3",
    "p", "code", "section", "div", "span", "ul", "li", "figure", "img", "figcaption",
    "table", "thead", "tbody", "tr", "th", "td", "pre", "footer",
}  # fmt: skip


_FENCED = re.compile(r"^(`{3,})console\n.*?^\1$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)


def _hostile_records() -> list[dict[str, object]]:
    start = datetime(2026, 11, 9, 10, tzinfo=UTC)
    records: list[dict[str, object]] = []
    for index in range(56):  # four events a day over two weeks
        moment = start + timedelta(hours=6 * index)
        records.append(
            {
                "id": f"x-{index}",
                "timestamp": moment.isoformat().replace("+00:00", "Z"),
                "type": SCRIPT if index % 2 else "page.viewed",
                "service": IMG,
                "status": "error" if index % 3 == 0 else "ok",
                "duration_ms": 10 + index,
                "actor_profile_id": f"a{index % 3}",
                "region": PIPE,
                "version": "1.0\n2.0\x1b[31m",
            }
        )
    return records


@dataclass(frozen=True)
class Hostile:
    """A report over events whose values try to become markup, rendered both ways."""

    report: Report
    html: str
    markdown: str


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    store = write_store(tmp_path_factory.mktemp("hostile"), _hostile_records())
    report = store.report(week="2026-W47")
    return Hostile(report, render_html(report), render_markdown(report))


def test_markdown_and_html_carry_the_same_numbers(demo_week: DemoWeek) -> None:
    report = demo_week.report
    page = HtmlReport(demo_week.html)
    tables = markdown_tables(render_markdown(report))
    headline, rest = tables[0], tables[1:]
    assert headline[1:] == page.cards
    assert headline[1:] == [[m.label, *metric_texts(m)] for m in report.headline]
    assert rest == page.tables
    assert sum(len(table) for table in rest) > 60  # every section has its rows


def test_hostile_values_are_escaped_in_html(hostile: Hostile) -> None:
    page = hostile.html
    assert "<script" not in page.lower()
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "\x1b" not in page and "1.0\\n2.0\\x1b[31m" in page
    parsed = HtmlReport(page)
    assert parsed.tags <= TEMPLATE_TAGS
    assert not [a for a in parsed.attributes if a[1].startswith("on")]
    images = [value for tag, name, value in parsed.attributes if tag == "img" and name == "src"]
    assert images and all(v.startswith("data:image/svg+xml;base64,") for v in images)
    # The values are shown as the text they are, in the tables and in the prose.
    cells = {cell for table in parsed.tables for row in table for cell in row}
    assert {SCRIPT, IMG, PIPE, "1.0\\n2.0\\x1b[31m"} <= cells


def test_hostile_values_are_escaped_in_markdown(hostile: Hostile) -> None:
    document = hostile.markdown
    # Outside code (where CommonMark shows every character as it is), the only markup is
    # the <details> around the commands.
    outside_code = _CODE_SPAN.sub("", _FENCED.sub("", document))
    assert set(re.findall(r"<[^>]*>", outside_code)) == {
        "<details>",
        "<summary>",
        "</summary>",
        "</details>",
    }
    assert "&lt;script&gt;" in document
    assert "\x1b" not in document
    for table in markdown_tables(document):
        assert len({len(row) for row in table}) == 1  # no value broke a row apart
    cells = {cell for table in markdown_tables(document) for row in table for cell in row}
    assert {SCRIPT, IMG, PIPE} <= cells
    # In prose, values are code spans.
    assert 'The slowest service at p95: `"><img src=x onerror=alert(1)>`' in document


def test_hostile_values_inside_the_charts_are_inert(hostile: Hostile) -> None:
    page = HtmlReport(hostile.html)
    for tag, name, value in page.attributes:
        if tag == "img" and name == "src":
            svg = base64.b64decode(value.split(",", 1)[1]).decode()
            assert "<script" not in svg.lower()
            ET.fromstring(svg)  # well-formed XML: the labels did not break out


def test_html_is_self_contained_and_reproducible(demo_week: DemoWeek) -> None:
    first = demo_week.html
    assert first == render_html(demo_week.report)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in first
    assert "@media print" in first
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", first)
    assert "<link" not in first and "@import" not in first and "url(" not in first
    assert first.count("<img ") == 4
    assert "Date" not in "".join(
        base64.b64decode(src.split(",", 1)[1]).decode()
        for tag, name, src in HtmlReport(first).attributes
        if tag == "img" and name == "src"
    )


def test_without_matplotlib_the_page_says_charts_are_missing(
    demo_week: DemoWeek, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mfq.report.html.charts_available", lambda: False)
    page = render_html(demo_week.report)
    assert "<img" not in page
    assert html.unescape(page).count(NO_CHARTS) == 3  # once per section that has charts
    assert HtmlReport(page).tables == HtmlReport(demo_week.html).tables


def test_markdown_sections_and_commands(demo_week: DemoWeek, tmp_path: Path) -> None:
    document = render_markdown(demo_week.report)
    headings = re.findall(r"^## (.+)$", document, flags=re.MULTILINE)
    assert headings == [
        "Highlights",
        "Volume",
        "Errors",
        "Latency",
        "Anomalies",
        "SLO compliance and incidents",
        "What correlate says about the errors",
        "Changes and new error patterns",
        "Journeys",
        "How this report was made",
    ]
    block = document.split("```console\n", 1)[1].split("\n```", 1)[0]
    assert block.splitlines() == list(demo_week.report.commands())


def test_an_empty_week_renders_with_words_instead_of_tables(hand_store: Store) -> None:
    report = hand_store.report(week="2026-W40")
    document = render_markdown(report)
    assert "| Events | 0 | 0 | — |" in document
    assert "No errors to compare." in document
    # Nothing to judge is not a calm week: the anomaly, SLO and changes sections say so.
    assert document.count("Not judged: the period has no events.") == 3
    assert "No bucket departs from its expected level." not in document
    assert "### Errors by" not in document and "### Latency by" not in document
    page = HtmlReport(render_html(report))
    assert page.tables == markdown_tables(document)[1:]


def test_a_store_without_optional_fields(tmp_path: Path) -> None:
    records = [
        {"id": f"m{i}", "type": "ping", "timestamp": f"2026-11-{16 + i % 7}T10:00:00Z"}
        for i in range(14)
    ]
    report = write_store(tmp_path, records).report(week="2026-W47")
    # No region, version or duration anywhere: what needs them is left out, nothing fails.
    assert not any("region" in command for command in report.commands())
    assert [t.key for t in report.section("errors").tables] == []
    assert report.metric("p95_ms").current is None
    page = render_html(report)
    # Events and types: no errors chart without a status (or --bad), no latency without
    # durations; each of those sections is one sentence naming the option.
    assert page.count("<img ") == 2
    errors = report.section("errors")
    assert ["".join(span.text for span in p) for p in errors.paragraphs] == [
        "These events have no status field, so none counts as an error: give --bad EXPR "
        '(for example --bad "http_status >= 500") to judge them.'
    ]
    assert "--latency FIELD" in report.section("latency").paragraphs[0][0].text
