"""The activity log: every state change, with who made it (a user, a rule, the scheduler) and
why. Written in the same transaction as the change it records."""

from __future__ import annotations

import json
from dataclasses import dataclass

from prunerr.database import Store

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
    """Add one entry inside the caller's db_session; `target` is (type, id, title)."""
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
    rows = store.execute(
        f"SELECT {', '.join(COLUMNS)} FROM activity{where} ORDER BY id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [
        {**dict(zip(COLUMNS, row, strict=True)), "metadata": json.loads(row[9])} for row in rows
    ]


def search(
    store: Store,
    *,
    limit: int,
    offset: int = 0,
    event_types: tuple[str, ...] = (),
    text: str | None = None,
) -> tuple[list[dict], int]:
    """Newest first: (one page of entries, how many match in all)."""
    clauses, params = [], []
    if event_types:
        clauses.append(f"event_type IN ({', '.join('?' for _ in event_types)})")
        params += event_types
    if text:
        clauses.append("(LOWER(target_title) LIKE ? OR LOWER(actor_name) LIKE ?)")
        params += [f"%{text.lower()}%"] * 2
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    (total,) = store.execute(f"SELECT COUNT(*) FROM activity{where}", tuple(params))[0]
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
