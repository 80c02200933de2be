"""A Sonarr (v4, API v3) emulator serving the synthetic library's managed shows."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import falcon

from prunerr.emulation import SyntheticLibrary, json_body
from prunerr_plugins.arr.emulator import (
    RELEASE_GROUP,
    ArrEmulator,
    bad_request,
    clean_title,
    crash,
    is_id_list,
    iso,
    language,
    media_info,
    not_found,
    quality,
    read_body,
    sort_title,
)

if TYPE_CHECKING:
    from prunerr.emulation.synthetic import Show

QUALITIES = {  # resolution -> Sonarr quality id, name, source
    "480p": (8, "WEBDL-480p", "web"),
    "576p": (22, "Bluray-576p", "bluray"),
    "720p": (5, "WEBDL-720p", "web"),
    "1080p": (3, "WEBDL-1080p", "web"),
    "2160p": (18, "WEBDL-2160p", "web"),
}


class SonarrEmulator(ArrEmulator):
    """Series (with season and series statistics kept up to date), episodes, episode files,
    tags and import list exclusions, with the state changes of PUT, POST and DELETE."""

    service = "sonarr"
    app_name = "Sonarr"
    version = "4.0.11.2680"
    root = "/tv"
    tagged = "seriesIds"
    model = "Series"
    external_id = "tvdbId"
    exclusion_param = "addImportListExclusion"
    owner_key = "seriesId"
    file_model = "EpisodeFile"
    file_ids_key = "episodeFileIds"
    exclusions_path = "importlistexclusion"
    app_routes = (
        ("episode", "episodes"),
        ("episode/monitor", "monitor"),
        ("seasonpass", "seasonpass"),
    )
    status_extra: ClassVar[Mapping[str, object]] = {"sqliteVersion": "3.44.2"}
    tag_detail_keys = (
        "delayProfileIds",
        "importListIds",
        "notificationIds",
        "restrictionIds",
        "indexerIds",
        "downloadClientIds",
        "autoTagIds",
    )

    def build(self, library: SyntheticLibrary) -> int:
        self.now = library.now
        tag_ids = {label: i for i, label in library.tags.items()}
        self.series: dict[int, dict] = {}
        self.episodes: dict[int, dict] = {}  # without the embedded file and series
        self.files: dict[int, dict] = {}
        self.series_episodes: dict[int, list[int]] = {}
        self.air: dict[int, tuple[int, int]] = {}  # episode id -> air time, runtime (s)
        self.exclusions: list[dict] = []
        for show in library.shows:
            if show.sonarr_id is not None:
                self._add(show, [tag_ids[t] for t in show.tags])
        return sum(f["size"] for f in self.files.values())

    def _add(self, show: Show, tags: list[int]) -> None:
        sid = show.sonarr_id
        episode_ids = self.series_episodes[sid] = []
        for season in show.seasons:
            for ep in season.episodes:
                name = ep.file.path.rsplit("/", 1)[1]
                self.episodes[ep.sonarr_id] = {
                    "id": ep.sonarr_id,
                    "seriesId": sid,
                    "tvdbId": 7_000_000 + ep.sonarr_id,
                    "episodeFileId": ep.file_id,
                    "seasonNumber": season.number,
                    "episodeNumber": ep.number,
                    "title": ep.title,
                    "airDate": time.strftime("%Y-%m-%d", time.gmtime(ep.air_date)),
                    "airDateUtc": iso(ep.air_date),
                    "runtime": ep.file.runtime_s // 60,
                    "overview": f"Episode {ep.number} of {show.title}.",
                    "hasFile": True,
                    "monitored": ep.monitored,
                    "unverifiedSceneNumbering": False,
                    "endTime": iso(ep.air_date + ep.file.runtime_s),
                }
                self.files[ep.file_id] = {
                    "id": ep.file_id,
                    "seriesId": sid,
                    "seasonNumber": season.number,
                    "relativePath": f"Season {season.number:02d}/{name}",
                    "path": ep.file.path,
                    "size": ep.file.size,
                    "dateAdded": iso(ep.added),
                    "sceneName": name.removesuffix(".mkv").replace(" ", "."),
                    "releaseGroup": RELEASE_GROUP,
                    "languages": [language(show.original_language)],
                    "quality": quality(QUALITIES, ep.file.resolution, modifier=False),
                    "customFormats": [],
                    "customFormatScore": 0,
                    "indexerFlags": 0,
                    "releaseType": "singleEpisode",
                    "mediaInfo": media_info(ep.file),
                    "qualityCutoffNotMet": False,
                }
                self.air[ep.sonarr_id] = (ep.air_date, ep.file.runtime_s)
                episode_ids.append(ep.sonarr_id)
        first_air = min(air for air, _ in (self.air[e] for e in episode_ids))
        runtime = self.air[episode_ids[0]][1] // 60
        self.series[sid] = {
            "id": sid,
            "title": show.title,
            "alternateTitles": [],
            "sortTitle": sort_title(show.title),
            "status": show.status,
            "ended": show.status == "ended",
            "overview": f"A {show.genres[0].lower()} series on {show.network}.",
            "network": show.network,
            "airTime": "21:00",
            "images": [
                {
                    "coverType": "poster",
                    "url": f"/MediaCover/{sid}/poster.jpg",
                    "remoteUrl": f"https://artworks.thetvdb.com/banners/{show.tvdb_id}.jpg",
                }
            ],
            "originalLanguage": language(show.original_language),
            "seasons": [{"seasonNumber": s.number, "monitored": s.monitored} for s in show.seasons],
            "year": show.year,
            "path": f"{self.root}/{show.title}",
            "qualityProfileId": 1,
            "languageProfileId": 1,
            "seasonFolder": True,
            "monitored": show.monitored,
            "monitorNewItems": "all",
            "useSceneNumbering": False,
            "runtime": runtime,
            "tvdbId": show.tvdb_id,
            "tvRageId": 0,
            "tvMazeId": 0,
            "tmdbId": show.tmdb_id,
            "firstAired": iso(first_air),
            "seriesType": "standard",
            "cleanTitle": clean_title(show.title),
            "imdbId": show.imdb_id,
            "titleSlug": "-".join(show.title.lower().split()),
            "rootFolderPath": self.root,
            "certification": show.content_rating,
            "genres": list(show.genres),
            "tags": tags,
            "added": iso(show.added),
            "ratings": {
                "votes": 0 if show.rating is None else 100 + show.index * 7_919 % 90_000,
                "value": show.rating or 0.0,
            },
        }
        self._refresh(sid)

    def _statistics(self, episode_ids: list[int]) -> dict:
        """Sonarr's statistics of some episodes: files, sizes, episodes that count (aired and
        monitored, or with a file) and the previous and next airings."""
        files = size = counted = 0
        aired, upcoming = [], []
        for eid in episode_ids:
            ep = self.episodes[eid]
            air = self.air[eid][0]
            (aired if air <= self.now else upcoming).append(air)
            if ep["episodeFileId"]:
                files += 1
                size += self.files[ep["episodeFileId"]]["size"]
            counted += bool(ep["episodeFileId"] or (ep["monitored"] and air <= self.now))
        stats = {}
        if aired:
            stats["previousAiring"] = iso(max(aired))
        if upcoming:
            stats["nextAiring"] = iso(min(upcoming))
        return {
            **stats,
            "episodeFileCount": files,
            "episodeCount": counted,
            "totalEpisodeCount": len(episode_ids),
            "sizeOnDisk": size,
            "releaseGroups": [RELEASE_GROUP] if files else [],
            "percentOfEpisodes": files / counted * 100 if counted else 0.0,
        }

    def _refresh(self, sid: int) -> None:
        """Recompute a series' season and series statistics after a change."""
        series = self.series[sid]
        by_season: dict[int, list[int]] = {}
        for eid in self.series_episodes[sid]:
            by_season.setdefault(self.episodes[eid]["seasonNumber"], []).append(eid)
        for season in series["seasons"]:
            season["statistics"] = self._statistics(by_season.get(season["seasonNumber"], []))
        stats = self._statistics(self.series_episodes[sid])
        for key in ("previousAiring", "nextAiring"):
            series.pop(key, None)
            if key in stats:
                series[key] = stats.pop(key)
        if series["ended"] and "previousAiring" in series:
            series["lastAired"] = series["previousAiring"]
        seasons = sum(s["seasonNumber"] > 0 for s in series["seasons"])
        series["statistics"] = {"seasonCount": seasons, **stats}
        self.changed(sid)

    def managed_items(self) -> dict[int, dict]:
        return self.series

    def item_files(self, item_id: int) -> list[dict] | None:
        if item_id not in self.series:
            return None
        ids = dict.fromkeys(
            self.episodes[e]["episodeFileId"] for e in self.series_episodes[item_id]
        )
        return [self.files[i] for i in ids if i]

    def edit_valid(self, body: dict) -> bool:
        seasons = body.get("seasons") or []
        return isinstance(seasons, list) and all(
            isinstance(s, dict) and isinstance(s.get("monitored"), bool) for s in seasons
        )

    # state changes, called with self.state held
    def edit_item(self, item_id: int, item: dict, body: dict) -> None:
        """A season whose `monitored` flag changes takes its episodes along."""
        wanted = {s.get("seasonNumber"): s["monitored"] for s in body.get("seasons") or []}
        for season in item["seasons"]:
            monitored = wanted.get(season["seasonNumber"], season["monitored"])
            if monitored != season["monitored"]:
                season["monitored"] = monitored
                self._set_monitored(item_id, season["seasonNumber"], monitored)
        self._refresh(item_id)

    def drop_item(self, item_id: int, delete_files: bool, exclude: bool) -> None:
        series = self.series.pop(item_id)
        for eid in self.series_episodes.pop(item_id):
            episode_file = self.files.pop(self.episodes.pop(eid)["episodeFileId"], None)
            if episode_file and delete_files:
                self.disk_used -= episode_file["size"]
        if exclude and all(e["tvdbId"] != series["tvdbId"] for e in self.exclusions):
            exclusion = {"id": len(self.exclusions) + 1, "tvdbId": series["tvdbId"]}
            self.exclusions.append({**exclusion, "title": series["title"]})
        self.changed(item_id)

    def drop_file(self, file_id: int) -> None:
        episode_file = self.files.pop(file_id)
        sid = episode_file["seriesId"]
        for eid in self.series_episodes[sid]:
            if self.episodes[eid]["episodeFileId"] == file_id:
                self.episodes[eid].update(episodeFileId=0, hasFile=False)
        self.disk_used -= episode_file["size"]
        self._refresh(sid)

    def _set_monitored(self, sid: int, season: int | None, monitored: bool) -> None:
        for eid in self.series_episodes[sid]:
            if season is None or self.episodes[eid]["seasonNumber"] == season:
                self.episodes[eid]["monitored"] = monitored

    # episodes
    def on_get_episodes(self, req: falcon.Request, resp: falcon.Response) -> None:
        sid = req.get_param_as_int("seriesId")
        season = req.get_param_as_int("seasonNumber")
        episode_ids = req.get_param_as_list("episodeIds", transform=int) or []
        file_id = req.get_param_as_int("episodeFileId")
        with_series = req.get_param_as_bool("includeSeries", default=False)
        with_file = req.get_param_as_bool("includeEpisodeFile", default=False)
        with self.state:
            if sid is not None:  # an unknown series has no episodes: an empty list, not 404
                episodes = [
                    self.episodes[e]
                    for e in self.series_episodes.get(sid, [])
                    if season is None or self.episodes[e]["seasonNumber"] == season
                ]
            elif episode_ids:
                episodes = [self.episodes[e] for e in episode_ids if e in self.episodes]
            elif file_id is not None:
                episodes = [e for e in self.episodes.values() if e["episodeFileId"] == file_id]
            else:
                bad_request(resp, "seriesId or episodeIds must be provided")
                return
            json_body(resp, [self._episode(e, with_series, with_file) for e in episodes])

    def _episode(self, episode: dict, with_series: bool, with_file: bool) -> dict:
        extra = {}
        if with_file and episode["episodeFileId"]:
            extra["episodeFile"] = self.files[episode["episodeFileId"]]
        if with_series:
            extra["series"] = self.series[episode["seriesId"]]
        return {**episode, **extra} if extra else episode

    def on_put_monitor(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_body(req)
        ids = body.get("episodeIds") if isinstance(body, dict) else None
        if not is_id_list(ids) or not isinstance(body.get("monitored"), bool):
            bad_request(resp, "Request body can't be empty")
            return
        with self.state:
            if len(ids) == 1 and ids[0] not in self.episodes:
                not_found(resp, "Episode", ids[0])  # the single-episode path looks it up
                return
            episodes = [self.episodes[e] for e in ids if e in self.episodes]
            for episode in episodes:
                episode["monitored"] = body["monitored"]
            for sid in {e["seriesId"] for e in episodes}:
                self._refresh(sid)
            json_body(resp, episodes, 202)

    def on_post_seasonpass(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Season pass: set series and season flags. Episodes follow only with the monitoring
        option `none` (without options Sonarr updates the series alone); other options are not
        emulated."""
        body = read_body(req)
        entries = body.get("series") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), int) for e in entries
        ):
            bad_request(resp, "Request body can't be empty")
            return
        options = body.get("monitoringOptions")
        unmonitor_all = isinstance(options, dict) and options.get("monitor") == "none"
        with self.state:
            if any(e["id"] not in self.series for e in entries):
                crash(resp, "Sequence contains no matching element")  # `.Single()` on the ids
                return
            for entry in entries:
                series = self.series[entry["id"]]
                if isinstance(entry.get("monitored"), bool):
                    series["monitored"] = entry["monitored"]
                wanted = {
                    s.get("seasonNumber"): s.get("monitored")
                    for s in entry.get("seasons") or []
                    if isinstance(s, dict)
                }
                for season in series["seasons"]:
                    if isinstance(wanted.get(season["seasonNumber"]), bool):
                        season["monitored"] = wanted[season["seasonNumber"]]
                if unmonitor_all:
                    series["monitored"] = False
                    for season in series["seasons"]:
                        season["monitored"] = False
                    self._set_monitored(entry["id"], None, False)
                self._refresh(entry["id"])
        json_body(resp, {}, 202)
