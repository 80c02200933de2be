"""Property-based tests of the rule language.

(a) Any text compiles to a program or to diagnostics; `compile_condition` never raises.
(b) Well-typed expressions generated from the field catalog, evaluated on generated items, never
    raise, and the fast evaluator agrees with the tracing one behind explanations.
(c) Kleene laws hold on generated items.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prunerr.dsl import CODES, CORE, UNKNOWN, EvalContext, compile_condition
from prunerr.dsl.items import load_item
from prunerr.dsl.types import ENUMS, Kind, Type
from prunerr.dsl.units import DURATION_UNITS, SIZE_UNITS

pytestmark = pytest.mark.slow


# Sized to keep each test within a few seconds.
TEXT_SETTINGS = settings(max_examples=1000, deadline=None)
EVAL_SETTINGS = settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
RESULTS = (True, False, UNKNOWN)

# --- helpers --------------------------------------------------------------------------------------


def tag(t: Type) -> str:
    """A generator key for a type, ignoring nullability: `number`, `enum:hdr`, `list:string`."""
    if t.kind is Kind.ENUM:
        return f"enum:{t.enum.name}"
    if t.kind is Kind.LIST:
        return f"list:{t.elem.kind.value}"
    return t.kind.value


FIELDS: dict[str, list[str]] = {}
for _spec in CORE.fields.values():
    FIELDS.setdefault(tag(_spec.type), []).append(_spec.name)

ORDERED = ("number", "string", "size", "duration", "datetime")
SCALARS = (*ORDERED, "bool", "list:string", *(f"enum:{name}" for name in ENUMS))

# Strings chosen so that comparisons hit: case, composed/decomposed accents, NFKC, casefold.
WORDS = (
    "Alien", "alien", "ALIEN", "Am\u00e9lie", "Ame\u0301lie", "AMELIE", "Drama", "drama",
    "Thriller", "The Thing", "the ", "A24", "a", "", "\ufb01lm", "film", "Stra\u00dfe", "STRASSE",
    'Say "hi"', "back\\slash", "tab\there", "\U0001f600",
)  # fmt: skip
USERS = ("alice", "Alice", "bob", "carol")
PATTERNS = ('"^the "', r'"\d+"', r'"\\d{2}"', '""', '"drama$"', '"(?i)ali|ami"', '"\u00e9"')
OPS = ("==", "!=", "<", "<=", ">", ">=")


def dsl_string(text: str) -> str:
    """`text` as a double-quoted string literal of the language."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '"'


def check_diagnostics(text: str, compilation) -> None:
    assert compilation is not None
    for d in compilation.diagnostics:
        assert d.code in CODES, d
        assert 0 <= d.span[0] <= d.span[1] <= max(len(text), 1), (d, len(text))
    errors = [d for d in compilation.diagnostics if d.is_error]
    if compilation.program is None:
        assert errors, "no program and no error"
    else:
        assert not errors, errors


def evaluate_both(program, item: dict, ctx: EvalContext) -> object:
    """The fast and the tracing results, which must agree; rendering must not fail either."""
    fast = program.evaluate(item, ctx)
    explanation = program.explain(item, ctx)
    assert any(fast is r for r in RESULTS), fast
    assert explanation.value is fast, (fast, explanation.value)
    explanation.render()
    explanation.as_dict()
    return fast


# --- (a) arbitrary text ---------------------------------------------------------------------------

SYMBOLS = (
    "==", "!=", "<", "<=", ">", ">=", "=", "+", "-", "*", "/", "??", "(", ")", "[", "]", ",", "!",
    "&&", "||", "#", ".", "'", '"',
)  # fmt: skip
KEYWORDS = (
    "and", "or", "not", "in", "not in", "contains", "contains any", "contains all", "starts with",
    "ends with", "matches", "is null", "is not null", "AND", "Or", "NOT", "null", "true", "false",
    "now", "today", "ago", "from now", "from", "any", "all", "with", "is", "# comment\n", "\n",
)  # fmt: skip
TOKENS = st.one_of(
    st.sampled_from(sorted(CORE.fields)),
    st.sampled_from([f"{name}(" for name in CORE.functions]),
    st.sampled_from([*SYMBOLS, *KEYWORDS]),
    st.integers(min_value=-(10**3), max_value=10**400).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.tuples(
        st.integers(0, 10**6), st.sampled_from([*SIZE_UNITS, *DURATION_UNITS, "m", "gigs"])
    ).map(lambda t: f"{t[0]} {t[1]}"),
    st.sampled_from(["9" * 400 + " GB", "9" * 400 + " years", "9" * 400 + ".5", "1e5", "5m"]),
    st.dates().map(str),
    st.sampled_from(["2024-02-30", "2024-13-01", "2024-01-01T25:00Z", "2024-01-01T10:00+0200"]),
    st.sampled_from(WORDS).map(dsl_string),
    st.sampled_from(
        [r'"\u00e"', r'"\U00110000"', r'"\ud800"', r'"\q"', '"(?<!x)"', '"(a"', '"[a-"', "'it\\'s'"]
    ),
    st.sampled_from(PATTERNS),
)


