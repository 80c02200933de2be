"""A Seerr emulator (Overseerr and Jellyseerr share the API): `/api/v1` requests, users, media
and the TMDB detail pages with `mediaInfo`, served from a SyntheticLibrary with Seerr's paging
(`take`/`skip` -> `pageInfo`), its 403 for a wrong key and its `{"message"}` errors."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import falcon

from prunerr.dsl.units import DAY
from prunerr.emulation import Emulator, Faults, SyntheticLibrary, json_body

if TYPE_CHECKING:
    from prunerr.emulation.synthetic import Movie, Request, Show, User

VERSION = "3.0.0"
PENDING, APPROVED, DECLINED, FAILED, COMPLETED = 1, 2, 3, 4, 5  # MediaRequestStatus
UNKNOWN, PROCESSING, PARTIAL, AVAILABLE, DELETED = 1, 3, 4, 5, 7  # MediaStatus (2 is PENDING)
ADMIN, REQUEST = 2, 32  # permission bits
MACHINE_ID = "5d0c1b3e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
NO_ACCESS = {"status": 403, "error": "You do not have permission to access this endpoint"}
STATUS = {
    "version": VERSION,
    "commitTag": f"v{VERSION}",
    "updateAvailable": False,
    "commitsBehind": 0,
    "restartRequired": False,
}
# filter -> (request statuses, media statuses); None is "any"
REQUEST_FILTERS: dict[str, tuple[set[int] | None, set[int] | None]] = {
    "approved": ({APPROVED}, None),
    "processing": ({APPROVED}, {UNKNOWN, 2, PROCESSING, PARTIAL}),
    "pending": ({PENDING}, None),
    "unavailable": ({PENDING, APPROVED}, {UNKNOWN, 2, PROCESSING, PARTIAL}),
    "failed": ({FAILED}, None),
    "available": ({COMPLETED}, {AVAILABLE}),
    "completed": ({COMPLETED}, None),
    "deleted": ({COMPLETED}, {DELETED}),
}
MEDIA_FILTERS = {
    "available": {AVAILABLE},
    "partial": {PARTIAL},
    "allavailable": {AVAILABLE, PARTIAL},
    "processing": {PROCESSING},
    "pending": {2},
}


def iso(ts: float) -> str:
    """Seerr's timestamps: `2024-12-29T10:04:16.000Z`."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _number(req: falcon.Request, name: str, default: int) -> int:
    value = req.get_param(name)
    return int(value) if value and value.lstrip("-").isdigit() else default


def _page(req: falcon.Request, rows: list, default_take: int) -> dict:
    take, skip = _number(req, "take", default_take) or default_take, _number(req, "skip", 0)
    return {
        "pageInfo": {
            "pages": math.ceil(len(rows) / take),
            "pageSize": take,
            "results": len(rows),
            "page": math.ceil(skip / take) + 1,
        },
        "results": rows[skip : skip + take],
    }


def _not_found(resp: falcon.Response, message: str, status: int = 404) -> None:
    json_body(resp, {"message": message}, status)


