"""Library sync: bulk listings from every configured service into the database.

Each source (a service in one role) is synced on its own and recorded in `sync_state`. A source
that fails keeps its previous rows but is marked failed, and the engine then treats the fields it
supplies as unknown. Of one item, the fields a media server's answer did not give are listed in
its `unread` column: unknown too, never null, 0 or empty. Writes of one source happen in one
transaction, so a crash leaves the previous state. Items keep their row when the server gives them
a new key (re-linked by external ids); items missing from a complete listing become tombstones;
nothing a user set (protection) is ever written here. After a media server's listing, the items
whose details (DETAIL_FIELDS) are unknown and that are new or changed since their details were
last asked for are fetched by key, as the source `<server>:media_details`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pony.orm import db_session

from prunerr.database import Store, summarize_plays
from prunerr.sdk import (
    Library,
    LibraryManager,
    ManagedItem,
    MediaServer,
    RequestTracker,
    ServerItem,
    ServiceError,
    ServiceList,
    WatchHistory,
)

log = logging.getLogger(__name__)

HISTORY_OVERLAP_S = 3600.0
FULL_LISTING_EVERY_S = 86400.0
# fields read from a file's Streams, which listings do not carry and fetches of single items
# do: a listing that did not read them keeps what an earlier fetch read
DETAIL_FIELDS = frozenset({"hdr", "original_language"})
# An item whose details are still unknown after a fetch (a file without streams, say) is asked
# again when its change time differs from the one that fetch saw; one whose change time the
# server does not give, at most once per this period (not on every sync).
DETAILS_RECHECK_S = 7 * 86400.0


def source_name(service_name: str, role: str) -> str:
    return f"{service_name}:{role}"


@dataclass
class SourceResult:
    source: str
    ok: bool
    records: int = 0
    message: str = ""
    seconds: float = 0.0


@dataclass
class SyncReport:
    results: list[SourceResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "sources": [r.__dict__ for r in self.results],
        }


def choose_watch_service(services: ServiceList, configured: str | None) -> WatchHistory | None:
    """The one watch-history source: the configured one, else a dedicated history service
    (Tautulli) over a media server's own history."""
    candidates = services.with_role("watch_history")
    if configured:
        return next((s for s in candidates if s.name == configured), None)
    dedicated = [s for s in candidates if "media_server" not in s.roles]
    return (dedicated or candidates or [None])[0]


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(sorted(set(values)))