@st.composite
def mutated(draw) -> str:
    """A valid condition with a few tokens inserted, deleted or replaced: text that gets past the
    parser more often than token soup does, and so reaches the checker and the compiler."""
    parts = [p for p in re.split(r"(\s+|[()\[\],])", draw(expr("bool", 2))) if p]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(parts)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert" or not parts:
            parts.insert(i, f" {draw(TOKENS)} ")
        elif action == "delete":
            del parts[min(i, len(parts) - 1)]
        else:
            parts[min(i, len(parts) - 1)] = f" {draw(TOKENS)} "
    return "".join(parts)


@TEXT_SETTINGS
@given(st.text(max_size=80))
def test_any_text_compiles_or_diagnoses(text):
    check_diagnostics(text, compile_condition(text))


@TEXT_SETTINGS
@given(
    st.lists(TOKENS, max_size=14),
    st.lists(st.sampled_from([" ", "", "\n", "  ", "\t"]), min_size=14, max_size=14),
    st.sampled_from([None, "movie", "show", "season", "episode"]),
)
def test_token_soup_compiles_or_diagnoses(tokens, separators, media):
    text = "".join(tok + sep for tok, sep in zip(tokens, separators, strict=False))
    compilation = compile_condition(text, media=media)
    check_diagnostics(text, compilation)
    if compilation.program is not None:  # every field unknown
        evaluate_both(compilation.program, {}, EvalContext(datetime(2026, 1, 1, tzinfo=UTC)))


@EVAL_SETTINGS
@given(mutated(), st.sampled_from([None, "movie", "show", "season", "episode"]), st.data())
def test_mutated_conditions_compile_or_diagnose(text, media, data):
    compilation = compile_condition(text, media=media)
    check_diagnostics(text, compilation)
    if compilation.program is not None:
        ctx = data.draw(CONTEXTS)
        evaluate_both(compilation.program, {}, ctx)
        evaluate_both(compilation.program, loaded(data.draw(ITEMS)), ctx)


# --- (b) well-typed expressions -------------------------------------------------------------------


def literal(t: str) -> st.SearchStrategy[str]:
    if t == "number":
        return st.one_of(
            st.integers(-50, 3000).map(str),
            st.decimals(0, 1000, places=2, allow_nan=False).map(lambda d: f"{d:f}"),
        )
    if t == "string":
        return st.sampled_from(WORDS).map(dsl_string)
    if t == "size":
        return st.tuples(st.integers(0, 2000), st.sampled_from(sorted(SIZE_UNITS))).map(
            lambda p: f"{p[0]} {p[1]}"
        )
    if t == "duration":
        return st.tuples(
            st.decimals(0, 500, places=1).map(lambda d: f"{d:f}"),
            st.sampled_from(sorted(DURATION_UNITS)),
        ).map(lambda p: f"{p[0]} {p[1]}")
    if t == "datetime":
        return st.one_of(
            st.sampled_from(["now", "today"]),
            st.dates(datetime(2000, 1, 1).date(), datetime(2030, 12, 31).date()).map(str),
            st.sampled_from(["2025-06-15T12:30:00Z", "2025-06-15T12:30+02:00", "2024-02-29T23:59"]),
        )
    if t == "bool":
        return st.sampled_from(["true", "false"])
    if t == "list:string":
        return st.lists(st.sampled_from(WORDS).map(dsl_string), max_size=3).map(
            lambda items: "[" + ", ".join(items) + "]"
        )
    if t.startswith("enum:"):  # any case: enum values match case-insensitively
        values = ENUMS[t[5:]].values
        return st.sampled_from([*values, *(v.upper() for v in values)]).map(dsl_string)
    raise AssertionError(t)


