"""The rule engine's view of the library: synced rows turned into items the language evaluates,
with the fields of unavailable sources left out (so they are *unknown*).

A source is available when every configured service in its role synced successfully last time.
A role with no configured service is unavailable too: no Seerr means requests are unknown, not
"nobody requested it".
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache

from pony.orm import db_session

from prunerr.dsl import CORE, Catalog
from prunerr.dsl.runtime import folded
from prunerr.sdk import LibraryManager, ServiceList
from prunerr.store.database import Store
from prunerr.store.sync_state import source_name


@dataclass(frozen=True)
class Availability:
    """Which sources' data can be trusted now."""

    media_server: bool
    arr: dict[str, bool]  # media type -> all its *arr instances synced
    watch_history: bool
    requests: bool

    def arr_for(self, item_type: str) -> bool:
        return self.arr.get("movie" if item_type == "movie" else "show", False)


def availability(store: Store, services: ServiceList, watch_service: str | None) -> Availability:
    with db_session:
        status = dict(store.read("SELECT source, status FROM sync_state"))

    def all_ok(names: Iterable[str], role: str) -> bool:
        names = list(names)
        return bool(names) and all(status.get(source_name(n, role)) == "ok" for n in names)

    managers = [s for s in services.with_role("library_manager") if isinstance(s, LibraryManager)]
    return Availability(
        media_server=all_ok((s.name for s in services.with_role("media_server")), "media_server"),
        arr={
            media: all_ok((m.name for m in managers if m.media == media), "library_manager")
            for media in ("movie", "show")
        },
        watch_history=watch_service is not None and all_ok([watch_service], "watch_history"),
        requests=all_ok((s.name for s in services.with_role("requests")), "requests"),
    )


_ABSENT = object()  # in an ItemFields slot: the item does not carry the field (it is unknown)


class ItemFields(MutableMapping):
    """An item's fields by name, as a dict would hold them, in a fraction of a dict's memory: one
    list of values in a layout of slots that every item shares (a slot per field name, added as
    names appear). A library of 170,000 items is held in a few hundred MB, not a gigabyte. A
    field the item does not carry is absent, which the language reads as unknown."""

    __slots__ = ("_values",)
    # the layout every instance shares: the core fields, then plugins' as they appear
    _names: list[str] = list(CORE.fields)  # noqa: RUF012
    _slot: dict[str, int] = {name: slot for slot, name in enumerate(_names)}  # noqa: RUF012
    _adding = threading.Lock()

    def __init__(self, fields: Mapping[str, object] = ()):
        fields = fields if isinstance(fields, dict) else dict(fields)
        if not fields.keys() <= self._slot.keys():
            for name in fields:
                if name not in self._slot:
                    self._add(name)
        names = self._names
        self._values = list(map(fields.get, names, itertools.repeat(_ABSENT, len(names))))

    @classmethod
    def _add(cls, name: str) -> None:
        with cls._adding:
            if name not in cls._slot:
                cls._names.append(name)
                cls._slot[name] = len(cls._names) - 1

    def get(self, name: str, default=None):
        try:  # a name no item had, or one added since this item was made, has no value here
            value = self._values[self._slot[name]]
        except (KeyError, IndexError):
            return default
        return default if value is _ABSENT else value

    def __getitem__(self, name: str):
        value = self.get(name, _ABSENT)
        if value is _ABSENT:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return self.get(name, _ABSENT) is not _ABSENT

    def __setitem__(self, name: str, value: object) -> None:
        if name not in self._slot:
            self._add(name)
        slot = self._slot[name]
        if slot >= len(self._values):
            self._values.extend([_ABSENT] * (slot + 1 - len(self._values)))
        self._values[slot] = value

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._values[self._slot[name]] = _ABSENT

    def __iter__(self) -> Iterator[str]:
        return (n for n, v in zip(self._names, self._values, strict=False) if v is not _ABSENT)

    def __len__(self) -> int:
        return sum(v is not _ABSENT for v in self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ItemFields) and len(self._values) == len(other._values):
            return self._values == other._values
        return super().__eq__(other)

    def __repr__(self) -> str:
        return f"ItemFields({dict(self)!r})"