class SyncService:
    """Syncs every configured service into the store. `full` forces complete media-server
    listings (otherwise done once a day); `clock` returns POSIX seconds."""

    def __init__(
        self,
        store: Store,
        services: ServiceList,
        *,
        watch_source: str | None = None,
        full: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        self.full = full
        self.store = store
        self.services = services
        self.watch_source = watch_source
        self.clock = clock
        # per media server, the libraries its last listing read (for the detail fetches)
        self._listed: dict[str, list[Library]] = {}

    def run(self, only: Iterable[str] | None = None) -> SyncReport:
        """Sync the named services (all when None). Every source is read at the same time;
        the writes follow in order, media servers first, since the others are matched against
        their items."""
        wanted = set(only) if only else None
        started = self.clock()
        report = SyncReport()
        steps = [
            ("media_server", MediaServer, self._fetch_media_server),
            ("library_manager", LibraryManager, self._fetch_library_manager),
            ("watch_history", WatchHistory, self._fetch_watch_history),
            ("requests", RequestTracker, self._fetch_requests),
        ]
        jobs = []
        for role, kind, fetch in steps:
            for service in self.services.with_role(role):
                if wanted is not None and service.name not in wanted:
                    continue
                if role == "watch_history" and service is not self.watch_service():
                    continue
                assert isinstance(service, kind)
                self._ensure_state(service.name, role)
                if role == "media_server":
                    self._ensure_state(service.name, "media_details")
                jobs.append((service, role, fetch))
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            fetched = [
                (service, role, pool.submit(fetch, service)) for service, role, fetch in jobs
            ]
            while fetched:
                # popped, so a written listing is freed before the next (say Tautulli's long
                # history) is waited for: they are not all held at once
                service, role, future = fetched.pop(0)
                result = self._run_source(
                    service.name, role, started, lambda f=future: f.result()()
                )
                report.results.append(result)
                if role == "media_server" and result.ok:
                    # fetched while the other sources are written, and written after them
                    details = pool.submit(self._fetch_details, service)
                    fetched.append((service, "media_details", details))
        report.seconds = self.clock() - started
        with db_session:
            self.store.execute(
                "INSERT INTO sync_run (started_at, finished_at, status, summary) "
                "VALUES (?, ?, ?, ?)",
                (
                    started,
                    self.clock(),
                    "ok" if report.ok else "partial",
                    json.dumps(report.as_dict()),
                ),
            )
        return report

    def sync_accounts(self) -> int:
        """Only the users: the accounts of every media server and of the watch history."""
        sources = [*self.services.with_role("media_server")]
        watch = self.watch_service()
        if watch is not None and watch not in sources:
            sources.append(watch)
        fetched = [(s.name, s.accounts()) for s in sources]
        with db_session:
            for name, accounts in fetched:
                self._replace_accounts(name, accounts)
        return sum(len(accounts) for _, accounts in fetched)

    def watch_service(self) -> WatchHistory | None:
        return choose_watch_service(self.services, self.watch_source)

    def _ensure_state(self, service: str, role: str) -> None:
        source = source_name(service, role)
        with db_session:
            if not self.store.execute("SELECT 1 FROM sync_state WHERE source=?", (source,)):
                self.store.execute(
                    "INSERT INTO sync_state (source, role, status, records) VALUES (?, ?, ?, 0)",
                    (source, role, "never"),
                )

    def _run_source(
        self, service: str, role: str, started: float, sync: Callable[[], int]
    ) -> SourceResult:
        """Finish one source (`sync` waits for its listing and writes it) and record how it
        went."""
        source = source_name(service, role)
        try:
            records = sync()
        except ServiceError as exc:
            log.warning("sync of %s failed: %s", source, exc)
            with db_session:
                self.store.execute(
                    "UPDATE sync_state SET status='failed', message=?, started_at=?, "
                    "finished_at=? WHERE source=?",
                    (str(exc)[:1000], started, self.clock(), source),
                )
            return SourceResult(source, False, 0, str(exc), self.clock() - started)
        now = self.clock()
        with db_session:
            self.store.execute(
                "UPDATE sync_state SET status='ok', message=NULL, started_at=?, finished_at=?, "
                "last_success_at=?, records=? WHERE source=?",
                (started, now, now, records, source),
            )
        return SourceResult(source, True, records, seconds=now - started)

    # media servers
    def _fetch_media_server(self, server: MediaServer) -> Callable[[], int]:
        """A full listing of every library once a day (or when asked); in between, a light
        listing of keys and change times, and full records only for what changed."""
        source = source_name(server.name, "media_server")
        with db_session:
            (last_full,) = self.store.execute(
                "SELECT full_sync_at FROM sync_state WHERE source=?", (source,)
            )[0]
        full = self.full or last_full is None or self.clock() - last_full > FULL_LISTING_EVERY_S
        listings: list[tuple[Library, list[ServerItem], set[str]]] = []
        failures = []
        self._listed[server.name] = []
        for library in server.libraries():
            try:
                listings.append((library, *self._listing(server, library, full)))
            except ServiceError as exc:
                failures.append(f"{library.title}: {exc}")
        accounts = server.accounts()

        def write() -> int:
            with db_session:
                writer = _ItemWriter(self.store, server.name, self.clock())
                for library, items, present in listings:
                    # between full listings, the records are fetches by key: details
                    writer.write_library(
                        library.key, library.title, items, present, details=not full
                    )
                    self._listed[server.name].append(library)
                self._replace_accounts(server.name, accounts)
                if full and not failures:
                    self.store.execute(
                        "UPDATE sync_state SET full_sync_at=? WHERE source=?",
                        (self.clock(), source),
                    )
            if failures:
                raise ServiceError(server.name, "incomplete listing: " + "; ".join(failures))
            return sum(len(items) for _, items, _ in listings)

        return write

    def _listing(
        self, server: MediaServer, library: Library, full: bool
    ) -> tuple[list[ServerItem], set[str]]:
        """(records to write, every key the library has now)."""
        if full:
            items = list(server.items(library))
            return items, {item.key for item in items}
        current = server.keys(library)
        with db_session:
            stored = dict(
                self.store.execute(
                    "SELECT server_key, server_updated_at FROM item "
                    "WHERE server=? AND library_key=? AND tombstoned_at IS NULL",
                    (server.name, library.key),
                )
            )
        # an item whose change time the server does not give is re-read by the daily full
        # listing only (and when it is new): it would otherwise be re-read on every sync
        changed = [
            key
            for key, updated in current.items()
            if key not in stored or (updated is not None and stored[key] != updated)
        ]
        items = list(server.items(library, changed)) if changed else []
        return items, set(current)

    def _fetch_details(self, server: MediaServer) -> Callable[[], int]:
        """Fetch by key (`items(library, keys)`: full records) the items `_needing_details`
        names in every library just listed. What arrived before a failure is written, then the
        failure raised: what was not fetched stays unknown, and is asked for again next time."""
        now, fetched, failures = self.clock(), [], []
        for library in self._listed.pop(server.name, []):
            with db_session:
                keys = self._needing_details(server.name, library.key, now)
            if not keys:
                continue
            items: list[ServerItem] = []
            try:
                items.extend(server.items(library, keys))
            except ServiceError as exc:
                failures.append(f"{library.title}: {exc}")
            log.info("details of %d of %d items of %s", len(items), len(keys), library.title)
            fetched.append((library, items))

        def write() -> int:
            with db_session:
                for library, items in fetched:
                    changed = self._write_details(server.name, items)
                    if changed:  # since the listing: written as a sync between listings does
                        writer = _ItemWriter(self.store, server.name, self.clock())
                        writer.write_library(
                            library.key, library.title, changed, None, details=True
                        )
            if failures:
                raise ServiceError(server.name, "details not fetched: " + "; ".join(failures))
            return sum(len(items) for _, items in fetched)

        return write

    def _write_details(self, server: str, items: list[ServerItem]) -> list[ServerItem]:
        """Write the DETAIL_FIELDS of the fetched items whose row has the same main file and
        change time (the common case: only those columns change); the others are returned."""
        now, updates, changed = self.clock(), [], []
        for start in range(0, len(items), 500):
            part = items[start : start + 500]
            stored = {
                key: rest
                for key, *rest in self.store.execute(
                    "SELECT server_key, id, file_path, size, server_updated_at, unread FROM item "
                    f"WHERE server=? AND server_key IN ({', '.join('?' for _ in part)}) "
                    "AND tombstoned_at IS NULL",
                    (server, *(item.key for item in part)),
                )
            }
            for item in part:
                row = stored.get(item.key)
                if row is None or (*row[1:3], row[3]) != (*_main_file(item), item.updated):
                    changed.append(item)
                    continue
                unread = set(json.loads(row[4] or "[]")) - DETAIL_FIELDS | (
                    item.unread & DETAIL_FIELDS
                )
                main = item.files[0] if item.files else None
                updates.append(
                    (
                        main and main.hdr,
                        item.original_language,
                        json.dumps(sorted(unread)) if unread else None,
                        now,
                        item.updated,
                        row[0],
                    )
                )
        self.store.executemany(
            "UPDATE item SET hdr=?, original_language=?, unread=?, details_fetched_at=?, "
            "details_updated_at=? WHERE id=?",
            updates,
        )
        return changed

    def _needing_details(self, server: str, library_key: str, now: float) -> list[str]:
        """The live items of a library some DETAIL_FIELDS of which are unknown, whose details
        were never asked for, or were asked for before the item changed (its change time
        differs from the one that answer gave), or, when the server gives no change time, more
        than DETAILS_RECHECK_S ago."""
        unread = " OR ".join("unread LIKE ?" for _ in sorted(DETAIL_FIELDS))
        rows = self.store.execute(
            "SELECT server_key FROM item WHERE server=? AND library_key=? "
            f"AND tombstoned_at IS NULL AND ({unread}) AND (details_fetched_at IS NULL "
            "OR (server_updated_at IS NOT NULL AND (details_updated_at IS NULL "
            "OR details_updated_at <> server_updated_at)) "
            "OR (server_updated_at IS NULL AND details_fetched_at <= ?)) ORDER BY id",
            (
                server,
                library_key,
                *(f'%"{name}"%' for name in sorted(DETAIL_FIELDS)),
                now - DETAILS_RECHECK_S,
            ),
        )
        return [key for (key,) in rows]

    def _replace_accounts(self, source: str, accounts) -> None:
        self.store.execute("DELETE FROM account WHERE source=?", (source,))
        self.store.executemany(
            "INSERT INTO account (source, external_id, username, email) VALUES (?, ?, ?, ?)",
            [(source, a.id, a.username, a.email) for a in accounts],
        )

    # *arr library managers
    def _fetch_library_manager(self, manager: LibraryManager) -> Callable[[], int]:
        managed = manager.items()
        return lambda: self._write_library_manager(manager, managed)

    def _write_library_manager(self, manager: LibraryManager, managed: list[ManagedItem]) -> int:
        media = manager.media
        with db_session:
            rows = self.store.execute(
                "SELECT id, tmdb_id, tvdb_id, imdb_id FROM item WHERE type=? "
                "AND tombstoned_at IS NULL",
                (media,),
            )
            by_tmdb, by_tvdb, by_imdb = {}, {}, {}
            for item_id, tmdb, tvdb, imdb in rows:
                if tmdb is not None:
                    by_tmdb.setdefault(tmdb, item_id)
                if tvdb is not None:
                    by_tvdb.setdefault(tvdb, item_id)
                if imdb:
                    by_imdb.setdefault(imdb, item_id)
            self.store.execute(
                "UPDATE item SET arr_instance=NULL, arr_id=NULL, monitored=NULL, tags=NULL, "
                "rating_imdb=NULL, rating_tmdb=NULL, rating_rt=NULL, series_status=NULL "
                "WHERE arr_instance=?",
                (manager.name,),
            )
            updates, season_updates, episode_updates = [], [], []
            for entry in managed:
                item_id = self._match(entry, media, by_tmdb, by_tvdb, by_imdb)
                if item_id is None:
                    continue
                tags = None if entry.tags is None else _json_list(entry.tags)
                updates.append(
                    (
                        manager.name,
                        entry.arr_id,
                        entry.monitored,
                        tags,
                        entry.rating_imdb,
                        entry.rating_tmdb,
                        entry.rating_rt,
                        entry.series_status,
                        item_id,
                    )
                )
                for season in entry.seasons:
                    season_updates.append(
                        (
                            manager.name,
                            entry.arr_id,
                            season.monitored,
                            tags,
                            entry.series_status,
                            item_id,
                            season.number,
                        )
                    )
                episode_updates += [
                    (e.monitored, item_id, e.season, e.number) for e in entry.episodes
                ]
            self.store.executemany(
                "UPDATE item SET arr_instance=?, arr_id=?, monitored=?, tags=?, rating_imdb=?, "
                "rating_tmdb=?, rating_rt=?, series_status=? "
                "WHERE id=?",
                updates,
            )
            if season_updates:
                self.store.executemany(
                    "UPDATE item SET arr_instance=?, arr_id=?, monitored=?, tags=?, "
                    "series_status=? WHERE parent=? AND season_number=? AND type='season'",
                    season_updates,
                )
                # episodes follow their season, but for their own monitored flag: unknown
                # (NULL) unless the manager listed the episodes
                self.store.execute(
                    "UPDATE item SET arr_instance=(SELECT s.arr_instance FROM item s "
                    "WHERE s.id=item.parent), arr_id=(SELECT s.arr_id FROM item s "
                    "WHERE s.id=item.parent), monitored=NULL, tags=(SELECT s.tags FROM item s "
                    "WHERE s.id=item.parent), series_status=(SELECT s.series_status FROM item s "
                    "WHERE s.id=item.parent) WHERE type='episode' AND parent IN "
                    "(SELECT id FROM item WHERE type='season' AND arr_instance=?)",
                    (manager.name,),
                )
                if episode_updates:
                    self.store.executemany(
                        "UPDATE item SET monitored=? WHERE type='episode' AND show=? "
                        "AND season_number=? AND episode_number=? AND arr_instance IS NOT NULL",
                        episode_updates,
                    )
        return len(managed)

    @staticmethod
    def _match(entry: ManagedItem, media: str, by_tmdb, by_tvdb, by_imdb) -> int | None:
        ids = entry.ids
        order = (
            ((by_tmdb, ids.tmdb), (by_imdb, ids.imdb))
            if media == "movie"
            else ((by_tvdb, ids.tvdb), (by_tmdb, ids.tmdb), (by_imdb, ids.imdb))
        )
        for table, key in order:
            if key is not None and key in table:
                return table[key]
        return None

    # watch history
    def _fetch_watch_history(self, history: WatchHistory) -> Callable[[], int]:
        source = source_name(history.name, "watch_history")
        with db_session:
            cursor = self.store.execute("SELECT cursor FROM sync_state WHERE source=?", (source,))
        since = float(cursor[0][0]) if cursor and cursor[0][0] else None
        # re-read a margin before the cursor: a view recorded late, or in the cursor's own
        # second, is not missed; rows already stored are recognised by their source id
        lookback = since - HISTORY_OVERLAP_S if since is not None else None
        plays = list(history.plays(lookback))
        return lambda: self._write_plays(history, source, plays, since)

    def _write_plays(self, history: WatchHistory, source: str, plays: list, since) -> int:
        """Store the plays not stored yet (a play re-read in the lookback margin is recognised
        by its source id) and fold them into the summary; the number of new plays."""
        with db_session:
            (before,) = self.store.execute("SELECT COALESCE(MAX(id), 0) FROM play")[0]
            self.store.executemany(
                "INSERT INTO play (source, source_id, username, key, parent_key, grandparent_key,"
                " viewed_at, watched) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (source, source_id) DO NOTHING",
                (  # a generator: a million plays are not copied into parameter tuples at once
                    (
                        history.name,
                        p.source_id,
                        p.user,
                        p.key,
                        p.parent_key,
                        p.grandparent_key,
                        p.viewed_at,
                        p.watched,
                    )
                    for p in plays
                ),
            )
            for statement in summarize_plays("source = ? AND id > ?"):
                self.store.execute(statement, (history.name, before))
            newest = max((p.viewed_at for p in plays), default=since)
            if newest is not None:
                self.store.execute(
                    "UPDATE sync_state SET cursor=? WHERE source=?", (repr(newest), source)
                )
            (fresh,) = self.store.execute(
                "SELECT COUNT(*) FROM play WHERE source=? AND id > ?", (history.name, before)
            )[0]
        return fresh

    # requests
    def _fetch_requests(self, tracker: RequestTracker) -> Callable[[], int]:
        requests = list(tracker.requests())
        return lambda: self._write_requests(tracker, requests)

    def _write_requests(self, tracker: RequestTracker, requests: list) -> int:
        with db_session:
            self.store.execute("DELETE FROM media_request WHERE source=?", (tracker.name,))
            self.store.executemany(
                "INSERT INTO media_request (source, request_id, media_id, media_type, tmdb_id, "
                "tvdb_id, imdb_id, requested_by, requested_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        tracker.name,
                        r.request_id,
                        r.media_id,
                        r.media,
                        r.ids.tmdb,
                        r.ids.tvdb,
                        r.ids.imdb,
                        r.requested_by,
                        r.requested_at,
                        r.status,
                    )
                    for r in requests
                ],
            )
        return len(requests)


