"""The sync's side of the item table: upserts of a media server's listings (`ItemWriter`), the
details fetched by key, and the links to the *arr library managers. Every function runs inside
the caller's db_session; the writes are the sync's bulk path, in hand-tuned SQL."""

from __future__ import annotations

import json
from collections.abc import Iterable

from prunerr.sdk import ManagedItem, ServerItem
from prunerr.store.database import Store

# fields read from a file's Streams, which listings do not carry and fetches of single items
# do: a listing that did not read them keeps what an earlier fetch read
DETAIL_FIELDS = frozenset({"hdr", "original_language"})


class ItemWriter:
    """Upserts one media server's listings inside the caller's transaction."""

    def __init__(self, store: Store, server: str, now: float):
        self.store = store
        self.server = server
        self.now = now
        keys = store.read("SELECT key, item FROM item_key WHERE server=?", (server,))
        self.item_by_key: dict[str, int] = dict(keys)
        self.rekeyed: dict[str, int] = {}  # keys whose item_key row is to be written
        rows = store.read(
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
        live = self.store.read(
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
            for item_id, *stored in self.store.read(
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


def change_times(store: Store, server: str, library_key: str) -> dict[str, float | None]:
    """The server's change time of each live item of a library, by server key."""
    return dict(
        store.read(
            "SELECT server_key, server_updated_at FROM item "
            "WHERE server=? AND library_key=? AND tombstoned_at IS NULL",
            (server, library_key),
        )
    )


def needing_details(
    store: Store, server: str, library_key: str, recheck_before: float
) -> list[str]:
    """The keys of a library's live items some DETAIL_FIELDS of which are unknown, whose
    details were never asked for, or were asked for before the item changed (its change time
    differs from the one that answer gave), or, when the server gives no change time, before
    `recheck_before`."""
    unread = " OR ".join("unread LIKE ?" for _ in sorted(DETAIL_FIELDS))
    rows = store.read(
        "SELECT server_key FROM item WHERE server=? AND library_key=? "
        f"AND tombstoned_at IS NULL AND ({unread}) AND (details_fetched_at IS NULL "
        "OR (server_updated_at IS NOT NULL AND (details_updated_at IS NULL "
        "OR details_updated_at <> server_updated_at)) "
        "OR (server_updated_at IS NULL AND details_fetched_at <= ?)) ORDER BY id",
        (
            server,
            library_key,
            *(f'%"{name}"%' for name in sorted(DETAIL_FIELDS)),
            recheck_before,
        ),
    )
    return [key for (key,) in rows]


def write_details(
    store: Store, server: str, items: list[ServerItem], now: float
) -> list[ServerItem]:
    """Write the DETAIL_FIELDS of the fetched items whose row has the same main file and
    change time (the common case: only those columns change); the others are returned."""
    updates, changed = [], []
    for start in range(0, len(items), 500):
        part = items[start : start + 500]
        stored = {
            key: rest
            for key, *rest in store.read(
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
            unread = set(json.loads(row[4] or "[]")) - DETAIL_FIELDS | (item.unread & DETAIL_FIELDS)
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
    store.executemany(
        "UPDATE item SET hdr=?, original_language=?, unread=?, details_fetched_at=?, "
        "details_updated_at=? WHERE id=?",
        updates,
    )
    return changed


def live_by_external_id(store: Store, media: str) -> tuple[dict, dict, dict]:
    """The live items of one type by their TMDB, TVDB and IMDb ids (each id's first item)."""
    by_tmdb, by_tvdb, by_imdb = {}, {}, {}
    for item_id, tmdb, tvdb, imdb in store.read(
        "SELECT id, tmdb_id, tvdb_id, imdb_id FROM item WHERE type=? AND tombstoned_at IS NULL",
        (media,),
    ):
        if tmdb is not None:
            by_tmdb.setdefault(tmdb, item_id)
        if tvdb is not None:
            by_tvdb.setdefault(tvdb, item_id)
        if imdb:
            by_imdb.setdefault(imdb, item_id)
    return by_tmdb, by_tvdb, by_imdb


def link_managed(store: Store, instance: str, links: Iterable[tuple[int, ManagedItem]]) -> None:
    """Replace what an *arr instance says of items with what it listed now: `links` pairs an
    item's id with its managed entry; its seasons and episodes follow a show's entry."""
    store.execute(
        "UPDATE item SET arr_instance=NULL, arr_id=NULL, monitored=NULL, tags=NULL, "
        "rating_imdb=NULL, rating_tmdb=NULL, rating_rt=NULL, series_status=NULL "
        "WHERE arr_instance=?",
        (instance,),
    )
    updates, season_updates, episode_updates = [], [], []
    for item_id, entry in links:
        tags = None if entry.tags is None else _json_list(entry.tags)
        updates.append(
            (
                instance,
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
                    instance,
                    entry.arr_id,
                    season.monitored,
                    tags,
                    entry.series_status,
                    item_id,
                    season.number,
                )
            )
        episode_updates += [(e.monitored, item_id, e.season, e.number) for e in entry.episodes]
    store.executemany(
        "UPDATE item SET arr_instance=?, arr_id=?, monitored=?, tags=?, rating_imdb=?, "
        "rating_tmdb=?, rating_rt=?, series_status=? "
        "WHERE id=?",
        updates,
    )
    if season_updates:
        store.executemany(
            "UPDATE item SET arr_instance=?, arr_id=?, monitored=?, tags=?, "
            "series_status=? WHERE parent=? AND season_number=? AND type='season'",
            season_updates,
        )
        # episodes follow their season, but for their own monitored flag: unknown
        # (NULL) unless the manager listed the episodes
        store.execute(
            "UPDATE item SET arr_instance=(SELECT s.arr_instance FROM item s "
            "WHERE s.id=item.parent), arr_id=(SELECT s.arr_id FROM item s "
            "WHERE s.id=item.parent), monitored=NULL, tags=(SELECT s.tags FROM item s "
            "WHERE s.id=item.parent), series_status=(SELECT s.series_status FROM item s "
            "WHERE s.id=item.parent) WHERE type='episode' AND parent IN "
            "(SELECT id FROM item WHERE type='season' AND arr_instance=?)",
            (instance,),
        )
        if episode_updates:
            store.executemany(
                "UPDATE item SET monitored=? WHERE type='episode' AND show=? "
                "AND season_number=? AND episode_number=? AND arr_instance IS NOT NULL",
                episode_updates,
            )


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(sorted(set(values)))


def _main_file(item: ServerItem) -> tuple[str | None, int]:
    """(file_path, size) as an item's row has them: the main file's path, every file's size."""
    main = item.files[0] if item.files else None  # the client lists the main file first
    size = 0 if "size" in item.unread else sum(f.size or 0 for f in item.files)
    return (main and main.path, size)
