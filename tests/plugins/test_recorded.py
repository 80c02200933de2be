"""The clients' parsers against real upstream answers recorded by other projects' test suites
(tests/fixtures/recorded/, sources in tests/fixtures/SOURCES.md). Every expected value is read
by hand from the recording; what a recording does not say must come out unknown."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from prunerr.sdk import Account, ExternalIds, MediaFile, MediaRequest, ServiceError
from prunerr_plugins.arr import API
from prunerr_plugins.plex.client import media_container, server_item
from prunerr_plugins.radarr.client import RadarrClient
from prunerr_plugins.seerr.client import SeerrClient
from prunerr_plugins.sonarr.client import SonarrClient
from prunerr_plugins.tautulli.client import TautulliClient
from tests.plugins import arr_common
from tests.plugins.plex_xml import xml_container

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fixtures"


def recorded_json(name: str):
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def plex_items(name: str) -> dict[str, dict]:
    """A recorded PMS XML answer in the JSON shape the client reads, its items by ratingKey."""
    text = (RECORDED / "plex" / name).read_text(encoding="utf-8")
    container = media_container({"MediaContainer": xml_container(text)})
    return {meta["ratingKey"]: meta for meta in container["Metadata"]}


# --- Plex: a 2016 PMS movie listing (coryo/plexdevices) ----------------------------------------

NO_STREAMS = {"hdr", "original_language"}  # a listing carries no Stream elements


def test_recorded_movies_without_a_guid_have_no_ids_and_read_their_files():
    """PMS listed these movies with no `guid` attribute at all: no agent names an id, so the
    ids are none, not guessed. Each Media's Part is a file with its size and path."""
    movies = plex_items("plexdevices_movies.xml")
    confirmation = server_item(movies["53945"], "2", "movie")
    assert confirmation.ids == ExternalIds()
    assert (confirmation.title, confirmation.year) == ("Confirmation", 2016)
    assert (confirmation.added, confirmation.updated) == (1461184129.0, 1461391829.0)
    assert confirmation.files == (
        MediaFile(
            path="/movies/Confirmation (2016)/Confirmation.mkv",
            size=2664781625,
            resolution="720p",
            height=718,
            video_codec="h264",
            audio_codec="ac3",
            hdr=None,
            bitrate_kbps=3240,
            runtime_s=6580,
        ),
    )
    assert confirmation.genres == ("Drama", "History")
    # no studio or contentRating attribute, no Streams: unknown, not "none"
    assert confirmation.unread == {"studio", "content_rating", *NO_STREAMS}
    assert (confirmation.studio, confirmation.content_rating) == (None, None)
    assert confirmation.original_language is None

    deadpool = server_item(movies["55712"], "2", "movie")
    assert deadpool.unread == NO_STREAMS
    assert (deadpool.studio, deadpool.content_rating) == (
        "Twentieth Century Fox Film Corporation",
        "R",
    )
    assert [(f.size, f.resolution, f.audio_codec) for f in deadpool.files] == [
        (3428181331, "720p", "aac")
    ]


def test_recorded_sd_media_is_480p():
    [hateful_eight] = server_item(plex_items("plexdevices_movies.xml")["32301"], "2", "movie").files
    assert (hateful_eight.resolution, hateful_eight.height) == ("480p", 260)
    assert (hateful_eight.size, hateful_eight.runtime_s) == (1047112090, 10068)
    assert hateful_eight.path == "/movies/Hateful Eight, The (2016)/The Hateful Eight.mkv"


def test_recorded_movie_with_two_media_lists_both_files_the_largest_first():
    """The Revenant has a 720p and an SD version; the 720p one (the larger) is the main file,
    and the fields read from it are all known."""
    revenant = server_item(plex_items("plexdevices_movies.xml")["32730"], "2", "movie")
    assert revenant.files == (
        MediaFile(
            "/movies/Revenant, The (2015)/The Revenant.mkv",
            8216194081,
            "720p",
            536,
            "h264",
            "dca",
            None,
            7006,
            9381,
        ),
        MediaFile(
            "/movies/The.Revenant.mkv", 2329914112, "480p", 300, "h264", "ac3", None, 1987, 9381
        ),
    )
    assert revenant.unread == NO_STREAMS


@pytest.mark.parametrize(
    ("key", "rt", "rt_audience"),
    [
        ("53945", None, None),  # rating="6.4" with no ratingImage: its source is not stated
        ("55712", None, 92.0),  # audienceRating 9.2, upright
        ("32730", None, 85.0),  # ratingImage="" beside rating 7.2; audienceRating 8.5, upright
        ("46175", None, 56.0),  # audienceRating 5.6, spilled
        ("34427", 63.0, None),  # rating 6.3, ripe; an audience image without audienceRating
        ("34469", 55.0, None),  # rating 5.5, rotten; an audience image without audienceRating
    ],
)
def test_recorded_rotten_tomatoes_ratings_are_read_by_their_image(key, rt, rt_audience):
    movie = server_item(plex_items("plexdevices_movies.xml")[key], "2", "movie")
    assert (movie.rating_rt, movie.rating_rt_audience) == (rt, rt_audience)
    assert (movie.rating_imdb, movie.rating_tmdb) == (None, None)


