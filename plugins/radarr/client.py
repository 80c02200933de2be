"""The Radarr client: the managed movies in one listing, and the actions on one movie."""

from __future__ import annotations

from collections.abc import Mapping

from prunerr.sdk import ExternalIds, ManagedItem, ServiceError, Target
from prunerr_plugins.arr import API, ArrClient, Reader, records


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
        ratings = movie.maybe_child("ratings")
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
            genres=movie.texts("genres"),
            studio=movie.maybe_text("studio") or None,
            rating_imdb=_rating(ratings, "imdb"),
            rating_tmdb=_rating(ratings, "tmdb"),
            rating_rt=_rating(ratings, "rottenTomatoes"),
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


def _rating(ratings: Reader | None, source: str) -> float | None:
    """One source's rating; None when absent, or when a voted rating has no votes (TMDB's 0.0
    for "unrated"; Rotten Tomatoes scores carry no votes, so their 0 is a score). Radarr 3 sent
    one flat `{votes, value}` from TMDB."""
    if ratings is None:
        return None
    if "value" in ratings.data:
        rating = ratings if source == "tmdb" else None
    else:
        rating = ratings.maybe_child(source)
    if rating is None:
        return None
    value = rating.maybe_number("value")
    unrated = source != "rottenTomatoes" and value == 0 and not rating.maybe_integer("votes")
    return None if unrated else value
