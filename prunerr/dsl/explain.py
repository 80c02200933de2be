"""Explanations: the value of every sub-expression of a condition for one item."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast
from .checker import Checked
from .runtime import format_value
from .types import Type

NOT_EVALUATED = object()


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
        return {
            "expr": self.text,
            "value": self.shown,
            "children": [c.as_dict() for c in self.children],
        }

    def render(self, depth: int = 0) -> str:
        """An indented tree, one sub-expression a line: `value  expression`."""
        width = max(8, *(len(n.shown) for n in self._nodes()))
        return "\n".join(self._lines(depth, width))

    def _nodes(self):
        yield self
        for child in self.children:
            yield from child._nodes()

    def _lines(self, depth: int, width: int):
        text = " ".join(self.text.split())
        yield f"{'  ' * depth}{self.shown:<{width}}  {text}"
        for child in self.children:
            yield from child._lines(depth + 1, width)


def _interesting(node: ast.Node) -> bool:
    """Literals (and lists of them) explain themselves; everything else is shown."""
    if isinstance(node, ast.Literal):
        return False
    if isinstance(node, ast.ListLit):
        return any(_interesting(i) for i in node.items)
    return True


def build(node: ast.Node, checked: Checked, values: dict[int, object], text: str) -> Explanation:
    start, end = node.span
    return Explanation(
        text[start:end],
        values.get(id(node), NOT_EVALUATED),
        checked.type_of(node),
        [build(c, checked, values, text) for c in ast.children(node) if _interesting(c)],
    )
