"""The tokenizer: expression text to tokens, one character at a time (no regex splitting).

Tokens: identifiers (``service``, ``http.route``, keywords), backquoted field names,
single- or double-quoted strings, numbers, operators, parentheses and commas. Inside quotes
a backslash escapes a following backslash or quote character (single, double or back
quote); any other backslash is kept as written, so a regular expression like ``'\\d+'``
needs no doubling.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mfq.query.expr.errors import ExpressionError, shown

#: Reserved words, matched case-insensitively; a field with such a name needs backquotes.
KEYWORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "contains",
        "startswith",
        "is",
        "null",
        "true",
        "false",
        "exists",
        "as",
    }
)

#: Operator spellings and the operator each means (``==`` and ``<>`` for SQL/Python habits).
OPERATORS: dict[str, str] = {
    "=": "=",
    "==": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "~": "~",
}

#: Arithmetic operators (a ``-`` before a digit starts a negative number instead).
ARITHMETIC = frozenset("+-*/")

_QUOTES = ("'", '"', "`")
_ESCAPABLE = ("\\", "'", '"', "`")
_DIGITS = "0123456789"
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


class TokenKind(StrEnum):
    """What a token is."""

    IDENT = "identifier"
    QUOTED_IDENT = "backquoted name"
    STRING = "string"
    NUMBER = "number"
    OP = "operator"
    ARITH = "arithmetic operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its source text and offsets, and its decoded value.

    ``value`` is the string's or name's content, the number, or the operator it means.
    """

    kind: TokenKind
    text: str
    start: int
    end: int
    value: str | int | float

    def keyword(self) -> str | None:
        """The keyword this token is (lower case), or None."""
        if self.kind is TokenKind.IDENT and is_keyword(self.text):
            return self.text.lower()
        return None

    def is_keyword(self, word: str) -> bool:
        """Whether this token is the keyword ``word`` (lower case), in any case."""
        return self.keyword() == word

    def describe(self) -> str:
        """The token as an error message names it."""
        if self.kind is TokenKind.END:
            return "the end"
        if self.kind in (TokenKind.STRING, TokenKind.QUOTED_IDENT):
            return shown(self.text, quote="")
        return shown(self.text)


def is_keyword(word: str) -> bool:
    """Whether ``word`` is a reserved word (ASCII only, so no Unicode case-folding surprises)."""
    return word.isascii() and word.lower() in KEYWORDS


def is_identifier_start(ch: str) -> bool:
    """Whether an identifier may start with ``ch``."""
    return ch.isalpha() or ch == "_"


def is_identifier_char(ch: str) -> bool:
    """Whether ``ch`` may continue an identifier part."""
    return ch.isalnum() or ch == "_"


def is_plain_name(name: str) -> bool:
    """Whether ``name`` reads back as one identifier token: parts joined by single dots."""
    if not name or not is_identifier_start(name[0]):
        return False
    return all(part and all(map(is_identifier_char, part)) for part in name.split("."))


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an END token; raises ExpressionError."""
    return _Scanner(text).tokens()


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, position: int) -> ExpressionError:
        return ExpressionError(message, self.text, position)

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def tokens(self) -> list[Token]:
        found: list[Token] = []
        while True:
            while self.peek().isspace():
                self.pos += 1
            if self.pos >= len(self.text):
                found.append(Token(TokenKind.END, "", self.pos, self.pos, ""))
                return found
            found.append(self.token())

    def token(self) -> Token:
        ch = self.peek()
        start = self.pos
        if is_identifier_start(ch):
            return self.identifier()
        if _is_digit(ch) or (ch == "-" and _is_digit(self.peek(1))):
            return self.number()
        if ch in _QUOTES:
            return self.quoted(ch)
        for spelling in (ch + self.peek(1), ch):
            if spelling in OPERATORS:
                self.pos += len(spelling)
                return Token(TokenKind.OP, spelling, start, self.pos, OPERATORS[spelling])
        if ch in ARITHMETIC:
            self.pos += 1
            return Token(TokenKind.ARITH, ch, start, self.pos, ch)
        single = {"(": TokenKind.LPAREN, ")": TokenKind.RPAREN, ",": TokenKind.COMMA}.get(ch)
        if single is None:
            raise self.fail(f"unexpected character {shown(ch)}", start)
        self.pos += 1
        return Token(single, ch, start, self.pos, ch)

    def identifier(self) -> Token:
        start = self.pos
        self.pos += 1
        while True:
            while is_identifier_char(self.peek()):
                self.pos += 1
            if self.peek() == "." and is_identifier_char(self.peek(1)):
                self.pos += 1
                continue
            break
        word = self.text[start : self.pos]
        return Token(TokenKind.IDENT, word, start, self.pos, word)

    def number(self) -> Token:
        start = self.pos
        self.pos += 1
        while True:
            ch = self.peek()
            exponent_sign = ch in ("+", "-") and self.text[self.pos - 1] in ("e", "E")
            if not (is_identifier_char(ch) or ch == "." or exponent_sign):
                break
            self.pos += 1
        word = self.text[start : self.pos]
        return Token(TokenKind.NUMBER, word, start, self.pos, self.number_value(word, start))

    def number_value(self, word: str, start: int) -> int | float:
        body = word.removeprefix("-")
        mantissa, _, exponent = body.lower().partition("e")
        whole, dot, fraction = mantissa.partition(".")
        has_exponent = "e" in body.lower()
        valid = (
            _all_digits(whole)
            and (not dot or _all_digits(fraction))
            and (not has_exponent or _all_digits(exponent.removeprefix("+").removeprefix("-")))
        )
        if not valid:
            raise self.fail(f"bad number {shown(word)}", start)
        if not dot and not has_exponent:
            # Python refuses int() of very long digit strings; anything past int64 is out anyway.
            value = int(word) if len(body) <= 19 else _INT64_MAX + 1
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise self.fail(f"number out of range {shown(word)}", start)
            return value
        number = float(word)
        if number in (float("inf"), float("-inf")):
            raise self.fail(f"number out of range {shown(word)}", start)
        return number

    def quoted(self, quote: str) -> Token:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                what = "field name" if quote == "`" else "string"
                raise self.fail(f"unterminated {what}", start)
            self.pos += 1
            if ch == quote:
                break
            if ch == "\\" and self.peek() in _ESCAPABLE:
                ch = self.peek()
                self.pos += 1
            chars.append(ch)
        value = "".join(chars)
        text = self.text[start : self.pos]
        if quote == "`":
            if not value:
                raise self.fail("empty field name", start)
            return Token(TokenKind.QUOTED_IDENT, text, start, self.pos, value)
        return Token(TokenKind.STRING, text, start, self.pos, value)


def _is_digit(ch: str) -> bool:
    return len(ch) == 1 and ch in _DIGITS


def _all_digits(text: str) -> bool:
    return bool(text) and all(map(_is_digit, text))
