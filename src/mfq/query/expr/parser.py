"""The recursive-descent parser: tokens to a checked expression tree.

Grammar (keywords and function names in any case)::

    expr      := and ("or" and)*
    and       := not ("and" not)*
    not       := "not" not | predicate
    predicate := "exists" "(" field ")"
               | sum [ cmp_op sum | ["not"] "in" "(" literal ("," literal)* ")"
                     | ("contains" | "startswith" | "~") string | "is" ["not"] "null" ]
    sum       := product (("+" | "-") product)*
    product   := unary (("*" | "/") unary)*
    unary     := "-" unary | value
    value     := literal | field | aggregate | function | "(" expr ")"
    function  := name "(" expr ("," expr)* ")"
    aggregate := name "(" [argument] ")" | "count" | "rate"

A predicate without a test is a boolean value (``is_admin``, a derived condition). A
filter (``--where``) allows no aggregates; a condition (``--having``, ``check``) allows
them beside fields and literals, with a filter inside ``count(...)`` and ``ratio(...)``;
a value (``--let``, ``--group-by``) is any expression without aggregates. A derived
field's name is replaced by its expression (in a condition, outside aggregates, it names
the result column instead). Each node is type-checked (:mod:`mfq.query.expr.check`) as
soon as it is built.

Nodes are made with ``model_construct``: the parser has checked every part (names,
arities, the registry, the types), so pydantic's validation would only repeat it, and
building its validators costs a short command more than the rest of the parse. A node
made by hand (``Compare(...)``) is validated as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum

from mfq.query.expr.ast import (
    Aggregate,
    And,
    Arith,
    ArithOp,
    Call,
    Compare,
    CompareOp,
    Exists,
    Expr,
    Field,
    InList,
    IsNull,
    Literal,
    LiteralValue,
    Match,
    MatchOp,
    NamedAggregate,
    NamedValue,
    Node,
    Not,
    Operand,
    Or,
    children,
    respanned,
)
from mfq.query.expr.check import Checker
from mfq.query.expr.errors import ExpressionError, shown
from mfq.query.expr.registry import (
    AGGREGATES,
    BARE_AGGREGATES,
    FUNCTIONS,
    AggregateSpec,
    ArgKind,
    FunctionSpec,
    Param,
    aggregate_spec,
    function_spec,
)
from mfq.query.expr.schema import derived_of
from mfq.query.expr.tokens import Token, TokenKind, tokenize
from mfq.query.expr.types import FieldType, ValueType

#: Deepest nesting of parentheses, ``not`` and aggregate arguments; real expressions stay
#: far below it, and it keeps hostile input away from Python's recursion limit.
MAX_DEPTH = 64

_KEYWORD_LITERALS: dict[str, LiteralValue] = {"true": True, "false": False, "null": None}
_MATCH_KEYWORDS = {"contains": MatchOp.CONTAINS, "startswith": MatchOp.STARTSWITH}
_ALIAS_KINDS = (TokenKind.IDENT, TokenKind.QUOTED_IDENT, TokenKind.STRING)
_AGGREGATE_EXAMPLE = "an aggregate such as count or p95(duration_ms)"


class _Mode(Enum):
    FILTER = "filter"  # no aggregates
    CONDITION = "condition"  # aggregates allowed as values
    AGGREGATE_ARG = "aggregate argument"  # a filter inside count(...)/ratio(...)


class Parser:
    """Parses one expression text; use :meth:`filter`, :meth:`condition` or :meth:`aggregate`."""

    def __init__(self, text: str, fields: Mapping[str, FieldType] | None = None) -> None:
        self._text = text
        self._checker = Checker(text, fields)
        self._tokens = tokenize(text)
        self._index = 0
        self._depth = 0
        self._mode = _Mode.FILTER
        self._derived = derived_of(fields)
        #: Whether a value without a test must be a condition (a filter's whole text).
        self._boolean = True

    # -- entry points -------------------------------------------------------------------

    def filter(self) -> Expr:
        """The whole text as a filter."""
        return self._whole(_Mode.FILTER)

    def condition(self) -> Expr:
        """The whole text as a condition over aggregates and group fields."""
        return self._whole(_Mode.CONDITION)

    def value(self) -> Expr:
        """The whole text as a value over event fields (``--let``, ``--group-by``)."""
        self._not_empty()
        self._boolean = False
        return self._whole(_Mode.FILTER)

    def aggregate(self) -> NamedAggregate | NamedValue:
        """The whole text as one aggregate, or arithmetic over aggregates, optionally
        ``as NAME``."""
        self._not_empty()
        self._mode = _Mode.CONDITION
        self._boolean = False
        first = self._peek()
        self._bare_word_typo(first)
        expr = self._additive()
        stray = _outside_aggregates(expr)
        if stray is not None or not any(isinstance(n, Aggregate) for n in _walk(expr)):
            found = first if stray is None else self._token_at(stray.span[0])
            raise self._expected(_AGGREGATE_EXAMPLE, found)
        # The column name: the alias, else the text as written.
        name = self._source(expr.span)
        expected_next = "'as' or the end"
        if self._peek().is_keyword("as"):
            as_token = self._advance()
            name_token = self._peek()
            if name_token.kind not in _ALIAS_KINDS:
                raise self._expected(f"a name after {as_token.describe()}", name_token)
            name = str(self._advance().value)
            if not name:
                raise self._fail(f"empty name after {as_token.describe()}", name_token.start)
            expected_next = "the end"
        end = self._peek()
        if end.kind is not TokenKind.END:
            raise self._expected(expected_next, end)
        if isinstance(expr, Aggregate):
            return NamedAggregate.model_construct(aggregate=expr, name=name)
        return NamedValue.model_construct(expr=expr, name=name)

    def _bare_word_typo(self, token: Token) -> None:
        """A word without parentheses that is no field can only have meant a bare
        aggregate (``cout``)."""
        if token.kind is not TokenKind.IDENT or token.keyword() is not None:
            return
        if self._peek(1).kind is TokenKind.LPAREN or self._checker.known(token.text):
            return
        if token.text.isascii() and token.text.lower() in BARE_AGGREGATES:
            return
        if token.text in self._derived:
            return
        if _suggest_function(token.text, BARE_AGGREGATES) is not None:
            raise self._unknown_function(token, BARE_AGGREGATES)

    def _token_at(self, position: int) -> Token:
        for token in self._tokens:
            if token.start >= position:
                return token
        return self._tokens[-1]

    def _whole(self, mode: _Mode) -> Expr:
        self._not_empty()
        self._mode = mode
        expr = self._or()
        end = self._peek()
        if end.kind is TokenKind.RPAREN:
            raise self._fail("unmatched ')'", end.start)
        if end.kind is not TokenKind.END:
            raise self._expected("'and', 'or' or the end", end)
        return expr

    # -- helpers ------------------------------------------------------------------------

    def _fail(self, message: str, position: int) -> ExpressionError:
        return ExpressionError(message, self._text, position)

    def _expected(self, what: str, found: Token) -> ExpressionError:
        return self._fail(f"expected {what}, found {found.describe()}", found.start)

    def _peek(self, offset: int = 0) -> Token:
        return self._tokens[min(self._index + offset, len(self._tokens) - 1)]

    def _advance(self) -> Token:
        token = self._peek()
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _not_empty(self) -> None:
        if self._peek().kind is TokenKind.END:
            raise self._fail("empty expression", len(self._text))

    @contextmanager
    def _nested(self, token: Token) -> Iterator[None]:
        if self._depth >= MAX_DEPTH:
            raise self._fail(
                f"expression nested too deeply (more than {MAX_DEPTH} levels)", token.start
            )
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    @contextmanager
    def _in_mode(self, mode: _Mode) -> Iterator[None]:
        saved, self._mode = self._mode, mode
        try:
            yield
        finally:
            self._mode = saved

    @contextmanager
    def _needing(self, boolean: bool) -> Iterator[None]:
        saved, self._boolean = self._boolean, boolean
        try:
            yield
        finally:
            self._boolean = saved

    def _is_condition(self, node: Node) -> bool:
        found = self._checker.value_type(node)
        # Without a schema, a field of unknown type may be a boolean one.
        unknown = found is None and isinstance(node, Field) and not self._checker.strict
        return found is ValueType.BOOLEAN or unknown

    def _condition_before(self, item: Expr) -> None:
        """``and``/``or`` join conditions: the item before one must be a condition."""
        if not self._is_condition(item):
            after = shown(self._source(item.span))
            raise self._expected(f"an operator such as = or in after {after}", self._peek())

    def _close(self, opening: Token, expected: str) -> Token:
        token = self._peek()
        if token.kind is TokenKind.RPAREN:
            return self._advance()
        if token.kind is TokenKind.END:
            message = f"missing ')' to match the '(' at column {opening.start + 1}"
            raise self._fail(message, token.start)
        raise self._expected(expected, token)

    def _source(self, span: tuple[int, int]) -> str:
        return self._text[span[0] : span[1]]

    # -- boolean structure --------------------------------------------------------------

    def _or(self) -> Expr:
        items = [self._and()]
        while self._peek().is_keyword("or"):
            self._condition_before(items[-1])
            self._advance()
            with self._needing(True):
                items.append(self._and())
        if len(items) == 1:
            return items[0]
        return Or.model_construct(items=tuple(items), span=(items[0].span[0], items[-1].span[1]))

    def _and(self) -> Expr:
        items = [self._not()]
        while self._peek().is_keyword("and"):
            self._condition_before(items[-1])
            self._advance()
            with self._needing(True):
                items.append(self._not())
        if len(items) == 1:
            return items[0]
        return And.model_construct(items=tuple(items), span=(items[0].span[0], items[-1].span[1]))

    def _not(self) -> Expr:
        token = self._peek()
        if not token.is_keyword("not"):
            return self._predicate()
        self._advance()
        with self._nested(token), self._needing(True):
            item = self._not()
        return Not.model_construct(item=item, span=(token.start, item.span[1]))

    # -- predicates ---------------------------------------------------------------------

    def _predicate(self) -> Expr:
        token = self._peek()
        if token.is_keyword("exists"):
            return self._exists()
        left = self._additive()
        return self._test(left)

    # -- arithmetic ---------------------------------------------------------------------

    def _additive(self) -> Expr:
        left = self._term()
        while True:
            token = self._peek()
            if token.kind is TokenKind.ARITH and token.value in ("+", "-"):
                self._advance()
                left = self._arith(ArithOp(token.value), left, self._term(), token)
            elif token.kind is TokenKind.NUMBER and token.text.startswith("-"):
                # `a -1`: the tokenizer read a negative number; here it is a subtraction.
                self._advance()
                assert isinstance(token.value, int | float)
                number = Literal.of(-token.value, (token.start + 1, token.end))
                left = self._arith(ArithOp.SUB, left, self._term(number), token)
            else:
                return left

    def _term(self, first: Expr | None = None) -> Expr:
        left = first if first is not None else self._unary()
        while True:
            token = self._peek()
            if token.kind is not TokenKind.ARITH or token.value not in ("*", "/"):
                return left
            self._advance()
            left = self._arith(ArithOp(token.value), left, self._unary(), token)

    def _unary(self) -> Expr:
        token = self._peek()
        if token.kind is TokenKind.ARITH and token.value == "-":
            self._advance()
            with self._nested(token):
                operand = self._unary()
            zero = Literal.of(0, (token.start, token.start))
            return self._arith(ArithOp.SUB, zero, operand, token)
        return self._value()

    def _arith(self, op: ArithOp, left: Expr, right: Expr, token: Token) -> Expr:
        node = Arith.model_construct(
            op=op, left=left, right=right, span=(left.span[0], right.span[1])
        )
        return self._checker.arith(node, token.start)

    def _test(self, left: Operand) -> Expr:
        token = self._peek()
        keyword = token.keyword()
        if token.kind is TokenKind.OP and token.value == "~":
            return self._match(left, MatchOp.REGEX)
        if token.kind is TokenKind.OP:
            self._advance()
            right = self._value()
            node = Compare.model_construct(
                op=CompareOp(str(token.value)),
                left=left,
                right=right,
                span=(left.span[0], right.span[1]),
            )
            return self._checker.compare(node)
        if keyword in _MATCH_KEYWORDS:
            return self._match(left, _MATCH_KEYWORDS[keyword])
        if keyword == "in":
            return self._in_list(left, negated=False)
        if keyword == "not":
            self._advance()
            if not self._peek().is_keyword("in"):
                raise self._expected(f"'in' after {token.describe()}", self._peek())
            return self._in_list(left, negated=True)
        if keyword == "is":
            return self._is_null(left)
        if not self._boolean or self._is_condition(left):
            return left  # a value, or a boolean value standing as a condition
        after = shown(self._source(left.span))
        raise self._expected(f"an operator such as = or in after {after}", token)

    def _match(self, left: Operand, op: MatchOp) -> Expr:
        op_token = self._advance()
        token = self._peek()
        if token.kind is not TokenKind.STRING:
            raise self._expected(f"a quoted string after {op_token.describe()}", token)
        self._advance()
        node = Match.model_construct(
            op=op, operand=left, pattern=str(token.value), span=(left.span[0], token.end)
        )
        return self._checker.match(node, token.start)

    def _in_list(self, left: Operand, *, negated: bool) -> Expr:
        in_token = self._advance()
        opening = self._peek()
        if opening.kind is not TokenKind.LPAREN:
            raise self._expected(f"'(' after {in_token.describe()}", opening)
        self._advance()
        if self._peek().kind is TokenKind.RPAREN:
            raise self._fail(f"empty list after {in_token.describe()}", self._peek().start)
        values = [self._list_literal()]
        while self._peek().kind is TokenKind.COMMA:
            self._advance()
            values.append(self._list_literal())
        closing = self._close(opening, "',' or ')' in the list")
        node = InList.model_construct(
            operand=left, values=tuple(values), negated=negated, span=(left.span[0], closing.end)
        )
        return self._checker.in_list(node)

    def _list_literal(self) -> Literal:
        token = self._peek()
        literal = self._literal(token)
        if literal is None:
            raise self._expected("a literal value in the list", token)
        self._advance()
        return literal

    def _is_null(self, left: Operand) -> Expr:
        is_token = self._advance()
        negated = self._peek().is_keyword("not")
        if negated:
            self._advance()
        token = self._peek()
        if not token.is_keyword("null"):
            what = "'null'" if negated else "'null' or 'not null'"
            raise self._expected(f"{what} after {is_token.describe()}", token)
        self._advance()
        return IsNull.model_construct(operand=left, negated=negated, span=(left.span[0], token.end))

    def _exists(self) -> Expr:
        keyword = self._advance()
        opening = self._peek()
        if opening.kind is not TokenKind.LPAREN:
            raise self._expected(f"'(' after {keyword.describe()}", opening)
        self._advance()
        name_token = self._field_name(f"a field name in {shown('exists(')}")
        self._checker.field(str(name_token.value), name_token.start)
        closing = self._close(opening, "')' after the field name")
        span = (keyword.start, closing.end)
        derived = self._derived.get(str(name_token.value))
        if derived is not None:  # a derived field exists where its value is not null
            operand = respanned(derived, span)
            return IsNull.model_construct(operand=operand, negated=True, span=span)
        return Exists.model_construct(field=str(name_token.value), span=span)

    def _field_name(self, what: str) -> Token:
        token = self._peek()
        plain = (
            token.kind is TokenKind.IDENT
            and token.keyword() is None
            and self._peek(1).kind is not TokenKind.LPAREN
        )
        if not (plain or token.kind is TokenKind.QUOTED_IDENT):
            raise self._expected(what, token)
        return self._advance()

    # -- values -------------------------------------------------------------------------

    def _literal(self, token: Token) -> Literal | None:
        span = (token.start, token.end)
        if token.kind in (TokenKind.STRING, TokenKind.NUMBER):
            return Literal.of(token.value, span)
        keyword = token.keyword()
        if keyword in _KEYWORD_LITERALS:
            return Literal.of(_KEYWORD_LITERALS[keyword], span)
        return None

    def _value(self) -> Operand:
        token = self._peek()
        if token.kind is TokenKind.LPAREN:
            self._advance()
            with self._nested(token), self._needing(False):
                inner = self._or()
            closing = self._close(token, "'and', 'or' or ')'")
            return inner.model_copy(update={"span": (token.start, closing.end)})
        literal = self._literal(token)
        if literal is not None:
            self._advance()
            return literal
        span = (token.start, token.end)
        if token.kind is TokenKind.QUOTED_IDENT:
            self._advance()
            return self._field(str(token.value), span)
        if token.kind is TokenKind.IDENT and token.keyword() is None:
            if self._peek(1).kind is TokenKind.LPAREN:
                return self._call()
            bare = token.text.isascii() and token.text.lower() in BARE_AGGREGATES
            if bare and self._mode is _Mode.CONDITION:
                self._advance()
                return Aggregate.model_construct(func=token.text.lower(), span=span)
            self._advance()
            return self._bare_field(token)
        after = f" after {self._tokens[self._index - 1].describe()}" if self._index else ""
        raise self._expected(f"a value{after}", token)

    def _field(self, name: str, span: tuple[int, int]) -> Expr:
        also = BARE_AGGREGATES if self._mode is _Mode.CONDITION else ()
        derived = self._derived.get(name)
        if derived is not None and self._mode is not _Mode.CONDITION:
            return respanned(derived, span)  # type: ignore[return-value]
        self._checker.field(name, span[0], also)
        return Field.model_construct(name=name, span=span)

    def _bare_field(self, token: Token) -> Expr:
        name = token.text
        spec = aggregate_spec(name)
        if spec is not None and not self._checker.known(name):
            # A filter's bare `count` is a field, unless the schema has none by that name.
            if spec.bare:
                raise self._not_here(spec.name, token)
            if self._mode is _Mode.CONDITION:
                message = f"aggregate {shown(spec.name)} needs an argument in parentheses"
                raise self._fail(message, token.start)
        return self._field(name, (token.start, token.end))

    def _not_here(self, name: str, token: Token) -> ExpressionError:
        if self._mode is _Mode.AGGREGATE_ARG:
            message = f"aggregate {shown(name)} cannot be used inside another aggregate"
        else:
            message = f"aggregate {shown(name)} cannot be used in a filter"
        return self._fail(message, token.start)

    # -- aggregates ---------------------------------------------------------------------

    def _unknown_function(self, token: Token, candidates: Iterable[str]) -> ExpressionError:
        message = f"unknown function {shown(token.text)}"
        suggestion = _suggest_function(token.text, candidates)
        if suggestion is not None:
            message += f" — did you mean {shown(suggestion)}?"
        return self._fail(message, token.start)

    def _call(self) -> Expr:
        name_token = self._advance()
        opening = self._advance()
        spec = aggregate_spec(name_token.text)
        function = function_spec(name_token.text)
        if function is not None:
            return self._function(function, name_token, opening)
        if spec is None:
            raise self._unknown_function(name_token, [*AGGREGATES, *FUNCTIONS])
        if self._mode is not _Mode.CONDITION:
            raise self._not_here(spec.name, name_token)
        with self._nested(opening):
            arg, field = self._arguments(spec)
        closing = self._close(opening, f"')' to close {shown(name_token.text + '(')}")
        span = (name_token.start, closing.end)
        return Aggregate.model_construct(func=spec.name, arg=arg, field=field, span=span)

    def _function(self, spec: FunctionSpec, name_token: Token, opening: Token) -> Expr:
        args: list[Expr] = []
        params = spec.params
        if self._peek().kind is not TokenKind.RPAREN:
            with self._nested(opening):
                while True:
                    param = params[min(len(args), len(params) - 1)]
                    with self._needing(param is Param.CONDITION):
                        args.append(self._or())
                    if self._peek().kind is not TokenKind.COMMA:
                        break
                    self._advance()
        closing = self._close(opening, f"',' or ')' in {shown(name_token.text + '(')}")
        self._checker.arity(spec, len(args), name_token.start)
        node = Call.model_construct(
            func=spec.name, args=tuple(args), span=(name_token.start, closing.end)
        )
        return self._checker.call(spec, node, name_token.start)

    def _arguments(self, spec: AggregateSpec) -> tuple[Expr | None, str | None]:
        token = self._peek()
        empty = token.kind is TokenKind.RPAREN
        if spec.args is ArgKind.NONE:
            if not empty:
                raise self._fail(f"{shown(spec.name)} takes no arguments", token.start)
            return None, None
        if spec.args in (ArgKind.OPTIONAL_FILTER, ArgKind.FILTER):
            if empty and spec.args is ArgKind.OPTIONAL_FILTER:
                return None, None
            if empty:
                message = f"{shown(spec.name)} needs a filter, e.g. {spec.name}(status = 'error')"
                raise self._fail(message, token.start)
            with self._in_mode(_Mode.AGGREGATE_ARG), self._needing(True):
                return self._or(), None
        name_token = self._field_name(f"a field name in {shown(spec.name + '(')}")
        name = str(name_token.value)
        self._checker.aggregate_field(spec, name, name_token.start)
        if self._peek().kind is TokenKind.COMMA:
            raise self._fail(f"{shown(spec.name)} takes one field", self._peek().start)
        return None, name


def _walk(node: Node) -> list[Node]:
    found = [node]
    for child in children(node):
        found += _walk(child)
    return found


def _outside_aggregates(node: Node) -> Field | None:
    """The first field an ``--agg`` reads outside an aggregate (it has no one value per group)."""
    if isinstance(node, Field):
        return node
    if isinstance(node, Aggregate):
        return None
    for child in children(node):
        found = _outside_aggregates(child)
        if found is not None:
            return found
    return None


def _suggest_function(name: str, candidates: Iterable[str]) -> str | None:
    import difflib  # (a mistake's suggestion only)

    close = difflib.get_close_matches(name.lower(), sorted(candidates), n=1)
    return close[0] if close else None
