"""Library sync against the emulators over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pony.orm import db_session

from prunerr.config import Config
from prunerr.dsl import UNKNOWN, EvalContext, compile_condition
from prunerr.emulation import Faults, generate
from prunerr.planning import plan
from prunerr.plugins import PluginHost
from prunerr.rules import load_rules
from prunerr.store.database import open_store
from prunerr.store.items import availability, load_items
from prunerr.sync import DETAILS_RECHECK_S, SyncService
from prunerr_plugins.plex.client import METADATA_BATCH
from prunerr_plugins.sonarr import SonarrClient
from tests.support import REPO, SERVICES, emulated

pytestmark = pytest.mark.slow


class Harness:
    """A Prunerr configured from an environment, syncing into one store."""

    def __init__(self, store, env: dict[str, str], tmp_path: Path):
        host = PluginHost.create()
        self.config = Config.load(host.config_schema(), {**env, "PRUNERR_DATA_DIR": str(tmp_path)})
        self.services = host.services(self.config)
        self.store = store
        self.sync = SyncService(store, self.services, watch_source=None)

    def run(self):
        return self.sync.run()

    def items(self):
        watch = self.services.watch_history()
        available = availability(self.store, self.services, watch.name if watch else None)
        return {i.id: i for i in load_items(self.store, available, watch.name if watch else None)}

    def row(self, where: str, params=()) -> dict:
        with db_session:
            cursor = self.store.db.get_connection().cursor()
            cursor.execute(self.store.dialect.sql(f"SELECT * FROM item WHERE {where}"), params)
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        assert len(rows) == 1, rows
        return rows[0]


def without_movie(library, index: int):
    """The library after a movie was removed (and its history and requests with it)."""
    smaller = copy.deepcopy(library)
    gone = smaller.movies.pop(index)
    smaller.plays = [p for p in smaller.plays if p.rating_key != gone.rating_key]
    smaller.requests = [
        r for r in smaller.requests if not (r.media_type == "movie" and r.tmdb_id == gone.tmdb_id)
    ]
    return smaller


@pytest.fixture(scope="module")
def library():
    return generate("XS", seed=7)


def test_a_full_sync_matches_the_ground_truth(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        report = harness.run()
    assert report.ok, report.as_dict()
    with db_session:
        counts = dict(
            store.read("SELECT type, COUNT(*) FROM item WHERE tombstoned_at IS NULL GROUP BY type")
        )
    assert counts == {
        "movie": len(library.movies),
        "show": len(library.shows),
        "season": sum(len(s.seasons) for s in library.shows),
        "episode": library.episode_count,
    }
    items = harness.items()
    movie = next(m for m in library.movies if m.radarr_id is not None)
    row = harness.row("server_key=?", (str(movie.rating_key),))
    fields = items[row["id"]].fields
    assert (fields["title"], fields["size"], fields["resolution"]) == (
        movie.title,
        movie.file.size,
        movie.file.resolution,
    )
    assert fields["monitored"] is movie.monitored
    assert row["tmdb_id"] == movie.tmdb_id and row["arr_id"] == movie.radarr_id
    plays = [p for p in library.plays if p.rating_key == movie.rating_key and p.watched]
    assert fields["play_count"] == len(plays)
    assert fields["last_watched"] == (max(p.stopped for p in plays) if plays else None)
    unmanaged = next((m for m in library.movies if m.radarr_id is None), None)
    if unmanaged is not None:
        row = harness.row("server_key=?", (str(unmanaged.rating_key),))
        assert items[row["id"]].fields["monitored"] is None  # known: no *arr manages it


def test_episode_plays_roll_up_to_seasons_and_shows_by_keys(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    items = harness.items()
    show = max(
        library.shows,
        key=lambda s: sum(
            p.grandparent_rating_key == s.rating_key and p.watched for p in library.plays
        ),
    )
    watched = [
        p for p in library.plays if p.grandparent_rating_key == show.rating_key and p.watched
    ]
    fields = items[harness.row("server_key=?", (str(show.rating_key),))["id"]].fields
    users = {library.user(p.user_id).username for p in watched}
    assert fields["play_count"] == len(watched) > 0
    assert set(fields["watched_by"]) == users
    season = show.seasons[0]
    season_fields = items[harness.row("server_key=?", (str(season.rating_key),))["id"]].fields
    in_season = [p for p in watched if p.parent_rating_key == season.rating_key]
    assert season_fields["play_count"] == len(in_season)
    assert season_fields["size"] == sum(e.file.size for e in season.episodes)


def test_requests_come_from_seerr_by_external_ids(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    items = harness.items()
    request = next(r for r in library.requests if r.media_type == "movie" and r.status != 3)
    movie = next(m for m in library.movies if m.tmdb_id == request.tmdb_id)
    fields = items[harness.row("server_key=?", (str(movie.rating_key),))["id"]].fields
    assert fields["requested_by"] == library.user(request.user_id).username


def test_a_second_sync_is_incremental_and_changes_nothing(store, library, tmp_path):
    with emulated(library) as (env, emulators):
        harness = Harness(store, env, tmp_path)
        first = harness.run()
        with db_session:
            before = store.read("SELECT COUNT(*) FROM play")
        for emulator in emulators.values():
            emulator.reset_counts()
        second = harness.run()
        second_requests = sum(e.request_total for e in emulators.values())
    assert first.ok and second.ok
    with db_session:
        assert store.read("SELECT COUNT(*) FROM play") == before
    history = next(r for r in second.results if r.source.endswith(":watch_history"))
    assert history.records == 0
    assert second_requests < 40


def test_a_new_rating_key_keeps_the_row_and_its_protection(store, library, tmp_path):
    played = {p.rating_key for p in library.plays}
    index = next(  # recognised by its external id; unplayed, so the history needs no new key
        i for i, m in enumerate(library.movies) if m.agent != "local" and m.rating_key not in played
    )
    movie = library.movies[index]
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    row = harness.row("server_key=?", (str(movie.rating_key),))
    with db_session:
        store.execute(
            "UPDATE item SET protected=?, protection_reason='mine' WHERE id=?", (True, row["id"])
        )
    upgraded = copy.deepcopy(library)
    upgraded.movies[index] = dataclasses.replace(upgraded.movies[index], rating_key=987654321)
    with emulated(upgraded) as (env, _):
        assert Harness(store, env, tmp_path).run().ok
    again = harness.row("id=?", (row["id"],))
    assert (again["server_key"], again["protected"], again["tombstoned_at"]) == (
        "987654321",
        True,
        None,
    )
    with db_session:
        keys = store.read("SELECT key FROM item_key WHERE item=? ORDER BY key", (row["id"],))
    assert sorted(k for (k,) in keys) == sorted([str(movie.rating_key), "987654321"])


def test_items_gone_from_a_complete_listing_become_tombstones_and_return_on_readd(
    store, library, tmp_path
):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    gone = library.movies[0]
    smaller = without_movie(library, 0)
    with emulated(smaller) as (env, _):
        assert Harness(store, env, tmp_path).run().ok
    row = harness.row("server_key=?", (str(gone.rating_key),))
    assert row["tombstoned_at"] is not None

    # the same listing again (a stale cache, say) does not revive it ...
    with emulated(library) as (env, _):
        assert Harness(store, env, tmp_path).run().ok
    assert harness.row("id=?", (row["id"],))["tombstoned_at"] is not None
    # ... a genuine re-add (added after the tombstone) does
    readded = copy.deepcopy(library)
    readded.movies[0] = dataclasses.replace(readded.movies[0], added=int(row["tombstoned_at"]) + 60)
    with emulated(readded) as (env, _):
        assert Harness(store, env, tmp_path).run().ok
    assert harness.row("id=?", (row["id"],))["tombstoned_at"] is None


def test_a_failed_listing_removes_nothing_and_marks_the_source_failed(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
    smaller = without_movie(library, 0)
    with emulated(smaller, {"plex": Faults(error_rate=1.0)}) as (env, _):
        harness = Harness(store, env, tmp_path)
        report = harness.run()
    assert not report.ok
    failed = [r.source for r in report.results if not r.ok]
    assert failed == ["plex:media_server"]
    with db_session:
        assert store.read("SELECT COUNT(*) FROM item WHERE tombstoned_at IS NOT NULL") == [(0,)]
    assert all("title" not in i.fields for i in harness.items().values())


def _matches(harness, rules, now) -> dict[str, set[int]]:
    ctx = EvalContext(now)
    items = list(harness.items().values())
    matched = {}
    for rule_plan in plan(rules, items, ctx):
        evaluate = rule_plan.rule.program.bind(ctx)
        matched[rule_plan.rule.id] = {
            i.id
            for i in items
            if rule_plan.rule.in_scope(i.fields) is True and evaluate(i.fields) is True
        }
    return matched


@pytest.mark.parametrize("failing", SERVICES)
def test_a_failing_source_never_makes_a_rule_match_more(tmp_path, failing):
    """The safety property: with any one source down, every rule matches a subset of what it
    matches with complete data."""
    library = generate("XS", seed=11)
    rules = load_rules([REPO / "rules.d"]).rules
    now = datetime.fromtimestamp(library.now, UTC)
    complete_store = open_store(None, tmp_path / "complete")
    degraded_store = open_store(None, tmp_path / "degraded")
    try:
        with emulated(library) as (env, _):
            complete = Harness(complete_store, env, tmp_path)
            assert complete.run().ok
        with emulated(library, {failing: Faults(error_rate=1.0)}) as (env, _):
            degraded = Harness(degraded_store, env, tmp_path)
            assert not degraded.run().ok
        full, partial = _matches(complete, rules, now), _matches(degraded, rules, now)
        assert any(full.values()), "the example rules should match something in the library"
        for rule_id, ids in partial.items():
            assert ids <= full[rule_id], (rule_id, failing)
    finally:
        complete_store.disconnect()
        degraded_store.disconnect()


def test_between_full_listings_only_changed_items_are_read_again(store, library, tmp_path):
    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok  # the day's full listing
    movie = library.movies[5]
    renamed = copy.deepcopy(library)
    renamed.movies[5] = dataclasses.replace(renamed.movies[5], title="A New Cut")
    with emulated(renamed) as (env, emulators):
        plex = emulators["plex"]
        plex.touch(movie.rating_key, movie.added + 3600)
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
        metadata = sum(
            n
            for (method, route), n in plex.requests.items()
            if route.startswith("/library/metadata")
        )
    assert metadata == 1
    assert harness.row("server_key=?", (str(movie.rating_key),))["title"] == "A New Cut"
    # an item changed without a new updatedAt is caught by the next full listing
    with emulated(renamed) as (env, _):
        harness = Harness(store, env, tmp_path)
        harness.sync.full = True
        assert harness.run().ok


def test_new_plays_are_added_to_the_watch_summary(store, library, tmp_path):
    with emulated(library) as (env, emulators):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok
        movie = library.movies[7]
        row = harness.row("server_key=?", (str(movie.rating_key),))
        before = harness.items()[row["id"]].fields
        last = max(p.id for p in library.plays)
        late = library.now + 7200
        emulators["tautulli"].record_play(
            dataclasses.replace(
                library.plays[0],
                id=last + 1,
                user_id=library.users[1].id,
                rating_key=movie.rating_key,
                parent_rating_key=None,
                grandparent_rating_key=None,
                started=late - 600,
                stopped=late,
                percent_complete=100,
            )
        )
        assert harness.run().ok
    after = harness.items()[row["id"]].fields
    assert after["play_count"] == before["play_count"] + 1
    assert after["last_watched"] == late
    assert library.users[1].username in after["watched_by"]
    with db_session:
        summary = store.read(
            "SELECT SUM(plays) FROM watch_summary WHERE key=?", (str(movie.rating_key),)
        )
        plays = store.read(
            "SELECT COUNT(*) FROM play WHERE key=? AND watched", (str(movie.rating_key),)
        )
    assert summary == plays


def test_several_instances_of_a_service_are_synced_as_separate_sources(store, library, tmp_path):
    with emulated(library) as (env, _):
        specs = PluginHost.create().emulators().specs
        with specs["radarr"].factory(library, "k" * 32, Faults()) as second:
            (tmp_path / "prunerr.yaml").write_text(
                f"radarr:\n  - {{name: radarr-4k, url: '{second.url}', api_key: '{'k' * 32}'}}\n"
            )
            report = Harness(store, env, tmp_path).run()
    assert report.ok
    sources = {r.source for r in report.results}
    assert {"radarr:library_manager", "radarr-4k:library_manager"} <= sources


def test_a_medium_library_syncs_in_well_under_a_thousand_requests(tmp_path):
    """Paged listings, and the details listings lack fetched a hundred items per request."""
    library = generate("M", seed=2)
    store = open_store(None, tmp_path)
    try:
        with emulated(library) as (env, emulators):
            report = Harness(store, env, tmp_path).run()
            requests = {name: e.request_total for name, e in emulators.items()}
            details = metadata_requests(emulators["plex"])
            assert details == detail_batches(emulators["plex"])
    finally:
        store.disconnect()
    assert report.ok
    assert sum(requests.values()) - details < 250, requests
    assert sum(requests.values()) < 1000, requests


def test_flaky_services_never_make_a_rule_match_more(tmp_path):
    """Every service failing, timing out or answering garbage now and then: the sync either
    recovers (retries) or records a failure, and rules never match more than with clean data."""
    library = generate("XS", seed=5)
    rules = load_rules([REPO / "rules.d"]).rules
    now = datetime.fromtimestamp(library.now, UTC)
    flaky = {
        name: Faults(
            error_rate=0.2, rate_limit_rate=0.1, truncate_rate=0.1, malformed_rate=0.1, seed=i
        )
        for i, name in enumerate(SERVICES)
    }
    clean_store = open_store(None, tmp_path / "clean")
    flaky_store = open_store(None, tmp_path / "flaky")
    try:
        with emulated(library) as (env, _):
            clean = Harness(clean_store, env, tmp_path)
            assert clean.run().ok
        with emulated(library, flaky) as (env, _):
            degraded = Harness(flaky_store, env, tmp_path)
            for service in degraded.services.services:
                for http in vars(service).values():
                    if hasattr(http, "backoff"):
                        http.backoff = 0.01
            degraded.run()
        full, partial = _matches(clean, rules, now), _matches(degraded, rules, now)
        for rule_id, ids in partial.items():
            assert ids <= full[rule_id], rule_id
    finally:
        clean_store.disconnect()
        flaky_store.disconnect()


# real servers, not our picture of them: what the library's quirks make of the fields


@pytest.fixture(scope="module")
def synced(library, tmp_path_factory):
    """The XS library synced once into SQLite, for tests that only read the result."""
    path = tmp_path_factory.mktemp("synced")
    store = open_store(None, path)
    with emulated(library) as (env, _):
        harness = Harness(store, env, path)
        assert harness.run().ok
    yield harness
    store.disconnect()


def fields_by_key(harness) -> dict[int, dict]:
    """Every item's fields by its Plex ratingKey."""
    with db_session:
        ids = dict(harness.store.read("SELECT id, server_key FROM item"))
    return {int(ids[i]): item.fields for i, item in harness.items().items()}


