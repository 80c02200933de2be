"""What rules would do now, changing nothing: one plan for `prunerr rules plan`, the API's
preview and suggestions, and a real run, which queues what its plan says (through the circuit
breaker), so "would queue" is the same wherever it is asked.

A plan reads the items (a snapshot), every protection (protect rules over those items, and,
through the queue, what users protected since the snapshot was read: items, collections, their
hierarchy) and the queue's state now (live entries, earlier deletions, items gone since). Rules
are taken in priority order, and the first to match an item queues it: a later rule counts it as
already queued.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pony.orm import db_session

from prunerr.dsl import UNKNOWN, EvalContext
from prunerr.dsl.explain import Explanation
from prunerr.planning.protection import FAMILY, spread
from prunerr.rules import Rule
from prunerr.store.items import LibraryItem

if TYPE_CHECKING:
    from prunerr.queue import Queue


@dataclass
class RulePlan:
    """What one rule would do now. Each match of a delete rule is counted once: `protected`,
    `already_queued`, `deleted_before`, `gone`, or in `to_queue`. `unknown` items are not
    matches (the rule cannot be decided for them)."""

    rule: Rule
    candidates: int = 0
    matched: int = 0
    unknown: int = 0
    protected: int = 0  # by a protect rule (or one that cannot tell), a user or a collection
    deleted_before: int = 0  # an earlier entry deleted it; the library still lists it
    gone: int = 0  # it left the library since the snapshot was read
    matched_bytes: int = 0
    to_queue: list[LibraryItem] = field(default_factory=list)
    # matched and queued: by a live entry, or by a rule before this one in the plan (by id)
    pending: list[LibraryItem] = field(default_factory=list)
    claimed_by: dict[int, str] = field(default_factory=dict)  # of `pending`: item -> rule id
    explained: list[tuple[LibraryItem, Explanation]] = field(default_factory=list)

    @property
    def already_queued(self) -> int:
        return len(self.pending)

    @property
    def would_queue(self) -> int:
        return len(self.to_queue)

    @property
    def queue_bytes(self) -> int:
        return sum(item.size for item in self.to_queue)


def by_type(items: list[LibraryItem]) -> dict[str, list[LibraryItem]]:
    """Items grouped by media type (a rule only ever considers one), in their order."""
    groups: dict[str, list[LibraryItem]] = defaultdict(list)
    for item in items:
        groups[item.fields["type"]].append(item)
    return groups


def protected_ids(
    rules: list[Rule],
    items: list[LibraryItem],
    ctx: EvalContext,
    grouped: Mapping[str, list[LibraryItem]] | None = None,
) -> set[int]:
    """Items shielded from deletion: protected by a user, or not known *not* to match an enabled
    protect rule (an unknown protect decision protects: unknown data never deletes), with
    protection following the hierarchy among `items` (`protection.spread`). `grouped` is
    `by_type(items)` when the caller has it already."""
    direct = {item.id for item in items if item.fields.get("protected") is True}
    of_type = grouped if grouped is not None else by_type(items)
    for rule in rules:
        if rule.kind != "protect" or not rule.enabled:
            continue
        evaluate = rule.program.bind(ctx)
        for item in of_type.get(rule.media, ()):
            if rule.in_scope(item.fields) is not False and evaluate(item.fields) is not False:
                direct.add(item.id)
    return spread(direct, {item.id: item.ancestors for item in items if item.ancestors})


def plan(
    rules: list[Rule],
    items: list[LibraryItem],
    ctx: EvalContext,
    *,
    all_rules: list[Rule] | None = None,
    queue: Queue | None = None,
    each_alone: bool = False,
    explain: int = 0,
    grouped: Mapping[str, list[LibraryItem]] | None = None,
) -> list[RulePlan]:
    """What each rule would do now, in priority order. Protect rules are taken from
    `all_rules` (default: `rules`), so planning one delete rule still honours every protection.
    With `queue`, its state now is honoured too (see the module); without, the items alone
    decide (a rule file's tests, benchmarks). `each_alone` plans each rule as if it ran alone:
    what a rule before it matches is not taken from it (rule suggestions)."""
    of_type = grouped if grouped is not None else by_type(items)
    # protection spreads only among shows, seasons and episodes: the planned rules need that of
    # their own media types, and of the whole family for any of its types
    needed = {rule.media for rule in rules}
    needed |= FAMILY if needed & FAMILY else set()
    considered = {kind: of_type.get(kind, []) for kind in needed}
    shielded = protected_ids(
        all_rules if all_rules is not None else rules,
        [item for kind_items in considered.values() for item in kind_items],
        ctx,
        considered,
    )
    plans = []
    for rule in sorted(rules, key=lambda r: (-r.priority, r.id)):
        result = RulePlan(rule)
        evaluate = rule.program.bind(ctx)
        for item in of_type.get(rule.media, ()):
            scope = rule.in_scope(item.fields)
            if scope is False:
                continue
            result.candidates += 1
            value = evaluate(item.fields)
            if value is UNKNOWN or (scope is UNKNOWN and value is True):
                result.unknown += 1
                continue
            if value is not True:
                continue
            result.matched += 1
            result.matched_bytes += item.size
            if rule.kind == "delete":
                if item.id in shielded:
                    result.protected += 1
                else:
                    result.to_queue.append(item)
        plans.append(result)
    _settle(plans, queue, each_alone)
    for result in plans if explain else ():
        top = sorted(result.to_queue, key=lambda i: -i.size)[:explain]
        result.explained = [(i, result.rule.program.explain(i.fields, ctx)) for i in top]
    return plans


def _settle(plans: list[RulePlan], queue: Queue | None, each_alone: bool) -> None:
    """Take out of each plan's `to_queue` what the queue would not take now (`Queue.triage`)
    and, unless `each_alone`, what a rule before it queues."""
    reasons: dict[int, str] = {}
    if queue is not None:
        with db_session:
            wanted = [item.id for p in plans for item in p.to_queue]
            reasons = queue.triage(wanted, skip_done=True)
    claims: dict[int, str] = {}
    for p in plans:
        fresh = []
        for item in p.to_queue:
            reason = reasons.get(item.id)
            if reason is None and item.id in claims:
                p.pending.append(item)
                p.claimed_by[item.id] = claims[item.id]
            elif reason is None:
                fresh.append(item)
                if not each_alone:
                    claims[item.id] = p.rule.id
            elif reason == "queued":
                p.pending.append(item)
            elif reason == "protected":
                p.protected += 1
            elif reason == "done":
                p.deleted_before += 1
            else:
                p.gone += 1
        p.to_queue = fresh