class Watches(Mapping):
    """An item's plays by folded user name, (plays, last play) each, as a dict would hold them,
    in one flat tuple: a dict and a tuple per user would cost three times the memory, and most
    of a large library (its episodes) is watched by a few users each."""

    __slots__ = ("_flat",)

    def __init__(self, entries: Mapping[str, tuple[int, float | None]] | None = None):
        flat: list = []
        for name in sorted(entries or ()):
            plays, last = entries[name]
            flat += (name, plays, last)
        self._flat = tuple(flat)

    def get(self, name: str, default=None):
        try:  # only the names are text: a match is a name's place
            at = self._flat.index(name)
        except ValueError:
            return default
        return self._flat[at + 1], self._flat[at + 2]

    def __getitem__(self, name: str) -> tuple[int, float | None]:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._flat[::3])

    def __len__(self) -> int:
        return len(self._flat) // 3

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Watches):
            return self._flat == other._flat
        return super().__eq__(other)

    def __repr__(self) -> str:
        return f"Watches({dict(self)!r})"


_NO_WATCHES = Watches()


@dataclass(slots=True)
class LibraryItem:
    id: int
    fields: ItemFields
    ancestors: tuple[int, ...] = ()  # a season's show; an episode's season and show
    display_title: str = ""  # the name people know it by (`display_title()`), always known

    @property
    def title(self) -> str:
        return str(self.fields.get("title", ""))

    @property
    def size(self) -> int:
        size = self.fields.get("size", 0)
        return size if isinstance(size, int) else 0


DASH = " — "


def display_title(
    kind: str,
    title: str | None,
    *,
    year: int | None = None,
    show: str | None = None,
    season: int | None = None,
    episode: int | None = None,
) -> str:
    """The one name of an item wherever people read it (queue, API, notifications, history,
    plans): a movie or a show "Title (Year)", a season "Show — Season 2" ("Show — Specials"
    for season 0), an episode "Show — S02E05 — Title". What is unknown is left out, never
    shown as 0 or None; a season or an episode whose show is unknown goes by its own title."""
    title = (title or "").strip()
    if kind in ("movie", "show"):
        return f"{title} ({year})" if year and title else title
    show = (show or "").strip()
    if kind == "season":
        if not show:
            return title
        if season is None:
            return DASH.join(p for p in (show, title) if p)
        return f"{show}{DASH}{'Specials' if season == 0 else f'Season {season}'}"
    if kind == "episode":
        code = "".join(
            f"{letter}{number:02d}"
            for letter, number in (("S", season), ("E", episode))
            if number is not None
        )
        return DASH.join(p for p in (show, code, title) if p)
    return title


def listing_title(kind: str | None, title: str | None, display: str) -> str | None:
    """The `title` the API lists: a movie's or a show's own (what clients of the original
    Prunerr API, which had only those, expect), a season's or an episode's display title
    (its own, "Season 1", names nothing)."""
    return title if kind in ("movie", "show") else display


@dataclass(frozen=True, slots=True)
class ItemName:
    """How an item is named: its type, its own title and its `display_title`."""

    type: str
    title: str
    display: str


def item_names(store: Store, item_ids: Collection[int]) -> dict[int, ItemName]:
    """The names of those of these items the database holds (tombstoned ones too: history
    names what was deleted), read inside the caller's db_session."""
    rows = store.read_in(
        "SELECT i.id, i.type, i.title, i.year, i.season_number, i.episode_number, s.title "
        "FROM item i LEFT JOIN item s ON s.id = CASE WHEN i.type = 'season' THEN i.parent "
        "WHEN i.type = 'episode' THEN i.show END WHERE i.id IN ({ids})",
        set(item_ids),
    )
    return {
        item_id: ItemName(
            kind,
            title,
            display_title(kind, title, year=year, show=show, season=season, episode=episode),
        )
        for item_id, kind, title, year, season, episode, show in rows
    }


def family(store: Store, item_ids: Collection[int]) -> set[int]:
    """The live items whose protection decides the given items' (`prunerr.planning.protection`):
    them, their season and show, and every season and episode under them (inside the caller's
    db_session)."""
    found = set(item_ids)
    ids = sorted(found)
    for parent, show in store.read_in("SELECT parent, show FROM item WHERE id IN ({ids})", ids):
        found.update(a for a in (parent, show) if a is not None)
    level = ids  # down two levels by `parent` (indexed): show → seasons → episodes
    for _ in range(2):
        level = [
            r[0]
            for r in store.read_in(
                "SELECT id FROM item WHERE parent IN ({ids}) AND tombstoned_at IS NULL", level
            )
        ]
        found.update(level)
    return found