def verdict(condition: str, fields: dict, media: str):
    program = compile_condition(condition, media=media).program
    assert program is not None, condition
    return program.evaluate(fields, EvalContext(datetime(2026, 6, 1, tzinfo=UTC)))


MANAGER_FIELDS = ("monitored", "tags", "rating.imdb", "rating.tmdb", "rating.rt")
REQUEST_FIELDS = ("requested_by", "requested_at")


def test_titles_of_legacy_agents_link_to_their_manager_and_their_requests(synced, library):
    """Legacy agents and HAMA name one id in the guid and list no Guid elements: the titles
    are linked by it, their seasons and episodes through their show."""
    fields = fields_by_key(synced)
    users = {u.id: u.username for u in library.users}
    requested = {
        (r.media_type, r.tmdb_id): users[r.user_id] for r in library.requests if r.status != 3
    }
    movies = [m for m in library.movies if m.agent in ("imdb", "themoviedb") and m.radarr_id]
    shows = [s for s in library.shows if s.agent in ("thetvdb", "themoviedb", "hama-tvdb")]
    assert movies and shows
    for movie in movies:
        got = fields[movie.rating_key]
        assert (got["monitored"], got["tags"]) == (movie.monitored, movie.tags), movie.title
        assert got["requested_by"] == requested.get(("movie", movie.tmdb_id)), movie.title
    for show in shows:
        # unmanaged: known only for a show with the TheTVDB id that every Sonarr series has
        unmanaged = None if show.agent != "themoviedb" else MISSING
        got = fields[show.rating_key]
        assert got.get("monitored", MISSING) is (show.monitored if show.sonarr_id else unmanaged)
        assert got["requested_by"] == requested.get(("tv", show.tmdb_id)), show.title
        for season in show.seasons:
            got = fields[season.rating_key]
            expected = season.monitored if show.sonarr_id else unmanaged
            assert got.get("monitored", MISSING) is expected
            assert got["requested_by"] == requested.get(("tv", show.tmdb_id))


