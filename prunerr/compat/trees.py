"""A rule's DSL condition as the original's v2 condition tree, for its clients: the reverse of
`prunerr.compat.conditions.to_dsl`, for the part of the language the trees can say.

A tree is given only when converting it back gives the same condition (`to_dsl` of the tree
parses to the rule's own syntax tree), so a client that edits and saves it changes nothing
it did not mean to; any other condition has no tree (None).
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from functools import lru_cache

from prunerr.compat.conditions import MAX_DEPTH, ConditionError, subjects, to_dsl
from prunerr.dsl import ast
from prunerr.dsl.parser import ParseError, parse
from prunerr.dsl.units import DAY, SIZE_UNITS

_COMPARE = {
    "==": "equals",
    "!=": "not_equals",
    ">": "greater_than",
    "<": "less_than",
    ">=": "greater_than_or_equal",
    "<=": "less_than_or_equal",
}
# `added < 30 days ago` is more than 30 days since it was added
_DAYS = {
    "<": "greater_than",
    ">": "less_than",
    "<=": "greater_than_or_equal",
    ">=": "less_than_or_equal",
}
_STRING = {
    "==": "equals",
    "!=": "not_equals",
    "in": "in",
    "not in": "not_in",
    "contains": "contains",
    "starts with": "starts_with",
    "ends with": "ends_with",
    "matches": "regex_match",
}
_LIST = {"contains": "contains_any", "contains any": "contains_any", "contains all": "contains_all"}
_UNITS = {"GiB": SIZE_UNITS["gib"], "min": 60}


def _by_subject() -> dict[tuple[str, str], str]:
    """(kind, DSL field) -> the original's field, the first one reading it."""
    found: dict[tuple[str, str], str] = {}
    for name, (kind, dsl, _) in subjects().items():
        found.setdefault((kind, dsl), name)
    return found


_FIELDS = _by_subject()
# the original's `tags` holds the *arr tags and the media server's labels: a `labels` leaf is
# half of one, which only the round trip of the whole condition can confirm
_LABELS = _FIELDS[("list", "tags")]
_UNIT_OF = {name: unit for name, (_, _, unit) in subjects().items()}


class _NoTree(Exception):
    """The condition says something a tree cannot."""


def to_tree(when: str) -> dict | None:
    """`{version: 2, root}` for a DSL condition, or None when no tree says exactly it."""
    text = tree_text(when)
    return None if text is None else json.loads(text)


@lru_cache(maxsize=1024)
def tree_text(when: str) -> str | None:
    """`to_tree` as JSON text, kept for the conditions listed again and again."""
    try:
        node = parse(when)
        if _deeper_than(node, MAX_DEPTH * 2):  # a tree nests at most MAX_DEPTH groups
            return None
        root = _group(node)
        if _shape(parse(to_dsl({"version": 2, "root": root}))) != _shape(node):
            return None
    except (_NoTree, ParseError, ConditionError):
        return None
    return json.dumps({"version": 2, "root": root})