class SeerrEmulator(Emulator):
    service = "seerr"

    def __init__(self, library: SyntheticLibrary, api_key: str, faults: Faults | None = None):
        self.library = library  # the state is built before the base class adds the routes
        self.movies = {m.tmdb_id: m for m in library.movies}
        self.shows = {s.tmdb_id: s for s in library.shows}
        counts = Counter(library.user(r.user_id).seerr_id for r in library.requests)
        self.users = {
            u.seerr_id: self._user(i, u, counts[u.seerr_id]) for i, u in enumerate(library.users)
        }
        self.media: dict[int, dict] = {}
        self.media_requests: dict[int, dict] = {}
        self.media_ids = {(r.media_type, r.tmdb_id): r.media_id for r in library.requests}
        season_ids = iter(range(1, 10**9))
        for r in library.requests:
            if r.media_id not in self.media:
                self.media[r.media_id] = self._media(r, season_ids)
            self.media_requests[r.id] = self._request(r, season_ids)
        super().__init__(library, api_key, faults)

    # the resources, built once; the state changes edit these dicts
    def _user(self, index: int, user: User, requests: int) -> dict:
        created = iso(self.library.now - (900 - index) * DAY)
        return {
            "permissions": ADMIN if user.id == 1 else REQUEST,
            "warnings": [],
            "id": user.seerr_id,
            "email": user.email,
            "plexUsername": user.username,
            "jellyfinUsername": None,
            "username": user.username,
            "recoveryLinkExpirationDate": None,
            "userType": 1,
            "plexId": user.id,
            "jellyfinUserId": None,
            "avatar": f"https://plex.tv/users/{user.id:016x}/avatar",
            "avatarETag": None,
            "avatarVersion": None,
            "movieQuotaLimit": None,
            "movieQuotaDays": None,
            "tvQuotaLimit": None,
            "tvQuotaDays": None,
            "createdAt": created,
            "updatedAt": created,
            "requestCount": requests,
            "displayName": user.username,
        }

    def title(self, media_type: str, tmdb_id: int) -> Movie | Show | None:
        return (self.movies if media_type == "movie" else self.shows).get(tmdb_id)

    def _media(self, request: Request, season_ids: Iterator[int]) -> dict:
        title = self.title(request.media_type, request.tmdb_id)
        movie = request.media_type == "movie"
        arr_id = title.radarr_id if movie else title.sonarr_id
        slug = str(title.tmdb_id) if movie else title.title.lower().replace(" ", "-")
        created = iso(request.created)
        media = {
            "downloadStatus": [],
            "downloadStatus4k": [],
            "id": request.media_id,
            "mediaType": request.media_type,
            "tmdbId": title.tmdb_id,
            "tvdbId": None if movie else title.tvdb_id,
            "imdbId": title.imdb_id,
            "status": AVAILABLE,
            "status4k": UNKNOWN,
            "createdAt": created,
            "updatedAt": created,
            "lastSeasonChange": created,
            "mediaAddedAt": iso(title.added),
            "serviceId": None if arr_id is None else 0,
            "serviceId4k": None,
            "externalServiceId": arr_id,
            "externalServiceId4k": None,
            "externalServiceSlug": None if arr_id is None else slug,
            "externalServiceSlug4k": None,
            "ratingKey": str(title.rating_key),
            "ratingKey4k": None,
            "jellyfinMediaId": None,
            "jellyfinMediaId4k": None,
            "mediaUrl": "https://app.plex.tv/desktop#!/server/"
            f"{MACHINE_ID}/details?key=%2Flibrary%2Fmetadata%2F{title.rating_key}",
            "iOSPlexUrl": f"plex://preplay/?metadataKey=%2Flibrary%2Fmetadata%2F"
            f"{title.rating_key}&server={MACHINE_ID}",
        }
        if arr_id is not None:
            base = "http://radarr:7878/movie" if movie else "http://sonarr:8989/series"
            media["serviceUrl"] = f"{base}/{slug}"
        numbers = [] if movie else [s.number for s in title.seasons if s.number > 0]
        seasons = [
            {
                "id": next(season_ids),
                "seasonNumber": number,
                "status": AVAILABLE,
                "status4k": UNKNOWN,
                "createdAt": created,
                "updatedAt": created,
            }
            for number in numbers
        ]
        return {"media": media, "seasons": seasons}

    def _request(self, request: Request, season_ids: Iterator[int]) -> dict:
        movie = request.media_type == "movie"
        created = iso(request.created)
        seasons = [
            {
                "id": next(season_ids),
                "seasonNumber": season["seasonNumber"],
                "status": request.status,
                "createdAt": created,
                "updatedAt": created,
            }
            for season in self.media[request.media_id]["seasons"]
        ]
        return {
            "id": request.id,
            "status": request.status,
            "createdAt": created,
            "updatedAt": created,
            "type": request.media_type,
            "is4k": False,
            "serverId": 0,
            "profileId": 4 if movie else 6,
            "profileName": "HD-1080p",
            "rootFolder": "/movies" if movie else "/tv",
            "languageProfileId": None,
            "tags": [],
            "isAutoRequest": False,
            "media": self.media[request.media_id]["media"],
            "seasons": seasons,
            "modifiedBy": None if request.status == PENDING else self.users[1],
            "requestedBy": self.users[self.library.user(request.user_id).seerr_id],
            "seasonCount": len(seasons),
            "canRemove": True,
        }

    # state changes
    def delete_request(self, request_id: int) -> bool:
        with self._lock:
            return self._drop(request_id)

    def delete_media(self, media_id: int) -> bool:
        """Remove the media and its requests, so the title can be requested again."""
        with self._lock:
            if self.media.pop(media_id, None) is None:
                return False
            for request in [
                r for r in self.media_requests.values() if r["media"]["id"] == media_id
            ]:
                self._drop(request["id"])
            return True

    def _drop(self, request_id: int) -> bool:
        request = self.media_requests.pop(request_id, None)
        if request is not None:
            request["requestedBy"]["requestCount"] -= 1
        return request is not None

    # HTTP
    def routes(self, app: falcon.App) -> None:
        v1 = "/api/v1"
        app.add_route(f"{v1}/status", _Get(lambda req: STATUS))
        app.add_route(f"{v1}/auth/me", _Get(lambda req: self.users[1]))
        app.add_route(f"{v1}/request", _Get(self._list_requests))
        app.add_route(f"{v1}/request/count", _Get(self._count_requests))
        app.add_route(
            f"{v1}/request/{{ident}}",
            _One(self.media_requests, "Request not found.", self.delete_request),
        )
        app.add_route(f"{v1}/user", _Get(self._list_users))
        app.add_route(f"{v1}/user/{{ident}}", _One(self.users, "User not found."))
        app.add_route(f"{v1}/media", _Get(self._list_media))
        app.add_route(f"{v1}/media/{{ident}}", _One(None, "Media not found", self.delete_media))
        app.add_route(
            f"{v1}/movie/{{ident}}",
            _One(_Details(self, "movie"), "Unable to retrieve movie.", status=500),
        )
        app.add_route(
            f"{v1}/tv/{{ident}}",
            _One(_Details(self, "tv"), "Unable to retrieve series.", status=500),
        )

    def authenticate(self, req: falcon.Request) -> bool:
        return req.path == "/api/v1/status" or req.get_header("X-Api-Key") == self.api_key

    def reject(self, req: falcon.Request, resp: falcon.Response) -> None:
        json_body(resp, NO_ACCESS, 403)

    def _list_requests(self, req: falcon.Request) -> dict:
        statuses, media_statuses = REQUEST_FILTERS.get(req.get_param("filter") or "", (None, None))
        requested_by = _number(req, "requestedBy", 0)
        media_type = req.get_param("mediaType") or "all"
        with self._lock:
            rows = [
                r
                for r in self.media_requests.values()
                if (statuses is None or r["status"] in statuses)
                and (media_statuses is None or r["media"]["status"] in media_statuses)
                and (not requested_by or r["requestedBy"]["id"] == requested_by)
                and media_type in ("all", r["type"])
            ]
        field = {"added": "createdAt", "modified": "updatedAt"}.get(req.get_param("sort") or "")
        descending = req.get_param("sortDirection") != "asc"
        rows.sort(key=lambda r: (r[field] if field else "", r["id"]), reverse=descending)
        return {**_page(req, rows, 10), "serviceErrors": {"radarr": [], "sonarr": []}}

    def _count_requests(self, req: falcon.Request) -> dict:
        with self._lock:
            rows = list(self.media_requests.values())
        count = Counter(r["status"] for r in rows)
        approved = [r for r in rows if r["status"] == APPROVED]
        available = sum(r["media"]["status"] == AVAILABLE for r in approved)
        return {
            "total": len(rows),
            "movie": sum(r["type"] == "movie" for r in rows),
            "tv": sum(r["type"] == "tv" for r in rows),
            "pending": count[PENDING],
            "approved": count[APPROVED],
            "declined": count[DECLINED],
            "processing": len(approved) - available,
            "available": available,
            "completed": count[COMPLETED],
        }

    def _list_users(self, req: falcon.Request) -> dict:
        sorts: dict[str, tuple[Callable[[dict], Any], bool]] = {
            "updated": (lambda u: u["updatedAt"], True),
            "requests": (lambda u: u["requestCount"], True),
            "displayname": (lambda u: u["displayName"].lower(), False),
        }
        key, descending = sorts.get(req.get_param("sort") or "", (lambda u: u["id"], False))
        with self._lock:
            rows = sorted(self.users.values(), key=key, reverse=descending)
        return _page(req, rows, 10)

    def _list_media(self, req: falcon.Request) -> dict:
        statuses = MEDIA_FILTERS.get(req.get_param("filter") or "")
        field = {"modified": "updatedAt", "mediaAdded": "mediaAddedAt"}.get(
            req.get_param("sort") or "", "id"
        )
        with self._lock:
            rows = [
                {**m["media"], "seasons": m["seasons"]}
                for m in self.media.values()
                if statuses is None or m["media"]["status"] in statuses
            ]
        rows.sort(key=lambda m: (m[field] or "", m["id"]), reverse=True)
        return _page(req, rows, 20)

    def media_info(self, media_type: str, tmdb_id: int) -> dict | None:
        """`mediaInfo` of a detail page: the media with its requests, seasons and issues."""
        with self._lock:
            found = self.media.get(self.media_ids.get((media_type, tmdb_id), 0))
            if found is None:
                return None
            media_id = found["media"]["id"]
            requests = [r for r in self.media_requests.values() if r["media"]["id"] == media_id]
        return {**found["media"], "requests": requests, "issues": [], "seasons": found["seasons"]}