def test_titles_without_an_external_id_have_unknown_manager_and_request_fields(synced, library):
    """A HAMA AniDB show or a personal movie cannot be linked to an *arr or a request: that
    they are unmanaged and unrequested is not known, so `requested_by is null` is unknown (it
    queued a whole anime library when it read as true)."""
    fields = fields_by_key(synced)
    anidb = [s for s in library.shows if s.agent == "hama-anidb"]
    local = [m for m in library.movies if m.agent == "local"]
    assert anidb and local
    titles = [(m.rating_key, "movie") for m in local]
    for show in anidb:
        titles.append((show.rating_key, "show"))
        titles += [(s.rating_key, "season") for s in show.seasons]
        titles += [(e.rating_key, "episode") for e in show.episodes]
    for key, media in titles:
        got = fields[key]
        assert not {*MANAGER_FIELDS, *REQUEST_FIELDS, "series_status"} & got.keys(), key
        assert verdict("requested_by is null", got, media) is UNKNOWN
        assert verdict("monitored == false", got, media) is UNKNOWN


def test_a_movie_listed_without_its_file_has_unknown_file_fields(synced, library):
    fields = fields_by_key(synced)
    bare = [m for m in library.movies if not m.listed_file]
    assert bare
    for movie in bare:
        got = fields[movie.rating_key]
        assert not {"size", "resolution", "video_codec", "hdr", "runtime"} & got.keys()
        assert verdict("size > 1 GB", got, "movie") is UNKNOWN
    listed = next(m for m in library.movies if m.listed_file and m.parts == 1)
    assert fields[listed.rating_key]["size"] == listed.file.size


