"""The Seerr plugin against its emulator, over real HTTP."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pytest

from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.sdk import ServiceError
from prunerr_plugins import seerr
from prunerr_plugins.seerr.client import SeerrClient
from prunerr_plugins.seerr.emulator import SeerrEmulator
from tests.plugins.openapi import assert_matches_spec, specs_dir

pytestmark = pytest.mark.slow


KEY = "c2VlcnItZW11bGF0b3ItYXBpLWtleQ=="
FAST = {"backoff": 0.0, "sleep": lambda seconds: None}
SPECS = ("seerr-api.yml", "overseerr-api.yml")
STATUS = {1: "pending", 2: "approved", 3: "declined"}


@pytest.fixture(scope="module")
def library():
    return generate("S", seed=11)


@pytest.fixture
def emulator(library):
    with SeerrEmulator(library, KEY) as emu:
        yield emu


def client(emu: SeerrEmulator, key: str = KEY, **options) -> SeerrClient:
    return SeerrClient("seerr", emu.url, key, **{**FAST, **options})


def get(emu: SeerrEmulator, path: str, key: str | None = KEY, **params) -> httpx.Response:
    headers = {} if key is None else {"X-Api-Key": key}
    return httpx.get(f"{emu.url}/api/v1{path}", params=params, headers=headers)


def delete(emu: SeerrEmulator, path: str) -> httpx.Response:
    return httpx.delete(f"{emu.url}/api/v1{path}", headers={"X-Api-Key": KEY})


def fixture(name: str) -> dict:
    path = specs_dir().parent / "fixtures" / "python-overseerr" / name
    if not path.exists():
        pytest.skip(f"recorded fixture {path} not found")
    return json.loads(Path(path).read_text(encoding="utf-8"))


# contract
def endpoints(library) -> list[tuple[str, str]]:
    """(spec path, concrete path) of every JSON endpoint the emulator serves."""
    movie = next(r for r in library.requests if r.media_type == "movie")
    show = next(r for r in library.requests if r.media_type == "tv")
    return [
        ("/status", "/status"),
        ("/auth/me", "/auth/me"),
        ("/request", "/request"),
        ("/request/count", "/request/count"),
        ("/request/{requestId}", "/request/1"),
        ("/user", "/user"),
        ("/user/{userId}", "/user/1"),
        ("/media", "/media"),
        ("/movie/{movieId}", f"/movie/{movie.tmdb_id}"),
        ("/movie/{movieId}", f"/movie/{library.movies[0].tmdb_id}"),
        ("/tv/{tvId}", f"/tv/{show.tmdb_id}"),
    ]


@pytest.mark.parametrize("spec", SPECS)
def test_every_endpoint_matches_the_spec(emulator, library, spec):
    for template, path in endpoints(library):
        response = get(emulator, path, take=5)
        assert response.status_code == 200, path
        assert_matches_spec(spec, template, response.json())


def test_requests_have_the_fields_seerr_records(emulator):
    recorded = fixture("seerr/request.json")["results"]
    ours = get(emulator, "/request", take=100).json()["results"]
    for part in (lambda r: r, lambda r: r["media"], lambda r: r["requestedBy"]):
        assert set().union(*(part(r) for r in recorded)) <= set(part(ours[0]))
    tv = next(r for r in ours if r["type"] == "tv")
    assert set(recorded[0]["seasons"][0]) <= set(tv["seasons"][0])


def test_status_counts_and_details_have_the_recorded_shapes(emulator, library):
    assert set(get(emulator, "/status").json()) == set(fixture("seerr/status.json"))
    assert set(get(emulator, "/request/count").json()) == set(fixture("seerr/request_count.json"))
    show = next(r for r in library.requests if r.media_type == "tv")
    details = get(emulator, f"/tv/{show.tmdb_id}").json()
    assert set(fixture("seerr/tv.json")) - {"relatedVideos"} <= set(details)
    assert set(fixture("seerr/tv.json")["mediaInfo"]) <= set(details["mediaInfo"])
    movie = get(emulator, f"/movie/{library.movies[0].tmdb_id}").json()
    assert set(fixture("seerr/movie.json")) - {"collection"} <= set(movie)


def test_a_title_seerr_never_saw_has_no_media_info(emulator, library):
    requested = {r.tmdb_id for r in library.requests}
    unseen = next(m for m in library.movies if m.tmdb_id not in requested)
    assert "mediaInfo" not in get(emulator, f"/movie/{unseen.tmdb_id}").json()


def test_media_info_lists_the_titles_requests(emulator, library):
    request = library.requests[0]
    info = get(emulator, f"/movie/{request.tmdb_id}").json()["mediaInfo"]
    assert info["id"] == request.media_id
    assert [r["id"] for r in info["requests"]] == [request.id]


def test_unknown_ids_get_seerrs_error_answers(emulator):
    assert get(emulator, "/request/999999").json() == {"message": "Request not found."}
    assert get(emulator, "/request/abc").status_code == 404
    assert get(emulator, "/user/999").json() == {"message": "User not found."}
    assert delete(emulator, "/media/999999").json() == {"message": "Media not found"}
    unknown = get(emulator, "/movie/1")
    assert (unknown.status_code, unknown.json()) == (500, {"message": "Unable to retrieve movie."})


# auth
@pytest.mark.parametrize("key", ["wrong", None])
def test_a_wrong_or_missing_key_is_forbidden(emulator, key):
    response = get(emulator, "/request", key=key)
    assert response.status_code == 403
    assert response.json() == fixture("seerr/no_access.json")


def test_the_status_needs_no_key(emulator):
    assert get(emulator, "/status", key=None).status_code == 200


def test_health_reports_the_version(emulator):
    health = client(emulator).health()
    assert health.ok and health.version == "3.0.0" and health.response_ms is not None


# paging, filters, sorting
@pytest.mark.parametrize(("path", "take"), [("/request", 10), ("/user", 10), ("/media", 20)])
def test_pages_default_to_seerrs_sizes(emulator, path, take):
    info = get(emulator, path).json()["pageInfo"]
    assert info["pageSize"] == take and info["page"] == 1
    assert info["pages"] == math.ceil(info["results"] / take)


def test_take_and_skip_page_the_requests(emulator, library):
    newest_first = sorted((r.id for r in library.requests), reverse=True)
    body = get(emulator, "/request", take=7, skip=14).json()
    assert [r["id"] for r in body["results"]] == newest_first[14:21]
    assert body["pageInfo"] == {
        "pages": math.ceil(len(newest_first) / 7),
        "pageSize": 7,
        "results": len(newest_first),
        "page": 3,
    }


def test_requests_filter_by_status_requester_and_type(emulator, library):
    def ids(**params):
        return {r["id"] for r in get(emulator, "/request", take=10_000, **params).json()["results"]}

    assert ids(filter="pending") == {r.id for r in library.requests if r.status == 1}
    assert ids(filter="approved") == {r.id for r in library.requests if r.status == 2}
    user = library.users[2]
    assert ids(requestedBy=user.seerr_id) == {
        r.id for r in library.requests if r.user_id == user.id
    }
    assert ids(mediaType="tv") == {r.id for r in library.requests if r.media_type == "tv"}


def test_requests_sort_by_date_either_way(emulator):
    rows = get(emulator, "/request", take=10_000, sort="added", sortDirection="asc").json()
    created = [r["createdAt"] for r in rows["results"]]
    assert created == sorted(created)


def test_a_whole_listing_costs_one_request_per_page(emulator, library):
    requests = list(client(emulator, page_size=100).requests())
    assert len(requests) == len(library.requests)
    assert emulator.request_total == math.ceil(len(library.requests) / 100)


def test_request_counts_follow_the_requests(emulator, library):
    counts = get(emulator, "/request/count").json()
    assert counts["total"] == len(library.requests)
    assert counts["tv"] == sum(r.media_type == "tv" for r in library.requests)
    assert counts["declined"] == sum(r.status == 3 for r in library.requests)


# ground truth
def test_requests_match_the_synthetic_library(emulator, library):
    requests = list(client(emulator).requests())
    assert [r.request_id for r in requests] == [r.id for r in library.requests]
    for got, truth in zip(requests, library.requests, strict=True):
        title = next(t for t in (*library.movies, *library.shows) if t.tmdb_id == truth.tmdb_id)
        assert got.media_id == truth.media_id
        assert got.media == ("movie" if truth.media_type == "movie" else "show")
        assert (got.ids.tmdb, got.ids.tvdb, got.ids.imdb) == (
            truth.tmdb_id,
            truth.tvdb_id,
            title.imdb_id,
        )
        assert got.requested_by == library.user(truth.user_id).username
        assert got.requested_at == truth.created
        assert got.status == STATUS[truth.status]


def test_users_are_the_plex_accounts(emulator, library):
    users = get(emulator, "/user", take=100).json()["results"]
    assert [(u["id"], u["plexId"], u["plexUsername"]) for u in users] == [
        (u.seerr_id, u.id, u.username) for u in library.users
    ]


# state changes
def test_a_deleted_request_is_gone(emulator, library):
    request = library.requests[0]
    owner = get(emulator, f"/user/{library.user(request.user_id).seerr_id}").json()
    assert delete(emulator, f"/request/{request.id}").status_code == 204
    assert get(emulator, f"/request/{request.id}").status_code == 404
    assert delete(emulator, f"/request/{request.id}").status_code == 404
    assert request.id not in {r.request_id for r in client(emulator).requests()}
    after = get(emulator, f"/user/{owner['id']}").json()
    assert after["requestCount"] == owner["requestCount"] - 1


def test_resetting_a_title_forgets_its_media_and_requests(emulator, library):
    request = library.requests[0]
    seerr = client(emulator)
    assert seerr.reset(request.media_id) is True
    assert seerr.reset(request.media_id) is False  # already gone
    assert request.media_id not in {r.media_id for r in seerr.requests()}
    assert "mediaInfo" not in get(emulator, f"/movie/{request.tmdb_id}").json()
    media = get(emulator, "/media", take=10_000).json()["results"]
    assert request.media_id not in {m["id"] for m in media}


def test_a_request_deleted_during_the_listing_relists_without_duplicates(emulator, library):
    listing = client(emulator, page_size=100).requests()
    seen = [next(listing) for _ in range(100)]
    doomed = library.requests[-1].id  # on a later page
    emulator.delete_request(doomed)
    seen += list(listing)
    assert sorted(r.request_id for r in seen) == [r.id for r in library.requests if r.id != doomed]


def test_requests_that_keep_changing_are_an_error(emulator, library):
    listing = client(emulator, page_size=100).requests()
    doomed = iter(reversed(library.requests))
    with pytest.raises(ServiceError, match="kept changing"):
        for i, _ in enumerate(listing):
            if i % 100 == 99:
                emulator.delete_request(next(doomed).id)


# faults and bad data
def test_transient_faults_are_retried_to_a_complete_listing(library):
    faults = Faults(
        error_rate=0.15, rate_limit_rate=0.1, truncate_rate=0.1, malformed_rate=0.1, seed=3
    )
    with SeerrEmulator(library, KEY, faults) as emu:
        requests = list(client(emu, page_size=50, retries=10).requests())
        assert emu.request_total > math.ceil(len(library.requests) / 50)
    assert [r.request_id for r in requests] == [r.id for r in library.requests]


def test_a_request_in_an_unknown_state_is_an_error(library):
    with SeerrEmulator(library, KEY) as emu:
        emu.media_requests[library.requests[5].id]["status"] = 9
        with pytest.raises(ServiceError, match="bad request 6"):
            list(client(emu).requests())


def test_a_request_without_a_requester_is_an_error(library):
    with SeerrEmulator(library, KEY) as emu:
        emu.media_requests[library.requests[0].id]["requestedBy"] = {"id": 5}
        with pytest.raises(ServiceError, match="the requester has no name"):
            list(client(emu).requests())


# the plugin's hooks
def test_the_plugin_reads_the_original_environment_variables(tmp_path):
    host = PluginHost.create(load_entry_points=False)
    host.register(seerr, "seerr")
    env = host.emulators().specs["seerr"].env("http://seerr:5055", KEY)
    assert env == {"OVERSEERR_URL": "http://seerr:5055", "OVERSEERR_API_KEY": KEY}
    config = host.load_config(env={**env, "PRUNERR_DATA_DIR": str(tmp_path)})
    assert config.instances["seerr"] == [
        {"name": "seerr", "url": "http://seerr:5055", "api_key": KEY}
    ]
    assert KEY not in str(config.public())
    [service] = host.services(config).with_role("requests")
    assert isinstance(service, SeerrClient) and service.name == "seerr"
