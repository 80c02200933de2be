"""Library, stats, protection and users endpoints: thin doors onto
`prunerr.planning.library_index`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime

import falcon
from pony.orm import db_session

from prunerr.dsl import Catalog, EvalContext
from prunerr.planning import library_index, protection
from prunerr.queue import Queue
from prunerr.rules.testing import outcome
from prunerr.store import accounts
from prunerr.store.accounts import KnownAccount
from prunerr.store.activity import USER
from prunerr.store.items import LibraryItem, listing_title

from . import params
from .errors import ApiError, invalid, ok


def iso(ts: float | None) -> str | None:
    return (
        None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    )


def camel(name: str) -> str:
    head, *rest = name.replace(".", "_").split("_")
    return head + "".join(part.title() for part in rest)


def summary_json(
    item: LibraryItem,
    snapshot: library_index.Snapshot,
    catalog: Catalog,
    queued: Collection[int] = frozenset(),
) -> dict:
    """An item as the original's library listing shows it; unknown values are null, and the
    fields whose source is unavailable are listed in `unknownFields`. `title` is a movie's or a
    show's own, a season's or an episode's display title; `displayTitle` is every item's."""
    f, ident = item.fields, snapshot.identity.get(item.id)
    managed_by_sonarr = f["type"] != "movie"
    plays = f.get("play_count")
    return {
        "id": item.id,
        "title": listing_title(f["type"], f.get("title"), item.display_title),
        "displayTitle": item.display_title,
        "type": "tv" if f["type"] == "show" else f["type"],
        "year": f.get("year"),
        "size": f.get("size"),
        "watched": None if plays is None else plays > 0,
        "lastWatched": iso(f.get("last_watched")),
        "addedAt": iso(f.get("added")),
        "status": library_index.status_of(item, queued),
        "isProtected": bool(f.get("protected")),
        "plexId": ident.server_key if ident else None,
        "radarrId": None if managed_by_sonarr or not ident else ident.arr_id,
        "sonarrId": ident.arr_id if managed_by_sonarr and ident else None,
        "tmdbId": ident.tmdb_id if ident else None,
        "tvdbId": ident.tvdb_id if ident else None,
        "imdbId": ident.imdb_id if ident else None,
        "playCount": plays,
        "watchedBy": list(f["watched_by"]) if "watched_by" in f else None,
        "resolution": f.get("resolution"),
        "codec": f.get("video_codec"),
        "unknownFields": sorted(
            camel(spec.name)
            for spec in catalog.fields.values()
            if f["type"] in spec.media and spec.name not in f and spec.compute is None
        ),
    }


def _value(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):  # watches: user -> (plays, last)
        return {
            user: {"plays": plays, "lastWatched": iso(last)}
            for user, (plays, last) in value.items()
        }
    return value


class LibraryList:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        snapshot = self.api.library.snapshot()
        status = params.choice(req, "status", library_index.STATUSES)
        queue = Queue(self.api.store)
        queued: Collection[int] = frozenset()
        if status in ("monitored", "queued"):  # filtering needs the whole queue
            with db_session:
                queued = queue.live_items()
        page = library_index.list_items(
            snapshot,
            media=params.choice(req, "type", tuple(library_index.TYPES), "all"),
            status=status,
            search=params.text(req, "search"),
            sort_by=params.choice(req, "sortBy", tuple(library_index.SORT_KEYS), "title"),
            descending=params.choice(req, "sortOrder", ("asc", "desc"), "asc") == "desc",
            page=params.integer(req, "page", 1, maximum=params.MAX_PAGE),
            limit=params.integer(req, "limit", 50, maximum=500),
            queued=queued,
        )
        if not queued:  # only the page's items need their queue state
            with db_session:
                queued = queue.live_among([i.id for i in page.items])
        ok(
            resp,
            {
                "items": [
                    summary_json(i, snapshot, self.api.library.catalog, queued) for i in page.items
                ],
                "total": page.total,
                "page": page.page,
                "totalPages": page.total_pages,
            },
        )


class LibraryEntry:
    """One item with every field, and which rules match it and why."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        snapshot = self.api.library.snapshot()
        item = snapshot.by_id.get(params.path_id(item_id))
        if item is None:
            raise ApiError(404, f"Library item {item_id} not found")
        ctx = EvalContext.current()
        rules = []
        for book_rule in self.api.book.contents().rules.values():
            rule = book_rule.rule
            if rule.media != item.fields["type"]:
                continue
            result = rule.evaluate(item.fields, ctx)
            rules.append(
                {
                    "id": book_rule.id,
                    "path": rule.id,
                    "name": rule.name,
                    "kind": rule.kind,
                    "result": outcome(result),
                    "explanation": rule.program.explain(item.fields, ctx).as_dict(),
                }
            )
        with db_session:
            queued = Queue(self.api.store).live_among([item.id])
        data = summary_json(item, snapshot, self.api.library.catalog, queued)
        data["fields"] = {camel(k): _value(v) for k, v in item.fields.items()}
        data["rules"] = rules
        ok(resp, data)


class Protection:
    """POST protects an item (with an optional reason), DELETE removes the protection."""

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        reason = params.nul_free(params.body(req).get("reason"), "reason")
        if reason is not None and not isinstance(reason, str):
            raise invalid("reason", "expected a string")
        reason = reason or "protected by a user"
        number = params.path_id(item_id)
        # its queued entries, and those of its seasons and episodes, end as `protected`
        ended = protection.protect(self.api.library, self.api.evaluator.queue, number, reason, USER)
        if ended is None:
            raise ApiError(404, f"Library item {item_id} not found")
        ok(resp, {"id": number, "isProtected": True, "reason": reason}, message="Item protected")

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        number = params.path_id(item_id)
        if not self.api.library.set_protection(number, False, None, USER):
            raise ApiError(404, f"Library item {item_id} not found")
        ok(resp, {"id": number, "isProtected": False, "reason": None}, message="Protection removed")


class Stats:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        data = library_index.stats(self.api.library.snapshot())
        data["activeRules"] = sum(1 for r in self.api.rules() if r.enabled and r.kind == "delete")
        ok(resp, data)


class Users:
    """GET: the users synced from the media server and the watch history."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with db_session:
            users = accounts.listed(self.api.store)
        ok(resp, [user_json(user) for user in users])


def user_json(user: KnownAccount) -> dict:
    return {
        "id": user.id,
        "source": user.source,
        "externalId": user.external_id,
        "plexUserId": user.external_id,  # the original's name for it
        "username": user.username,
        "email": user.email,
    }
