"""The library as the API and previews see it: one in-memory snapshot of every live item, loaded
once per sync (or after a user changes something) and shared, so listings, stats and previews
over a large library answer in milliseconds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from pony.orm import db_session

from prunerr.database import Store
from prunerr.dsl import Catalog
from prunerr.engine import Availability, LibraryItem, availability, load_items
from prunerr.sdk import ServiceList
from prunerr.sync import choose_watch_service


@dataclass(frozen=True)
class Identity:
    """What a row knows besides the language's fields: its keys in other services."""

    server_key: str
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    arr_instance: str | None
    arr_id: int | None


@dataclass
class Snapshot:
    items: list[LibraryItem]
    by_id: dict[int, LibraryItem]
    identity: dict[int, Identity]
    available: Availability
    version: tuple
    derived: dict = field(default_factory=dict)  # sorted views and stats, computed once

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
        watch = choose_watch_service(services, watch_source)
        self.watch_name = watch.name if watch else None
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._generation = 0

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1

    def set_protection(self, item_id: int, protected: bool, reason: str | None) -> bool:
        """Protect or unprotect a live item (user state: no sync ever changes it)."""
        with db_session:
            if not self.store.execute(
                "SELECT 1 FROM item WHERE id=? AND tombstoned_at IS NULL", (item_id,)
            ):
                return False
            self.store.execute(
                "UPDATE item SET protected=?, protection_reason=? WHERE id=?",
                (protected, reason, item_id),
            )
        self.invalidate()
        return True

    def _version(self) -> tuple:
        with db_session:
            (last_run,) = self.store.execute("SELECT MAX(id) FROM sync_run")[0]
        return (last_run, self._generation)

    def snapshot(self) -> Snapshot:
        version = self._version()
        with self._lock:
            if self._snapshot is not None and self._snapshot.version == version:
                return self._snapshot
            available = availability(self.store, self.services, self.watch_name)
            items = load_items(self.store, available, self.watch_name, self.catalog)
            with db_session:
                rows = self.store.execute(
                    "SELECT id, server_key, tmdb_id, tvdb_id, imdb_id, arr_instance, arr_id "
                    "FROM item WHERE tombstoned_at IS NULL"
                )
            identity = {row[0]: Identity(*row[1:]) for row in rows}
            self._snapshot = Snapshot(items, {i.id: i for i in items}, identity, available, version)
            return self._snapshot


def stats(snapshot: Snapshot) -> dict[str, object]:
    """Counts and sizes of live items (tombstones excluded); watch counts only when known."""
    if "stats" not in snapshot.derived:
        snapshot.derived["stats"] = _stats(snapshot)
    return dict(snapshot.derived["stats"])


def _stats(snapshot: Snapshot) -> dict[str, object]:
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
    return {
        "movieCount": counts["movie"],
        "tvShowCount": counts["show"],
        "tvSeasonCount": counts["season"],
        "tvEpisodeCount": counts["episode"],
        "totalStorage": size if snapshot.available.media_server else None,
        "protectedItems": protected,
        "unwatchedMovies": unwatched["movie"] if known else None,
        "unwatchedShows": unwatched["show"] if known else None,
    }


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
STATUSES = ("monitored", "protected", "watched", "unwatched")
TYPES = {
    "movie": ("movie",),
    "show": ("show",),
    "tv": ("show",),
    "season": ("season",),
    "episode": ("episode",),
    "all": ("movie", "show"),
}


def status_of(item: LibraryItem) -> str:
    return "protected" if item.fields.get("protected") else "monitored"


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
) -> Page:
    """Filter, sort and page the snapshot (the arguments are validated by the caller)."""
    view = snapshot.sorted_view(TYPES[media], sort_by)
    if descending:
        view = view[::-1]
    needle = search.casefold() if search else None
    selected = []
    for item in view:
        if needle and needle not in str(item.fields.get("title", "")).casefold():
            continue
        # without watch data an item is neither watched nor unwatched: it is left out of both
        plays = item.fields.get("play_count")
        if status == "watched" and not (plays is not None and plays > 0):
            continue
        if status == "unwatched" and plays != 0:
            continue
        if status in ("monitored", "protected") and status_of(item) != status:
            continue
        selected.append(item)
    total = len(selected)
    start = (page - 1) * limit
    return Page(selected[start : start + limit], total, page, max(1, -(-total // limit)))


def accounts(store: Store) -> list[dict[str, object]]:
    """The users each source knows (inside the caller's db_session)."""
    rows = store.execute(
        "SELECT id, source, external_id, username, email FROM account ORDER BY username, source"
    )
    return [
        {"id": r[0], "source": r[1], "externalId": r[2], "username": r[3], "email": r[4]}
        for r in rows
    ]
