"""A Radarr (v5, API v3) emulator serving the synthetic library's managed movies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from prunerr.emulation import SyntheticLibrary, json_body
from prunerr_plugins.arr.emulator import (
    RELEASE_GROUP,
    ArrEmulator,
    bad_request,
    clean_title,
    invalid,
    is_id_list,
    iso,
    language,
    media_info,
    quality,
    read_body,
    sort_title,
)

if TYPE_CHECKING:
    from prunerr.emulation.synthetic import Movie

QUALITIES = {  # resolution -> Radarr quality id, name, source
    "480p": (20, "Bluray-480p", "bluray"),
    "576p": (21, "Bluray-576p", "bluray"),
    "720p": (6, "Bluray-720p", "bluray"),
    "1080p": (7, "Bluray-1080p", "bluray"),
    "2160p": (19, "Bluray-2160p", "bluray"),
}
FILE_ID_OFFSET = 50_000  # movie file ids differ from movie ids, as in a real database
AVAILABILITY = ("tba", "announced", "inCinemas", "released")


class RadarrEmulator(ArrEmulator):
    """Movies, movie files, tags, collections and import exclusions, with the state changes of
    PUT and DELETE."""

    service = "radarr"
    app_name = "Radarr"
    version = "5.14.0.9383"
    root = "/movies"
    tagged = "movieIds"
    model = "Movie"
    external_id = "tmdbId"
    exclusion_param = "addImportExclusion"
    owner_key = "movieId"
    file_model = "MovieFile"
    file_ids_key = "movieFileIds"
    exclusions_path = "exclusions"
    app_routes = (("movie/editor", "editor"), ("collection", "collections"))
    tag_detail_keys = (
        "delayProfileIds",
        "importListIds",
        "notificationIds",
        "releaseProfileIds",
        "indexerIds",
        "downloadClientIds",
        "autoTagIds",
    )

    def build(self, library: SyntheticLibrary) -> int:
        tag_ids = {label: i for i, label in library.tags.items()}
        self.movies: dict[int, dict] = {}
        self.files: dict[int, dict] = {}
        self.exclusions: list[dict] = []
        self.collections: dict[str, list[Movie]] = {}
        for movie in library.movies:
            if movie.collection:
                self.collections.setdefault(movie.collection, []).append(movie)
            if movie.radarr_id is not None:
                resource = self._movie(movie, [tag_ids[t] for t in movie.tags], library.collections)
                self.movies[movie.radarr_id] = resource
                self.files[resource["movieFileId"]] = resource["movieFile"]
        return sum(f["size"] for f in self.files.values())

    def _movie(self, m: Movie, tags: list[int], collections: dict[str, int]) -> dict:
        folder, name = m.file.path.rsplit("/", 1)
        file_id = FILE_ID_OFFSET + m.radarr_id
        month = m.index % 12 + 1
        votes = 1_000 + m.index * 7_919 % 500_000
        ratings = {
            key: {"votes": n, "value": value, "type": "user"}
            for key, value, n in (
                ("imdb", m.rating_imdb, votes),
                ("tmdb", m.rating_tmdb, votes // 10),
                ("rottenTomatoes", m.rating_rt, 0),
            )
            if value is not None
        }
        scene = f"{m.title.replace(' ', '.')}.{m.year}.{m.file.resolution}.BluRay-{RELEASE_GROUP}"
        movie_file = {
            "id": file_id,
            "movieId": m.radarr_id,
            "relativePath": name,
            "path": m.file.path,
            "size": m.file.size,
            "dateAdded": iso(m.added),
            "sceneName": scene,
            "releaseGroup": RELEASE_GROUP,
            "edition": "",
            "languages": [language(m.original_language)],
            "quality": quality(QUALITIES, m.file.resolution, modifier=True),
            "customFormats": [],
            "customFormatScore": 0,
            "indexerFlags": 0,
            "mediaInfo": media_info(m.file),
            "originalFilePath": f"{scene}.mkv",
            "qualityCutoffNotMet": False,
        }
        resource = {
            "id": m.radarr_id,
            "title": m.title,
            "originalTitle": m.title,
            "originalLanguage": language(m.original_language),
            "alternateTitles": [],
            "secondaryYearSourceId": 0,
            "sortTitle": sort_title(m.title),
            "sizeOnDisk": m.file.size,
            "status": "released",
            "overview": f"A {m.genres[0].lower()} film from {m.studio}.",
            "inCinemas": f"{m.year}-{month:02d}-01T00:00:00Z",
            "physicalRelease": f"{m.year}-{month:02d}-25T00:00:00Z",
            "digitalRelease": f"{m.year}-{month:02d}-18T00:00:00Z",
            "releaseDate": f"{m.year}-{month:02d}-18T00:00:00Z",
            "images": [
                {
                    "coverType": "poster",
                    "url": f"/MediaCover/{m.radarr_id}/poster.jpg",
                    "remoteUrl": f"https://image.tmdb.org/t/p/original/{m.tmdb_id}.jpg",
                }
            ],
            "website": "",
            "year": m.year,
            "youTubeTrailerId": "",
            "studio": m.studio,
            "path": folder,
            "qualityProfileId": 1,
            "hasFile": True,
            "movieFileId": file_id,
            "monitored": m.monitored,
            "minimumAvailability": "released",
            "isAvailable": True,
            "folderName": folder,
            "runtime": m.file.runtime_s // 60,
            "cleanTitle": clean_title(m.title),
            "imdbId": m.imdb_id,
            "tmdbId": m.tmdb_id,
            "titleSlug": str(m.tmdb_id),
            "rootFolderPath": self.root,
            "certification": m.content_rating,
            "genres": list(m.genres),
            "keywords": [],
            "tags": tags,
            "added": iso(m.added),
            "ratings": ratings,
            "movieFile": movie_file,
            "popularity": round(votes / 10_000, 3),
            "statistics": {
                "movieFileCount": 1,
                "sizeOnDisk": m.file.size,
                "releaseGroups": [RELEASE_GROUP],
            },
        }
        if m.collection:
            resource["collection"] = {"title": m.collection, "tmdbId": collections[m.collection]}
        return resource

    def managed_items(self) -> dict[int, dict]:
        return self.movies

    def item_files(self, item_id: int) -> list[dict] | None:
        movie = self.movies.get(item_id)
        if movie is None:
            return None
        return [movie["movieFile"]] if movie["hasFile"] else []

    def edit_valid(self, body: dict) -> bool:
        return body.get("minimumAvailability", "released") in AVAILABILITY

    # state changes, called with self.state held
    def edit_item(self, item_id: int, item: dict, body: dict) -> None:
        item["minimumAvailability"] = body.get("minimumAvailability", "released")

    def drop_file(self, file_id: int) -> None:
        movie_file = self.files.pop(file_id)
        movie = self.movies[movie_file["movieId"]]
        del movie["movieFile"]
        movie.update(
            hasFile=False,
            movieFileId=0,
            sizeOnDisk=0,
            statistics={"movieFileCount": 0, "sizeOnDisk": 0, "releaseGroups": []},
        )
        self.disk_used -= movie_file["size"]
        self.changed(movie["id"])

    def drop_item(self, movie_id: int, delete_files: bool, exclude: bool) -> None:
        movie = self.movies.pop(movie_id)
        movie_file = self.files.pop(movie["movieFileId"], None)
        if movie_file and delete_files:
            self.disk_used -= movie_file["size"]
        if exclude and all(e["tmdbId"] != movie["tmdbId"] for e in self.exclusions):
            self._exclude(movie["tmdbId"], movie["title"], movie["year"])
        self.changed(movie_id)

    def _exclude(self, tmdb_id: int, title: str, year: int) -> dict:
        exclusion = {
            "id": len(self.exclusions) + 1,
            "tmdbId": tmdb_id,
            "movieTitle": title,
            "movieYear": year,
        }
        self.exclusions.append(exclusion)
        return exclusion

    # the movie editor
    def on_put_editor(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req)
        if not isinstance(body, dict) or not is_id_list(body.get("movieIds")):
            bad_request(resp, "Request body can't be empty")
            return
        monitored, tags, mode = body.get("monitored"), body.get("tags"), body.get("applyTags")
        if (monitored is not None and not isinstance(monitored, bool)) or (
            tags is not None and not is_id_list(tags)
        ):
            bad_request(resp, "Request body can't be empty")
            return
        with self.state:
            movies = [self.movies[i] for i in body["movieIds"] if i in self.movies]
            for movie in movies:
                if monitored is not None:
                    movie["monitored"] = monitored
                if tags is not None:
                    current = set(movie["tags"])
                    movie["tags"] = sorted(
                        current | set(tags)
                        if mode == "add"
                        else current - set(tags)
                        if mode == "remove"
                        else set(tags)
                    )
                self.changed(movie["id"])
            json_body(resp, movies, 202)

    def on_delete_editor(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req)
        if not isinstance(body, dict) or not is_id_list(body.get("movieIds")):
            bad_request(resp, "Request body can't be empty")
            return
        with self.state:
            for movie_id in body["movieIds"]:
                if movie_id in self.movies:
                    self.drop_item(
                        movie_id,
                        body.get("deleteFiles") is True,
                        body.get("addImportExclusion") is True,
                    )
        json_body(resp, {})

    # collections and exclusions
    def on_get_collections(self, req: falcon.Request, resp: falcon.Response) -> None:
        tmdb_filter = req.get_param_as_int("tmdbId")
        with self.state:
            existing = {m["tmdbId"] for m in self.movies.values()}
            excluded = {e["tmdbId"] for e in self.exclusions}
        collections = []
        for i, (title, tmdb_id) in enumerate(
            sorted(self.library.collections.items(), key=lambda kv: kv[1]), 1
        ):
            if tmdb_filter is not None and tmdb_id != tmdb_filter:
                continue
            movies = [
                {
                    "tmdbId": m.tmdb_id,
                    "imdbId": m.imdb_id,
                    "title": m.title,
                    "cleanTitle": clean_title(m.title),
                    "sortTitle": sort_title(m.title),
                    "status": "released",
                    "overview": "",
                    "runtime": m.file.runtime_s // 60,
                    "images": [],
                    "year": m.year,
                    "ratings": {},
                    "genres": list(m.genres),
                    "folder": f"{m.title} ({m.year})",
                    "isExisting": m.tmdb_id in existing,
                    "isExcluded": m.tmdb_id in excluded,
                }
                for m in self.collections.get(title, [])
            ]
            collections.append(
                {
                    "id": i,
                    "title": title,
                    "sortTitle": sort_title(title),
                    "tmdbId": tmdb_id,
                    "images": [],
                    "overview": "",
                    "monitored": False,
                    "rootFolderPath": self.root,
                    "qualityProfileId": 1,
                    "searchOnAdd": False,
                    "minimumAvailability": "released",
                    "movies": movies,
                    "tags": [],
                    "missingMovies": sum(not (m["isExisting"] or m["isExcluded"]) for m in movies),
                }
            )
        json_body(resp, collections)

    def on_post_exclusions(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req)
        if not isinstance(body, dict):
            bad_request(resp, "Request body can't be empty")
            return
        tmdb_id, title, year = body.get("tmdbId"), body.get("movieTitle"), body.get("movieYear")
        with self.state:
            if not isinstance(tmdb_id, int) or tmdb_id <= 0:
                invalid(
                    resp,
                    "TmdbId",
                    "'Tmdb Id' must be greater than '0'.",
                    tmdb_id,
                    "GreaterThanValidator",
                )
            elif any(e["tmdbId"] == tmdb_id for e in self.exclusions):
                invalid(
                    resp,
                    "TmdbId",
                    "This exclusion has already been added.",
                    tmdb_id,
                    "PredicateValidator",
                )
            elif not isinstance(title, str) or not title:
                invalid(
                    resp,
                    "MovieTitle",
                    "'Movie Title' must not be empty.",
                    title,
                    "NotEmptyValidator",
                )
            else:
                json_body(
                    resp, self._exclude(tmdb_id, title, year if isinstance(year, int) else 0), 201
                )
