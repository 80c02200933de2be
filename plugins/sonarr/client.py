"""The Sonarr client: the managed series with their seasons in one listing, episodes on demand,
and the actions on series, seasons, episodes and episode files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from prunerr.sdk import (
    ExternalIds,
    ManagedEpisode,
    ManagedItem,
    ManagedSeason,
    ServiceError,
    Target,
)
from prunerr_plugins.arr import API
from prunerr_plugins.arr.client import ArrClient, BulkResult, Reader, ratings, records

STATUS = {"deleted": "ended"}  # a series removed from the metadata source has ended
BATCH = 100  # ids per query string


class SonarrClient(ArrClient):
    """Sonarr's series (LibraryManager for `show`). A sync costs two requests, GET /series and
    GET /tag: seasons come from the series' own statistics, episodes only from `episodes()`."""

    app_name = "Sonarr"
    media = "show"

    def items(self) -> list[ManagedItem]:
        series = self.get_list(f"{API}/series")
        tags = self.tag_labels()  # after the series: a tag they carry is already listed
        return [self._item(s, tags) for s in series]

    def _item(self, series: Reader, tags: Mapping[int, str]) -> ManagedItem:
        status = series.maybe_text("status")
        # Sonarr's flat `{votes, value}` does not say its source (TheTVDB's, then SkyHook's):
        # it fills no catalog rating; a rating that names its source does
        rated = ratings(series.maybe_child("ratings"), None)
        return ManagedItem(
            instance=self.name,
            arr_id=series.integer("id"),
            media="show",
            title=series.text("title"),
            ids=ExternalIds(
                tvdb=series.integer("tvdbId") or None,
                tmdb=series.maybe_integer("tmdbId") or None,
                imdb=series.maybe_text("imdbId") or None,
            ),
            monitored=series.flag("monitored"),
            size=series.child("statistics").integer("sizeOnDisk"),
            year=series.maybe_integer("year") or None,
            path=series.maybe_text("path"),
            tags=self.labels(series, tags),
            genres=series.maybe_texts("genres"),
            studio=series.maybe_text("network") or None,
            rating_imdb=rated.get("imdb"),
            rating_tmdb=rated.get("tmdb"),
            rating_rt=rated.get("rt"),
            series_status=STATUS.get(status, status) if status else None,
            seasons=tuple(_season(s) for s in series.children("seasons", required=True)),
        )

    def episodes(self, series_id: int) -> list[ManagedEpisode]:
        """One series' episodes with their files, in order. Sonarr answers an unknown series
        with no episodes (not 404), so neither does this."""
        episodes = self.get_list(f"{API}/episode", seriesId=series_id, includeEpisodeFile=True)
        sizes: dict[int, int] = {}
        for episode in episodes:
            episode_file = episode.maybe_child("episodeFile")
            if episode_file is not None:
                sizes[episode_file.integer("id")] = episode_file.integer("size")
        file_ids = {e.maybe_integer("episodeFileId") or 0 for e in episodes} - {0}
        if not file_ids <= sizes.keys():  # Sonarr 3 ignores includeEpisodeFile
            files = self.get_list(f"{API}/episodefile", seriesId=series_id)
            sizes = {f.integer("id"): f.integer("size") for f in files}
        missing = file_ids - sizes.keys()
        if missing:
            raise ServiceError(
                self.name,
                f"GET {API}/episode: series {series_id}: episode file {min(missing)} is not listed",
            )
        result = []
        for episode in episodes:
            file_id = episode.maybe_integer("episodeFileId") or None
            result.append(
                ManagedEpisode(
                    arr_id=episode.integer("id"),
                    season=episode.integer("seasonNumber"),
                    number=episode.integer("episodeNumber"),
                    monitored=episode.flag("monitored"),
                    file_id=file_id,
                    size=sizes[file_id] if file_id else 0,
                )
            )
        return sorted(result, key=lambda e: (e.season, e.number))

    def episodes_many(
        self, series_ids: Iterable[int], concurrency: int = 4
    ) -> dict[int, list[ManagedEpisode]]:
        """`episodes()` of several series, at most `concurrency` requests at a time. The first
        failure cancels what has not started and is raised."""
        ids = list(dict.fromkeys(series_ids))
        pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
        try:
            return dict(zip(ids, pool.map(self.episodes, ids), strict=True))
        finally:
            pool.shutdown(cancel_futures=True)

    def unmonitor_series(self, series_id: int) -> bool:
        """Unmonitor a series (GET, then PUT the whole resource back). False if it is gone."""
        return self.unmonitor_resource(f"{API}/series/{series_id}", lambda series: series)

    def unmonitor_season(self, series_id: int, season: int) -> bool:
        """Unmonitor one season (its episodes follow, as in Sonarr's UI). False if the series or
        the season is gone."""

        def pick(series: dict) -> dict | None:
            seasons = Reader(self.name, f"GET {API}/series/{series_id}", series).children("seasons")
            return next((s.data for s in seasons if s.integer("seasonNumber") == season), None)

        return self.unmonitor_resource(f"{API}/series/{series_id}", pick)

    def unmonitor_episodes(self, episode_ids: Iterable[int]) -> BulkResult:
        """Unmonitor episodes in one request; those Sonarr no longer has are `gone`."""
        ids = list(dict.fromkeys(episode_ids))
        if not ids:
            return BulkResult((), ())
        path = f"{API}/episode/monitor"
        response = self.call(
            "PUT", path, ok=(200, 202), json={"episodeIds": ids, "monitored": False}
        )
        if response is None:  # a lone episode that is gone
            return BulkResult((), tuple(ids))
        found = {e.integer("id") for e in records(self.name, f"PUT {path}", self.body(response))}
        return _split(ids, found)

    def delete_episode_files(self, file_ids: Iterable[int]) -> BulkResult:
        """Delete episode files with the bulk endpoint. The files still there are looked up
        first: Sonarr answers 500 to a bulk delete whose files are all gone."""
        ids = list(dict.fromkeys(file_ids))
        existing: set[int] = set()
        for start in range(0, len(ids), BATCH):
            files = self.get_list(f"{API}/episodefile", episodeFileIds=ids[start : start + BATCH])
            existing |= {f.integer("id") for f in files}
        result = _split(ids, existing)
        if result.done:
            self.call(
                "DELETE",
                f"{API}/episodefile/bulk",
                gone_ok=False,
                json={"episodeFileIds": list(result.done)},
            )
        return result

    def delete_series(
        self, series_id: int, delete_files: bool = True, add_import_list_exclusion: bool = False
    ) -> bool:
        """Remove a series from Sonarr (and its files). False if it was already gone."""
        params = {"deleteFiles": delete_files, "addImportListExclusion": add_import_list_exclusion}
        return self.call("DELETE", f"{API}/series/{series_id}", params=params) is not None

    # the LibraryManager role's actions: a series, one season or one episode

    def _episodes_of(self, target: Target) -> list[ManagedEpisode]:
        return [
            e
            for e in self.episodes(target.arr_id)
            if target.season is None
            or (e.season == target.season and target.episode in (None, e.number))
        ]

    def unmonitor_target(self, target: Target) -> bool:
        if target.type == "show":
            return self.unmonitor_series(target.arr_id)
        if target.type == "season":
            assert target.season is not None
            return self.unmonitor_season(target.arr_id, target.season)
        result = self.unmonitor_episodes(e.arr_id for e in self._episodes_of(target))
        return bool(result.done)

    def delete_target_files(self, target: Target) -> bool:
        files = [e.file_id for e in self._episodes_of(target) if e.file_id is not None]
        return bool(self.delete_episode_files(files).done)

    def remove_target(self, target: Target, import_exclusion: bool) -> bool:
        if target.type != "show":
            raise ValueError("Sonarr removes whole series only")
        return self.delete_series(
            target.arr_id, delete_files=True, add_import_list_exclusion=import_exclusion
        )


def _season(season: Reader) -> ManagedSeason:
    statistics = season.child("statistics")
    return ManagedSeason(
        number=season.integer("seasonNumber"),
        monitored=season.flag("monitored"),
        size=statistics.integer("sizeOnDisk"),
        episode_file_count=statistics.integer("episodeFileCount"),
    )


def _split(ids: list[int], present: set[int]) -> BulkResult:
    return BulkResult(
        tuple(i for i in ids if i in present), tuple(i for i in ids if i not in present)
    )
