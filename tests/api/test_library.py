"""Library, stats and protection endpoints over a library synced from the emulators."""

import time

import pytest
from pony.orm import db_session

from prunerr.api import create_app
from prunerr.dsl.units import DAY
from prunerr.emulation import Faults, generate
from prunerr.plugins import PluginHost
from prunerr.rules import load_rules
from prunerr.store import sync_state
from prunerr.sync import SyncService
from prunerr.wire import iso
from tests.api.conftest import Client, make_api
from tests.support import REPO, copy_synced, emulated

pytestmark = pytest.mark.slow


LIBRARY = generate("XS", seed=4)


def synced_client(store, tmp_path, faults=None, *, sync_now=False) -> Client:
    """An API on `store` synced from the emulators serving LIBRARY: synced now with `faults` or
    `sync_now`, else copied from a database synced once."""
    host = PluginHost.create()

    def configured(env):
        config = host.load_config(
            {**env, "PRUNERR_DATA_DIR": str(tmp_path), "PRUNERR_RULES_DIR": str(REPO / "rules.d")}
        )
        services = host.services(config)
        for service in services.services:
            service.http.retries = 0
        return config, services

    if faults is None and not sync_now:
        config, services = configured(copy_synced(LIBRARY, store))
    else:
        with emulated(LIBRARY, faults) as (env, _):
            config, services = configured(env)
            SyncService(store, services).run()
    api = make_api(store, config, services)
    return Client(create_app(api), api.keys.current())


@pytest.fixture
def client(store, tmp_path) -> Client:
    return synced_client(store, tmp_path)


