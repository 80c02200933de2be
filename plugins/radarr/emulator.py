"""A Radarr (v5, API v3) emulator serving the synthetic library's managed movies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from prunerr.emulation import SyntheticLibrary, json_body
from prunerr_plugins.arr import (
    API,
    RELEASE_GROUP,
    ArrEmulator,
    apply_edit,
    bad_request,
    clean_title,
    crash,
    invalid,
    is_id_list,
    iso,
    language,
    media_info,
    not_found,
    quality,
    read_body,
    read_edit,
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

    def tag_usage(self) -> dict[int, list[int]]:
        usage: dict[int, list[int]] = {}
        for movie_id, movie in self.movies.items():
            for tag in movie["tags"]:
                usage.setdefault(tag, []).append(movie_id)
        return usage

    def routes(self, app: falcon.App) -> None:
        super().routes(app)
        for path, suffix in (
            ("movie", "movies"),
            ("movie/{id:int}", "movie"),
            ("movie/editor", "editor"),
            ("moviefile", "files"),
            ("moviefile/{id:int}", "file"),
            ("moviefile/bulk", "files_bulk"),
            ("collection", "collections"),
            ("exclusions", "exclusions"),
        ):
            app.add_route(f"{API}/{path}", self, suffix=suffix)

    # state changes, called with self.state held
    def _drop_file(self, file_id: int) -> None:
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

    def _drop_movie(self, movie_id: int, delete_files: bool, exclude: bool) -> None:
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

    # movies
    def on_get_movies(self, req: falcon.Request, resp: falcon.Response) -> None:
        tmdb_id = req.get_param_as_int("tmdbId")
        with self.state:
            movies = self.movies.items()
            if tmdb_id is not None:
                movies = [(k, m) for k, m in movies if m["tmdbId"] == tmdb_id][:1]
            self.send_cached(resp, movies)

    def on_get_movie(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        with self.state:
            movie = self.movies.get(id)
            if movie is None:
                resp.status = 404  # NotFound(): an empty body
            else:
                json_body(resp, movie)

    def on_put_movie(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        edit = read_edit(req, resp, id)
        if edit is None:
            return
        movie_id, body = edit
        availability = body.get("minimumAvailability", "released")
        if availability not in AVAILABILITY:
            bad_request(resp, "Request body can't be empty")
            return
        with self.state:
            movie = self.movies.get(movie_id)
            if movie is None:
                not_found(resp, "Movie", movie_id)
                return
            apply_edit(movie, body)
            movie["minimumAvailability"] = availability
            self.changed(movie_id)
            json_body(resp, movie, 202)  # Accepted(id), with the updated resource

    def on_delete_movie(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        if id <= 0:
            bad_request(resp, f"{id} is not a valid ID")
            return
        with self.state:
            if id not in self.movies:
                not_found(resp, "Movie", id)
                return
            self._drop_movie(
                id,
                req.get_param_as_bool("deleteFiles", default=False),
                req.get_param_as_bool("addImportExclusion", default=False),
            )
        resp.status = 200

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
                    self._drop_movie(
                        movie_id,
                        body.get("deleteFiles") is True,
                        body.get("addImportExclusion") is True,
                    )
        json_body(resp, {})

    # movie files
    def on_get_files(self, req: falcon.Request, resp: falcon.Response) -> None:
        movie_id = req.get_param_as_int("movieId")
        file_ids = req.get_param_as_list("movieFileIds", transform=int) or []
        with self.state:
            if movie_id is not None:
                movie = self.movies.get(movie_id)
                if movie is None:
                    not_found(resp, "Movie", movie_id)
                    return
                json_body(resp, [movie["movieFile"]] if movie["hasFile"] else [])
            elif file_ids:
                json_body(resp, [self.files[i] for i in file_ids if i in self.files])
            else:
                bad_request(resp, "movieId or movieFileIds must be provided")

    def on_get_file(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        with self.state:
            if id in self.files:
                json_body(resp, self.files[id])
            else:
                resp.status = 404

    def on_delete_file(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        if id <= 0:
            bad_request(resp, f"{id} is not a valid ID")
            return
        with self.state:
            if id not in self.files:
                not_found(resp, "MovieFile", id)
                return
            self._drop_file(id)
        resp.status = 200

    def on_delete_files_bulk(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req)
        ids = body.get("movieFileIds") if isinstance(body, dict) else None
        if not is_id_list(ids):
            bad_request(resp, "Request body can't be empty")
            return
        with self.state:
            existing = [i for i in dict.fromkeys(ids) if i in self.files]
            if not existing:
                crash(resp)
                return
            for file_id in existing:
                self._drop_file(file_id)
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

    def on_get_exclusions(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.state:
            json_body(resp, self.exclusions)

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
