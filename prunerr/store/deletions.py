"""What was deleted (`deletion`): one row per entry that deleted or unmonitored its item, kept
after the item is gone. Everything runs inside the caller's db_session."""

from __future__ import annotations

import json
from dataclasses import dataclass

from prunerr.store.database import Store
from prunerr.store.queue_entries import Entry


def record(
    store: Store,
    entry: Entry,
    media_type: str,
    freed: int,
    rule: tuple[int | None, str | None],
    now: float,
    calls: list,
) -> None:
    """The entry's deletion: `freed` bytes (0 when only unmonitored), by `rule` (id, name)."""
    store.execute(
        "INSERT INTO deletion (entry, item, title, media_type, size, freed, rule, rule_name, "
        "action, actor_type, actor_name, deleted_at, calls) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.id,
            entry.item,
            entry.title,
            media_type,
            entry.size,
            freed,
            *rule,
            entry.action,
            entry.actor_type,
            entry.actor_name,
            now,
            json.dumps(calls),
        ),
    )


def note_requests_reset(store: Store, entry_id: int, outcome: str) -> None:
    store.update("UPDATE deletion SET requests_reset=? WHERE entry=?", (outcome, entry_id))


def last_id(store: Store) -> int:
    """The newest deletion's id (0 before the first)."""
    return store.read("SELECT COALESCE(MAX(id), 0) FROM deletion")[0][0]


def freed_after(store: Store, deletion_id: int) -> list[tuple[int, int]]:
    """(deletion id, item id) of the deletions after that one that freed space."""
    return store.read("SELECT id, item FROM deletion WHERE id > ? AND freed > 0", (deletion_id,))


def freed_since(store: Store, since: float, until: float = float("inf")) -> int:
    """Bytes the deletions after `since` (up to `until`) freed."""
    (freed,) = store.read(
        "SELECT COALESCE(SUM(freed), 0) FROM deletion WHERE deleted_at > ? AND deleted_at <= ?",
        (since, until),
    )[0]
    return int(freed)  # PostgreSQL sums BIGINTs as NUMERIC


@dataclass(frozen=True)
class Deleted:
    """A deletion as the history lists it."""

    id: int
    item: int
    title: str
    media_type: str
    size: int
    freed: int
    rule: int | None
    rule_name: str | None
    actor_type: str
    deleted_at: float


def history(
    store: Store, *, since: float | None, text: str | None, limit: int, offset: int
) -> tuple[list[Deleted], int]:
    """Newest first, deleted after `since` with `text` in the title: (a page, how many in all)."""
    clauses, params = [], []
    if since is not None:
        clauses.append("deleted_at > ?")
        params.append(since)
    if text:
        clauses.append("LOWER(title) LIKE ?")
        params.append(f"%{text.lower()}%")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    ((total,),) = store.read(f"SELECT COUNT(*) FROM deletion{where}", tuple(params))
    rows = store.read(
        "SELECT id, item, title, media_type, size, freed, rule, rule_name, actor_type, "
        f"deleted_at FROM deletion{where} ORDER BY deleted_at DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [Deleted(*row) for row in rows], total


def totals(store: Store) -> tuple[int, int]:
    """(deletions, bytes they freed), all time."""
    ((count, freed),) = store.read("SELECT COUNT(*), COALESCE(SUM(freed), 0) FROM deletion")
    return count, int(freed)  # PostgreSQL sums BIGINTs as NUMERIC


def freed_each(store: Store, since: float) -> list[tuple[float, int]]:
    """(when, bytes freed) of each deletion after `since`."""
    return store.read("SELECT deleted_at, freed FROM deletion WHERE deleted_at > ?", (since,))