def test_every_file_of_a_movie_in_parts_is_kept(synced, library):
    movie = next(m for m in library.movies if m.parts > 1 and m.listed_file)
    row = synced.row("server_key=?", (str(movie.rating_key),))
    stem = movie.file.path.removesuffix(".mkv")
    assert json.loads(row["file_paths"]) == [f"{stem} - pt1.mkv", f"{stem} - pt2.mkv"]
    assert fields_by_key(synced)[movie.rating_key]["size"] == movie.file.size


def _expected_rating(movie, source: str):
    """A movie's rating from one source: its *arr's, else Plex's if its image names that
    source; MISSING (unknown) when neither gives one or the movie cannot be linked."""
    if movie.agent == "local":
        return MISSING
    value = None
    if movie.radarr_id is not None:
        value = {"imdb": movie.rating_imdb, "tmdb": movie.rating_tmdb, "rt": movie.rating_rt}[
            source
        ]
    plex = {"imdb": "imdb", "tmdb": "themoviedb", "rt": "rottentomatoes"}[source]
    if value is None and movie.agent == "plex" and movie.plex_ratings == plex:
        value = {"imdb": movie.rating_imdb, "tmdb": movie.rating_tmdb, "rt": movie.rating_rt}[
            source
        ]
    return MISSING if value is None else value


