"""The deletion queue's rows (`queue_entry`) as `Entry` values, and the conditional updates the
queue's state machine (`prunerr.queue`) is built on. Everything runs inside the caller's
db_session."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace

from prunerr.dsl.units import DAY
from prunerr.store.activity import Actor
from prunerr.store.database import Store
from prunerr.store.items import ItemName, item_names

LIVE = ("queued", "processing")

ENTRY_COLUMNS = (
    "id",
    "item",
    "rule",
    "state",
    "action",
    "reset_requests",
    "import_exclusion",
    "title",
    "size",
    "queued_at",
    "delete_after",
    "actor_type",
    "actor_name",
    "attempts",
    "attempt_id",
    "claimed_at",
    "next_attempt_at",
    "reminded_at",
    "steps",
    "finished_at",
    "reason",
)


@dataclass(frozen=True, slots=True)
class Entry:
    """A queue entry. `title` is the item's display title (`items.display_title`), read from
    the item when the database holds it, else the one stored at queue time; `media_type` and
    `item_title` (the item's own title) are None when the item is not held."""

    id: int
    item: int
    rule: int | None
    state: str
    action: str
    reset_requests: bool
    import_exclusion: bool
    title: str
    size: int
    queued_at: float
    delete_after: float
    actor_type: str
    actor_name: str
    attempts: int
    attempt_id: str | None
    claimed_at: float | None
    next_attempt_at: float | None
    reminded_at: float | None
    steps: tuple[str, ...]
    finished_at: float | None
    reason: str | None
    media_type: str | None = None
    item_title: str | None = None

    @classmethod
    def from_row(cls, row: tuple) -> Entry:
        values = dict(zip(ENTRY_COLUMNS, row, strict=True))
        values["steps"] = tuple(json.loads(values["steps"]))
        values["reset_requests"] = bool(values["reset_requests"])
        values["import_exclusion"] = bool(values["import_exclusion"])
        return cls(**values)

    def named(self, name: ItemName | None) -> Entry:
        """The entry under its item's current name (entries queued before seasons and episodes
        had display titles stored "Season 1")."""
        if name is None:
            return self
        return replace(self, title=name.display, media_type=name.type, item_title=name.title)

    def days_remaining(self, now: float) -> int:
        return max(0, -int(-(self.delete_after - now) // DAY))


def _named(store: Store, rows: list[tuple]) -> list[Entry]:
    return named(store, [Entry.from_row(r) for r in rows])


_SELECT = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM queue_entry"


def entry(store: Store, entry_id: int) -> Entry | None:
    found = _named(store, store.read(f"{_SELECT} WHERE id=?", (entry_id,)))
    return found[0] if found else None


def entries(store: Store, states: Collection[str], item: int | None = None) -> list[Entry]:
    """The entries in these states (of one item), oldest first."""
    marks = ", ".join("?" for _ in states)
    sql, params = f"{_SELECT} WHERE state IN ({marks})", tuple(states)
    if item is not None:
        sql, params = sql + " AND item=?", (*params, item)
    return _named(store, store.read(sql + " ORDER BY id", params))


def stream_live(store: Store) -> Iterator[Entry]:
    """The live entries, soonest deletion first (ties by id), not yet `named`, read row by row
    from one statement (a consistent listing that costs a part's memory); consumed inside the
    caller's db_session."""
    marks = ", ".join("?" for _ in LIVE)
    sql = f"{_SELECT} WHERE state IN ({marks}) ORDER BY delete_after, id"
    return map(Entry.from_row, store.stream(sql, LIVE))


def named(store: Store, entries: list[Entry]) -> list[Entry]:
    """The entries under their items' current names (`Entry.named`)."""
    names = item_names(store, {e.item for e in entries}) if entries else {}
    return [e.named(names.get(e.item)) for e in entries]


def live_totals(store: Store) -> tuple[int, int]:
    """(entries, bytes) of the live entries."""
    marks = ", ".join("?" for _ in LIVE)
    ((count, size),) = store.read(
        f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM queue_entry WHERE state IN ({marks})", LIVE
    )
    return count, int(size)  # PostgreSQL sums BIGINTs as NUMERIC


def live_items(store: Store) -> dict[int, int]:
    """Item id -> its live entry's id."""
    marks = ", ".join("?" for _ in LIVE)
    return dict(store.read(f"SELECT item, id FROM queue_entry WHERE state IN ({marks})", LIVE))


def live_among(store: Store, item_ids: Collection[int]) -> set[int]:
    """Those of the given items that have a live entry."""
    marks = ", ".join("?" for _ in LIVE)
    return {
        r[0]
        for r in store.read_in(
            f"SELECT item FROM queue_entry WHERE state IN ({marks}) AND item IN ({{ids}})",
            item_ids,
            LIVE,
        )
    }


def deleted_items(store: Store) -> set[int]:
    """The items an entry deleted."""
    return {r[0] for r in store.read("SELECT item FROM queue_entry WHERE state='deleted'")}


def due(store: Store, now: float, *, force: bool = False) -> list[int]:
    """Queued entries due now (all of them with `force`) and not waiting for a retry, oldest
    deadline first."""
    deadline = "" if force else " AND delete_after <= ?"
    return [
        r[0]
        for r in store.read(
            "SELECT id FROM queue_entry WHERE state='queued' AND "
            f"(next_attempt_at IS NULL OR next_attempt_at <= ?){deadline} "
            "ORDER BY delete_after, id",
            (now,) if force else (now, now),
        )
    ]


def stale(store: Store, claimed_before: float) -> list[int]:
    """Entries left `processing` by an attempt claimed before then."""
    return [
        r[0]
        for r in store.read(
            "SELECT id FROM queue_entry WHERE state='processing' AND claimed_at < ? ORDER BY id",
            (claimed_before,),
        )
    ]


@dataclass(frozen=True)
class NewEntry:
    item: int
    rule: int | None
    action: str
    reset_requests: bool
    import_exclusion: bool
    title: str
    size: int
    queued_at: float
    delete_after: float
    actor: Actor


def add(store: Store, new: NewEntry) -> int | None:
    """Queue an item; None when it has a live entry already. The unique index of live entries
    decides between two requests queueing the same item at once: the loser gets None."""
    inserted = store.execute(
        "INSERT INTO queue_entry (item, rule, state, action, reset_requests, import_exclusion, "
        "title, size, queued_at, delete_after, actor_type, actor_name) "
        "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (item) WHERE state IN ('queued', 'processing') DO NOTHING RETURNING id",
        (
            new.item,
            new.rule,
            new.action,
            new.reset_requests,
            new.import_exclusion,
            new.title,
            new.size,
            new.queued_at,
            new.delete_after,
            new.actor.type,
            new.actor.name,
        ),
    )
    return inserted[0][0] if inserted else None


def move(
    store: Store,
    entry_id: int,
    to: str,
    reason: str,
    *,
    sources: Collection[str],
    attempt: str | None = None,
    columns: Mapping[str, object] | None = None,
) -> bool:
    """Set an entry's state (and `columns`) if it is in one of `sources` and, given `attempt`,
    still held by it: one conditional UPDATE, so of two workers only one wins."""
    columns = columns or {}
    assignments = "".join(f", {name}=?" for name in columns)
    marks = ", ".join("?" for _ in sources)
    held = " AND attempt_id=?" if attempt is not None else ""
    return bool(
        store.update(
            f"UPDATE queue_entry SET state=?, reason=?{assignments} "
            f"WHERE id=? AND state IN ({marks}){held}",
            (to, reason, *columns.values(), entry_id, *sources, *([attempt] if attempt else [])),
        )
    )


def claim(
    store: Store, entry_id: int, attempt_id: str, now: float, stale_before: float | None
) -> bool:
    """Mark a queued entry (or one claimed before `stale_before` and left `processing`)
    `processing` by this attempt; False when another got it first."""
    stale = " OR (state='processing' AND claimed_at < ?)" if stale_before is not None else ""
    return bool(
        store.update(
            "UPDATE queue_entry SET state='processing', attempt_id=?, claimed_at=? "
            f"WHERE id=? AND (state='queued'{stale})",
            (attempt_id, now, entry_id, *(() if stale_before is None else (stale_before,))),
        )
    )


def add_step(store: Store, entry_id: int, attempt_id: str, step: str) -> None:
    """Note a finished upstream step of the attempt holding the entry."""
    (steps,) = store.read(
        "SELECT steps FROM queue_entry WHERE id=? AND attempt_id=?", (entry_id, attempt_id)
    )[0]
    store.update(
        "UPDATE queue_entry SET steps=? WHERE id=? AND attempt_id=?",
        (json.dumps([*json.loads(steps), step]), entry_id, attempt_id),
    )


def mark_reminded(store: Store, entry_id: int, now: float) -> None:
    store.update("UPDATE queue_entry SET reminded_at=? WHERE id=?", (now, entry_id))


def rule_of(store: Store, entry_id: int) -> tuple[int | None, str | None]:
    """The id and name of the rule that queued an entry ((None, None) when a user did)."""
    return store.read(
        "SELECT r.id, r.name FROM queue_entry q LEFT JOIN rule r ON r.id = q.rule WHERE q.id=?",
        (entry_id,),
    )[0]
