"""Static checking: names, types, enum values, regexes, null guards; every problem at once."""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass, field

import re2

from . import ast
from .catalog import Catalog, FieldSpec
from .diagnostics import Diagnostic
from .limits import too_large
from .types import ANY, BOOL, DATETIME, NULL, NUMBER, STRING, Kind, Type, fold, list_of

_ORDERING = ("<", "<=", ">", ">=")
_ARITH_RESULTS: dict[tuple[str, Kind, Kind], Kind] = {}
for _k in (Kind.NUMBER, Kind.SIZE, Kind.DURATION):
    _ARITH_RESULTS[("+", _k, _k)] = _k
    _ARITH_RESULTS[("-", _k, _k)] = _k
    _ARITH_RESULTS[("*", _k, Kind.NUMBER)] = _k
    _ARITH_RESULTS[("*", Kind.NUMBER, _k)] = _k
    _ARITH_RESULTS[("/", _k, Kind.NUMBER)] = _k
    _ARITH_RESULTS[("/", _k, _k)] = Kind.NUMBER
_ARITH_RESULTS[("-", Kind.DATETIME, Kind.DATETIME)] = Kind.DURATION
_ARITH_RESULTS[("+", Kind.DATETIME, Kind.DURATION)] = Kind.DATETIME
_ARITH_RESULTS[("-", Kind.DATETIME, Kind.DURATION)] = Kind.DATETIME
_ARITH_RESULTS[("+", Kind.DURATION, Kind.DATETIME)] = Kind.DATETIME

REGEX_OPTIONS = re2.Options()
REGEX_OPTIONS.case_sensitive = False
REGEX_OPTIONS.max_mem = 8 << 20
REGEX_OPTIONS.log_errors = False


def compile_regex(pattern: str):
    """RE2 pattern used by `matches`: case-insensitive, linear time, bounded memory."""
    return re2.compile(pattern, options=REGEX_OPTIONS)


@dataclass
class Checked:
    """The outcome of checking: a type for every node, which nodes are item-independent,
    and the diagnostics. Usable for compilation only when `ok`."""

    root: ast.Node
    types: dict[int, Type]
    constant: set[int]
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def type_of(self, node: ast.Node) -> Type:
        return self.types[id(node)]


def _compatible(a: Type, b: Type) -> bool:
    """Whether values of the two types can be compared for equality or ordered."""
    if Kind.ANY in (a.kind, b.kind) or Kind.NULL in (a.kind, b.kind):
        return True
    if a.is_stringlike and b.is_stringlike:
        return a.kind is Kind.STRING or b.kind is Kind.STRING or a.enum == b.enum
    if a.kind is Kind.LIST and b.kind is Kind.LIST:
        return _compatible(a.elem, b.elem)
    return a.kind is b.kind


def _is_string_literal(node: ast.Node) -> bool:
    return isinstance(node, ast.Literal) and node.kind == "string"


def _guard_key(node: ast.Node) -> str | None:
    """A key naming a nullable value that `is null` guards can refer to."""
    if isinstance(node, ast.Field):
        return node.name
    if isinstance(node, ast.Call) and all(isinstance(a, ast.Literal) for a in node.args):
        args = (
            json.dumps(fold(a.value) if isinstance(a.value, str) else a.value) for a in node.args
        )
        return f"{node.name}({', '.join(args)})"
    return None


def _null_sources(node: ast.Node):
    """Field and call operands whose null would make `node` null or unknown: through arithmetic,
    negation, `ago`, and function arguments; not through `??` or `is null`."""
    stack = [node]
    while stack:
        node = stack.pop()
        key = _guard_key(node)
        if key is not None:
            yield node, key
        if isinstance(node, ast.Arith | ast.Neg | ast.Relative | ast.Call):
            stack.extend(reversed(ast.children(node)))


def _hint_for_mismatch(a: Type, b: Type, other: ast.Node) -> str | None:
    kinds = {a.kind, b.kind}
    value = other.value if isinstance(other, ast.Literal) else None
    shown = value if isinstance(value, int | float) and not isinstance(value, bool) else "20"
    if kinds == {Kind.SIZE, Kind.NUMBER}:
        return f"sizes take a unit: `{shown} GB` (GB = 1000^3 bytes, GiB = 1024^3)"
    if kinds == {Kind.DURATION, Kind.NUMBER}:
        return f"durations take a unit: `{shown} days`"
    if Kind.DATETIME in kinds:
        return (
            "compare a datetime with a datetime such as `6 months ago` or `2024-01-31`; "
            "for an age in days write `days_since(added) > 90`"
        )
    if Kind.LIST in kinds:
        return "a list is tested with `contains`, `contains any [..]` or counted with `count(..)`"
    if kinds == {Kind.STRING, Kind.NUMBER} and isinstance(value, str):
        return "remove the quotes to compare with a number"
    return None