def live_among(store: Store, item_ids: Collection[int]) -> set[int]:
    """Those of the given items still in the library (not tombstoned)."""
    return {
        r[0]
        for r in store.read_in(
            "SELECT id FROM item WHERE id IN ({ids}) AND tombstoned_at IS NULL", item_ids
        )
    }


def protection_rows(
    store: Store, item_ids: Collection[int]
) -> list[tuple[int, int | None, int | None, bool, list[str]]]:
    """(id, parent, show, protected by a user, collections) of the given items."""
    return [
        (item_id, parent, show, bool(protected), json.loads(names))
        for item_id, parent, show, protected, names in store.read_in(
            "SELECT id, parent, show, protected, collections FROM item WHERE id IN ({ids})",
            sorted(item_ids),
        )
    ]


def libraries(store: Store) -> list[tuple[str, str, str]]:
    """(name, key on its media server, `movie` or `show`) of each library the live items are
    in."""
    return store.read(
        "SELECT library, library_key, MAX(CASE WHEN type = 'movie' THEN 'movie' ELSE 'show' END) "
        "FROM item WHERE tombstoned_at IS NULL GROUP BY library, library_key "
        "ORDER BY library, library_key"
    )


@dataclass(frozen=True)
class ItemRecord:
    """What a live item's row holds beside the language's fields: where it is on the server,
    its protection by a user and when Prunerr first and last saw it."""

    library_key: str
    file_path: str | None
    protected: bool  # by a user, the item itself
    protection_reason: str | None
    collections: tuple[str, ...]
    first_seen: float
    updated_at: float


def record(store: Store, item_id: int) -> ItemRecord | None:
    """The row of a live item, None when there is none (inside the caller's db_session)."""
    # SQL, not Pony's Item.get: Pony refuses an id past 32 bits before asking the database
    rows = store.read(
        "SELECT library_key, file_path, protected, protection_reason, collections, first_seen, "
        "updated_at FROM item WHERE id=? AND tombstoned_at IS NULL",
        (item_id,),
    )
    if not rows:
        return None
    key, path, protected, reason, names, first_seen, updated_at = rows[0]
    return ItemRecord(
        key, path, bool(protected), reason, tuple(json.loads(names)), first_seen, updated_at
    )


@dataclass(frozen=True)
class ItemTarget:
    """What acting on an item upstream needs: its keys on the media server and the manager,
    and the ids of its show."""

    id: int
    type: str
    title: str
    server: str
    server_key: str
    arr_instance: str | None
    arr_id: int | None
    season: int | None
    episode: int | None
    tmdb_id: int | None
    tvdb_id: int | None
    show_tmdb_id: int | None
    show_tvdb_id: int | None


def target(store: Store, item_id: int) -> ItemTarget:
    (row,) = store.read(
        "SELECT i.id, i.type, i.title, i.server, i.server_key, i.arr_instance, i.arr_id, "
        "i.season_number, i.episode_number, i.tmdb_id, i.tvdb_id, s.tmdb_id, s.tvdb_id "
        "FROM item i LEFT JOIN item s ON s.id = COALESCE(i.show, i.parent) WHERE i.id=?",
        (item_id,),
    )
    return ItemTarget(*row)


def tombstone(store: Store, item_id: int, now: float) -> None:
    """The item left the library (its files were deleted); its row stays for history."""
    store.update("UPDATE item SET tombstoned_at=? WHERE id=?", (now, item_id))


def mark_unmonitored(store: Store, item_id: int) -> None:
    store.update("UPDATE item SET monitored=? WHERE id=?", (False, item_id))


@dataclass(frozen=True, slots=True)
class Identity:
    """What a row knows besides the language's fields: its keys in other services."""

    server_key: str
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    arr_instance: str | None
    arr_id: int | None


def identities(
    store: Store, unchanged: Mapping[int, Identity] | None = None
) -> dict[int, Identity]:
    """How each live item is known upstream, by id; one equal to its id's in `unchanged` is
    that same object (as `load_items` shares unchanged items)."""
    unchanged = unchanged or {}
    found = {}
    instances: dict[str, str] = {}  # one string per *arr instance name, not one per item
    for item_id, server_key, tmdb, tvdb, imdb, instance, arr_id in store.stream(
        "SELECT id, server_key, tmdb_id, tvdb_id, imdb_id, arr_instance, arr_id "
        "FROM item WHERE tombstoned_at IS NULL"
    ):
        if instance is not None:
            instance = instances.setdefault(instance, instance)
        identity = Identity(server_key, tmdb, tvdb, imdb, instance, arr_id)
        old = unchanged.get(item_id)
        found[item_id] = old if old == identity else identity
    return found


