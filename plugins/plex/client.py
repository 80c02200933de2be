"""Plex Media Server client: sections, items, accounts, watch history and deletes over the PMS
JSON API (`Accept: application/json`), with bulk paged listings, a light listing of keys and
change times, and batched fetches of the items that changed. Items are identified by whatever
agent matched them (docs/plex-identity.md), and what an answer does not say of an item is
reported unread, never as none or 0."""

from __future__ import annotations

import contextvars
import time
from collections import deque
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from prunerr import __version__
from prunerr.http import HttpClient, Upstream, decode_json
from prunerr.sdk import (
    Account,
    ExternalIds,
    Health,
    Library,
    MediaFile,
    MediaServer,
    Play,
    ServerItem,
    ServiceError,
    WatchHistory,
)

PAGE_SIZE = 1000
KEYS_PAGE_SIZE = 5000  # rows of the light listing are tiny
METADATA_BATCH = 100  # ratingKeys per GET /library/metadata/{ids}
METADATA_AHEAD = 2  # batches requested while the one before is read (one request at a time)
# Response customization for the light listing: only these attributes, no child elements (an
# empty include list). Plex treats it as a request, so the listing reads past anything extra.
KEYS_ONLY = {"includeFields": "ratingKey,updatedAt", "includeElements": ""}
# Plex `videoResolution` -> the SDK's buckets; "sd" (below 480 lines, or narrow) joins 480p.
RESOLUTIONS = {
    "sd": "480p",
    "480": "480p",
    "576": "576p",
    "720": "720p",
    "1080": "1080p",
    "2160": "2160p",
    "4k": "2160p",
}
# section type -> the listings it takes: (`type` query value, the items' `type`)
LISTINGS = {"movie": ((1, "movie"),), "show": ((2, "show"), (3, "season"), (4, "episode"))}
HISTORY = "/status/sessions/history/all"


class BadData(Exception):
    """A field the client cannot read; reported as a ServiceError naming the call."""


def _missing(key: str, required: bool) -> None:
    if required:
        raise BadData(f"missing {key!r}")


def _str(node: dict, key: str, required: bool = False) -> str | None:
    value = node.get(key)
    if type(value) is str:  # the common case first: listings are large
        return value
    if value is None:
        return _missing(key, required)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadData(f"{key!r} is not text: {value!r}")
    return str(value)


def _int(node: dict, key: str, required: bool = False) -> int | None:
    value = node.get(key)
    if type(value) is int:
        return value
    if value is None:
        return _missing(key, required)
    try:
        if not isinstance(value, str):
            raise TypeError
        return int(value)
    except (TypeError, ValueError):
        raise BadData(f"{key!r} is not an integer: {value!r}") from None


def _float(node: dict, key: str) -> float | None:
    value = node.get(key)
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise BadData(f"{key!r} is not a number: {value!r}") from None


def _list(node: dict, key: str) -> list[dict]:
    """A child list (JSON array, or repeated XML elements) of objects; absent means empty."""
    value = node.get(key, [])
    if type(value) is not list or not all(type(v) is dict for v in value):
        raise BadData(f"{key!r} is not a list of objects")
    return value


def _tags(node: dict, key: str) -> tuple[str, ...]:
    return tuple(_str(tag, "tag", True) for tag in _list(node, key))


def _key_of(node: dict, rating_key: str, key: str) -> str | None:
    """A ratingKey, or the last segment of the matching `/library/metadata/<id>` key."""
    value = _str(node, rating_key) or _str(node, key)
    return value.rstrip("/").rsplit("/", 1)[-1] if value else None


def media_container(body: object) -> dict:
    container = body.get("MediaContainer") if isinstance(body, dict) else None
    if not isinstance(container, dict):
        raise BadData("no MediaContainer")
    return container


