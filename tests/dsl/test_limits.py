"""Long and deeply nested conditions (issue 11).

Within the limits they check, compile and evaluate on both evaluators (the fast one and the
tracing one behind explanations), with the verdicts of a reference evaluator written here without
recursion; beyond them they are error E303 at the place where the limit is passed. Nothing raises,
in the main thread or in a worker thread with a small stack.
"""

from __future__ import annotations

import json
import random
import threading
import tracemalloc
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prunerr.dsl import CORE, UNKNOWN, EvalContext, compile_condition, limits
from prunerr.dsl.checker import check
from prunerr.dsl.compiler import CHUNK_HEIGHT, generate
from prunerr.dsl.explain import MAX_EXPLAINED_DEPTH
from prunerr.dsl.items import load_item
from prunerr.dsl.parser import parse

pytestmark = pytest.mark.slow


CTX = EvalContext(datetime(2026, 1, 1, tzinfo=UTC))
MAX_DEPTH = limits.MAX_DEPTH

# --- a reference: Kleene logic over known clause values, folded without recursion --------------


def kleene_and(values) -> object:
    values = list(values)
    if any(v is False for v in values):
        return False
    return UNKNOWN if any(v is UNKNOWN for v in values) else True


def kleene_or(values) -> object:
    values = list(values)
    if any(v is True for v in values):
        return True
    return UNKNOWN if any(v is UNKNOWN for v in values) else False


def kleene_not(value) -> object:
    return value if value is UNKNOWN else not value


# Clauses whose value on an item the reference knows: size is 30 GB, year 2000, rating.imdb absent.
ITEM = {"size": "30 GB", "year": 2000}
LEAVES = {True: "size > 20 GB", False: "size < 1 GB", UNKNOWN: "rating.imdb > 5"}


def item(fields: dict) -> dict:
    loaded, problems = load_item(fields, CORE)
    assert not problems, problems
    return loaded


def show(value: object) -> str:
    return "unknown" if value is UNKNOWN else repr(value)


def both(text: str, fields: dict, expected: object) -> None:
    """`text` compiles without errors and both evaluators give `expected` on the item."""
    compilation = compile_condition(text, media="movie")
    errors = [d for d in compilation.diagnostics if d.is_error]
    assert compilation.ok and not errors, [(d.code, d.message) for d in errors]
    program, loaded = compilation.program, item(fields)
    fast = program.evaluate(loaded, CTX)
    explanation = program.explain(loaded, CTX)
    assert fast is expected, f"fast: {show(fast)}, expected {show(expected)}"
    assert explanation.value is expected, f"traced: {show(explanation.value)}"
    json.dumps(explanation.as_dict())
    explanation.render()


def e303(text: str):
    compilation = compile_condition(text, media="movie")
    assert compilation.program is None
    (diagnostic,) = compilation.diagnostics
    assert diagnostic.code == "E303", diagnostic
    return diagnostic


# --- flat chains ---------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["and", "or"])
def test_a_10000_clause_chain_evaluates_like_the_reference(op):
    """One compiled chain, evaluated on items that make it true, false and unknown."""
    rnd = random.Random(op)
    kinds, bounds = [], []
    for _ in range(10_000):
        kinds.append("rating.imdb" if rnd.random() < 0.01 else "year")
        bounds.append(rnd.randint(1900, 1999) if kinds[-1] == "year" else rnd.randint(0, 4))
    cmp = ">" if op == "and" else "<"
    text = f" {op} ".join(f"{k} {cmp} {b}" for k, b in zip(kinds, bounds, strict=True))
    compilation = compile_condition(text, media="movie")
    assert compilation.ok, compilation.diagnostics[:1]
    program = compilation.program
    fold = kleene_and if op == "and" else kleene_or
    seen = set()
    for year, rating in ((1850, ...), (1950, 9), (2050, ...), (2050, None), (2050, 0), (2050, 9)):
        fields = {"year": year} | ({} if rating is ... else {"rating.imdb": rating})
        values = []
        for kind, bound in zip(kinds, bounds, strict=True):
            value = fields.get(kind)
            if value is None:  # absent or null: unknown
                values.append(UNKNOWN)
            else:
                values.append(value > bound if op == "and" else value < bound)
        expected = fold(values)
        loaded = item(fields)
        assert program.evaluate(loaded, CTX) is expected, (year, rating)
        assert program.explain(loaded, CTX).value is expected, (year, rating)
        seen.add(expected)
    assert seen == {True, False, UNKNOWN}


def test_chains_are_flat_in_the_generated_code():
    text = " and ".join(["size > 20 GB"] * 500)
    checked = check(parse(text), CORE, "movie")
    for trace in (False, True):
        _, source = generate(checked, CORE, trace=trace)
        assert _nesting(source) < 10


