"""Rule files (`rules.d/**/*.yaml`): their keys, loading with positioned diagnostics, and the
`Rule` object the rest of Prunerr works with. One rule per file; its id is the path under the
rules directory without the extension (`movies/stale-4k`)."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from croniter import croniter

from prunerr.dsl import (
    CORE,
    UNKNOWN,
    Catalog,
    Diagnostic,
    EvalContext,
    Program,
    SourceMap,
    compile_condition,
)
from prunerr.dsl.diagnostics import Located
from prunerr.dsl.runtime import folded
from prunerr.dsl.types import MEDIA_TYPE
from prunerr.dsl.units import DAY, parse_duration

from .yamlsource import load_yaml

log = logging.getLogger(__name__)

MAX_GRACE_DAYS = 36_500  # a century: deletion dates stay within what dates can hold
DELETION_ACTIONS = ("unmonitor_only", "delete_files_only", "unmonitor_and_delete", "full_removal")
KINDS = ("delete", "protect")
RULE_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".test.yaml", ".test.yml")


class Invalid(ValueError):
    """A key's value is not acceptable; the message says why."""


def _string(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("expected a non-empty string")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid("expected a string")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise Invalid("expected true or false")
    return value


def _choice(options: tuple[str, ...]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in options:
            close = difflib.get_close_matches(str(value), options, n=1)
            tail = f"; did you mean `{close[0]}`?" if close else ""
            raise Invalid(f"expected one of {', '.join(options)}, got {value!r}{tail}")
        return value

    return parse


def _libraries(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid("expected a list of library names")
    return tuple(value)


def _grace(value: object) -> float:
    seconds = parse_duration(value) if isinstance(value, str) else None
    if seconds is None:
        raise Invalid(f"expected a duration such as `7d` or `2 weeks`, got {value!r}")
    if not 0 <= seconds <= MAX_GRACE_DAYS * DAY:
        raise Invalid(f"expected at most {MAX_GRACE_DAYS} days")
    return seconds


def _priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise Invalid("expected an integer from 0 to 100 (higher runs first)")
    return value


def _schedule(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not croniter.is_valid(value):
        raise Invalid(f"expected a cron expression such as `0 3 * * *`, got {value!r}")
    return value


@dataclass(frozen=True)
class Key:
    """One key of a rule file: how to read it and what the JSON Schema says of it.

    An optional key's schema carries its `default` as written in a file; `default` here is
    that value parsed (tests check the two agree)."""

    parse: Callable[[object], object]
    schema: Mapping
    description: str
    required: bool = False
    default: object = None
    delete_only: bool = False  # meaningless for `kind: protect`


KEYS: dict[str, Key] = {
    "name": Key(_string, {"type": "string", "minLength": 1}, "Display name.", required=True),
    "description": Key(
        _text, {"type": "string", "default": ""}, "What the rule is for.", default=""
    ),
    "media": Key(
        _choice(MEDIA_TYPE.values),
        {"enum": list(MEDIA_TYPE.values)},
        "The media type the rule evaluates.",
        required=True,
    ),
    "libraries": Key(
        _libraries,
        {"type": "array", "items": {"type": "string", "minLength": 1}, "default": []},
        "Library names in scope; all libraries when absent.",
        default=(),
    ),
    "when": Key(
        _string,
        {"type": "string", "minLength": 1},
        "The condition, in the Prunerr rule language.",
        required=True,
    ),
    "kind": Key(
        _choice(KINDS),
        {"enum": list(KINDS), "default": "delete"},
        "`delete` queues matches; `protect` shields them from every delete rule.",
        default="delete",
    ),
    "deletion_action": Key(
        _choice(DELETION_ACTIONS),
        {"enum": list(DELETION_ACTIONS), "default": "unmonitor_and_delete"},
        "What happens to a match once its grace period is over.",
        default="unmonitor_and_delete",
        delete_only=True,
    ),
    "grace_period": Key(
        _grace,
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[A-Za-z]+\s*$", "default": "7d"},
        "How long a match waits in the queue, e.g. `7d`, `2 weeks`.",
        default=7 * DAY,
        delete_only=True,
    ),
    "reset_overseerr": Key(
        _bool,
        {"type": "boolean", "default": False},
        "Reset the item's Overseerr/Seerr request after deleting it.",
        default=False,
        delete_only=True,
    ),
    "import_exclusion": Key(
        _bool,
        {"type": "boolean", "default": False},
        "Add an import-list exclusion so the *arr does not re-add it.",
        default=False,
        delete_only=True,
    ),
    "priority": Key(
        _priority,
        {"type": "integer", "minimum": 0, "maximum": 100, "default": 0},
        "Evaluation order, higher first.",
        default=0,
    ),
    "schedule": Key(
        _schedule,
        {"type": ["string", "null"], "default": None},
        "Cron expression for this rule's own evaluation schedule.",
        default=None,
    ),
    "enabled": Key(
        _bool,
        {"type": "boolean", "default": True},
        "Whether scheduled runs evaluate the rule.",
        default=True,
    ),
}


@dataclass(frozen=True)
class Rule:
    id: str
    path: str
    name: str
    media: str
    when: str
    program: Program
    description: str = ""
    libraries: tuple[str, ...] = ()
    kind: str = "delete"
    deletion_action: str = "unmonitor_and_delete"
    grace_period: float = 7 * DAY
    reset_overseerr: bool = False
    import_exclusion: bool = False
    priority: int = 0
    schedule: str | None = None
    enabled: bool = True

    def in_scope(self, item: Mapping) -> object:
        """Whether the item is of the rule's media type and libraries (True/False/UNKNOWN)."""
        if item.get("type", self.media) != self.media:
            return False
        if not self.libraries:
            return True
        library = item.get("library", UNKNOWN)
        if library is UNKNOWN:
            return UNKNOWN
        return folded(library) in {folded(name) for name in self.libraries}

    def evaluate(self, item: Mapping, ctx: EvalContext) -> object:
        """True only when the item is in scope and the condition is true."""
        scope = self.in_scope(item)
        if scope is False:
            return False
        result = self.program.evaluate(item, ctx)
        if result is False:
            return False
        return UNKNOWN if UNKNOWN in (scope, result) else True


@dataclass(frozen=True)
class BrokenRule:
    """A rule file that does not load. `kind` is what the file says when that much of it could
    be read, else None: a rule whose kind is not known to be `delete` may be a protect rule, so
    it stops deletion (fail safe) unless the file itself says `enabled: false`."""

    id: str
    path: str
    kind: str | None
    enabled: bool
    message: str

    @property
    def stops_deletion(self) -> bool:
        return self.enabled and self.kind != "delete"


@dataclass
class LoadResult:
    """Rules and diagnostics from one or more files; rules with errors are left out, and listed
    in `broken`."""

    rules: list[Rule] = field(default_factory=list)
    diagnostics: list[Located] = field(default_factory=list)
    broken: list[BrokenRule] = field(default_factory=list)

    @property
    def errors(self) -> list[Located]:
        return [d for d in self.diagnostics if d.diagnostic.is_error]


def rule_id(path: Path, root: Path) -> str:
    relative = path.resolve().relative_to(root.resolve()) if root else Path(path.name)
    return relative.with_suffix("").as_posix()


def load_rule(path: Path, root: Path, catalog: Catalog = CORE) -> LoadResult:
    """Load one rule file, collecting every problem in it."""
    id_ = rule_id(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        result = LoadResult()
        diagnostic = Diagnostic("R001", f"the file cannot be read: {exc}", (0, 1))
        result.diagnostics.append(SourceMap("", str(path)).locate(diagnostic))
        result.broken.append(BrokenRule(id_, str(path), None, True, diagnostic.message))
        return result
    return parse_rule(text, str(path), id_, catalog)


def parse_rule(text: str, path: str, id_: str, catalog: Catalog = CORE) -> LoadResult:
    """Load one rule from its file's text. A rule that does not load is in `broken`, with what
    could be read of its kind; nothing in one rule's text can raise out of here."""
    try:
        result, values, unknown_keys = _parse_rule(text, path, id_, catalog)
    except Exception as exc:  # a defect of ours must not stop the other rules (or protect ones)
        log.exception("rule %s: internal error while loading it", id_)
        result, values, unknown_keys = LoadResult(), {}, True
        diagnostic = Diagnostic("R000", f"internal error while loading the rule: {exc}", (0, 1))
        result.diagnostics.append(SourceMap(text, path).locate(diagnostic))
    if not result.rules:
        errors = result.errors or result.diagnostics
        # with a misspelt key the author may have meant `kind: protect`
        kind = values.get("kind", None if unknown_keys else "delete")
        result.broken.append(
            BrokenRule(
                id_,
                path,
                kind if isinstance(kind, str) else None,
                values.get("enabled") is not False,
                errors[0].diagnostic.message if errors else "the rule does not load",
            )
        )
    return result


def _parse_rule(
    text: str, path: str, id_: str, catalog: Catalog
) -> tuple[LoadResult, dict[str, object], bool]:
    """The rule (or diagnostics), the keys' values that did parse, and whether any key was not
    recognised."""
    result = LoadResult()
    doc, error = load_yaml(path, text)
    if doc is None:
        result.diagnostics.append(SourceMap(text, path).locate(error))
        return result, {}, True

    def report(code: str, node: yaml.Node | None, message: str, hint: str | None = None):
        span = doc.span(node) if node is not None else (0, 1)
        result.diagnostics.append(doc.source.locate(Diagnostic(code, message, span, hint)))

    if not isinstance(doc.root, yaml.MappingNode):
        report("R004", doc.root, "a rule file is a mapping of keys (name, media, when, ...)")
        return result, {}, True

    values: dict[str, object] = {}
    nodes: dict[str, yaml.Node] = {}
    unknown_keys = False
    for key, key_node, value_node in doc.mapping(doc.root):
        if key in nodes:
            report("R005", key_node, f"`{key}` is given twice")
            continue
        nodes[key] = key_node
        spec = KEYS.get(key)
        if spec is None:
            unknown_keys = True
            close = difflib.get_close_matches(key, list(KEYS), n=1)
            report(
                "R003",
                key_node,
                f"unknown key `{key}`",
                f"did you mean `{close[0]}`?" if close else f"keys: {', '.join(KEYS)}",
            )
            continue
        raw = (
            value_node.value
            if key == "when" and isinstance(value_node, yaml.ScalarNode)
            else doc.value(value_node)
        )
        try:
            values[key] = spec.parse(raw)
        except Invalid as exc:
            report("R004", value_node, f"`{key}`: {exc}")
            continue
        nodes[key] = value_node

    for key, spec in KEYS.items():
        if spec.required and key not in nodes:
            report("R002", None, f"missing required key `{key}`")
    if values.get("kind") == "protect":
        for key in sorted(k for k in values if KEYS[k].delete_only):
            report(
                "R004",
                nodes[key],
                f"`{key}` has no effect on a protect rule",
                "protect rules shield items; remove the key or make it `kind: delete`",
            )

    program = None
    if "when" in values:
        when_node = nodes["when"]
        compilation = compile_condition(values["when"], catalog, values.get("media"))
        expr_map = doc.expression_map(when_node)
        result.diagnostics.extend(expr_map.locate(d) for d in compilation.diagnostics)
        program = compilation.program

    result.diagnostics.sort(key=lambda d: (d.line, d.column))
    if program is not None and not result.errors:
        fields = {k: v for k, v in values.items() if k != "when"}
        result.rules.append(Rule(id=id_, path=path, when=values["when"], program=program, **fields))
    return result, values, unknown_keys


def is_test_file(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIXES)


def discover(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(file, rules root) for every YAML file under the given files and directories."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.suffix in RULE_SUFFIXES and file.is_file():
                    found.append((file, path))
        else:
            root = next((p for p in path.resolve().parents if p.name == "rules.d"), path.parent)
            found.append((path, root))
    return found


def load_rules(paths: list[Path], catalog: Catalog = CORE) -> LoadResult:
    """Load every rule file (not test files) under `paths`; ids must be unique."""
    result = LoadResult()
    seen: dict[str, str] = {}
    for file, root in discover(paths):
        if is_test_file(file):
            continue
        loaded = load_rule(file, root, catalog)
        result.diagnostics.extend(loaded.diagnostics)
        result.broken.extend(loaded.broken)
        for rule in loaded.rules:
            if rule.id in seen:
                diag = Diagnostic("R004", f"rule id `{rule.id}` is also defined by {seen[rule.id]}")
                result.diagnostics.append(SourceMap(file.read_text(), str(file)).locate(diag))
                result.broken.append(
                    BrokenRule(rule.id, str(file), rule.kind, rule.enabled, diag.message)
                )
                continue
            seen[rule.id] = str(file)
            result.rules.append(rule)
    return result