# Identity. New agents (`plex://movie/…`) list the external ids in `Guid` children; legacy
# agents name one id in the `guid` attribute (`com.plexapp.agents.thetvdb://81189/1/3?lang=en`:
# a show's id, then a season's and an episode's number); HAMA prefixes it (`tvdb-81189`,
# `anidb-23`). docs/plex-identity.md has the table. An id no agent of these names is no id.
LEGACY_AGENTS = {  # agent -> the kind of id its guid names
    "com.plexapp.agents.imdb": "imdb",
    "com.plexapp.agents.themoviedb": "tmdb",
    "com.plexapp.agents.thetvdb": "tvdb",
    "com.plexapp.agents.thetvdbdvdorder": "tvdb",
    "com.plexapp.agents.tvdb": "tvdb",
}
HAMA = "com.plexapp.agents.hama"
HAMA_SOURCES = {  # HAMA's id prefix -> the kind of id (tvdb2..tvdb6 are episode orderings)
    **{f"tvdb{n}": "tvdb" for n in ("", "2", "3", "4", "5", "6")},
    "tmdb": "tmdb",
    "tsdb": "tmdb",
    "imdb": "imdb",
}


def _id_of(kind: str, value: str) -> tuple[str, int | str] | None:
    """(kind, id) when `value` is a well-formed id of that kind."""
    if kind == "imdb":
        return (kind, value) if value.startswith("tt") and value[2:].isdigit() else None
    return (kind, int(value)) if value.isdigit() and int(value) > 0 else None


def legacy_id(guid: str | None) -> tuple[str, int | str] | None:
    """The external id a legacy-agent or HAMA `guid` names, if any."""
    agent, separator, rest = (guid or "").partition("://")
    if not separator:
        return None
    value = rest.split("?", 1)[0].split("/", 1)[0]
    if agent == HAMA:
        prefix, _, value = value.partition("-")
        kind = HAMA_SOURCES.get(prefix)
    else:
        kind = LEGACY_AGENTS.get(agent)
    return _id_of(kind, value) if kind else None


def external_ids(meta: dict, kind: str) -> ExternalIds:
    """The title's tmdb/tvdb/imdb ids: a movie's or show's from its `Guid` list (`tmdb://603`,
    `imdb://tt0133093`) and its `guid`; a season's or episode's are its show's, which only a
    legacy or HAMA guid names (a new agent's `Guid` list of an episode holds the episode's own)."""
    ids: dict[str, Any] = {}
    if kind in ("movie", "show"):
        for guid in _list(meta, "Guid"):
            scheme, _, value = (_str(guid, "id", True) or "").partition("://")
            if scheme in ("tmdb", "tvdb"):
                if not value.isdigit():
                    raise BadData(f"Guid {scheme}://{value} is not a number")
                ids[scheme] = int(value)
            elif scheme == "imdb" and value:
                ids["imdb"] = value
        guids = [_str(meta, "guid")]
    else:
        guids = [_str(meta, key) for key in ("guid", "parentGuid", "grandparentGuid")]
    for guid in guids:
        named = legacy_id(guid)
        if named is not None:
            ids.setdefault(*named)
            break
    return ExternalIds(**ids)


def _true(value: object) -> bool:
    """A JSON boolean or an XML "1"."""
    return value is True or value in ("1", "true")


def hdr(video: dict) -> str:
    """The dynamic range of a video Stream: Dolby Vision, else by transfer characteristic."""
    if _true(video.get("DOVIPresent")):
        return "dolby_vision"
    transfer = (_str(video, "colorTrc") or "").lower()
    if transfer == "smpte2084":
        return "hdr10+" if "HDR10+" in (_str(video, "displayTitle") or "") else "hdr10"
    return "hlg" if transfer == "arib-std-b67" else "none"


# What a file says, by the catalog field it fills; a field whose attribute the main file lacks
# is unread. `size` is every part's, so one part without a size leaves it unread.
FILE_FIELDS = {
    "resolution": "resolution",
    "resolution_height": "height",
    "video_codec": "video_codec",
    "audio_codec": "audio_codec",
    "bitrate": "bitrate_kbps",
    "runtime": "runtime_s",
}
MEDIA_FIELDS = frozenset({"size", "hdr", "original_language", *FILE_FIELDS})