# --- Plex: a 2016 PMS hub of a TheTVDB-agent show and its episodes (coryo/plexdevices) ------


def test_recorded_thetvdb_show_and_episode_name_the_show_s_tvdb_id():
    items = plex_items("plexdevices_hub_tv.xml")
    show = server_item(items["1389"], "1", "show")
    assert show.ids == ExternalIds(tvdb=71663)
    assert (show.title, show.year, show.studio, show.content_rating) == (
        "The Simpsons",
        1989,
        "FOX (US)",
        "TV-PG",
    )
    assert show.genres == ("Animation", "Comedy")
    assert show.files == () and show.unread == frozenset()
    assert show.rating_imdb is None  # rating="8.9" with no ratingImage

    episode = server_item(items["33237"], "1", "episode")
    assert episode.ids == ExternalIds(tvdb=71663)  # thetvdb://71663/27/11: the show's id
    assert (episode.parent_key, episode.grandparent_key, episode.index) == ("26272", "1389", 11)
    assert episode.files == (
        MediaFile(
            "/tv/The Simpsons/Season 27/The.Simpsons.S27E11.Teenage.Mutant.Milk-caused.Hurdles"
            ".HDTV-720p.mkv",
            473157815,
            "720p",
            718,
            "h264",
            "ac3",
            "none",  # a bt709 video Stream with no HDR transfer
            3007,
            1259,
        ),
    )
    # the default audio Stream has no language: the language is unknown, not ""
    assert episode.original_language is None
    assert episode.unread == {"studio", "original_language"}


def test_recorded_episode_without_a_guid_has_no_ids_but_its_parents():
    episode = server_item(plex_items("plexdevices_hub_tv.xml")["50373"], "1", "episode")
    assert episode.ids == ExternalIds()
    assert (episode.parent_key, episode.grandparent_key, episode.index) == ("50357", "1389", 20)
    assert [(f.size, f.resolution, f.runtime_s) for f in episode.files] == [
        (300207640, "480p", 1380)
    ]
    assert episode.files[0].path == (
        "/tv/Simpsonians/The.Simpsons.S02/02x20.The War Of The Simpsons.x264.ac3.mkv"
    )
    assert episode.unread == {"studio", *NO_STREAMS}


# --- Radarr ------------------------------------------------------------------------------------


def radarr_items(movies: list[dict]):
    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"{API}/tag":
            return httpx.Response(200, json=[])
        assert request.url.path == f"{API}/movie"
        return httpx.Response(200, json=movies)

    return arr_common.fake_upstream_client(RadarrClient, upstream).items()


def test_recorded_radarr_movies_with_and_without_a_file():
    """Home Assistant's Radarr listing: a movie with its file, and `hasFile: false` with a
    `sizeOnDisk` of 0 (a known 0: Radarr has no file). Neither lists tags or ratings."""
    matrix, inception = radarr_items(recorded_json("radarr/ha_movies.json"))
    assert (matrix.arr_id, matrix.title, matrix.year) == (1, "The Matrix", 1999)
    assert matrix.ids == ExternalIds(tmdb=603, imdb="tt0133093")
    assert (matrix.size, matrix.monitored, matrix.path) == (
        8589934592,
        True,
        "/movies/The Matrix (1999)",
    )
    assert (inception.size, inception.ids) == (0, ExternalIds(tmdb=27205, imdb="tt1375666"))
    for movie in (matrix, inception):
        assert movie.tags is None  # not listed: unknown, never "no keep tag"
        assert (movie.rating_imdb, movie.rating_tmdb, movie.rating_rt) == (None, None, None)
        assert (movie.studio, movie.collection) == (None, None)


def test_recorded_radarr_movie_without_genres_has_unknown_genres():
    matrix, _ = radarr_items(recorded_json("radarr/ha_movies.json"))
    assert matrix.genres is None


# --- Sonarr ------------------------------------------------------------------------------------


