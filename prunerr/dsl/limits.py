"""How large a condition may be, and the check (E303) that enforces it before any stage works on
the syntax tree.

No stage recurses over the tree: the parser, checker, compiler and explanations keep their own
stacks, and generated code nests a bounded amount per function (see `compiler`). So these limits
are not what Python's stack survives (everything but run time survives any depth, and the
generated functions of a condition 12,000 levels deep still run, in a thread with 256 KiB of
stack); they bound the time and memory one condition may take, far above anything written by
hand. What does recurse does so over bounded structures: lists inside lists (their values are
compared, hashed and shown recursively) and explanation trees (see `explain`).
"""

from __future__ import annotations

from . import ast
from .diagnostics import Diagnostic

MAX_LENGTH = 500_000  # characters, checked before parsing (its time and memory grow with it)
MAX_DEPTH = 2_000  # levels of nesting of the syntax tree
MAX_NODES = 100_000  # sub-expressions: fields, literals, operators, calls, list elements
MAX_LIST_DEPTH = 100  # lists inside lists

_SPLIT = "split it into several rules"
_FLATTEN = "flatten it: `a and (b and c)` is `a and b and c`, and `not not x` is `x`"


def too_long(text: str) -> Diagnostic | None:
    """E303 at the first character past MAX_LENGTH."""
    if len(text) <= MAX_LENGTH:
        return None
    return Diagnostic(
        "E303",
        f"the condition is longer than {MAX_LENGTH:,} characters",
        (MAX_LENGTH, len(text)),
        _SPLIT,
    )


def too_large(root: ast.Node) -> Diagnostic | None:
    """E303 at the first sub-expression (in source order) nested deeper than MAX_DEPTH, past
    MAX_NODES, or a list nested in more than MAX_LIST_DEPTH lists. Iterative: it runs before
    anything else walks the tree."""
    count = 0
    stack: list[tuple[ast.Node, int, int]] = [(root, 1, 0)]
    while stack:
        node, depth, lists = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            message = f"the condition is nested more than {MAX_DEPTH:,} levels deep"
            return Diagnostic("E303", message, node.span, _FLATTEN)
        if count > MAX_NODES:
            message = f"the condition has more than {MAX_NODES:,} sub-expressions"
            return Diagnostic("E303", message, node.span, _SPLIT)
        if isinstance(node, ast.ListLit):
            lists += 1
            if lists > MAX_LIST_DEPTH:
                message = f"lists are nested more than {MAX_LIST_DEPTH} levels deep"
                return Diagnostic("E303", message, node.span, "use a flat list")
        stack.extend((child, depth + 1, lists) for child in reversed(ast.children(node)))
    return None