def media_files(meta: dict) -> tuple[tuple[MediaFile, ...], str | None, frozenset[str]]:
    """One MediaFile per Part of every Media, the largest first; the language of the first
    default audio track (Plex has no original-language field, so that stands in for it; a
    dubbed default track makes it wrong); and the fields not read. Listings carry no Streams:
    `hdr` and the language are then unread, not "none"."""
    files, language, streams_read, partless = [], None, False, False
    for media in _list(meta, "Media"):
        resolution = RESOLUTIONS.get((_str(media, "videoResolution") or "").lower())
        parts = _list(media, "Part")
        partless = partless or not parts
        for part in parts:
            dynamic_range = None
            if "Stream" in part:
                streams = _list(part, "Stream")
                streams_read = True
                kinds = [_int(stream, "streamType") for stream in streams]
                video = next((s for s, k in zip(streams, kinds, strict=True) if k == 1), None)
                audio = [s for s, k in zip(streams, kinds, strict=True) if k == 2]
                dynamic_range = None if video is None else hdr(video)
                if language is None and audio:
                    default = next((s for s in audio if _true(s.get("default"))), audio[0])
                    language = _str(default, "language") or ""  # "": a track without one
            duration = _int(media, "duration")  # every part's (a part's is its own)
            if duration is None:
                duration = _int(part, "duration")
            files.append(
                MediaFile(
                    path=_str(part, "file"),
                    size=_int(part, "size"),
                    resolution=resolution,
                    height=_int(media, "height"),
                    video_codec=_str(media, "videoCodec"),
                    audio_codec=_str(media, "audioCodec"),
                    hdr=dynamic_range,
                    bitrate_kbps=_int(media, "bitrate"),
                    runtime_s=None if duration is None else duration // 1000,
                )
            )
    if not files:
        return (), None, MEDIA_FIELDS
    files.sort(key=lambda f: -1 if f.size is None else f.size, reverse=True)
    main = files[0]
    unread = {field for field, attr in FILE_FIELDS.items() if getattr(main, attr) is None}
    if partless or any(f.size is None for f in files):
        unread.add("size")
    if not streams_read:
        unread |= {"hdr", "original_language"}
    elif main.hdr is None:
        unread.add("hdr")  # no video Stream in the main file's part
    if language == "":
        unread.add("original_language")
    return tuple(files), language or None, frozenset(unread)


# Which catalog rating a Plex rating is, by its image: `rating` and `audienceRating` are
# whatever the library's rating source is (Rotten Tomatoes, IMDb, TMDb), 0-10.
RATING_IMAGES = {
    "imdb://image.rating": ("imdb", 1),
    "themoviedb://image.rating": ("tmdb", 1),
    "rottentomatoes://image.rating.ripe": ("rt", 10),
    "rottentomatoes://image.rating.certified": ("rt", 10),
    "rottentomatoes://image.rating.rotten": ("rt", 10),
    "rottentomatoes://image.rating.upright": ("rt_audience", 10),
    "rottentomatoes://image.rating.spilled": ("rt_audience", 10),
}


def ratings(meta: dict) -> dict[str, float]:
    """The item's ratings by source (`rt` the critics' score, 0-100); a rating whose image
    names no known source is left out."""
    found: dict[str, float] = {}
    for key, image in (("rating", "ratingImage"), ("audienceRating", "audienceRatingImage")):
        value, source = _float(meta, key), RATING_IMAGES.get(_str(meta, image) or "")
        if value is not None and source is not None:
            name, scale = source
            found.setdefault(name, round(value * scale, 1))
    return found


# attribute -> catalog field, unread when the attribute is missing
ATTRIBUTES = {"year": "year", "studio": "studio", "contentRating": "content_rating"}
HAS_FILES = ("movie", "episode")


