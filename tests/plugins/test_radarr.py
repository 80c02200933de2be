"""The Radarr plugin against its emulator over real HTTP: the emulator speaks Radarr's API (spec,
recorded shapes, auth, errors, state changes) and the client turns it into exact records."""

from __future__ import annotations

import json
from collections import Counter
from functools import partial
from pathlib import Path

import httpx
import pytest

from prunerr.emulation import Faults, generate
from prunerr.sdk import ServiceError
from prunerr_plugins.radarr.client import RadarrClient
from prunerr_plugins.radarr.emulator import RadarrEmulator
from tests.plugins import arr_common
from tests.plugins.arr_common import API, KEY, get, send
from tests.plugins.openapi import assert_like_fixture, assert_matches_spec, fixtures_dir

pytestmark = pytest.mark.slow


SPEC = "radarr-v3-openapi.json"

library, served, emulator = arr_common.emulator_fixtures(RadarrEmulator)
client_for = partial(arr_common.arr_client, RadarrClient)


def managed(library):
    return [m for m in library.movies if m.radarr_id is not None]


# --- contract -------------------------------------------------------------------------------


def test_every_json_endpoint_matches_the_radarr_spec(emulator, library):
    movie = managed(library)[0]
    send(
        emulator,
        "DELETE",
        f"{API}/movie/{managed(library)[1].radarr_id}",
        addImportExclusion="true",
    )
    arr_common.assert_endpoints_match_spec(
        emulator,
        SPEC,
        (
            ("/movie", {}),
            (f"/movie/{movie.radarr_id}", {}),
            ("/movie", {"tmdbId": movie.tmdb_id}),
            ("/moviefile", {"movieId": movie.radarr_id}),
            ("/collection", {}),
            ("/exclusions", {}),
        ),
    )
    file_id = get(emulator, f"{API}/movie/{movie.radarr_id}").json()["movieFileId"]
    assert_matches_spec(
        SPEC, f"{API}/moviefile/{file_id}", get(emulator, f"{API}/moviefile/{file_id}").json()
    )


def test_writes_answer_resources_that_match_the_spec(emulator, library):
    """PUT answers 202 Accepted and POST 201 Created, as Radarr's RestController does; the spec
    documents their bodies under 200."""
    movie = get(emulator, f"{API}/movie/{managed(library)[0].radarr_id}").json()
    put = send(emulator, "PUT", f"{API}/movie/{movie['id']}", {**movie, "monitored": False})
    assert put.status_code == 202
    assert_matches_spec(SPEC, f"{API}/movie/{movie['id']}", put.json(), "PUT")
    editor = send(emulator, "PUT", f"{API}/movie/editor", {"movieIds": [movie["id"]]})
    assert editor.status_code == 202
    assert_matches_spec(SPEC, f"{API}/movie", editor.json())
    post = send(
        emulator,
        "POST",
        f"{API}/exclusions",
        {"tmdbId": 999_999, "movieTitle": "Excluded", "movieYear": 2001},
    )
    assert post.status_code == 201
    assert_matches_spec(SPEC, f"{API}/exclusions", post.json(), "POST")


def test_resources_have_the_fields_of_recorded_radarr_responses(served, library):
    full = next(
        m
        for m in managed(library)
        if m.collection and m.rating_imdb and m.rating_tmdb and m.rating_rt is not None
    )
    movie = get(served, f"{API}/movie/{full.radarr_id}").json()
    skip = ("ratings.metacritic",)  # our library has no Metacritic scores
    assert_like_fixture("pyarr-legacy/radarr/movie.json", movie, SPEC, f"{API}/movie/1", skip)
    assert_like_fixture("aiopyarr/radarr/movie.json", movie, SPEC, f"{API}/movie/1", skip)
    listing = [m for m in get(served, f"{API}/movie").json() if m["id"] == full.radarr_id]
    assert_like_fixture(
        "pyarr-legacy/radarr/movie_all.json",
        listing,
        SPEC,
        f"{API}/movie",
        ("[].ratings.metacritic",),
    )
    files = get(served, f"{API}/moviefile", movieId=full.radarr_id).json()
    for fixture in ("pyarr-legacy/radarr/moviefile.json", "aiopyarr/radarr/moviefile.json"):
        assert_like_fixture(fixture, files[0], SPEC, f"{API}/moviefile/1")
    assert_like_fixture("pyarr-legacy/radarr/moviefiles.json", files, SPEC, f"{API}/moviefile")
    arr_common.assert_like_recorded(
        served,
        SPEC,
        (
            ("aiopyarr/radarr/tag-detail.json", "/tag/detail", True),
            ("aiopyarr/common/system-status.json", "/system/status", False),
            ("pyarr-legacy/sonarr/diskspace.json", "/diskspace", False),
            ("aiopyarr/common/rootfolder.json", "/rootfolder", False),
        ),
    )


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers, params", arr_common.WRONG_KEYS)
def test_a_missing_or_wrong_key_is_401_with_an_empty_body(served, headers, params):
    arr_common.assert_refused(served, "/movie", headers, params)


