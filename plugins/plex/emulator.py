"""A Plex Media Server emulator: the PMS HTTP API served from a SyntheticLibrary.

XML by default and JSON with `Accept: application/json`, the token as the `X-Plex-Token` header
or query argument (every `X-Plex-*` header may come as a query argument), container paging with
`X-Plex-Container-Start/Size`, response customization (`includeFields`, `excludeFields`,
`includeElements`, `excludeElements`) on section listings and metadata, HTML error pages, and
deletes that really remove items (refused while the server pref `allowMediaDeletion` is off).
Sections: "Movies" (1, below 2160p), "TV Shows" (2) and "4K Movies" (3). Metadata is built lazily
and cached per ratingKey; `updatedAt` is kept per ratingKey (`touch` plays a metadata refresh).
Section listings carry no `Stream` elements, as PMS's do not (fetches by key have them).
The library's quirks are served as a real server has them: legacy-agent and HAMA guids without a
`Guid` list, movies without Media or in several Parts, items without `updatedAt`, ratings whose
images name Rotten Tomatoes, IMDb or TMDb.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

import falcon
import msgspec

from prunerr.emulation import Emulator, Faults, SyntheticLibrary
from prunerr.emulation.synthetic import MediaInfo, Movie, Show

VERSION = "1.41.6.9685-d301f511a"
OWNER = 1  # the token owner's account id: viewCount and lastViewedAt are theirs
MOVIES, SHOWS, MOVIES_4K = 1, 2, 3
SECTIONS = {
    MOVIES: ("Movies", "movie"),
    SHOWS: ("TV Shows", "show"),
    MOVIES_4K: ("4K Movies", "movie"),
}
TYPES = {1: "movie", 2: "show", 3: "season", 4: "episode"}
TYPE_NUMBERS = {name: number for number, name in TYPES.items()}
TAG = "/system/bundle/media/flags/"
RESOLUTIONS = {"480p": "480", "576p": "576", "720p": "720", "1080p": "1080", "2160p": "4k"}
WIDTHS = {480: 720, 576: 720, 720: 1280, 1080: 1920, 2160: 3840}
CODEC_NAMES = {
    "h264": "H.264",
    "hevc": "HEVC",
    "av1": "AV1",
    "vc1": "VC1",
    "mpeg4": "MPEG4",
    "mpeg2video": "MPEG2VIDEO",
}
AUDIO = {
    "aac": ("AAC", 256),
    "ac3": ("AC3", 640),
    "eac3": ("EAC3", 768),
    "dts": ("DTS", 1509),
    "truehd": ("TrueHD", 3000),
    "flac": ("FLAC", 1200),
}
LANGUAGES = {
    "English": ("eng", "en"),
    "French": ("fra", "fr"),
    "Japanese": ("jpn", "ja"),
    "Korean": ("kor", "ko"),
    "Spanish": ("spa", "es"),
    "German": ("deu", "de"),
}
HDR_TITLES = {
    "none": "",
    "hdr10": " HDR10",
    "hdr10+": " HDR10+",
    "dolby_vision": " DoVi/HDR10",
    "hlg": " HLG",
}
DOLBY_VISION = {
    "DOVIBLCompatID": 1,
    "DOVIBLPresent": True,
    "DOVIELPresent": False,
    "DOVILevel": 6,
    "DOVIPresent": True,
    "DOVIProfile": 8,
    "DOVIRPUPresent": True,
    "DOVIVersion": "1.0",
}
HISTORY_SORTS = {"viewedAt", "accountID"}
# `viewedAt` operator suffix -> (bisect side, whether it bounds from below)
VIEWED_AT_BOUNDS = {
    ">": ("left", True),
    ">>": ("right", True),
    "<": ("right", False),
    "<<": ("left", False),
}
# the attributes an item can be rendered with without building its metadata
LIGHT_FIELDS = frozenset({"ratingKey", "type", "updatedAt"})


def _page_html(status: int, title: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{status} {title}</h1></body></html>"


class HtmlError(Exception):
    """An error answered the way PMS does: a status and a tiny HTML page."""

    def __init__(self, status: int, title: str):
        super().__init__(title)
        self.status, self.title = status, title


@dataclass(slots=True)
class _Item:
    kind: str  # movie | show | season | episode
    section: int
    source: object  # the synthetic Movie, Show, Season or Episode
    parent: int | None = None
    grandparent: int | None = None
    children: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Collection:
    key: int
    section: int
    title: str
    members: list[int]


def plex_arg(req: falcon.Request, name: str) -> str | None:
    """An `X-Plex-*` value from the header or, as PMS also accepts, the query string."""
    return req.get_header(name) or req.get_param(name)


def _int(value: str | None, default: int | None = None) -> int | None:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise HtmlError(400, "Bad Request") from None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _names(req: falcon.Request, name: str) -> frozenset[str] | None:
    value = req.get_param(name)
    return None if value is None else frozenset(n for n in value.split(",") if n)


@dataclass(frozen=True, slots=True)
class Trim:
    """PMS response customization of metadata items: `includeFields` keeps only the named
    attributes, `excludeFields` drops them, `includeElements`/`excludeElements` do the same with
    child elements (comma-separated names; an empty include list keeps none)."""

    include_fields: frozenset[str] | None = None
    exclude_fields: frozenset[str] = frozenset()
    include_elements: frozenset[str] | None = None
    exclude_elements: frozenset[str] = frozenset()

    @classmethod
    def of(cls, req: falcon.Request) -> Trim | None:
        """The request's customization; None when it asks for none."""
        trim = cls(
            _names(req, "includeFields"),
            _names(req, "excludeFields") or frozenset(),
            _names(req, "includeElements"),
            _names(req, "excludeElements") or frozenset(),
        )
        return None if trim == cls() else trim

    @property
    def light(self) -> bool:
        """Whether the answer holds only LIGHT_FIELDS and no elements."""
        return (
            self.include_fields is not None
            and self.include_fields <= LIGHT_FIELDS
            and self.include_elements == frozenset()
        )

    def __call__(self, node: dict) -> dict:
        return {k: v for k, v in node.items() if self._keeps(k, isinstance(v, list))}

    def _keeps(self, name: str, element: bool) -> bool:
        include, exclude = (
            (self.include_elements, self.exclude_elements)
            if element
            else (self.include_fields, self.exclude_fields)
        )
        return (include is None or name in include) and name not in exclude


