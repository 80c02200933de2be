"""Library, stats, protection and users endpoints: thin doors onto
`prunerr.planning.library_index`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import falcon

from prunerr import wire
from prunerr.compat import rules as compat
from prunerr.dsl import Catalog, EvalContext
from prunerr.dsl.units import DAY, format_size
from prunerr.planning import library_index, protection
from prunerr.queue import Queue
from prunerr.rules.testing import outcome
from prunerr.store import (
    accounts,
    collections,
    deletions,
    items,
    queue_entries,
    storage_snapshots,
    sync_state,
)
from prunerr.store.accounts import KnownAccount
from prunerr.store.activity import USER
from prunerr.store.items import LibraryItem, listing_title

from . import params
from .errors import ApiError, ok

WEEK = 7 * DAY


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
        watched_by=_listed(f, "watched_by"),
        resolution=f.get("resolution"),
        codec=f.get("video_codec"),
        poster_url=None,
        unknown_fields=sorted(camel(name) for name in _unknown(item, catalog)),
    )


def _listed(fields: Mapping, name: str) -> list | None:
    value = fields.get(name)
    return None if value is None else list(value)


def _unknown(item: LibraryItem, catalog: Catalog) -> list[str]:
    """The catalog fields of the item's type whose source is unavailable, sorted."""
    kind = item.fields["type"]
    return sorted(
        spec.name
        for spec in catalog.fields.values()
        if kind in spec.media and spec.name not in item.fields and spec.compute is None
    )