def set_protection(store: Store, item_id: int, protected: bool, reason: str | None) -> None:
    store.update(
        "UPDATE item SET protected=?, protection_reason=? WHERE id=?", (protected, reason, item_id)
    )


def _display_title(r: dict, shows: dict) -> str:
    """`display_title` of a row `load_items` read (its show among `shows`), as `item_names`."""
    show = _title_of(r, shows) if r["type"] in ("season", "episode") else None
    return display_title(
        r["type"],
        r["title"],
        year=r["year"],
        show=show["title"] if show is not None else None,
        season=r["season_number"],
        episode=r["episode_number"],
    )


_COLUMNS = (
    "id",
    "type",
    "title",
    "parent",
    "show",
    "library",
    "year",
    "added",
    "size",
    "resolution",
    "resolution_height",
    "video_codec",
    "audio_codec",
    "hdr",
    "bitrate",
    "runtime",
    "genres",
    "labels",
    "collections",
    "studio",
    "content_rating",
    "original_language",
    "season_number",
    "episode_number",
    "tmdb_id",
    "tvdb_id",
    "imdb_id",
    "unread",
    "server_rating_imdb",
    "server_rating_tmdb",
    "server_rating_rt",
    "arr_instance",
    "monitored",
    "tags",
    "rating_imdb",
    "rating_tmdb",
    "rating_rt",
    "series_status",
    "protected",
)


MEDIA_TYPES = ("movie", "show", "season", "episode")


# Columns whose few values recur across the library (codecs, languages, studios, years,
# heights, ratings...): one object per value, shared by every item that has it, instead of one
# per row (a column's own table: 7 and 7.0 are equal but not the same value).
_RECURRING = (
    "type",
    "library",
    "year",
    "resolution",
    "resolution_height",
    "video_codec",
    "audio_codec",
    "hdr",
    "studio",
    "content_rating",
    "original_language",
    "server_rating_imdb",
    "server_rating_tmdb",
    "server_rating_rt",
    "rating_imdb",
    "rating_tmdb",
    "rating_rt",
    "series_status",
)


def _record(row: tuple, shared: dict[str, dict]) -> dict[str, object]:
    record = dict(zip(_COLUMNS, row, strict=True))
    for name in _RECURRING:
        value = record[name]
        if value is not None:
            record[name] = shared[name].setdefault(value, value)
    return record


@lru_cache(maxsize=1 << 16)
def _json_tuple(text: str) -> tuple:
    """A stored JSON list; the same genre and tag lists recur across thousands of items."""
    return tuple(json.loads(text))