def _main_file(item: ServerItem) -> tuple[str | None, int]:
    """(file_path, size) as an item's row has them: the main file's path, every file's size."""
    main = item.files[0] if item.files else None  # the client lists the main file first
    size = 0 if "size" in item.unread else sum(f.size or 0 for f in item.files)
    return (main and main.path, size)


class _ItemWriter:
    """Upserts one media server's listings inside the caller's transaction."""

    def __init__(self, store: Store, server: str, now: float):
        self.store = store
        self.server = server
        self.now = now
        keys = store.execute("SELECT key, item FROM item_key WHERE server=?", (server,))
        self.item_by_key: dict[str, int] = dict(keys)
        self.rekeyed: dict[str, int] = {}  # keys whose item_key row is to be written
        rows = store.execute(
            "SELECT id, type, tmdb_id, tvdb_id, imdb_id, parent, season_number, episode_number, "
            "tombstoned_at FROM item WHERE server=?",
            (server,),
        )
        self.by_ids: dict[tuple, int] = {}
        self.tombstoned: dict[int, float] = {}
        self.season_numbers: dict[int, int | None] = {}
        # per library, of the items whose answer lacks DETAIL_FIELDS: what is stored of them
        self.details: dict[int, tuple] = {}
        for item_id, type_, tmdb, tvdb, imdb, parent, season, episode, tomb in rows:
            for key in self._identity(type_, tmdb, tvdb, imdb, parent, season, episode):
                self.by_ids.setdefault(key, item_id)
            if tomb is not None:
                self.tombstoned[item_id] = tomb
            if type_ == "season":
                self.season_numbers[item_id] = season

    @staticmethod
    def _identity(type_, tmdb, tvdb, imdb, parent, season, episode) -> list[tuple]:
        """Keys that identify the same title across server keys."""
        if type_ == "season":
            return [("season", parent, season)] if parent is not None else []
        if type_ == "episode":
            return [("episode", parent, episode)] if parent is not None else []
        keys = []
        if tmdb is not None:
            keys.append((type_, "tmdb", tmdb))
        if tvdb is not None:
            keys.append((type_, "tvdb", tvdb))
        if imdb:
            keys.append((type_, "imdb", imdb))
        return keys

    def write_library(
        self,
        library_key: str,
        library: str,
        items: list[ServerItem],
        present: set[str] | None,
        *,
        details: bool = False,
    ) -> None:
        """Upsert `items`, then tombstone the library's live items whose key is not `present`
        (the complete set of keys the server lists now; None: not known, nothing is). With
        `details`, the items are full records fetched by key: their details were asked for now.
        """
        order = {"movie": 0, "show": 0, "season": 1, "episode": 2}  # parents before children
        # what a fetch of details did not read is unknown; what a listing did not, kept
        self.details = {} if details else self._stored_details(items)
        for item in sorted(items, key=lambda i: order.get(i.type, 3)):
            self._upsert(item, library_key, library, details)
        self.details = {}
        self.store.executemany(
            "INSERT INTO item_key (server, key, item) VALUES (?, ?, ?) "
            "ON CONFLICT (server, key) DO UPDATE SET item = excluded.item",
            [(self.server, key, item_id) for key, item_id in self.rekeyed.items()],
        )
        self.rekeyed = {}
        if present is None:
            return
        live = self.store.execute(
            "SELECT id, server_key FROM item WHERE server=? AND library_key=? "
            "AND tombstoned_at IS NULL",
            (self.server, library_key),
        )
        gone = [(self.now, item_id) for item_id, key in live if key not in present]
        self.store.executemany("UPDATE item SET tombstoned_at=? WHERE id=?", gone)

    def _upsert(
        self, item: ServerItem, library_key: str, library: str, details: bool = False
    ) -> int | None:
        parent = self.item_by_key.get(item.parent_key) if item.parent_key else None
        show = self.item_by_key.get(item.grandparent_key) if item.grandparent_key else None
        season_number = item.index if item.type == "season" else None
        episode_number = item.index if item.type == "episode" else None
        unread = set(item.unread)
        if item.type == "episode":
            season_number = self.season_numbers.get(parent) if parent is not None else None
        if item.type in ("season", "episode") and season_number is None:
            unread.add("season_number")
        main = item.files[0] if item.files else None  # the client lists the main file first
        # what a listing says of an item: the one definition of the columns a sync writes
        row = {
            "type": item.type,
            "title": item.title,
            "server": self.server,
            "server_key": item.key,
            "library_key": library_key,
            "library": library,
            "tmdb_id": item.ids.tmdb,
            "tvdb_id": item.ids.tvdb,
            "imdb_id": item.ids.imdb,
            "year": item.year,
            "added": item.added,
            "size": 0 if "size" in unread else sum(f.size or 0 for f in item.files),
            "file_path": main and main.path,
            "file_paths": json.dumps([f.path for f in item.files]) if item.files else None,
            "resolution": main and main.resolution,
            "resolution_height": main and main.height,
            "video_codec": main and main.video_codec,
            "audio_codec": main and main.audio_codec,
            "hdr": main and main.hdr,
            "bitrate": main and main.bitrate_kbps,
            "runtime": main and main.runtime_s,
            "genres": _json_list(item.genres),
            "labels": _json_list(item.labels),
            "collections": _json_list(item.collections),
            "studio": item.studio,
            "content_rating": item.content_rating,
            "original_language": item.original_language,
            "server_rating_imdb": item.rating_imdb,
            "server_rating_tmdb": item.rating_tmdb,
            "server_rating_rt": item.rating_rt,
            "server_rating_rt_audience": item.rating_rt_audience,
            "season_number": season_number,
            "episode_number": episode_number,
            "server_updated_at": item.updated,
            "updated_at": self.now,
            "parent": parent,
            "show": show,
        }
        item_id = self.item_by_key.get(item.key)
        if item_id is None:
            identity = self._identity(
                item.type,
                item.ids.tmdb,
                item.ids.tvdb,
                item.ids.imdb,
                parent,
                season_number,
                episode_number,
            )
            item_id = next((self.by_ids[k] for k in identity if k in self.by_ids), None)
        if item_id in self.tombstoned and item.added <= self.tombstoned[item_id]:
            return None  # a stale listing of something removed: only a re-add revives it
        if details:
            row["details_fetched_at"] = self.now
            row["details_updated_at"] = item.updated
        elif item_id is not None and unread & DETAIL_FIELDS:
            self._keep_details(item_id, row, unread)
        row["unread"] = json.dumps(sorted(unread)) if unread else None
        if item_id is None:
            item_id = self._insert({**row, "first_seen": self.now})
        else:
            assignments = ", ".join(f"{c}=?" for c in row)
            self.store.execute(
                f"UPDATE item SET {assignments}, tombstoned_at=NULL WHERE id=?",
                (*row.values(), item_id),
            )
            self.tombstoned.pop(item_id, None)
        if self.item_by_key.get(item.key) != item_id:
            self.item_by_key[item.key] = self.rekeyed[item.key] = item_id
        if item.type == "season":
            self.season_numbers[item_id] = season_number
        return item_id

    def _stored_details(self, items: list[ServerItem]) -> dict[int, tuple]:
        """(file_path, size, hdr, original_language, unread) of the stored items that `items`
        do not give all DETAIL_FIELDS of (none when the answers have Streams)."""
        ids = [
            self.item_by_key[item.key]
            for item in items
            if item.unread & DETAIL_FIELDS and item.key in self.item_by_key
        ]
        details = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            for item_id, *stored in self.store.execute(
                "SELECT id, file_path, size, hdr, original_language, unread FROM item "
                f"WHERE id IN ({', '.join('?' for _ in part)})",
                tuple(part),
            ):
                details[item_id] = tuple(stored)
        return details

    def _keep_details(self, item_id: int, row: dict, unread: set[str]) -> None:
        """Keep what an earlier answer read of the DETAIL_FIELDS this one did not read (a
        listing carries no Streams), while the main file is the same one; once it is another,
        its details are to be asked for again."""
        stored = self.details.get(item_id)
        if stored is None:
            return
        if stored[:2] != (row["file_path"], row["size"]):
            row["details_fetched_at"] = None
            return
        hdr, language, stored_unread = stored[2:]
        known = DETAIL_FIELDS & unread - set(json.loads(stored_unread or "[]"))
        for name in known:
            row[name] = hdr if name == "hdr" else language
        unread -= known

    def _insert(self, row: dict[str, object]) -> int:
        placeholders = ", ".join("?" for _ in row)
        sql = f"INSERT INTO item ({', '.join(row)}) VALUES ({placeholders})"
        return self.store.insert(sql, tuple(row.values()))
