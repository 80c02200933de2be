"""Rule tests: `NAME.test.yaml` beside `NAME.yaml`, with a fixed `now` and cases of
`item` + `expect: match | no_match | unknown`. A field absent from an item is unknown; an
explicit null is null. Items are checked against the field catalog before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from prunerr.dsl import CORE, UNKNOWN, Catalog, Diagnostic, EvalContext, SourceMap
from prunerr.dsl.diagnostics import Located
from prunerr.dsl.explain import Explanation
from prunerr.dsl.items import load_item
from prunerr.dsl.runtime import parse_datetime

from .model import RULE_SUFFIXES, TEST_SUFFIXES, Rule, discover, is_test_file, load_rule
from .yamlsource import YamlDoc, load_yaml

EXPECTATIONS = ("match", "no_match", "unknown")
TEST_KEYS = ("now", "cases")
CASE_KEYS = ("name", "description", "item", "expect")


def outcome(value: object) -> str:
    return "unknown" if value is UNKNOWN else "match" if value is True else "no_match"


@dataclass
class CaseResult:
    rule_id: str
    case: str
    expected: str
    actual: str
    explanation: Explanation | None = None

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


@dataclass
class TestRun:
    results: list[CaseResult] = field(default_factory=list)
    diagnostics: list[Located] = field(default_factory=list)
    broken_files: int = 0  # test files that could not run at all

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return sum(not r.passed for r in self.results) + self.broken_files

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not any(d.diagnostic.is_error for d in self.diagnostics)


@dataclass
class Case:
    name: str
    item: dict
    expect: str


def _rule_stem(test_path: Path) -> str:
    name = test_path.name
    for suffix in TEST_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def rule_file_for(test_path: Path) -> Path | None:
    """The rule a test file tests: `NAME.yaml` (or `.yml`) beside `NAME.test.yaml`."""
    for suffix in RULE_SUFFIXES:
        candidate = test_path.with_name(_rule_stem(test_path) + suffix)
        if candidate.exists():
            return candidate
    return None


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, str | date):
        try:
            return datetime.fromtimestamp(parse_datetime(value), UTC)
        except ValueError:
            return None
    return None


def load_cases(
    doc: YamlDoc, catalog: Catalog, media: str | None = None
) -> tuple[EvalContext | None, list[Case], list[Located]]:
    """Read and check a test file: its `now`, and each case's item against the catalog (and the
    rule's media type, when known)."""
    problems: list[Located] = []

    def report(code: str, node: yaml.Node | None, message: str, hint: str | None = None):
        span = doc.span(node) if node is not None else (0, 1)
        problems.append(doc.source.locate(Diagnostic(code, message, span, hint)))

    if not isinstance(doc.root, yaml.MappingNode):
        report("T001", doc.root, "a test file is a mapping with `now` and `cases`")
        return None, [], problems
    top = {key: (k, v) for key, k, v in doc.mapping(doc.root)}
    for key, (key_node, _) in top.items():
        if key not in TEST_KEYS:
            report("T001", key_node, f"unknown key `{key}` (expected {', '.join(TEST_KEYS)})")
    ctx = None
    if "now" not in top:
        report("T001", None, "missing `now`: tests run at a fixed time, e.g. `now: 2026-01-01`")
    else:
        now = _timestamp(doc.value(top["now"][1]))
        if now is None:
            report("T001", top["now"][1], "`now` must be an ISO-8601 date or datetime")
        else:
            ctx = EvalContext(now)
    cases_node = top.get("cases", (None, None))[1]
    if not isinstance(cases_node, yaml.SequenceNode) or not cases_node.value:
        report("T001", cases_node, "`cases` must be a non-empty list")
        return ctx, [], problems

    cases = []
    for index, case_node in enumerate(cases_node.value, 1):
        if not isinstance(case_node, yaml.MappingNode):
            report("T001", case_node, "a case is a mapping with `name`, `item` and `expect`")
            continue
        entries = {key: (k, v) for key, k, v in doc.mapping(case_node)}
        for key, (key_node, _) in entries.items():
            if key not in CASE_KEYS:
                report("T001", key_node, f"unknown key `{key}` (expected {', '.join(CASE_KEYS)})")
        name = str(doc.value(entries["name"][1])) if "name" in entries else f"case {index}"
        expect_node = entries.get("expect", (None, case_node))[1]
        expect = doc.value(expect_node) if "expect" in entries else None
        if expect not in EXPECTATIONS:
            report(
                "T001", expect_node, f"{name}: `expect` must be one of {', '.join(EXPECTATIONS)}"
            )
            continue
        if "item" not in entries or not isinstance(entries["item"][1], yaml.MappingNode):
            report(
                "T001",
                entries.get("item", (None, case_node))[1],
                f"{name}: `item` must be a mapping of field names to values",
            )
            continue
        item_node = entries["item"][1]
        item, item_problems = load_item(doc.value(item_node), catalog, media)
        key_nodes = {key: k for key, k, _ in doc.mapping(item_node)}
        for problem in item_problems:
            report(
                problem.code,
                key_nodes.get(problem.key, item_node),
                f"{name}: {problem.message}",
                problem.hint,
            )
        if not item_problems:
            cases.append(Case(name, item, expect))
    return ctx, cases, problems


def _open_test_file(test_path: Path, root: Path, catalog: Catalog):
    """Parse a test file and load its rule: (rule load result, ctx, cases, test-file problems)."""
    text = test_path.read_text(encoding="utf-8")
    doc, error = load_yaml(str(test_path), text)
    rule_path = rule_file_for(test_path)
    if doc is None or rule_path is None:
        diag = error or Diagnostic(
            "T004", f"no rule file beside {test_path.name} (expected {_rule_stem(test_path)}.yaml)"
        )
        return None, None, [], [SourceMap(text, str(test_path)).locate(diag)]
    loaded = load_rule(rule_path, root, catalog)
    media = loaded.rules[0].media if loaded.rules else None
    ctx, cases, problems = load_cases(doc, catalog, media)
    return loaded, ctx, cases, problems


def check_test_file(test_path: Path, root: Path, catalog: Catalog = CORE) -> list[Located]:
    """The problems of a test file itself (its rule is checked on its own)."""
    return _open_test_file(test_path, root, catalog)[3]


def run_test_file(test_path: Path, root: Path, catalog: Catalog = CORE) -> TestRun:
    run = TestRun()
    loaded, ctx, cases, problems = _open_test_file(test_path, root, catalog)
    run.diagnostics.extend(problems)
    if loaded is not None:
        run.diagnostics.extend(loaded.diagnostics)
    if (
        not loaded
        or not loaded.rules
        or ctx is None
        or any(p.diagnostic.is_error for p in problems)
    ):
        run.broken_files = 1
        return run
    rule: Rule = loaded.rules[0]
    for case in cases:
        item = {"type": rule.media, **case.item}
        actual = outcome(rule.evaluate(item, ctx))
        result = CaseResult(rule.id, case.name, case.expect, actual)
        if not result.passed:
            result.explanation = rule.program.explain(item, ctx)
        run.results.append(result)
    return run


def run_tests(paths: list[Path], catalog: Catalog = CORE) -> TestRun:
    """Run every rule test file under `paths`."""
    total = TestRun()
    for file, root in discover(paths):
        if not is_test_file(file):
            continue
        run = run_test_file(file, root, catalog)
        total.results.extend(run.results)
        total.diagnostics.extend(run.diagnostics)
        total.broken_files += run.broken_files
    return total
