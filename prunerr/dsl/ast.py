"""The syntax tree: frozen nodes carrying their source span (start, end) as character offsets.

Nodes compare and hash by identity, so later stages can key tables on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

Span = tuple[int, int]


@dataclass(frozen=True, eq=False)
class Node:
    span: Span


@dataclass(frozen=True, eq=False)
class Literal(Node):
    """kind: number, string, bool, null, size (bytes), duration (s), datetime (POSIX s)."""

    kind: str
    value: object


@dataclass(frozen=True, eq=False)
class Now(Node):
    pass


@dataclass(frozen=True, eq=False)
class Today(Node):
    pass


@dataclass(frozen=True, eq=False)
class Field(Node):
    name: str


@dataclass(frozen=True, eq=False)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    name_span: Span


@dataclass(frozen=True, eq=False)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Neg(Node):
    operand: Node


@dataclass(frozen=True, eq=False)
class Not(Node):
    operand: Node


@dataclass(frozen=True, eq=False)
class BoolOp(Node):
    """`and` / `or` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True, eq=False)
class Coalesce(Node):
    left: Node
    right: Node


@dataclass(frozen=True, eq=False)
class Compare(Node):
    """Binary predicates: == != < <= > >= in, not in, contains, contains any, contains all,
    starts with, ends with, matches."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, eq=False)
class IsNull(Node):
    operand: Node
    negated: bool


@dataclass(frozen=True, eq=False)
class Relative(Node):
    """`DURATION ago` (future=False) or `DURATION from now` (future=True)."""

    operand: Node
    future: bool


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of a node, in source order."""
    match node:
        case Call(args=args):
            return args
        case ListLit(items=items):
            return items
        case BoolOp(operands=ops):
            return ops
        case Arith(left=a, right=b) | Coalesce(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case Neg(operand=x) | Not(operand=x) | IsNull(operand=x) | Relative(operand=x):
            return (x,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, in source order. Iterative, as is every
    walk over a tree: conditions may nest thousands of levels deep."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def postorder(node: Node) -> Iterator[Node]:
    """Every node of the tree, children (in source order) before their parent."""
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            yield node
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children(node)))