def _xml(tag: str, node: dict, out: list[str], trim: Trim | None = None) -> None:
    """Append `node` as an element: scalars become attributes, lists child elements; `trim`
    customizes the `Metadata` children (after their element name is chosen by `type`)."""
    attrs = "".join(
        f" {k}={quoteattr(_text(v))}" for k, v in node.items() if not isinstance(v, list)
    )
    children = [(k, v) for k, v in node.items() if isinstance(v, list)]
    if not children:
        out.append(f"<{tag}{attrs} />")
        return
    out.append(f"<{tag}{attrs}>")
    for key, items in children:
        for child in items:
            trimmed = trim(child) if trim and key == "Metadata" else child
            _xml(_element(key, child), trimmed, out)
    out.append(f"</{tag}>")


def _element(key: str, node: dict) -> str:
    """JSON names every metadata list `Metadata`; XML names the elements by kind."""
    if key != "Metadata":
        return key
    return "Video" if node.get("type") in ("movie", "episode", "clip") else "Directory"


def _guid(kind: str, rating_key: int) -> str:
    return f"plex://{kind}/5d77{rating_key:020x}"


LEGACY_MOVIE_AGENTS = {
    "imdb": "com.plexapp.agents.imdb",
    "themoviedb": "com.plexapp.agents.themoviedb",
}
HAMA = "com.plexapp.agents.hama"


def _movie_guid(m: Movie) -> str:
    if m.agent == "local":
        return f"local://{m.rating_key}"
    if m.agent in LEGACY_MOVIE_AGENTS:
        named = m.imdb_id if m.agent == "imdb" else m.tmdb_id
        return f"{LEGACY_MOVIE_AGENTS[m.agent]}://{named}?lang=en"
    return _guid("movie", m.rating_key)


def _show_guid(show: Show, kind: str, rating_key: int, path: str = "") -> str:
    """The guid of a show, or of one of its seasons or episodes (`path`: `/1`, `/1/3`)."""
    if show.agent == "thetvdb":
        return f"com.plexapp.agents.thetvdb://{show.tvdb_id}{path}?lang=en"
    if show.agent == "themoviedb":
        return f"com.plexapp.agents.themoviedb://{show.tmdb_id}{path}?lang=en"
    if show.agent == "hama-tvdb":
        return f"{HAMA}://tvdb-{show.tvdb_id}{path}?lang=en"
    if show.agent == "hama-anidb":
        return f"{HAMA}://anidb-{show.anidb_id}{path}?lang=en"
    return _guid(kind, rating_key)


def _sort_title(title: str) -> str:
    return title[4:] if title.startswith("The ") else title


