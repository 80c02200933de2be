"""Text to syntax tree. Lark (LALR, strict) parses; syntax errors become diagnostics."""

from __future__ import annotations

import math
import re
from functools import cache

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from prunerr.grammar import read_grammar

from . import ast, units
from .diagnostics import Diagnostic
from .limits import too_long
from .runtime import parse_datetime


@cache
def lark_parser() -> Lark:
    """The one parser instance, built from the grammar installed with the package."""
    return Lark(
        read_grammar(),
        parser="lalr",
        lexer="basic",
        strict=True,
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,  # the LALR tables, in the temp dir: 60 ms instead of 350 ms per process
    )


MAX_EXACT_INT = 2**53


class ParseError(Exception):
    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(diagnostics[0].message)
        self.diagnostics = diagnostics


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)


def _span(meta_or_token) -> ast.Span:
    return (meta_or_token.start_pos, meta_or_token.end_pos)


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive):
    """Builds `ast` nodes, bottom-up without recursion (the tree may be thousands of levels
    deep); literal problems are collected instead of raised."""

    def __init__(self) -> None:
        super().__init__()
        self.diagnostics: list[Diagnostic] = []

    def _bad(self, token: Token, code: str, message: str, hint: str | None = None):
        self.diagnostics.append(Diagnostic(code, message, _span(token), hint))
        return ast.Literal(_span(token), "invalid", None)

    def _too_large(self, token: Token):
        return self._bad(token, "E005", f"`{token}` is too large", "write a smaller number")

    # literals
    def number(self, meta, children):
        (tok,) = children
        value = float(tok) if "." in tok else int(tok)
        # integers beyond 2**53 lose precision as floats and overflow arithmetic with them
        if math.isinf(float(tok)) or abs(value) > MAX_EXACT_INT:
            return self._too_large(tok)
        return ast.Literal(_span(tok), "number", value)

    def size(self, meta, children):
        (tok,) = children
        value = units.parse_size(tok)
        if value is None:
            return self._too_large(tok)
        return ast.Literal(_span(tok), "size", value)

    def duration(self, meta, children):
        (tok,) = children
        value = units.parse_duration(tok)
        if value is None:
            return self._too_large(tok)
        return ast.Literal(_span(tok), "duration", value)

    def datetime(self, meta, children):
        (tok,) = children
        try:
            value = parse_datetime(str(tok))
        except ValueError as exc:
            return self._bad(
                tok,
                "E005",
                f"invalid date `{tok}`: {exc}",
                "dates are written YYYY-MM-DD, datetimes YYYY-MM-DDTHH:MM:SSZ",
            )
        return ast.Literal(_span(tok), "datetime", value)

    def string(self, meta, children):
        (tok,) = children
        body = tok[1:-1]
        problems: list[str] = []

        def unescape(m: re.Match) -> str:
            esc = m.group(1)
            if esc[0] in "uU":
                code = int(esc[1:], 16) if len(esc) > 1 else -1
                # Not a code point, or a lone surrogate (which no UTF-8 text can hold).
                if 0 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                    return chr(code)
                problems.append(esc)
            # Unknown escapes stay as written so regexes read naturally: "\d+", "\.mkv$".
            return _ESCAPES.get(esc, m.group(0))

        value = _ESCAPE.sub(unescape, body)
        if problems:
            return self._bad(
                tok,
                "E004",
                f"invalid escape `\\{problems[0]}` in string",
                "write \\u with four hex digits (\\u00e9) or \\U with eight",
            )
        return ast.Literal(_span(tok), "string", value)

    def true(self, meta, children):
        return ast.Literal(_span(meta), "bool", True)

    def false(self, meta, children):
        return ast.Literal(_span(meta), "bool", False)

    def null(self, meta, children):
        return ast.Literal(_span(meta), "null", None)

    def now(self, meta, children):
        return ast.Now(_span(meta))

    def today(self, meta, children):
        return ast.Today(_span(meta))

    def field(self, meta, children):
        (tok,) = children
        return ast.Field(_span(tok), str(tok))

    def call(self, meta, children):
        name, *args = children
        return ast.Call(_span(meta), str(name), tuple(args), _span(name))

    def list(self, meta, children):
        return ast.ListLit(_span(meta), tuple(children))

    # operators
    def neg(self, meta, children):
        _minus, x = children
        if isinstance(x, ast.Literal) and x.kind in ("number", "size", "duration"):
            return ast.Literal(_span(meta), x.kind, -x.value)
        return ast.Neg(_span(meta), x)

    def not_(self, meta, children):
        return ast.Not(_span(meta), children[0])

    def or_expr(self, meta, children):
        return ast.BoolOp(_span(meta), "or", tuple(children))

    def and_expr(self, meta, children):
        return ast.BoolOp(_span(meta), "and", tuple(children))

    def _fold_left(self, children, make):
        node = children[0]
        for op, right in zip(children[1::2], children[2::2], strict=True):
            node = make(str(op), node, right)
        return node

    def sum(self, meta, children):
        return self._fold_left(
            children, lambda op, a, b: ast.Arith((a.span[0], b.span[1]), op, a, b)
        )

    product = sum

    def coalesce(self, meta, children):
        node = children[0]
        for right in children[1:]:
            node = ast.Coalesce((node.span[0], right.span[1]), node, right)
        return node

    def compare(self, meta, children):
        left, op, right = children
        return ast.Compare(_span(meta), str(op), left, right)

    def _predicate(op):
        def method(self, meta, children):
            left, right = children
            return ast.Compare(_span(meta), op, left, right)

        return method

    in_ = _predicate("in")
    not_in = _predicate("not in")
    contains = _predicate("contains")
    contains_any = _predicate("contains any")
    contains_all = _predicate("contains all")
    starts_with = _predicate("starts with")
    ends_with = _predicate("ends with")
    matches = _predicate("matches")

    def is_null(self, meta, children):
        return ast.IsNull(_span(meta), children[0], negated=False)

    def is_not_null(self, meta, children):
        return ast.IsNull(_span(meta), children[0], negated=True)

    def ago(self, meta, children):
        return ast.Relative(_span(meta), children[0], future=False)

    def from_now(self, meta, children):
        return ast.Relative(_span(meta), children[0], future=True)


