"""Rule evaluation with consequences: queue what delete rules match, release what stopped
matching, and judge a queued entry again right before it is processed.

Scheduled runs, `POST /api/rules/:id/run` and queue processing all go through here, so they honour
the same protections: the item's own, its collections', and every enabled protect rule (an
unknown protect decision protects), following the hierarchy (`prunerr.planning.protection`).
Unknown data never queues and never deletes, and while a rule that may protect items does not
load, nothing is queued (`ProtectionBroken`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pony.orm import db_session

from prunerr.config import Config
from prunerr.dsl import UNKNOWN, EvalContext
from prunerr.dsl.units import DAY, format_size
from prunerr.planning import plan, protected_ids
from prunerr.planning.library_index import LibraryIndex, Snapshot
from prunerr.queue import Candidate, EnqueueResult, Queue, QueueOptions
from prunerr.queue.notify import Notifications
from prunerr.rules import Rule
from prunerr.rules.rulebook import BookRule, ProtectionBroken, RuleBook
from prunerr.store import activity
from prunerr.store.activity import SCHEDULER, Actor
from prunerr.store.database import Store
from prunerr.store.items import LibraryItem, family
from prunerr.store.queue_entries import Entry

log = logging.getLogger(__name__)
BREAKER_FLOOR = 10  # the circuit breaker ignores runs that would queue fewer items than this


@dataclass
class RuleRun:
    """What one evaluation of one delete rule did. Every match is counted once, in one of
    `queued`, `already_queued`, `protected`, `held`, `deleted_before` and `gone`;
    `unknown` items are not matches (the rule could not be decided for them)."""

    rule: int
    name: str
    candidates: int = 0
    matched: int = 0
    unknown: int = 0
    protected: int = 0
    queued: int = 0
    already_queued: int = 0  # queued before, by this rule or another one, and not done yet
    held: int = 0  # not queued: the breaker stopped this rule, or the rule that took the item
    deleted_before: int = 0  # not queued again: an earlier entry deleted it
    gone: int = 0  # not queued: it left the library since the snapshot was read
    released: int = 0
    queued_bytes: int = 0
    tripped: bool = False  # the circuit breaker refused to queue
    confirmed: bool = False  # the circuit breaker would have tripped; the run was confirmed
    would_queue: int = 0
    entries: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    """Whether a queued entry may be acted on now: `ok`, or the state it should end in
    (`protected`, `released`, `cancelled`), or `postpone` when the answer is unknown."""

    outcome: str
    reason: str


def options_of(rule: Rule) -> QueueOptions:
    return QueueOptions(
        rule.deletion_action, rule.grace_period / DAY, rule.reset_overseerr, rule.import_exclusion
    )


class Evaluator:
    def __init__(
        self,
        store: Store,
        book: RuleBook,
        library: LibraryIndex,
        config: Config,
        *,
        notifications: Notifications | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.book = book
        self.library = library
        self.config = config  # read at each use: settings can change while running
        self.notifications = notifications or Notifications([])
        self.clock = clock
        self.queue = Queue(store, clock)
        self._announced_broken: tuple[str, ...] = ()

    @property
    def breaker_share(self) -> float:
        return float(self.config["circuit_breaker"])

    @property
    def release_unmatched(self) -> bool:
        return bool(self.config["release_unmatched"])

    def check_protection(self) -> None:
        """Raise ProtectionBroken while a rule that may protect items does not load. Broken
        rules are announced (`rules_broken`) once for each set of them."""
        contents = self.book.contents()
        broken = tuple(sorted(b.id for b in contents.broken.values()))
        if broken != self._announced_broken:
            self._announced_broken = broken
            stopping = contents.stopping_deletion
            if stopping:
                self.notifications.send(
                    "rules_broken", "Deletion is stopped", str(ProtectionBroken(stopping))
                )
            elif broken:
                self.notifications.send(
                    "rules_broken",
                    f"{len(broken)} rule(s) do not load and are skipped",
                    "; ".join(f"{b.id}: {b.message}" for b in contents.broken.values()),
                )
        contents.check_protection()

    def context(self) -> EvalContext:
        return EvalContext(datetime.fromtimestamp(self.clock(), UTC))

    def run(
        self,
        rule_ids: Collection[int] | None = None,
        *,
        actor: Actor = SCHEDULER,
        confirm: bool = False,
    ) -> list[RuleRun]:
        """Evaluate delete rules in priority order and queue their matches (the first rule to
        match an item queues it): exactly `rule_ids`, enabled or not, or else every enabled
        rule without a schedule of its own."""
        self.check_protection()
        contents = self.book.contents()
        chosen = [
            b
            for b in contents.rules.values()
            if b.rule.kind == "delete"
            and (
                b.id in rule_ids
                if rule_ids is not None
                else b.rule.enabled and b.rule.schedule is None
            )
        ]
        every_rule = [b.rule for b in contents.rules.values()]
        snapshot, ctx = self.library.snapshot(fresh=True), self.context()
        by_rule = {b.rule.id: b for b in chosen}
        plans = plan(
            [b.rule for b in chosen],
            snapshot.items,
            ctx,
            all_rules=every_rule,
            queue=self.queue,
            grouped=snapshot.grouped(),
        )
        runs, tripped = [], set()
        for rule_plan in plans:
            book_rule = by_rule[rule_plan.rule.id]
            # claimed by a rule before it that the breaker stopped: held, not queued by this one
            held = sum(1 for rule in rule_plan.claimed_by.values() if rule in tripped)
            run = RuleRun(
                book_rule.id,
                book_rule.rule.name,
                candidates=rule_plan.candidates,
                matched=rule_plan.matched,
                unknown=rule_plan.unknown,
                protected=rule_plan.protected,
                already_queued=rule_plan.already_queued - held,
                held=held,
                deleted_before=rule_plan.deleted_before,
                gone=rule_plan.gone,
                would_queue=rule_plan.would_queue,
            )
            with db_session:
                fresh = rule_plan.to_queue  # its would-queue: not queued or taken before
                limit = max(self.breaker_share * rule_plan.candidates, BREAKER_FLOOR)
                if len(fresh) > limit and not confirm:
                    run.tripped, run.held = True, run.held + len(fresh)
                    tripped.add(rule_plan.rule.id)
                    self._trip(book_rule, run, len(fresh), actor)
                else:
                    run.confirmed = len(fresh) > limit
                    # the queue judges each item again as it writes: what changed since the
                    # plan is counted as it turns out
                    result = self.queue.enqueue(
                        [Candidate(i.id, i.display_title, i.size) for i in fresh],
                        options_of(book_rule.rule),
                        Actor.rule(book_rule.id, book_rule.rule.name),
                        rule=book_rule.id,
                        skip_done=True,
                    )
                    run.queued, run.queued_bytes = len(result.queued), result.queued_bytes
                    run.already_queued += len(result.already)
                    skipped = list(result.skipped.values())
                    run.protected += skipped.count("protected")
                    run.deleted_before += skipped.count("done")
                    run.gone += skipped.count("gone")
                    run.entries = result.queued
                run.released = self._release_unmatched(book_rule, snapshot, ctx)
            runs.append(run)
        self._announce(runs)
        return runs

    def _trip(self, book_rule: BookRule, run: RuleRun, count: int, actor: Actor) -> None:
        reason = (
            f"would queue {count} of {run.candidates} candidates, more than "
            f"{self.breaker_share:.0%}; run it again with confirm=true to queue them"
        )
        activity.record(
            self.store,
            self.clock(),
            "circuit_breaker",
            "tripped",
            actor,
            ("rule", book_rule.id, book_rule.rule.name),
            wouldQueue=count,
            candidates=run.candidates,
            share=self.breaker_share,
            reason=reason,
        )
        self.notifications.send(
            "circuit_breaker", f"Rule “{book_rule.rule.name}” was stopped", reason
        )

    def _release_unmatched(self, book_rule: BookRule, snapshot: Snapshot, ctx: EvalContext) -> int:
        """Entries of this rule whose item it no longer matches (a known False)."""
        released = 0
        actor = Actor.rule(book_rule.id, book_rule.rule.name)
        for entry in self.queue.entries(("queued",)):
            if entry.rule != book_rule.id:
                continue
            item = snapshot.by_id.get(entry.item)
            if item is None or book_rule.rule.evaluate(item.fields, ctx) is not False:
                continue
            if self.release_unmatched:
                released += self.queue.transition(
                    entry.id, "released", actor, "the rule no longer matches", expect=("queued",)
                )
            else:
                activity.record(
                    self.store,
                    self.clock(),
                    "queue",
                    "unmatched",
                    actor,
                    ("item", entry.item, entry.title),
                    entryId=entry.id,
                    reason="the rule no longer matches; kept queued (release_unmatched is off)",
                )
        return released

    def _announce(self, runs: list[RuleRun]) -> None:
        queued = [r for r in runs if r.queued]
        if not queued:
            return
        total = sum(r.queued for r in queued)
        size = sum(r.queued_bytes for r in queued)
        self.notifications.send(
            "queued",
            f"{total} item{'s' if total != 1 else ''} queued for deletion",
            f"{format_size(size)} in all; each can be removed from the queue before its time.",
            tuple((r.name, f"{r.queued} item(s), {format_size(r.queued_bytes)}") for r in queued),
        )

    def queue_by_hand(
        self, item_ids: list[int], options: QueueOptions, actor: Actor
    ) -> EnqueueResult:
        """Queue items a user picked, unless something protects them: the same protections
        as rule runs (the item, its collections, every enabled protect rule)."""
        self.check_protection()
        snapshot, ctx = self.library.snapshot(fresh=True), self.context()
        known = [snapshot.by_id[i] for i in item_ids if i in snapshot.by_id]
        with db_session:
            relatives = [
                snapshot.by_id[i] for i in family(self.store, item_ids) if i in snapshot.by_id
            ]
        shielded = protected_ids(self.book.rules(), relatives, ctx) & set(item_ids)
        with db_session:
            result = self.queue.enqueue(
                [Candidate(i.id, i.display_title, i.size) for i in known if i.id not in shielded],
                options,
                actor,
            )
        result.skipped.update({i: "protected" for i in shielded})
        result.skipped.update({i: "gone" for i in item_ids if i not in snapshot.by_id})
        return result

    def judge(self, entry: Entry, items: Mapping[int, LibraryItem], ctx: EvalContext) -> Verdict:
        """Does the entry still hold, on the latest synced data and current protections?
        `items` holds the entry's item and its family (`protection.family`) as freshly read
        (LibraryIndex.items_of)."""
        item = items.get(entry.item)
        if item is None:
            return Verdict("cancelled", "the item is no longer in the library")
        with db_session:
            if self.queue.protected_items([entry.item]):
                return Verdict(
                    "protected",
                    "the item, a collection it is in, its show or season, or a season or episode "
                    "it holds is protected",
                )
            relatives = [items[i] for i in family(self.store, [entry.item]) if i in items]
        contents = self.book.contents()
        if entry.item in protected_ids(self.book.rules(), relatives, ctx):
            return Verdict(
                "protected", "a protect rule shields it (or cannot tell that it does not)"
            )
        if entry.rule is None:
            return Verdict("ok", "queued by hand")
        if entry.rule in contents.broken:
            return Verdict(
                "postpone", f"its rule does not load: {contents.broken[entry.rule].message}"
            )
        book_rule = contents.rules.get(entry.rule)
        if book_rule is None:
            return Verdict("released", "its rule was deleted")
        result = book_rule.rule.evaluate(item.fields, ctx)
        if result is UNKNOWN:
            return Verdict("postpone", "the rule cannot be decided on the data available now")
        if result is not True:
            return Verdict("released", "the rule no longer matches")
        return Verdict("ok", f"still matches “{book_rule.rule.name}”")