def server_item(meta: dict, library_key: str, kind: str) -> ServerItem:
    """A ServerItem from one listed item; JSON values or XML attribute strings both read."""
    if not isinstance(meta, dict):
        raise BadData("an item is not an object")
    key = _str(meta, "ratingKey", True)
    try:
        if _str(meta, "type", True) != kind:
            raise BadData(f"type {meta['type']!r}, expected {kind!r}")
        nested = kind in ("season", "episode")
        files, language, unread = media_files(meta)
        if kind not in HAS_FILES:
            unread = frozenset()  # shows and seasons have no files of their own
        missing = {field for attr, field in ATTRIBUTES.items() if meta.get(attr) is None}
        index = _int(meta, "index") if nested else None
        if kind == "season" and index is None:
            missing.add("season_number")
        rated = ratings(meta)
        return ServerItem(
            key=key,
            type=kind,
            title=_str(meta, "title", True),
            library_key=library_key,
            added=float(_int(meta, "addedAt", True)),
            ids=external_ids(meta, kind),
            year=_int(meta, "year"),
            parent_key=_key_of(meta, "parentRatingKey", "parentKey"),
            grandparent_key=_key_of(meta, "grandparentRatingKey", "grandparentKey"),
            index=index,
            files=files,
            genres=_tags(meta, "Genre"),
            labels=_tags(meta, "Label"),
            collections=_tags(meta, "Collection"),
            studio=_str(meta, "studio"),
            content_rating=_str(meta, "contentRating"),
            original_language=language,
            rating_imdb=rated.get("imdb"),
            rating_tmdb=rated.get("tmdb"),
            rating_rt=rated.get("rt"),
            rating_rt_audience=rated.get("rt_audience"),
            updated=_float(meta, "updatedAt"),
            unread=unread | missing,
        )
    except BadData as exc:
        raise BadData(f"item {key}: {exc}") from None


def stamp(row: dict, kind: str) -> tuple[str, float | None]:
    """(ratingKey, updatedAt) from one row of the light listing; None when the row has no
    `updatedAt` (real episode listings often lack it): its change time is unknown."""
    if not isinstance(row, dict):
        raise BadData("an item is not an object")
    key = _str(row, "ratingKey", True)
    if _str(row, "type") not in (None, kind):
        raise BadData(f"item {key}: type {row['type']!r}, expected {kind!r}")
    try:
        updated = _float(row, "updatedAt")
    except BadData as exc:
        raise BadData(f"item {key}: {exc}") from None
    return key, updated


def play(row: dict, usernames: dict[str, str]) -> Play:
    """A Play from one history row: Plex records views of completed plays only. The row names
    its account by id; `usernames` maps ids to the names rules use."""
    if not isinstance(row, dict):
        raise BadData("a history row is not an object")
    history = _str(row, "historyKey")
    history = history.rstrip("/").rsplit("/", 1)[-1] if history else None
    try:
        key = _key_of(row, "ratingKey", "key")
        if history is None or key is None:
            raise BadData("missing 'historyKey' or 'ratingKey'")
        account = _str(row, "accountID", True)
        if account not in usernames:
            raise BadData(f"account {account} is not in /accounts")
        return Play(
            source_id=history,
            user=usernames[account],
            key=key,
            viewed_at=float(_int(row, "viewedAt", True)),
            watched=True,
            parent_key=_key_of(row, "parentRatingKey", "parentKey"),
            grandparent_key=_key_of(row, "grandparentRatingKey", "grandparentKey"),
        )
    except BadData as exc:
        raise BadData(f"history row {history}: {exc}") from None


