"""The Sonarr plugin against its emulator over real HTTP: the emulator speaks Sonarr's API (spec,
recorded shapes, auth, errors, statistics that follow state changes) and the client turns it into
exact records without per-series calls in a sync."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from functools import partial
from pathlib import Path

import httpx
import pytest

from prunerr.emulation import Faults, generate
from prunerr.sdk import ManagedEpisode, ServiceError
from prunerr_plugins.arr.client import BulkResult
from prunerr_plugins.sonarr.client import SonarrClient
from prunerr_plugins.sonarr.emulator import SonarrEmulator
from tests.plugins import arr_common
from tests.plugins.arr_common import API, KEY, get, send
from tests.plugins.openapi import assert_like_fixture, assert_matches_spec, fixtures_dir

pytestmark = pytest.mark.slow


SPEC = "sonarr-v3-openapi.json"

library, served, emulator = arr_common.emulator_fixtures(SonarrEmulator)
client_for = partial(arr_common.arr_client, SonarrClient)


def managed(library):
    return [s for s in library.shows if s.sonarr_id is not None]


def aired(show, library) -> bool:
    return all(any(e.air_date <= library.now for e in s.episodes) for s in show.seasons)


# --- contract -------------------------------------------------------------------------------


def test_every_json_endpoint_matches_the_sonarr_spec(emulator, library):
    show, gone = managed(library)[:2]
    send(emulator, "DELETE", f"{API}/series/{gone.sonarr_id}", addImportListExclusion="true")
    episode = show.seasons[0].episodes[0]
    with_all = {"includeEpisodeFile": "true", "includeSeries": "true"}
    season = show.seasons[0].number
    arr_common.assert_endpoints_match_spec(
        emulator,
        SPEC,
        (
            ("/series", {}),
            (f"/series/{show.sonarr_id}", {}),
            ("/series", {"tvdbId": show.tvdb_id}),
            ("/episode", {"seriesId": show.sonarr_id}),
            ("/episode", {"seriesId": show.sonarr_id, "seasonNumber": season, **with_all}),
            ("/episode", {"episodeIds": [episode.sonarr_id], **with_all}),
            ("/episodefile", {"seriesId": show.sonarr_id}),
            ("/episodefile", {"episodeFileIds": [episode.file_id]}),
            (f"/episodefile/{episode.file_id}", {}),
            ("/importlistexclusion", {}),
        ),
    )


def test_writes_answer_202_with_resources_that_match_the_spec(emulator, library):
    show = managed(library)[0]
    series = get(emulator, f"{API}/series/{show.sonarr_id}").json()
    put = send(emulator, "PUT", f"{API}/series/{show.sonarr_id}", {**series, "monitored": False})
    assert put.status_code == 202
    assert_matches_spec(SPEC, f"{API}/series/{show.sonarr_id}", put.json(), "PUT")
    ids = [e.sonarr_id for e in show.seasons[0].episodes]
    monitor = send(
        emulator, "PUT", f"{API}/episode/monitor", {"episodeIds": ids, "monitored": False}
    )
    assert monitor.status_code == 202 and len(monitor.json()) == len(ids)
    assert_matches_spec(SPEC, f"{API}/episode", monitor.json())  # the spec leaves it untyped
    season_pass = send(
        emulator,
        "POST",
        f"{API}/seasonpass",
        {"series": [{"id": show.sonarr_id, "monitored": True}]},
    )
    assert (season_pass.status_code, season_pass.json()) == (202, {})


def test_resources_have_the_fields_of_recorded_sonarr_responses(served, library):
    show = next(s for s in managed(library) if aired(s, library))
    series = get(served, f"{API}/series/{show.sonarr_id}").json()
    assert_like_fixture("pyarr-legacy/sonarr/series.json", series, SPEC, f"{API}/series/1")
    assert_like_fixture("aiopyarr/sonarr/series.json", series, SPEC, f"{API}/series/1")
    listing = [s for s in get(served, f"{API}/series").json() if s["id"] == show.sonarr_id]
    assert_like_fixture("pyarr-legacy/sonarr/series_all.json", listing, SPEC, f"{API}/series")
    episode = show.seasons[0].episodes[0]
    full = get(
        served,
        f"{API}/episode",
        episodeIds=episode.sonarr_id,
        includeSeries="true",
        includeEpisodeFile="true",
    ).json()[0]
    skip = ("absoluteEpisodeNumber",)  # anime only
    for fixture in ("pyarr-legacy/sonarr/episode.json", "aiopyarr/sonarr/episode.json"):
        assert_like_fixture(fixture, full, SPEC, f"{API}/episode", skip)
    episodes = get(served, f"{API}/episode", seriesId=show.sonarr_id).json()
    assert_like_fixture(
        "pyarr-legacy/sonarr/episode_series.json",
        episodes,
        SPEC,
        f"{API}/episode",
        ("[].absoluteEpisodeNumber",),
    )
    episode_file = get(served, f"{API}/episodefile/{episode.file_id}").json()
    for fixture in ("pyarr-legacy/sonarr/episodefile.json", "aiopyarr/sonarr/episodefile.json"):
        assert_like_fixture(fixture, episode_file, SPEC, f"{API}/episodefile/1")
    files = get(served, f"{API}/episodefile", seriesId=show.sonarr_id).json()
    assert_like_fixture(
        "pyarr-legacy/sonarr/episodefile_series.json", files, SPEC, f"{API}/episodefile"
    )
    arr_common.assert_like_recorded(
        served,
        SPEC,
        (
            ("pyarr-legacy/sonarr/tag_detail.json", "/tag/detail", True),
            ("pyarr-legacy/sonarr/tag_all.json", "/tag", False),
            ("pyarr-legacy/sonarr/system_status.json", "/system/status", False),
            ("pyarr-legacy/sonarr/diskspace.json", "/diskspace", False),
            ("pyarr-legacy/sonarr/rootfolder.json", "/rootfolder", True),
        ),
    )


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers, params", arr_common.WRONG_KEYS)
def test_a_missing_or_wrong_key_is_401_with_an_empty_body(served, headers, params):
    arr_common.assert_refused(served, "/series", headers, params)


def test_health_reports_sonarr_and_its_version(served):
    health = client_for(served).health()
    assert health.ok and health.message == f"Sonarr {SonarrEmulator.version}"


# --- listing --------------------------------------------------------------------------------


def test_items_match_the_synthetic_library():
    library = generate("S", seed=5)
    with SonarrEmulator(library, KEY) as emulator:
        items = {item.arr_id: item for item in client_for(emulator).items()}
    shows = managed(library)
    assert sorted(items) == sorted(s.sonarr_id for s in shows)  # unmanaged shows are absent
    for show in shows:
        item = items[show.sonarr_id]
        assert (item.instance, item.media, item.title, item.year) == (
            "sonarr",
            "show",
            show.title,
            show.year,
        )
        assert (item.ids.tvdb, item.ids.tmdb, item.ids.imdb) == (
            show.tvdb_id,
            show.tmdb_id,
            show.imdb_id,
        )
        assert (item.monitored, item.tags, item.genres) == (show.monitored, show.tags, show.genres)
        assert (item.studio, item.series_status) == (show.network, show.status)
        assert item.size == sum(e.file.size for e in show.episodes)
        assert item.path == f"/tv/{show.title}" and item.episodes == ()
        assert [(s.number, s.monitored, s.size, s.episode_file_count) for s in item.seasons] == [
            (s.number, s.monitored, sum(e.file.size for e in s.episodes), len(s.episodes))
            for s in show.seasons
        ]


def test_a_listing_costs_two_requests_and_ignores_paging(served, library):
    """Sonarr does not page /series, and seasons come with it: no per-series calls."""
    assert len(get(served, f"{API}/series", page=2, pageSize=2).json()) == len(managed(library))
    assert arr_common.listing_requests(client_for, served) == Counter(
        {("GET", f"{API}/series"): 1, ("GET", f"{API}/tag"): 1}
    )


def test_an_m_library_is_built_and_synced_in_two_requests():
    library = generate("M")
    items = arr_common.listed_quickly(client_for, SonarrEmulator, library, listing_s=5)
    assert len(items) == len(managed(library)) > 900


def test_episodes_match_the_synthetic_library(served, library):
    show = managed(library)[1]
    assert client_for(served).episodes(show.sonarr_id) == [
        ManagedEpisode(e.sonarr_id, s.number, e.number, e.monitored, e.file_id, e.file.size)
        for s in show.seasons
        for e in s.episodes
    ]
    assert client_for(served).episodes(999_999) == []  # what Sonarr answers


def test_episodes_of_several_series_run_at_most_concurrency_requests_at_a_time(library):
    class Gauged(SonarrEmulator):
        def on_get_episodes(self, req, resp):
            with gauge:
                active.append(1)
                peak[0] = max(peak[0], len(active))
            try:
                time.sleep(0.02)  # long enough for requests to overlap
                super().on_get_episodes(req, resp)
            finally:
                with gauge:
                    active.pop()

    gauge, active, peak = threading.Lock(), [], [0]
    ids = [s.sonarr_id for s in managed(library)]
    with Gauged(library, KEY) as emulator:
        client = client_for(emulator)
        many = client.episodes_many(ids * 2, concurrency=3)
        assert emulator.requests[("GET", f"{API}/episode")] == len(ids)  # duplicates once
        assert many == {i: client.episodes(i) for i in ids}
    assert 1 < peak[0] <= 3


def test_episodes_of_several_series_fail_whole_never_partly(emulator, library):
    ids = [s.sonarr_id for s in managed(library)]
    emulator.faults = Faults(error_rate=1.0, path_pattern="/episode$")
    with pytest.raises(ServiceError, match=rf"GET {API}/episode at http://\S+: .*\(HTTP 50\d\)"):
        client_for(emulator, retries=1).episodes_many(ids)


def test_the_client_reads_recorded_sonarr_responses():
    """Sonarr 3 shapes: placeholder series, and episodes without their embedded file (it ignores
    includeEpisodeFile), whose sizes come from /episodefile."""

    def recorded(name):
        return json.loads((fixtures_dir() / "pyarr-legacy/sonarr" / name).read_text())

    bodies = {
        f"{API}/series": recorded("series_all.json"),
        f"{API}/tag": [{"id": 0, "label": "x"}],
        f"{API}/episode": recorded("episode_series.json"),
        f"{API}/episodefile": recorded("episodefile_series.json"),
    }
    client = arr_common.fake_upstream_client(SonarrClient, arr_common.json_by_path(bodies))
    first = client.items()[0]
    assert (first.tags, first.size, first.year, first.series_status) == (("x",), 0, None, "string")
    assert [(s.number, s.size) for s in first.seasons] == [(0, 0)]
    assert [(e.file_id, e.size) for e in client.episodes(1)] == [(1, 1844044894), (2, 1844044894)]


@pytest.mark.parametrize(
    "series, problem",
    [
        ({"id": 1, "title": "x", "tvdbId": 1, "monitored": True, "tags": []}, "'statistics'"),
        (
            {
                "id": 1,
                "title": "x",
                "tvdbId": 1,
                "monitored": True,
                "tags": [],
                "statistics": {"sizeOnDisk": 1},
                "seasons": [{"seasonNumber": 1, "monitored": True}],
            },
            r"seasons\[0\]: 'statistics'",
        ),
    ],
)
def test_bad_upstream_data_is_a_service_error_naming_the_call(series, problem):
    client = arr_common.fake_upstream_client(
        SonarrClient,
        lambda request: httpx.Response(200, json=[] if "tag" in request.url.path else [series]),
    )
    with pytest.raises(ServiceError, match=f"GET {API}/series.*{problem}"):
        client.items()


# --- faults ---------------------------------------------------------------------------------


# --- state changes --------------------------------------------------------------------------


def test_unmonitor_series_puts_the_whole_series_back(emulator, library):
    show = next(s for s in managed(library) if s.monitored)
    before = get(emulator, f"{API}/series/{show.sonarr_id}").json()
    client = client_for(emulator)
    assert client.unmonitor_series(show.sonarr_id) is True
    assert get(emulator, f"{API}/series/{show.sonarr_id}").json() == {**before, "monitored": False}
    emulator.reset_counts()
    assert client.unmonitor_series(show.sonarr_id) is True  # already: no PUT
    assert emulator.request_total == 1
    assert client.unmonitor_series(999_999) is False


def test_unmonitor_season_takes_its_episodes_along(emulator, library):
    show = next(s for s in managed(library) if len(s.seasons) > 1 and s.seasons[0].monitored)
    season, other = show.seasons[0], show.seasons[1]
    client = client_for(emulator)
    assert client.unmonitor_season(show.sonarr_id, season.number) is True
    item = next(i for i in client.items() if i.arr_id == show.sonarr_id)
    assert [s.monitored for s in item.seasons[:2]] == [False, other.monitored]
    episodes = client.episodes(show.sonarr_id)
    assert not any(e.monitored for e in episodes if e.season == season.number)
    assert [e.monitored for e in episodes if e.season == other.number] == [
        e.monitored for e in other.episodes
    ]
    assert client.unmonitor_season(show.sonarr_id, 99) is False
    assert client.unmonitor_season(999_999, 1) is False


def test_unmonitor_episodes_reports_those_already_gone(emulator, library):
    show = managed(library)[0]
    ids = [e.sonarr_id for e in show.seasons[0].episodes[:3]]
    client = client_for(emulator)
    assert client.unmonitor_episodes([*ids, 999_999]) == BulkResult(tuple(ids), (999_999,))
    assert not any(e.monitored for e in client.episodes(show.sonarr_id) if e.arr_id in ids)
    assert client.unmonitor_episodes([999_998]) == BulkResult((), (999_998,))  # a 404
    assert client.unmonitor_episodes([]) == BulkResult((), ())


def test_deleting_episode_files_updates_episodes_and_statistics(emulator, library):
    show = managed(library)[0]
    season = show.seasons[0]
    doomed = season.episodes[:2]
    client = client_for(emulator)
    result = client.delete_episode_files([e.file_id for e in doomed] + [999_999])
    assert result == BulkResult(tuple(e.file_id for e in doomed), (999_999,))
    freed = sum(e.file.size for e in doomed)
    item = next(i for i in client.items() if i.arr_id == show.sonarr_id)
    assert item.size == sum(e.file.size for e in show.episodes) - freed
    assert (item.seasons[0].size, item.seasons[0].episode_file_count) == (
        sum(e.file.size for e in season.episodes) - freed,
        len(season.episodes) - 2,
    )
    episodes = {e.arr_id: e for e in client.episodes(show.sonarr_id)}
    assert all(
        (episodes[e.sonarr_id].file_id, episodes[e.sonarr_id].size) == (None, 0) for e in doomed
    )
    episode = get(emulator, f"{API}/episode", episodeIds=doomed[0].sonarr_id).json()[0]
    assert (episode["hasFile"], episode["episodeFileId"]) == (False, 0)
    emulator.reset_counts()
    again = client.delete_episode_files([e.file_id for e in doomed])
    assert again == BulkResult((), tuple(e.file_id for e in doomed))
    assert emulator.requests == Counter({("GET", f"{API}/episodefile"): 1})  # no bulk DELETE


def test_delete_series_removes_everything_and_can_exclude_it(emulator, library):
    show = (
        next(s for s in managed(library) if s.tags)
        if any(s.tags for s in managed(library))
        else managed(library)[0]
    )
    free = get(emulator, f"{API}/rootfolder").json()[0]["freeSpace"]
    client = client_for(emulator)
    assert client.delete_series(show.sonarr_id, add_import_list_exclusion=True) is True
    assert get(emulator, f"{API}/series/{show.sonarr_id}").status_code == 404
    assert show.sonarr_id not in {i.arr_id for i in client.items()}
    assert client.episodes(show.sonarr_id) == []
    assert get(emulator, f"{API}/episodefile", seriesId=show.sonarr_id).json()["message"] == (
        f"Series with ID {show.sonarr_id} does not exist"
    )
    assert [
        (e["tvdbId"], e["title"]) for e in get(emulator, f"{API}/importlistexclusion").json()
    ] == [(show.tvdb_id, show.title)]
    assert get(emulator, f"{API}/rootfolder").json()[0]["freeSpace"] == free + sum(
        e.file.size for e in show.episodes
    )
    assert all(
        show.sonarr_id not in t["seriesIds"] for t in get(emulator, f"{API}/tag/detail").json()
    )
    assert client.delete_series(show.sonarr_id) is False  # already gone


def test_unknown_ids_and_bad_requests_answer_sonarrs_shapes(served):
    bare = get(served, f"{API}/episode")
    assert (bare.status_code, bare.json()) == (
        400,
        {"message": "seriesId or episodeIds must be provided"},
    )
    assert get(served, f"{API}/episodefile").json() == {
        "message": "seriesId or episodeFileIds must be provided"
    }
    assert (
        get(served, f"{API}/series/999999").status_code,
        get(served, f"{API}/series/999999").content,
    ) == (404, b"")
    deleted = send(served, "DELETE", f"{API}/series/999999")
    assert deleted.status_code == 404
    assert deleted.json()["message"] == "Series with ID 999999 does not exist"
    assert send(served, "DELETE", f"{API}/episodefile/999999").json()["message"] == (
        "EpisodeFile with ID 999999 does not exist"
    )
    assert send(
        served, "PUT", f"{API}/episode/monitor", {"episodeIds": [999999], "monitored": False}
    ).json()["message"] == ("Episode with ID 999999 does not exist")
    assert (
        send(served, "DELETE", f"{API}/episodefile/bulk", {"episodeFileIds": [999999]}).status_code
        == 500
    )  # `.First()` on no files
    assert (
        send(served, "POST", f"{API}/seasonpass", {"series": [{"id": 999999}]}).status_code == 500
    )  # `.Single()`
    partial = send(served, "PUT", f"{API}/series/1", {"monitored": False})
    assert partial.status_code == 400 and partial.json()[0]["propertyName"] == "Path"


def test_season_pass_with_monitor_none_unmonitors_everything(emulator, library):
    show = managed(library)[0]
    send(
        emulator,
        "POST",
        f"{API}/seasonpass",
        {"series": [{"id": show.sonarr_id}], "monitoringOptions": {"monitor": "none"}},
    )
    client = client_for(emulator)
    item = next(i for i in client.items() if i.arr_id == show.sonarr_id)
    assert not item.monitored and not any(s.monitored for s in item.seasons)
    assert not any(e.monitored for e in client.episodes(show.sonarr_id))


# --- plugin wiring --------------------------------------------------------------------------


def test_the_plugin_configures_sonarr_from_the_environment(served):
    service, _ = arr_common.configured_service(served)
    assert isinstance(service, SonarrClient) and service.media == "show"
    assert service.health().ok and KEY not in repr(service)


# --- what a series does not say --------------------------------------------------------------

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "sonarr"


def recorded_series(**changes) -> dict:
    """pyarr's recorded Sonarr series, with `changes` (None drops a key)."""
    series = {**json.loads((RECORDED / "series.json").read_text()), **changes}
    return {k: v for k, v in series.items() if v is not None}


