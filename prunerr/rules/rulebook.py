"""Every rule the service runs: the files of `rules.d` (read-only outside git) and the rules
created through the API (stored in the database as rule-file YAML). Each has a stable integer id
in the `rule` table, which queue entries, history and the API refer to."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pony.orm import commit, db_session

from prunerr.dsl import Catalog
from prunerr.dsl.diagnostics import Located
from prunerr.rules import LoadResult, Rule, load_rules
from prunerr.rules.model import BrokenRule, parse_rule
from prunerr.store import activity
from prunerr.store import rules as rule_rows
from prunerr.store.activity import USER, Actor
from prunerr.store.database import Store
from prunerr.store.rules import API_PREFIX, RuleRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookRule:
    id: int  # the database id
    rule: Rule
    source: str  # file | api
    text: str  # the rule file's YAML
    created_at: float
    updated_at: float

    @property
    def read_only(self) -> bool:
        return self.source == "file"


@dataclass
class Contents:
    rules: dict[int, BookRule] = field(default_factory=dict)
    diagnostics: list[Located] = field(default_factory=list)  # of rules.d
    broken: dict[int, BrokenRule] = field(default_factory=dict)  # rules that do not load, by id

    @property
    def stopping_deletion(self) -> list[BrokenRule]:
        """Broken rules that are (or may be) protect rules: while there is one, nothing is
        queued or deleted, since it may be what shields an item."""
        return [b for b in self.broken.values() if b.stops_deletion]

    def check_protection(self) -> None:
        """Raise ProtectionBroken when a broken rule stops deletion."""
        if self.stopping_deletion:
            raise ProtectionBroken(self.stopping_deletion)


class ProtectionBroken(RuntimeError):
    """Deletion is stopped: a protect rule (or a rule that may be one) does not load."""

    def __init__(self, rules: list[BrokenRule]):
        self.rules = rules
        names = "; ".join(f"{b.id} ({b.message})" for b in rules)
        super().__init__(
            f"deletion is stopped: {len(rules)} rule(s) that may protect items do not load: "
            f"{names}. Fix the rule, or disable it with `enabled: false`."
        )


class RuleError(ValueError):
    """A rule's text does not load; `diagnostics` say where and why."""

    def __init__(self, diagnostics: list[Located]):
        super().__init__(diagnostics[0].diagnostic.message if diagnostics else "invalid rule")
        self.diagnostics = diagnostics


class RuleBook:
    """The rules every thread of a process reads: those of rules.d and those created through
    the API, loaded once and reloaded when they change. What it publishes is committed first,
    so no thread reads a rule a rolled-back request created."""

    def __init__(
        self,
        store: Store,
        rules_dir: Path,
        catalog: Catalog,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.rules_dir = rules_dir
        self.catalog = catalog
        self.clock = clock
        self._lock = threading.Lock()
        self._contents: Contents | None = None

    def contents(self) -> Contents:
        with self._lock:
            if self._contents is None:
                self._contents = self._load()
            return self._contents

    def reload(self) -> Contents:
        """Re-read rules.d (and the database's rules)."""
        with self._lock:
            self._contents = self._load()
            return self._contents

    def rules(self) -> list[Rule]:
        return [b.rule for b in self.contents().rules.values()]

    def get(self, rule_id: int) -> BookRule | None:
        return self.contents().rules.get(rule_id)

    def parse(self, text: str, rule_id: str = f"{API_PREFIX}new") -> Rule:
        """Load a rule file's text; RuleError with every problem otherwise."""
        result = parse_rule(text, f"<{rule_id}>", rule_id, self.catalog)
        if result.errors or not result.rules:
            raise RuleError(result.errors or result.diagnostics)
        return result.rules[0]

    def _record(self, action: str, rule_id: int, name: str, actor: Actor) -> None:
        activity.record(self.store, self.clock(), "rule", action, actor, ("rule", rule_id, name))

    def create(self, text: str, actor: Actor = USER) -> BookRule:
        rule = self.parse(text)
        now = self.clock()
        with db_session:
            new_id = rule_rows.add_api_rule(self.store, rule.name, text, now)
            self._record("created", new_id, rule.name, actor)
            commit()  # before every thread reads the book with it
        self.reload()
        return self.contents().rules[new_id]

    def update(self, rule_id: int, text: str, actor: Actor = USER) -> BookRule:
        rule = self.parse(text, f"{API_PREFIX}{rule_id}")
        with db_session:
            rule_rows.change_api_rule(self.store, rule_id, rule.name, text, self.clock())
            self._record("updated", rule_id, rule.name, actor)
            commit()
        self.reload()
        return self.contents().rules[rule_id]

    def delete(self, rule_id: int, actor: Actor = USER) -> None:
        with db_session:
            name = rule_rows.delete_api_rule(self.store, rule_id, self.clock())
            self._record("deleted", rule_id, name or "", actor)
            commit()
        self.reload()

    def stored(self) -> Contents:
        """The rules created through the API alone, read without registering the rules
        directory's files (for planning the rules of another directory)."""
        contents = Contents()
        with db_session:
            stored = rule_rows.api_rules(self.store)
        for row in stored:
            self._add_stored(contents, row)
        return contents

    def _add_stored(self, contents: Contents, row: RuleRow) -> None:
        # a stored rule may stop loading, e.g. when a plugin is removed
        definition = row.definition or ""
        result = parse_rule(definition, f"<{row.path}>", row.path, self.catalog)
        if result.rules and not result.errors:
            contents.rules[row.id] = BookRule(
                row.id, result.rules[0], "api", definition, row.created_at, row.updated_at
            )
        else:
            contents.diagnostics.extend(result.errors or result.diagnostics)
            contents.broken[row.id] = result.broken[0]

    def _load(self) -> Contents:
        loaded: LoadResult = (
            load_rules([self.rules_dir], self.catalog) if self.rules_dir.is_dir() else LoadResult()
        )
        contents = Contents(diagnostics=list(loaded.diagnostics))
        now = self.clock()
        with db_session:
            rows = {row.path: row for row in rule_rows.rows(self.store)}
            on_disk = set()
            for rule in loaded.rules:
                on_disk.add(rule.id)
                text = Path(rule.path).read_text(encoding="utf-8")
                row = rows.get(rule.id)
                if row is None:
                    rule_id = rule_rows.add_file_rule(self.store, rule.id, rule.name, now)
                    created = updated = now
                else:
                    rule_id, created, updated = row.id, row.created_at, row.updated_at
                    if row.deleted_at is not None or row.name != rule.name:
                        rule_rows.restore(self.store, rule_id, rule.name)
                contents.rules[rule_id] = BookRule(rule_id, rule, "file", text, created, updated)
            for broken in loaded.broken:
                # a file that stopped loading keeps its row (its queue entries wait for it)
                on_disk.add(broken.id)
                row = rows.get(broken.id)
                if row is None:
                    rule_id = rule_rows.add_file_rule(self.store, broken.id, broken.id, now)
                else:
                    rule_id = row.id
                    if row.deleted_at is not None:
                        rule_rows.restore(self.store, rule_id, row.name)
                contents.broken.setdefault(rule_id, broken)
            for row in rows.values():
                if row.source == "file" and row.path not in on_disk and row.deleted_at is None:
                    rule_rows.retire(self.store, row.id, now)
                if row.source == "api" and row.deleted_at is None:
                    self._add_stored(contents, row)
            commit()  # the rows the contents name, before every thread reads them
        if contents.broken:
            log.error(
                "%d rule(s) do not load: %s",
                len(contents.broken),
                "; ".join(f"{b.id}: {b.message}" for b in contents.broken.values()),
            )
        return contents
