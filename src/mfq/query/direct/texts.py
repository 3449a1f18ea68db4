"""A question's texts, kept as written: the names they mention are found by a light scan
(no parser), so that reading a file can start before the expression parser is imported.

The parser (``mfq.query.expr``, pydantic's models) takes about 0.1 s of the main thread
to import; the reading's threads parse the file meanwhile. ``names_mentioned`` is a
superset of what ``mfq.query.direct.fields.question_fields`` finds: every identifier and
backquoted name outside quoted strings (keywords and function names too, which cost a
declared key each), every comma-separated name of ``fields`` and ``order_by``. The reader
checks the exact fields once they are parsed and reads again when one was missed.

This module imports nothing heavy: the command line builds it before any library import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Texts the parser must see before anything is read (a store's learned templates, or
#: globs over the stored names): the exact path decides, as before.
_NEEDS_PARSER = re.compile(r"\b(new_)?pattern\s*\(|[*?\[]", re.IGNORECASE)
#: Characters a backslash escapes inside quotes (``mfq.query.expr.tokens``); any other
#: backslash is kept as written.
_ESCAPABLE = "\\'\"`"
_DIRECTION = re.compile(r"\s+(asc|desc)$", re.IGNORECASE)


@dataclass(frozen=True)
class QuestionTexts:
    """The texts of a question on files, as ``question_fields`` takes them."""

    where: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    aggs: tuple[str, ...] = ()
    having: str | None = None
    order_by: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    lets: tuple[str | tuple[str, str], ...] = ()

    def exact_fields(self) -> frozenset[str] | None:
        """The fields the question reads, by the parser (``question_fields``)."""
        from mfq.query.direct.fields import question_fields

        return question_fields(
            where=self.where,
            keys=self.keys,
            aggs=self.aggs,
            having=self.having,
            order_by=self.order_by,
            fields=self.fields,
            lets=self.lets,
        )

    def names_mentioned(self, more_lets: tuple[tuple[str, str], ...] = ()) -> frozenset[str] | None:
        """Every name the texts (and the definitions ``more_lets``) could mean, a superset
        of ``exact_fields``; None where only the parser can say (globs, pattern fields)."""
        texts = [*self.where, *self.keys, *self.aggs, *self.order_by, self.having or ""]
        texts += [d if isinstance(d, str) else d[1] for d in (*self.lets, *more_lets)]
        listed = [*self.fields, *self.order_by]
        if any(_NEEDS_PARSER.search(text) for text in [*texts, *listed]):
            return None
        names = {d[0] for d in (*self.lets, *more_lets) if not isinstance(d, str)}
        for text in [*texts, *listed]:
            names |= _names_in(text)
        for text in listed:
            for item in (text, *text.split(",")):  # (an order's expression holds commas)
                name = _DIRECTION.sub("", item.strip().removeprefix("-")).strip()
                names |= {name.strip("`"), *_spelled(name)}
        names.discard("")
        return frozenset(names)


def _spelled(name: str) -> tuple[str, str]:
    """A listed name as ``split_fields`` may read it: backquoted parts joined to the rest,
    a backslash escaping any character inside backquotes (kept outside them), and with
    every backslash taken as an escape."""
    inside, escaped, quoted = [], [], False
    position = 0
    while position < len(name):
        char = name[position]
        if char == "`":
            quoted = not quoted
        elif char == "\\" and position + 1 < len(name):
            position += 1
            inside += [char, name[position]] if not quoted else [name[position]]
            escaped.append(name[position])
        else:
            inside.append(char)
            escaped.append(char)
        position += 1
    return "".join(inside).strip(), "".join(escaped).strip()


def _names_in(text: str) -> set[str]:
    """Identifiers (parts joined by dots) and backquoted names outside quoted strings."""
    names: set[str] = set()
    position = 0
    while position < len(text):
        char = text[position]
        if char in "'\"`":
            start = position
            value, position = _quoted(text, position)
            if char == "`":  # (a group key's backquotes are taken as written, unescaped)
                names |= {value, text[start + 1 : position - 1]}
        elif char.isalpha() or char == "_":
            end = position
            while end < len(text) and (text[end].isalnum() or text[end] in "_."):
                end += 1
            names.add(text[position:end].strip("."))
            position = end
        elif char.isdigit():  # a number (or a duration such as 5m): no name in it
            while position < len(text) and (text[position].isalnum() or text[position] in "_."):
                position += 1
        else:
            position += 1
    return names


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The content of the quoted text opening at ``start`` (escapes resolved as the
    tokenizer resolves them) and the position after its closing quote."""
    quote, value, position = text[start], [], start + 1
    while position < len(text) and text[position] != quote:
        if text[position] == "\\" and position + 1 < len(text) and text[position + 1] in _ESCAPABLE:
            position += 1
        value.append(text[position])
        position += 1
    return "".join(value), position + 1