def listed(series: dict):
    bodies = {f"{API}/series": [series], f"{API}/tag": [{"id": 0, "label": "keep"}]}
    client = arr_common.fake_upstream_client(SonarrClient, arr_common.json_by_path(bodies))
    [item] = client.items()
    return item


def test_a_series_listed_without_its_tags_has_unknown_tags_not_none():
    assert listed(recorded_series()).tags == ("keep",)
    assert listed(recorded_series(tags=None)).tags is None


def test_a_series_listed_without_its_seasons_is_an_error_not_a_series_without_seasons():
    """Seasons missing would read as "no season is managed", a known null for each."""
    with pytest.raises(ServiceError, match="'seasons' is missing"):
        listed(recorded_series(seasons=None))


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        ("recorded", (None, None, None)),  # flat, of no stated source
        ({"votes": 547, "value": 8.6}, (None, None, None)),
        (
            {
                "imdb": {"votes": 2_100_000, "value": 9.5, "type": "user"},
                "tmdb": {"votes": 15_000, "value": 8.9, "type": "user"},
            },
            (9.5, 8.9, None),
        ),
    ],
    ids=["recorded-flat", "flat", "by-source"],
)
def test_sonarr_ratings_are_read_and_fill_only_the_fields_of_sources_they_name(ratings, expected):
    series = recorded_series() if ratings == "recorded" else recorded_series(ratings=ratings)
    item = listed(series)
    assert (item.rating_imdb, item.rating_tmdb, item.rating_rt) == expected
