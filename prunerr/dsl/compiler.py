"""Checked expressions to Python: generated functions per condition, compiled once.

The generated code implements the language's semantics inline (three-valued logic, null as an
ordinary value for `==`/`in`, unknown for everything else that meets null) because it runs once per
item per rule. The same generator produces a *tracing* variant, without short-circuits, that
records the value of every sub-expression for explanations, so both can never disagree.

Code is generated bottom-up without recursion, and no generated function grows with the
condition: `and`/`or` chains are flat; a subtree more than CHUNK_HEIGHT levels tall becomes a
function of its own, so none nests deeper than Python's parser allows (200 parentheses); so do
runs of CHUNK_WIDTH operands of a longer chain or list; and each function is compiled on its own,
as Python's compiler takes memory by the source it is given (some 10 KB per clause).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from types import CodeType, FunctionType

from . import ast
from .catalog import Catalog
from .checker import Checked, compile_regex
from .runtime import UNKNOWN, EvalContext, folded
from .types import Kind, Type

Evaluator = Callable[[Mapping], object]

# Each level of the syntax tree adds at most 5 parentheses (a traced `not` of a nullable operand:
# `(U if (_t := (U if (_t2 := _rec(..)) ...`), so a function of 16 levels nests about 80 deep.
CHUNK_HEIGHT = 16
CHUNK_WIDTH = 64  # operands of `and`/`or`, elements of a list


@functools.lru_cache(maxsize=1 << 16)
def _folded_set_cached(values: tuple) -> frozenset:
    return frozenset(fold_or_none(v) for v in values)


def folded_set(values) -> frozenset:
    """Folded strings of a list value, cached for the tuples items carry."""
    try:
        return _folded_set_cached(values)
    except TypeError:  # a list rather than a tuple
        return frozenset(fold_or_none(v) for v in values)


def fold_or_none(value):
    return value if value is None else folded(value)


def kleene_and(*values):
    if any(v is False for v in values):
        return False
    return UNKNOWN if any(v is UNKNOWN for v in values) else True


def kleene_or(*values):
    if any(v is True for v in values):
        return True
    return UNKNOWN if any(v is UNKNOWN for v in values) else False


def absent(*pairs) -> bool:
    """Tracing guard: pairs of (value, null_counts_as_missing), all already evaluated."""
    values, null_missing = pairs[::2], pairs[1::2]
    return any(v is UNKNOWN or (v is None and m) for v, m in zip(values, null_missing, strict=True))


def regex_search(regex, text: str) -> bool:
    """`matches`: RE2 takes UTF-8, so text with lone surrogates (possible in upstream JSON) is
    searched with them replaced."""
    try:
        return regex.search(text) is not None
    except UnicodeEncodeError:
        return regex.search(text.encode("utf-8", "replace").decode("utf-8")) is not None


def make_list(*values):
    return UNKNOWN if any(v is UNKNOWN for v in values) else values


def in_list(needle, haystack, stringy: bool) -> bool:
    if stringy:
        return fold_or_none(needle) in {fold_or_none(v) for v in haystack}
    return needle in haystack


_RUNTIME = {
    "U": UNKNOWN,
    "_fold": folded,
    "_fold_n": fold_or_none,
    "_fset": folded_set,
    "_and": kleene_and,
    "_or": kleene_or,
    "_list": make_list,
    "_search": regex_search,
    "_absent": absent,
    "_in": in_list,
}


def _literal_list(node: ast.Node) -> bool:
    return isinstance(node, ast.ListLit) and all(isinstance(i, ast.Literal) for i in node.items)


def _is_stringy(t: Type) -> bool:
    return t.is_stringlike or (t.kind is Kind.LIST and t.elem is not None and t.elem.is_stringlike)


class _Generator:
    """Emits one Python expression per node, children first; `trace` wraps each in a recording
    call. `emit_*` methods ask for their operands' code with `expr`/`condition`, which hand out
    what was emitted for them, moved into a constant or a function of its own when need be."""

    def __init__(self, checked: Checked, catalog: Catalog, trace: bool):
        self.checked = checked
        self.catalog = catalog
        self.trace = trace
        self.namespace: dict[str, object] = dict(_RUNTIME)
        self.hoisted: list[str] = []  # statements run once per bind (constants that need `now`)
        self.functions: list[tuple[str, str]] = []  # (name, `def` statement) of parts of the code
        self._temps = itertools.count()
        self._consts = itertools.count()
        self._code: dict[int, str] = {}  # node id -> its code, as emitted
        self._heights: dict[int, int] = {}  # node id -> levels of nesting of that code
        self._height = 0  # the tallest operand handed out to the node being emitted

    def generate(self, root: ast.Node) -> str:
        """The expression for the condition `root`; functions and constants it uses are left in
        `functions` and `hoisted`."""
        # The right side of `x in [1, 2]` becomes a set: neither it nor its elements need code.
        unused = {
            id(n)
            for compare in ast.walk(root)
            if isinstance(compare, ast.Compare) and compare.op in ("in", "not in")
            if _literal_list(compare.right)
            for n in (compare.right, *compare.right.items)
        }
        for node in ast.postorder(root):
            if id(node) in unused:
                continue
            self._height = 0
            self._code[id(node)] = self._emit(node)
            self._heights[id(node)] = self._height + 1
        return self.condition(root)

    def temp(self) -> str:
        return f"_t{next(self._temps)}"

    def const(self, value: object) -> str:
        name = f"_c{next(self._consts)}"
        self.namespace[name] = value
        return name

    def type_of(self, node: ast.Node) -> Type:
        return self.checked.type_of(node)

    def is_constant(self, node: ast.Node) -> bool:
        return id(node) in self.checked.constant

    # operands
    def expr(self, node: ast.Node) -> str:
        """The code of an operand (already emitted): item-independent ones are computed once per
        bind by the fast variant, tall ones are called as a function of their own."""
        code, height = self._code[id(node)], self._heights[id(node)]
        if not self.trace and self.is_constant(node) and not isinstance(node, ast.Literal):
            name = f"_k{len(self.hoisted)}"
            self.hoisted.append(f"{name} = {code}")
            code, height = name, 1
        elif height >= CHUNK_HEIGHT:
            code, height = self._function(code, node), 1
        self._height = max(self._height, height)
        if self.trace:
            return f"_rec({id(node)}, {code})"
        return code

    def _function(self, code: str, node: ast.Node) -> str:
        """A call of a function of its own that returns `code`, part of `node`'s code. The fast
        variant computes item-independent code once per bind, where there is no item."""
        name = f"_f{len(self.functions)}"
        params = "item, _g, _rec" if self.trace else "item, _g"
        if not self.trace and self.is_constant(node):
            params = ""
        self.functions.append((name, f"def {name}({params}):\n    return {code}\n"))
        return f"{name}({params})"

    def _runs(self, node: ast.Node, codes: list[str], join, star: str = "") -> list[str]:
        """`codes` (of `node`'s operands), or if there are more than CHUNK_WIDTH, calls of
        functions that `join` runs of them (and of functions of those, and so on), each call
        prefixed with `star`."""
        while len(codes) > CHUNK_WIDTH:
            runs = range(0, len(codes), CHUNK_WIDTH)
            codes = [star + self._function(join(codes[i : i + CHUNK_WIDTH]), node) for i in runs]
        return codes

    def condition(self, node: ast.Node) -> str:
        """A boolean operand: a nullable boolean's null becomes unknown."""
        code = self.expr(node)
        if self.type_of(node).nullable:
            t = self.temp()
            return f"(U if ({t} := {code}) is None else {t})"
        return code

    def _emit(self, node: ast.Node) -> str:
        return getattr(self, "emit_" + type(node).__name__)(node)

    # helpers for the unknown/null guards
    def _guarded(self, operands, build, null_is_value: bool = False) -> str:
        """`(U if <any operand unknown or null> else build(*names))`.

        Null counts as missing unless `null_is_value`. Literals need no guard. The tracing
        variant evaluates every operand before testing, so explanations show them all."""
        names, tests, traced = [], [], []
        for node in operands:
            code = self.expr(node)
            literal = isinstance(node, ast.Literal) and node.value is not None
            if literal and not self.trace:
                names.append(code)
                continue
            t = self.temp()
            names.append(t)
            missing = not null_is_value
            if self.trace:
                traced.append(f"({t} := {code}), {missing}")
            else:
                tests.append(f"({t} := {code}) is U" + (f" or {t} is None" if missing else ""))
        guard = f"_absent({', '.join(traced)})" if self.trace else " or ".join(tests)
        body = build(*names)
        return f"(U if {guard} else {body})" if guard else f"({body})"

    # leaves
    def emit_Literal(self, node: ast.Literal) -> str:
        if node.kind == "string":
            return self.const(node.value)
        return repr(node.value)

    def emit_Now(self, node) -> str:
        return "_now"

    def emit_Today(self, node) -> str:
        return "_today"

    def emit_Field(self, node: ast.Field) -> str:
        return f"_g({node.name!r}, U)"

    def emit_Call(self, node: ast.Call) -> str:
        fn = self.const(self.catalog.functions[node.name].impl)
        return self._guarded(
            node.args, lambda *args: f"{fn}(_ctx, item{''.join(', ' + a for a in args)})"
        )

    def emit_ListLit(self, node: ast.ListLit) -> str:
        items = [self.expr(i) for i in node.items]
        items = self._runs(node, items, lambda run: f"({', '.join(run)},)", star="*")  # tuples
        return f"_list({', '.join(items)})"

    # operators
    def emit_Neg(self, node: ast.Neg) -> str:
        return self._guarded([node.operand], lambda a: f"-{a}")

    def emit_Not(self, node: ast.Not) -> str:
        t = self.temp()
        return f"(U if ({t} := {self.condition(node.operand)}) is U else not {t})"

    def emit_BoolOp(self, node: ast.BoolOp) -> str:
        operands = [self.condition(o) for o in node.operands]
        join = functools.partial(self._connective, node.op)
        return self._connective(node.op, self._runs(node, operands, join))

    def _connective(self, op: str, operands: list[str]) -> str:
        """`and`/`or` of operands' code (Kleene logic is associative: runs may be joined first)."""
        if self.trace:
            return f"_{op}({', '.join(operands)})"
        # Flat however long: `(False if (a := x) is False or (b := y) is False else (U if a is U
        # or b is U else True))` stops at the first false operand, as `and` does.
        stop, other = ("False", "True") if op == "and" else ("True", "False")
        names = [self.temp() for _ in operands]
        stops = " or ".join(
            f"({t} := {code}) is {stop}" for t, code in zip(names, operands, strict=True)
        )
        unknown = " or ".join(f"{t} is U" for t in names)
        return f"({stop} if {stops} else (U if {unknown} else {other}))"

    def emit_Arith(self, node: ast.Arith) -> str:
        operands = (node.left, node.right)
        if node.op == "/":
            return self._guarded(operands, lambda a, b: f"U if {b} == 0 else {a} / {b}")
        return self._guarded(operands, lambda a, b: f"{a} {node.op} {b}")

    def emit_Coalesce(self, node: ast.Coalesce) -> str:
        t = self.temp()
        left, right = self.expr(node.left), self.expr(node.right)
        # `resolution ?? "720P"`: the enum's canonical "720p", as comparisons expect.
        right = self._enum_side(self.type_of(node), node.right) or right
        if self.trace:  # evaluate the right side too, to show it
            r = self.temp()
            both = f"(({t} := {left}), ({r} := {right}))[0]"
            return f"(U if {both} is U else ({r} if {t} is None else {t}))"
        return f"(U if ({t} := {left}) is U else ({right} if {t} is None else {t}))"

    def emit_IsNull(self, node: ast.IsNull) -> str:
        t = self.temp()
        test = "is not None" if node.negated else "is None"
        return f"(U if ({t} := {self.expr(node.operand)}) is U else {t} {test})"

    def emit_Relative(self, node: ast.Relative) -> str:
        sign = "+" if node.future else "-"
        return self._guarded([node.operand], lambda d: f"_now {sign} {d}")

    def emit_Compare(self, node: ast.Compare) -> str:
        op = node.op
        left_t, right_t = self.type_of(node.left), self.type_of(node.right)
        if op in ("==", "!="):
            return self._equality(node, left_t, right_t)
        if op in ("<", "<=", ">", ">="):
            return self._ordering(node, left_t, right_t)
        if op in ("in", "not in"):
            return self._membership(node, left_t, right_t)
        if op == "matches":
            regex = self.const(compile_regex(node.right.value))
            if left_t.kind is Kind.LIST:
                build = f"any(_search({regex}, _x) for _x in {{a}})"
            else:
                build = f"_search({regex}, {{a}})"
            return self._guarded([node.left], lambda a: build.format(a=a))
        return self._containment(node, left_t)

    def _enum_side(self, t: Type, other: ast.Node) -> str | None:
        """A string literal compared with an enum, as a constant canonical value."""
        if t.kind is Kind.ENUM and isinstance(other, ast.Literal) and other.kind == "string":
            return self.const(t.enum.canonical(other.value))
        return None

    def _equality(self, node: ast.Compare, lt: Type, rt: Type) -> str:
        negate = "not " if node.op == "!=" else ""
        for enum_t, literal, other in ((lt, node.right, node.left), (rt, node.left, node.right)):
            canonical = self._enum_side(enum_t, literal)
            if canonical:
                return self._guarded([other], lambda a, c=canonical: f"{negate}{a} == {c}", True)
        stringy = lt.kind is Kind.STRING or rt.kind is Kind.STRING
        if lt.kind is Kind.LIST and _is_stringy(lt):
            build = (
                "_fset({a}) == _fset({b}) if {a} is not None and {b} is not None else {a} == {b}"
            )
        elif stringy:
            build = "_fold_n({a}) == _fold_n({b})"
        else:
            build = "{a} == {b}"
        return self._guarded(
            (node.left, node.right),
            lambda a, b: f"{negate}({build.format(a=a, b=b)})",
            null_is_value=True,
        )

    def _ordering(self, node: ast.Compare, lt: Type, rt: Type) -> str:
        enum_t = lt if lt.kind is Kind.ENUM else rt if rt.kind is Kind.ENUM else None
        if enum_t is not None:
            ranks = {v: i for i, v in enumerate(enum_t.enum.values)}
            ranks.update({folded(v): i for i, v in enumerate(enum_t.enum.values)})
            rank = self.const(ranks)
            key = f"{rank}[_fold({{}})]"
        elif lt.kind is Kind.STRING:
            key = "_fold({})"
        else:
            key = "{}"
        op = node.op
        return self._guarded(
            (node.left, node.right), lambda a, b: f"{key.format(a)} {op} {key.format(b)}"
        )

    def _membership(self, node: ast.Compare, lt: Type, rt: Type) -> str:
        negate = "not " if node.op == "not in" else ""
        stringy = _is_stringy(rt) or lt.kind is Kind.STRING
        right = node.right
        if _literal_list(right):
            values = []
            for item in right.items:
                v = item.value
                if lt.kind is Kind.ENUM and isinstance(v, str):
                    v = lt.enum.canonical(v)
                elif stringy and isinstance(v, str):
                    v = folded(v)
                values.append(v)
            members = self.const(frozenset(values))
            key = "_fold_n({})" if lt.kind is Kind.STRING else "{}"
            return self._guarded(
                [node.left], lambda a: f"{negate}{key.format(a)} in {members}", null_is_value=True
            )
        # Null on the left is a value; a null list on the right makes the test unknown.
        return self._guarded(
            (node.left, node.right),
            lambda a, b: f"U if {b} is None else {negate}_in({a}, {b}, {stringy})",
            null_is_value=True,
        )

    def _containment(self, node: ast.Compare, lt: Type) -> str:
        op = node.op
        if lt.kind is Kind.LIST:
            stringy = _is_stringy(lt)
            have = "_fset({a})" if stringy else "{a}"
            if op == "contains":
                need = "_fold({b})" if stringy else "{b}"
                build = f"{need} in {have}"
            else:
                need = "_fset({b})" if stringy else "frozenset({b})"
                build = (
                    f"not {need}.isdisjoint({have})"
                    if op == "contains any"
                    else f"{need}.issubset({have})"
                )
        elif op == "contains":
            build = "_fold({b}) in _fold({a})"
        elif op in ("contains any", "contains all"):
            quant = "any" if op == "contains any" else "all"
            build = f"{quant}(_s is not None and _fold(_s) in _fold({{a}}) for _s in {{b}})"
        else:
            method = "startswith" if op == "starts with" else "endswith"
            build = f"_fold({{a}}).{method}(_fold({{b}}))"
        return self._guarded((node.left, node.right), lambda a, b: build.format(a=a, b=b))


def _code(source: str) -> CodeType:
    return compile(source, "<prunerr rule>", "exec")


def _function_code(name: str, source: str) -> CodeType:
    """The code of the function `source` defines, compiled on its own."""
    scope: dict[str, object] = {}
    exec(_code(source), scope)
    return scope[name].__code__


def generate(checked: Checked, catalog: Catalog, *, trace: bool = False):
    """Return `bind(ctx) -> evaluate(item[, rec])` and the generated source.

    Each generated function is compiled on its own, as Python's compiler takes memory by the
    source it is given; at bind they get one namespace: the runtime, the constants, `_ctx`,
    `_now`, `_today`, and the item-independent values (`_k0`...) computed then."""
    gen = _Generator(checked, catalog, trace)
    body = gen.generate(checked.root)
    params = "item, _rec" if trace else "item"
    evaluate = f"def _evaluate({params}):\n    _g = item.get\n    return {body}\n"
    gen.functions.append(("_evaluate", evaluate))
    namespace = dict(gen.namespace)
    runs = range(0, len(gen.hoisted), 256)
    hoisted = [_code("\n".join(gen.hoisted[i : i + 256])) for i in runs]
    functions = [(name, _function_code(name, source)) for name, source in gen.functions]

    def bind(ctx: EvalContext):
        scope = dict(namespace, _ctx=ctx, _now=ctx.now_ts, _today=ctx.today_ts)
        for name, code in functions:  # first: computing a constant may call one
            scope[name] = FunctionType(code, scope, name)
        for code in hoisted:
            exec(code, scope)
        return scope["_evaluate"]

    return bind, "".join([*(f"{line}\n" for line in gen.hoisted), *(s for _, s in gen.functions)])


class Compiled:
    """A checked condition compiled both ways: fast, and tracing when first asked for a trace
    (most conditions are never explained, and compiling takes time in proportion to size)."""

    def __init__(self, checked: Checked, catalog: Catalog):
        self.checked = checked
        self._catalog = catalog
        self._bind, self.source = generate(checked, catalog)
        self._bind_traced = None  # set once; threads racing to set it set the same thing

    def _traced(self):
        if self._bind_traced is None:
            self._bind_traced, _ = generate(self.checked, self._catalog, trace=True)
        return self._bind_traced

    def bind(self, ctx: EvalContext) -> Evaluator:
        """The per-item evaluator for one run: returns True, False or UNKNOWN."""
        return self._bind(ctx)

    def trace(self, item: Mapping, ctx: EvalContext) -> tuple[object, dict[int, object]]:
        values: dict[int, object] = {}

        def record(node_id: int, value: object) -> object:
            values[node_id] = value
            return value

        return self._traced()(ctx)(item, record), values
