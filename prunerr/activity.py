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
