"""The library as the API and previews see it: one in-memory snapshot of every live item, loaded
once per sync (or after a user changes something) and shared, so listings, stats and previews
over a large library answer in milliseconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from pony.orm import commit, db_session

from prunerr.dsl import Catalog
from prunerr.planning import by_type
from prunerr.sdk import ServiceList
from prunerr.store import activity, deletions, sync_state
from prunerr.store.activity import USER, Actor
from prunerr.store.database import Store
from prunerr.store.items import (
    Availability,
    Identity,
    LibraryItem,
    availability,
    identities,
    item_names,
    live_among,
    load_items,
    set_protection,
)


@dataclass
class Snapshot:
    items: list[LibraryItem]
    by_id: dict[int, LibraryItem]
    identity: dict[int, Identity]
    available: Availability
    version: tuple
    deletions_seen: int = 0  # the last deletion whose item is already left out
    derived: dict = field(default_factory=dict)  # sorted views and stats, computed once

    def grouped(self) -> dict[str, list[LibraryItem]]:
        """The items by media type (what rule planning iterates)."""
        if "by_type" not in self.derived:
            self.derived["by_type"] = by_type(self.items)
        return self.derived["by_type"]

    def sorted_view(self, types: tuple[str, ...], sort_by: str) -> list[LibraryItem]:
        """The items of these types in ascending `sort_by` order (ties by id)."""
        key = ("sorted", types, sort_by)
        if key not in self.derived:
            rank = SORT_KEYS[sort_by]
            self.derived[key] = sorted(
                (i for i in self.items if i.fields["type"] in types), key=lambda i: (rank(i), i.id)
            )
        return self.derived[key]


class LibraryIndex:
    """Hands out the current snapshot; reloads it when a sync has run or `invalidate` was
    called. Thread-safe: the API serves requests from several threads."""

    def __init__(
        self, store: Store, services: ServiceList, catalog: Catalog, watch_source: str | None
    ):
        self.store = store
        self.services = services
        self.catalog = catalog
        watch = services.watch_history(watch_source)
        self.watch_name = watch.name if watch else None
        self._lock = threading.Lock()  # guards the fields below
        self._loading = threading.Lock()  # one load at a time
        self._snapshot: Snapshot | None = None
        self._reloading: threading.Thread | None = None
        self._generation = 0

    def invalidate(self) -> None:
        """Something changed: the next `snapshot()` call starts a reload."""
        with self._lock:
            self._generation += 1

    def set_protection(
        self, item_id: int, protected: bool, reason: str | None, actor: Actor = USER
    ) -> bool:
        """Protect or unprotect a live item (user state: no sync ever changes it), recorded."""
        with db_session:
            if not live_among(self.store, [item_id]):
                return False
            name = item_names(self.store, [item_id])[item_id]
            set_protection(self.store, item_id, protected, reason)
            activity.record(
                self.store,
                time.time(),
                "protection",
                "protected" if protected else "unprotected",
                actor,
                ("item", item_id, name.display),
                reason=reason,
            )
            commit()  # before the snapshot shows it
        with self._lock:  # the snapshot follows at once, without a reload
            snapshot = self._snapshot
            if snapshot is not None and item_id in snapshot.by_id:
                snapshot.by_id[item_id].fields["protected"] = protected
                snapshot.derived.clear()
        return True

    def _version(self) -> tuple:
        with db_session:
            return (sync_state.last_run_id(self.store), self._generation)

    def snapshot(self, fresh: bool = False) -> Snapshot:
        """The current snapshot, without the items deleted since it was loaded. When the
        data changed (a sync ran, or `invalidate` was called), `fresh` waits for a reload;
        otherwise the old snapshot is answered while a background thread loads the new one,
        so a reload of a large library never stalls the API. Only the first load always
        waits."""
        version = self._version()
        current = self._snapshot
        if current is not None:
            self._forget_deleted(current)
        if current is not None and current.version == version:
            return current
        if current is None or fresh:
            return self.refresh(version)
        with self._lock:
            if self._reloading is None:
                self._reloading = threading.Thread(
                    target=self.refresh, args=(version,), name="library-reload", daemon=True
                )
                self._reloading.start()
        return current

    def items_of(self, item_ids: Collection[int]) -> dict[int, LibraryItem]:
        """Some live items, read fresh from the database (not the snapshot): what judging a
        few queued entries needs, without loading the whole library."""
        available = availability(self.store, self.services, self.watch_name)
        items = load_items(self.store, available, self.watch_name, self.catalog, only=item_ids)
        return {item.id: item for item in items}

    def _forget_deleted(self, snapshot: Snapshot) -> None:
        """Drop the items whose files a deletion removed (in any process) since the last look:
        a cheap catch-up instead of a reload."""
        with db_session:
            rows = deletions.freed_after(self.store, snapshot.deletions_seen)
        if not rows:
            return
        gone = {item for _, item in rows}
        with self._lock:
            snapshot.items[:] = [i for i in snapshot.items if i.id not in gone]
            for item_id in gone:
                snapshot.by_id.pop(item_id, None)
                snapshot.identity.pop(item_id, None)
            snapshot.derived.clear()
            snapshot.deletions_seen = max(snapshot.deletions_seen, max(r[0] for r in rows))

    def refresh(self, version: tuple | None = None) -> Snapshot:
        """Load a new snapshot now and answer it (one load at a time)."""
        with self._loading:
            version = version or self._version()
            if self._snapshot is not None and self._snapshot.version == version:
                return self._snapshot
            with db_session:
                deletions_seen = deletions.last_id(self.store)
            available = availability(self.store, self.services, self.watch_name)
            old = self._snapshot
            items = load_items(
                self.store,
                available,
                self.watch_name,
                self.catalog,
                unchanged=old.by_id if old else None,
            )
            with db_session:
                identity = identities(self.store, old.identity if old else None)
            snapshot = Snapshot(
                items, {i.id: i for i in items}, identity, available, version, deletions_seen
            )
            with self._lock:
                self._snapshot = snapshot
                self._reloading = None
            return snapshot


@dataclass(frozen=True)
class LibraryStats:
    """Counts and sizes of the live items (tombstones excluded); None where the source that
    knows it is unavailable."""

    movies: int
    shows: int
    seasons: int
    episodes: int
    storage: int | None  # bytes of movies and episodes
    protected: int
    unwatched_movies: int | None
    unwatched_shows: int | None


def stats(snapshot: Snapshot) -> LibraryStats:
    """The snapshot's `LibraryStats`, computed once per snapshot."""
    if "stats" not in snapshot.derived:
        snapshot.derived["stats"] = _stats(snapshot)
    return snapshot.derived["stats"]