def load_items(
    store: Store,
    available: Availability,
    watch_source: str | None,
    catalog: Catalog = CORE,
    types: Collection[str] = MEDIA_TYPES,
    only: Collection[int] | None = None,
    unchanged: Mapping[int, LibraryItem] | None = None,
) -> list[LibraryItem]:
    """Every live item of the given media types as the language sees it, plugin-computed fields
    included, or only the items with the ids in `only` (reading just what they need: a few
    queued items are judged without loading the library). Shows' and seasons' sizes, counts
    and watches still come from all their episodes.

    The library is read row by row, so loading it costs little more than the items it returns.
    An item equal to the one of its id in `unchanged` (the snapshot being replaced) is answered
    as that same object: a reload holds one copy of what did not change, not two."""
    wanted = set(types)
    only = set(only) if only is not None else None
    unchanged = unchanged or {}
    live = "tombstoned_at IS NULL"
    columns = ", ".join(_COLUMNS)
    shared: dict[str, dict] = defaultdict(dict)
    kinds = _summary_types(wanted)
    watching = available.watch_history and bool(kinds)
    with db_session:
        if only is not None:
            rows, episode_rows, season_rows, watch_rows = _rows_of(
                store, watch_source if watching else None, only
            )
            records = sorted((_record(row, shared) for row in rows), key=lambda r: r["id"])
            shows = {r["id"]: r for r in records if r["type"] == "show"}
        else:
            # seasons and episodes need their show (title, ids for requests)
            shows = {
                row[0]: _record(row, shared)
                for row in store.stream(f"SELECT {columns} FROM item WHERE {live} AND type='show'")
            }
            episode_rows = store.stream(
                f"SELECT id, parent, show, size, unread FROM item WHERE {live} AND type='episode'"
            )
            season_rows = store.stream(
                f"SELECT parent, season_number FROM item WHERE {live} AND type='season'"
            )
            # the items and their watches are read side by side in the items' order, a part at
            # a time; `|| ''`: a plain scan, else SQLite walks the primary-key index (3x)
            watch_rows = (
                store.stream(
                    "SELECT k.item, s.username, s.plays, s.last_viewed FROM watch_summary s "
                    "JOIN item_key k ON k.key = s.key "
                    f"WHERE s.source || '' = ? AND s.type IN ({', '.join('?' for _ in kinds)}) "
                    "ORDER BY k.item",
                    (watch_source, *kinds),
                )
                if watching
                else []
            )
            records = (
                _record(row, shared)
                for row in store.stream(
                    f"SELECT {columns} FROM item WHERE {live} "
                    f"AND type IN ({', '.join('?' for _ in wanted)}) ORDER BY id",
                    tuple(sorted(wanted)),
                )
            )
        counts = _counts(episode_rows, season_rows)
        protected_collections = {
            title for (title,) in store.read("SELECT title FROM collection WHERE protected")
        }
        requested = _requests(
            store.read(
                "SELECT media_type, tmdb_id, tvdb_id, imdb_id, requested_by, requested_at "
                "FROM media_request WHERE status <> 'declined' ORDER BY requested_at"
            )
            if available.requests
            else []
        )
        watches = _WatchesInOrder(watch_rows)
        items = []
        try:
            for r in records:
                if r["type"] not in wanted or (only is not None and r["id"] not in only):
                    continue
                # the type is the row's identity, known even when the media server's data is not;
                # protection is user state, by the item itself or a collection it is in
                protected = bool(r["protected"]) or bool(
                    protected_collections
                    and protected_collections.intersection(json.loads(r["collections"]))
                )
                fields: dict[str, object] = {"type": r["type"], "protected": protected}
                if available.media_server:
                    _media_fields(fields, r, shows, counts)
                if available.arr_for(r["type"]):
                    _arr_fields(fields, r, shows, available.media_server)
                if available.watch_history:
                    _watch_fields(fields, watches.of(r["id"]))
                if available.requests:
                    _request_fields(fields, r, shows, requested)
                catalog.derive(fields, r["type"])
                parents = (r["parent"], r["show"])
                ancestors = tuple(dict.fromkeys(a for a in parents if a is not None))
                item = LibraryItem(r["id"], ItemFields(fields), ancestors, _display_title(r, shows))
                items.append(_same(unchanged.get(item.id), item))
        finally:  # what was not read is left inside the session (its cursor ends with it)
            for stream in (records, watch_rows):
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
    return items


def _same(old: LibraryItem | None, new: LibraryItem) -> LibraryItem:
    """`old` when it equals `new` (so the two snapshots share it), else `new`."""
    return old if old is not None and old == new else new


def _counts(episode_rows: Iterable[tuple], season_rows: Iterable[tuple]) -> _Counts:
    """Sizes and counts of shows and seasons from their episodes; one episode of unknown size
    makes its season's and show's unknown, one season of unknown number the show's count."""
    counts = _Counts()
    for _episode_id, parent, show, size, unread in episode_rows:
        unsized = bool(unread) and "size" in _json_tuple(unread)
        for container in (parent, show):
            if container is not None:
                counts.sizes[container] += size
                counts.episodes[container] += 1
                if unsized:
                    counts.unknown_size.add(container)
    for show, number in season_rows:
        if show is None:
            continue
        if number is None:
            counts.unknown_seasons.add(show)
        elif number > 0:
            counts.seasons[show] += 1
    return counts


