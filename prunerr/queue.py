"""The deletion queue: entries and their state machine.

    queued ──> processing ──> deleted
      │            ├──> failed            (gave up after `max_attempts`, or nothing can act)
      │            ├──> queued            (a partial or failed attempt waits for its retry)
      ├──> cancelled <──┤                 (a user removed it, or it no longer holds)
      ├──> protected <──┤                 (the item, a collection or a protect rule shields it)
      └──> released <───┘                 (its rule stopped matching)

Every transition is one conditional UPDATE (so two workers never both win) recorded in the
activity log with its actor and reason, in the same transaction. An item has at most one live
(queued or processing) entry; queueing it again keeps the original `delete_after`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace

from prunerr import activity, protection
from prunerr.activity import Actor
from prunerr.database import Store
from prunerr.engine import ItemName, item_names
from prunerr.protection import chunks
from prunerr.rules.model import DELETION_ACTIONS, MAX_GRACE_DAYS

DAY = 86400.0
SCHEDULER_WORKER = Actor("scheduler", "Queue processing")
LIVE = ("queued", "processing")
FINAL = ("deleted", "failed", "cancelled", "protected", "released")
STATES = LIVE + FINAL
TRANSITIONS = {
    "queued": ("processing", "cancelled", "protected", "released"),
    "processing": ("deleted", "failed", "queued", "cancelled", "protected", "released"),
}
ACTION_LABELS = {
    "unmonitor_only": "Unmonitor Only (keep files)",
    "delete_files_only": "Delete Files Only",
    "unmonitor_and_delete": "Unmonitor & Delete Files",
    "full_removal": "Full Removal",
}
assert set(ACTION_LABELS) == set(DELETION_ACTIONS)

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


@dataclass(frozen=True)
class Entry:
    """A queue entry. `title` is the item's display title (`engine.display_title`), read from
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


@dataclass(frozen=True)
class QueueOptions:
    action: str
    grace_days: float
    reset_requests: bool = False
    import_exclusion: bool = False


@dataclass(frozen=True)
class Candidate:
    """An item to queue, as the caller's snapshot sees it (size at queue time; the entry is
    titled by the item's display title, `title` only if the item's row cannot be read)."""

    id: int
    title: str
    size: int


@dataclass
class EnqueueResult:
    queued: list[int] = field(default_factory=list)  # new entry ids
    already: list[int] = field(default_factory=list)  # item ids with a live entry
    skipped: dict[int, str] = field(default_factory=dict)  # item id -> protected | gone | done
    queued_bytes: int = 0