def _stats(snapshot: Snapshot) -> LibraryStats:
    counts = {t: 0 for t in ("movie", "show", "season", "episode")}
    size = protected = 0
    unwatched = {"movie": 0, "show": 0}
    for item in snapshot.items:
        kind = item.fields["type"]
        counts[kind] += 1
        if kind in ("movie", "episode"):
            size += item.size
        protected += bool(item.fields.get("protected"))
        if kind in unwatched and item.fields.get("play_count") == 0:
            unwatched[kind] += 1
    known = snapshot.available.watch_history
    return LibraryStats(
        movies=counts["movie"],
        shows=counts["show"],
        seasons=counts["season"],
        episodes=counts["episode"],
        storage=size if snapshot.available.media_server else None,
        protected=protected,
        unwatched_movies=unwatched["movie"] if known else None,
        unwatched_shows=unwatched["show"] if known else None,
    )


@dataclass(frozen=True)
class Page:
    items: list[LibraryItem]
    total: int
    page: int
    total_pages: int


SORT_KEYS: dict[str, Callable[[LibraryItem], object]] = {
    "title": lambda i: str(i.fields.get("title", "")).casefold(),
    "size": lambda i: i.size,
    "addedAt": lambda i: i.fields.get("added") or 0.0,
    "year": lambda i: i.fields.get("year") or 0,
    "lastWatched": lambda i: i.fields.get("last_watched") or 0.0,
    "playCount": lambda i: i.fields.get("play_count") or 0,
}
STATUSES = ("monitored", "queued", "protected", "watched", "unwatched")
TYPES = {
    "movie": ("movie",),
    "show": ("show",),
    "season": ("season",),
    "episode": ("episode",),
    "all": ("movie", "show"),
}


def status_of(item: LibraryItem, queued: Collection[int] = frozenset()) -> str:
    """protected, queued (a live deletion-queue entry) or monitored."""
    if item.fields.get("protected"):
        return "protected"
    return "queued" if item.id in queued else "monitored"


def list_items(
    snapshot: Snapshot,
    *,
    media: str = "all",
    status: str | None = None,
    search: str | None = None,
    sort_by: str = "title",
    descending: bool = False,
    page: int = 1,
    limit: int = 50,
    queued: Collection[int] = frozenset(),
) -> Page:
    """Filter, sort and page the snapshot (the arguments are validated by the caller)."""
    view = snapshot.sorted_view(TYPES[media], sort_by)
    if descending:
        view = view[::-1]
    needle = search.casefold() if search else None
    selected = []
    for item in view:
        if (
            needle
            and needle not in str(item.fields.get("title", "")).casefold()
            and needle not in item.display_title.casefold()  # a season by its show's title
        ):
            continue
        # without watch data an item is neither watched nor unwatched: it is left out of both
        plays = item.fields.get("play_count")
        if status == "watched" and not (plays is not None and plays > 0):
            continue
        if status == "unwatched" and plays != 0:
            continue
        if status in ("monitored", "queued", "protected") and status_of(item, queued) != status:
            continue
        selected.append(item)
    total = len(selected)
    start = (page - 1) * limit
    return Page(selected[start : start + limit], total, page, max(1, -(-total // limit)))
