"""Column widths for a row table that must fit the terminal, and names cut in the middle.

rich narrows columns on its own, but cuts every text at its end: eight different
``userIdentity.sessionContext.*`` fields all become ``userIdentity.se…``. Here the widths
are planned first (numbers and times keep theirs, the widest text columns give way), so
headers and field names can be cut in the middle, where they differ least:
``userIdentity…Context.type``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len

ELLIPSIS = "…"
#: Narrowest a text column is squeezed to before the table gives up fitting.
MIN_TEXT_WIDTH = 8
#: Blank cells between two columns.
GAP = 2


def cut_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, the middle replaced by an ellipsis; the end
    (a dotted name's leaf) keeps the larger part."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    keep = width - 1
    head = keep * 2 // 5
    tail = keep - head
    return text[:head] + ELLIPSIS + text[len(text) - tail :]


def plan_widths(natural: Sequence[int], minimum: Sequence[int], available: int) -> list[int] | None:
    """Widths for columns of these natural widths in ``available`` cells (gaps included),
    narrowing the widest column still above its minimum first, one cell at a time; None
    when they fit as they are."""
    widths = list(natural)
    excess = sum(widths) + GAP * (len(widths) - 1) - available
    if excess <= 0:
        return None
    while excess > 0:
        candidates = [i for i, w in enumerate(widths) if w > minimum[i]]
        if not candidates:
            break  # every column at its minimum: the terminal wraps the rest
        widest = max(candidates, key=lambda i: (widths[i], -i))
        widths[widest] -= 1
        excess -= 1
    return widths