MISSING = object()


def test_ratings_come_only_from_the_source_they_name(synced, library):
    """Plex's audience rating fills rating.tmdb only when its image is TMDb's: on real servers
    it is mostly Rotten Tomatoes' audience score or IMDb's."""
    fields = fields_by_key(synced)
    for movie in library.movies:
        got = fields[movie.rating_key]
        for source in ("imdb", "tmdb", "rt"):
            assert got.get(f"rating.{source}", MISSING) == _expected_rating(movie, source), (
                movie.title,
                source,
            )


def test_an_episode_s_monitored_flag_is_its_own_or_unknown(synced, library):
    """Sonarr's series listing has its seasons' flags, not its episodes': an episode's is
    unknown, unless the manager lists the episodes."""
    fields = fields_by_key(synced)
    managed = [s for s in library.shows if s.sonarr_id is not None and s.agent != "hama-anidb"]
    for show in managed:
        for season in show.seasons:
            assert fields[season.rating_key]["monitored"] is season.monitored
            for episode in season.episodes:
                assert "monitored" not in fields[episode.rating_key]
                assert "tags" in fields[episode.rating_key]


def test_episodes_listed_by_their_manager_have_their_own_monitored_flag(store, library, tmp_path):
    class SonarrWithEpisodes(SonarrClient):
        def items(self):
            items = super().items()
            episodes = self.episodes_many(i.arr_id for i in items)
            for item in items:
                item.episodes = tuple(episodes[item.arr_id])
            return items

    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        services = harness.services.services
        index = next(i for i, s in enumerate(services) if isinstance(s, SonarrClient))
        services[index] = SonarrWithEpisodes(
            services[index].name, env["SONARR_URL"], env["SONARR_API_KEY"]
        )
        assert harness.run().ok
    fields = fields_by_key(harness)
    own = [
        (e, season)
        for show in library.shows
        if show.sonarr_id is not None and show.agent != "hama-anidb"
        for season in show.seasons
        for e in season.episodes
    ]
    assert any(e.monitored != season.monitored for e, season in own)
    for episode, _ in own:
        assert fields[episode.rating_key]["monitored"] is episode.monitored


