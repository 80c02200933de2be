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

import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field

from prunerr.dsl.units import DAY
from prunerr.planning import protection
from prunerr.rules.model import DELETION_ACTIONS, MAX_GRACE_DAYS
from prunerr.store import activity, collections, queue_entries
from prunerr.store.activity import Actor
from prunerr.store.database import Store
from prunerr.store.items import family, item_names, live_among, protection_rows
from prunerr.store.queue_entries import LIVE, Entry, NewEntry

SCHEDULER_WORKER = Actor("scheduler", "Queue processing")
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


@dataclass
class LiveSummary:
    """Totals of the live entries (`Queue.live_listing`)."""

    entries: int = 0
    size: int = 0
    ready: int = 0  # past their grace period
    resetting_requests: int = 0


class Queue:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock

    # -- reading (inside the caller's db_session)

    def entry(self, entry_id: int) -> Entry | None:
        return queue_entries.entry(self.store, entry_id)

    def entries(self, states: Collection[str] = LIVE, item: int | None = None) -> list[Entry]:
        return queue_entries.entries(self.store, states, item)

    def live_listing(
        self, now: float, start: int = 0, stop: int | None = None, part: int = 500
    ) -> tuple[Iterator[Entry], LiveSummary]:
        """The live entries at positions `start` to `stop` (soonest deletion first), named a
        part at a time, and the summary of every live entry: complete once the entries are
        consumed, inside the caller's db_session. One read of the queue, a part's memory."""
        summary = LiveSummary()

        def listing() -> Iterator[Entry]:
            shown: list[Entry] = []
            for position, entry in enumerate(queue_entries.stream_live(self.store)):
                summary.entries += 1
                summary.size += entry.size
                summary.ready += entry.delete_after <= now
                summary.resetting_requests += entry.reset_requests
                if start <= position and (stop is None or position < stop):
                    shown.append(entry)
                    if len(shown) == part:
                        yield from queue_entries.named(self.store, shown)
                        shown = []
            yield from queue_entries.named(self.store, shown)

        return listing(), summary

    def live_items(self) -> dict[int, int]:
        """Item id -> its live entry's id."""
        return queue_entries.live_items(self.store)

    def live_among(self, item_ids: list[int]) -> set[int]:
        """Those of the given items that have a live entry."""
        return queue_entries.live_among(self.store, item_ids) if item_ids else set()

    def ready(
        self, now: float, *, force: bool = False, stale_before: float | None = None
    ) -> list[int]:
        """Entries due now (all queued ones with `force`), oldest deadline first, plus those left
        `processing` by a worker that died before `stale_before`."""
        ids = queue_entries.due(self.store, now, force=force)
        if stale_before is not None:
            ids = queue_entries.stale(self.store, stale_before) + ids
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
                entry_id = queue_entries.add(
                    self.store,
                    NewEntry(
                        c.id,
                        rule,
                        options.action,
                        options.reset_requests,
                        options.import_exclusion,
                        title,
                        c.size,
                        now,
                        deadline,
                        actor,
                    ),
                )
                reasons[c.id] = "queued"  # a candidate listed twice is queued once
                if entry_id is None:
                    result.already.append(c.id)
                    continue
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
        changed = queue_entries.move(
            self.store, entry_id, to, reason, sources=sources, attempt=attempt, columns=columns
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
        changed = queue_entries.claim(self.store, entry_id, attempt_id, self.clock(), stale_before)
        if changed:
            entry = self.entry(entry_id)
            assert entry is not None
            self._record(entry, "processing", SCHEDULER_WORKER, f"attempt {attempt_id}")
        return bool(changed)

    def record_step(self, entry_id: int, attempt_id: str, step: str) -> None:
        """Note a finished upstream step, so a retry after a crash skips it."""
        queue_entries.add_step(self.store, entry_id, attempt_id, step)

    def remind(self, within: float) -> list[Entry]:
        """The queued entries due within `within` seconds that were not reminded of yet, now
        marked reminded (each is announced once)."""
        now = self.clock()
        soon = [
            e
            for e in self.entries(("queued",))
            if e.reminded_at is None and e.delete_after <= now + within
        ]
        for entry in soon:
            queue_entries.mark_reminded(self.store, entry.id, now)
        return soon

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
        for item_id in sorted(family(self.store, set(item_ids))):
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
        gone = set(ids) - live_among(self.store, ids)
        shielded = self.protected_items([i for i in ids if i not in live and i not in gone])
        done = queue_entries.deleted_items(self.store) if skip_done else set()
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
        titles = collections.protected_titles(self.store)
        direct, ancestors = set(), {}
        for item_id, parent, show, protected, names in protection_rows(
            self.store, family(self.store, item_ids)
        ):
            ancestors[item_id] = tuple(a for a in (parent, show) if a is not None)
            if protected or (titles and titles & set(names)):
                direct.add(item_id)
        return protection.spread(direct, ancestors) & set(item_ids)
