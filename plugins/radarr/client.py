"""The Radarr client: the managed movies in one listing, and the actions on one movie."""

from __future__ import annotations

from collections.abc import Mapping

from prunerr.sdk import ExternalIds, ManagedItem, ServiceError, Target
from prunerr_plugins.arr import API
from prunerr_plugins.arr.client import ArrClient, Reader, ratings, records


class RadarrClient(ArrClient):
    """Radarr's movies (LibraryManager for `movie`). A sync costs two requests, GET /movie and
    GET /tag, plus GET /collection only for a Radarr whose movies name their collection by id
    alone."""

    app_name = "Radarr"
    media = "movie"

    def items(self) -> list[ManagedItem]:
        movies = self.get_list(f"{API}/movie")
        tags = self.tag_labels()  # after the movies: a tag they carry is already listed
        collections: dict[int, str] | None = None
        items = []
        for movie in movies:
            collection = movie.maybe_child("collection")
            title = None
            if collection is not None:
                title = collection.maybe_text("title") or collection.maybe_text("name")
                tmdb_id = collection.maybe_integer("tmdbId") or 0
                if title is None and tmdb_id:
                    collections = self._collections() if collections is None else collections
                    if tmdb_id not in collections:
                        where = f"{collection.where}: collection {tmdb_id}"
                        raise ServiceError(self.name, f"{where} is not in GET {API}/collection")
                    title = collections[tmdb_id]
            items.append(self._item(movie, tags, title))
        return items

    def _collections(self) -> dict[int, str]:
        return {c.integer("tmdbId"): c.text("title") for c in self.get_list(f"{API}/collection")}

    def _item(self, movie: Reader, tags: Mapping[int, str], collection: str | None) -> ManagedItem:
        movie_file = movie.maybe_child("movieFile")
        size = movie.maybe_integer("sizeOnDisk")
        if size is None:
            size = movie_file.integer("size") if movie_file is not None else 0
        rated = ratings(movie.maybe_child("ratings"), "tmdb")  # Radarr 3's flat one is TMDb's
        return ManagedItem(
            instance=self.name,
            arr_id=movie.integer("id"),
            media="movie",
            title=movie.text("title"),
            ids=ExternalIds(
                tmdb=movie.integer("tmdbId") or None, imdb=movie.maybe_text("imdbId") or None
            ),
            monitored=movie.flag("monitored"),
            size=size,
            year=movie.maybe_integer("year") or None,
            path=movie.maybe_text("path"),
            tags=self.labels(movie, tags),
            genres=movie.maybe_texts("genres"),
            studio=movie.maybe_text("studio") or None,
            rating_imdb=rated.get("imdb"),
            rating_tmdb=rated.get("tmdb"),
            rating_rt=rated.get("rt"),
            collection=collection,
        )

    def unmonitor(self, movie_id: int) -> bool:
        """Unmonitor a movie (GET, then PUT the whole resource back). False if it is gone."""
        return self.unmonitor_resource(f"{API}/movie/{movie_id}", lambda movie: movie)

    def delete_files(self, movie_id: int) -> bool:
        """Delete a movie's file(s) and keep the movie. False if the movie or its files were
        already gone."""
        response = self.call("GET", f"{API}/moviefile", params={"movieId": movie_id})
        if response is None:
            return False
        deleted = False
        for movie_file in records(self.name, f"GET {API}/moviefile", self.body(response)):
            path = f"{API}/moviefile/{movie_file.integer('id')}"
            deleted = self.call("DELETE", path) is not None or deleted
        return deleted

    def delete(
        self, movie_id: int, delete_files: bool = True, add_import_exclusion: bool = False
    ) -> bool:
        """Remove a movie from Radarr (and its files). False if it was already gone."""
        params = {"deleteFiles": delete_files, "addImportExclusion": add_import_exclusion}
        return self.call("DELETE", f"{API}/movie/{movie_id}", params=params) is not None

    # the LibraryManager role's actions

    def unmonitor_target(self, target: Target) -> bool:
        return self.unmonitor(target.arr_id)

    def delete_target_files(self, target: Target) -> bool:
        return self.delete_files(target.arr_id)

    def remove_target(self, target: Target, import_exclusion: bool) -> bool:
        return self.delete(target.arr_id, delete_files=True, add_import_exclusion=import_exclusion)
