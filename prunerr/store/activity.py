"""The activity log: every state change, with who made it (a user, a rule, the scheduler) and
why. Written in the same transaction as the change it records."""

from __future__ import annotations

import json
from dataclasses import dataclass

from prunerr.store.database import Store
from prunerr.store.items import item_names

ACTOR_TYPES = ("user", "rule", "scheduler")


@dataclass(frozen=True)
class Actor:
    type: str  # user | rule | scheduler
    name: str
    id: str | None = None

    @classmethod
    def rule(cls, rule_id: int, name: str) -> Actor:
        return cls("rule", name, str(rule_id))


USER = Actor("user", "API user")
SCHEDULER = Actor("scheduler", "Scheduler")


def record(
    store: Store,
    now: float,
    event_type: str,
    action: str,
    actor: Actor,
    target: tuple[str, int | None, str | None],
    **metadata: object,
) -> None:
    """Add one entry inside the caller's db_session; `target` is (type, id, title), an item's
    title its display title (`items.display_title`)."""
    target_type, target_id, target_title = target
    store.execute(
        "INSERT INTO activity (created_at, event_type, action, actor_type, actor_id, actor_name, "
        "target_type, target_id, target_title, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            now,
            event_type,
            action,
            actor.type,
            actor.id,
            actor.name,
            target_type,
            target_id,
            target_title,
            json.dumps(metadata, sort_keys=True, default=str),
        ),
    )


COLUMNS = (
    "id",
    "event_type",
    "action",
    "actor_type",
    "actor_id",
    "actor_name",
    "target_type",
    "target_id",
    "target_title",
    "metadata",
    "created_at",
)


def _entries(store: Store, where: str, params: tuple, limit: int, offset: int) -> list[dict]:
    """A page of entries; an item's under its current display title (entries recorded before
    seasons and episodes had one say "Season 1")."""
    rows = store.read(
        f"SELECT {', '.join(COLUMNS)} FROM activity{where} ORDER BY id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    entries = [
        {**dict(zip(COLUMNS, row, strict=True)), "metadata": json.loads(row[9])} for row in rows
    ]
    items = {e["target_id"] for e in entries if e["target_type"] == "item"} - {None}
    names = item_names(store, items) if items else {}
    for entry in entries:
        name = names.get(entry["target_id"]) if entry["target_type"] == "item" else None
        if name is not None:
            entry["target_title"] = name.display
    return entries


def search(
    store: Store,
    *,
    limit: int,
    offset: int = 0,
    event_types: tuple[str, ...] = (),
    excluded_types: tuple[str, ...] = (),
    actor_types: tuple[str, ...] = (),
    since: float | None = None,
    text: str | None = None,
) -> tuple[list[dict], int]:
    """Newest first: (one page of entries, how many match in all)."""
    clauses, params = [], []
    if since is not None:
        clauses.append("created_at > ?")
        params.append(since)
    if actor_types:
        clauses.append(f"actor_type IN ({', '.join('?' for _ in actor_types)})")
        params += actor_types
    if event_types:
        clauses.append(f"event_type IN ({', '.join('?' for _ in event_types)})")
        params += event_types
    if excluded_types:
        clauses.append(f"event_type NOT IN ({', '.join('?' for _ in excluded_types)})")
        params += excluded_types
    if text:  # an item's show's title finds its entries too, those stored "Season 1" included
        clauses.append(
            "(LOWER(target_title) LIKE ? OR LOWER(actor_name) LIKE ? OR (target_type='item' AND "
            "target_id IN (SELECT i.id FROM item i JOIN item s ON s.id = CASE WHEN "
            "i.type='season' THEN i.parent WHEN i.type='episode' THEN i.show END "
            "WHERE LOWER(s.title) LIKE ?)))"
        )
        params += [f"%{text.lower()}%"] * 3
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    (total,) = store.read(f"SELECT COUNT(*) FROM activity{where}", tuple(params))[0]
    return _entries(store, where, tuple(params), limit, offset), total


def for_item(store: Store, item_id: int, collection_ids: list[int], limit: int) -> list[dict]:
    """An item's entries and those of the collections it belongs to, newest first."""
    where = " WHERE (target_type='item' AND target_id=?)"
    params: tuple = (item_id,)
    if collection_ids:
        marks = ", ".join("?" for _ in collection_ids)
        where += f" OR (target_type='collection' AND target_id IN ({marks}))"
        params += tuple(collection_ids)
    return _entries(store, where, params, limit, 0)
