"""The language reference (grammar/README.md) is complete and its examples are executed.

Fenced blocks marked ```prunerr hold one expression that must compile without any diagnostic;
```prunerr-error CODE blocks hold one that must produce CODE. Either may add `media=TYPE`.
Tables introduced by `<!-- reference-table: NAME -->` must list every core field, function and
diagnostic code, and agree with the implementation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files

import pytest

from prunerr.dsl import CODES, CORE, compile_condition
from prunerr.dsl.types import MEDIA_TYPE

DOC = (files("prunerr.grammar") / "README.md").read_text(encoding="utf-8")
LINES = DOC.splitlines()

_FENCE = re.compile(r"^```(\S*)(.*)$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Example:
    line: int  # 1-based line of the opening fence
    kind: str  # "prunerr" or "prunerr-error"
    code: str | None
    media: str | None
    text: str

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.code or 'ok'}"


def _examples() -> list[Example]:
    examples = []
    index = 0
    while index < len(LINES):
        fence = _FENCE.match(LINES[index])
        if not fence:
            index += 1
            continue
        lang, args = fence.group(1), fence.group(2).split()
        end = index + 1
        while end < len(LINES) and not LINES[end].startswith("```"):
            end += 1
        if lang in ("prunerr", "prunerr-error"):
            options = dict(arg.split("=", 1) for arg in args if "=" in arg)
            codes = [arg for arg in args if "=" not in arg]
            examples.append(
                Example(
                    line=index + 1,
                    kind=lang,
                    code=codes[0] if codes else None,
                    media=options.get("media"),
                    text="\n".join(LINES[index + 1 : end]),
                )
            )
        index = end + 1
    return examples


EXAMPLES = _examples()
VALID = [e for e in EXAMPLES if e.kind == "prunerr"]
FAILING = [e for e in EXAMPLES if e.kind == "prunerr-error"]


def _table(name: str) -> dict[str, list[str]]:
    """Rows of the table after `<!-- reference-table: NAME -->`, keyed by their first cell
    (without backticks); each row's cells are stripped."""
    marker = f"<!-- reference-table: {name} -->"
    assert marker in LINES, f"grammar/README.md has no {marker!r}"
    rows: dict[str, list[str]] = {}
    for line in LINES[LINES.index(marker) + 3 :]:  # skip the header and its rule
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in _CELL_SPLIT.split(line.strip())[1:-1]]
        key = cells[0].strip("`")
        assert key not in rows, f"{name} table lists `{key}` twice"
        rows[key] = cells
    return rows


def _diagnostics(example: Example):
    return compile_condition(example.text, CORE, example.media).diagnostics


def _media_cell(media: frozenset[str]) -> str:
    if media == frozenset(MEDIA_TYPE.values):
        return "all"
    return ", ".join(v for v in MEDIA_TYPE.values if v in media)


# --- completeness ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CORE.fields))
def test_every_core_field_has_a_row_in_the_fields_table(name):
    assert name in _table("fields"), f"field `{name}` is not documented"
    assert any(line.startswith(f"| `{name}` |") for line in LINES)


@pytest.mark.parametrize("name", sorted(CORE.functions))
def test_every_core_function_has_a_row_in_the_functions_table(name):
    assert name in _table("functions"), f"function `{name}` is not documented"
    assert any(line.startswith(f"| `{name}` |") for line in LINES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_diagnostic_code_has_a_row_in_the_codes_table(code):
    assert code in _table("codes"), f"diagnostic {code} is not documented"
    assert any(line.startswith(f"| `{code}` |") for line in LINES)


def test_reference_tables_name_nothing_the_implementation_lacks():
    assert set(_table("fields")) - set(CORE.fields) == set()
    assert set(_table("functions")) - set(CORE.functions) == set()
    assert set(_table("codes")) - set(CODES) == set()


def test_every_expression_diagnostic_has_an_executed_example():
    expression_codes = {c for c in CODES if c[0] in "EW"}
    assert expression_codes - {e.code for e in FAILING} == set()


# --- agreement with the implementation ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CORE.fields))
def test_field_rows_state_the_catalog_type_nullability_and_media(name):
    spec = CORE.fields[name]
    _, type_cell, nullable_cell, media_cell, description = _table("fields")[name]
    assert type_cell == f"`{spec.type.as_nullable(False)}`", f"type of `{name}`"
    assert nullable_cell == ("yes" if spec.type.nullable else "no"), f"nullability of `{name}`"
    assert media_cell == _media_cell(spec.media), f"media types of `{name}`"
    assert description, f"description of `{name}`"


@pytest.mark.parametrize("name", sorted(CORE.functions))
def test_function_rows_state_the_catalog_signature_and_return_type(name):
    spec = CORE.functions[name]
    _, signature, returns, description = _table("functions")[name]
    assert signature == f"`{spec.signature}`", f"signature of `{name}`"
    assert returns == f"`{spec.returns}`", f"return type of `{name}`"
    assert description, f"description of `{name}`"


@pytest.mark.parametrize("code", sorted(CODES))
def test_code_rows_state_the_severity(code):
    _, severity, meaning, example, fix = _table("codes")[code]
    assert severity == CODES[code][0], f"severity of {code}"
    assert meaning and example and fix, f"{code} needs a meaning, an example and a fix"


# --- executed examples -------------------------------------------------------------------------


def test_the_document_has_many_executed_examples():
    assert len(VALID) >= 80
    assert len(FAILING) >= 40


def test_example_fences_are_well_formed():
    assert sum(line.startswith("```") for line in LINES) % 2 == 0, "a fence is not closed"
    for example in EXAMPLES:
        assert example.text.strip(), f"line {example.line}: empty block"
        if example.kind == "prunerr":
            assert example.code is None, f"line {example.line}: use prunerr-error for a code"
        else:
            assert example.code in CODES, f"line {example.line}: unknown code {example.code}"
            assert f"# {example.code}" in example.text, f"line {example.line}: no `# CODE` comment"
        assert example.media in (None, *MEDIA_TYPE.values), f"line {example.line}: bad media"


@pytest.mark.parametrize("example", VALID, ids=lambda e: e.id)
def test_valid_examples_compile_without_diagnostics(example):
    diagnostics = _diagnostics(example)
    assert [(d.code, d.message) for d in diagnostics] == [], example.text


@pytest.mark.parametrize("example", FAILING, ids=lambda e: e.id)
def test_error_examples_produce_their_code(example):
    codes = [d.code for d in _diagnostics(example)]
    assert example.code in codes, f"{example.text!r} gave {codes}, not {example.code}"