def test_incremental_syncs_converge_on_items_without_an_update_time(store, library, tmp_path):
    """Items Plex lists without `updatedAt` (common for episodes) are re-read by the daily
    full listing, not by every incremental sync."""
    assert any(not e.stamped for s in library.shows for e in s.episodes)
    with emulated(library) as (env, emulators):
        harness = Harness(store, env, tmp_path)
        assert harness.run().ok  # the day's full listing
        plex, fetched = emulators["plex"], []
        for _ in range(2):
            plex.reset_counts()
            assert harness.run().ok
            fetched.append(
                sum(
                    n
                    for (_, route), n in plex.requests.items()
                    if route.startswith("/library/metadata")
                )
            )
    assert fetched == [0, 0]


# details: Plex lists no Stream elements; the sync fetches them by key, in batches


def metadata_requests(plex) -> int:
    """GET /library/metadata/{ids} requests the Plex emulator served."""
    return sum(
        n
        for (method, route), n in plex.requests.items()
        if method == "GET" and route.startswith("/library/metadata")
    )


def detail_batches(plex) -> int:
    """Requests of METADATA_BATCH keys that fetching every movie's and episode's details takes:
    one run of batches per library."""
    return sum(
        math.ceil(len(keys) / METADATA_BATCH)
        for (_, type_number), keys in plex.listings.items()
        if type_number in (1, 4)  # movies, episodes
    )


def stream_truth(library) -> dict[int, tuple[str, str]]:
    """(hdr, original_language) of every movie and episode Plex lists with its file."""
    truth = {
        m.rating_key: (m.file.hdr, m.original_language) for m in library.movies if m.listed_file
    }
    for show in library.shows:
        truth.update({e.rating_key: (e.file.hdr, show.original_language) for e in show.episodes})
    return truth


def details_of(harness, keys) -> dict[int, tuple]:
    fields = fields_by_key(harness)
    return {
        k: (fields[k].get("hdr", MISSING), fields[k].get("original_language", MISSING))
        for k in keys
    }


def test_a_full_sync_fetches_the_stream_fields_listings_lack_in_batches(store, library, tmp_path):
    """The listings carry no Streams: the sync fetches the new items by key, a hundred per
    request, and a later full listing keeps what was read without asking again."""
    truth = stream_truth(library)
    with emulated(library) as (env, emulators):
        plex = emulators["plex"]
        assert not plex.streams_in_listings
        harness = Harness(store, env, tmp_path)
        report = harness.run()
        assert report.ok, report.as_dict()
        assert metadata_requests(plex) == detail_batches(plex) < len(truth) / 50
        details = next(r for r in report.results if r.source == "plex:media_details")
        assert details.records == len(truth) + sum(not m.listed_file for m in library.movies)
        assert details_of(harness, truth) == truth
        plex.reset_counts()
        harness.sync.full = True
        assert harness.run().ok
        assert metadata_requests(plex) == 0
    assert details_of(harness, truth) == truth