class _Lookup(Protocol):
    def get(self, ident: int, /) -> dict | None: ...


class _Get:
    def __init__(self, render: Callable[[falcon.Request], object]):
        self.render = render

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        json_body(resp, self.render(req))


class _One:
    """GET (and, with `delete`, DELETE) of one resource by its numeric id, with Seerr's error
    answer for an unknown or malformed id."""

    def __init__(
        self,
        items: _Lookup | None,
        missing: str,
        delete: Callable[[int], bool] | None = None,
        *,
        status: int = 404,
    ):
        self.items, self.missing, self.delete, self.status = items, missing, delete, status

    def on_get(self, req: falcon.Request, resp: falcon.Response, ident: str) -> None:
        if self.items is None:
            raise falcon.HTTPNotFound()
        item = self.items.get(int(ident)) if ident.isdigit() else None
        if item is None:
            return _not_found(resp, self.missing, self.status)
        json_body(resp, item)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, ident: str) -> None:
        if self.delete is None:
            raise falcon.HTTPMethodNotAllowed(["GET"])
        if not (ident.isdigit() and self.delete(int(ident))):
            return _not_found(resp, self.missing)
        resp.status = 204


class _Details:
    """TMDB details of the library's titles, with `mediaInfo` when Seerr knows the title (the
    key is absent otherwise, as Seerr sends it)."""

    def __init__(self, emulator: SeerrEmulator, media_type: str):
        self.emulator, self.media_type = emulator, media_type

    def get(self, tmdb_id: int) -> dict | None:
        emu = self.emulator
        title = emu.title(self.media_type, tmdb_id)
        if title is None:
            return None
        if self.media_type == "movie":
            details = _movie(title, emu.library.collections)
        else:
            details = _tv(title)
        info = emu.media_info(self.media_type, tmdb_id)
        if info is not None:
            details["mediaInfo"] = info
        return details