class PlexEmulator(Emulator):
    service = "plex"

    def __init__(self, library: SyntheticLibrary, api_key: str, faults: Faults | None = None):
        self.allow_media_deletion = True  # the server pref "Allow media deletion"
        self.page_limit: int | None = None  # PMS may cap a page below the requested size
        self.customizes = True  # False: ignore includeFields & co, as PMS may
        # False: section listings without Stream elements, as PMS lists them (fetches by key
        # keep them); True plays a server whose listings carry them
        self.streams_in_listings = False
        seed = f"prunerr-plex-{library.seed}"
        self.machine_identifier = hashlib.sha1(seed.encode()).hexdigest()
        self.section_uuids = {
            k: str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{k}")) for k in SECTIONS
        }
        self.items: dict[int, _Item] = {}
        self.updated: dict[int, int | None] = {}  # ratingKey -> updatedAt (None: not given)
        self.listings: dict[tuple[int, int], list[int]] = {}
        self.collections: dict[int, _Collection] = {}
        self._nodes: dict[int, dict] = {}
        self._tag_ids: dict[tuple[str, str], int] = {}
        self._index(library)
        self._views = self._owner_views(library)
        self._history = self._history_rows(library)
        self._viewed_at = [row[0] for row in self._history]
        super().__init__(library, api_key, faults)

    # state built from the library
    def _index(self, library: SyntheticLibrary) -> None:
        movies = sorted(library.movies, key=lambda m: _sort_title(m.title))
        for movie in movies:
            section = MOVIES_4K if movie.file.resolution == "2160p" else MOVIES
            self.items[movie.rating_key] = _Item("movie", section, movie)
            self.updated[movie.rating_key] = movie.added if movie.stamped else None
            self.listings.setdefault((section, 1), []).append(movie.rating_key)
        shows, seasons, episodes = [], [], []
        for show in sorted(library.shows, key=lambda s: _sort_title(s.title)):
            shows.append(show.rating_key)
            item = self.items[show.rating_key] = _Item("show", SHOWS, show)
            self.updated[show.rating_key] = show.added
            for season in show.seasons:
                item.children.append(season.rating_key)
                seasons.append(season.rating_key)
                child = self.items[season.rating_key] = _Item(
                    "season", SHOWS, season, show.rating_key
                )
                self.updated[season.rating_key] = show.added
                for episode in season.episodes:
                    child.children.append(episode.rating_key)
                    episodes.append(episode.rating_key)
                    self.items[episode.rating_key] = _Item(
                        "episode", SHOWS, episode, season.rating_key, show.rating_key
                    )
                    self.updated[episode.rating_key] = episode.added if episode.stamped else None
        self.listings.update({(SHOWS, 2): shows, (SHOWS, 3): seasons, (SHOWS, 4): episodes})
        for section in (MOVIES, MOVIES_4K):
            self.listings.setdefault((section, 1), [])
        self._sources = {rk: item.source for rk, item in self.items.items()}  # kept for history
        next_key = max(self.items, default=1000) + 1
        members: dict[tuple[int, str], list[int]] = {}
        for movie in movies:
            if movie.collection:
                section = self.items[movie.rating_key].section
                members.setdefault((section, movie.collection), []).append(movie.rating_key)
        for key, ((section, title), keys) in enumerate(sorted(members.items()), next_key):
            self.collections[key] = _Collection(key, section, title, keys)

    @staticmethod
    def _owner_views(library: SyntheticLibrary) -> dict[int, tuple[int, int]]:
        """ratingKey -> (viewCount, lastViewedAt) of the token owner's completed plays."""
        views: dict[int, tuple[int, int]] = {}
        for play in library.plays:
            if play.user_id == OWNER and play.watched:
                count, last = views.get(play.rating_key, (0, 0))
                views[play.rating_key] = (count + 1, max(last, play.stopped))
        return views

    def _history_rows(self, library: SyntheticLibrary) -> list:
        """Plex records a view for completed plays only; rows sorted by (viewedAt, id)."""
        rows = [
            (
                p.stopped,
                p.id,
                p.user_id,
                self.items[p.rating_key].section,
                p.rating_key,
                p.parent_rating_key,
                p.grandparent_rating_key,
            )
            for p in library.plays
            if p.watched
        ]
        rows.sort()
        return rows

    # metadata
    def node(self, rating_key: int) -> dict:
        """The cached static metadata of an item in JSON form (tests may corrupt it to play a
        misbehaving server)."""
        node = self._nodes.get(rating_key)
        if node is None:
            node = self._nodes[rating_key] = self._build(rating_key)
        return node

    def _tag(self, kind: str, tags: Iterable[str]) -> list[dict]:
        """Tag elements (Genre, Label, Collection) with ids stable within this server."""
        out = []
        for tag in tags:
            tag_id = self._tag_ids.setdefault((kind, tag), len(self._tag_ids) + 1)
            out.append({"id": tag_id, "filter": f"{kind.lower()}={tag_id}", "tag": tag})
        return out

    def _build(self, rk: int) -> dict:
        item = self.items[rk]
        src = item.source
        added = (
            min((e.added for e in src.episodes), default=self.items[item.parent].source.added)
            if item.kind == "season"
            else src.added
        )
        node: dict = {
            "ratingKey": str(rk),
            "key": f"/library/metadata/{rk}",
            "guid": self._guid_of(item, rk),
            "type": item.kind,
            "title": "",
            "summary": "",
            "thumb": f"/library/metadata/{rk}/thumb/{added}",
            "art": f"/library/metadata/{rk}/art/{added}",
            "addedAt": added,
            "updatedAt": self.updated[rk],
        }
        if node["updatedAt"] is None:
            del node["updatedAt"]
        views = self._views.get(rk)
        if item.kind == "movie":
            self._movie(node, src)
        elif item.kind == "show":
            self._show(node, src)
        elif item.kind == "season":
            self._season(node, item)
        else:
            self._episode(node, item)
        if views:
            node["viewCount"], node["lastViewedAt"] = views
        return node

    def _guid_of(self, item: _Item, rk: int) -> str:
        if item.kind == "movie":
            return _movie_guid(item.source)
        if item.kind == "show":
            return _show_guid(item.source, "show", rk)
        if item.kind == "season":
            show = self.items[item.parent].source
            return _show_guid(show, "season", rk, f"/{item.source.number}")
        season = self.items[item.parent].source
        show = self.items[item.grandparent].source
        return _show_guid(show, "episode", rk, f"/{season.number}/{item.source.number}")

    def _movie(self, node: dict, m: Movie) -> None:
        node.update(
            {
                "slug": f"{m.title} {m.year}".lower().replace(" ", "-"),
                "studio": m.studio,
                "title": m.title,
                "titleSort": _sort_title(m.title),
                "contentRating": m.content_rating,
                "year": m.year,
                "tagline": "",
                "duration": m.file.runtime_s * 1000,
                "originallyAvailableAt": f"{m.year}-06-01",
                "chapterSource": "media",
            }
        )
        node.update(_movie_ratings(m))
        node["Genre"] = self._tag("Genre", m.genres)
        node["Label"] = self._tag("Label", m.labels)
        node["Collection"] = self._tag("Collection", [m.collection] if m.collection else [])
        if m.agent == "plex":
            node["Guid"] = [{"id": f"imdb://{m.imdb_id}"}, {"id": f"tmdb://{m.tmdb_id}"}]
        for key in ("Label", "Collection"):
            if not node[key]:
                del node[key]
        if m.listed_file:
            node["Media"] = [
                self._media(m.rating_key, m.file, m.added, m.original_language, m.parts)
            ]

    def _show(self, node: dict, s: Show) -> None:
        episodes = [e for season in s.seasons for e in season.episodes]
        node.update(
            {
                "key": f"/library/metadata/{s.rating_key}/children",
                "slug": s.title.lower().replace(" ", "-"),
                "studio": s.network,
                "title": s.title,
                "titleSort": _sort_title(s.title),
                "contentRating": s.content_rating,
                "index": 1,
                "year": s.year,
                "tagline": "",
                "theme": f"/library/metadata/{s.rating_key}/theme/1",
                "duration": (episodes[0].file.runtime_s * 1000) if episodes else 0,
                "originallyAvailableAt": f"{s.year}-01-15",
            }
        )
        if s.rating is not None and s.agent == "plex":
            node.update(audienceRating=s.rating, audienceRatingImage="themoviedb://image.rating")
        elif s.rating is not None:
            node["rating"] = s.rating  # legacy agents: a rating of no stated source
        node["Genre"] = self._tag("Genre", s.genres)
        if s.labels:
            node["Label"] = self._tag("Label", s.labels)
        if s.agent == "plex":
            node["Guid"] = [
                {"id": f"imdb://{s.imdb_id}"},
                {"id": f"tmdb://{s.tmdb_id}"},
                {"id": f"tvdb://{s.tvdb_id}"},
            ]

    def _season(self, node: dict, item: _Item) -> None:
        season, show = item.source, self.items[item.parent].source
        node.update(
            {
                "key": f"/library/metadata/{season.rating_key}/children",
                "parentRatingKey": str(show.rating_key),
                "parentGuid": _show_guid(show, "show", show.rating_key),
                "parentKey": f"/library/metadata/{show.rating_key}",
                "parentTitle": show.title,
                "parentStudio": show.network,
                "parentYear": show.year,
                "parentThumb": f"/library/metadata/{show.rating_key}/thumb/{show.added}",
                "title": f"Season {season.number}" if season.number else "Specials",
                "index": season.number,
            }
        )

    def _episode(self, node: dict, item: _Item) -> None:
        episode, season = item.source, self.items[item.parent].source
        show = self.items[item.grandparent].source
        node.update(
            {
                "parentRatingKey": str(season.rating_key),
                "grandparentRatingKey": str(show.rating_key),
                "parentGuid": self._guid_of(self.items[item.parent], season.rating_key),
                "grandparentGuid": _show_guid(show, "show", show.rating_key),
                "parentKey": f"/library/metadata/{season.rating_key}",
                "grandparentKey": f"/library/metadata/{show.rating_key}",
                "title": episode.title,
                "parentTitle": f"Season {season.number}",
                "grandparentTitle": show.title,
                "contentRating": show.content_rating,
                "index": episode.number,
                "parentIndex": season.number,
                "year": time.gmtime(episode.air_date).tm_year,
                "parentThumb": f"/library/metadata/{season.rating_key}/thumb/{show.added}",
                "grandparentThumb": f"/library/metadata/{show.rating_key}/thumb/{show.added}",
                "grandparentArt": f"/library/metadata/{show.rating_key}/art/{show.added}",
                "duration": episode.file.runtime_s * 1000,
                "originallyAvailableAt": _date(episode.air_date),
            }
        )
        node["Media"] = [
            self._media(episode.rating_key, episode.file, episode.added, show.original_language)
        ]
        if show.agent == "plex":  # an episode's own ids, not its show's
            node["Guid"] = [
                {"id": f"imdb://tt{9_000_000 + episode.rating_key:07d}"},
                {"id": f"tvdb://{8_000_000 + episode.rating_key}"},
            ]

    def _media(self, rk: int, f: MediaInfo, added: int, language: str, parts: int = 1) -> dict:
        """One Media with its Parts (a file split in `parts`, the first the largest) and their
        video and audio Streams."""
        width = 640 if f.height == 480 and f.video_codec == "mpeg4" else WIDTHS[f.height]
        ten_bit = f.hdr != "none"
        codec = CODEC_NAMES.get(f.video_codec, f.video_codec.upper())
        profile = "main 10" if ten_bit else "high" if f.video_codec == "h264" else "main"
        label = "4K" if f.height == 2160 else f"{f.height}p"
        title = f"{label}{HDR_TITLES[f.hdr]} ({codec}{' Main 10' if ten_bit else ''})"
        audio_name, audio_kbps = AUDIO[f.audio_codec]
        code, tag = LANGUAGES.get(language, ("und", "und"))
        video = {
            "id": rk * 10 + 1,
            "key": f"/library/streams/{rk * 10 + 1}",
            "streamType": 1,
            "codec": f.video_codec,
            "index": 0,
            "bitrate": max(f.bitrate_kbps - audio_kbps, 100),
            "bitDepth": 10 if ten_bit else 8,
            "height": f.height,
            "width": width,
            "profile": profile,
            "displayTitle": title,
            "extendedDisplayTitle": title,
        }
        if ten_bit:
            trc = "arib-std-b67" if f.hdr == "hlg" else "smpte2084"
            video.update(colorPrimaries="bt2020", colorSpace="bt2020nc", colorTrc=trc)
        elif f.height >= 720:
            video.update(colorPrimaries="bt709", colorSpace="bt709", colorTrc="bt709")
        if f.hdr == "dolby_vision":
            video.update(DOLBY_VISION)
        audio_title = f"{language} ({audio_name} 5.1)"
        audio = {
            "id": rk * 10 + 2,
            "key": f"/library/streams/{rk * 10 + 2}",
            "streamType": 2,
            "selected": True,
            "default": True,
            "codec": f.audio_codec,
            "index": 1,
            "channels": 6,
            "bitrate": audio_kbps,
            "language": language,
            "languageTag": tag,
            "languageCode": code,
            "displayTitle": audio_title,
            "extendedDisplayTitle": audio_title,
        }
        ms = f.runtime_s * 1000
        sizes = _split(f.size, parts)
        durations = _split(ms, parts)
        stem = f.path.removesuffix(".mkv")
        part_list = [
            {
                "id": rk if n == 0 else rk * 10 + 5 + n,
                "key": f"/library/parts/{rk if n == 0 else rk * 10 + 5 + n}/{added}/file.mkv",
                "duration": durations[n],
                "file": f.path if parts == 1 else f"{stem} - pt{n + 1}.mkv",
                "size": sizes[n],
                "container": "mkv",
                "videoProfile": profile,
                "Stream": [video, audio],
            }
            for n in range(parts)
        ]
        return {
            "id": rk,
            "duration": ms,
            "bitrate": f.bitrate_kbps,
            "width": width,
            "height": f.height,
            "aspectRatio": round(width / f.height, 2),
            "audioChannels": 6,
            "audioCodec": f.audio_codec,
            "videoCodec": f.video_codec,
            "videoResolution": "sd" if width < 720 else RESOLUTIONS[f.resolution],
            "container": "mkv",
            "videoFrameRate": "24p",
            "videoProfile": profile,
            "hasVoiceActivity": False,
            "Part": part_list,
        }

    # dynamic parts and rendering
    def _counts(self, rk: int) -> dict:
        """Shows and seasons: counts and the owner's views over the episodes still present."""
        item = self.items[rk]
        episodes = (
            item.children
            if item.kind == "season"
            else [e for s in item.children for e in self.items[s].children]
        )
        views = [self._views[e] for e in episodes if e in self._views]
        counts = {"leafCount": len(episodes), "viewedLeafCount": len(views)}
        if item.kind == "show":
            counts["childCount"] = len(item.children)
        if views:
            counts["viewCount"] = sum(v[0] for v in views)
            counts["lastViewedAt"] = max(v[1] for v in views)
        return counts

    def _listed(self, rk: int, guids: bool) -> dict:
        """An item of a section listing."""
        node = self.metadata(rk, guids)
        if self.streams_in_listings or not isinstance(node.get("Media"), list):
            return node

        def without_streams(media):  # a node a test corrupted is listed as it is
            parts = media.get("Part") if isinstance(media, dict) else None
            if not isinstance(parts, list):
                return media
            parts = [
                {k: v for k, v in p.items() if k != "Stream"} if isinstance(p, dict) else p
                for p in parts
            ]
            return {**media, "Part": parts}

        return {**node, "Media": [without_streams(m) for m in node["Media"]]}

    def metadata(self, rk: int, guids: bool = True, detail: bool = False) -> dict:
        """An item as listed; `detail` adds the section attributes `/library/metadata/{id}`
        carries, `guids` the Guid list (listings send it only with `includeGuids=1`)."""
        node = self.node(rk)
        item = self.items[rk]
        if item.kind in ("show", "season"):
            node = {**node, **self._counts(rk)}
        if not guids and "Guid" in node:
            node = {k: v for k, v in node.items() if k != "Guid"}
        if detail:
            node = {
                "librarySectionTitle": SECTIONS[item.section][0],
                "librarySectionID": item.section,
                "librarySectionKey": f"/library/sections/{item.section}",
                **node,
            }
        return node

    def _trim(self, req: falcon.Request) -> Trim | None:
        return Trim.of(req) if self.customizes else None

    def _light(self, rk: int) -> dict:
        """An item with LIGHT_FIELDS only, for trimmed listings of items not built yet."""
        node = {"ratingKey": str(rk), "type": self.items[rk].kind}
        if self.updated[rk] is not None:
            node["updatedAt"] = self.updated[rk]
        return node

    def _send(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        container: dict,
        trim: Trim | None = None,
    ) -> None:
        if "application/json" in (req.get_header("Accept") or ""):
            if trim and "Metadata" in container:
                container = {**container, "Metadata": [trim(m) for m in container["Metadata"]]}
            resp.content_type = falcon.MEDIA_JSON
            resp.data = msgspec.json.encode({"MediaContainer": container})
            return
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        _xml("MediaContainer", container, out, trim)
        resp.content_type = "text/xml;charset=utf-8"
        resp.data = "".join(out).encode()

    def _paged(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        rows: Sequence,
        render: Callable[[object], dict],
        container: dict,
        trim: Trim | None = None,
    ) -> None:
        """One page of `rows` as PMS pages: no size means everything, size 0 only the total."""
        total = len(rows)
        start = max(0, _int(plex_arg(req, "X-Plex-Container-Start"), 0))
        size = _int(plex_arg(req, "X-Plex-Container-Size"), total)
        if self.page_limit is not None:
            size = min(size, self.page_limit)
        page = rows[start : start + max(size, 0)]
        container.update(size=len(page), totalSize=total, offset=start)
        if page:
            container["Metadata"] = [render(row) for row in page]
        resp.set_header("X-Plex-Container-Start", str(start))
        resp.set_header("X-Plex-Container-Total-Size", str(total))
        self._send(req, resp, container, trim)

    def _library_container(self, section: int, **extra) -> dict:
        title, kind = SECTIONS[section]
        return {
            "allowSync": True,
            "art": f"/:/resources/{kind}-fanart.jpg",
            "identifier": "com.plexapp.plugins.library",
            "librarySectionID": section,
            "librarySectionTitle": title,
            "librarySectionUUID": self.section_uuids[section],
            "mediaTagPrefix": TAG,
            "mediaTagVersion": 1700000000,
            "thumb": f"/:/resources/{kind}.png",
            **extra,
        }

    def _rating_keys(self, ids: str) -> list[int]:
        keys = [int(k) for k in ids.split(",") if k.isdigit() and int(k) in self.items]
        if not keys:
            raise HtmlError(404, "Not Found")
        return keys

    # routes
    def routes(self, app: falcon.App) -> None:
        app.add_error_handler(HtmlError, self._html_error)
        app.add_route("/", self, suffix="root")
        app.add_route("/identity", self, suffix="identity")
        app.add_route("/library/sections", self, suffix="sections")
        app.add_route("/library/sections/all", self, suffix="sections")
        app.add_route("/library/sections/{section:int}/all", self, suffix="section_all")
        app.add_route("/library/sections/{section:int}/collections", self, suffix="collections")
        app.add_route("/library/metadata/{ids}", self, suffix="metadata")
        app.add_route("/library/metadata/{ids}/children", self, suffix="children")
        app.add_route("/library/metadata/{ids}/allLeaves", self, suffix="leaves")
        app.add_route("/library/collections/{key:int}/children", self, suffix="collection")
        app.add_route("/library/collections/{key:int}/items", self, suffix="collection")
        app.add_route("/status/sessions/history/all", self, suffix="history")
        app.add_route("/accounts", self, suffix="accounts")
        app.add_sink(self._unknown_path)

    def authenticate(self, req: falcon.Request) -> bool:
        return req.path == "/identity" or plex_arg(req, "X-Plex-Token") == self.api_key

    def reject(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._html_error(req, resp, HtmlError(401, "Unauthorized"), {})

    @staticmethod
    def _html_error(req, resp, error: HtmlError, params) -> None:
        resp.status = error.status
        resp.content_type = falcon.MEDIA_HTML
        resp.text = _page_html(error.status, error.title)

    def _unknown_path(self, req: falcon.Request, resp: falcon.Response, **kwargs) -> None:
        raise HtmlError(404, "Not Found")

    def on_get_identity(self, req, resp) -> None:
        self._send(
            req,
            resp,
            {
                "size": 0,
                "claimed": True,
                "machineIdentifier": self.machine_identifier,
                "version": VERSION,
            },
        )

    def on_get_root(self, req, resp) -> None:
        features = (
            "activities",
            "butler",
            "channels",
            "clients",
            "diagnostics",
            "hubs",
            "library",
            "livetv",
            "media",
            "player",
            "playlists",
            "resources",
            "search",
            "server",
            "servers",
            "statistics",
            "system",
            "transcode",
            "updater",
            "user",
        )
        self._send(
            req,
            resp,
            {
                "size": len(features),
                "allowCameraUpload": False,
                "allowChannelAccess": True,
                "allowMediaDeletion": self.allow_media_deletion,
                "allowSharing": True,
                "allowSync": False,
                "backgroundProcessing": True,
                "certificate": True,
                "countryCode": "usa",
                "friendlyName": "Prunerr Emulated Plex",
                "machineIdentifier": self.machine_identifier,
                "multiuser": True,
                "myPlex": True,
                "myPlexMappingState": "mapped",
                "myPlexSigninState": "ok",
                "myPlexUsername": self.library.user(OWNER).email,
                "platform": "Linux",
                "platformVersion": "6.1.0",
                "transcoderActiveVideoSessions": 0,
                "updatedAt": self.library.now,
                "version": VERSION,
                "Directory": [{"count": 1, "key": k, "title": k} for k in features],
            },
        )

    def on_get_sections(self, req, resp) -> None:
        created = min((m.added for m in self.library.movies), default=self.library.now)
        directories = []
        for key, (title, kind) in SECTIONS.items():
            agent, scanner = (
                ("tv.plex.agents.movie", "Plex Movie")
                if kind == "movie"
                else ("tv.plex.agents.series", "Plex TV Series")
            )
            root = "/tv" if kind == "show" else "/movies"
            directories.append(
                {
                    "allowSync": True,
                    "art": f"/:/resources/{kind}-fanart.jpg",
                    "composite": f"/library/sections/{key}/composite/{self.library.now}",
                    "filters": True,
                    "refreshing": False,
                    "thumb": f"/:/resources/{kind}.png",
                    "key": str(key),
                    "type": kind,
                    "title": title,
                    "agent": agent,
                    "scanner": scanner,
                    "language": "en-US",
                    "uuid": self.section_uuids[key],
                    "updatedAt": self.library.now,
                    "createdAt": created,
                    "scannedAt": self.library.now,
                    "content": True,
                    "directory": True,
                    "contentChangedAt": self.library.now,
                    "hidden": 0,
                    "Location": [{"id": key, "path": root}],
                }
            )
        self._send(
            req,
            resp,
            {
                "size": len(directories),
                "allowSync": False,
                "identifier": "com.plexapp.plugins.library",
                "mediaTagPrefix": TAG,
                "mediaTagVersion": 1700000000,
                "title1": "Plex Library",
                "Directory": directories,
            },
        )

    def on_get_section_all(self, req, resp, section: int) -> None:
        if section not in SECTIONS:
            raise HtmlError(404, "Not Found")
        title, kind = SECTIONS[section]
        type_number = _int(req.get_param("type"), TYPE_NUMBERS[kind])
        if type_number not in TYPES:
            raise HtmlError(400, "Bad Request")
        rows = self.listings.get((section, type_number), [])
        guids = req.get_param("includeGuids") == "1"
        trim = self._trim(req)
        view = TYPES[type_number]
        container = self._library_container(
            section,
            content="secondary",
            nocache=True,
            title1=title,
            title2=f"All {view.capitalize()}s",
            viewGroup=view,
        )
        render = self._light if trim and trim.light else lambda rk: self._listed(rk, guids)
        self._paged(req, resp, rows, render, container, trim)

    def on_get_metadata(self, req, resp, ids: str) -> None:
        keys = self._rating_keys(ids)
        section = self.items[keys[0]].section
        self._send(
            req,
            resp,
            self._library_container(
                section, size=len(keys), Metadata=[self.metadata(rk, detail=True) for rk in keys]
            ),
            self._trim(req),
        )

    def on_delete_metadata(self, req, resp, ids: str) -> None:
        if not ids.isdigit() or int(ids) not in self.items:
            raise HtmlError(404, "Not Found")
        if not self.allow_media_deletion:
            raise HtmlError(403, "Forbidden")
        self.delete(int(ids))
        resp.status = 200

    def on_get_children(self, req, resp, ids: str) -> None:
        rk = self._rating_keys(ids)[0]
        item = self.items[rk]
        container = self._library_container(
            item.section,
            key=str(rk),
            title1=SECTIONS[item.section][0],
            title2=self.node(rk)["title"],
            viewGroup={"show": "season", "season": "episode"}.get(item.kind, item.kind),
        )
        if item.kind == "show":
            counts = self._counts(rk)
            container["Directory"] = [
                {
                    "leafCount": counts["leafCount"],
                    "thumb": self.node(rk)["thumb"],
                    "viewedLeafCount": counts["viewedLeafCount"],
                    "key": f"/library/metadata/{rk}/allLeaves",
                    "title": "All episodes",
                }
            ]
        self._paged(req, resp, item.children, self.metadata, container)

    def on_get_leaves(self, req, resp, ids: str) -> None:
        rk = self._rating_keys(ids)[0]
        item = self.items[rk]
        leaves = {
            "show": lambda: [e for s in item.children for e in self.items[s].children],
            "season": lambda: item.children,
        }.get(item.kind, lambda: [rk])()
        container = self._library_container(
            item.section, key=str(rk), title2=self.node(rk)["title"], viewGroup="episode"
        )
        self._paged(req, resp, leaves, self.metadata, container)

    def on_get_collections(self, req, resp, section: int) -> None:
        if section not in SECTIONS:
            raise HtmlError(404, "Not Found")
        rows = [c for c in self.collections.values() if c.section == section and c.members]
        container = self._library_container(
            section, title1=SECTIONS[section][0], title2="Collections", viewGroup="collection"
        )
        self._paged(req, resp, rows, self._collection_node, container)

    def _collection_node(self, c: _Collection) -> dict:
        years = [self.items[m].source.year for m in c.members]
        added = max(self.items[m].source.added for m in c.members)
        return {
            "ratingKey": str(c.key),
            "key": f"/library/collections/{c.key}/children",
            "guid": f"collection://{uuid.uuid5(uuid.NAMESPACE_URL, str(c.key))}",
            "type": "collection",
            "title": c.title,
            "subtype": "movie",
            "librarySectionID": c.section,
            "librarySectionTitle": SECTIONS[c.section][0],
            "librarySectionKey": f"/library/sections/{c.section}",
            "summary": "",
            "index": c.key,
            "childCount": len(c.members),
            "minYear": min(years),
            "maxYear": max(years),
            "thumb": f"/library/collections/{c.key}/composite/{added}",
            "addedAt": added,
            "updatedAt": added,
        }

    def on_get_collection(self, req, resp, key: int) -> None:
        collection = self.collections.get(key)
        if collection is None or not collection.members:
            raise HtmlError(404, "Not Found")
        container = self._library_container(
            collection.section, key=str(key), title2=collection.title, viewGroup="movie"
        )
        self._paged(req, resp, collection.members, self.metadata, container)

    def on_get_history(self, req, resp) -> None:
        rows: Sequence = self._history_window(req)
        tests: list[Callable[[tuple], bool]] = []
        for name, index in (("accountID", 2), ("librarySectionID", 3)):
            value = _int(req.get_param(name))
            if value is not None:
                tests.append(lambda r, i=index, v=value: r[i] == v)
        item = _int(req.get_param("metadataItemID"))
        if item is not None:
            tests.append(lambda r: item in (r[4], r[5], r[6]))
        if tests:
            rows = [r for r in rows if all(t(r) for t in tests)]
        rows = self._sort_history(rows, req.get_param("sort"))
        self._paged(req, resp, rows, self._history_node, {})

    def _history_window(self, req: falcon.Request) -> Sequence:
        """The rows within the `viewedAt` bounds (`>=` is `viewedAt>`, `>` is `viewedAt>>` in
        Plex's query syntax), found by bisection since rows are sorted by viewedAt."""
        start, end = 0, len(self._history)
        for op, (side, is_lower) in VIEWED_AT_BOUNDS.items():
            bound = _int(req.get_param("viewedAt" + op))
            if bound is not None:
                cut = (bisect_left if side == "left" else bisect_right)(self._viewed_at, bound)
                start, end = (max(start, cut), end) if is_lower else (start, min(end, cut))
        exact = _int(req.get_param("viewedAt"))
        if exact is not None:
            start = max(start, bisect_left(self._viewed_at, exact))
            end = min(end, bisect_right(self._viewed_at, exact))
        return self._history[start:end]

    @staticmethod
    def _sort_history(rows: Sequence, sort: str | None) -> Sequence:
        """Stable multi-key sort; rows already come in (viewedAt, id) order."""
        parts = [part.partition(":") for part in sort.split(",")] if sort else []
        if any(n not in HISTORY_SORTS or d not in ("", "asc", "desc") for n, _, d in parts):
            raise HtmlError(400, "Bad Request")
        if [(n, d) for n, _, d in parts] == [("viewedAt", "desc")]:
            return rows[::-1]
        if [n for n, _, _ in parts] in ([], ["viewedAt"]):
            return rows
        for name, _, direction in reversed(parts):
            index = 0 if name == "viewedAt" else 2
            rows = sorted(rows, key=lambda r, i=index: r[i], reverse=direction == "desc")
        return rows

    def _history_node(self, row: tuple) -> dict:
        viewed, history_id, account, section, rk, parent, grandparent = row
        source = self._sources[rk]
        node = {
            "historyKey": f"/status/sessions/history/{history_id}",
            "key": f"/library/metadata/{rk}",
            "ratingKey": str(rk),
            "librarySectionID": str(section),
        }
        if grandparent is not None:
            show = self._sources[grandparent]
            node.update(
                {
                    "parentKey": f"/library/metadata/{parent}",
                    "parentRatingKey": str(parent),
                    "grandparentKey": f"/library/metadata/{grandparent}",
                    "grandparentRatingKey": str(grandparent),
                    "title": source.title,
                    "grandparentTitle": show.title,
                    "type": "episode",
                    "index": source.number,
                    "parentIndex": self._sources[parent].number,
                    "thumb": f"/library/metadata/{rk}/thumb/{source.added}",
                    "grandparentThumb": f"/library/metadata/{grandparent}/thumb/{show.added}",
                    "grandparentArt": f"/library/metadata/{grandparent}/art/{show.added}",
                    "originallyAvailableAt": _date(source.air_date),
                }
            )
        else:
            node.update(
                {
                    "title": source.title,
                    "type": "movie",
                    "thumb": f"/library/metadata/{rk}/thumb/{source.added}",
                    "originallyAvailableAt": f"{source.year}-06-01",
                }
            )
        node.update(viewedAt=viewed, accountID=account, deviceID=account % 1000 + 1)
        return node

    def on_get_accounts(self, req, resp) -> None:
        accounts = [
            {
                "id": 0,
                "key": "/accounts/0",
                "name": "",
                "defaultAudioLanguage": "en",
                "autoSelectAudio": True,
                "defaultSubtitleLanguage": "en",
                "subtitleMode": 0,
                "thumb": "",
            }
        ]
        for user in self.library.users:
            avatar = hashlib.md5(user.email.encode()).hexdigest()[:16]
            accounts.append(
                {
                    "id": user.id,
                    "key": f"/accounts/{user.id}",
                    "name": user.username,
                    "defaultAudioLanguage": "en",
                    "autoSelectAudio": True,
                    "defaultSubtitleLanguage": "en",
                    "subtitleMode": 1,
                    "thumb": f"https://plex.tv/users/{avatar}/avatar",
                }
            )
        self._send(
            req,
            resp,
            {
                "size": len(accounts),
                "identifier": "com.plexapp.system.accounts",
                "Account": accounts,
            },
        )

    # state changes
    def touch(self, rating_key: int | str, when: int) -> None:
        """Set an item's `updatedAt`, as a Plex metadata refresh does; nothing else changes."""
        rk = int(rating_key)
        if rk not in self.items:
            raise KeyError(rating_key)
        self.updated[rk] = when
        if rk in self._nodes:
            self._nodes[rk]["updatedAt"] = when

    def delete(self, rk: int) -> None:
        """Remove an item and its descendants from every listing (history rows stay, as in
        PMS)."""
        item = self.items[rk]
        gone = {rk}
        stack = list(item.children)
        while stack:
            child = stack.pop()
            gone.add(child)
            stack.extend(self.items[child].children)
        if item.parent is not None:
            self.items[item.parent].children.remove(rk)
        for key in gone:
            removed = self.items.pop(key)
            self._nodes.pop(key, None)
            self.updated.pop(key, None)
            listing = self.listings[(removed.section, TYPE_NUMBERS[removed.kind])]
            listing.remove(key)
        for collection in self.collections.values():
            collection.members = [m for m in collection.members if m not in gone]


def _date(epoch: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def _split(total: int, parts: int) -> list[int]:
    """`total` in `parts` shares, the first the largest."""
    share = total // parts
    return [total - share * (parts - 1)] + [share] * (parts - 1)


def _movie_ratings(m: Movie) -> dict:
    """Plex's `rating` and `audienceRating` with their images, from the library's rating
    source; legacy agents give a bare rating of no stated source."""
    if m.agent != "plex":
        return {} if m.rating_imdb is None else {"rating": m.rating_imdb}
    node: dict = {}
    if m.plex_ratings == "rottentomatoes":
        if m.rating_rt is not None:
            fresh = "ripe" if m.rating_rt >= 60 else "rotten"
            node.update(
                rating=m.rating_rt / 10, ratingImage=f"rottentomatoes://image.rating.{fresh}"
            )
        if m.rating_rt_audience is not None:
            hand = "upright" if m.rating_rt_audience >= 60 else "spilled"
            node.update(
                audienceRating=m.rating_rt_audience / 10,
                audienceRatingImage=f"rottentomatoes://image.rating.{hand}",
            )
    elif m.plex_ratings == "imdb" and m.rating_imdb is not None:
        node.update(audienceRating=m.rating_imdb, audienceRatingImage="imdb://image.rating")
    elif m.plex_ratings == "themoviedb" and m.rating_tmdb is not None:
        node.update(audienceRating=m.rating_tmdb, audienceRatingImage="themoviedb://image.rating")
    return node
