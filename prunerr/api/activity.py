"""The activity log: thin doors onto prunerr.store.activity."""

from __future__ import annotations

import falcon

from prunerr import wire
from prunerr.store import activity, collections

from . import params
from .errors import ok


class Activity:
    """GET: the activity log, newest first (`eventTypes` comma-separated, `search` in titles
    and actor names)."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = params.integer(req, "limit", 20, maximum=100)
        page = params.integer(req, "page", 1, maximum=params.MAX_PAGE)
        types = tuple(t for t in (params.text(req, "eventTypes") or "").split(",") if t)
        items, total = activity.search(
            self.api.store,
            limit=limit,
            offset=(page - 1) * limit,
            event_types=types,
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