class _WatchesInOrder:
    """Per-user watches of each item, from (item, user, plays, last play) rows in item order
    (an item's summary rows already hold its episodes' plays), asked for in item order too: only
    one item's watches are held at a time."""

    def __init__(self, rows: Iterable[tuple]):
        self._rows = iter(rows)
        self._next = next(self._rows, None)
        self._names: dict[str, str] = {}

    def of(self, item_id: int) -> dict[str, list]:
        """The item's watches by folded user name: [user, plays, last play]."""
        while self._next is not None and self._next[0] < item_id:
            self._next = next(self._rows, None)
        per_user: dict[str, list] = {}
        while self._next is not None and self._next[0] == item_id:
            _, user, plays, last = self._next
            name = self._names.get(user)
            if name is None:
                name = self._names[user] = folded(user)
            entry = per_user.get(name)
            if entry is None:
                per_user[name] = [user, plays, last]
            else:
                entry[1] += plays
                entry[2] = max(entry[2], last)
            self._next = next(self._rows, None)
        return per_user


def _requests(rows: Iterable[tuple]) -> _Requests:
    requested = _Requests()
    for media_type, tmdb, tvdb, imdb, user, at in rows:
        ids = {
            kind: value for kind, value in zip(_ID_KINDS, (tmdb, tvdb, imdb), strict=True) if value
        }
        for kind, value in ids.items():
            requested.first.setdefault((media_type, kind, value), (user, at))
        requested.id_kinds[media_type].add(frozenset(ids))
    return requested


def _summary_types(wanted: Collection[str]) -> list[str]:
    """The watch_summary types rules of the `wanted` media types read. Episode plays without
    parent keys are typed `movie` by the sync, so episode rules read those rows too."""
    kinds = [kind for kind in ("season", "show", "episode") if kind in wanted]
    return [*kinds, "movie"] if wanted & {"movie", "episode"} else kinds


def _rows_of(store: Store, watch_source: str | None, only: Collection[int]) -> tuple:
    """What load_items reads, for the given items only: them, their season and show, their
    episodes (for sizes and counts), and their own watches in item order (none without a
    `watch_source`)."""
    live = "tombstoned_at IS NULL"
    family = set(only)
    for parent, show in store.read_in("SELECT parent, show FROM item WHERE id IN ({ids})", only):
        family |= {i for i in (parent, show) if i is not None}
    rows = store.read_in(
        f"SELECT {', '.join(_COLUMNS)} FROM item WHERE {live} AND id IN ({{ids}})", family
    )
    episode_rows = store.read_in(
        f"SELECT id, parent, show, size, unread FROM item WHERE {live} AND type='episode' "
        "AND (id IN ({ids}) OR parent IN ({ids}) OR show IN ({ids}))",
        only,
    )
    season_rows = store.read_in(
        f"SELECT parent, season_number FROM item WHERE {live} AND type='season' "
        "AND parent IN ({ids})",
        only,
    )
    watch_rows = (
        store.read_in(
            "SELECT k.item, s.username, s.plays, s.last_viewed FROM item_key k "
            "JOIN watch_summary s ON s.key = k.key WHERE s.source = ? AND k.item IN ({ids}) "
            "ORDER BY k.item",
            sorted(only),
            (watch_source,),
        )
        if watch_source is not None
        else []
    )
    return rows, episode_rows, season_rows, watch_rows


_ID_KINDS = ("tmdb", "tvdb", "imdb")
# the id every title of a media type's library managers carries (Radarr's movies their TMDb id,
# Sonarr's series their TheTVDB id): a title without it that no manager lists may still be one
# of theirs, matched by no other id, so whether it is managed is unknown
_MANAGER_KEYS = {"movie": "tmdb", "show": "tvdb"}
# catalog rating -> (the library manager's column, the media server's column)
_RATINGS = (
    ("rating.imdb", "rating_imdb", "server_rating_imdb"),
    ("rating.tmdb", "rating_tmdb", "server_rating_tmdb"),
    ("rating.rt", "rating_rt", "server_rating_rt"),
)


@dataclass
class _Counts:
    """Shows' and seasons' sizes and counts, summed from their episodes and seasons."""

    sizes: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    episodes: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    seasons: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    unknown_size: set[int] = field(default_factory=set)
    unknown_seasons: set[int] = field(default_factory=set)


@dataclass
class _Requests:
    """The first live request per (media type, id kind, id), and for each media type the sets
    of id kinds its requests carry (a request sharing no kind with an item may be for it)."""

    first: dict[tuple, tuple[str, float]] = field(default_factory=dict)
    id_kinds: dict[str, set[frozenset[str]]] = field(default_factory=lambda: defaultdict(set))


def _title_of(r: dict, shows: dict) -> dict | None:
    """The row naming the title: the item itself, or a season's or episode's show."""
    if r["type"] in ("season", "episode"):
        return shows.get(r["show"] if r["type"] == "episode" else r["parent"])
    return r