# A `visit_*` generator: yields (operand, guarded), is sent the operand's type, returns its own.
_Visit = Generator[tuple[ast.Node, frozenset[str]], Type, Type]


class _Checker:
    def __init__(self, catalog: Catalog, media: str | None):
        self.catalog = catalog
        self.media = media
        self.types: dict[int, Type] = {}
        self.constant: set[int] = set()
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, node_or_span, message: str, hint: str | None = None) -> Type:
        span = node_or_span if isinstance(node_or_span, tuple) else node_or_span.span
        self.diagnostics.append(Diagnostic(code, message, span, hint))
        return ANY

    def visit(self, root: ast.Node, guarded: frozenset[str] = frozenset()) -> Type:
        """The type of `root`; types and diagnostics of every node below are recorded.

        A `visit_*` method returns the type of a leaf; for a node with operands it is a
        generator that yields `(operand, guarded)` and is sent the operand's type. This loop
        runs them with its own stack, so a condition nested thousands of levels deep takes no
        Python stack, and everything happens in the order a recursive walk would take."""
        stack: list[tuple[ast.Node, _Visit]] = []
        request: tuple[ast.Node, frozenset[str]] | None = (root, guarded)
        sent: Type | None = None
        while True:
            if request is not None:
                node, inner = request
                step = getattr(self, "visit_" + type(node).__name__)(node, inner)
                if isinstance(step, Type):
                    self.types[id(node)] = sent = step
                    if not stack:
                        return step
                else:
                    stack.append((node, step))
                    sent = None
            node, running = stack[-1]
            try:
                request = running.send(sent)
            except StopIteration as done:
                stack.pop()
                self.types[id(node)] = sent = done.value
                if not stack:
                    return done.value
                request = None

    def _mark_constant_if(self, node: ast.Node, *parts: ast.Node) -> None:
        if all(id(p) in self.constant for p in parts):
            self.constant.add(id(node))

    # leaves
    def visit_Literal(self, node: ast.Literal, guarded) -> Type:
        self.constant.add(id(node))
        return {
            "number": NUMBER,
            "string": STRING,
            "bool": BOOL,
            "null": NULL,
            "size": Type(Kind.SIZE),
            "duration": Type(Kind.DURATION),
            "datetime": DATETIME,
        }.get(node.kind, ANY)

    def visit_Now(self, node, guarded) -> Type:
        self.constant.add(id(node))
        return DATETIME

    visit_Today = visit_Now

    def visit_Field(self, node: ast.Field, guarded) -> Type:
        spec: FieldSpec | None = self.catalog.fields.get(node.name)
        if spec is None:
            suggestion = self.catalog.suggest(node.name)
            return self.error(
                "E101",
                node,
                f"unknown field `{node.name}`",
                f"did you mean `{suggestion}`?"
                if suggestion
                else "`prunerr rules fields` lists the fields",
            )
        if self.media and self.media not in spec.media:
            self.error(
                "E105",
                node,
                f"`{node.name}` does not apply to {self.media}s",
                f"it is defined for: {', '.join(sorted(spec.media))}",
            )
        return spec.type

    def visit_Call(self, node: ast.Call, guarded) -> _Visit:
        arg_types = []
        for arg in node.args:
            arg_types.append((yield arg, guarded))
        spec = self.catalog.functions.get(node.name)
        if spec is None:
            suggestion = self.catalog.suggest(node.name, functions=True)
            return self.error(
                "E102",
                node.name_span,
                f"unknown function `{node.name}`",
                f"did you mean `{suggestion}`?"
                if suggestion
                else "`prunerr rules functions` lists the functions",
            )
        if len(node.args) != len(spec.params):
            return self.error(
                "E103",
                node,
                f"`{node.name}` takes {len(spec.params)} argument(s), got {len(node.args)}",
                f"usage: {spec.signature}",
            )
        for arg, got, want in zip(node.args, arg_types, spec.params, strict=True):
            if not self._accepts(want, got):
                self.error(
                    "E104",
                    arg,
                    f"argument of `{node.name}` must be {want}, not {got}",
                    f"usage: {spec.signature}",
                )
        return spec.returns

    @staticmethod
    def _accepts(want: Type, got: Type) -> bool:
        if got.kind in (Kind.ANY, Kind.NULL):
            return True
        if want.kind is Kind.LIST:
            return got.kind is Kind.LIST and (
                want.elem.kind is Kind.ANY or _compatible(want.elem, got.elem)
            )
        if want.kind is Kind.STRING:
            return got.is_stringlike
        return _compatible(want, got)

    def visit_ListLit(self, node: ast.ListLit, guarded) -> _Visit:
        elem = NULL
        for item in node.items:
            t = yield item, guarded
            if t.kind is Kind.NULL:
                continue
            if elem.kind is Kind.NULL:
                elem = t.as_nullable(elem.nullable and False)
            elif not _compatible(elem, t):
                self.error("E206", item, f"list mixes {elem} and {t} elements")
                return list_of(ANY)
        self._mark_constant_if(node, *node.items)
        has_null = any(self.types[id(i)].kind is Kind.NULL for i in node.items)
        if elem.kind is Kind.NULL:
            return list_of(NULL if has_null else ANY)
        return list_of(elem.as_nullable(has_null))

    # operators
    def visit_Neg(self, node: ast.Neg, guarded) -> _Visit:
        t = yield node.operand, guarded
        self._mark_constant_if(node, node.operand)
        if t.kind in (Kind.NUMBER, Kind.SIZE, Kind.DURATION, Kind.ANY):
            return t
        return self.error("E201", node, f"cannot negate a {t}")

    def _condition(self, node: ast.Node, t: Type, where: str) -> None:
        if t.kind not in (Kind.BOOL, Kind.ANY):
            self.error(
                "E205",
                node,
                f"{where} needs a condition, but this is a {t}",
                "compare it with something, e.g. `size > 20 GB`",
            )

    def visit_Not(self, node: ast.Not, guarded) -> _Visit:
        self._condition(node.operand, (yield node.operand, guarded), "`not`")
        self._mark_constant_if(node, node.operand)
        return BOOL

    def visit_BoolOp(self, node: ast.BoolOp, guarded) -> _Visit:
        # `x is not null and ...` excludes nulls explicitly; `x is null or ...` includes them.
        # The opposite polarities guard nothing (`x is null and x < 5` is never true).
        guard_negated = node.op == "and"
        inner = guarded | {
            key
            for op in node.operands
            if isinstance(op, ast.IsNull)
            and op.negated == guard_negated
            and (key := _guard_key(op.operand))
        }
        for operand in node.operands:
            self._condition(operand, (yield operand, inner), f"`{node.op}`")
        self._mark_constant_if(node, *node.operands)
        return BOOL

    def visit_Arith(self, node: ast.Arith, guarded) -> _Visit:
        a = yield node.left, guarded
        b = yield node.right, guarded
        self._mark_constant_if(node, node.left, node.right)
        if Kind.ANY in (a.kind, b.kind):
            return ANY
        result = _ARITH_RESULTS.get((node.op, a.kind, b.kind))
        if result is None:
            other = node.right if a.kind is not Kind.NUMBER else node.left
            return self.error(
                "E201",
                node,
                f"cannot apply `{node.op}` to {a} and {b}",
                _hint_for_mismatch(a, b, other),
            )
        return Type(result, a.nullable or b.nullable)

    def visit_Coalesce(self, node: ast.Coalesce, guarded) -> _Visit:
        a = yield node.left, guarded
        b = yield node.right, guarded
        self._mark_constant_if(node, node.left, node.right)
        if not _compatible(a, b):
            return self.error(
                "E201",
                node,
                f"`??` needs both sides of one type, got {a} and {b}",
                _hint_for_mismatch(a, b, node.right),
            )
        base = b if a.kind is Kind.NULL else a
        if a.kind is Kind.ENUM and b.kind is Kind.STRING:
            # `resolution ?? "720p"` stays an enum (the compiler canonicalises the literal); with
            # any other string the result is a plain string, since it may be none of the values.
            if _is_string_literal(node.right):
                self._enum_literal(a, node.right)
            else:
                base = STRING
        return base.as_nullable(b.nullable)

    def visit_IsNull(self, node: ast.IsNull, guarded) -> _Visit:
        yield node.operand, guarded
        self._mark_constant_if(node, node.operand)
        return BOOL

    def visit_Relative(self, node: ast.Relative, guarded) -> _Visit:
        t = yield node.operand, guarded
        self._mark_constant_if(node, node.operand)
        if t.kind not in (Kind.DURATION, Kind.ANY):
            word = "from now" if node.future else "ago"
            return self.error(
                "E201",
                node,
                f"`{word}` follows a duration, not a {t}",
                f"for example `6 months {word}`",
            )
        return DATETIME.as_nullable(t.nullable)

    def visit_Compare(self, node: ast.Compare, guarded) -> _Visit:
        a = yield node.left, guarded
        b = yield node.right, guarded
        self._mark_constant_if(node, node.left, node.right)
        if Kind.ANY not in (a.kind, b.kind):
            check = {
                "in": self._check_in,
                "not in": self._check_in,
                "contains": self._check_contains,
                "contains any": self._check_contains_list,
                "contains all": self._check_contains_list,
                "starts with": self._check_affix,
                "ends with": self._check_affix,
                "matches": self._check_matches,
            }.get(node.op, self._check_comparison)
            check(node, a, b, guarded)
        return BOOL

    def _enum_literal(self, enum_type: Type, literal: ast.Node) -> None:
        """A string literal compared with an enum must be one of its values."""
        if isinstance(literal, ast.Literal) and literal.kind == "string":
            enum = enum_type.enum
            if enum.canonical(literal.value) is None:
                suggestion = enum.suggest(literal.value)
                self.error(
                    "E202",
                    literal,
                    f'"{literal.value}" is not a {enum.name} (one of {", ".join(enum.values)})',
                    f'did you mean "{suggestion}"?' if suggestion else None,
                )

    def _check_enum_sides(self, node: ast.Compare, a: Type, b: Type) -> None:
        if a.kind is Kind.ENUM:
            self._enum_literal(a, node.right)
        if b.kind is Kind.ENUM:
            self._enum_literal(b, node.left)

    def _check_comparison(self, node: ast.Compare, a: Type, b: Type, guarded) -> None:
        if not _compatible(a, b):
            # The hint quotes the number (`20` -> `20 GB`) or the string (`"2020"` -> `2020`).
            shown = Kind.STRING if Kind.STRING in (a.kind, b.kind) else Kind.NUMBER
            other = node.left if a.kind is shown else node.right
            self.error(
                "E201",
                node,
                f"cannot compare {a} with {b} using `{node.op}`",
                _hint_for_mismatch(a, b, other),
            )
            return
        self._check_enum_sides(node, a, b)
        if node.op == "!=":
            self._warn_null_is_true(node.left, a, guarded, '!= "..."')
            self._warn_null_is_true(node.right, b, guarded, '!= "..."')
        if node.op not in _ORDERING:
            return
        for t in (a, b):
            if t.kind is not Kind.NULL and not t.is_ordered:
                hint = (
                    "count its elements with `count(..)`"
                    if t.kind is Kind.LIST
                    else "use `==`, `!=` or `in`"
                )
                self.error(
                    "E203", node, f"{t} values have no order; `{node.op}` does not apply", hint
                )
                return
        for t, other, other_t in ((a, node.right, b), (b, node.left, a)):
            # Only the enumeration's own values have an order: a string literal was checked
            # above (E202); any other string may be none of them.
            if (
                t.kind is Kind.ENUM
                and other_t.kind is Kind.STRING
                and not _is_string_literal(other)
            ):
                self.error(
                    "E201",
                    node,
                    f"cannot order {t} against an arbitrary string",
                    f"compare with one of its values: {', '.join(t.enum.values)}",
                )
                return
        for side in (node.left, node.right):
            for source, key in _null_sources(side):
                if self.types[id(source)].nullable and key not in guarded:
                    self.error(
                        "W101",
                        source,
                        f"`{key}` can be null, and `{node.op}` with null is unknown, so "
                        "this never matches items where it is null",
                        f"to include them write `{key} is null or ...` or `{key} ?? "
                        f"<default>`; to exclude them say so: `{key} is not null and ...`",
                    )

    def _check_in(self, node: ast.Compare, a: Type, b: Type, guarded) -> None:
        if b.kind is not Kind.LIST:
            self.error(
                "E201",
                node.right,
                f"`{node.op}` needs a list on its right, not a {b}",
                'for example `resolution in ["720p", "1080p"]`',
            )
            return
        if a.kind is Kind.LIST:
            self.error(
                "E201",
                node,
                "the left side of `in` is a list",
                "to test lists for common elements use `contains any [..]`",
            )
            return
        if not _compatible(a, b.elem):
            self.error("E201", node, f"cannot look for a {a} in a {b}")
            return
        if a.kind is Kind.ENUM and isinstance(node.right, ast.ListLit):
            for item in node.right.items:
                self._enum_literal(a, item)
        if node.op == "not in":
            self._warn_null_is_true(node.left, a, guarded, "not in [...]")

    def _warn_null_is_true(self, side: ast.Node, t: Type, guarded, shown: str) -> None:
        """`!=` and `not in` treat null as a value, so they are *true* for null: say so."""
        key = _guard_key(side)
        if t.nullable and key is not None and key not in guarded:
            self.error(
                "W102",
                side,
                f"`{key}` can be null, and `null {shown}` is true, so this matches items "
                "where it is null",
                f"to exclude them write `{key} is not null and ...`; to say you mean "
                f"them write `{key} is null or ...`",
            )

    def _check_contains(self, node: ast.Compare, a: Type, b: Type, guarded) -> None:
        if a.kind is Kind.LIST:
            if not _compatible(a.elem, b) or b.kind is Kind.LIST:
                self.error(
                    "E201",
                    node,
                    f"a {a} cannot contain a {b}",
                    "use `contains any [..]` or `contains all [..]` with a list"
                    if b.kind is Kind.LIST
                    else None,
                )
        elif a.kind is Kind.STRING:
            if not b.is_stringlike:
                self.error("E201", node, f"a string can only contain a string, not a {b}")
        else:
            self.error(
                "E201",
                node,
                f"`contains` applies to lists and strings, not a {a}",
                "use `==` to compare single values",
            )

    def _check_contains_list(self, node: ast.Compare, a: Type, b: Type, guarded) -> None:
        if b.kind is not Kind.LIST:
            self.error(
                "E201",
                node.right,
                f"`{node.op}` needs a list on its right, not a {b}",
                f'for example `genres {node.op} ["Horror", "Thriller"]`',
            )
        elif a.kind not in (Kind.LIST, Kind.STRING):
            self.error("E201", node, f"`{node.op}` applies to lists and strings, not a {a}")
        elif not _compatible(a.elem if a.kind is Kind.LIST else STRING, b.elem):
            self.error("E201", node, f"a {a} cannot contain {b.elem} elements")

    def _check_affix(self, node: ast.Compare, a: Type, b: Type, guarded) -> None:
        if not (a.is_stringlike and b.is_stringlike):
            self.error("E201", node, f"`{node.op}` compares strings, not {a} and {b}")

    def _check_matches(self, node: ast.Compare, a: Type, b: Type, guarded) -> None:
        if not (a.is_stringlike or (a.kind is Kind.LIST and a.elem.is_stringlike)):
            self.error("E201", node.left, f"`matches` applies to strings, not a {a}")
        pattern = node.right
        if not (isinstance(pattern, ast.Literal) and pattern.kind == "string"):
            self.error(
                "E201",
                pattern,
                "the pattern of `matches` must be a string literal",
                'for example `title matches "(?i)^the "`',
            )
            return
        try:
            compile_regex(pattern.value)
        except (re2.error, UnicodeEncodeError) as exc:  # a lone surrogate cannot be UTF-8
            reason = exc.args[0] if isinstance(exc, re2.error) and exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            self.error(
                "E204",
                pattern,
                f"invalid regular expression: {reason}",
                "patterns use RE2 syntax (no backreferences or lookaround)",
            )


def check(root: ast.Node, catalog: Catalog, media: str | None = None) -> Checked:
    """Type-check an expression used as a rule condition; first, that it is within the limits
    (E303), as nothing else is checked then."""
    large = too_large(root)
    if large is not None:
        return Checked(root, {}, set(), [large])
    checker = _Checker(catalog, media)
    root_type = checker.visit(root)
    if root_type.kind not in (Kind.BOOL, Kind.ANY):
        checker.error(
            "E205",
            root,
            f"a condition must be true or false, but this is a {root_type}",
            "compare it with something, e.g. `size > 20 GB`",
        )
    return Checked(root, checker.types, checker.constant, checker.diagnostics)