def test_compiling_a_long_chain_takes_memory_by_the_function_not_by_the_chain():
    """Python's compiler takes some 10 KB per clause it is given at once (58 MB for these 4,000
    in one piece); the generated functions are compiled one by one."""
    checked = check(parse(" or ".join(f"year < {i}" for i in range(4_000))), CORE, "movie")
    tracemalloc.start()
    try:
        generate(checked, CORE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000


# --- deep nesting --------------------------------------------------------------------------------


def _nested_and_or(depth: int, seed: int) -> tuple[str, dict[object, object]]:
    """`(leaf op (leaf op (... innermost)))` `depth` deep, with its value per item kind."""
    rnd = random.Random(seed)
    text, value = LEAVES[UNKNOWN], UNKNOWN
    for _ in range(depth):
        op = rnd.choice(["and", "or"])
        leaf = rnd.choice([True, True, False])
        text = f"({LEAVES[leaf]} {op} {text})"
        value = (kleene_and if op == "and" else kleene_or)([leaf, value])
    return text, value


N = 1000
DEEP = {
    "not": ("not " * N + "size > 20 GB", [({"size": "30 GB"}, True), ({}, UNKNOWN)]),
    "odd not": ("not " * (N + 1) + "size > 20 GB", [({"size": "30 GB"}, False)]),
    "and/or in parentheses": (_nested_and_or(N, 1)[0], [(ITEM, _nested_and_or(N, 1)[1])]),
    "not of parentheses": (
        "not (" * N + "size > 20 GB or year < 1990" + ")" * N,
        [(ITEM, True), ({"year": 1980}, True)],
    ),
    "additions": (
        "play_count" + " + play_count" * (N - 1) + f" == {3 * N}",
        [({"play_count": 3}, True), ({"play_count": 2}, False), ({}, UNKNOWN)],
    ),
    "products": (
        "(" * N + "play_count" + " * 1)" * N + " == 3",
        [({"play_count": 3}, True), ({}, UNKNOWN)],
    ),
    "defaults": (
        "rating.imdb" + " ?? rating.imdb" * (N - 1) + " ?? 7 > 6",
        [({"rating.imdb": None}, True), ({"rating.imdb": 5}, False), ({}, UNKNOWN)],
    ),
    "calls": (
        "lower(" * N + "title" + ")" * N + ' == "alien"',
        [({"title": "ALIEN"}, True), ({"title": "Bob"}, False), ({}, UNKNOWN)],
    ),
    "negations": (
        "-(" * N + "play_count" + ")" * N + " == 3",
        [({"play_count": 3}, True), ({"play_count": -3}, False)],
    ),
    "lists": (
        "count(" + "[" * limits.MAX_LIST_DEPTH + "title" + "]" * limits.MAX_LIST_DEPTH + ") == 1",
        [({"title": "Alien"}, True), ({}, UNKNOWN)],
    ),
    "call of a deep argument": (
        "days_since(" + "(" * N + "added" + " + 1 day)" * N + ") < 0",
        [({"added": "2025-12-01"}, True), ({"added": "2020-01-01"}, False)],
    ),
}


@pytest.mark.parametrize("name", DEEP)
def test_1000_deep_nesting_evaluates_like_the_reference(name):
    text, cases = DEEP[name]
    for fields, expected in cases:
        both(text, fields, expected)


def test_the_deepest_condition_allowed_works_in_a_worker_thread_with_a_small_stack():
    """Nothing recurses with the depth of the condition: 1 MiB of stack (an eighth of a usual
    thread's; Python 3.13's frames need more than 3.11's 256 KiB) is plenty."""
    texts = [
        "not " * (MAX_DEPTH - 2) + "size > 20 GB",  # the comparison and `size` are two levels
        "play_count" + " + play_count" * (MAX_DEPTH - 2) + " > 1",
        "(" * (MAX_DEPTH - 2) + "size > 20 GB" + " or size < 1 GB)" * (MAX_DEPTH - 2),
    ]
    outcomes: list[object] = []

    def run() -> None:
        for text in texts:
            try:
                program = compile_condition(text, media="movie").program
                loaded = item({"size": "30 GB", "play_count": 3})
                explanation = program.explain(loaded, CTX)
                json.dumps(explanation.as_dict())
                explanation.render()
                outcomes.append((program.evaluate(loaded, CTX), explanation.value))
            except Exception as exc:  # reported below, in the test's own thread
                outcomes.append(exc)

    previous = threading.stack_size(1024 * 1024)
    try:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(previous)
    assert outcomes == [(True, True)] * len(texts)


def _nesting(source: str) -> int:
    depth = deepest = 0
    for ch in source:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


@pytest.mark.parametrize("name", DEEP)
def test_generated_code_nests_a_bounded_amount_however_deep_the_condition(name):
    """Python's parser stops at 200 nested parentheses; a function holds CHUNK_HEIGHT levels."""
    checked = check(parse(DEEP[name][0]), CORE, "movie")
    assert checked.ok
    for trace in (False, True):
        _, source = generate(checked, CORE, trace=trace)
        assert _nesting(source) <= 5 * CHUNK_HEIGHT + 10


def test_explanations_show_the_first_levels_of_a_deep_condition():
    program = compile_condition("not " * N + "size > 20 GB", media="movie").program
    explanation = program.explain(item({"size": "30 GB"}), CTX)
    depth, node = 1, explanation
    while node.children:
        (node,) = node.children
        depth += 1
    assert depth == MAX_EXPLAINED_DEPTH
    # the 100th `not` shows its value (901 `not` of a true comparison), not its parts
    assert node.shown == "false" and node.text.startswith("not not")
    assert len(explanation.render().splitlines()) == MAX_EXPLAINED_DEPTH


# --- random deep and wide trees -------------------------------------------------------------------

VALUES = st.sampled_from([True, False, UNKNOWN])
STEP = st.tuples(
    st.sampled_from(["not", "and", "or", "parentheses"]),
    st.lists(VALUES, max_size=2),
    st.lists(VALUES, max_size=2),
)


@settings(max_examples=40, deadline=None)
@given(
    innermost=st.sampled_from(["and", "or"]),
    chain=st.lists(VALUES, min_size=67, max_size=90),
    steps=st.lists(STEP, max_size=90),
)
def test_deep_and_wide_conditions_evaluate_like_the_reference(innermost, chain, steps):
    """A chain of 67 to 90 clauses (the old compiler stopped at 66), wrapped in up to 90 levels
    of `not`, `and`, `or` and parentheses (it stopped at 64)."""
    text = f" {innermost} ".join(LEAVES[v] for v in chain)
    value = (kleene_and if innermost == "and" else kleene_or)(chain)
    for op, before, after in steps:
        if op == "not":
            text, value = f"not ({text})", kleene_not(value)
        elif op == "parentheses":
            text = f"({text})"
        else:
            parts = [*(LEAVES[v] for v in before), f"({text})", *(LEAVES[v] for v in after)]
            text = f" {op} ".join(parts)
            value = (kleene_and if op == "and" else kleene_or)([*before, value, *after])
    both(text, ITEM, value)


# --- beyond the limits: E303 where the limit is passed -------------------------------------------


def test_nesting_one_level_too_deep_is_e303_at_the_first_node_too_deep():
    ok = "not " * (MAX_DEPTH - 2) + "size > 20 GB"
    assert compile_condition(ok, media="movie").ok
    too_deep = "not " * (MAX_DEPTH - 1) + "size > 20 GB"
    diagnostic = e303(too_deep)
    start = len("not " * (MAX_DEPTH - 1))
    assert diagnostic.span == (start, start + len("size"))
    assert f"{MAX_DEPTH:,} levels" in diagnostic.message
    assert "`a and b and c`" in diagnostic.hint


def test_parenthesised_and_or_one_level_too_deep_is_e303():
    def nested(levels: int) -> str:
        return "(protected and " * levels + "year > 1990" + ")" * levels

    assert compile_condition(nested(MAX_DEPTH - 2), media="movie").ok
    text = nested(MAX_DEPTH - 1)  # the innermost comparison's `year` is one level too deep
    start = text.index("year")
    assert e303(text).span == (start, start + len("year"))


def test_a_condition_one_character_too_long_is_e303_before_it_is_parsed():
    text = "size > 20 GB" + " " * (limits.MAX_LENGTH - len("size > 20 GB")) + "x"
    diagnostic = e303(text)
    assert diagnostic.span == (limits.MAX_LENGTH, limits.MAX_LENGTH + 1)
    assert "500,000 characters" in diagnostic.message and diagnostic.hint
    assert compile_condition(text[:-1], media="movie").ok


def test_one_sub_expression_too_many_is_e303_at_that_one(monkeypatch):
    monkeypatch.setattr(limits, "MAX_NODES", 10)
    assert compile_condition("size > 1 GB and size > 2 GB and size > 3 GB").ok  # 10 nodes
    text = "size > 1 GB and size > 2 GB and size > 3 GB and protected"
    diagnostic = e303(text)
    assert diagnostic.span == (text.index("protected"), len(text))
    assert "more than 10 sub-expressions" in diagnostic.message


def test_lists_nested_one_level_too_deep_are_e303_at_the_innermost():
    depth = limits.MAX_LIST_DEPTH + 1
    text = "count(" + "[" * depth + "title" + "]" * depth + ") == 1"
    diagnostic = e303(text)
    start = len("count(") + depth - 1
    assert diagnostic.span == (start, start + len("[title]"))


@pytest.mark.parametrize(
    "text",
    [
        "not " * 5_000 + "size > 20 GB",
        "(" * 5_000 + "size > 20 GB" + " and year > 1990)" * 5_000,
        "-" * 5_000 + "play_count < 5",
        "count(" + "[" * 5_000 + "title" + "]" * 5_000 + ") == 1",
        "lower(" * 5_000 + "title" + ")" * 5_000 + ' == "a"',
    ],
    ids=["not", "and in parentheses", "minus", "lists", "calls"],
)
def test_far_beyond_the_limits_is_a_diagnostic_not_a_crash(text):
    assert e303(text).span[0] > 0