@pytest.mark.parametrize(
    "headers, params",
    [
        ({"X-Api-Key": KEY}, {}),
        ({"Authorization": f"Bearer {KEY}"}, {}),
        ({}, {"apikey": KEY}),
    ],
)
def test_the_key_is_accepted_as_header_query_or_bearer_token(served, headers, params):
    response = httpx.get(f"{served.url}{API}/tag", headers=headers, params=params)
    assert response.status_code == 200


def test_health_reports_the_version_and_refuses_another_app(served):
    health = client_for(served).health()
    assert health.ok and health.version == RadarrEmulator.version
    assert health.response_ms is not None and health.response_ms > 0

    class NotRadarr(RadarrClient):
        app_name = "Sonarr"

    other = NotRadarr("radarr", served.url, KEY).health()
    assert not other.ok
    assert f"this address is Radarr {RadarrEmulator.version}, not Sonarr" in other.message
    assert "Fix: give Sonarr's URL for radarr (this one is Radarr's)" in other.message


# --- listing --------------------------------------------------------------------------------


def test_items_match_the_synthetic_library():
    library = generate("S", seed=5)
    with RadarrEmulator(library, KEY) as emulator:
        items = {item.arr_id: item for item in client_for(emulator).items()}
    movies = managed(library)
    assert sorted(items) == sorted(m.radarr_id for m in movies)  # unmanaged movies are absent
    for movie in movies:
        item = items[movie.radarr_id]
        assert (item.instance, item.media, item.title, item.year) == (
            "radarr",
            "movie",
            movie.title,
            movie.year,
        )
        assert (item.ids.tmdb, item.ids.imdb, item.ids.tvdb) == (movie.tmdb_id, movie.imdb_id, None)
        assert item.monitored == movie.monitored
        assert item.size == movie.file.size
        assert item.path == movie.file.path.rsplit("/", 1)[0]
        assert item.tags == movie.tags
        assert item.genres == movie.genres and item.studio == movie.studio
        assert (item.rating_imdb, item.rating_tmdb, item.rating_rt) == (
            movie.rating_imdb,
            movie.rating_tmdb,
            movie.rating_rt,
        )
        assert item.collection == movie.collection


def test_a_listing_costs_two_requests_and_ignores_paging(served, library):
    """Radarr does not page /movie: the whole library comes back whatever `page` says."""
    paged = get(served, f"{API}/movie", page=2, pageSize=5).json()
    assert len(paged) == len(managed(library))
    assert arr_common.listing_requests(client_for, served) == Counter(
        {("GET", f"{API}/movie"): 1, ("GET", f"{API}/tag"): 1}
    )


def test_an_m_library_is_built_and_listed_quickly_in_two_requests():
    library = generate("M")
    items = arr_common.listed_quickly(client_for, RadarrEmulator, library, listing_s=10)
    assert len(items) == len(managed(library))


def test_the_client_reads_recorded_radarr_responses():
    """Older and placeholder shapes: Radarr 3's `collection.name`, all-zero ratings."""
    recorded = {
        name: json.loads((fixtures_dir() / name).read_text())
        for name in ("pyarr-legacy/radarr/movie_all.json", "aiopyarr/radarr/movie-list.json")
    }

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"{API}/tag":
            return httpx.Response(200, json=[{"id": 0, "label": "keep"}])
        return httpx.Response(200, json=[movie for body in recorded.values() for movie in body])

    client = arr_common.fake_upstream_client(RadarrClient, upstream)
    legacy, placeholder = client.items()
    assert (legacy.rating_imdb, legacy.rating_tmdb, legacy.rating_rt) == (7.3, 7.4, 72)
    assert (legacy.size, legacy.monitored, legacy.collection) == (10501793191, False, None)
    assert placeholder.collection == "string" and placeholder.tags == ("keep",)
    assert (placeholder.rating_imdb, placeholder.year, placeholder.ids.tmdb) == (None, None, None)


@pytest.mark.parametrize(
    "body, problem",
    [
        ({"not": "a list"}, "expected a list"),
        ([{"id": 1, "title": "x", "tmdbId": 1, "monitored": "yes", "tags": []}], "'monitored'"),
        ([{"id": 1, "title": "x", "tmdbId": 1, "monitored": True, "tags": [7]}], "tag 7"),
        ([{"title": "x"}], "'id'"),
    ],
)
def test_bad_upstream_data_is_a_service_error_naming_the_call(body, problem):
    def upstream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[] if request.url.path.endswith("/tag") else body)

    client = arr_common.fake_upstream_client(RadarrClient, upstream)
    with pytest.raises(ServiceError, match=f"GET {API}/movie.*{problem}"):
        client.items()