def _value(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):  # watches: user -> (plays, last)
        return {
            user: {"plays": plays, "last_watched": wire.iso(last)}
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


class LibrarySummary:
    """GET: how many movies and shows, by type and by status, and their size."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        snapshot = self.api.library.snapshot()
        queued = Queue(self.api.store).live_items()
        kinds = snapshot.grouped()
        shown = [*kinds.get("movie", ()), *kinds.get("show", ())]
        statuses = Counter(library_index.status_of(i, queued) for i in shown)
        figures = library_index.stats(snapshot)
        size = figures.storage
        ok(
            resp,
            wire.LibrarySummary(
                total=len(shown),
                by_type={"movie": figures.movies, "show": figures.shows},
                by_status={s: statuses[s] for s in ("monitored", "queued", "protected")},
                total_size=size,
                total_size_formatted=None if size is None else format_size(size),
            ),
        )


class LibraryEntry:
    """One item: the original's record of it, every field, and which rules match it and why."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: int) -> None:
        snapshot = self.api.library.snapshot()
        item = snapshot.by_id.get(item_id)
        row = items.record(self.api.store, item_id) if item is not None else None
        if item is None or row is None:
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
        live = queue_entries.entries(self.api.store, queue_entries.LIVE, item=item.id)
        ok(resp, detail_json(item, row, snapshot, self.api, live[0] if live else None, rules))


def detail_json(
    item: LibraryItem,
    row: items.ItemRecord,
    snapshot: library_index.Snapshot,
    api,
    entry: queue_entries.Entry | None,
    rules: list[wire.RuleVerdict],
) -> wire.ItemDetail:
    f, ident = item.fields, snapshot.identity.get(item.id)
    kind = f["type"]
    arr_id = ident.arr_id if ident else None
    by_collection = next(
        (
            wire.CollectionRef(id=c["id"], title=c["title"])
            for c in (collections.rows(api.store) if row.collections else ())
            if c["protected"] and c["title"] in row.collections
        ),
        None,
    )
    status = "protected" if row.protected else "pending_deletion" if entry else "monitored"
    bitrate, runtime = f.get("bitrate"), f.get("runtime")
    return wire.ItemDetail(
        id=item.id,
        type=kind,
        title=f.get("title"),
        plex_id=ident.server_key if ident else None,
        radarr_id=arr_id if kind == "movie" else None,
        sonarr_id=None if kind == "movie" else arr_id,
        tmdb_id=ident.tmdb_id if ident else None,
        tvdb_id=ident.tvdb_id if ident else None,
        imdb_id=ident.imdb_id if ident else None,
        year=f.get("year"),
        library_key=row.library_key,
        poster_url=None,
        file_path=row.file_path,
        file_size=f.get("size"),
        resolution=f.get("resolution"),
        codec=f.get("video_codec"),
        added_at=wire.iso(f.get("added")),
        last_watched_at=wire.iso(f.get("last_watched")),
        play_count=f.get("play_count"),
        watched_by=_listed(f, "watched_by"),
        status=status,
        marked_at=wire.iso(entry.queued_at) if entry else None,
        delete_after=wire.iso(entry.delete_after) if entry else None,
        deleted_at=None,
        is_protected=row.protected or by_collection is not None,  # as stored: the snapshot
        protection_reason=row.protection_reason,  # may be reloading after a change
        protected_by_collection=by_collection,
        deletion_action=entry.action if entry else None,
        reset_overseerr=entry.reset_requests if entry else False,
        matched_rule_id=entry.rule if entry else None,
        overseerr_reset_at=None,
        requested_by=f.get("requested_by"),
        genres=_listed(f, "genres"),
        tags=_listed(f, "tags"),
        studio=f.get("studio"),
        audio_codec=f.get("audio_codec"),
        video_codec=f.get("video_codec"),
        hdr=f.get("hdr"),
        bitrate=None if bitrate is None else int(bitrate) * 1000,
        runtime_minutes=None if runtime is None else round(runtime / 60),
        season_count=f.get("season_count"),
        episode_count=f.get("episode_count"),
        series_status=f.get("series_status"),
        rating_imdb=f.get("rating.imdb"),
        rating_tmdb=f.get("rating.tmdb"),
        rating_rt=f.get("rating.rt"),
        content_rating=f.get("content_rating"),
        original_language=f.get("original_language"),
        created_at=wire.iso(row.first_seen),
        updated_at=wire.iso(row.updated_at),
        display_title=item.display_title,
        unknown_fields=_unknown(item, api.library.catalog),
        fields={k: _value(v) for k, v in f.items()},
        rules=rules,
    )


class Protection:
    """POST protects an item (with an optional reason), DELETE removes the protection."""

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response, item_id: int) -> None:
        reason = params.decoded(req, wire.ProtectItem).reason or "protected by a user"
        # its queued entries, and those of its seasons and episodes, end as `protected`
        ended = protection.protect(
            self.api.library, self.api.evaluator.queue, item_id, reason, USER
        )
        if ended is None:
            raise ApiError(404, f"Library item {item_id} not found")
        ok(
            resp,
            wire.Protection(id=item_id, is_protected=True, reason=reason),
            message="Item protected",
        )

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: int) -> None:
        if not self.api.library.set_protection(item_id, False, None, USER):
            raise ApiError(404, f"Library item {item_id} not found")
        ok(
            resp,
            wire.Protection(id=item_id, is_protected=False, reason=None),
            message="Protection removed",
        )


class BulkProtection:
    """POST `{ids, reason?}`: protect each item, as `POST /api/library/:id/protect` does; the
    original's `{success, failed, skipped}`."""

    def __init__(self, api):
        self.api = api

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = params.decoded(req, wire.ProtectItems)
        reason = body.reason or "protected by a user"
        done = wire.BulkProtection(success=[], failed=[], skipped=[])
        names = items.item_names(self.api.store, body.ids)  # one read for every name
        for item_id in dict.fromkeys(body.ids):
            row = items.record(self.api.store, item_id)
            name = names.get(item_id)
            if row is None or name is None:
                done.failed.append(wire.ProtectFailure(id=item_id, error="Item not found"))
            elif row.protected:
                skipped = wire.ProtectSkipped(
                    id=item_id, title=name.display, reason="Already protected"
                )
                done.skipped.append(skipped)
            else:
                protection.protect(
                    self.api.library, self.api.evaluator.queue, item_id, reason, USER
                )
                done.success.append(wire.ProtectedItem(id=item_id, title=name.display))
        ok(resp, done, message=f"{len(done.success)} item(s) protected")


