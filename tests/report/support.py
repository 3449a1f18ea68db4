"""Reading rendered reports back: the tables of a Markdown document and of an HTML page,
cell by cell, as text a reader sees."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*\[\]|~$_])")


def markdown_tables(document: str) -> list[list[list[str]]]:
    """Every pipe table (header row included, the rule row left out), cells unescaped."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in document.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [_unescape(cell.strip()) for cell in _CELL_SPLIT.split(line)[1:-1]]
        if current is None:
            current = []
            tables.append(current)
        if all(set(cell) <= set("-:") for cell in cells):
            continue  # the rule under the header
        current.append(cells)
    return tables


def _unescape(cell: str) -> str:
    return html.unescape(_MARKDOWN_ESCAPE.sub(r"\1", cell))


class HtmlReport(HTMLParser):
    """The tables, headline cards, tags and attributes of an HTML report."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.cards: list[list[str]] = []
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []
        self._cell: list[str] | None = None
        self._card_part: str | None = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = {name: value or "" for name, value in attrs}
        self.attributes += [(tag, name, value) for name, value in values.items()]
        classes = values.get("class", "").split()
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "div" and "card" in classes:
            self.cards.append([])
        elif {"label", "value", "previous-value", "change-value"} & set(classes):
            self._card_part = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag in ("div", "span") and self._card_part is not None:
            self.cards[-1].append(self._card_part.strip())
            self._card_part = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._card_part is not None:
            self._card_part += data