def test_a_movie_whose_collection_has_no_title_is_named_from_the_collections():
    movie = {
        "id": 1,
        "title": "x",
        "tmdbId": 1,
        "monitored": True,
        "tags": [],
        "collection": {"tmdbId": 77},
    }
    bodies = {
        f"{API}/movie": [movie],
        f"{API}/tag": [],
        f"{API}/collection": [{"id": 1, "tmdbId": 77, "title": "Saga"}],
    }
    client = arr_common.fake_upstream_client(RadarrClient, arr_common.json_by_path(bodies))
    assert client.items()[0].collection == "Saga"


# --- faults ---------------------------------------------------------------------------------


def test_rate_limiting_waits_as_long_as_retry_after_says(library):
    waits: list[float] = []
    faults = Faults(rate_limit_rate=0.5, retry_after_s=3, seed=1)
    with RadarrEmulator(library, KEY, faults) as emulator:
        items = client_for(emulator, retries=6, sleep=waits.append).items()
        assert emulator.request_total > 2
    assert len(items) == len(managed(library))
    assert waits and all(w >= 3 for w in waits)


def test_an_action_that_keeps_failing_raises_a_service_error(emulator, library):
    movie_id = managed(library)[0].radarr_id
    emulator.faults = Faults(error_rate=1.0, path_pattern=r"/movie/\d+$")
    with pytest.raises(
        ServiceError, match=rf"GET {API}/movie/{movie_id} at http://\S+: .*\(HTTP 50\d\)"
    ):
        client_for(emulator, retries=1).unmonitor(movie_id)


# --- state changes --------------------------------------------------------------------------


def test_unmonitor_puts_the_whole_movie_back(emulator, library):
    movie = next(m for m in managed(library) if m.monitored)
    before = get(emulator, f"{API}/movie/{movie.radarr_id}").json()
    client = client_for(emulator)
    assert client.unmonitor(movie.radarr_id) is True
    after = get(emulator, f"{API}/movie/{movie.radarr_id}").json()
    assert after == {**before, "monitored": False}
    assert not next(i for i in client.items() if i.arr_id == movie.radarr_id).monitored
    emulator.reset_counts()
    assert client.unmonitor(movie.radarr_id) is True  # already unmonitored: no PUT
    assert emulator.requests == Counter({("GET", f"{API}/movie/{{id:int}}"): 1})


def test_a_partial_put_is_refused_with_a_validation_array(emulator, library):
    movie_id = next(m for m in managed(library) if m.monitored).radarr_id
    response = send(emulator, "PUT", f"{API}/movie/{movie_id}", {"monitored": False})
    assert response.status_code == 400
    assert response.json()[0]["propertyName"] == "Path"
    assert {"errorMessage", "attemptedValue", "severity", "errorCode"} <= response.json()[0].keys()
    assert send(emulator, "PUT", f"{API}/movie/{movie_id}").json() == {
        "message": "Request body can't be empty"
    }
    assert get(emulator, f"{API}/movie/{movie_id}").json()["monitored"] is True


def test_delete_files_keeps_the_movie_without_its_file(emulator, library):
    movie = managed(library)[0]
    free = get(emulator, f"{API}/rootfolder").json()[0]["freeSpace"]
    client = client_for(emulator)
    assert client.delete_files(movie.radarr_id) is True
    after = get(emulator, f"{API}/movie/{movie.radarr_id}").json()
    assert (after["hasFile"], after["sizeOnDisk"], after["movieFileId"]) == (False, 0, 0)
    assert "movieFile" not in after
    assert get(emulator, f"{API}/moviefile", movieId=movie.radarr_id).json() == []
    assert get(emulator, f"{API}/rootfolder").json()[0]["freeSpace"] == free + movie.file.size
    assert next(i for i in client.items() if i.arr_id == movie.radarr_id).size == 0
    assert client.delete_files(movie.radarr_id) is False  # already done


def test_delete_removes_the_movie_and_can_add_an_import_exclusion(emulator, library):
    movie = next(m for m in managed(library) if m.tags)
    client = client_for(emulator)
    assert client.delete(movie.radarr_id, add_import_exclusion=True) is True
    assert get(emulator, f"{API}/movie/{movie.radarr_id}").status_code == 404
    assert movie.radarr_id not in {i.arr_id for i in client.items()}
    assert [
        (e["tmdbId"], e["movieTitle"], e["movieYear"])
        for e in get(emulator, f"{API}/exclusions").json()
    ] == [(movie.tmdb_id, movie.title, movie.year)]
    assert all(
        movie.radarr_id not in t["movieIds"] for t in get(emulator, f"{API}/tag/detail").json()
    )
    assert client.delete(movie.radarr_id) is False  # already gone


