"""The `rule` table: one row, with a stable id, for every rule file of `rules.d` (source `file`,
path the rule's id) and every rule created through the API (source `api`, path `api/<id>`, the
rule-file YAML in `definition`). A row outlives its rule (`deleted_at`) so queue entries and
history keep pointing at it. Inside the caller's db_session."""

from __future__ import annotations

from dataclasses import dataclass

from prunerr.store.database import Store

API_PREFIX = "api/"


@dataclass(frozen=True)
class RuleRow:
    id: int
    source: str  # file | api
    path: str
    name: str
    definition: str | None  # of an API rule
    created_at: float
    updated_at: float
    deleted_at: float | None


def _row(rule) -> RuleRow:
    return RuleRow(
        rule.id,
        rule.source,
        rule.path,
        rule.name,
        rule.definition,
        rule.created_at,
        rule.updated_at,
        rule.deleted_at,
    )


def rows(store: Store) -> list[RuleRow]:
    """Every row, of deleted rules too."""
    return [_row(r) for r in store.entities["Rule"].select().order_by(lambda r: r.id)]


def api_rules(store: Store) -> list[RuleRow]:
    """The rules created through the API and not deleted."""
    Rule = store.entities["Rule"]
    found = Rule.select(lambda r: r.source == "api" and r.deleted_at is None)
    return [_row(r) for r in found.order_by(lambda r: r.id)]


def add_file_rule(store: Store, path: str, name: str, now: float) -> int:
    rule = store.entities["Rule"](
        source="file", path=path, name=name, created_at=now, updated_at=now
    )
    rule.flush()
    return rule.id


def add_api_rule(store: Store, name: str, definition: str, now: float) -> int:
    Rule = store.entities["Rule"]
    rule = Rule(
        source="api",
        path=f"{API_PREFIX}pending-{now}",
        name=name,
        definition=definition,
        created_at=now,
        updated_at=now,
    )
    rule.flush()  # the id names the path
    rule.path = f"{API_PREFIX}{rule.id}"
    return rule.id


def change_api_rule(store: Store, rule_id: int, name: str, definition: str, now: float) -> None:
    rule = store.entities["Rule"].get(id=rule_id, source="api")
    if rule is not None:
        rule.set(name=name, definition=definition, updated_at=now)


def delete_api_rule(store: Store, rule_id: int, now: float) -> str | None:
    """Mark an API rule deleted; its name, None when there is no such rule."""
    rule = store.entities["Rule"].get(id=rule_id)
    if rule is None:
        return None
    if rule.source == "api":
        rule.deleted_at = now
    return rule.name


def restore(store: Store, rule_id: int, name: str) -> None:
    """A rule file is back (or renamed): its row is live again, under that name."""
    store.entities["Rule"][rule_id].set(name=name, deleted_at=None)


def retire(store: Store, rule_id: int, now: float) -> None:
    """A rule file is gone: its row stays, marked deleted."""
    store.entities["Rule"][rule_id].deleted_at = now
