"""The deletion queue and queueing by hand: thin doors onto prunerr.queue,
prunerr.planning.evaluation and prunerr.queue.processing."""

from __future__ import annotations

from collections.abc import Iterator

import falcon
from pony.orm import db_session

from prunerr import wire
from prunerr.compat import rules as compat
from prunerr.planning.library_index import Snapshot
from prunerr.queue import ACTION_LABELS, Queue, QueueOptions
from prunerr.store.activity import USER
from prunerr.store.items import listing_title
from prunerr.store.queue_entries import Entry

from . import params
from .errors import ApiError, ok, ok_listing


def entry_json(api, snapshot: Snapshot, entry: Entry, now: float) -> wire.QueueEntry:
    """`title` as in the library listing (`items.listing_title`); `displayTitle` the entry's."""
    item = snapshot.by_id.get(entry.item)
    ident = snapshot.identity.get(entry.item)
    book_rule = api.book.get(entry.rule) if entry.rule is not None else None
    kind = item.fields["type"] if item else None
    return wire.QueueEntry(
        id=entry.id,
        media_item_id=entry.item,
        title=listing_title(entry.media_type, entry.item_title, entry.title) or entry.title,
        display_title=entry.title,
        type=compat.listed_type(kind),
        size=entry.size,
        state=entry.state,
        queued_at=wire.iso(entry.queued_at),
        delete_at=wire.iso(entry.delete_after),
        days_remaining=entry.days_remaining(now),
        matched_rule=book_rule.rule.name if book_rule else None,
        rule_id=entry.rule,
        deletion_action=entry.action,
        deletion_action_label=ACTION_LABELS[entry.action],
        reset_overseerr=entry.reset_requests,
        import_exclusion=entry.import_exclusion,
        queued_by=wire.QueuedBy(type=entry.actor_type, name=entry.actor_name),
        attempts=entry.attempts,
        reason=entry.reason,
        tmdb_id=ident.tmdb_id if ident else None,
    )


def queue_options(api, body: wire.MarkItem) -> QueueOptions:
    """The body's options, the settings' defaults where it leaves them out."""
    grace_days = body.grace_period_days
    return QueueOptions(
        action=body.deletion_action or str(api.config["default_deletion_action"]),
        grace_days=float(api.config["default_grace_days"]) if grace_days is None else grace_days,
        reset_requests=body.reset_overseerr,
        import_exclusion=body.import_exclusion,
    )


class QueueList:
    """GET: the live queue (queued and processing entries), soonest deletion first, as the
    original answers it: the entries as `data`, the whole queue's `summary` beside it, with
    `total`, `page` and `totalPages`. `limit` with `page`, or the original's `offset` (which
    wins over `page`)."""

    def __init__(self, api, default_limit: int = 0):
        self.api = api
        self.default_limit = default_limit  # 0: the whole queue

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = params.integer(req, "limit", self.default_limit, minimum=1, maximum=1000) or None
        page = params.integer(req, "page", 1, maximum=params.MAX_PAGE)
        offset = params.integer(req, "offset", 0, minimum=0, maximum=wire.MAX_ID)
        now = self.api.clock()
        self.api.refresh_config()  # a dry run saved by another process counts
        dry_run = bool(self.api.config["dry_run"])
        snapshot = self.api.library.snapshot()  # once: each look asks the database
        start = offset or ((page - 1) * limit if limit else 0)
        if limit:
            page = start // limit + 1
        entries, summary = Queue(self.api.store).live_listing(
            now, start, start + limit if limit else None
        )

        def items() -> Iterator[wire.QueueEntry]:
            with db_session:  # the entries are read as the answer is sent
                for entry in entries:
                    yield entry_json(self.api, snapshot, entry, now)

        def beside() -> dict[str, object]:
            total = summary.entries
            return {
                "total": total,
                "page": page if limit else 1,
                "totalPages": max(1, -(-total // limit)) if limit else 1,
                "summary": wire.QueueSummary(
                    total_items=total,
                    total_size=summary.size,
                    ready_for_deletion=summary.ready,
                    will_reset_overseerr=summary.resetting_requests,
                    # processing now would only record what it would delete
                    dry_run=dry_run,
                ),
            }

        ok_listing(resp, items(), beside)


class QueueEntry:
    """DELETE: take a queued entry out of the queue (it is kept as `cancelled`)."""

    def __init__(self, api):
        self.api = api

    def on_delete(self, req: falcon.Request, resp: falcon.Response, entry_id: int) -> None:
        queue = Queue(self.api.store, self.api.clock)
        entry = queue.entry(entry_id)
        if entry is None:
            raise ApiError(404, f"Queue entry {entry_id} not found")
        if not queue.cancel(entry_id, USER):
            raise ApiError(409, f"Queue entry {entry_id} is {entry.state}, not queued")
        ok(resp, wire.Cancelled(id=entry_id, state="cancelled"), message="Removed from the queue")


class QueueProcess:
    """POST: process the entries past their grace period now (`force=true`: every queued
    entry), within the per-run limits; `dryRun=true` records what would happen. A request may
    ask for a dry run, never out of one: `dryRun=false` while `dry_run` is on is a 409, and
    nothing is processed."""

    own_sessions = True  # each entry's steps are recorded as they happen upstream

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.api.refresh_config()  # a dry run saved by another process counts
        configured = bool(self.api.config["dry_run"])
        dry_run = params.boolean(req, "dryRun", configured)
        force = params.boolean(req, "force")
        if configured and not dry_run:
            source = self.api.config.sources.get("dry_run", "default")
            saved = source in ("default", "database")
            problem = (
                f"dry_run is on (set by {'PUT /api/settings' if saved else source}) and a "
                "request cannot turn it off"
                + ("; set dry_run to false there first" if saved else "")
            )
            raise ApiError(
                409,
                f"dryRun: {problem}; nothing was processed",
                [{"field": "dryRun", "message": problem}],
            )
        # None, not False: the processor reads the setting itself, so a dry run switched on
        # meanwhile still holds
        report = self.api.processor.process(
            force=force, dry_run=True if dry_run else None, actor=USER
        )
        ok(resp, wire.process_report(report))


def _mark(api, item_ids: list[int], body: wire.MarkItem) -> wire.MarkResult:
    result = api.evaluator.queue_by_hand(item_ids, queue_options(api, body), USER)
    return wire.MarkResult(
        success=[i for i in item_ids if i not in result.skipped and i not in result.already],
        already_queued=result.already,
        skipped=[wire.SkippedItem(id=i, reason=r) for i, r in result.skipped.items()],
        queued_bytes=result.queued_bytes,
    )


class MarkDeletion:
    """POST: queue one item by hand (409 when something protects it or it is queued)."""

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response, item_id: int) -> None:
        outcome = _mark(self.api, [item_id], params.decoded(req, wire.MarkItem))
        for skipped in outcome.skipped:
            if skipped.reason == "gone":
                raise ApiError(404, f"Library item {item_id} not found")
            raise ApiError(409, f"Library item {item_id} is {skipped.reason}: not queued")
        if outcome.already_queued:
            raise ApiError(409, f"Library item {item_id} is already queued")
        ok(resp, outcome, status=201, message="Queued for deletion")


class BulkMarkDeletion:
    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = params.decoded(req, wire.MarkItems)
        ok(resp, _mark(self.api, list(dict.fromkeys(body.ids)), body))