def test_actions_on_a_movie_that_is_gone_return_false(served):
    client = client_for(served)
    assert client.unmonitor(999_999) is False
    assert client.delete_files(999_999) is False
    assert client.delete(999_999) is False


def test_unknown_ids_and_bad_requests_answer_radarrs_shapes(served):
    assert get(served, f"{API}/movie/999999").content == b""  # NotFound(): empty body
    deleted = send(served, "DELETE", f"{API}/movie/999999")
    assert deleted.status_code == 404
    assert deleted.json()["message"] == "Movie with ID 999999 does not exist"
    assert "ModelNotFoundException" in deleted.json()["description"]
    assert send(served, "DELETE", f"{API}/moviefile/7").json()["message"] == (
        "MovieFile with ID 7 does not exist"
    )
    assert send(served, "DELETE", f"{API}/movie/0").json() == {"message": "0 is not a valid ID"}
    missing = get(served, f"{API}/moviefile")
    assert (missing.status_code, missing.json()) == (
        400,
        {"message": "movieId or movieFileIds must be provided"},
    )
    assert send(served, "DELETE", f"{API}/moviefile/bulk", {"movieFileIds": [1]}).status_code == (
        500
    )  # Radarr's `.First()` on no files


def test_the_editor_and_bulk_endpoints_change_what_later_gets_return(emulator, library):
    first, second, third = (m.radarr_id for m in managed(library)[:3])
    send(
        emulator,
        "PUT",
        f"{API}/movie/editor",
        {"movieIds": [first, second], "monitored": False, "tags": [5], "applyTags": "add"},
    )
    movies = {m["id"]: m for m in get(emulator, f"{API}/movie").json()}
    assert not movies[first]["monitored"] and 5 in movies[second]["tags"]
    file_ids = [movies[first]["movieFileId"], 424242]
    assert (
        send(emulator, "DELETE", f"{API}/moviefile/bulk", {"movieFileIds": file_ids}).status_code
        == 200
    )
    assert not get(emulator, f"{API}/movie/{first}").json()["hasFile"]
    send(emulator, "DELETE", f"{API}/movie/editor", {"movieIds": [second, third]})
    assert {second, third}.isdisjoint(m["id"] for m in get(emulator, f"{API}/movie").json())


# --- plugin wiring --------------------------------------------------------------------------


def test_the_plugin_configures_radarr_from_the_environment(served):
    service, config = arr_common.configured_service(served)
    assert isinstance(service, RadarrClient) and "library_manager" in service.roles
    assert service.health().ok
    assert KEY not in repr(service) and KEY not in str(config.public())


# --- what a movie does not say ---------------------------------------------------------------

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "radarr"


def recorded_movie(**changes) -> dict:
    """pyarr's recorded Radarr movie, with `changes` (None drops a key)."""
    movie = {**json.loads((RECORDED / "movie.json").read_text()), **changes}
    return {k: v for k, v in movie.items() if v is not None}


def listed(movie: dict):
    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"{API}/tag":
            return httpx.Response(200, json=[{"id": 1, "label": "keep"}])
        return httpx.Response(200, json=[movie])

    [item] = arr_common.fake_upstream_client(RadarrClient, upstream).items()
    return item


def test_a_movie_listed_without_its_tags_has_unknown_tags_not_none():
    """A dropped `tags` would read as "no keep tag": the tags are unknown instead."""
    assert listed(recorded_movie(tags=[1])).tags == ("keep",)
    assert listed(recorded_movie(tags=[])).tags == ()
    assert listed(recorded_movie(tags=None)).tags is None


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        (None, (None, None, None)),
        ("recorded", (7.3, 7.4, 72)),
        ({"votes": 11076, "value": 7.4}, (None, 7.4, None)),  # Radarr 3: TMDb's
        ({"imdb": {"votes": 0, "value": 0.0, "type": "user"}}, (None, None, None)),  # unrated
        ({"rottenTomatoes": {"votes": 0, "value": 0, "type": "user"}}, (None, None, 0)),
        ({"metacritic": {"votes": 0, "value": 72, "type": "user"}}, (None, None, None)),
    ],
    ids=["none", "radarr-4", "radarr-3-flat", "unrated", "rt-zero", "metacritic-only"],
)
def test_ratings_fill_the_fields_of_the_sources_they_name(ratings, expected):
    movie = recorded_movie() if ratings == "recorded" else recorded_movie(ratings=ratings)
    item = listed(movie)
    assert (item.rating_imdb, item.rating_tmdb, item.rating_rt) == expected
