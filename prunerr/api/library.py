"""Library, stats, protection and users endpoints: thin doors onto
`prunerr.planning.library_index`."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import falcon

from prunerr import wire
from prunerr.compat import rules as compat
from prunerr.dsl import Catalog, EvalContext
from prunerr.planning import library_index, protection
from prunerr.queue import Queue
from prunerr.rules.testing import outcome
from prunerr.store import accounts
from prunerr.store.accounts import KnownAccount
from prunerr.store.activity import USER
from prunerr.store.items import LibraryItem, listing_title

from . import params
from .errors import ApiError, ok


def camel(name: str) -> str:
    head, *rest = name.replace(".", "_").split("_")
    return head + "".join(part.title() for part in rest)


def summary_json(
    item: LibraryItem,
    snapshot: library_index.Snapshot,
    catalog: Catalog,
    queued: Collection[int] = frozenset(),
) -> wire.LibraryItem:
    """An item as the original's library listing shows it (`wire.LibraryItem`)."""
    return wire.LibraryItem(**_summary(item, snapshot, catalog, queued))


def _summary(
    item: LibraryItem, snapshot: library_index.Snapshot, catalog: Catalog, queued: Collection[int]
) -> dict[str, object]:
    f, ident = item.fields, snapshot.identity.get(item.id)
    managed_by_sonarr = f["type"] != "movie"
    plays = f.get("play_count")
    return dict(
        id=item.id,
        title=listing_title(f["type"], f.get("title"), item.display_title),
        display_title=item.display_title,
        type=compat.listed_type(f["type"]),
        year=f.get("year"),
        size=f.get("size"),
        watched=None if plays is None else plays > 0,
        last_watched=wire.iso(f.get("last_watched")),
        added_at=wire.iso(f.get("added")),
        status=library_index.status_of(item, queued),
        is_protected=bool(f.get("protected")),
        plex_id=ident.server_key if ident else None,
        radarr_id=None if managed_by_sonarr or not ident else ident.arr_id,
        sonarr_id=ident.arr_id if managed_by_sonarr and ident else None,
        tmdb_id=ident.tmdb_id if ident else None,
        tvdb_id=ident.tvdb_id if ident else None,
        imdb_id=ident.imdb_id if ident else None,
        play_count=plays,
        watched_by=list(f["watched_by"]) if "watched_by" in f else None,
        resolution=f.get("resolution"),
        codec=f.get("video_codec"),
        unknown_fields=sorted(
            camel(spec.name)
            for spec in catalog.fields.values()
            if f["type"] in spec.media and spec.name not in f and spec.compute is None
        ),
    )


def _value(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):  # watches: user -> (plays, last)
        return {
            user: {"plays": plays, "lastWatched": wire.iso(last)}
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
            queued = queue.live_items()
        page = library_index.list_items(
            snapshot,
            media=compat.media_type(
                params.choice(req, "type", (*library_index.TYPES, "tv"), "all")
            ),
            status=status,
            search=params.text(req, "search"),
            sort_by=params.choice(req, "sortBy", tuple(library_index.SORT_KEYS), "title"),
            descending=params.choice(req, "sortOrder", ("asc", "desc"), "asc") == "desc",
            page=params.integer(req, "page", 1, maximum=params.MAX_PAGE),
            limit=params.integer(req, "limit", 50, maximum=500),
            queued=queued,
        )
        if not queued:  # only the page's items need their queue state
            queued = queue.live_among([i.id for i in page.items])
        catalog = self.api.library.catalog
        ok(
            resp,
            wire.LibraryPage(
                items=[summary_json(i, snapshot, catalog, queued) for i in page.items],
                total=page.total,
                page=page.page,
                total_pages=page.total_pages,
            ),
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
                wire.RuleVerdict(
                    id=book_rule.id,
                    path=rule.id,
                    name=rule.name,
                    kind=rule.kind,
                    result=outcome(result),
                    explanation=rule.program.explain(item.fields, ctx).as_dict(),
                )
            )
        queued = Queue(self.api.store).live_among([item.id])
        ok(
            resp,
            wire.ItemDetail(
                **_summary(item, snapshot, self.api.library.catalog, queued),
                fields={camel(k): _value(v) for k, v in item.fields.items()},
                rules=rules,
            ),
        )


class Protection:
    """POST protects an item (with an optional reason), DELETE removes the protection."""

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        reason = params.decoded(req, wire.ProtectItem).reason or "protected by a user"
        number = params.path_id(item_id)
        # its queued entries, and those of its seasons and episodes, end as `protected`
        ended = protection.protect(self.api.library, self.api.evaluator.queue, number, reason, USER)
        if ended is None:
            raise ApiError(404, f"Library item {item_id} not found")
        ok(
            resp,
            wire.Protection(id=number, is_protected=True, reason=reason),
            message="Item protected",
        )

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        number = params.path_id(item_id)
        if not self.api.library.set_protection(number, False, None, USER):
            raise ApiError(404, f"Library item {item_id} not found")
        ok(
            resp,
            wire.Protection(id=number, is_protected=False, reason=None),
            message="Protection removed",
        )


class Stats:
    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        figures = library_index.stats(self.api.library.snapshot())
        ok(
            resp,
            wire.Stats(
                movie_count=figures.movies,
                tv_show_count=figures.shows,
                tv_season_count=figures.seasons,
                tv_episode_count=figures.episodes,
                total_storage=figures.storage,
                protected_items=figures.protected,
                unwatched_movies=figures.unwatched_movies,
                unwatched_shows=figures.unwatched_shows,
                active_rules=sum(1 for r in self.api.rules() if r.enabled and r.kind == "delete"),
            ),
        )


class Users:
    """GET: the users synced from the media server and the watch history."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        users = accounts.listed(self.api.store)
        ok(resp, [user_json(user) for user in users])


def user_json(user: KnownAccount) -> wire.User:
    return wire.User(
        id=user.id,
        source=user.source,
        external_id=user.external_id,
        plex_user_id=user.external_id,  # the original's name for it
        username=user.username,
        email=user.email,
    )
