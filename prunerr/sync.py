"""Library sync: bulk listings from every configured service into the database.

Each source (a service in one role) is synced on its own and recorded in `sync_state`. A source
that fails keeps its previous rows but is marked failed, and the engine then treats the fields it
supplies as unknown. Of one item, the fields a media server's answer did not give are listed in
its `unread` column: unknown too, never null, 0 or empty. Writes of one source happen in one
transaction, so a crash leaves the previous state. Items keep their row when the server gives them
a new key (re-linked by external ids); items missing from a complete listing become tombstones;
nothing a user set (protection) is ever written here. After a media server's listing, the items
whose details (`item_writer.DETAIL_FIELDS`) are unknown and that are new or changed since their
details were last asked for are fetched by key, as the source `<server>:media_details`. The
statements themselves are in the repositories of `prunerr.store`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pony.orm import db_session

from prunerr.dsl.units import DAY
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
from prunerr.store import accounts, item_writer, plays, requests, sync_state
from prunerr.store.database import Store
from prunerr.store.item_writer import ItemWriter

log = logging.getLogger(__name__)

HISTORY_OVERLAP_S = 3600.0
FULL_LISTING_EVERY_S = DAY
# An item whose details are still unknown after a fetch (a file without streams, say) is asked
# again when its change time differs from the one that fetch saw; one whose change time the
# server does not give, at most once per this period (not on every sync).
DETAILS_RECHECK_S = 7 * DAY


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
            status = "ok" if report.ok else "partial"
            sync_state.record_run(self.store, started, self.clock(), status, report.as_dict())
        return report

    def sync_accounts(self) -> int:
        """Only the users: the accounts of every media server and of the watch history."""
        sources = [*self.services.with_role("media_server")]
        watch = self.watch_service()
        if watch is not None and watch not in sources:
            sources.append(watch)
        fetched = [(s.name, s.accounts()) for s in sources]
        with db_session:
            for name, users in fetched:
                accounts.replace(self.store, name, users)
        return sum(len(users) for _, users in fetched)

    def watch_service(self) -> WatchHistory | None:
        return self.services.watch_history(self.watch_source)

    def _ensure_state(self, service: str, role: str) -> None:
        with db_session:
            sync_state.ensure(self.store, sync_state.source_name(service, role), role)

    def _run_source(
        self, service: str, role: str, started: float, sync: Callable[[], int]
    ) -> SourceResult:
        """Finish one source (`sync` waits for its listing and writes it) and record how it
        went."""
        source = sync_state.source_name(service, role)
        try:
            records = sync()
        except ServiceError as exc:
            log.warning("sync of %s failed: %s", source, exc)
            with db_session:
                sync_state.record_failure(self.store, source, started, self.clock(), str(exc))
            return SourceResult(source, False, 0, str(exc), self.clock() - started)
        now = self.clock()
        with db_session:
            sync_state.record_success(self.store, source, started, now, records)
        return SourceResult(source, True, records, seconds=now - started)

    # media servers
    def _fetch_media_server(self, server: MediaServer) -> Callable[[], int]:
        """A full listing of every library once a day (or when asked); in between, a light
        listing of keys and change times, and full records only for what changed."""
        source = sync_state.source_name(server.name, "media_server")
        with db_session:
            last_full = sync_state.last_full_listing(self.store, source)
        full = self.full or last_full is None or self.clock() - last_full > FULL_LISTING_EVERY_S
        listings: list[tuple[Library, list[ServerItem], set[str]]] = []
        failures = []
        self._listed[server.name] = []
        for library in server.libraries():
            try:
                listings.append((library, *self._listing(server, library, full)))
            except ServiceError as exc:
                failures.append(f"{library.title}: {exc}")
        users = server.accounts()

        def write() -> int:
            with db_session:
                writer = ItemWriter(self.store, server.name, self.clock())
                for library, items, present in listings:
                    # between full listings, the records are fetches by key: details
                    writer.write_library(
                        library.key, library.title, items, present, details=not full
                    )
                    self._listed[server.name].append(library)
                accounts.replace(self.store, server.name, users)
                if full and not failures:
                    sync_state.record_full_listing(self.store, source, self.clock())
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
            stored = item_writer.change_times(self.store, server.name, library.key)
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
        """Fetch by key (`items(library, keys)`: full records) the items
        `item_writer.needing_details` names in every library just listed. What arrived before a
        failure is written, then the failure raised: what was not fetched stays unknown, and is
        asked for again next time."""
        now, fetched, failures = self.clock(), [], []
        for library in self._listed.pop(server.name, []):
            with db_session:
                keys = item_writer.needing_details(
                    self.store, server.name, library.key, now - DETAILS_RECHECK_S
                )
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
                    changed = item_writer.write_details(
                        self.store, server.name, items, self.clock()
                    )
                    if changed:  # since the listing: written as a sync between listings does
                        writer = ItemWriter(self.store, server.name, self.clock())
                        writer.write_library(
                            library.key, library.title, changed, None, details=True
                        )
            if failures:
                raise ServiceError(server.name, "details not fetched: " + "; ".join(failures))
            return sum(len(items) for _, items in fetched)

        return write

    # *arr library managers
    def _fetch_library_manager(self, manager: LibraryManager) -> Callable[[], int]:
        managed = manager.items()
        return lambda: self._write_library_manager(manager, managed)

    def _write_library_manager(self, manager: LibraryManager, managed: list[ManagedItem]) -> int:
        with db_session:
            by_ids = item_writer.live_by_external_id(self.store, manager.media)
            links = [
                (item_id, entry)
                for entry in managed
                if (item_id := self._match(entry, manager.media, *by_ids)) is not None
            ]
            item_writer.link_managed(self.store, manager.name, links)
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
        source = sync_state.source_name(history.name, "watch_history")
        with db_session:
            since = sync_state.history_cursor(self.store, source)
        # re-read a margin before the cursor: a view recorded late, or in the cursor's own
        # second, is not missed; rows already stored are recognised by their source id
        lookback = since - HISTORY_OVERLAP_S if since is not None else None
        fetched = list(history.plays(lookback))
        return lambda: self._write_plays(history, source, fetched, since)

    def _write_plays(self, history: WatchHistory, source: str, fetched: list, since) -> int:
        """Store the plays not stored yet and move the cursor to the newest; the number of new
        plays."""
        with db_session:
            fresh = plays.add(self.store, history.name, fetched)
            newest = max((p.viewed_at for p in fetched), default=since)
            if newest is not None:
                sync_state.advance_history_cursor(self.store, source, newest)
        return fresh

    # requests
    def _fetch_requests(self, tracker: RequestTracker) -> Callable[[], int]:
        listed = list(tracker.requests())
        return lambda: self._write_requests(tracker, listed)

    def _write_requests(self, tracker: RequestTracker, listed: list) -> int:
        with db_session:
            requests.replace(self.store, tracker.name, listed)
        return len(listed)
