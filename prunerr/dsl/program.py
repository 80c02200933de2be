"""The language's front door: text in, a checked and compiled `Program` (or diagnostics) out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import ast, explain
from .catalog import CORE, Catalog
from .checker import Checked, check
from .compiler import Compiled, Evaluator
from .diagnostics import Diagnostic
from .parser import ParseError, parse
from .runtime import EvalContext


@dataclass(frozen=True)
class Program:
    """A condition ready to evaluate: `bind` once per run, then call on each item."""

    text: str
    checked: Checked
    compiled: Compiled
    warnings: tuple[Diagnostic, ...] = ()

    def bind(self, ctx: EvalContext) -> Evaluator:
        return self.compiled.bind(ctx)

    def evaluate(self, item: Mapping, ctx: EvalContext | None = None) -> object:
        """True, False or UNKNOWN for one item (a mapping of field name to run-time value)."""
        return self.bind(ctx or EvalContext.current())(item)

    def explain(self, item: Mapping, ctx: EvalContext | None = None) -> explain.Explanation:
        result, values = self.compiled.trace(item, ctx or EvalContext.current())
        # The root shows the condition's outcome: a nullable boolean's null reads as unknown.
        values[id(self.checked.root)] = result
        return explain.build(self.checked.root, self.checked, values, self.text)

    @property
    def fields(self) -> frozenset[str]:
        """Names of the fields the condition reads."""
        return frozenset(n.name for n in ast.walk(self.checked.root) if isinstance(n, ast.Field))


@dataclass
class Compilation:
    program: Program | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.program is not None


def compile_condition(text: str, catalog: Catalog = CORE, media: str | None = None) -> Compilation:
    """Parse, check and compile a condition. `media` enables per-media-type field checks."""
    try:
        root = parse(text)
    except ParseError as exc:
        return Compilation(None, exc.diagnostics)
    checked = check(root, catalog, media)
    if not checked.ok:
        return Compilation(None, checked.diagnostics)
    compiled = Compiled(checked, catalog)
    if _is_constant(compiled):
        constant = Diagnostic(
            "E302",
            "the condition does not depend on the item, so it matches everything or nothing",
            root.span,
            "compare a field, e.g. `size > 20 GB`",
        )
        return Compilation(None, [*checked.diagnostics, constant])
    program = Program(text, checked, compiled, tuple(checked.diagnostics))
    return Compilation(program, checked.diagnostics)


def _is_constant(compiled: Compiled) -> bool:
    """Whether the condition has the same value for every item: item-independent, or decided by
    an item-independent operand (`... or 1 < 2`). Values come from a trace on an empty item,
    which is exact for the item-independent parts."""
    checked = compiled.checked
    # The `not`/`and`/`or` nodes above the item-independent parts, parents first.
    spine, stack = [], [checked.root]
    while stack:
        node = stack.pop()
        spine.append(node)
        if id(node) not in checked.constant and isinstance(node, ast.Not | ast.BoolOp):
            stack.extend(ast.children(node))
    if not any(id(node) in checked.constant for node in spine):
        return False  # no trace needed: nothing item-independent decides anything
    _, values = compiled.trace({}, EvalContext.current())
    decided: dict[int, bool] = {}
    for node in reversed(spine):  # children before their parents
        if id(node) in checked.constant:
            decided[id(node)] = True
        elif isinstance(node, ast.Not):
            decided[id(node)] = decided[id(node.operand)]
        elif isinstance(node, ast.BoolOp):
            absorbing = node.op == "or"
            decided[id(node)] = any(
                decided[id(o)] and values.get(id(o)) is absorbing for o in node.operands
            )
        else:
            decided[id(node)] = False
    return decided[id(checked.root)]