class PlexClient(MediaServer, WatchHistory):
    """One Plex Media Server: the media server and its own watch history."""

    roles = frozenset({"media_server", "watch_history"})

    def __init__(
        self,
        name: str,
        url: str,
        token: str,
        *,
        page_size: int = PAGE_SIZE,
        keys_page_size: int = KEYS_PAGE_SIZE,
        **http: Any,
    ):
        super().__init__(name)
        self.page_size, self.keys_page_size = page_size, keys_page_size
        self.http = HttpClient(
            name,
            url,
            headers={
                "X-Plex-Token": token,
                "Accept": "application/json",
                "X-Plex-Product": "Prunerr",
                "X-Plex-Version": __version__,
                "X-Plex-Client-Identifier": f"prunerr-{name}",
            },
            upstream=Upstream(
                "Plex", "token", "see Plex's help article 'Finding an authentication token'"
            ),
            **http,
        )

    @contextmanager
    def _reading(self, where: str) -> Iterator[None]:
        try:
            yield
        except BadData as exc:
            raise ServiceError(self.name, f"{where}: {exc}") from None

    def _container(self, path: str, params: dict | None = None) -> dict:
        return media_container(self.http.get_json(path, params=params))

    def _listing(self, path: str, params: dict, page_size: int | None = None) -> Iterator[dict]:
        """Every row of a paged container. Pages may be shorter than asked; the listing ends
        when `totalSize` rows arrived, and fails if the total changes on the way."""
        start, total = 0, None
        while total is None or start < total:
            container = self._container(
                path,
                {
                    **params,
                    "X-Plex-Container-Start": start,
                    "X-Plex-Container-Size": page_size or self.page_size,
                },
            )
            page_total = _int(container, "totalSize", True)
            if total is not None and page_total != total:
                raise BadData(
                    f"the listing changed while paging ({total}, then {page_total} "
                    "items); try again"
                )
            total = page_total
            offset = _int(container, "offset")
            if offset is not None and offset != start:
                raise BadData(f"asked for offset {start}, got {offset}")
            rows = _list(container, "Metadata")
            if not rows and start < total:
                raise BadData(f"empty page at offset {start} of {total}")
            yield from rows
            start += len(rows)

    def health(self) -> Health:
        started = time.monotonic()
        try:
            root = self.http.get_json("/")
            if not isinstance(root, dict) or not isinstance(root.get("MediaContainer"), dict):
                raise self.http.problem(
                    "GET /",
                    "service",
                    "the answer is JSON, but not Plex's (no MediaContainer)",
                    "give the URL of Plex Media Server itself (port 32400 by default)",
                )
            with self._reading("GET /"):
                server = media_container(root)
                version = _str(server, "version")
                deletion = _true(server.get("allowMediaDeletion", True))
        except ServiceError as exc:
            return Health(False, str(exc))
        message = "ok" if deletion else "ok, but Settings > Library > Allow media deletion is off"
        return Health(True, message, (time.monotonic() - started) * 1000, version)

    def libraries(self) -> list[Library]:
        with self._reading("GET /library/sections"):
            sections = _list(self._container("/library/sections"), "Directory")
            return [
                Library(_str(s, "key", True), _str(s, "title", True), s["type"])
                for s in sections
                if _str(s, "type") in LISTINGS
            ]

    def keys(self, library: Library) -> dict[str, float | None]:
        """Every item key with its `updatedAt`: one paged listing per type asking for those two
        attributes only."""
        path = f"/library/sections/{quote(library.key, safe='')}/all"
        keys: dict[str, float | None] = {}
        for type_number, kind in LISTINGS[library.type]:
            with self._reading(f"GET {path}?type={type_number}"):
                params = {"type": type_number, **KEYS_ONLY}
                for row in self._listing(path, params, self.keys_page_size):
                    key, updated = stamp(row, kind)
                    if key in keys:
                        raise BadData(f"item {key} listed twice")
                    keys[key] = updated
        return keys

    def items(self, library: Library, keys: Collection[str] | None = None) -> Iterator[ServerItem]:
        """Movies, or shows then seasons then episodes: one paged listing per type; with
        `keys`, only those items, fetched in batches."""
        if keys is None:
            return self._listed(library)
        return self._fetched(library, keys)

    def _listed(self, library: Library) -> Iterator[ServerItem]:
        path = f"/library/sections/{quote(library.key, safe='')}/all"
        for type_number, kind in LISTINGS[library.type]:
            with self._reading(f"GET {path}?type={type_number}"):
                for meta in self._listing(path, {"type": type_number, "includeGuids": 1}):
                    yield server_item(meta, library.key, kind)

    def _fetched(self, library: Library, keys: Collection[str]) -> Iterator[ServerItem]:
        """GET /library/metadata/{k1,k2,...} per METADATA_BATCH keys, the next batch requested
        while one is read. Items Plex no longer has, or now has in another library, are left
        out."""
        kinds = {kind for _, kind in LISTINGS[library.type]}
        wanted = list(dict.fromkeys(keys))
        batches = iter(
            [wanted[s : s + METADATA_BATCH] for s in range(0, len(wanted), METADATA_BATCH)]
        )
        requested: deque[tuple[list[str], Future]] = deque()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-metadata")

        def request_next() -> None:
            batch = next(batches, None)
            if batch is not None:
                path = "/library/metadata/" + ",".join(quote(key, safe="") for key in batch)
                context = contextvars.copy_context()  # calls are recorded where they are made
                requested.append((batch, pool.submit(context.run, self._metadata, path)))

        try:
            for _ in range(METADATA_AHEAD):
                request_next()
            while requested:
                batch, answer = requested.popleft()
                request_next()
                yield from self._fetched_batch(library, kinds, batch, answer)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _fetched_batch(
        self, library: Library, kinds: set[str], batch: list[str], answer: Future
    ) -> Iterator[ServerItem]:
        pending = set(batch)
        with self._reading(f"GET /library/metadata/{{{len(batch)} ids from {batch[0]}}}"):
            for meta in answer.result():
                if not isinstance(meta, dict):
                    raise BadData("an item is not an object")
                key, section = _str(meta, "ratingKey", True), _str(meta, "librarySectionID")
                if key not in pending or section not in (None, library.key):
                    continue
                kind = _str(meta, "type")
                if kind not in kinds:
                    raise BadData(f"item {key}: type {kind!r} in a {library.type} library")
                pending.discard(key)
                yield server_item(meta, library.key, kind)

    def _metadata(self, path: str) -> list[dict]:
        """The items of a /library/metadata answer; none when Plex has none of them (HTTP 404).
        A body that does not parse is asked for again, as HttpClient.get_json does."""
        for attempt in range(self.http.retries + 1):
            response = self.http.request("GET", path, params={"includeGuids": 1}, expect=(200, 404))
            if response.status_code == 404:
                return []
            try:
                body = decode_json(response)
            except ValueError:
                if attempt == self.http.retries:
                    raise BadData("malformed JSON") from None
                continue
            return _list(media_container(body), "Metadata")
        raise AssertionError("unreachable")

    def accounts(self) -> list[Account]:
        """The server's accounts; id 0, PMS's nameless local account, is left out."""
        with self._reading("GET /accounts"):
            accounts = _list(self._container("/accounts"), "Account")
            return [
                Account(_str(a, "id", True), name) for a in accounts if (name := _str(a, "name"))
            ]

    def plays(self, since: float | None = None) -> Iterator[Play]:
        """Every view, oldest first; with `since`, only views strictly after it (`>>=`)."""
        params: dict[str, Any] = {"sort": "viewedAt:asc"}
        if since is not None:
            params["viewedAt>>"] = int(since)
        usernames = {a.id: a.username for a in self.accounts()}
        with self._reading(f"GET {HISTORY}"):
            for row in self._listing(HISTORY, params):
                yield play(row, usernames)

    def delete(self, key: str) -> bool:
        """Delete an item with its files (and a show's or season's children). False when Plex
        no longer has it; ServiceError when the server refuses deletes."""
        path = f"/library/metadata/{quote(key, safe='')}"
        response = self.http.request("DELETE", path, expect=(200, 403, 404))
        if response.status_code == 403:
            raise ServiceError(
                self.name,
                f"DELETE {path}: refused (HTTP 403); enable Settings "
                "> Library > Allow media deletion",
            )
        return response.status_code == 200