def _deeper_than(node: ast.Node, limit: int) -> bool:
    """Whether the syntax tree nests more than `limit` levels (the walks below recurse)."""
    stack = [(node, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in ast.children(node))
    return False


def _group(node: ast.Node) -> dict:
    """The root: a group, as the original's builder edits it."""
    tree = _node(node)
    return tree if tree["kind"] == "group" else _and([tree])


def _and(children: list[dict]) -> dict:
    return {"kind": "group", "logic": "AND", "children": children}


def _node(node: ast.Node) -> dict:
    match node:
        case ast.BoolOp(op=op, operands=operands):
            children = [_node(o) for o in operands]
            if op == "and":
                children = _without_guards(children)
            # a condition `to_dsl` wrote with its guard, in parentheses, is a group of one
            children = [_only_child(c) for c in children]
            # `tags contains "x" or labels contains "x"` is the original's one `tags` leaf
            unique = [c for i, c in enumerate(children) if c not in children[:i]]
            return {"kind": "group", "logic": op.upper(), "children": unique}
        case ast.Not(operand=ast.Call(name="watched_by_user") as call):
            return _watched_by_user(call, "never_watched")
        case ast.Not(operand=operand):
            inner = _node(operand)
            children = inner["children"] if inner.get("logic") == "AND" else [inner]
            return {"kind": "group", "logic": "NOT", "children": children}
        case ast.Call(name="watched_by_user") as call:
            return _watched_by_user(call, "ever_watched")
        case ast.IsNull(operand=ast.Field(name=name), negated=negated):
            field = _FIELDS.get(("days", name)) or _plain(name)
            return _leaf(field, "is_not_null" if negated else "is_null", None)
        case ast.Compare():
            return _compare(node)
    raise _NoTree


def _without_guards(children: list[dict]) -> list[dict]:
    """An AND's children without the `is_not_null` guards `to_dsl` adds to the other
    conditions on the same field (it adds them back)."""
    fields = [c.get("field") for c in children if c.get("operator") != "is_not_null"]
    kept = [
        c for c in children if not (c.get("operator") == "is_not_null" and c["field"] in fields)
    ]
    return kept or children


def _only_child(node: dict) -> dict:
    if node.get("logic") in ("AND", "OR") and len(node["children"]) == 1:
        return node["children"][0]
    return node


def _plain(name: str) -> str:
    for kind in ("number", "string", "enum", "list"):
        if (kind, name) in _FIELDS:
            return _FIELDS[kind, name]
    raise _NoTree


def _compare(node: ast.Compare) -> dict:
    if not isinstance(node.left, ast.Field):
        raise _NoTree
    name, op, right = node.left.name, node.op, node.right
    if isinstance(right, ast.Relative) and not right.future and op in _DAYS:
        field = _FIELDS.get(("days", name))
        days = _literal(right.operand, "duration") / DAY
        if field is None:
            raise _NoTree
        return _leaf(field, _DAYS[op], _number(days))
    for kind in ("number", "enum", "string", "list"):
        field = _LABELS if (kind, name) == ("list", "labels") else _FIELDS.get((kind, name))
        if field is None:
            continue
        if kind == "number" and op in _COMPARE:
            unit = _UNIT_OF[field]
            literal = (
                _literal(right, "size" if unit == "GiB" else "duration")
                if unit
                else _literal(right, "number")
            )
            return _leaf(field, _COMPARE[op], _number(literal / _UNITS.get(unit, 1)))
        if kind in ("string", "enum") and op in _STRING:
            if op in ("in", "not in"):
                return _leaf(field, _STRING[op], _strings(right))
            return _leaf(field, _STRING[op], _literal(right, "string"))
        if kind == "list" and op in _LIST:  # labels: see _LABELS
            values = [_literal(right, "string")] if op == "contains" else _strings(right)
            return _leaf(field, _LIST[op], values)
    raise _NoTree


def _leaf(field: str, operator: str, value: object) -> dict:
    return {"kind": "condition", "field": field, "operator": operator, "value": value}


def _watched_by_user(call: ast.Call, operator: str) -> dict:
    if len(call.args) != 1:
        raise _NoTree
    name = _literal(call.args[0], "string")
    return {**_leaf("watched_by_user", operator, None), "params": {"username": name}}


def _literal(node: ast.Node, kind: str):
    if not isinstance(node, ast.Literal) or node.kind != kind:
        raise _NoTree
    return node.value


def _strings(node: ast.Node) -> list[str]:
    if not isinstance(node, ast.ListLit) or not node.items:
        raise _NoTree
    return [_literal(item, "string") for item in node.items]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _shape(node: ast.Node) -> object:
    """The syntax tree without positions, nested `and`s and `or`s flattened, numbers to 12
    digits, and null guards that cannot change the result left out: what makes two conditions
    the same."""
    if isinstance(node, ast.BoolOp):
        flat: list[object] = []
        for operand in node.operands:
            shape = _shape(operand)
            same = isinstance(shape, tuple) and shape[:2] == ("BoolOp", node.op)
            flat.extend(shape[2:] if same else [shape])
        if node.op == "or":
            flat = _unguarded(flat)
        return ("BoolOp", node.op, *flat)
    if isinstance(node, ast.Literal) and isinstance(node.value, int | float):
        value = node.value
        return ("Literal", node.kind, float(f"{value:.12g}") if math.isfinite(value) else value)
    parts = (getattr(node, f.name) for f in fields(node) if not f.name.endswith("span"))
    return (type(node).__name__, *map(_part, parts))


def _unguarded(operands: list[object]) -> list[object]:
    """An `or`'s operands with `x is not null and x < ...` written `x < ...` where another
    operand is `x is null`: that one is true whenever the guard is false, and both are
    unknown with `x` (a guard before anything else would not be: `y > 3` may be true)."""
    nulls = {o[1] for o in operands if _is_null(o, negated=False)}
    kept = []
    for shape in operands:
        if isinstance(shape, tuple) and shape[:2] == ("BoolOp", "and") and len(shape) == 4:
            guard, compare = shape[2:]
            if (
                _is_null(guard, negated=True)
                and guard[1] in nulls
                and isinstance(compare, tuple)
                and compare[0] == "Compare"
                and compare[2] == guard[1]
            ):
                shape = compare
        kept.append(shape)
    return kept


def _is_null(shape: object, negated: bool) -> bool:
    """Whether a shape is `field is null` (`is not null` when negated)."""
    return (
        isinstance(shape, tuple)
        and shape[0] == "IsNull"
        and isinstance(shape[1], tuple)
        and shape[1][0] == "Field"
        and shape[2] is negated
    )


def _part(value: object) -> object:
    if isinstance(value, ast.Node):
        return _shape(value)
    if isinstance(value, tuple) and all(isinstance(v, ast.Node) for v in value):
        return tuple(map(_shape, value))
    return value
