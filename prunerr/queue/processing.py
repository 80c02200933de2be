"""Processing the queue: judge each due entry again, then act on it upstream, crash-safely.

An entry is claimed (state `processing`, a fresh attempt id) before any upstream call, and each
finished step is recorded, so a worker killed at any point leaves an entry that the next run
(after `claim_timeout`) resumes: finished steps are skipped, and the others are idempotent
(they read the target's state first; a 404 counts as done). A deletion is recorded in the same
transaction as the entry's `deleted` state, so none goes unrecorded and none is recorded twice.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from pony.orm import db_session

from prunerr.config import Config
from prunerr.dsl.units import format_size
from prunerr.http import recorded_calls
from prunerr.planning.evaluation import Evaluator
from prunerr.queue import Queue
from prunerr.queue.notify import Notifications
from prunerr.sdk import (
    LibraryManager,
    MediaServer,
    RequestTracker,
    ServiceError,
    ServiceList,
    Target,
)
from prunerr.store import activity, deletions, queue_entries, requests
from prunerr.store.activity import SCHEDULER, Actor
from prunerr.store.database import Store
from prunerr.store.items import ItemTarget, family, mark_unmonitored, target, tombstone
from prunerr.store.queue_entries import Entry

log = logging.getLogger(__name__)

# what each action does upstream, in order, for items a library manager has
STEPS = {
    "unmonitor_only": ("unmonitor",),
    "delete_files_only": ("delete_files",),
    "unmonitor_and_delete": ("unmonitor", "delete_files"),
    "full_removal": ("remove",),
}
FREES_SPACE = {"delete_files", "remove", "server_delete"}


@dataclass(frozen=True)
class Limits:
    max_items: int = 100
    max_bytes: int = 2000 * 10**9
    max_attempts: int = 5
    retry_after: float = 900.0  # first retry of a failed attempt; doubles each time
    postpone: float = 6 * 3600.0  # when the data to decide is unknown
    claim_timeout: float = 600.0  # an entry `processing` for longer was left by a dead worker

    @classmethod
    def of(cls, config: Config) -> Limits:
        return cls(
            max_items=int(config["max_deletions_per_run"]),
            max_bytes=int(config["max_gb_per_run"]) * 10**9,
            max_attempts=max(1, int(config["max_attempts"])),
        )


@dataclass
class ProcessReport:
    dry_run: bool
    deleted: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # cancelled, protected, released, postponed
    deferred: int = 0  # left for the next run by the per-run limits
    freed: int = 0
    requests_reset: int = 0


class Processor:
    def __init__(
        self,
        store: Store,
        services: ServiceList,
        evaluator: Evaluator,
        *,
        limits: Limits | None = None,
        notifications: Notifications | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.services = services
        self.evaluator = evaluator
        self._limits = limits  # None: from the settings, read at each use
        self.notifications = notifications or Notifications([])
        self.clock = clock
        self.queue = Queue(store, clock)

    @property
    def limits(self) -> Limits:
        return self._limits or Limits.of(self.evaluator.config)

    @property
    def dry_run(self) -> bool:
        return bool(self.evaluator.config["dry_run"])

    def due(self, *, force: bool = False) -> list[int]:
        now = self.clock()
        with db_session:
            return self.queue.ready(now, force=force, stale_before=now - self.limits.claim_timeout)

    def select(self, *, force: bool = False) -> tuple[list[int], int]:
        """The due entries one run takes within the per-run limits, and how many wait."""
        chosen, deferred = [], 0
        items, room = self.limits.max_items, self.limits.max_bytes
        with db_session:
            for entry_id in self.due(force=force):
                entry = self.queue.entry(entry_id)
                if entry is None:
                    continue
                if items <= 0 or entry.size > room:
                    deferred += 1
                    continue
                chosen.append(entry_id)
                items, room = items - 1, room - entry.size
        return chosen, deferred

    def process(
        self,
        entry_ids: Collection[int] | None = None,
        *,
        force: bool = False,
        dry_run: bool | None = None,
        actor: Actor = SCHEDULER,
    ) -> ProcessReport:
        """Process the given entries, or those due now (all queued ones with `force`), within
        the per-run limits."""
        dry = self.dry_run if dry_run is None else dry_run
        self.evaluator.check_protection()
        report = ProcessReport(dry)
        if entry_ids is None:
            ids, report.deferred = self.select(force=force)
        else:
            ids = list(entry_ids)
        with db_session:
            entries = [e for e in map(self.queue.entry, ids) if e is not None]
            relatives = family(self.store, {e.item for e in entries})
        items = self.evaluator.library.items_of(relatives)
        ctx = self.evaluator.context()
        for entry in entries:
            entry_id = entry.id
            if entry.state not in ("queued", "processing"):
                continue
            verdict = self.evaluator.judge(entry, items, ctx)
            if dry:
                self._dry_run(entry, verdict.outcome, verdict.reason, report, actor)
                continue
            attempt = uuid.uuid4().hex
            now = self.clock()
            with db_session:
                if not self.queue.claim(entry_id, attempt, now - self.limits.claim_timeout):
                    continue  # another worker has it
            if verdict.outcome != "ok":
                self._skip(entry, attempt, verdict.outcome, verdict.reason, report, actor)
                continue
            self._act(entry, attempt, report, actor)
        if report.deleted:
            self.notifications.send(
                "deleted",
                f"{len(report.deleted)} item(s) {'would be deleted' if dry else 'deleted'}",
                f"{format_size(sum(d['size'] for d in report.deleted))} would be freed."
                if dry
                else f"{format_size(report.freed)} freed.",
                tuple((d["title"], d["action"]) for d in report.deleted),
                dry_run=dry,
            )
        if report.failed:
            self.notifications.send(
                "failed",
                f"{len(report.failed)} deletion(s) failed",
                "They are retried with backoff; see the activity log.",
                tuple((f["title"], f["error"]) for f in report.failed),
                dry_run=dry,
            )
        return report

    def _dry_run(self, entry: Entry, outcome: str, reason: str, report, actor) -> None:
        steps = self._steps(entry, self._item(entry.item)) if outcome == "ok" else []
        with db_session:
            activity.record(
                self.store,
                self.clock(),
                "dry_run",
                "would_delete" if outcome == "ok" else f"would_{outcome}",
                actor,
                ("item", entry.item, entry.title),
                entryId=entry.id,
                steps=[name for name, _ in steps],
                reason=reason,
            )
        (report.deleted if outcome == "ok" else report.skipped).append(
            {
                "id": entry.id,
                "itemId": entry.item,
                "title": entry.title,
                "reason": reason,
                "action": entry.action,
                "size": entry.size,
            }
        )

    def _requeue(self, entry: Entry, attempt: str, actor, reason: str, delay: float, **columns):
        """Give the claimed entry back to the queue, not to be tried again for `delay` s."""
        self.queue.transition(
            entry.id,
            "queued",
            actor,
            reason,
            expect=("processing",),
            attempt=attempt,
            next_attempt_at=self.clock() + delay,
            **columns,
        )

    def _skip(self, entry: Entry, attempt: str, outcome: str, reason: str, report, actor) -> None:
        with db_session:
            if outcome == "postpone":
                self._requeue(entry, attempt, actor, reason, self.limits.postpone)
            else:
                self.queue.transition(
                    entry.id, outcome, actor, reason, expect=("processing",), attempt=attempt
                )
        report.skipped.append(
            {
                "id": entry.id,
                "itemId": entry.item,
                "title": entry.title,
                "outcome": outcome,
                "reason": reason,
            }
        )

    def _item(self, item_id: int) -> ItemTarget:
        with db_session:
            return target(self.store, item_id)

    def _steps(self, entry: Entry, item: ItemTarget) -> list[tuple[str, Callable[[], bool]]]:
        """The upstream calls the entry's action takes for this item, in order."""
        manager = next(
            (
                s
                for s in self.services.with_role("library_manager")
                if s.name == item.arr_instance and isinstance(s, LibraryManager)
            ),
            None,
        )
        if manager is not None and item.arr_id is not None:
            target = Target(item.type, item.arr_id, item.season, item.episode)
            names = STEPS[entry.action]
            if "remove" in names and item.type in ("season", "episode"):
                names = ("unmonitor", "delete_files")  # Sonarr removes whole series only
            calls = {
                "unmonitor": lambda: manager.unmonitor_target(target),
                "delete_files": lambda: manager.delete_target_files(target),
                "remove": lambda: manager.remove_target(target, entry.import_exclusion),
            }
            return [(name, calls[name]) for name in names]
        if entry.action == "unmonitor_only":
            return []  # nothing monitors it: there is nothing this action can do
        server = next(
            (
                s
                for s in self.services.with_role("media_server")
                if s.name == item.server and isinstance(s, MediaServer)
            ),
            None,
        )
        if server is None:
            return []
        return [("server_delete", lambda: server.delete(item.server_key))]

    def _act(self, entry: Entry, attempt: str, report: ProcessReport, actor: Actor) -> None:
        item = self._item(entry.item)
        steps = self._steps(entry, item)
        if not steps:
            error = (
                "no library manager or media server can carry out "
                f"{entry.action} for this item (is its Radarr/Sonarr configured?)"
            )
            with db_session:
                self.queue.transition(
                    entry.id,
                    "failed",
                    actor,
                    error,
                    expect=("processing",),
                    attempt=attempt,
                    attempts=entry.attempts + 1,
                )
            report.failed.append({"id": entry.id, "title": entry.title, "error": error})
            return
        done = list(entry.steps)
        with recorded_calls() as calls:
            try:
                for name, call in steps:
                    if name in done:
                        continue
                    call()
                    with db_session:
                        self.queue.record_step(entry.id, attempt, name)
                    done.append(name)
            except ServiceError as exc:
                self._failed(
                    entry, attempt, done, [n for n, _ in steps], str(exc), calls, report, actor
                )
                return
        self._deleted(entry, attempt, item, done, calls, report, actor)

    def _failed(self, entry, attempt, done, planned, error, calls, report, actor) -> None:
        attempts = entry.attempts + 1
        partial = bool(done)
        missing = [step for step in planned if step not in done]
        what = f"done: {', '.join(done) or 'nothing'}; not done: {', '.join(missing)}"
        reason = f"{'partial' if partial else 'failed'} attempt {attempts}: {error} ({what})"
        with db_session:
            if attempts >= self.limits.max_attempts:
                self.queue.transition(
                    entry.id,
                    "failed",
                    actor,
                    reason,
                    expect=("processing",),
                    attempt=attempt,
                    attempts=attempts,
                )
            else:
                delay = self.limits.retry_after * 2 ** (attempts - 1)
                self._requeue(entry, attempt, actor, reason, delay, attempts=attempts)
            activity.record(
                self.store,
                self.clock(),
                "deletion",
                "partial" if partial else "failed",
                actor,
                ("item", entry.item, entry.title),
                entryId=entry.id,
                error=error,
                done=done,
                calls=calls,
            )
        report.failed.append(
            {
                "id": entry.id,
                "title": entry.title,
                "error": error,
                "partial": partial,
                "done": done,
                "attempts": attempts,
            }
        )

    def _deleted(self, entry, attempt, item: ItemTarget, done, calls, report, actor) -> None:
        now = self.clock()
        freed = entry.size if FREES_SPACE & set(done) else 0
        with db_session:
            if not self.queue.transition(
                entry.id,
                "deleted",
                actor,
                f"{entry.action} done",
                expect=("processing",),
                attempt=attempt,
            ):
                return
            rule = queue_entries.rule_of(self.store, entry.id)
            deletions.record(self.store, entry, item.type, freed, rule, now, calls)
            if freed:
                tombstone(self.store, entry.item, now)
            elif "unmonitor" in done:
                mark_unmonitored(self.store, entry.item)
            activity.record(
                self.store,
                now,
                "deletion",
                "deleted" if freed else "unmonitored",
                actor,
                ("item", entry.item, entry.title),
                entryId=entry.id,
                mediaType=item.type,
                fileSize=entry.size,
                deletionAction=entry.action,
                steps=done,
            )
        report.deleted.append(
            {
                "id": entry.id,
                "itemId": entry.item,
                "title": entry.title,
                "action": entry.action,
                "size": entry.size,
                "freed": freed,
                "calls": calls,
            }
        )
        report.freed += freed
        if entry.reset_requests:
            report.requests_reset += self._reset_requests(entry, item)

    def _reset_requests(self, entry: Entry, item: ItemTarget) -> int:
        """Let the title be requested again; a failure is recorded, the deletion stands."""
        tmdb = item.tmdb_id if item.type == "movie" else item.show_tmdb_id or item.tmdb_id
        tvdb = None if item.type == "movie" else item.show_tvdb_id or item.tvdb_id
        media = "movie" if item.type == "movie" else "show"
        with db_session:
            rows = sorted(requests.requested(self.store, media, tmdb, tvdb))
        trackers = {
            s.name: s for s in self.services.with_role("requests") if isinstance(s, RequestTracker)
        }
        outcomes, reset = [], 0
        for source, media_id in rows:
            tracker = trackers.get(source)
            if tracker is None:
                outcomes.append(f"{source}: not configured")
                continue
            try:
                tracker.reset(media_id)
                outcomes.append(f"{tracker.name}: media {media_id} reset")
                reset += 1
            except ServiceError as exc:
                outcomes.append(f"{tracker.name}: failed: {exc}")
        with db_session:
            deletions.note_requests_reset(
                self.store, entry.id, "; ".join(outcomes) or "no request found"
            )
        return reset
