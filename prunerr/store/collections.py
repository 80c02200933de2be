"""Collections: the titles items are grouped under (Plex collections, Radarr's movie
collections), kept as rows so users can protect one; membership is read from the items."""

from __future__ import annotations

import json
import time
from collections import Counter

from prunerr.store import activity
from prunerr.store.activity import Actor
from prunerr.store.database import Store

COLUMNS = (
    "id",
    "title",
    "item_count",
    "protected",
    "protection_reason",
    "protected_at",
    "synced_at",
    "created_at",
)


def sync(store: Store, now: float | None = None) -> dict[str, int]:
    """Create a row for every collection a live item names and refresh the counts. A
    collection no item names any more keeps its row (and its protection) with no items."""
    now = time.time() if now is None else now
    counts: Counter[str] = Counter()
    for (names,) in store.read(
        "SELECT collections FROM item WHERE tombstoned_at IS NULL AND collections <> '[]'"
    ):
        counts.update(json.loads(names))
    known = {title for (title,) in store.read("SELECT title FROM collection")}
    for title in counts.keys() - known:
        store.execute(
            "INSERT INTO collection (title, item_count, synced_at, created_at) VALUES (?, ?, ?, ?)",
            (title, counts[title], now, now),
        )
    store.executemany(
        "UPDATE collection SET item_count=?, synced_at=? WHERE title=?",
        [(counts.get(title, 0), now, title) for title in known],
    )
    return {"collectionsSynced": len(counts), "itemsMatched": sum(counts.values())}


def rows(store: Store, collection_id: int | None = None) -> list[dict]:
    sql = f"SELECT {', '.join(COLUMNS)} FROM collection"
    params: tuple = ()
    if collection_id is not None:
        sql, params = sql + " WHERE id=?", (collection_id,)
    return [dict(zip(COLUMNS, r, strict=True)) for r in store.read(sql + " ORDER BY title", params)]


def counts(store: Store) -> tuple[int, int]:
    """(collections, protected collections)."""
    ((total, protected),) = store.read(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN protected THEN 1 ELSE 0 END), 0) FROM collection"
    )
    return total, int(protected)


def protected_titles(store: Store) -> set[str]:
    return {r[0] for r in store.read("SELECT title FROM collection WHERE protected")}


def members(store: Store, title: str) -> list[int]:
    """Ids of the live items in a collection."""
    pattern = f"%{json.dumps(title)}%"
    return [
        item_id
        for item_id, names in store.read(
            "SELECT id, collections FROM item WHERE tombstoned_at IS NULL AND collections LIKE ?",
            (pattern,),
        )
        if title in json.loads(names)
    ]


def set_protection(
    store: Store, collection_id: int, protected: bool, reason: str | None, actor: Actor, now: float
) -> dict | None:
    """Protect or unprotect a collection, recorded; None when there is no such collection."""
    found = rows(store, collection_id)
    if not found:
        return None
    store.execute(
        "UPDATE collection SET protected=?, protection_reason=?, protected_at=? WHERE id=?",
        (protected, reason if protected else None, now if protected else None, collection_id),
    )
    activity.record(
        store,
        now,
        "protection",
        "collection_protected" if protected else "collection_unprotected",
        actor,
        ("collection", collection_id, found[0]["title"]),
        collectionId=collection_id,
        itemCount=found[0]["item_count"],
        isProtected=protected,
        reason=reason,
    )
    return rows(store, collection_id)[0]