def fmt(template: str, *parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map(lambda args: template.format(*args))


@cache
def expr(t: str, depth: int) -> st.SearchStrategy[str]:
    """Expressions of type tag `t` (possibly nullable), nested at most `depth` levels."""
    # A string literal is a string, so an enum's leaves are its fields.
    leaves = [] if t.startswith("enum:") else [literal(t)]
    if t in FIELDS:
        leaves.append(st.sampled_from(FIELDS[t]))
    if depth == 0:
        return st.one_of(leaves)
    sub = lambda u: expr(u, depth - 1)  # noqa: E731
    n, s, sz, d, dt = sub("number"), sub("string"), sub("size"), sub("duration"), sub("datetime")
    compound: list[st.SearchStrategy[str]] = []
    if t == "number":
        compound += [fmt(f"({{}} {op} {{}})", n, n) for op in "+-*/"]
        compound += [
            fmt("-({})", n), fmt("({} ?? {})", n, n), fmt("count({})", sub("list:string")),
            fmt("days_since({})", dt), fmt("plays_by({})", s), fmt("({} / {})", sz, sz),
            fmt("({} / {})", d, d),
        ]  # fmt: skip
    elif t == "size":
        compound += [
            fmt("({} + {})", sz, sz), fmt("({} - {})", sz, sz), fmt("({} * {})", sz, n),
            fmt("({} * {})", n, sz), fmt("({} / {})", sz, n), fmt("-({})", sz),
            fmt("({} ?? {})", sz, sz),
        ]  # fmt: skip
    elif t == "duration":
        compound += [
            fmt("({} + {})", d, d), fmt("({} - {})", d, d), fmt("({} * {})", d, n),
            fmt("({} * {})", n, d), fmt("({} / {})", d, n), fmt("({} - {})", dt, dt),
            fmt("-({})", d), fmt("({} ?? {})", d, d),
        ]  # fmt: skip
    elif t == "datetime":
        compound += [
            fmt("({}) ago", d), fmt("({}) from now", d), fmt("({} + {})", dt, d),
            fmt("({} - {})", dt, d), fmt("({} + {})", d, dt), fmt("last_watched_by({})", s),
            fmt("({} ?? {})", dt, dt),
        ]  # fmt: skip
    elif t == "string":
        compound += [
            fmt("lower({})", s),
            fmt("({} ?? {})", s, s),
            fmt("lower({})", sub("enum:hdr")),
        ]
    elif t == "list:string":
        compound.append(st.lists(s, min_size=1, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"))
    elif t.startswith("enum:"):
        compound += [fmt("({} ?? {})", sub(t), literal(t)), fmt("({} ?? {})", sub(t), sub(t))]
    elif t == "bool":
        compound += boolean(depth)
    return st.one_of(*leaves, *compound)


def boolean(depth: int) -> list[st.SearchStrategy[str]]:
    """Conditions, in groups of equal weight: ordering, membership, null tests, enums, lists,
    strings, and logic (with the boolean function)."""
    sub = lambda u: expr(u, depth - 1)  # noqa: E731
    b, s, lst = sub("bool"), sub("string"), sub("list:string")
    # Beside an enum, a string literal must be one of its values (E202): use fields there.
    s_field, lst_field = st.sampled_from(FIELDS["string"]), st.sampled_from(FIELDS["list:string"])
    ops, eq = st.sampled_from(OPS), st.sampled_from(("==", "!="))
    patterns = st.sampled_from(PATTERNS)
    ordering = [fmt("({} {} {})", sub(t), ops, sub(t)) for t in ORDERED]
    membership = [fmt("({} in [{}, {}, null])", sub(t), sub(t), literal(t)) for t in ORDERED]
    membership += [fmt("({} in {})", s, lst), fmt("({} not in {})", s, lst)]
    nulls = [
        fmt("({} {})", sub(t), st.sampled_from(["is null", "is not null", "== null", "!= null"]))
        for t in SCALARS
    ]
    enums = []
    for name, enum in ENUMS.items():
        t = f"enum:{name}"
        cmp = ops if enum.ordered else eq
        enums += [
            fmt("({} {} {})", sub(t), cmp, literal(t)),
            fmt("({} {} {})", literal(t), cmp, sub(t)),
            fmt("({} {} {})", sub(t), cmp, sub(t)),
            fmt("({} == {})", sub(t), s_field),
            fmt("({} in [{}, {}])", sub(t), literal(t), literal(t)),
            fmt("({} not in [{}, null])", sub(t), literal(t)),
            fmt("({} in {})", sub(t), lst_field),
            fmt("({} starts with {})", sub(t), s),
            fmt("({} matches {})", sub(t), patterns),
        ]
    lists = [
        fmt("({} {} {})", lst, eq, lst),
        fmt("({} contains {})", lst, s),
        fmt("({} contains any {})", lst, lst),
        fmt("({} contains all {})", lst, lst),
        fmt("({} matches {})", lst_field, patterns),
    ]
    strings = [
        fmt("({} {} {})", s, st.sampled_from(["contains", "starts with", "ends with"]), s),
        fmt("({} {} {})", s, st.sampled_from(["contains any", "contains all"]), lst),
        fmt("({} matches {})", s, patterns),
    ]
    logic = [
        fmt("({} {} {})", b, eq, b),
        fmt("(not {})", b),
        fmt("({} and {})", b, b),
        fmt("({} or {})", b, b),
        fmt("({} and {} or {})", b, b, b),
        fmt("watched_by_user({})", s),
    ]
    groups = (ordering, membership, nulls, enums, lists, strings, logic)
    return [st.one_of(group) for group in groups]


CONDITIONS = expr("bool", 3)

# --- generated items ------------------------------------------------------------------------------

DATETIMES = st.datetimes(datetime(2000, 1, 1), datetime(2030, 12, 31))


def value(t: Type) -> st.SearchStrategy[object]:
    """A value as a person writes it in an item."""
    k = t.kind
    if k is Kind.BOOL:
        return st.booleans()
    if k is Kind.NUMBER:
        return st.one_of(st.integers(-50, 3000), st.floats(0, 1000, allow_nan=False))
    if k is Kind.STRING:
        return st.one_of(st.sampled_from(WORDS), st.text(max_size=6))
    if k is Kind.SIZE:
        return st.one_of(
            st.integers(0, 10**13),
            st.tuples(st.integers(0, 2000), st.sampled_from(sorted(SIZE_UNITS))).map(
                lambda p: f"{p[0]} {p[1]}"
            ),
        )
    if k is Kind.DURATION:
        return st.one_of(st.integers(0, 10**6), st.sampled_from(["95 min", "2 h", "1.5 d"]))
    if k is Kind.DATETIME:
        return st.one_of(
            DATETIMES.map(lambda v: v.isoformat() + "Z"),
            DATETIMES.map(lambda v: v.date().isoformat()),
        )
    if k is Kind.ENUM:
        return st.sampled_from(t.enum.values)
    if k is Kind.LIST:
        return st.lists(st.sampled_from(WORDS), max_size=4)
    if k is Kind.WATCHES:
        entry = st.fixed_dictionaries(
            {},
            optional={
                "plays": st.integers(0, 5),
                "last_watched": st.one_of(st.none(), DATETIMES.map(lambda v: v.isoformat())),
            },
        )
        return st.dictionaries(st.sampled_from(USERS), entry, max_size=3)
    raise AssertionError(t)


def field_value(t: Type) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), value(t)) if t.nullable else value(t)


# Each field absent (unknown), null where nullable, or a valid value.
ITEMS = st.fixed_dictionaries(
    {}, optional={name: field_value(spec.type) for name, spec in CORE.fields.items()}
)
CONTEXTS = st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)).map(
    lambda now: EvalContext(now=now.replace(tzinfo=UTC))
)