def test_an_item_changed_since_its_details_were_read_alone_is_fetched_again(
    store, library, tmp_path
):
    """A movie Plex lists without its file has unknown details even after a fetch: it is
    asked again when its `updatedAt` changes (by a full listing, or an incremental one's
    fetch of what changed), not on every sync."""
    touched = next(m for m in library.movies if not m.listed_file and m.stamped)
    fetched, now = [], [float(library.now)]
    with emulated(library) as (env, emulators):
        plex = emulators["plex"]
        harness = Harness(store, env, tmp_path)
        harness.sync.clock = lambda: now[0]
        harness.sync.full = True
        assert harness.run().ok
        for touch, full in ((None, True), (3600, True), (7200, False), (None, False)):
            if touch is not None:
                plex.touch(touched.rating_key, touched.added + touch)
            now[0] += 60
            plex.reset_counts()
            harness.sync.full = full
            assert harness.run().ok
            fetched.append(metadata_requests(plex))
    assert fetched == [0, 1, 1, 0]
    with db_session:
        again = store.read(
            "SELECT server_key, details_updated_at FROM item WHERE details_fetched_at > ?",
            (library.now,),
        )
    assert again == [(str(touched.rating_key), touched.added + 7200)]


def test_details_of_items_without_a_change_time_are_asked_again_only_after_a_while(
    store, library, tmp_path
):
    """An item Plex gives no `updatedAt` whose details stay unknown is asked again once
    DETAILS_RECHECK_S has passed, not by every sync."""
    episode = next(e for s in library.shows for e in s.episodes if not e.stamped)
    now = [float(library.now)]
    with emulated(library) as (env, emulators):
        plex = emulators["plex"]
        for part in plex.node(episode.rating_key)["Media"][0]["Part"]:
            del part["Stream"]  # a file Plex has not analysed
        harness = Harness(store, env, tmp_path)
        harness.sync.clock = lambda: now[0]
        assert harness.run().ok
        assert details_of(harness, [episode.rating_key])[episode.rating_key] == (MISSING, MISSING)
        fetched = []
        for days in (1, 3, 6.9, 7.1, 8):
            now[0] = library.now + days * 86400
            plex.reset_counts()
            assert harness.run().ok
            fetched.append(metadata_requests(plex))
    assert DETAILS_RECHECK_S == 7 * 86400
    assert fetched == [0, 0, 0, 1, 0]
    assert harness.row("server_key=?", (str(episode.rating_key),))["details_fetched_at"] == (
        library.now + 7.1 * 86400
    )


def test_a_failed_detail_fetch_leaves_the_fields_unknown_and_is_reported(store, library, tmp_path):
    """Details that could not be fetched stay unknown (never null) and the sync says so; the
    listing is kept, the media server's other fields stay known, and details read before are
    kept while the file is the same."""
    truth = stream_truth(library)
    failing = {"plex": Faults(error_rate=1.0, path_pattern=r"^/library/metadata/")}

    def run(harness):
        for service in harness.services.services:
            if hasattr(service, "http"):
                service.http.backoff = 0.001
        harness.sync.full = True
        return harness.run()

    with emulated(library, failing) as (env, _):
        harness = Harness(store, env, tmp_path)
        report = run(harness)
    assert [r.source for r in report.results if not r.ok] == ["plex:media_details"]
    details = next(r for r in report.results if r.source == "plex:media_details")
    assert details.message.startswith("plex: details not fetched: Movies: ")
    assert harness.items()  # the media server's source is available
    for key, got in details_of(harness, truth).items():
        assert got == (MISSING, MISSING), key
    movie = next(m for m in library.movies if m.listed_file and m.parts == 1)
    assert fields_by_key(harness)[movie.rating_key]["size"] == movie.file.size

    with emulated(library) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert run(harness).ok
    assert details_of(harness, truth) == truth

    # a file replaced while details cannot be fetched: its old details are not kept
    moved = next(m for m in library.movies if m.listed_file and m is not movie)
    other = copy.deepcopy(library)
    index = library.movies.index(moved)
    new_file = dataclasses.replace(moved.file, path=moved.file.path + ".new", size=1)
    other.movies[index] = dataclasses.replace(moved, file=new_file)
    with emulated(other, failing) as (env, _):
        harness = Harness(store, env, tmp_path)
        assert not run(harness).ok
    got = details_of(harness, truth)
    assert got[moved.rating_key] == (MISSING, MISSING)
    assert {k: v for k, v in got.items() if k != moved.rating_key} == {
        k: v for k, v in truth.items() if k != moved.rating_key
    }
    with emulated(other) as (env, emulators):
        harness = Harness(store, env, tmp_path)
        assert run(harness).ok
        assert metadata_requests(emulators["plex"]) == 1
    assert details_of(harness, [moved.rating_key])[moved.rating_key] == truth[moved.rating_key]