class LibrarySections:
    """GET: the media servers' libraries the synced items are in, as the original lists Plex's
    (`excluded` is always false: Prunerr syncs every library and rules choose theirs)."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ok(
            resp,
            [
                wire.LibrarySection(key=key, title=name, type=kind, excluded=False)
                for name, key, kind in items.libraries(self.api.store)
            ],
        )


class StorageHistory:
    """GET: the storage snapshots of the last `days` (default 30), oldest first."""

    def __init__(self, api):
        self.api = api

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        days = params.integer(req, "days", 30, maximum=3650)
        snapshots = storage_snapshots.since(self.api.store, self.api.clock() - days * DAY)
        ok(
            resp,
            [
                wire.StoragePoint(
                    total_size=s.total_size,
                    movie_size=s.movie_size,
                    show_size=s.show_size,
                    item_count=s.movie_count + s.show_count,
                    movie_count=s.movie_count,
                    show_count=s.show_count,
                    space_reclaimed=s.reclaimed,
                    captured_at=wire.iso(s.captured_at),
                )
                for s in snapshots
            ],
        )


class Stats:
    """The library's counts and storage (the snapshot's), with the original's figures of the
    queue, the last weeks' syncs and deletions, and the collections."""

    def __init__(self, api):
        self.api = api
        # the last sync run's id, and the runs of the two weeks before it was read: they
        # change only when a sync runs
        self._scans: tuple[int | None, list[tuple[float, int]]] = (None, [])

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        figures = library_index.stats(self.api.library.snapshot())
        store, now = self.api.store, self.api.clock()
        queued, queued_bytes = queue_entries.live_totals(store)
        midnight = (
            datetime.fromtimestamp(now, ZoneInfo(str(self.api.config["tz"])))
            .replace(hour=0, minute=0, second=0, microsecond=0)
            .timestamp()
        )
        last_run = sync_state.last_run_id(store)
        cached_run, scans = self._scans
        if last_run is None or last_run != cached_run:
            scans = sync_state.records_since(store, now - 2 * WEEK, "media_server")
            self._scans = (last_run, scans)
        scanned = [sum(n for at, n in scans if since <= at < until) for since, until in _weeks(now)]
        freed = [deletions.freed_since(store, since, until) for since, until in _weeks(now)]
        collection_count, protected_collections = collections.counts(store)
        ok(
            resp,
            wire.Stats(
                movie_count=figures.movies,
                tv_show_count=figures.shows,
                tv_season_count=figures.seasons,
                tv_episode_count=figures.episodes,
                total_storage=figures.storage,
                used_storage=figures.storage,
                reclaimable_space=queued_bytes,
                items_marked_for_deletion=queued,
                protected_items=figures.protected,
                unwatched_movies=figures.unwatched_movies,
                unwatched_shows=figures.unwatched_shows,
                active_rules=sum(1 for r in self.api.rules() if r.enabled and r.kind == "delete"),
                scanned_today=sum(n for at, n in scans if at >= midnight),
                scan_trend=_trend(*scanned),
                reclaimed_this_week=freed[0],
                reclaimed_trend=_trend(*freed),
                collection_count=collection_count,
                protected_collections=protected_collections,
            ),
        )


def _weeks(now: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """The last seven days and the seven before them, as (since, until)."""
    return (now - WEEK, now + 1), (now - 2 * WEEK, now - WEEK)


def _trend(this_week: int, last_week: int) -> int:
    """The change in percent, as the original gives it: 0 when last week had none."""
    return round((this_week - last_week) * 100 / last_week) if last_week else 0


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