def _common(title: Movie | Show) -> dict:
    genres = [{"id": 10 + i, "name": g} for i, g in enumerate(title.genres)]
    return {
        "id": title.tmdb_id,
        "genres": genres,
        "originalLanguage": "en",
        "overview": f"{title.title}, a synthetic title.",
        "popularity": 10.0,
        "posterPath": f"/{title.tmdb_id}p.jpg",
        "backdropPath": f"/{title.tmdb_id}b.jpg",
        "homepage": "",
        "tagline": "",
        "relatedVideos": [],
        "productionCompanies": [],
        "productionCountries": [{"iso_3166_1": "US", "name": "United States of America"}],
        "spokenLanguages": [{"englishName": "English", "iso_639_1": "en", "name": "English"}],
        "voteAverage": 7.0,
        "voteCount": 100,
        "credits": {"cast": [], "crew": []},
        "keywords": [],
        "watchProviders": [],
        "onUserWatchlist": False,
    }


def _movie(movie: Movie, collections: dict[str, int]) -> dict:
    details = {
        **_common(movie),
        "adult": False,
        "budget": 0,
        "imdbId": movie.imdb_id,
        "originalTitle": movie.title,
        "title": movie.title,
        "releaseDate": f"{movie.year}-06-01",
        "releases": {"results": []},
        "revenue": None,
        "runtime": movie.file.runtime_s // 60,
        "status": "Released",
        "video": False,
        "externalIds": {
            "facebookId": None,
            "imdbId": movie.imdb_id,
            "instagramId": None,
            "twitterId": None,
        },
    }
    if movie.collection:
        details["collection"] = {"id": collections[movie.collection], "name": movie.collection}
    return details


