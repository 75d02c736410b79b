"""The rule expression language: tokens, syntax tree and a precedence-climbing parser.

Expressions are small and declarative; nothing is ever handed to Python's ``eval``::

    shipped_on is not null and shipped_on <= effective_ship_by + late_shipment_grace_days
    sum(p.amount for p in payments if qualifies(p), money(0, currency))
    if rate is null then null else money(round(m.amount * rate, 2, "half_up"), "USD")

Grammar, loosest binding first::

    expr    := "if" expr "then" expr ["else" expr] | or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := coalesce [("=="|"!="|"<"|"<="|">"|">="|"in"|"not" "in") coalesce]
             | coalesce "is" ["not"] "null"
    coalesce:= sum ("??" sum)*
    sum     := product (("+"|"-") product)*
    product := unary (("*"|"/") unary)*
    unary   := "-" unary | postfix
    postfix := primary ("." NAME | "(" args ")")*
    primary := NUMBER | STRING | "true" | "false" | "null" | NAME | "(" expr ")"
             | "[" [expr ("," expr)*] "]" | if-expression
    args    := expr "for" NAME "in" or ["if" or] ["," expr] | [expr ("," expr)*]

Every node carries the character offset where it starts, so errors point at a column.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from decimal import Decimal
from typing import Final

__all__ = [
    "Attr",
    "Bin",
    "Call",
    "Cmp",
    "Cond",
    "Expr",
    "Gen",
    "IsNull",
    "ListLit",
    "Lit",
    "Name",
    "ParseError",
    "Unary",
    "parse",
]

MAX_LENGTH: Final = 10_000
MAX_DEPTH: Final = 40
MAX_NUMBER: Final = 30

KEYWORDS: Final = frozenset(
    {"and", "or", "not", "in", "is", "null", "true", "false", "if", "then", "else", "for"}
)

_TOKEN_RE: Final = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\?\?|==|!=|<=|>=|[<>+\-*/().,\[\]])
    """,
    re.VERBOSE,
)