def _ids_of(title: dict | None) -> dict[str, object]:
    """The title's external ids by kind; none means its identity is unknown."""
    if title is None:
        return {}
    values = (title["tmdb_id"], title["tvdb_id"], title["imdb_id"])
    return {kind: value for kind, value in zip(_ID_KINDS, values, strict=True) if value}


def _media_fields(fields, r, shows, counts: _Counts) -> None:
    container = r["type"] in ("show", "season")
    show = shows.get(r["show"] if r["type"] == "episode" else r["parent"])
    fields.update(
        {
            "title": r["title"],
            "year": r["year"],
            "library": r["library"],
            "added": r["added"],
            "size": counts.sizes[r["id"]] if container else r["size"],
            "resolution": r["resolution"],
            "resolution_height": r["resolution_height"],
            "video_codec": r["video_codec"],
            "audio_codec": r["audio_codec"],
            "hdr": r["hdr"],
            "bitrate": r["bitrate"],
            "runtime": float(r["runtime"]) if r["runtime"] is not None else None,
            "genres": _json_tuple(r["genres"]),
            "labels": _json_tuple(r["labels"]),
            "collections": _json_tuple(r["collections"]),
            "studio": r["studio"],
            "content_rating": r["content_rating"],
            "original_language": r["original_language"],
        }
    )
    if r["type"] == "show":
        fields["season_count"] = counts.seasons[r["id"]]
        if r["id"] in counts.unknown_seasons:
            del fields["season_count"]
    if container:
        fields["episode_count"] = counts.episodes[r["id"]]
        if r["id"] in counts.unknown_size:
            del fields["size"]
    if r["type"] in ("season", "episode"):
        fields["season_number"] = r["season_number"]
        if show is not None:
            fields["show_title"] = show["title"]
    if r["unread"]:  # what the media server did not say is unknown
        for name in _json_tuple(r["unread"]):
            fields.pop(name, None)


def _arr_fields(fields, r, shows, media_server: bool) -> None:
    """The library manager's fields. An item no manager lists is known to be unmanaged only when
    its title has the id the managers key their titles by (it might be one of theirs, not
    linked, otherwise): without it they are unknown. A rating the manager did not give is the
    media server's of that source."""
    linked = r["arr_instance"] is not None
    title = _title_of(r, shows)
    if not linked and (title is None or _MANAGER_KEYS[title["type"]] not in _ids_of(title)):
        return
    show_like = r["type"] != "movie"
    if linked:
        if r["monitored"] is not None:  # an episode's own flag is not always read
            fields["monitored"] = bool(r["monitored"])
        if r["tags"] is not None:
            fields["tags"] = _json_tuple(r["tags"])
        if show_like and r["series_status"] is not None:
            fields["series_status"] = r["series_status"]
    else:
        fields.update(monitored=None, tags=())
        if show_like:
            fields["series_status"] = None
    for name, managed, served in _RATINGS:
        value = r[managed] if linked else None
        if value is None and media_server:
            value = r[served]
        if value is not None:
            fields[name] = value


def _watch_fields(fields, watches: dict[str, list]) -> None:
    last = max((e[2] for e in watches.values() if e[2] is not None), default=None)
    fields.update(
        {
            "play_count": sum(e[1] for e in watches.values()),
            "last_watched": last,
            "watched_by": tuple(sorted(e[0] for e in watches.values() if e[1] > 0)),
            "watches": (
                Watches({key: (e[1], e[2]) for key, e in watches.items()})
                if watches
                else _NO_WATCHES
            ),
        }
    )


def _request_fields(fields, r, shows, requested: _Requests) -> None:
    """Who requested the title first, and when; null when nobody did. Unknown when the title
    has no external id, or when it has no request and some request shares no kind of id with
    it (a request by tmdb id alone cannot be ruled out for a show known by its tvdb id)."""
    title = _title_of(r, shows)
    ids = _ids_of(title)
    if not ids:
        return
    media = "movie" if title["type"] == "movie" else "show"
    for kind, value in ids.items():
        found = requested.first.get((media, kind, value))
        if found is not None:
            fields["requested_by"], fields["requested_at"] = found
            return
    if any(not kinds & ids.keys() for kinds in requested.id_kinds.get(media, ())):
        return
    fields["requested_by"] = fields["requested_at"] = None
