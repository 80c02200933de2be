"""Explanations: the value of every sub-expression of a condition for one item.

Trees are built and walked without recursion, and show MAX_EXPLAINED_DEPTH levels: a node at
that depth shows its value, its sub-expressions are left out. The bound is for what reads
explanations recursively (JSON encoders take two levels of Python's stack per node); no one
reads a deeper one, and the condition's value comes from the same trace either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from . import ast
from .checker import Checked
from .runtime import format_value
from .types import Type

NOT_EVALUATED = object()
MAX_EXPLAINED_DEPTH = 100


@dataclass
class Explanation:
    text: str
    value: object
    type: Type
    children: list[Explanation] = field(default_factory=list)

    @property
    def shown(self) -> str:
        if self.value is NOT_EVALUATED:
            return "(not evaluated)"
        return format_value(self.value, self.type)

    def as_dict(self) -> dict:
        def node(e: Explanation) -> dict:
            return {"expr": e.text, "value": e.shown, "children": []}

        root = node(self)
        stack = [(self, root)]
        while stack:
            explanation, shown = stack.pop()
            for child in explanation.children:
                entry = node(child)
                shown["children"].append(entry)
                stack.append((child, entry))
        return root

    def render(self, depth: int = 0) -> str:
        """An indented tree, one sub-expression a line: `value  expression`."""
        nodes = list(self._walk(depth))
        width = max(8, *(len(shown) for _, _, shown in nodes))
        return "\n".join(
            f"{'  ' * level}{shown:<{width}}  {' '.join(e.text.split())}"
            for e, level, shown in nodes
        )

    def _walk(self, depth: int) -> Iterator[tuple[Explanation, int, str]]:
        """Every node with its depth and shown value, parents before children."""
        stack = [(self, depth)]
        while stack:
            explanation, level = stack.pop()
            yield explanation, level, explanation.shown
            stack.extend((c, level + 1) for c in reversed(explanation.children))


def _interesting(node: ast.Node) -> bool:
    """Literals (and lists of them) explain themselves; everything else is shown."""
    return not all(isinstance(n, ast.Literal | ast.ListLit) for n in ast.walk(node))


def build(node: ast.Node, checked: Checked, values: dict[int, object], text: str) -> Explanation:
    def explanation(n: ast.Node) -> Explanation:
        start, end = n.span
        return Explanation(text[start:end], values.get(id(n), NOT_EVALUATED), checked.type_of(n))

    root = explanation(node)
    stack = [(node, root, 1)]
    while stack:
        parent, shown, depth = stack.pop()
        if depth >= MAX_EXPLAINED_DEPTH:
            continue
        for child in ast.children(parent):
            if _interesting(child):
                entry = explanation(child)
                shown.children.append(entry)
                stack.append((child, entry, depth + 1))
    return root
