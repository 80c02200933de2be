"""`prunerr rules ...`: check, test, evaluate and explain rules from the command line.

Output formats and exit codes are a contract (scripts and pre-commit hooks depend on them):
`check` prints `PATH:LINE:COL: severity[CODE]: MESSAGE` per problem and exits 1 on any error;
`test` ends with `N passed, M failed`; `eval` prints true, false or unknown on its first line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml

from prunerr import wire
from prunerr.app import Prunerr
from prunerr.dsl import Catalog, SourceMap, compile_condition
from prunerr.dsl.items import load_item
from prunerr.dsl.runtime import EvalContext, format_value, parse_datetime
from prunerr.dsl.types import BOOL, MEDIA_TYPE
from prunerr.dsl.units import format_size
from prunerr.planning import plan
from prunerr.planning.protection import FAMILY
from prunerr.plugins import PluginHost
from prunerr.queue import Queue
from prunerr.rules import Rule, load_rules, run_tests
from prunerr.rules.model import discover, is_test_file
from prunerr.rules.rulebook import ProtectionBroken
from prunerr.rules.schema import rule_schema_json
from prunerr.rules.testing import check_test_file, outcome
from prunerr.store.items import Availability, LibraryItem, availability, load_items

from . import pick


def catalog() -> Catalog:
    """The language as installed: core fields plus those of every installed plugin."""
    return PluginHost.create().catalog()


def default_rules_dir() -> Path:
    return Path(os.environ.get("PRUNERR_RULES_DIR", "rules.d"))


def _paths(args) -> list[Path]:
    paths = [Path(p) for p in args.paths] or [default_rules_dir()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"prunerr: no such file or directory: {missing[0]}")
    return paths


def _print_diagnostics(located, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([d.as_dict() for d in located], indent=2))
    else:
        for d in located:
            print(d.render())
            print()


def cmd_check(args) -> int:
    paths = _paths(args)
    language = catalog()
    loaded = load_rules(paths, language)
    diagnostics = list(loaded.diagnostics)
    files = discover(paths)
    tests = [(file, root) for file, root in files if is_test_file(file)]
    for file, root in tests:
        diagnostics.extend(check_test_file(file, root, language))
    _print_diagnostics(diagnostics, args.format)
    errors = sum(d.diagnostic.is_error for d in diagnostics)
    print(
        f"checked {len(files) - len(tests)} rule file(s) and {len(tests)} test file(s): "
        f"{errors} error(s), {len(diagnostics) - errors} warning(s)",
        file=sys.stderr,
    )
    return 1 if errors else 0


def cmd_test(args) -> int:
    run = run_tests(_paths(args), catalog())
    errors = [d for d in run.diagnostics if d.diagnostic.is_error]
    _print_diagnostics(errors, "text")
    for result in run.results:
        if result.passed:
            continue
        print(
            f"FAIL {result.rule_id}: {result.case}: expected {result.expected}, got {result.actual}"
        )
        if result.explanation is not None:
            print(result.explanation.render(depth=1))
        print()
    print(f"{run.passed} passed, {run.failed} failed")
    return 0 if run.ok else 1


def _read_item(source: str | None) -> object:
    if source is None:
        return {}
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SystemExit(f"prunerr: {source}: invalid JSON/YAML item: {exc}") from None


def _context(now: str | None) -> EvalContext:
    if now is None:
        return EvalContext.current()
    try:
        return EvalContext(datetime.fromtimestamp(parse_datetime(now), UTC))
    except ValueError:
        raise SystemExit(f"prunerr: --now: not an ISO-8601 datetime: {now!r}") from None


def _load_item_or_exit(source: str | None, language: Catalog) -> dict:
    item, problems = load_item(_read_item(source), language)
    if problems:
        for problem in problems:
            print(f"{source}: error[{problem.code}]: {problem.message}", file=sys.stderr)
            if problem.hint:
                print(f"  hint: {problem.hint}", file=sys.stderr)
        raise SystemExit(1)
    return item


def cmd_eval(args) -> int:
    language = catalog()
    compilation = compile_condition(args.expr, language, args.media)
    source = SourceMap(args.expr, "<expr>")
    if not compilation.ok:
        _print_diagnostics([source.locate(d) for d in compilation.diagnostics], "text")
        return 1
    for warning in compilation.diagnostics:
        print(source.locate(warning).render(), file=sys.stderr)
    item = _load_item_or_exit(args.item, language)
    ctx = _context(args.now)
    program = compilation.program
    explanation = program.explain(item, ctx)
    print(format_value(program.evaluate(item, ctx), explanation.type))
    if args.explain:
        print(explanation.render())
    return 0


def _synced(app: Prunerr, media: set[str]) -> tuple[Availability, list[LibraryItem]]:
    """What rules see of the synced library: the sources available, and the live items of the
    given media types (all of show, season and episode if one: protection follows them)."""
    watch = app.services.watch_history(app.config["watch_history"])
    watch_name = watch.name if watch else None
    available = availability(app.store, app.services, watch_name)
    types = set(media)
    if types & FAMILY:
        types |= FAMILY
    return available, load_items(app.store, available, watch_name, app.catalog, types)


def _explain_synced(
    app: Prunerr, rule: Rule, every_rule: list[Rule], title: str, ctx: EvalContext
) -> int:
    """A rule's decision for a synced item as a real run makes it: the item loaded with its
    show, season, seasons and episodes, planned with every protect rule."""
    _, items = _synced(app, {rule.media})
    candidates = {i.id: i for i in items if i.fields["type"] == rule.media}
    item = pick(
        title,
        list(candidates.values()),
        by_id=candidates.get,
        names=lambda i: (i.title, i.display_title),
        describe=lambda i: f"{i.id:>6}  {i.fields['type']:<7}  {i.display_title}",
        what=rule.media,
    )
    if item is None:
        return 1
    family = [i for i in items if i is item or i.id in item.ancestors or item.id in i.ancestors]
    (result,) = plan([rule], family, ctx, all_rules=every_rule)  # only `item` is of its type
    if result.candidates == 0:
        verdict = "out of the rule's scope"
    elif result.unknown:
        verdict = "unknown on the data available: never queued"
    elif not result.matched:
        verdict = "no match"
    elif rule.kind == "protect":
        verdict = "protected by this rule"
    elif result.protected:
        verdict = "matches, but it is protected: not queued"
    else:
        verdict = "matches: a run would queue it"
    print(f"{outcome(rule.evaluate(item.fields, ctx))}  {rule.id} ({rule.name})")
    print(f"item: {item.display_title} ({item.fields['type']} {item.id})")
    print(f"verdict: {verdict}")
    libraries = f" in {', '.join(rule.libraries)}" if rule.libraries else ""
    print(f"scope: {rule.media}{libraries} -> {format_value(rule.in_scope(item.fields), BOOL)}")
    print(rule.program.explain(item.fields, ctx).render())
    return 0


def cmd_explain(args) -> int:
    app = Prunerr.from_environment() if args.title is not None else None
    language = app.catalog if app else catalog()
    if args.rules_dir:
        rules_dir = Path(args.rules_dir)
    else:
        rules_dir = app.rules_dir if app else default_rules_dir()
    loaded = load_rules([rules_dir], language)
    rule = next((r for r in loaded.rules if r.id == args.rule_id), None)
    if rule is None:
        known = ", ".join(sorted(r.id for r in loaded.rules)) or "none"
        print(f"prunerr: no valid rule with id {args.rule_id!r} (rules: {known})", file=sys.stderr)
        return 1
    ctx = _context(args.now)
    if app is not None:
        return _explain_synced(app, rule, loaded.rules, args.title, ctx)
    item = {"type": rule.media, **_load_item_or_exit(args.item, language)}
    libraries = f" in {', '.join(rule.libraries)}" if rule.libraries else ""
    print(f"{outcome(rule.evaluate(item, ctx))}  {rule.id} ({rule.name})")
    print(f"scope: {rule.media}{libraries} -> {format_value(rule.in_scope(item), BOOL)}")
    print(rule.program.explain(item, ctx).render())
    return 0


def _catalog_rows(functions: bool) -> list[dict]:
    language = catalog()
    if functions:
        return [
            {
                "name": f.name,
                "signature": f.signature,
                "returns": str(f.returns),
                "description": f.description,
                "source": f.source,
            }
            for f in language.functions.values()
        ]
    return [
        {
            "name": f.name,
            "type": str(f.type),
            "nullable": f.type.nullable,
            "media": sorted(f.media, key=MEDIA_TYPE.values.index),
            "description": f.description,
            "source": f.source,
        }
        for f in language.fields.values()
    ]


def _print_catalog(rows: list[dict], fmt: str, columns: tuple[str, ...]) -> None:
    if fmt == "json":
        print(json.dumps(rows, indent=2))
        return
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns[:-1]]
    for row in [{c: c.upper() for c in columns}, *rows]:
        cells = [str(row[c]).ljust(w) for c, w in zip(columns, widths, strict=False)]
        print("  ".join([*cells, str(row[columns[-1]])]))


def cmd_fields(args) -> int:
    _print_catalog(_catalog_rows(False), args.format, ("name", "type", "source", "description"))
    return 0


def cmd_functions(args) -> int:
    _print_catalog(_catalog_rows(True), args.format, ("signature", "source", "description"))
    return 0


def cmd_plan(args) -> int:
    app = Prunerr.from_environment()
    rules_dir = Path(args.rules_dir) if args.rules_dir else app.rules_dir
    loaded = load_rules([rules_dir], app.catalog)
    for located in loaded.errors:  # the other rules are planned all the same
        print(located.render(), file=sys.stderr)
    known = {r.id for r in loaded.rules}
    missing = [i for i in args.rule_ids if i not in known]
    if missing:
        print(f"prunerr: no valid rule with id {missing[0]!r}", file=sys.stderr)
        return 1
    selected = [r for r in loaded.rules if not args.rule_ids or r.id in args.rule_ids]
    available, items = _synced(app, {rule.media for rule in selected})
    stored = app.book.stored()  # rules created through the API protect as well
    plans = plan(
        selected,
        items,
        _context(args.now),
        all_rules=[*loaded.rules, *(b.rule for b in stored.rules.values())],
        queue=Queue(app.store),
        explain=args.explain,
    )
    stopping = [b for b in [*loaded.broken, *stored.broken.values()] if b.stops_deletion]
    if stopping:
        print(f"prunerr: {ProtectionBroken(stopping)}", file=sys.stderr)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "items": len(items),
                    "available": available.__dict__,
                    "rules": [wire.plain(wire.rule_plan(p)) for p in plans],
                    "broken": [b.__dict__ for b in [*loaded.broken, *stored.broken.values()]],
                    "deletionStopped": bool(stopping),
                },
                indent=2,
            )
        )
        return 1 if loaded.errors else 0
    missing_sources = [
        name
        for name, ok in (
            ("media server", available.media_server),
            ("Radarr", available.arr["movie"]),
            ("Sonarr", available.arr["show"]),
            ("watch history", available.watch_history),
            ("requests", available.requests),
        )
        if not ok
    ]
    if missing_sources:
        print(f"unavailable (fields unknown): {', '.join(missing_sources)}")
    columns = [
        ("RULE", lambda p: p.rule.id),
        ("KIND", lambda p: p.rule.kind),
        ("CANDIDATES", lambda p: p.candidates),
        ("MATCHED", lambda p: p.matched),
        ("UNKNOWN", lambda p: p.unknown),
        ("PROTECTED", lambda p: p.protected),
        ("ALREADY QUEUED", lambda p: p.already_queued),
        ("DELETED BEFORE", lambda p: p.deleted_before),  # these two only when not all 0
        ("GONE", lambda p: p.gone),
        ("WOULD QUEUE", lambda p: p.would_queue),
        ("SIZE", lambda p: format_size(p.queue_bytes)),
    ]
    columns = [
        (name, value)
        for name, value in columns
        if name not in ("DELETED BEFORE", "GONE") or any(value(p) for p in plans)
    ]
    header = tuple(name for name, _ in columns)
    rows = [tuple(value(p) for _, value in columns) for p in plans]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    for p in plans:
        for item, explanation in p.explained:
            print(f"\n{p.rule.id}: {item.display_title} ({format_size(item.size)})")
            print(explanation.render(depth=1))
    return 1 if loaded.errors else 0


def cmd_schema(args) -> int:
    sys.stdout.write(rule_schema_json())
    return 0


INIT_LINE = "enabled: false  # set by `prunerr rules init`: true (or no line) lets it queue items\n"


def disabled(text: str) -> str:
    """A delete rule file's text with `enabled: false`: its own line replaced, or one added
    before its first key (after the leading comments), the rest of the file as it was."""
    lines = text.splitlines(keepends=True)
    keys = [i for i, line in enumerate(lines) if line[:1].isalpha()]
    at = next((i for i in keys if lines[i].startswith("enabled:")), None)
    if at is not None:
        lines[at] = INIT_LINE
    else:
        lines.insert(keys[0] if keys else len(lines), INIT_LINE)
    return "".join(lines)


def cmd_init(args) -> int:
    """Copy the example rules and their tests into a rules directory, each delete rule
    disabled; never over an existing file."""
    from prunerr.example_rules import directory

    source = directory()
    target = (
        Path(args.dir) if args.dir else Path(str(Prunerr.from_environment().config["rules_dir"]))
    )
    copied, skipped, delete, protect = [], [], [], 0
    for file, _ in discover([source]):
        relative = file.relative_to(source)
        destination = target / relative
        if destination.exists():
            skipped.append(destination)
            continue
        text = file.read_text(encoding="utf-8")
        if not is_test_file(file):
            if (yaml.safe_load(text) or {}).get("kind", "delete") == "delete":
                text = disabled(text)
                delete.append(relative.with_suffix("").as_posix())
            else:
                protect += 1
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        copied.append(destination)
    for path in copied:
        print(f"copied  {path}")
    for path in skipped:
        print(f"skipped {path}: it exists (left as it is)")
    print(
        f"{len(copied)} file(s) copied to {target}: {len(delete)} delete rule(s), disabled; "
        f"{protect} protect rule(s), enabled; {len(copied) - len(delete) - protect} test file(s)"
    )
    if delete:
        print(
            "To enable a delete rule, set `enabled: true` in its file (or remove the line); "
            f"first see what it would queue: prunerr rules plan {delete[0]}"
        )
    return 0


def register(commands) -> None:
    rules = commands.add_parser(
        "rules",
        help="check, test, evaluate and explain rules",
        epilog="prunerr rules check\nprunerr rules test\nprunerr rules plan --explain 3",
    )
    sub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND", required=True)
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("--format", choices=("text", "json"), default="text")

    p = sub.add_parser(
        "check",
        parents=[fmt],
        help="validate rule and test files",
        epilog="prunerr rules check\nprunerr rules check rules.d/movies --format json",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (rules.d)")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser(
        "test",
        help="run the rules' *.test.yaml files",
        epilog="prunerr rules test\nprunerr rules test rules.d/movies/never-watched-90d.test.yaml",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (rules.d)")
    p.set_defaults(handler=cmd_test)

    p = sub.add_parser(
        "eval",
        help="evaluate one expression against one item",
        epilog="prunerr rules eval 'size > 10 GB' --item movie.yaml --explain\n"
        "prunerr rules eval 'play_count == 0 and added < 90 days ago' --media movie --item -",
    )
    p.add_argument("expr", metavar="EXPR")
    p.add_argument("--item", metavar="FILE", help="item as JSON or YAML; - for stdin")
    p.add_argument("--now", metavar="DATETIME", help="evaluate as of this time (default: now)")
    p.add_argument("--media", choices=MEDIA_TYPE.values, help="check fields for this media type")
    p.add_argument("--explain", action="store_true", help="show every sub-expression's value")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser(
        "explain",
        help="explain a rule's decision for one item",
        epilog='prunerr rules explain movies/never-watched-90d --title "blade runner"\n'
        "prunerr rules explain movies/never-watched-90d --item movie.yaml --now 2025-01-01",
    )
    p.add_argument("rule_id", metavar="RULE_ID")
    item = p.add_mutually_exclusive_group(required=True)
    item.add_argument("--item", metavar="FILE", help="item as JSON or YAML; - for stdin")
    item.add_argument(
        "--title",
        metavar="TEXT",
        help="a synced item of the rule's media type: its id, or a piece of its title",
    )
    p.add_argument("--now", metavar="DATETIME")
    p.add_argument(
        "--rules-dir",
        metavar="DIR",
        help="default: $PRUNERR_RULES_DIR or rules.d (with --title: the configured one)",
    )
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser(
        "fields",
        parents=[fmt],
        help="list the fields rules can use",
        epilog="prunerr rules fields\nprunerr rules fields --format json",
    )
    p.set_defaults(handler=cmd_fields)
    p = sub.add_parser(
        "functions",
        parents=[fmt],
        help="list the functions rules can use",
        epilog="prunerr rules functions\nprunerr rules functions --format json",
    )
    p.set_defaults(handler=cmd_functions)
    p = sub.add_parser(
        "plan",
        parents=[fmt],
        help="what the rules would do to the synced library",
        epilog="prunerr rules plan\nprunerr rules plan movies/never-watched-90d --explain 5\n"
        "prunerr rules plan --format json --now 2025-06-01T00:00:00Z",
    )
    p.add_argument("rule_ids", nargs="*", metavar="RULE_ID")
    p.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="N",
        help="explain the N largest items each rule would queue",
    )
    p.add_argument("--now", metavar="DATETIME")
    p.add_argument("--rules-dir", metavar="DIR", help="default: the configured rules directory")
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of a rule file",
        epilog="prunerr rules schema > rule.schema.json",
    )
    p.set_defaults(handler=cmd_schema)

    p = sub.add_parser(
        "init",
        help="copy the example rules, delete rules disabled, into the rules directory",
        description="Copy the example rules and their tests into DIR, each delete rule with "
        "`enabled: false`; an existing file is never overwritten.",
        epilog="prunerr rules init\nprunerr rules init /config/rules.d",
    )
    p.add_argument("dir", nargs="?", metavar="DIR", help="default: the configured rules directory")
    p.set_defaults(handler=cmd_init)
