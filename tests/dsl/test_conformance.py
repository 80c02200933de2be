"""The language conformance corpus: grammar/corpus/valid.yaml and grammar/corpus/invalid.yaml.

Each valid case must compile without errors, load its item without problems and evaluate to the
expected value with both the fast evaluator and the tracing one behind explanations. Each invalid
case must produce the expected diagnostic code at the expected line and column.
"""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files

import jsonschema
import pytest
import yaml

from prunerr.dsl import CODES, CORE, UNKNOWN, EvalContext, compile_condition
from prunerr.dsl.items import load_item

CORPUS = files("prunerr.grammar") / "corpus"
DEFAULT_NOW = "2026-01-01T00:00:00Z"
EXPECTED = {True: True, False: False, "unknown": UNKNOWN}


def _load(name: str) -> list[dict]:
    cases = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    assert isinstance(cases, list), f"{name} must be a list of cases"
    return cases


VALID = _load("valid.yaml")
INVALID = _load("invalid.yaml")


def _case_id(index: int, case: dict) -> str:
    expr = " ".join(str(case.get("expr", "")).split())
    if len(expr) > 60:
        expr = expr[:57] + "..."
    return f"{index:03d}: {expr or '<empty>'}"


def _params(cases: list[dict]) -> list:
    return [pytest.param(case, id=_case_id(i, case)) for i, case in enumerate(cases, 1)]


def _show(value: object) -> str:
    return "unknown" if value is UNKNOWN else repr(value)


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset into `text`."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _describe(text: str, diagnostics) -> str:
    rows = []
    for d in diagnostics:
        line, column = _line_column(text, d.span[0])
        rows.append(f"  {d.code} at {line}:{column} {d.span}: {d.message} (hint: {d.hint})")
    return "\n".join(rows) or "  (no diagnostics)"


# --- the corpus files themselves ---------------------------------------------------------------


def case_schema(required: dict, optional: dict, minimum: int) -> dict:
    """The JSON Schema of a corpus file: a list of at least `minimum` cases of these keys."""
    return {
        "type": "array",
        "minItems": minimum,
        "items": {
            "type": "object",
            "properties": {**required, **optional},
            "required": list(required),
            "additionalProperties": False,
        },
    }


POSITION = {"type": "integer", "minimum": 1}
CORPUS_SCHEMAS = {
    "valid.yaml": (
        VALID,
        case_schema(
            {
                "expr": {"type": "string"},
                "item": {"type": "object"},
                "expect": {"enum": [*EXPECTED]},
            },
            {"now": {}, "media": {"type": "string"}},  # now: YAML may read it as a datetime
            minimum=150,
        ),
    ),
    "invalid.yaml": (
        INVALID,
        case_schema(
            {
                "expr": {"type": "string"},
                "code": {"enum": sorted(CODES)},
                "line": POSITION,
                "column": POSITION,
            },
            {"media": {"type": "string"}, "hint_contains": {"type": "string"}},
            minimum=60,
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CORPUS_SCHEMAS))
def test_every_case_of_a_corpus_file_has_its_keys_and_types(name):
    cases, schema = CORPUS_SCHEMAS[name]
    errors = jsonschema.Draft202012Validator(schema).iter_errors(cases)
    problems = [f"case {e.path[0] + 1}: {e.message}" if e.path else e.message for e in errors]
    assert problems == [], f"{name}:\n" + "\n".join(problems)


def test_invalid_corpus_covers_every_expression_code():
    wanted = {code for code in CODES if code[0] in "EW"}
    covered = {case["code"] for case in INVALID}
    assert wanted <= covered, f"no invalid case for {sorted(wanted - covered)}"


# --- running the cases ------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(VALID))
def test_valid(case):
    text = case["expr"]
    compilation = compile_condition(text, media=case.get("media"))
    errors = [d for d in compilation.diagnostics if d.is_error]
    assert compilation.program is not None and not errors, (
        f"{text!r} does not compile:\n{_describe(text, compilation.diagnostics)}"
    )
    item, problems = load_item(case["item"], CORE)
    assert not problems, f"item problems: {problems}"
    now = datetime.fromisoformat(str(case.get("now", DEFAULT_NOW)).replace("Z", "+00:00"))
    ctx = EvalContext(now=now)
    expected = EXPECTED[case["expect"]]

    fast = compilation.program.evaluate(item, ctx)
    traced = compilation.program.explain(item, ctx).value
    assert fast is expected, f"fast evaluator: {_show(fast)}, expected {_show(expected)}"
    assert traced is expected, f"tracing evaluator: {_show(traced)}, expected {_show(expected)}"


@pytest.mark.parametrize("case", _params(INVALID))
def test_invalid(case):
    text = case["expr"]
    compilation = compile_condition(text, media=case.get("media"))
    code, where = case["code"], (case["line"], case["column"])
    found = [
        d
        for d in compilation.diagnostics
        if d.code == code and _line_column(text, d.span[0]) == where
    ]
    assert found, f"expected {code} at {where[0]}:{where[1]} in {text!r}, got:\n" + _describe(
        text, compilation.diagnostics
    )
    if "hint_contains" in case:
        hints = [d.hint or "" for d in found]
        assert any(case["hint_contains"] in h for h in hints), f"hints: {hints}"
    if found[0].is_error:
        assert compilation.program is None
    else:  # a warning: the condition still compiles
        errors = [d for d in compilation.diagnostics if d.is_error]
        assert compilation.program is not None and not errors, _describe(
            text, compilation.diagnostics
        )