def test_recorded_sonarr_series_with_season_statistics_and_a_windows_path():
    """Home Assistant's Sonarr v3 series: a Windows path, the flat `{votes, value}` rating
    (its source unstated, so no catalog rating), and per-season statistics. The series'
    own statistics say 0 bytes although season 3 says 8 GB (as recorded): each is read as
    said."""
    bodies = {f"{API}/series": recorded_json("sonarr/ha_series.json"), f"{API}/tag": []}
    client = arr_common.fake_upstream_client(SonarrClient, arr_common.json_by_path(bodies))
    [series] = client.items()
    assert (series.arr_id, series.title, series.year) == (105, "The Andy Griffith Show", 1960)
    assert series.ids == ExternalIds(tvdb=77754, imdb="tt0053479")
    assert series.path == "F:\\The Andy Griffith Show"
    assert (series.series_status, series.studio, series.monitored) == ("ended", "CBS", True)
    assert (series.tags, series.genres, series.size) == ((), ("Comedy",), 0)
    assert (series.rating_imdb, series.rating_tmdb, series.rating_rt) == (None, None, None)
    assert [s.number for s in series.seasons] == list(range(9))
    season_3, season_8 = series.seasons[3], series.seasons[8]
    assert (season_3.size, season_3.episode_file_count, season_3.monitored) == (
        8000000000,
        8,
        False,
    )
    assert (season_8.size, season_8.episode_file_count, season_8.monitored) == (0, 0, True)


def test_recorded_sonarr_episode_whose_file_is_not_listed_is_an_error_not_a_0_byte_file():
    """Home Assistant's episodes: episode 1002 names file 5001 with no `episodeFile` (Sonarr 3
    ignores includeEpisodeFile), so the files are listed; a listing without 5001 is an
    error."""
    asked = []

    def upstream(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.path, request.url.params.get("seriesId")))
        if request.url.path == f"{API}/episode":
            return httpx.Response(200, json=recorded_json("sonarr/ha_episodes.json"))
        return httpx.Response(200, json=[])

    client = arr_common.fake_upstream_client(SonarrClient, upstream)
    with pytest.raises(ServiceError, match="series 105: episode file 5001 is not listed"):
        client.episodes(105)
    assert asked == [(f"{API}/episode", "105"), (f"{API}/episodefile", "105")]


# --- Seerr / Overseerr -------------------------------------------------------------------------


def seerr_requests(page: dict) -> list[MediaRequest]:
    """The requests of one recorded page, served as the whole listing (its `pageInfo.results`
    counts the recorded results only)."""
    body = {**page, "pageInfo": {**page["pageInfo"], "results": len(page["results"])}}

    def upstream(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/request"
        return httpx.Response(200, json=body)

    client = SeerrClient("seerr", "http://seerr", "key", transport=httpx.MockTransport(upstream))
    return list(client.requests())


def test_recorded_overseerr_requests_of_a_movie_and_a_show():
    """Home Assistant's Overseerr page: a movie known by TMDb alone (`tvdbId` and `imdbId`
    null) and a show by TMDb and TheTVDB, both approved, by a Plex user."""
    movie, show = seerr_requests(recorded_json("seerr/ha_overseerr_requests.json"))
    assert movie == MediaRequest(
        request_id=16,
        media_id=537,
        media="movie",
        ids=ExternalIds(tmdb=1156593),
        requested_by="somebody",
        requested_at=1735466656.0,  # 2024-12-29T10:04:16.000Z
        status="approved",
    )
    assert show == MediaRequest(
        request_id=14,
        media_id=535,
        media="show",
        ids=ExternalIds(tmdb=249522, tvdb=447806),
        requested_by="somebody",
        requested_at=1735223850.0,  # 2024-12-26T14:37:30.000Z
        status="approved",
    )


def test_recorded_seerr_requests_of_users_without_a_plex_name():
    """python-overseerr's Seerr page (tests/fixtures/fixtures/): requesters with no Plex
    username go by their display name; COMPLETED (5) is approved."""
    page = json.loads((FIXTURES / "python-overseerr/seerr/request.json").read_text())
    requests = {r.request_id: r for r in seerr_requests(page)}
    assert sorted(requests) == list(range(53, 63))
    assert requests[62] == MediaRequest(
        62,
        189,
        "show",
        ExternalIds(tmdb=113710, tvdb=392076),
        "anotheruser",
        1770635333.0,
        "approved",
    )  # 2026-02-09T11:08:53.000Z
    assert requests[55].ids == ExternalIds(tmdb=583, imdb="tt0079470")
    assert (requests[55].media, requests[55].requested_by, requests[55].status) == (
        "movie",
        "someone",
        "approved",
    )


# --- Tautulli ----------------------------------------------------------------------------------


def test_recorded_tautulli_users_are_accounts_and_an_empty_email_is_none():
    body = recorded_json("tautulli/ha_get_users.json")

    def upstream(request: httpx.Request) -> httpx.Response:
        assert request.url.params["cmd"] == "get_users"
        return httpx.Response(200, json=body)

    client = TautulliClient("tautulli", "http://t", "key", transport=httpx.MockTransport(upstream))
    assert client.accounts() == [
        Account("11111111", "user1", "test@email.com"),
        Account("22222222", "user2", None),
    ]