def loaded(raw: dict) -> dict:
    item, problems = load_item(raw, CORE)
    assert not problems, problems
    return item


def compiled(text: str):
    """The program of a generated condition: only a constant condition may be rejected."""
    compilation = compile_condition(text)
    errors = [d for d in compilation.diagnostics if d.is_error]
    assert all(d.code == "E302" for d in errors), (text, errors)
    assume(compilation.program is not None)
    return compilation.program


@EVAL_SETTINGS
@given(CONDITIONS, ITEMS, CONTEXTS)
def test_well_typed_conditions_evaluate_alike_fast_and_traced(text, raw, ctx):
    program = compiled(text)
    evaluate_both(program, loaded(raw), ctx)
    evaluate_both(program, {}, ctx)  # everything unknown


# --- (c) Kleene laws ------------------------------------------------------------------------------

OPERANDS = expr("bool", 2)


@EVAL_SETTINGS
@given(OPERANDS, OPERANDS, ITEMS, CONTEXTS)
def test_de_morgan(a, b, raw, ctx):
    item = loaded(raw)
    pairs = [
        (f"not ({a} and {b})", f"(not {a}) or (not {b})"),
        (f"not ({a} or {b})", f"(not {a}) and (not {b})"),
    ]
    for left, right in pairs:
        assert evaluate_both(compiled(left), item, ctx) is evaluate_both(
            compiled(right), item, ctx
        ), (left, right)


@EVAL_SETTINGS
@given(OPERANDS, ITEMS, CONTEXTS)
def test_excluded_middle_is_never_false(a, raw, ctx):
    item = loaded(raw)
    value_a = evaluate_both(compiled(a), item, ctx)
    either = evaluate_both(compiled(f"{a} or not {a}"), item, ctx)
    both = evaluate_both(compiled(f"{a} and not {a}"), item, ctx)
    assert either is not False and both is not True
    # unknown exactly when A is unknown
    assert (either is UNKNOWN) == (value_a is UNKNOWN) == (both is UNKNOWN)
    assert evaluate_both(compiled(f"not not {a}"), item, ctx) is value_a