def test_the_listing_pages_movies_and_shows_sorted_by_title(client):
    data = client.get("/api/library", params={"limit": "10"}).json["data"]
    assert data["total"] == len(LIBRARY.movies) + len(LIBRARY.shows)
    assert data["totalPages"] == -(-data["total"] // 10)
    titles = [i["title"] for i in data["items"]]
    assert titles == sorted(titles, key=str.casefold) and len(titles) == 10
    last = client.get("/api/library", params={"limit": "10", "page": str(data["totalPages"])})
    assert 0 < len(last.json["data"]["items"]) <= 10


def test_filters_search_and_sorting(client):
    movies = client.get(
        "/api/library",
        params={"type": "movie", "sortBy": "size", "sortOrder": "desc", "limit": "500"},
    )
    sizes = [i["size"] for i in movies.json["data"]["items"]]
    known = [s for s in sizes if s is not None]  # a movie Plex lists without its file: unknown
    assert sizes == sorted(known, reverse=True) + [None] * (len(sizes) - len(known))
    assert len(sizes) == len(LIBRARY.movies) and None in sizes
    target = LIBRARY.shows[0]
    found = client.get("/api/library", params={"search": target.title.upper(), "type": "tv"})
    assert target.title in [i["title"] for i in found.json["data"]["items"]]
    unwatched = client.get("/api/library", params={"status": "unwatched", "limit": "500"})
    assert all(i["playCount"] == 0 for i in unwatched.json["data"]["items"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"page": "-1"}, "page"),
        ({"type": "film"}, "type"),
        ({"sortBy": "rating"}, "sortBy"),
        ({"sortOrder": "up"}, "sortOrder"),
        ({"status": "gone"}, "status"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_field(client, params, field):
    result = client.get("/api/library", params=params)
    assert result.status_code == 400
    assert result.json["details"][0]["field"] == field


def test_an_item_shows_its_fields_and_why_each_rule_matches_or_not(client):
    movie = next(m for m in LIBRARY.movies if m.agent == "plex" and m.listed_file)
    listing = client.get("/api/library", params={"search": movie.title, "type": "movie"})
    item_id = next(i["id"] for i in listing.json["data"]["items"] if i["title"] == movie.title)
    data = client.get(f"/api/library/{item_id}").json["data"]
    # the original's record, snake_case, which its detail page reads
    assert data["type"] == "movie" and data["title"] == movie.title
    assert data["plex_id"] == str(movie.rating_key) and data["tmdb_id"] == movie.tmdb_id
    assert (data["radarr_id"], data["sonarr_id"]) == (movie.radarr_id, None)
    assert (data["file_size"], data["file_path"]) == (movie.file.size, movie.file.path)
    assert data["added_at"] == iso(movie.added) and data["year"] == movie.year
    assert data["bitrate"] == movie.file.bitrate_kbps * 1000  # bits/s, as the original
    assert data["runtime_minutes"] == round(movie.file.runtime_s / 60)
    assert (data["status"], data["is_protected"], data["marked_at"]) == ("monitored", False, None)
    assert data["protected_by_collection"] is None and data["genres"] == list(movie.genres)
    assert data["fields"]["size"] == movie.file.size and data["unknown_fields"] == []
    rule_ids = {r["path"] for r in data["rules"]}
    assert "movies/stale-4k" in rule_ids and "shows/ended-unfinished" not in rule_ids
    stale = next(r for r in data["rules"] if r["path"] == "movies/stale-4k")
    assert stale["explanation"]["expr"].startswith('resolution == "2160p"')
    assert client.get("/api/library/999999").status_code == 404
    assert client.get("/api/library/abc").status_code == 404


def test_protection_round_trip_and_it_survives_a_sync(client, store, tmp_path):
    first = client.get("/api/library", params={"limit": "1"}).json["data"]["items"][0]
    result = client.post(f"/api/library/{first['id']}/protect", json={"reason": "mine"})
    assert result.json["data"] == {"id": first["id"], "isProtected": True, "reason": "mine"}
    protected = client.get("/api/library", params={"status": "protected"}).json["data"]
    assert [i["id"] for i in protected["items"]] == [first["id"]]
    again = synced_client(store, tmp_path, sync_now=True)
    record = again.get(f"/api/library/{first['id']}").json["data"]
    assert (record["is_protected"], record["status"], record["protection_reason"]) == (
        True,
        "protected",
        "mine",
    )
    again.request("DELETE", f"/api/library/{first['id']}/protect")
    record = again.get(f"/api/library/{first['id']}").json["data"]
    assert (record["is_protected"], record["status"]) == (False, "monitored")
    assert again.post("/api/library/424242/protect").status_code == 404
    bad = again.post(f"/api/library/{first['id']}/protect", json={"reason": 5})
    assert bad.status_code == 400


def test_stats_count_live_items_and_do_not_guess_unknown_watch_data(store, tmp_path):
    healthy = synced_client(store, tmp_path).get("/api/stats").json["data"]
    assert healthy["movieCount"] == len(LIBRARY.movies)
    assert healthy["tvEpisodeCount"] == LIBRARY.episode_count
    # what is known: a movie Plex lists without its file adds nothing
    assert healthy["totalStorage"] == sum(
        m.file.size for m in LIBRARY.movies if m.listed_file
    ) + sum(e.file.size for s in LIBRARY.shows for e in s.episodes)
    assert healthy["unwatchedMovies"] is not None
    assert healthy["activeRules"] == sum(
        r.kind == "delete" for r in load_rules([REPO / "rules.d"]).rules
    )
    down = synced_client(store, tmp_path, {"tautulli": Faults(error_rate=1.0)})
    assert down.get("/api/stats").json["data"]["unwatchedMovies"] is None
    item = down.get("/api/library", params={"limit": "1"}).json["data"]["items"][0]
    assert item["playCount"] is None and "playCount" in item["unknownFields"]


def test_a_show_record_names_its_type_size_and_the_collection_protecting_it(client):
    show = next(s for s in LIBRARY.shows if s.sonarr_id is not None and s.agent == "plex")
    listing = client.get("/api/library", params={"search": show.title, "type": "show"})
    item_id = next(i["id"] for i in listing.json["data"]["items"] if i["title"] == show.title)
    record = client.get(f"/api/library/{item_id}").json["data"]
    assert (record["type"], record["sonarr_id"], record["radarr_id"]) == (
        "show",
        show.sonarr_id,
        None,
    )
    assert record["file_size"] == sum(e.file.size for s in show.seasons for e in s.episodes)
    assert record["episode_count"] == sum(len(s.episodes) for s in show.seasons)
    assert record["series_status"] == show.status and record["file_path"] is None

    movie = next(m for m in LIBRARY.movies if m.collection and m.listed_file)
    listing = client.get("/api/library", params={"search": movie.title, "type": "movie"})
    movie_id = next(i["id"] for i in listing.json["data"]["items"] if i["title"] == movie.title)
    assert client.post("/api/collections/sync").status_code == 200
    (collection,) = [
        c for c in client.get("/api/collections").json["data"] if c["title"] == movie.collection
    ]
    client.request(
        "PATCH", f"/api/collections/{collection['id']}/protection", json={"isProtected": True}
    )
    record = client.get(f"/api/library/{movie_id}").json["data"]
    assert record["protected_by_collection"] == {"id": collection["id"], "title": movie.collection}
    assert (record["is_protected"], record["status"]) == (True, "monitored")


def test_stats_give_the_originals_figures_of_the_syncs_and_collections(store, tmp_path):
    client = synced_client(store, tmp_path, sync_now=True)
    listed = len(LIBRARY.movies) + len(LIBRARY.shows) + LIBRARY.episode_count
    listed += sum(len(s.seasons) for s in LIBRARY.shows)
    stats = client.get("/api/stats").json["data"]
    assert (stats["scannedToday"], stats["scanTrend"]) == (listed, 0)  # no sync the week before
    assert stats["usedStorage"] == stats["totalStorage"]
    with db_session:  # a sync eight days ago that listed half as much
        now = time.time()
        summary = {"sources": [{"source": "plex:media_server", "records": listed // 2}]}
        sync_state.record_run(store, now - 8 * DAY, now - 8 * DAY + 60, "ok", summary)
    assert client.get("/api/stats").json["data"]["scanTrend"] == 100

    assert (stats["collectionCount"], stats["protectedCollections"]) == (0, 0)
    client.post("/api/collections/sync")
    (first, *_) = client.get("/api/collections").json["data"]
    client.request(
        "PATCH", f"/api/collections/{first['id']}/protection", json={"isProtected": True}
    )
    stats = client.get("/api/stats").json["data"]
    titles = {m.collection for m in LIBRARY.movies if m.collection}
    assert (stats["collectionCount"], stats["protectedCollections"]) == (len(titles), 1)