class ParseError(Exception):
    """A syntax error at a character offset of the expression."""

    def __init__(self, message: str, pos: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.hint = hint


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, keyword, op, end
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    """Split an expression into tokens, or raise :class:`ParseError` at the bad character."""
    if len(source) > MAX_LENGTH:
        raise ParseError(f"expression is {len(source)} characters; at most {MAX_LENGTH}", 0)
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN_RE.match(source, pos)
        if m is None:
            ch = source[pos]
            hint = None
            if ch == "=":
                hint = "use == to compare"
            elif ch in "&|!":
                hint = "use and / or / not"
            elif ch in "\"'":
                raise ParseError("unterminated string", pos)
            raise ParseError(f"unexpected character {ch!r}", pos, hint)
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "number" and len(text) > MAX_NUMBER:
            raise ParseError(f"number with {len(text)} characters; at most {MAX_NUMBER}", pos)
        if kind != "ws":
            if kind == "name" and text in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, text, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


# --- syntax tree ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Lit:
    """A literal: integer, decimal, string, boolean or null."""

    value: int | Decimal | str | bool | None
    pos: int


@dataclasses.dataclass(frozen=True)
class Name:
    """A bare name: a fact root, parameter, value, group, reason code or local variable."""

    name: str
    pos: int


@dataclasses.dataclass(frozen=True)
class Attr:
    """Field access ``obj.name``."""

    obj: Expr
    name: str
    pos: int
    name_pos: int


@dataclasses.dataclass(frozen=True)
class Gen:
    """``elt for var in iterable [if cond]`` inside a call."""

    elt: Expr
    var: str
    var_pos: int
    iterable: Expr
    cond: Expr | None
    pos: int


@dataclasses.dataclass(frozen=True)
class Call:
    """A call of a built-in or ruleset function."""

    name: str
    args: tuple[Expr, ...]
    gen: Gen | None
    pos: int


@dataclasses.dataclass(frozen=True)
class Unary:
    """``-x`` or ``not x``."""

    op: str
    operand: Expr
    pos: int


@dataclasses.dataclass(frozen=True)
class Bin:
    """Arithmetic, ``??``, ``and`` and ``or``."""

    op: str
    left: Expr
    right: Expr
    pos: int
    op_pos: int


@dataclasses.dataclass(frozen=True)
class Cmp:
    """A comparison or membership test (``in``, ``not in``)."""

    op: str
    left: Expr
    right: Expr
    pos: int
    op_pos: int


@dataclasses.dataclass(frozen=True)
class IsNull:
    """``x is null`` / ``x is not null``."""

    operand: Expr
    negated: bool
    pos: int


@dataclasses.dataclass(frozen=True)
class Cond:
    """``if test then a else b`` (``else`` may be left out: null)."""

    test: Expr
    then: Expr
    other: Expr | None
    pos: int


@dataclasses.dataclass(frozen=True)
class ListLit:
    """``[a, b, c]``."""

    items: tuple[Expr, ...]
    pos: int


Expr = Lit | Name | Attr | Call | Unary | Bin | Cmp | IsNull | Cond | ListLit


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def at_kw(self, text: str) -> bool:
        return self.at("keyword", text)

    def at_op(self, text: str) -> bool:
        return self.at("op", text)

    def advance(self) -> Token:
        t = self.tok
        if t.kind != "end":
            self.i += 1
        return t

    def expect_op(self, text: str, what: str) -> Token:
        if not self.at_op(text):
            raise self.error(f"expected '{text}' {what}")
        return self.advance()

    def expect_kw(self, text: str, what: str) -> Token:
        if not self.at_kw(text):
            raise self.error(f"expected '{text}' {what}")
        return self.advance()

    def error(self, message: str) -> ParseError:
        t = self.tok
        found = "the end of the expression" if t.kind == "end" else repr(t.text)
        return ParseError(f"{message}, found {found}", t.pos)

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(f"expression nested deeper than {MAX_DEPTH} levels", self.tok.pos)

    # grammar
    def parse(self) -> Expr:
        node = self.expr()
        if not self.at("end"):
            hint = None
            if self.at("op", "=") or self.tok.text == "=":
                hint = "use == to compare"
            raise ParseError(f"unexpected {self.tok.text!r} after a complete expression",
                             self.tok.pos, hint)
        return node

    def expr(self) -> Expr:
        self.nest()
        try:
            if self.at_kw("if"):
                return self.conditional()
            return self.or_()
        finally:
            self.depth -= 1

    def conditional(self) -> Expr:
        start = self.advance().pos
        test = self.expr()
        self.expect_kw("then", "after the condition of 'if'")
        then = self.expr()
        other = None
        if self.at_kw("else"):
            self.advance()
            other = self.expr()
        return Cond(test, then, other, start)

    def or_(self) -> Expr:
        left = self.and_()
        while self.at_kw("or"):
            op = self.advance()
            left = Bin("or", left, self.and_(), _pos(left), op.pos)
        return left

    def and_(self) -> Expr:
        left = self.not_()
        while self.at_kw("and"):
            op = self.advance()
            left = Bin("and", left, self.not_(), _pos(left), op.pos)
        return left

    def not_(self) -> Expr:
        if self.at_kw("not"):
            start = self.advance().pos
            self.nest()
            try:
                return Unary("not", self.not_(), start)
            finally:
                self.depth -= 1
        return self.compare()

    def compare(self) -> Expr:
        left = self.coalesce()
        t = self.tok
        if t.kind == "op" and t.text in ("==", "!=", "<", "<=", ">", ">="):
            self.advance()
            right = self.coalesce()
            node: Expr = Cmp(t.text, left, right, _pos(left), t.pos)
        elif self.at_kw("in"):
            self.advance()
            node = Cmp("in", left, self.coalesce(), _pos(left), t.pos)
        elif self.at_kw("not") and self.tokens[self.i + 1].text == "in":
            self.advance()
            self.advance()
            node = Cmp("not in", left, self.coalesce(), _pos(left), t.pos)
        elif self.at_kw("is"):
            self.advance()
            negated = False
            if self.at_kw("not"):
                self.advance()
                negated = True
            self.expect_kw("null", "after 'is' (only 'is null' and 'is not null' exist)")
            node = IsNull(left, negated, _pos(left))
        else:
            return left
        t2 = self.tok
        if (t2.kind == "op" and t2.text in ("==", "!=", "<", "<=", ">", ">=")) or (
            t2.kind == "keyword" and t2.text in ("in", "is")
        ):
            raise ParseError(
                "comparisons cannot be chained", t2.pos, "join them with 'and'"
            )
        return node

    def coalesce(self) -> Expr:
        left = self.sum_()
        while self.at_op("??"):
            op = self.advance()
            left = Bin("??", left, self.sum_(), _pos(left), op.pos)
        return left

    def sum_(self) -> Expr:
        left = self.product()
        while self.at_op("+") or self.at_op("-"):
            op = self.advance()
            left = Bin(op.text, left, self.product(), _pos(left), op.pos)
        return left

    def product(self) -> Expr:
        left = self.unary()
        while self.at_op("*") or self.at_op("/"):
            op = self.advance()
            left = Bin(op.text, left, self.unary(), _pos(left), op.pos)
        return left

    def unary(self) -> Expr:
        if self.at_op("-"):
            start = self.advance().pos
            self.nest()
            try:
                return Unary("-", self.unary(), start)
            finally:
                self.depth -= 1
        return self.postfix()

    def postfix(self) -> Expr:
        node = self.primary()
        while True:
            if self.at_op("."):
                self.advance()
                if not self.at("name"):
                    raise self.error("expected a field name after '.'")
                name = self.advance()
                node = Attr(node, name.text, _pos(node), name.pos)
            elif self.at_op("("):
                if not isinstance(node, Name):
                    raise self.error("only named functions can be called")
                node = self.call(node)
            else:
                return node

    def call(self, fn: Name) -> Expr:
        self.advance()
        args: list[Expr] = []
        gen: Gen | None = None
        if not self.at_op(")"):
            first = self.expr()
            if self.at_kw("for"):
                gen = self.generator(first)
                args.append(first)  # placeholder slot for the generator
                while self.at_op(","):
                    self.advance()
                    args.append(self.expr())
            else:
                args.append(first)
                while self.at_op(","):
                    self.advance()
                    args.append(self.expr())
        self.expect_op(")", f"to close the call of {fn.name}()")
        if gen is not None:
            return Call(fn.name, tuple(args[1:]), gen, fn.pos)
        return Call(fn.name, tuple(args), None, fn.pos)

    def generator(self, elt: Expr) -> Gen:
        start = self.advance().pos
        if not self.at("name"):
            raise self.error("expected a variable name after 'for'")
        var = self.advance()
        self.expect_kw("in", "after the variable of 'for'")
        iterable = self.or_()
        cond = None
        if self.at_kw("if"):
            self.advance()
            cond = self.or_()
        return Gen(elt, var.text, var.pos, iterable, cond, start)

    def primary(self) -> Expr:
        t = self.tok
        if t.kind == "number":
            self.advance()
            value: int | Decimal = Decimal(t.text) if "." in t.text else int(t.text)
            return Lit(value, t.pos)
        if t.kind == "string":
            self.advance()
            return Lit(_unescape(t.text[1:-1]), t.pos)
        if t.kind == "keyword":
            if t.text in ("true", "false"):
                self.advance()
                return Lit(t.text == "true", t.pos)
            if t.text == "null":
                self.advance()
                return Lit(None, t.pos)
            if t.text == "if":
                return self.conditional()
            raise self.error("expected a value")
        if t.kind == "name":
            self.advance()
            return Name(t.text, t.pos)
        if self.at_op("("):
            self.advance()
            inner = self.expr()
            self.expect_op(")", "to close '('")
            return inner
        if self.at_op("["):
            self.advance()
            items: list[Expr] = []
            if not self.at_op("]"):
                items.append(self.expr())
                while self.at_op(","):
                    self.advance()
                    items.append(self.expr())
            self.expect_op("]", "to close the list")
            return ListLit(tuple(items), t.pos)
        raise self.error("expected a value")


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _pos(node: Expr) -> int:
    return node.pos


def parse(source: str) -> Expr:
    """Parse an expression string.

    Raises:
        ParseError: With the character offset of the problem.
    """
    if not source.strip():
        raise ParseError("empty expression", 0)
    return _parse_text(source)


@functools.lru_cache(maxsize=2048)
def _parse_text(source: str) -> Expr:
    """The tree of an expression's text, kept for the next compile of the same text.

    Trees are immutable and positions are relative to the text, so a file compiled again
    after an edit (an editor checking as one types) parses only the expressions that
    changed. Errors are not kept.
    """
    try:
        return _Parser(source).parse()
    except RecursionError:
        raise ParseError(f"expression nested deeper than {MAX_DEPTH} levels", 0) from None