def _tv(show: Show) -> dict:
    seasons = [s for s in show.seasons if s.number > 0]
    episodes = [e for s in seasons for e in s.episodes]
    last = episodes[-1] if episodes else None
    details = {
        **_common(show),
        "name": show.title,
        "originalName": show.title,
        "contentRatings": {"results": [{"iso_3166_1": "US", "rating": show.content_rating}]},
        "createdBy": [],
        "episodeRunTime": [45],
        "firstAirDate": f"{show.year}-01-01",
        "inProduction": show.status == "continuing",
        "languages": ["en"],
        "lastAirDate": iso(last.air_date)[:10] if last else f"{show.year}-01-01",
        "networks": [{"id": 1, "name": show.network, "originCountry": "US", "logoPath": None}],
        "numberOfEpisodes": len(episodes),
        "numberOfSeasons": len(seasons),
        "originCountry": ["US"],
        "type": "Scripted",
        "status": {"continuing": "Returning Series", "ended": "Ended"}.get(show.status, "Planned"),
        "seasons": [
            {
                "id": s.rating_key,
                "airDate": None,
                "episodeCount": len(s.episodes),
                "name": f"Season {s.number}",
                "overview": "",
                "seasonNumber": s.number,
                "posterPath": f"/{show.tmdb_id}s{s.number}.jpg",
            }
            for s in seasons
        ],
        "externalIds": {
            "facebookId": None,
            "freebaseId": None,
            "freebaseMid": None,
            "imdbId": show.imdb_id,
            "instagramId": None,
            "tvdbId": show.tvdb_id,
            "tvrageId": None,
            "twitterId": None,
        },
    }
    if last is not None:
        details["lastEpisodeToAir"] = {
            "id": last.rating_key,
            "airDate": iso(last.air_date)[:10],
            "episodeNumber": last.number,
            "name": last.title,
            "overview": "",
            "productionCode": "",
            "seasonNumber": seasons[-1].number,
            "showId": show.tmdb_id,
            "voteAverage": 7.0,
            "voteCount": 10,
            "stillPath": None,
        }
    return details