_READABLE = {
    "NAME": "a field or function name",
    "NUMBER": "a number",
    "STRING": "a string",
    "SIZE": "a size",
    "DURATION": "a duration",
    "DATETIME": "a date",
    "COMPARE": "a comparison",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "MINUS": "`-`",
    "PLUS": "`+`",
    "STAR": "`*`",
    "SLASH": "`/`",
}

_GLUED = {
    "startswith": "starts with",
    "endswith": "ends with",
    "isnull": "is null",
    "isnotnull": "is not null",
    "notin": "not in",
    "containsany": "contains any",
    "containsall": "contains all",
    "fromnow": "from now",
}

_CHAR_HINTS = {
    "=": "compare with `==`",
    "&": "combine conditions with `and`",
    "|": "combine conditions with `or`",
    "!": "negate with `not`; compare with `!=`",
}


def _expected(exc: UnexpectedInput) -> str:
    names = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ())
    readable = []
    for name in names:
        text = _READABLE.get(name)
        if text is None:
            text = f"`{name.lstrip('_').lower()}`" if name.lstrip("_").isalpha() else None
        if text and text not in readable:
            readable.append(text)
    if not readable:
        return ""
    if len(readable) > 6:
        readable = [*readable[:6], "..."]
    return "expected " + ", ".join(readable)


def _syntax_diagnostic(text: str, exc: UnexpectedInput) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        ch = text[pos]
        if ch in "\"'":
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            return Diagnostic(
                "E002", "unterminated string", (pos, end), f"close the string with {ch}"
            )
        # `5 m`, `20 gallons`: a number followed by a word that is not a unit.
        m = re.compile(r"[a-zA-Z]+").match(text, pos)
        if m and re.search(r"\d[ \t]*$", text[:pos]):
            return _unit_diagnostic(m.group(), (pos, m.end()))
        return Diagnostic(
            "E001",
            f"unexpected character `{ch}`",
            (pos, pos + 1),
            _CHAR_HINTS.get(ch) or _expected(exc) or None,
        )
    if isinstance(exc, UnexpectedToken | UnexpectedEOF):
        token = getattr(exc, "token", None)
        if token is None or token.type == "$END":
            end = len(text.rstrip())
            return Diagnostic(
                "E003",
                "unexpected end of expression",
                (max(end - 1, 0), end),
                _expected(exc) or None,
            )
        span = (token.start_pos, token.end_pos)
        prev = text[: token.start_pos]
        if token.type == "NAME" and re.search(r"\d[ \t]*$", prev):
            return _unit_diagnostic(str(token), span)
        glued = _GLUED.get(str(token).lower()) if token.type == "NAME" else None
        if glued:
            return Diagnostic("E001", f"unexpected `{token}`", span, f"did you mean `{glued}`?")
        if token.type == "COMPARE":
            return Diagnostic(
                "E001",
                f"unexpected `{token}`: comparisons do not chain",
                span,
                "write `a < b and b < c`",
            )
        return Diagnostic("E001", f"unexpected `{token}`", span, _expected(exc) or None)
    return Diagnostic("E001", str(exc), (0, len(text)))


def _unit_diagnostic(word: str, span: ast.Span) -> Diagnostic:
    if word.lower() == "m":
        hint = "`m` is ambiguous: write `min` for minutes or `months`"
    else:
        hint = (
            "sizes take B KB MB GB TB PB (x1000) or KiB MiB GiB TiB PiB (x1024); durations "
            "take s, min, h, d, w, months, years"
        )
    return Diagnostic("E005", f"unknown unit `{word}`", span, hint)


_COMMENT = re.compile(r"#[^\n]*")


def parse(text: str) -> ast.Node:
    """Parse one expression. Raises ParseError with diagnostics (offsets into `text`)."""
    long = too_long(text)
    if long is not None:
        raise ParseError([long])
    if not _COMMENT.sub("", text).strip():
        raise ParseError(
            [
                Diagnostic(
                    "E301",
                    "the condition is empty",
                    (0, len(text)),
                    "write an expression such as `size > 20 GB`",
                )
            ]
        )
    try:
        tree = lark_parser().parse(text)
    except UnexpectedInput as exc:
        raise ParseError([_syntax_diagnostic(text, exc)]) from None
    builder = _ToAst()
    node = builder.transform(tree)
    if builder.diagnostics:
        raise ParseError(builder.diagnostics)
    return node