class Queue:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock

    # -- reading (inside the caller's db_session)

    def entry(self, entry_id: int) -> Entry | None:
        entries = self._read(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM queue_entry WHERE id=?", (entry_id,)
        )
        return entries[0] if entries else None

    def _read(self, sql: str, params: tuple) -> list[Entry]:
        """Entries, named after their items (`Entry.named`)."""
        entries = [Entry.from_row(r) for r in self.store.execute(sql, params)]
        names = item_names(self.store, {e.item for e in entries}) if entries else {}
        return [e.named(names.get(e.item)) for e in entries]

    def entries(self, states: Collection[str] = LIVE, item: int | None = None) -> list[Entry]:
        marks = ", ".join("?" for _ in states)
        sql = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM queue_entry WHERE state IN ({marks})"
        params: tuple = tuple(states)
        if item is not None:
            sql, params = sql + " AND item=?", (*params, item)
        return self._read(sql + " ORDER BY id", params)

    def live_items(self) -> dict[int, int]:
        """Item id -> its live entry's id."""
        return dict(
            self.store.execute(
                "SELECT item, id FROM queue_entry WHERE state IN ('queued', 'processing')"
            )
        )

    def live_among(self, item_ids: list[int]) -> set[int]:
        """Those of the given items that have a live entry."""
        if not item_ids:
            return set()
        marks = ", ".join("?" for _ in item_ids)
        return {
            r[0]
            for r in self.store.execute(
                "SELECT item FROM queue_entry WHERE state IN ('queued', 'processing') "
                f"AND item IN ({marks})",
                tuple(item_ids),
            )
        }

    def ready(
        self, now: float, *, force: bool = False, stale_before: float | None = None
    ) -> list[int]:
        """Entries due now (all queued ones with `force`), oldest deadline first, plus those left
        `processing` by a worker that died before `stale_before`."""
        due = "" if force else " AND delete_after <= ?"
        params: tuple = () if force else (now,)
        rows = self.store.execute(
            "SELECT id FROM queue_entry WHERE state='queued' AND "
            f"(next_attempt_at IS NULL OR next_attempt_at <= ?){due} ORDER BY delete_after, id",
            (now, *params),
        )
        ids = [r[0] for r in rows]
        if stale_before is not None:
            stale = self.store.execute(
                "SELECT id FROM queue_entry WHERE state='processing' AND claimed_at < ? "
                "ORDER BY id",
                (stale_before,),
            )
            ids = [r[0] for r in stale] + ids
        return ids

    # -- changing (inside the caller's db_session)

    def enqueue(
        self,
        candidates: Iterable[Candidate],
        options: QueueOptions,
        actor: Actor,
        *,
        rule: int | None = None,
        skip_done: bool = False,
    ) -> EnqueueResult:
        """Queue items unless they are gone, protected (by themselves or a protected collection)
        or already queued (their deadline is kept). `skip_done` also skips items deleted before
        by any entry, so a title still listed after its deletion is not queued again and again."""
        if options.action not in DELETION_ACTIONS:
            raise ValueError(f"unknown deletion action {options.action!r}")
        if not 0 <= options.grace_days <= MAX_GRACE_DAYS:
            raise ValueError(f"a grace period of {options.grace_days} days is out of range")
        now = self.clock()
        result = EnqueueResult()
        candidates = list(candidates)
        reasons = self.triage([c.id for c in candidates], skip_done=skip_done)
        names = item_names(self.store, [c.id for c in candidates])
        for c in candidates:
            reason = reasons.get(c.id)
            if reason == "queued":
                result.already.append(c.id)
            elif reason is not None:
                result.skipped[c.id] = reason
            else:
                deadline = now + options.grace_days * DAY
                title = names[c.id].display if c.id in names else c.title
                # another request may have queued it since `live` was read: the unique index
                # of live entries decides, and the loser answers "already queued"
                inserted = self.store.execute(
                    "INSERT INTO queue_entry (item, rule, state, action, reset_requests, "
                    "import_exclusion, title, size, queued_at, delete_after, actor_type, "
                    "actor_name) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (item) WHERE state IN ('queued', 'processing') DO NOTHING "
                    "RETURNING id",
                    (
                        c.id,
                        rule,
                        options.action,
                        options.reset_requests,
                        options.import_exclusion,
                        title,
                        c.size,
                        now,
                        deadline,
                        actor.type,
                        actor.name,
                    ),
                )
                reasons[c.id] = "queued"  # a candidate listed twice is queued once
                if not inserted:
                    result.already.append(c.id)
                    continue
                entry_id = inserted[0][0]
                result.queued.append(entry_id)
                result.queued_bytes += c.size
                activity.record(
                    self.store,
                    now,
                    "rule_match" if actor.type == "rule" else "manual_action",
                    "item_queued",
                    actor,
                    ("item", c.id, title),
                    entryId=entry_id,
                    gracePeriodDays=options.grace_days,
                    deleteAfter=deadline,
                    deletionAction=options.action,
                    resetOverseerr=options.reset_requests,
                )
        return result

    def transition(
        self,
        entry_id: int,
        to: str,
        actor: Actor,
        reason: str,
        *,
        expect: Collection[str] | None = None,
        attempt: str | None = None,
        **columns: object,
    ) -> bool:
        """Move an entry to `to` if it is still in one of the `expect` states (default: every
        state `to` may follow) and, given `attempt`, still held by that attempt; False when
        another actor got there first."""
        sources = tuple(expect or (s for s, targets in TRANSITIONS.items() if to in targets))
        if any(to not in TRANSITIONS.get(s, ()) for s in sources):
            raise ValueError(f"no transition from {sources} to {to!r}")
        now = self.clock()
        if to in FINAL:
            columns.setdefault("finished_at", now)
        assignments = "".join(f", {name}=?" for name in columns)
        marks = ", ".join("?" for _ in sources)
        held = " AND attempt_id=?" if attempt is not None else ""
        changed = self.store.update(
            f"UPDATE queue_entry SET state=?, reason=?{assignments} "
            f"WHERE id=? AND state IN ({marks}){held}",
            (to, reason, *columns.values(), entry_id, *sources, *([attempt] if attempt else [])),
        )
        if changed:
            entry = self.entry(entry_id)
            assert entry is not None
            self._record(entry, to, actor, reason)
        return bool(changed)

    def _record(self, entry: Entry, state: str, actor: Actor, reason: str) -> None:
        activity.record(
            self.store,
            self.clock(),
            "queue",
            state,
            actor,
            ("item", entry.item, entry.title),
            entryId=entry.id,
            reason=reason,
            attempts=entry.attempts,
        )

    def claim(self, entry_id: int, attempt_id: str, stale_before: float | None = None) -> bool:
        """Take a queued entry (or one a dead worker left `processing` before `stale_before`)
        for one attempt. Recorded before any upstream call."""
        now = self.clock()
        stale = " OR (state='processing' AND claimed_at < ?)" if stale_before is not None else ""
        params = (attempt_id, now, entry_id) + ((stale_before,) if stale_before is not None else ())
        changed = self.store.update(
            "UPDATE queue_entry SET state='processing', attempt_id=?, claimed_at=? "
            f"WHERE id=? AND (state='queued'{stale})",
            params,
        )
        if changed:
            entry = self.entry(entry_id)
            assert entry is not None
            self._record(entry, "processing", SCHEDULER_WORKER, f"attempt {attempt_id}")
        return bool(changed)

    def record_step(self, entry_id: int, attempt_id: str, step: str) -> None:
        """Note a finished upstream step, so a retry after a crash skips it."""
        (steps,) = self.store.execute(
            "SELECT steps FROM queue_entry WHERE id=? AND attempt_id=?", (entry_id, attempt_id)
        )[0]
        done = [*json.loads(steps), step]
        self.store.update(
            "UPDATE queue_entry SET steps=? WHERE id=? AND attempt_id=?",
            (json.dumps(done), entry_id, attempt_id),
        )

    def cancel(
        self, entry_id: int, actor: Actor, reason: str = "removed from the queue by a user"
    ) -> bool:
        """Take a queued entry out of the queue, kept as `cancelled` (a rule may queue its item
        again); False when it is not queued (any more)."""
        return self.transition(entry_id, "cancelled", actor, reason, expect=("queued",))

    def shield(self, item_ids: Iterable[int], actor: Actor, reason: str) -> list[Entry]:
        """Protection was added: the queued entries of the items, of the seasons and episodes
        under them and of the season and show holding them end as `protected`. Answers the
        entries it ended (as they were before)."""
        ended = []
        for item_id in sorted(protection.family(self.store, set(item_ids))):
            for entry in self.entries(("queued",), item=item_id):
                if self.transition(entry.id, "protected", actor, reason, expect=("queued",)):
                    ended.append(entry)
        return ended

    def triage(self, item_ids: Collection[int], *, skip_done: bool = False) -> dict[int, str]:
        """Why each of the given items would not be queued now: `gone` (no longer in the
        library), `queued` (it has a live entry), `protected` (by a user: the item, a collection
        it is in, or its hierarchy) or, with `skip_done`, `done` (an earlier entry deleted it).
        The items that would be queued are not in the answer."""
        ids = list(dict.fromkeys(item_ids))
        live = self.live_items()
        gone = self._gone(ids)
        shielded = self.protected_items([i for i in ids if i not in live and i not in gone])
        done = self._done() if skip_done else set()
        reasons = {}
        for item_id in ids:
            for reason, found in (
                ("gone", gone),
                ("queued", live),
                ("protected", shielded),
                ("done", done),
            ):
                if item_id in found:
                    reasons[item_id] = reason
                    break
        return reasons

    def protected_items(self, item_ids: Collection[int]) -> set[int]:
        """The given items that a user protected, directly or through a protected collection,
        with protection following the hierarchy (`protection.spread`)."""
        if not item_ids:
            return set()
        titles = {r[0] for r in self.store.execute("SELECT title FROM collection WHERE protected")}
        direct, ancestors = set(), {}
        for part in chunks(sorted(protection.family(self.store, item_ids))):
            marks = ", ".join("?" for _ in part)
            rows = self.store.execute(
                f"SELECT id, parent, show, protected, collections FROM item WHERE id IN ({marks})",
                tuple(part),
            )
            for item_id, parent, show, protected, collections in rows:
                ancestors[item_id] = tuple(a for a in (parent, show) if a is not None)
                if protected or (titles and titles & set(json.loads(collections))):
                    direct.add(item_id)
        return protection.spread(direct, ancestors) & set(item_ids)

    def _gone(self, item_ids: list[int]) -> set[int]:
        found = set()
        for part in chunks(item_ids):
            marks = ", ".join("?" for _ in part)
            found |= {
                r[0]
                for r in self.store.execute(
                    f"SELECT id FROM item WHERE id IN ({marks}) AND tombstoned_at IS NULL",
                    tuple(part),
                )
            }
        return set(item_ids) - found

    def _done(self) -> set[int]:
        return {
            r[0] for r in self.store.execute("SELECT item FROM queue_entry WHERE state='deleted'")
        }
