"""The activity log and the deletion history: thin doors onto prunerr.store.activity and
prunerr.store.deletions."""

from __future__ import annotations

import csv
import io

import falcon

from prunerr import wire
from prunerr.compat import rules as compat
from prunerr.dsl.units import DAY
from prunerr.store import activity, collections, deletions

from . import params
from .errors import ok


class Activity:
    """GET: the activity log, newest first: `eventTypes`, `excludeEventTypes` and `actorTypes`
    comma-separated, `dateRange`, `search` in titles and actor names."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, page, since = _window(req, self.api)
        items, total = activity.search(
            self.api.store,
            limit=limit,
            offset=(page - 1) * limit,
            event_types=_names(req, "eventTypes"),
            excluded_types=_names(req, "excludeEventTypes"),
            actor_types=_names(req, "actorTypes"),
            since=since,
            text=params.text(req, "search") or None,
        )
        ok(
            resp,
            wire.ActivityPage(
                items=[activity_json(e) for e in items],
                total=total,
                page=page,
                total_pages=max(1, -(-total // limit)),
            ),
        )


# `dateRange`, in days: the original's activity log takes 24h, its history 90d
DATE_RANGES = {"24h": 1, "7d": 7, "30d": 30, "90d": 90, "all": None}


def _window(req: falcon.Request, api) -> tuple[int, int, float | None]:
    """(limit, page, since) of a listing: `limit` (default 20), `page`, `dateRange`."""
    limit = params.integer(req, "limit", 20, maximum=100)
    page = params.integer(req, "page", 1, maximum=params.MAX_PAGE)
    days = DATE_RANGES[params.choice(req, "dateRange", tuple(DATE_RANGES), "all")]
    return limit, page, None if days is None else api.clock() - days * DAY


def _names(req: falcon.Request, name: str) -> tuple[str, ...]:
    """A comma-separated list parameter."""
    return tuple(t for t in (params.text(req, name) or "").split(",") if t)


class RecentActivity:
    """GET: the newest entries (`limit`, `excludeEventTypes` comma-separated), as the original's
    dashboard reads them: the entries as `data`, `total` beside."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        items, total = activity.search(
            self.api.store,
            limit=params.integer(req, "limit", 20, maximum=100),
            excluded_types=_names(req, "excludeEventTypes"),
        )
        ok(resp, [activity_json(e) for e in items], total=total)


class History:
    """GET: what was deleted, newest first (`page`, `limit`, `dateRange`, `search` in
    titles), with the all-time totals."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit, page, since = _window(req, self.api)
        rows, total = deletions.history(
            self.api.store,
            since=since,
            text=params.text(req, "search") or None,
            limit=limit,
            offset=(page - 1) * limit,
        )
        count, freed = deletions.totals(self.api.store)
        ok(
            resp,
            wire.HistoryPage(
                items=[
                    wire.HistoryEntry(
                        id=d.id,
                        media_id=d.item,
                        title=d.title,
                        type=compat.listed_type(d.media_type),
                        size=d.size,
                        freed=d.freed,
                        deleted_at=wire.iso(d.deleted_at),
                        deletion_reason="rule" if d.actor_type == "rule" else "manual",
                        matched_rule=d.rule_name,
                        rule_id=d.rule,
                    )
                    for d in rows
                ],
                total=total,
                page=page,
                limit=limit,
                stats=wire.HistoryStats(total_deleted=count, total_space_reclaimed=freed),
            ),
        )


class HistoryExport:
    """GET: every deletion as CSV, newest first, in the original's columns (and the bytes
    freed)."""

    COLUMNS = ("ID", "Media ID", "Title", "Type", "Size (bytes)", "Deleted At", "Reason", "Rule")

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        count, _ = deletions.totals(self.api.store)
        rows, _ = deletions.history(self.api.store, since=None, text=None, limit=count, offset=0)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow((*self.COLUMNS, "Freed (bytes)"))
        for d in rows:
            reason = "rule" if d.actor_type == "rule" else "manual"
            writer.writerow(
                (
                    d.id,
                    d.item,
                    _cell(d.title),
                    compat.listed_type(d.media_type),
                    d.size,
                    wire.iso(d.deleted_at),
                    reason,
                    _cell(d.rule_name or ""),
                    d.freed,
                )
            )
        resp.content_type = "text/csv; charset=utf-8"
        resp.downloadable_as = "prunerr-history.csv"
        resp.text = out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet reads as text: a title beginning with = + - or @ would be a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def activity_json(entry: dict) -> wire.ActivityEntry:
    return wire.ActivityEntry(
        id=entry["id"],
        event_type=entry["event_type"],
        action=entry["action"],
        actor_type=entry["actor_type"],
        actor_id=entry["actor_id"],
        actor_name=entry["actor_name"],
        target_type=entry["target_type"],
        target_id=entry["target_id"],
        target_title=entry["target_title"],
        metadata=entry["metadata"],
        created_at=wire.iso(entry["created_at"]),
    )


class ItemActivity:
    """GET: one item's activity with that of the collections it belongs to."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: int) -> None:
        limit = params.integer(req, "limit", 50, maximum=200)
        item = self.api.library.snapshot().by_id.get(item_id)
        titles = set(item.fields.get("collections", ())) if item else set()
        ids = [c["id"] for c in collections.rows(self.api.store) if c["title"] in titles]
        entries = activity.for_item(self.api.store, item_id, ids, limit)
        ok(resp, [activity_json(e) for e in entries])
